//! Command-line definitions. Each subcommand's own flags live beside its implementation in `commands/`;
//! the flags every policy-running subcommand shares are [`PolicyArgs`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use host_harness::host::{Capabilities, HostOptions};
use host_harness::manifest;

#[derive(Debug, Parser)]
#[command(
    name = "host-harness",
    version,
    about = "Run Kubewarden waPC policies outside a cluster"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate one admission request, like `kwctl run`.
    Run(crate::commands::run::RunArgs),
    /// Check manifest files and directories, for CI: exit 0 all accepted, 1 any rejected, 2 any error.
    Check(crate::commands::check::CheckArgs),
    /// Print each image's digest (`IMAGE DIGEST` per line), asking its registry; exit 2 if any fails.
    Digest(crate::commands::digest::DigestArgs),
    /// Rewrite manifests so every unpinned image is pinned by digest, as the policy decides in mutate mode
    /// (resolveTags); --dry-run shows a diff, --check only tells: exit 1 when something would change, 2 on any error.
    Pin(crate::commands::pin::PinArgs),
    /// Measure a policy: compile, instantiate and per-evaluation latency (p50, p99) and evaluations/s.
    Bench(crate::commands::bench::BenchArgs),
}

/// The policy module, its settings and the host's limits: shared by every subcommand that evaluates.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy module: a path or a file:// URI.
    #[arg(value_name = "POLICY")]
    pub policy: String,

    /// Policy settings as inline JSON.
    #[arg(long, value_name = "JSON", conflicts_with = "settings_path")]
    pub settings_json: Option<String>,

    /// Policy settings from a YAML or JSON file.
    #[arg(long, value_name = "FILE")]
    pub settings_path: Option<PathBuf>,

    /// Deadline for one evaluation, in seconds (like policy-server's --policy-timeout).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 2.0,
        conflicts_with = "no_timeout"
    )]
    pub timeout: f64,

    /// Let evaluations run without a deadline.
    #[arg(long)]
    pub no_timeout: bool,

    /// Cap on the module's linear memory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub memory_limit_mib: u64,

    /// Do not read or write the compiled-module cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Show the policy's own log lines on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

impl PolicyArgs {
    /// The module's path: POLICY as given, or the path of a `file://` URI.
    pub fn policy_path(&self) -> anyhow::Result<PathBuf> {
        if !self.policy.starts_with("file:") {
            return Ok(PathBuf::from(&self.policy));
        }
        let url = url::Url::parse(&self.policy)
            .with_context(|| format!("{:?} is not a valid file:// URI", self.policy))?;
        url.to_file_path()
            .map_err(|()| anyhow::anyhow!("{:?} does not name a local file", self.policy))
    }

    /// The host's options from these flags, serving `capabilities` to the policy.
    pub fn host_options(&self, capabilities: Capabilities) -> anyhow::Result<HostOptions> {
        let timeout = if self.no_timeout {
            None
        } else {
            let timeout = Duration::try_from_secs_f64(self.timeout)
                .ok()
                .filter(|timeout| !timeout.is_zero())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--timeout must be a positive number of seconds, not {}",
                        self.timeout
                    )
                })?;
            Some(timeout)
        };
        anyhow::ensure!(
            (1..=4096).contains(&self.memory_limit_mib),
            "--memory-limit-mib must be between 1 and 4096 (all a wasm32 module can address), not {}",
            self.memory_limit_mib
        );
        Ok(HostOptions {
            timeout,
            memory_limit_bytes: self.memory_limit_mib * 1024 * 1024,
            cache: !self.no_cache,
            verbose: self.verbose,
            capabilities,
        })
    }

    /// The policy settings: `--settings-json`, the document in `--settings-path` (YAML or JSON), or `{}`
    /// when neither is given (as kwctl does).
    pub fn settings(&self) -> anyhow::Result<serde_json::Value> {
        if let Some(json) = &self.settings_json {
            return serde_json::from_str(json).context("--settings-json is not valid JSON");
        }
        let Some(path) = &self.settings_path else {
            return Ok(serde_json::json!({}));
        };
        // Read as manifests are: UTF-8/16/32, JSON when it starts with `{`.
        let file = manifest::read_input(&manifest::InputPath::File(path.clone()))
            .map_err(|error| anyhow::anyhow!("{error}"))
            .context("reading the settings file")?;
        let mut documents = manifest::load_documents(&file, manifest::Limits::default())
            .map_err(|error| anyhow::anyhow!("{error}"))
            .context("the settings file is not valid YAML or JSON")?;
        match documents.len() {
            0 => Ok(serde_json::json!({})),
            1 => Ok(documents.remove(0).value),
            n => anyhow::bail!(
                "the settings file {} holds {n} YAML documents; settings are one document",
                path.display()
            ),
        }
    }
}

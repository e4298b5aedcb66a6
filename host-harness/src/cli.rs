//! The flags every policy-running subcommand shares ([`PolicyArgs`]): clap types only, turned into the library's
//! [`PolicySpec`], which does the work. Each subcommand's own flags live beside its implementation in `commands/`,
//! which depends on this module, never the reverse.

use std::path::PathBuf;

use clap::Args;
use host_harness::session::PolicySpec;

/// The policy module, its settings and the host's limits: shared by every subcommand that evaluates.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy module: a path, a file:// URI, or registry://HOST/REPOSITORY:TAG (or @sha256:…), pulled once into
    /// the cache.
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
    /// What these flags ask for, as the library takes it.
    pub fn spec(&self) -> PolicySpec {
        PolicySpec {
            module: self.policy.clone(),
            settings_json: self.settings_json.clone(),
            settings_path: self.settings_path.clone(),
            timeout_secs: (!self.no_timeout).then_some(self.timeout),
            memory_limit_mib: self.memory_limit_mib,
            cache: !self.no_cache,
            verbose: self.verbose,
        }
    }
}

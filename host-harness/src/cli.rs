//! The flags every policy-running subcommand shares ([`PolicyArgs`]): clap types only, turned into the library's
//! [`PolicySpec`], which does the work. Each subcommand's own flags live beside its implementation in `commands/`,
//! which depends on this module, never the reverse.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use host_harness::registry::{RegistryOptions, RegistrySpec};
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

/// Where digests come from: the flags shared by every subcommand that resolves tags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registry (resolving tags to digests)")]
pub struct RegistryArgs {
    /// Resolve from this offline map (YAML or JSON: image -> digest) and contact no registry (except to pull a
    /// registry:// POLICY).
    #[arg(long, value_name = "FILE")]
    pub digests: Option<PathBuf>,

    /// Registry credentials from this Docker config [default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json].
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,

    /// Speak plain HTTP to this registry (as written in image references); repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT", value_parser = parse_registry_host)]
    pub insecure_registries: Vec<String>,

    /// Seconds to wait for a connection to a registry.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub registry_connect_timeout: Duration,

    /// Seconds one resolution may take in all (authentication, HEAD, GET).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub registry_timeout: Duration,
}

impl RegistryArgs {
    /// What these flags ask for, as the library takes it.
    pub fn spec(&self) -> RegistrySpec {
        RegistrySpec {
            digests: self.digests.clone(),
            options: RegistryOptions {
                docker_config: self.docker_config.clone(),
                insecure_registries: self.insecure_registries.clone(),
                connect_timeout: self.registry_connect_timeout,
                total_timeout: self.registry_timeout,
            },
        }
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!(
            "{text} is out of range (more than 0, at most 3600 seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_registry_host(text: &str) -> Result<String, String> {
    if text.contains("://") || text.contains('/') || text.is_empty() {
        return Err(format!(
            "{text:?}: give the registry as written in image references, HOST or HOST:PORT"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        registry: RegistryArgs,
    }

    #[test]
    fn flags_parse_and_validate() {
        let parsed = Harness::try_parse_from([
            "t",
            "--insecure-registry",
            "127.0.0.1:5000",
            "--insecure-registry",
            "localhost:5001",
            "--registry-timeout",
            "2.5",
        ])
        .unwrap();
        assert_eq!(
            parsed.registry.insecure_registries,
            ["127.0.0.1:5000", "localhost:5001"]
        );
        assert_eq!(
            parsed.registry.registry_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(
            parsed.registry.registry_connect_timeout,
            Duration::from_secs(5)
        );

        for bad in [
            &["t", "--insecure-registry", "http://127.0.0.1:5000"][..],
            &["t", "--registry-timeout", "0"],
            &["t", "--registry-connect-timeout", "soon"],
        ] {
            assert!(Harness::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}

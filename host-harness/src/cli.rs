//! Command-line definitions. Each subcommand's own flags live beside its implementation in `commands/`;
//! the flags every policy-running subcommand shares are [`PolicyArgs`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "host-harness", version, about = "Run Kubewarden waPC policies outside a cluster")]
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
    #[arg(long, value_name = "SECS", default_value_t = 2.0, conflicts_with = "no_timeout")]
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

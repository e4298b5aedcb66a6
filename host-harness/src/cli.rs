//! Command-line definitions. Each subcommand's own flags live beside its implementation in `commands/`.

use clap::{Parser, Subcommand};

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

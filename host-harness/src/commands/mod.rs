//! The command line and one module per subcommand, each with its own flags (clap types) beside its implementation;
//! the shared flags are in `cli`.

pub mod bench;
pub mod check;
pub mod digest;
pub mod pin;
pub mod push;
pub mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Run(run::RunArgs),
    /// Check manifest files and directories, for CI: exit 0 all accepted, 1 any rejected, 2 any error.
    Check(check::CheckArgs),
    /// Print each image's digest (`IMAGE DIGEST` per line), asking its registry; exit 2 if any fails.
    Digest(digest::DigestArgs),
    /// Rewrite manifests so every unpinned image is pinned by digest, as the policy decides in mutate mode
    /// (resolveTags); --dry-run shows a diff, --check only tells: exit 1 when something would change, 2 on any error.
    Pin(pin::PinArgs),
    /// Push a policy module to an OCI registry as Kubewarden's tools do (`kwctl push`); prints its digest.
    Push(push::PushArgs),
    /// Measure a policy: compile, instantiate and per-evaluation latency (p50, p99) and evaluations/s.
    Bench(bench::BenchArgs),
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Pin(args) => pin::run(args),
        Command::Push(args) => push::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

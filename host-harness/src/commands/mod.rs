//! One module per subcommand.

pub mod bench;
pub mod check;
pub mod digest;
pub mod pin;
pub mod run;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Pin(args) => pin::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

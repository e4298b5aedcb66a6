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

/// Loads the policy with the registry capability these flags describe, and has the policy validate `settings`:
/// invalid settings stop the command before anything is evaluated, with the policy's own message.
pub fn load_policy_for(
    policy: &crate::cli::PolicyArgs,
    registry: &host_harness::registry::RegistryArgs,
    settings: &serde_json::Value,
) -> anyhow::Result<host_harness::host::PolicyHost> {
    use anyhow::Context as _;
    let mut capabilities = host_harness::host::Capabilities::new();
    registry.register(&mut capabilities)?;
    let host = host_harness::host::PolicyHost::load(
        &policy.policy_path()?,
        policy.host_options(capabilities)?,
    )?;
    let verdict = host
        .validate_settings(settings)
        .context("validating the policy settings")?;
    if !verdict.valid {
        anyhow::bail!(
            "Provided settings are not valid: {}",
            verdict.message.unwrap_or_default()
        );
    }
    Ok(host)
}

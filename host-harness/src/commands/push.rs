//! `host-harness push POLICY.wasm REF`: pushes a policy to an OCI registry the way `kwctl push` does (see
//! [`host_harness::registry::policy`]) and prints the manifest's digest on stdout, so a script can pin what it pushed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use host_harness::registry::policy;

use crate::cli::RegistryArgs;

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The policy module (annotated with `kwctl annotate`, whose metadata becomes the manifest's annotations).
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,

    /// Where to push it: registry://HOST[:PORT]/REPOSITORY:TAG.
    #[arg(value_name = "REF")]
    pub destination: String,

    /// Push a module that has no embedded metadata (as `kwctl push --force`).
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn run(args: PushArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.registry.digests.is_none(),
        "--digests is an offline digest map; push needs the registry"
    );
    let module = std::fs::read(&args.policy)
        .with_context(|| format!("reading the policy module {}", args.policy.display()))?;
    let digest = policy::push(
        &args.registry.spec().resolver()?,
        &module,
        &args.policy.display().to_string(),
        &args.destination,
        args.force,
    )?;
    println!("{digest}");
    Ok(ExitCode::SUCCESS)
}

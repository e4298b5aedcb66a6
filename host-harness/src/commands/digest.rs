//! `host-harness digest IMAGE…`: each image's digest, as `crane digest` prints it, one `IMAGE DIGEST` line per
//! image in the order given. Images resolve in parallel (they usually live on different registries); a failure is
//! reported on stderr and the others are still printed, and the exit status is then 2.

use std::io::Write as _;
use std::process::ExitCode;

use rayon::prelude::*;

use crate::cli::RegistryArgs;

#[derive(Debug, clap::Args)]
pub struct DigestArgs {
    /// Images as written in manifests (nginx:1.27, ghcr.io/org/app:v2, 127.0.0.1:5000/demo/app:1.0).
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn run(args: DigestArgs) -> anyhow::Result<ExitCode> {
    let source = args.registry.spec().digest_source()?;
    let outcomes: Vec<_> = args
        .images
        .par_iter()
        .map(|image| (image, source.digest(image)))
        .collect();

    let mut stdout = std::io::stdout().lock();
    let mut failures = 0;
    for (image, outcome) in outcomes {
        match outcome {
            Ok(digest) => writeln!(stdout, "{image} {digest}")?,
            Err(error) => {
                failures += 1;
                // The error names the image itself.
                eprintln!("error: {error}");
            }
        }
    }
    stdout.flush()?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

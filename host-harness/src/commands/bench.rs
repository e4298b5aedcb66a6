//! `host-harness bench POLICY [settings flags] [REQUEST…]`: compile, instantiate and evaluate figures for a policy
//! module (see [`host_harness::bench`]). Prints a table, or JSON with `--output json` (for bench/compare.sh).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use host_harness::bench::{self, BenchOptions, BenchRequest};
use host_harness::host::Capabilities;

use crate::cli::{PolicyArgs, RegistryArgs};

/// The requests measured when none are given: the fixture requests, and the bench's own (a 3-container
/// Deployment), from this source tree.
const DEFAULT_REQUEST_DIRS: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/requests"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/requests"),
];

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Measured evaluations per request.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub iterations: usize,

    /// Unmeasured evaluations per request before the measured ones.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub warmup: usize,

    /// Measured compilations of the module (each without the cache).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub compilations: usize,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,

    /// Request files (JSON AdmissionRequest or AdmissionReview) [default: this source tree's
    /// tests/fixtures/requests/*.json and bench/requests/*.json]. Requests whose evaluation calls a host
    /// capability (resolveTags, for one) are skipped, and listed as such.
    #[arg(value_name = "REQUEST")]
    pub requests: Vec<PathBuf>,

    /// How a registry:// POLICY is pulled. The policy itself gets no registry capability here: requests that would
    /// use one are skipped.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOutput {
    Table,
    Json,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let spec = args.policy.spec();
    let settings = spec.settings()?;
    // No registry: a request that needs one is skipped, not measured against the network.
    let options = spec.host_options(Capabilities::new())?;
    let files = if args.requests.is_empty() {
        default_request_files()?
    } else {
        args.requests.clone()
    };
    let requests = files
        .iter()
        .map(|path| BenchRequest::from_file(path))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let module = spec.module_file(&args.registry.spec())?;
    let report = bench::run(
        module.path(),
        &options,
        &settings,
        &requests,
        BenchOptions {
            iterations: args.iterations,
            warmup: args.warmup,
            compilations: args.compilations,
        },
    )?;

    let mut stdout = std::io::stdout().lock();
    match args.output {
        BenchOutput::Table => bench::write_table(&report, &mut stdout),
        BenchOutput::Json => serde_json::to_writer_pretty(&mut stdout, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout)),
    }
    .context("writing the report")?;
    stdout.flush().context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}

fn default_request_files() -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in DEFAULT_REQUEST_DIRS {
        let dir = Path::new(dir);
        anyhow::ensure!(
            dir.is_dir(),
            "no REQUEST given and the default request directory {} is missing (it is in the source tree \
             host-harness was built from); name request files instead",
            dir.display()
        );
        files.extend(bench::request_files_in(dir)?);
    }
    Ok(files)
}

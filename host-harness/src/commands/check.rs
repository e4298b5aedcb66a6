//! `host-harness check POLICY [settings flags] [--metadata FILE] PATH…`: the CI command.
//!
//! Every object of the given files, directories (recursively) and stdin (`-`) becomes a CREATE admission
//! request for the policy. Exit status: 0 when every object is accepted (or skipped), 1 when any is
//! rejected, 2 on any input or evaluation error (which wins over rejections).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use host_harness::check::{CheckOptions, check};
use host_harness::manifest::{Limits, expand_paths};
use host_harness::metadata::Metadata;
use host_harness::report::{OutputFormat, TextStyle, write_report};

use crate::cli::{PolicyArgs, RegistryArgs};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The policy's metadata.yml: only objects its rules match are evaluated, the rest are skipped
    /// [default: the metadata embedded in the module by `kwctl annotate`, if any; else every object is evaluated].
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Colour in the text output: auto means on a terminal, unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Text output: show only rejections and errors (and the summary).
    #[arg(short, long)]
    pub quiet: bool,

    /// Manifest files and directories (searched recursively for *.yaml, *.yml, *.json); `-` reads stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Ask each pinned image's registry whether its digest exists (a missing one is a violation) and where its tag
    /// points now (a moved tag is a warning); with --digests, a digest exists when the map has it. Without this flag
    /// `check` contacts no registry for pinned images.
    #[arg(long)]
    pub verify_registry: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        }
    }
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.policy.verbose;
    let spec = args.policy.spec();
    let settings = spec.settings()?;
    let (host, source) = spec.load_with_source(&args.registry.spec(), &settings)?;

    let metadata = match &args.metadata {
        Some(path) => Some(Metadata::from_file(path)?),
        None => Metadata::from_module(host.module_bytes())
            .context("reading the module's embedded metadata")?,
    };
    if verbose {
        match (&metadata, &args.metadata) {
            (Some(_), Some(path)) => eprintln!(
                "evaluating the objects the rules of {} match",
                path.display()
            ),
            (Some(_), None) => {
                eprintln!("evaluating the objects the module's embedded metadata rules match")
            }
            (None, _) => eprintln!("no policy metadata: evaluating every object"),
        }
    }

    let started = Instant::now();
    let options = CheckOptions {
        settings,
        metadata,
        limits: Limits::default(),
        verify: args.verify_registry.then_some(source),
    };
    let report = check(expand_paths(&args.paths), &host, &options);
    if verbose {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "checked {} objects in {seconds:.3}s ({:.0} objects/s)",
            report.summary.checked,
            report.summary.checked as f64 / seconds
        );
    }

    let style = TextStyle {
        color: args.color.enabled(),
        quiet: args.quiet,
    };
    // Buffered: stdout is line-buffered, and a big report would be a write call per line.
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written =
        write_report(&report, args.output, style, &mut stdout).and_then(|()| stdout.flush());
    match written {
        // The reader stopped reading (`check … | head`): quietly, as ripgrep does, but with the verdict's status,
        // so that a rejection still fails a pipeline run with `pipefail`.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.context("writing the report")?,
    }
    Ok(ExitCode::from(report.summary.exit_code()))
}

//! `host-harness run`: evaluate one admission request, as `kwctl run` does.
//!
//! The settings are validated first (invalid: "Provided settings are not valid: …", exit 1); then the request
//! is evaluated and the AdmissionReview response printed on stdout, on one line, whatever the verdict (exit 0).
//! Anything that prevents a verdict (unreadable files, a broken module, an evaluation error) exits 2.

use std::io::Read as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use host_harness::host::{Capabilities, PolicyHost};
use host_harness::kubewarden::{admission_request_from_input, admission_review_response};
use serde_json::Value;

use crate::cli::{PolicyArgs, RegistryArgs};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The request to evaluate: a JSON AdmissionRequest or a whole AdmissionReview; `-` reads stdin.
    #[arg(short = 'r', long, value_name = "FILE")]
    pub request_path: PathBuf,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.policy.verbose;
    let request = read_request(&args.request_path)?;
    let spec = args.policy.spec();
    let settings = spec.settings()?;
    let mut capabilities = Capabilities::new();
    args.registry.spec().register(&mut capabilities)?;
    let options = spec.host_options(capabilities)?;

    let loading = Instant::now();
    let module = spec.module_file(&args.registry.spec())?;
    let host = PolicyHost::load(module.path(), options)?;
    if verbose {
        eprintln!(
            "policy module ready in {:.1?} ({:?})",
            loading.elapsed(),
            host.module_origin()
        );
    }

    let settings_verdict = host
        .validate_settings(&settings)
        .context("validating the policy settings")?;
    if !settings_verdict.valid {
        eprintln!(
            "Provided settings are not valid: {}",
            settings_verdict.message.unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }

    let evaluating = Instant::now();
    let verdict = host
        .validate(&request, &settings)
        .context("evaluating the request")?;
    if verbose {
        eprintln!("request evaluated in {:.1?}", evaluating.elapsed());
    }
    let review = admission_review_response(&request, &verdict);
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &review).context("writing the AdmissionReview")?;
    writeln!(stdout).context("writing the AdmissionReview")?;
    Ok(ExitCode::SUCCESS)
}

/// The AdmissionRequest in `path` (or stdin for `-`), unwrapped from an AdmissionReview if need be.
fn read_request(path: &Path) -> anyhow::Result<Value> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the request from stdin")?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the request {}", path.display()))?;
        (path.display().to_string(), text)
    };
    let input: Value = serde_json::from_str(&text)
        .with_context(|| format!("the request in {name} is not valid JSON"))?;
    admission_request_from_input(input)
        .with_context(|| format!("the request in {name} is not an admission request"))
}

//! `host-harness pin POLICY [settings flags] [registry flags] [--dry-run | --check] PATH…`: rewrites manifests so
//! every unpinned image becomes `<image as written>@<digest>`, as the policy module decides in mutate mode
//! (`resolveTags: true` is set on top of the given settings); see [`host_harness::pin`].
//!
//! Paths are read as `check` reads them (files, and directories searched for *.yaml, *.yml, *.json). `-` alone
//! pins standard input to standard output, as a filter (`helm template … | host-harness pin POLICY -`).
//!
//! Standard output carries only file content, so it can be piped: the unified diff with `--dry-run`, the pinned
//! text for `-`. What was pinned, every error and the summary go to standard error.
//!
//! A rejection pinning cannot fix (a container with no image, an unrendered image) is reported as `left as is` on its
//! line and does not stop its file: the file's other images are pinned.
//!
//! Exit status: 0 done (with `--check`: nothing to pin), whatever else the policy rejects; 1 with `--check` when some
//! image would be pinned; 2 when any file failed (a digest lookup, reading or writing it: that file is then
//! untouched) or the command could not run.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;
use serde_json::Value;

use host_harness::host::PolicyHost;
use host_harness::manifest::{InputError, InputPath, Limits, expand_paths, read_input};
use host_harness::pin::{self, PinError, PinFailure, PinnedImage};
use host_harness::registry::{DigestSource, RunningPods};

use crate::cli::{PolicyArgs, RegistryArgs};

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Print a unified diff of what would change; change nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// How to report what was pinned: lines on stderr, or one JSON document on stdout (not with --dry-run or `-`).
    #[arg(long, short = 'o', value_enum, default_value_t = PinOutput::Text, conflicts_with = "dry_run")]
    pub output: PinOutput,

    /// Change nothing; exit 1 when some image would be pinned, 0 when none would.
    #[arg(long)]
    pub check: bool,

    /// Also re-resolve the tag of every `name:tag@digest` image and rewrite a digest its tag no longer points to
    /// (the tag stays); with --check, exit 1 when any digest is stale.
    #[arg(long)]
    pub refresh: bool,

    /// Move every image of IMAGE's repository (matched on the normalized name: `nginx` is `docker.io/library/nginx`)
    /// to `name:TAG@<digest of TAG>`, the name as written; repeatable.
    #[arg(long = "set", value_name = "IMAGE:TAG", value_parser = pin::SetImage::parse)]
    pub sets: Vec<pin::SetImage>,

    /// Pin each image to the digest it runs at in these Pods (`kubectl get pods -A -o json`; `-` for stdin), not to
    /// what its tag points at today; no registry is contacted.
    #[arg(long, value_name = "FILE", conflicts_with = "digests")]
    pub from_pods: Option<PathBuf>,

    /// Manifest files and directories (searched recursively for *.yaml, *.yml, *.json), rewritten in place;
    /// `-` alone reads stdin and writes the pinned text to stdout.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PinOutput {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Rewrite the files.
    Write,
    /// Print a diff.
    DryRun,
    /// Only tell, by the exit status.
    Check,
}

/// What happened to one input.
struct FileResult {
    name: String,
    outcome: Result<Pinned, PinFailure>,
}

struct Pinned {
    images: Vec<PinnedImage>,
    /// Rejections pinning cannot fix.
    left_as_is: Vec<PinError>,
    /// `--dry-run`: the diff; `-`: the text to print.
    stdout: Option<String>,
}

pub fn run(args: PinArgs) -> anyhow::Result<ExitCode> {
    let mode = match (args.dry_run, args.check) {
        (true, _) => Mode::DryRun,
        (_, true) => Mode::Check,
        _ => Mode::Write,
    };
    let reads_stdin = args.paths.iter().any(|path| path.as_os_str() == "-");
    if reads_stdin && args.paths.len() > 1 {
        anyhow::bail!("`-` (pin stdin to stdout) cannot be combined with other paths");
    }
    anyhow::ensure!(
        !(reads_stdin && args.output == PinOutput::Json),
        "`-` writes the pinned text to stdout, so it cannot be combined with --output json"
    );

    let spec = args.policy.spec();
    let settings = pin::settings_with_resolve_tags(spec.settings()?).map_err(anyhow::Error::msg)?;
    // The digest source the module's capability asks, which --refresh asks too (sharing its per-run cache).
    let (host, source) = match &args.from_pods {
        Some(pods) => {
            anyhow::ensure!(
                !(reads_stdin && pods.as_os_str() == "-"),
                "--from-pods - and the path - cannot both read stdin"
            );
            let running: Arc<dyn DigestSource> = Arc::new(
                RunningPods::load(pods)
                    .map_err(anyhow::Error::msg)
                    .context("invalid --from-pods input")?,
            );
            let host = spec.load_serving(Arc::clone(&running), &args.registry.spec(), &settings)?;
            (host, running)
        }
        None => spec.load_with_source(&args.registry.spec(), &settings)?,
    };
    let asks = pin::HostAsks {
        source: Some(source.as_ref()),
        refresh: args.refresh,
        sets: &args.sets,
    };

    let started = Instant::now();
    // Each file is read, judged, and (in write mode) replaced in its own task, so a long run writes as it goes and
    // holds only the files in progress in memory.
    let results: Vec<FileResult> = expand_paths(&args.paths)
        .into_par_iter()
        .with_max_len(1)
        .map(|input| pin_input(input, &host, &settings, &asks, mode))
        .collect();

    let report = Report::of(&results);
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let verb = if mode == Mode::Write {
        "pinned"
    } else {
        "would pin"
    };
    match args.output {
        PinOutput::Text => write_text(&results, mode, verb, &mut stdout, &mut stderr)?,
        PinOutput::Json => {
            serde_json::to_writer_pretty(&mut stdout, &json_report(&results, &report, mode))
                .context("writing to stdout")?;
            writeln!(stdout).context("writing to stdout")?;
        }
    }
    stdout.flush().context("writing to stdout")?;
    writeln!(stderr, "{}", report.summary(verb))?;
    if args.policy.verbose {
        writeln!(stderr, "pin took {:.3}s", started.elapsed().as_secs_f64())?;
    }
    Ok(ExitCode::from(if report.failed_files > 0 {
        2
    } else if mode == Mode::Check && report.images > 0 {
        1
    } else {
        0
    }))
}

/// The text report: per file, its pinned images, errors and what was left as is, in line order, on stderr; the
/// diff (`--dry-run`) or the pinned text (`-`) on stdout.
fn write_text(
    results: &[FileResult],
    mode: Mode,
    verb: &str,
    stdout: &mut impl std::io::Write,
    stderr: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    for result in results {
        let name = &result.name;
        // Each file's lines in file order; a line without a number (a file-wide error) first.
        let mut lines: Vec<(Option<usize>, String)> = Vec::new();
        let left_as_is = match &result.outcome {
            Ok(pinned) => {
                // With --dry-run the diff shows each image already.
                if mode != Mode::DryRun {
                    lines.extend(pinned.images.iter().map(|image| {
                        (
                            Some(image.line),
                            format!(
                                "{name}:{}: {verb} {} -> {}",
                                image.line, image.old, image.new
                            ),
                        )
                    }));
                }
                &pinned.left_as_is
            }
            Err(failure) => {
                lines.extend(failure.errors.iter().map(|error| {
                    let text = match error.line {
                        Some(line) => format!("error: {name}:{line}: {}", error.message),
                        None => format!("error: {name}: {}", error.message),
                    };
                    (error.line, text)
                }));
                &failure.left_as_is
            }
        };
        lines.extend(left_as_is.iter().map(|note| {
            let text = match note.line {
                Some(line) => format!("{name}:{line}: left as is: {}", note.message),
                None => format!("{name}: left as is: {}", note.message),
            };
            (note.line, text)
        }));
        lines.sort_by_key(|(line, _)| *line);
        for (_, text) in lines {
            writeln!(stderr, "{text}")?;
        }
        if let Ok(Pinned {
            stdout: Some(text), ..
        }) = &result.outcome
        {
            stdout
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
        }
    }
    Ok(())
}

/// `--output json`: every change with its file, line and both references (and digests), every rejection left as is,
/// every error, and the summary's counts, for bots writing commit messages and pull requests.
fn json_report(results: &[FileResult], report: &Report, mode: Mode) -> Value {
    let digest_of = |image: &str| image.rsplit_once('@').map(|(_, digest)| digest.to_owned());
    let notes = |notes: &[PinError]| -> Vec<Value> {
        notes
            .iter()
            .map(|note| serde_json::json!({"line": note.line, "message": note.message}))
            .collect()
    };
    let files: Vec<Value> = results
        .iter()
        .map(|result| {
            let (changes, left_as_is, errors) = match &result.outcome {
                Ok(pinned) => (
                    pinned
                        .images
                        .iter()
                        .map(|image| {
                            serde_json::json!({
                                "line": image.line,
                                "from": image.old,
                                "to": image.new,
                                "fromDigest": digest_of(&image.old),
                                "toDigest": digest_of(&image.new),
                            })
                        })
                        .collect(),
                    notes(&pinned.left_as_is),
                    Vec::new(),
                ),
                Err(failure) => (
                    Vec::new(),
                    notes(&failure.left_as_is),
                    notes(&failure.errors),
                ),
            };
            serde_json::json!({
                "file": result.name,
                "changes": changes,
                "leftAsIs": left_as_is,
                "errors": errors,
            })
        })
        .collect();
    serde_json::json!({
        "written": mode == Mode::Write,
        "files": files,
        "summary": {
            "images": report.images,
            "changedFiles": report.pinned_files,
            "unchangedFiles": report.unchanged_files,
            "failedFiles": report.failed_files,
            "errors": report.errors,
            "leftAsIs": report.left_as_is,
        },
    })
}

fn pin_input(
    input: Result<InputPath, InputError>,
    host: &PolicyHost,
    settings: &Value,
    asks: &pin::HostAsks,
    mode: Mode,
) -> FileResult {
    let failed = |name: String, error: InputError| FileResult {
        name,
        outcome: Err(PinFailure {
            errors: vec![PinError {
                line: error.line,
                message: error.message,
            }],
            left_as_is: Vec::new(),
        }),
    };
    let path = match input {
        Ok(path) => path,
        Err(error) => return failed(error.file.clone(), error),
    };
    let name = path.display_name();
    let file = match read_input(&path) {
        Ok(file) => file,
        Err(error) => return failed(name, error),
    };
    let plan = match pin::plan_file_with(&file, host, settings, Limits::default(), asks) {
        Ok(plan) => plan,
        Err(failure) => {
            return FileResult {
                name,
                outcome: Err(failure),
            };
        }
    };
    let stdout = match (mode, &path) {
        (Mode::DryRun, _) if !plan.pinned.is_empty() => {
            Some(unified_diff(&name, &file.text, &plan.new_text))
        }
        // A filter always passes its input on, pinned or not.
        (Mode::Write, InputPath::Stdin) => Some(plan.new_text),
        (Mode::Write, InputPath::File(path)) if !plan.pinned.is_empty() => {
            if let Err(error) = pin::replace_file(
                path,
                &file.bytes_of(&file.text),
                &file.bytes_of(&plan.new_text),
            ) {
                return FileResult {
                    name,
                    outcome: Err(PinFailure {
                        errors: vec![PinError {
                            line: None,
                            message: error.to_string(),
                        }],
                        left_as_is: plan.left_as_is,
                    }),
                };
            }
            None
        }
        _ => None,
    };
    FileResult {
        name,
        outcome: Ok(Pinned {
            images: plan.pinned,
            left_as_is: plan.left_as_is,
            stdout,
        }),
    }
}

/// A unified diff (`--- NAME` / `+++ NAME`, three lines of context), which `patch -p0` applies.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// The counts of the summary line.
struct Report {
    images: usize,
    pinned_files: usize,
    unchanged_files: usize,
    failed_files: usize,
    errors: usize,
    left_as_is: usize,
}

impl Report {
    fn of(results: &[FileResult]) -> Report {
        let mut report = Report {
            images: 0,
            pinned_files: 0,
            unchanged_files: 0,
            failed_files: 0,
            errors: 0,
            left_as_is: 0,
        };
        for result in results {
            match &result.outcome {
                Ok(pinned) => {
                    if pinned.images.is_empty() {
                        report.unchanged_files += 1;
                    } else {
                        report.pinned_files += 1;
                        report.images += pinned.images.len();
                    }
                    report.left_as_is += pinned.left_as_is.len();
                }
                Err(failure) => {
                    report.failed_files += 1;
                    report.errors += failure.errors.len();
                    report.left_as_is += failure.left_as_is.len();
                }
            }
        }
        report
    }

    /// `pinned 3 images in 2 files; 5 files unchanged; 0 errors`, then `; 2 rejections left as is` when there are.
    fn summary(&self, verb: &str) -> String {
        let mut line = format!(
            "{verb} {} in {}; {} unchanged; {}",
            plural(self.images, "image"),
            plural(self.pinned_files, "file"),
            plural(self.unchanged_files, "file"),
            plural(self.errors, "error"),
        );
        if self.failed_files > 0 {
            line.push_str(&format!(
                " ({} left untouched)",
                plural(self.failed_files, "file")
            ));
        }
        if self.left_as_is > 0 {
            line.push_str(&format!(
                "; {} left as is",
                plural(self.left_as_is, "rejection")
            ));
        }
        line
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

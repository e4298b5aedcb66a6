//! `host-harness bench`: how fast a policy module loads and evaluates, in figures (never in pass/fail tests).
//!
//! Three costs are measured apart, because they are paid at different times:
//! - compile: Cranelift turning the module into machine code, paid once per module and host (or never, with a
//!   warm compiled-module cache, whose load is measured too);
//! - instantiate: a fresh instance for one evaluation (store, instance from the pre-linked module, `wapc_init`),
//!   paid on every evaluation, as policy-server and `check` make one per request;
//! - evaluate: the whole [`PolicyHost::validate_timed`] of one request, instantiation included, from the
//!   validation payload's JSON bytes to the parsed verdict, with the guest's own `__guest_call` shown beside it.
//!   The payload is serialized once per request, before the measured evaluations: an admission webhook receives
//!   its request as JSON bytes, and turning the harness's `Value` into bytes is the harness's cost, not the
//!   policy's.
//!
//! Each request is evaluated `warmup` times unmeasured, then `iterations` times measured one by one on one
//! thread; the report gives medians (p50), 99th percentiles and evaluations per second.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use crate::host::{EvaluationTimings, HostOptions, ModuleOrigin, PolicyHost};
use crate::kubewarden::{admission_request_from_input, validation_payload};

/// How many times to run things.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Measured evaluations per request.
    pub iterations: usize,
    /// Unmeasured evaluations per request before the measured ones (caches, branch predictors, the pool).
    pub warmup: usize,
    /// Measured compilations of the module.
    pub compilations: usize,
}

/// One request to measure, named for the report.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    pub name: String,
    /// The bare AdmissionRequest.
    pub request: Value,
}

impl BenchRequest {
    /// Reads a request file: a JSON AdmissionRequest or a whole AdmissionReview, named by its file stem.
    pub fn from_file(path: &Path) -> anyhow::Result<BenchRequest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the request {}", path.display()))?;
        let input: Value = serde_json::from_str(&text)
            .with_context(|| format!("the request in {} is not valid JSON", path.display()))?;
        let request = admission_request_from_input(input).with_context(|| {
            format!(
                "the request in {} is not an admission request",
                path.display()
            )
        })?;
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |stem| stem.to_string_lossy().into_owned(),
        );
        Ok(BenchRequest { name, request })
    }
}

/// The `*.json` request files of `dir`, sorted, leaving out `expected.json` (the fixtures' verdict table).
pub fn request_files_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        let is_request = path.extension().is_some_and(|ext| ext == "json")
            && path.file_name().is_some_and(|name| name != "expected.json");
        if is_request {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub policy: String,
    pub module_bytes: usize,
    pub iterations: usize,
    pub warmup: usize,
    /// Compiling the module with the cache off (engine, Cranelift, linking): one figure per compilation.
    pub compile: Figures,
    /// Loading the module's compiled code from a warm compiled-module cache; `None` when the cache could not
    /// be used (unwritable cache directory).
    pub load_from_cache: Option<Figures>,
    pub requests: Vec<RequestReport>,
    /// Requests left out because evaluating them calls a host capability: the bench measures the policy, not
    /// a registry.
    pub skipped: Vec<SkippedRequest>,
    /// Every measured evaluation of every request together.
    pub overall: Option<EvaluationFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestReport {
    pub name: String,
    /// `accepted`, `mutated`, `rejected`, or `error: …` when the policy gave no verdict.
    pub verdict: String,
    pub figures: EvaluationFigures,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedRequest {
    pub name: String,
    pub reason: String,
}

/// The figures of a set of evaluations.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationFigures {
    /// A fresh instance (store, instantiation, `wapc_init`).
    pub instantiate: Figures,
    /// The guest's `__guest_call` alone.
    pub guest_call: Figures,
    /// The whole evaluation, from the validation payload's JSON bytes to the parsed verdict.
    pub evaluation: Figures,
    /// Evaluations per second on one thread, one after another: the count over the time they took together.
    pub evaluations_per_second: f64,
}

/// Percentiles of a set of durations, in nanoseconds (JSON) and as durations (text).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub samples: usize,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub min_ns: u64,
    pub mean_ns: u64,
}

impl Figures {
    /// `None` for no samples.
    pub fn of(samples: &[Duration]) -> Option<Figures> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted: Vec<u64> = samples.iter().map(|d| d.as_nanos() as u64).collect();
        sorted.sort_unstable();
        let total: u64 = sorted.iter().sum();
        Some(Figures {
            samples: sorted.len(),
            p50_ns: percentile(&sorted, 50),
            p99_ns: percentile(&sorted, 99),
            min_ns: sorted[0],
            mean_ns: total / sorted.len() as u64,
        })
    }

    pub fn p50(&self) -> Duration {
        Duration::from_nanos(self.p50_ns)
    }

    pub fn p99(&self) -> Duration {
        Duration::from_nanos(self.p99_ns)
    }
}

/// The nearest-rank `pct`th percentile of sorted, non-empty `values`.
fn percentile(sorted: &[u64], pct: usize) -> u64 {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Measures `policy` (the module at `policy_path`, loaded with `options`) on `requests` under `settings`.
pub fn run(
    policy_path: &Path,
    options: &HostOptions,
    settings: &Value,
    requests: &[BenchRequest],
    bench: BenchOptions,
) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(bench.iterations > 0, "--iterations must be at least 1");
    anyhow::ensure!(bench.compilations > 0, "--compilations must be at least 1");
    let module = std::fs::read(policy_path)
        .with_context(|| format!("reading the policy module {}", policy_path.display()))?;

    let mut compile_times = Vec::with_capacity(bench.compilations);
    for _ in 0..bench.compilations {
        let started = Instant::now();
        let uncached = HostOptions {
            cache: false,
            ..options.clone()
        };
        PolicyHost::from_bytes(&module, uncached)
            .with_context(|| format!("loading the policy module {}", policy_path.display()))?;
        compile_times.push(started.elapsed());
    }
    let load_from_cache = if options.cache {
        measure_cached_load(&module, options, bench.compilations)?
    } else {
        None
    };

    let host = PolicyHost::from_bytes(&module, options.clone())
        .with_context(|| format!("loading the policy module {}", policy_path.display()))?;
    let settings_verdict = host
        .validate_settings(settings)
        .context("validating the policy settings")?;
    anyhow::ensure!(
        settings_verdict.valid,
        "Provided settings are not valid: {}",
        settings_verdict.message.unwrap_or_default()
    );

    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    let mut all_timings = Vec::new();
    for request in requests {
        let payload = validation_payload(&request.request, settings);
        // The first evaluation tells whether the request needs a host capability; it counts as warm-up.
        let (verdict, first) = host.validate_timed(payload.clone());
        if first.capability_calls > 0 {
            skipped.push(SkippedRequest {
                name: request.name.clone(),
                reason: format!(
                    "its evaluation calls a host capability ({} call{}): the bench measures the policy alone",
                    first.capability_calls,
                    if first.capability_calls == 1 { "" } else { "s" }
                ),
            });
            continue;
        }
        for _ in 1..bench.warmup {
            let _ = host.validate_timed(payload.clone());
        }
        let mut timings = Vec::with_capacity(bench.iterations);
        for _ in 0..bench.iterations {
            timings.push(host.validate_timed(payload.clone()).1);
        }
        let verdict = match verdict {
            Ok(response) if !response.accepted => "rejected".to_owned(),
            Ok(response) if response.mutated_object.is_some() => "mutated".to_owned(),
            Ok(_) => "accepted".to_owned(),
            Err(error) => format!("error: {error}"),
        };
        reports.push(RequestReport {
            name: request.name.clone(),
            verdict,
            figures: evaluation_figures(&timings).expect("at least one iteration"),
        });
        all_timings.extend(timings);
    }

    Ok(BenchReport {
        policy: policy_path.display().to_string(),
        module_bytes: module.len(),
        iterations: bench.iterations,
        warmup: bench.warmup,
        compile: Figures::of(&compile_times).expect("at least one compilation"),
        load_from_cache,
        requests: reports,
        skipped,
        overall: evaluation_figures(&all_timings),
    })
}

/// Loads the module through the compiled-module cache `times` times, after one load that fills it. `None` when
/// the loads did not come from the cache (it could not be written).
fn measure_cached_load(
    module: &[u8],
    options: &HostOptions,
    times: usize,
) -> anyhow::Result<Option<Figures>> {
    PolicyHost::from_bytes(module, options.clone())?;
    let mut load_times = Vec::with_capacity(times);
    for _ in 0..times {
        let started = Instant::now();
        let host = PolicyHost::from_bytes(module, options.clone())?;
        load_times.push(started.elapsed());
        if host.module_origin() != ModuleOrigin::Cache {
            return Ok(None);
        }
    }
    Ok(Figures::of(&load_times))
}

fn evaluation_figures(timings: &[EvaluationTimings]) -> Option<EvaluationFigures> {
    let evaluation: Vec<Duration> = timings.iter().map(|t| t.total).collect();
    let total: Duration = evaluation.iter().sum();
    Some(EvaluationFigures {
        instantiate: Figures::of(&timings.iter().map(|t| t.instantiate).collect::<Vec<_>>())?,
        guest_call: Figures::of(&timings.iter().map(|t| t.guest_call).collect::<Vec<_>>())?,
        evaluation: Figures::of(&evaluation)?,
        evaluations_per_second: timings.len() as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
    })
}

/// The report as a table for people.
pub fn write_table(report: &BenchReport, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let kib = report.module_bytes as f64 / 1024.0;
    writeln!(
        out,
        "policy      {} ({} bytes, {kib:.1} KiB)",
        report.policy, report.module_bytes
    )?;
    writeln!(
        out,
        "compile     p50 {}  (no cache, {} run{})",
        show(report.compile.p50()),
        report.compile.samples,
        if report.compile.samples == 1 { "" } else { "s" }
    )?;
    match &report.load_from_cache {
        Some(load) => writeln!(
            out,
            "cache load  p50 {}  (compiled code from the module cache)",
            show(load.p50())
        )?,
        None => writeln!(out, "cache load  n/a (cache off or not writable)")?,
    }
    writeln!(
        out,
        "evaluations {} measured per request after {} warm-up, one thread, a fresh instance each",
        report.iterations, report.warmup
    )?;
    writeln!(out)?;

    let name_width = report
        .requests
        .iter()
        .map(|r| r.name.len())
        .chain([7])
        .max()
        .unwrap_or(7);
    writeln!(
        out,
        "{:<name_width$}  {:<8}  {:>11}  {:>10}  {:>10}  {:>10}  {:>9}",
        "request", "verdict", "instantiate", "guest call", "eval p50", "eval p99", "evals/s"
    )?;
    let mut row = |name: &str, verdict: &str, figures: &EvaluationFigures| {
        writeln!(
            out,
            "{name:<name_width$}  {verdict:<8}  {:>11}  {:>10}  {:>10}  {:>10}  {:>9.0}",
            show(figures.instantiate.p50()),
            show(figures.guest_call.p50()),
            show(figures.evaluation.p50()),
            show(figures.evaluation.p99()),
            figures.evaluations_per_second
        )
    };
    for request in &report.requests {
        let verdict = if request.verdict.starts_with("error") {
            "error"
        } else {
            &request.verdict
        };
        row(&request.name, verdict, &request.figures)?;
    }
    if let Some(overall) = &report.overall {
        row("all", "", overall)?;
    }
    writeln!(
        out,
        "(instantiate and guest call: p50; eval: the whole evaluation, instantiation included)"
    )?;
    for request in report
        .requests
        .iter()
        .filter(|r| r.verdict.starts_with("error"))
    {
        writeln!(out, "{}: {}", request.name, request.verdict)?;
    }
    for skipped in &report.skipped {
        writeln!(out, "skipped {}: {}", skipped.name, skipped.reason)?;
    }
    Ok(())
}

/// A duration in the unit that suits it (ns, µs, ms or s), with three significant digits.
fn show(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.2}ms", nanos as f64 / 1e6)
    } else {
        format!("{:.2}s", nanos as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_nanos).collect();
        let figures = Figures::of(&samples).unwrap();
        assert_eq!(figures.p50_ns, 50);
        assert_eq!(figures.p99_ns, 99);
        assert_eq!(figures.min_ns, 1);
        assert_eq!(figures.mean_ns, 50);
        let one = Figures::of(&[Duration::from_micros(3)]).unwrap();
        assert_eq!((one.p50_ns, one.p99_ns), (3_000, 3_000));
        assert!(Figures::of(&[]).is_none());
    }

    #[test]
    fn durations_are_shown_in_a_fitting_unit() {
        assert_eq!(show(Duration::from_nanos(812)), "812ns");
        assert_eq!(show(Duration::from_nanos(14_240)), "14.2µs");
        assert_eq!(show(Duration::from_micros(3_410)), "3.41ms");
        assert_eq!(show(Duration::from_millis(1_200)), "1.20s");
    }
}

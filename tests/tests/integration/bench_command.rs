//! `host-harness bench`, the built binary, on the real policy.wasm: it runs and prints its figures (never timed
//! assertions: how fast is for bench/compare.sh to show, not for a test to judge). The do-nothing WAT policy
//! bench/compare.sh measures beside it is host-harness/tests/bench_command.rs's.

use std::process::Output;

use serde_json::Value;

#[path = "../../../host-harness/tests/bench_support/mod.rs"]
mod bench_support;

use bench_support::{bench_policy, quick_bench, stdout};
// bench_support runs this binary.
use crate::support::harness_binary;
use crate::support::{policy_wasm, repo_root};

/// `host-harness bench policy.wasm` with few iterations, then `args`.
fn bench(args: &[&str]) -> Output {
    quick_bench(policy_wasm(), args)
}

fn bench_exactly(args: &[&str]) -> Output {
    bench_policy(policy_wasm(), args)
}

fn fixture(name: &str) -> String {
    repo_root().join(name).display().to_string()
}

#[test]
fn the_default_run_measures_every_fixture_request_and_prints_a_table() {
    let table = stdout(&bench(&[]));
    for line in [
        "compile     p50 ",
        "cache load  p50 ",
        "request ",
        "instantiate",
        "eval p50",
        "evals/s",
    ] {
        assert!(table.contains(line), "no {line:?} in:\n{table}");
    }
    // One row per request: the fixtures' and the bench's own 3-container Deployment, with their verdicts.
    let row = |name: &str| {
        table
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
            .to_owned()
    };
    assert!(row("deployment-three-containers").contains(" accepted "));
    assert!(row("pod-unpinned").contains(" rejected "));
    assert!(row("all").contains('s'));
    let rows = table
        .lines()
        .filter(|line| line.contains("µs") || line.contains("ns "))
        .count();
    assert!(rows > 40, "{rows} rows of figures in:\n{table}");
}

#[test]
fn json_output_has_every_figure_for_the_requests_given() {
    let output = bench(&[
        "--output",
        "json",
        &fixture("tests/fixtures/requests/pod-pinned.json"),
        &fixture("bench/requests/deployment-three-containers.json"),
    ]);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    assert!(report["module_bytes"].as_u64().unwrap() > 1000);
    assert!(report["compile"]["p50_ns"].as_u64().unwrap() > 0);
    let requests = report["requests"].as_array().unwrap();
    let names: Vec<&str> = requests
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pod-pinned", "deployment-three-containers"]);
    for request in requests {
        assert_eq!(request["verdict"], "accepted");
        let figures = &request["figures"];
        assert_eq!(figures["evaluation"]["samples"], 3);
        for part in ["instantiate", "guest_call", "evaluation"] {
            let p50 = figures[part]["p50_ns"].as_u64().unwrap();
            let p99 = figures[part]["p99_ns"].as_u64().unwrap();
            assert!(p50 > 0 && p50 <= p99, "{part}: {figures}");
        }
        assert!(figures["evaluations_per_second"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(report["overall"]["evaluation"]["samples"], 6);
}

#[test]
fn requests_that_need_a_host_capability_are_skipped_and_named() {
    // In mutate mode an unpinned image is looked up in a registry: the bench measures the policy, not a registry.
    let output = bench(&[
        "--settings-json",
        r#"{"resolveTags": true}"#,
        "--output",
        "json",
        &fixture("tests/fixtures/requests/pod-unpinned.json"),
        &fixture("tests/fixtures/requests/pod-pinned.json"),
    ]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["requests"][0]["name"], "pod-pinned");
    assert_eq!(report["requests"].as_array().unwrap().len(), 1);
    assert_eq!(report["skipped"][0]["name"], "pod-unpinned");
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("host capability"),
        "{report}"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let output = bench(&["/nonexistent/request.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/request.json"), "{stderr}");

    let output = bench_exactly(&["--iterations", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--iterations must be at least 1"));

    let output = bench(&["--settings-json", r#"{"nope": 1}"#]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Provided settings are not valid"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

//! `host-harness bench`, the built binary, on the do-nothing WAT policy bench/compare.sh measures beside policy.wasm.
//! `bench` on the real policy.wasm is tests/tests/integration/bench_command.rs's.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `host-harness bench POLICY` with few iterations, then `args`.
fn quick_bench(policy: &Path, args: &[&str]) -> Output {
    let mut quick = vec!["--iterations", "3", "--warmup", "1", "--compilations", "1"];
    quick.extend(args);
    Command::new(env!("CARGO_BIN_EXE_host-harness"))
        .arg("bench")
        .arg(policy)
        .args(quick)
        // The cached load is measured too: keep it out of the user's own module cache.
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("host-harness-bench-tests-cache"),
        )
        .output()
        .expect("the harness runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn the_do_nothing_policy_takes_every_fixture_request() {
    // bench/compare.sh measures it beside policy.wasm on the same requests, for what a fresh instance costs alone.
    let policy = fixture("bench/do-nothing-policy.wat");
    let output = quick_bench(Path::new(&policy), &["--output", "json"]);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    let requests = report["requests"].as_array().unwrap();
    assert!(requests.len() > 40, "{report}");
    assert!(
        requests.iter().all(|r| r["verdict"] == "accepted"),
        "{report}"
    );
    assert_eq!(
        report["skipped"].as_array().map_or(0, Vec::len),
        0,
        "{report}"
    );
}

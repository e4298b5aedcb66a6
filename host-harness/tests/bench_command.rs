//! `host-harness bench`, the built binary, on the do-nothing WAT policy bench/compare.sh measures beside policy.wasm.
//! `bench` on the real policy.wasm is tests/tests/integration/bench_command.rs's.

use std::path::Path;

use serde_json::Value;

mod bench_support;

use bench_support::{quick_bench, stdout};

fn harness_binary() -> &'static str {
    env!("CARGO_BIN_EXE_host-harness")
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

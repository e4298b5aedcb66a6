//! Running `host-harness bench` for the tests of both layers: host-harness/tests/bench_command.rs (the do-nothing WAT
//! policy) and tests/tests/integration/bench_command.rs (the real policy.wasm), which reaches this file by `#[path]`.
//! Each includer says which binary to run with a `harness_binary()` of its own.

use std::path::Path;
use std::process::{Command, Output};

use super::harness_binary;

/// `host-harness bench POLICY` with few iterations, then `args`.
pub fn quick_bench(policy: &Path, args: &[&str]) -> Output {
    let mut quick = vec!["--iterations", "3", "--warmup", "1", "--compilations", "1"];
    quick.extend(args);
    bench_policy(policy, &quick)
}

/// `host-harness bench POLICY ARGS…`.
pub fn bench_policy(policy: &Path, args: &[&str]) -> Output {
    Command::new(harness_binary())
        .arg("bench")
        .arg(policy)
        .args(args)
        // The cached load is measured too: keep it out of the user's own module cache.
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("host-harness-bench-tests-cache"),
        )
        .output()
        .expect("the harness runs")
}

/// The run's stdout, once it is known to have succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

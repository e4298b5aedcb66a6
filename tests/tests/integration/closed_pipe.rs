//! A reader that stops reading (`host-harness check … | head`) ends the run quietly, as ripgrep does: no "Broken
//! pipe" error on the terminal, and `check` still exits with its verdict, so a rejection fails a `pipefail` pipeline.

use std::process::{Command, Stdio};

use crate::support::{fixtures, harness_binary, policy_wasm};

/// Runs host-harness with its stdout a pipe whose reading end is already closed, so its first write fails.
fn run_with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(harness_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("host-harness starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("host-harness ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[rstest::rstest]
#[case::text("text")]
#[case::json("json")]
#[case::junit("junit")]
#[case::sarif("sarif")]
#[case::github("github")]
fn check_into_a_closed_pipe_is_quiet_and_keeps_its_verdict(#[case] format: &str) {
    let policy = policy_wasm().display().to_string();
    let manifests = fixtures().join("manifests").display().to_string();
    let (status, stderr) =
        run_with_closed_stdout(&["check", &policy, &manifests, "--output", format]);
    assert_eq!(stderr, "", "nothing on stderr");
    assert_eq!(status, Some(1), "the fixtures hold rejections: exit 1");
}

#[test]
fn run_into_a_closed_pipe_is_quiet() {
    let policy = policy_wasm().display().to_string();
    let request = fixtures()
        .join("requests/deployment-unpinned.json")
        .display()
        .to_string();
    let (status, stderr) = run_with_closed_stdout(&["run", &policy, "--request-path", &request]);
    assert_eq!(stderr, "", "nothing on stderr");
    assert_eq!(status, Some(0));
}

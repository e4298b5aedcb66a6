//! `host-harness run`, the built binary, on WAT guests for what the real policy never does (logging, mutating,
//! trapping, looping). The real policy.wasm through `run` is tests/tests/integration/run_command.rs's.

mod watchdog;

use std::path::Path;

use base64::Engine as _;
use serde_json::json;

mod run_support;

use run_support::{DIGEST, pod_request, run, stderr, stdout_json, write, write_json};

fn harness_binary() -> &'static str {
    // A guest that loops forever is stopped only by the deadline under test.
    watchdog::arm();
    env!("CARGO_BIN_EXE_host-harness")
}

/// A guest that accepts its settings, logs through both channels, and answers `validate` with `answer`.
fn scripted_guest(dir: &Path, answer: &str) -> String {
    let answer_len = answer.len();
    let answer = answer.replace('\\', "\\\\").replace('"', "\\\"");
    let wat = format!(
        r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "{{\"valid\":true}}")
  (data (i32.const 32) "kubewardentracinglog")
  (data (i32.const 64) "{{\"level\":\"info\",\"message\":\"looking at the pod\",\"image\":\"nginx\"}}")
  (data (i32.const 160) "console says hi")
  (data (i32.const 256) "{answer}")
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (call $guest_request (i32.const 8192) (i32.const 16384))
    ;; validate_settings (17 bytes): valid.
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 0) (i32.const 14)) (return (i32.const 1))))
    (drop (call $host_call (i32.const 32) (i32.const 10) (i32.const 42) (i32.const 7) (i32.const 49) (i32.const 3)
                           (i32.const 64) (i32.const 63)))
    (call $console_log (i32.const 160) (i32.const 15))
    (call $guest_response (i32.const 256) (i32.const {answer_len}))
    (i32.const 1)))"#
    );
    write(dir, "guest.wat", wat).to_str().unwrap().to_owned()
}

#[test]
fn verbose_shows_the_policys_log_lines_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let guest = scripted_guest(dir.path(), r#"{"accepted":true}"#);
    let request = write_json(dir.path(), "request.json", &pod_request("nginx"));

    let quiet = run(&[&guest, "-r", &request, "--no-cache"]);
    assert_eq!(stdout_json(&quiet)["response"]["allowed"], true);
    assert_eq!(stderr(&quiet), "", "no log lines without --verbose");

    let verbose = run(&[&guest, "-r", &request, "--no-cache", "--verbose"]);
    assert_eq!(stdout_json(&verbose)["response"]["allowed"], true);
    let log = stderr(&verbose);
    assert!(
        log.contains(r#"policy INFO looking at the pod image="nginx""#),
        "{log}"
    );
    assert!(log.contains("policy console: console says hi"), "{log}");
}

#[test]
fn a_mutation_prints_the_base64_json_patch() {
    let dir = tempfile::tempdir().unwrap();
    let pinned = format!("nginx:1.27@{DIGEST}");
    let mut mutated = pod_request(&pinned)["object"].clone();
    mutated["metadata"]["labels"] = json!({"pinned": "true"});
    let answer =
        serde_json::to_string(&json!({"accepted": true, "mutated_object": mutated})).unwrap();
    let guest = scripted_guest(dir.path(), &answer);
    let request = pod_request("nginx:1.27");
    let request_path = write_json(dir.path(), "request.json", &request);

    let review = stdout_json(&run(&[&guest, "-r", &request_path, "--no-cache"]));
    assert_eq!(review["response"]["allowed"], true);
    assert_eq!(review["response"]["patchType"], "JSONPatch");
    let patch_bytes = base64::engine::general_purpose::STANDARD
        .decode(review["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).unwrap();
    let mut patched = request["object"].clone();
    json_patch::patch(&mut patched, &patch).unwrap();
    assert_eq!(patched, mutated);
}

#[test]
fn a_trapping_or_looping_policy_exits_2_within_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(dir.path(), "request.json", &pod_request("nginx"));
    let trap = write(
        dir.path(),
        "trap.wat",
        r#"(module (memory (export "memory") 1) (func (export "__guest_call") (param i32 i32) (result i32) unreachable))"#,
    );
    let output = run(&[trap.to_str().unwrap(), "-r", &request, "--no-cache"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("validating the policy settings"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("unreachable"),
        "{}",
        stderr(&output)
    );

    let looping = write(
        dir.path(),
        "loop.wat",
        r#"(module (memory (export "memory") 1) (func (export "__guest_call") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 1)))"#,
    );
    // Never ends by itself: the exit and the message are the deadline's.
    let output = run(&[
        looping.to_str().unwrap(),
        "-r",
        &request,
        "--no-cache",
        "--timeout",
        "0.2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did not finish within the 0.2s deadline"),
        "{}",
        stderr(&output)
    );
}

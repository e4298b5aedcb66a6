//! `host-harness run`, the built binary, as a user runs it with the real policy.wasm. WAT guests for what the real
//! policy never does (logging, mutating, trapping, looping) are host-harness/tests/run_command.rs's.

use std::io::Write as _;
use std::process::{Output, Stdio};

use serde_json::json;

use crate::run_support::{
    DIGEST, harness, pod_request, run, stderr, stdout_json, write, write_json,
};
use crate::support::policy_wasm;

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = harness()
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the harness starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn policy() -> &'static str {
    policy_wasm().to_str().expect("a UTF-8 path")
}

#[test]
fn a_rejection_prints_the_admission_review_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(dir.path(), "request.json", &pod_request("nginx:1.27"));
    let output = run(&[policy(), "--request-path", &request]);
    let review = stdout_json(&output);
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    assert_eq!(review["response"]["uid"], "req-42");
    assert_eq!(review["response"]["allowed"], false);
    let message = review["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("nginx:1.27"), "{message}");
    // One line, fields in kwctl's order.
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with(r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"req-42","allowed":false,"status":"#), "{text}");
}

#[test]
fn an_acceptance_has_no_status() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(
        dir.path(),
        "request.json",
        &pod_request(&format!("nginx:1.27@{DIGEST}")),
    );
    let review = stdout_json(&run(&[policy(), "-r", &request]));
    assert_eq!(
        review["response"],
        json!({"uid": "req-42", "allowed": true})
    );
}

#[test]
fn a_whole_admission_review_on_stdin_and_a_file_uri_policy_work() {
    let review_in = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": pod_request("nginx:1.27")});
    let uri = format!("file://{}", policy_wasm().canonicalize().unwrap().display());
    let output = run_with_stdin(
        &[&uri, "--request-path", "-"],
        &serde_json::to_vec(&review_in).unwrap(),
    );
    let review = stdout_json(&output);
    assert_eq!(review["response"]["uid"], "req-42");
    assert_eq!(review["response"]["allowed"], false);
}

#[test]
fn settings_come_from_json_or_a_yaml_file() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(dir.path(), "request.json", &pod_request("nginx:1.27"));
    let inline = stdout_json(&run(&[
        policy(),
        "-r",
        &request,
        "--settings-json",
        r#"{"exemptImages":["nginx:*"]}"#,
    ]));
    assert_eq!(inline["response"]["allowed"], true);
    assert!(
        inline["response"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("exempt"),
        "{inline}"
    );

    let settings = write(
        dir.path(),
        "settings.yaml",
        "# exempt nginx\nexemptImages:\n  - nginx:*\n",
    );
    let from_file = stdout_json(&run(&[
        policy(),
        "-r",
        &request,
        "--settings-path",
        settings.to_str().unwrap(),
    ]));
    assert_eq!(from_file["response"]["allowed"], true);
}

#[test]
fn invalid_settings_exit_1_with_kwctls_message() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(dir.path(), "request.json", &pod_request("nginx:1.27"));
    let output = run(&[
        policy(),
        "-r",
        &request,
        "--settings-json",
        r#"{"exemptImages":"nginx"}"#,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(
        stderr(&output).starts_with("Provided settings are not valid: "),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("exemptImages"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let request = write_json(dir.path(), "request.json", &pod_request("nginx:1.27"));
    let not_json = write(dir.path(), "broken.json", "{ not json")
        .to_str()
        .unwrap()
        .to_owned();
    let array = write(dir.path(), "array.json", "[1, 2]")
        .to_str()
        .unwrap()
        .to_owned();
    let cases: [(Vec<&str>, &str); 8] = [
        (
            vec![policy(), "-r", "/nonexistent/request.json"],
            "/nonexistent/request.json",
        ),
        (vec![policy(), "-r", &not_json], "is not valid JSON"),
        (vec![policy(), "-r", &array], "not a JSON object"),
        (
            vec!["/nonexistent/policy.wasm", "-r", &request],
            "/nonexistent/policy.wasm",
        ),
        (vec![&request, "-r", &request], "not a WebAssembly module"),
        (
            vec![policy(), "-r", &request, "--settings-json", "{"],
            "--settings-json is not valid JSON",
        ),
        (
            vec![policy(), "-r", &request, "--timeout", "0"],
            "--timeout must be a positive number",
        ),
        (
            vec![policy(), "-r", &request, "--memory-limit-mib", "5000"],
            "--memory-limit-mib must be between 1 and 4096",
        ),
    ];
    for (args, expected) in cases {
        let output = run(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn the_module_cache_lives_under_xdg_cache_home_and_is_used_on_the_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache_home = dir.path().join("cache-home");
    let request = write_json(dir.path(), "request.json", &pod_request("nginx:1.27"));
    let run_cached = |extra: &[&str]| {
        harness()
            .env("XDG_CACHE_HOME", &cache_home)
            .args(["run", policy(), "-r", &request, "--verbose"])
            .args(extra)
            .output()
            .unwrap()
    };
    let cache_dir = cache_home.join("host-harness/modules");

    let uncached = run_cached(&["--no-cache"]);
    assert!(
        stderr(&uncached).contains("(Compiled)"),
        "{}",
        stderr(&uncached)
    );
    assert!(!cache_home.exists(), "--no-cache wrote to the cache");

    let first = run_cached(&[]);
    assert!(
        stderr(&first).contains("(CompiledAndCached)"),
        "{}",
        stderr(&first)
    );
    let entries: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].extension().is_some_and(|e| e == "cwasm"));

    let second = run_cached(&[]);
    assert!(stderr(&second).contains("(Cache)"), "{}", stderr(&second));
    assert_eq!(stdout_json(&second), stdout_json(&first));

    // A corrupted entry is recompiled and replaced, not fatal.
    std::fs::write(&entries[0], b"garbage").unwrap();
    let after_corruption = run_cached(&[]);
    assert!(
        stderr(&after_corruption).contains("(CompiledAndCached)"),
        "{}",
        stderr(&after_corruption)
    );
    assert_eq!(stdout_json(&after_corruption), stdout_json(&first));
    let again = run_cached(&[]);
    assert!(stderr(&again).contains("(Cache)"), "{}", stderr(&again));
}

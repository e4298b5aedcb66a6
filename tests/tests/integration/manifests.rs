//! The fixture manifests under tests/fixtures/manifests/, with the verdict of every object recorded in
//! tests/fixtures/manifest-verdicts.json: checked through the harness library and through `host-harness check`
//! in every output format, each parsed back and held to the same table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

use host_harness::check::{CheckOptions, check};
use host_harness::manifest::{Limits, expand_paths};
use host_harness::metadata::Metadata;
use host_harness::report::{OutputFormat, TextStyle, write_report};

use crate::support::{fixtures, harness_binary, policy_host, policy_wasm, repo_root};

#[derive(Debug, Deserialize)]
struct Verdicts {
    settings: String,
    objects: Vec<ExpectedObject>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
struct ExpectedObject {
    file: String,
    line: usize,
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    verdict: String,
    #[serde(default)]
    violations: Vec<ExpectedViolation>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
struct ExpectedViolation {
    line: usize,
    message: String,
}

fn manifests_dir() -> PathBuf {
    fixtures().join("manifests")
}

fn verdicts() -> Verdicts {
    let text = std::fs::read_to_string(fixtures().join("manifest-verdicts.json"))
        .expect("manifest-verdicts.json");
    let verdicts: Verdicts =
        serde_json::from_str(&text).expect("manifest-verdicts.json matches its schema");
    // Every kind the policy inspects, and objects it does not, are among the fixtures.
    let kinds: std::collections::BTreeSet<&str> =
        verdicts.objects.iter().map(|o| o.kind.as_str()).collect();
    for kind in [
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "PodTemplate",
        "Service",
    ] {
        assert!(kinds.contains(kind), "the fixtures should hold a {kind}");
    }
    verdicts
}

fn settings_path() -> PathBuf {
    fixtures().join(verdicts().settings)
}

fn settings_json() -> Value {
    // The settings file is YAML; the harness reads it the same way for the CLI, so reuse its loader.
    let text = std::fs::read_to_string(settings_path()).unwrap();
    host_harness::manifest::parse_single(&text).expect("the settings file is YAML")
}

/// Reads the JSON report into the table's shape, so the library and every output format are compared alike.
fn objects_of_json_report(report: &Value) -> Vec<ExpectedObject> {
    let mut objects = Vec::new();
    for file in report["files"].as_array().expect("files") {
        let path = file["file"].as_str().unwrap();
        let relative = path
            .rsplit_once("manifests/")
            .map_or(path, |(_, name)| name)
            .to_string();
        for object in file["objects"].as_array().expect("objects") {
            let strings = |key: &str| -> Vec<String> {
                object
                    .get(key)
                    .and_then(Value::as_array)
                    .map_or_else(Vec::new, |items| {
                        items
                            .iter()
                            .map(|item| item.as_str().unwrap().to_string())
                            .collect()
                    })
            };
            objects.push(ExpectedObject {
                file: relative.clone(),
                line: object["line"].as_u64().unwrap() as usize,
                kind: object["kind"].as_str().unwrap().to_string(),
                name: object["name"].as_str().unwrap().to_string(),
                namespace: object
                    .get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                verdict: object["verdict"].as_str().unwrap().to_string(),
                violations: object
                    .get("violations")
                    .and_then(Value::as_array)
                    .map_or_else(Vec::new, |items| {
                        items
                            .iter()
                            .map(|v| ExpectedViolation {
                                line: v["line"].as_u64().unwrap() as usize,
                                message: v["message"].as_str().unwrap().to_string(),
                            })
                            .collect()
                    }),
                warnings: strings("warnings"),
            });
        }
    }
    objects
}

fn assert_same_objects(got: &[ExpectedObject], expected: &[ExpectedObject], via: &str) {
    for (got, expected) in got.iter().zip(expected) {
        assert_eq!(got, expected, "{via}: object differs");
    }
    assert_eq!(got.len(), expected.len(), "{via}: object count");
}

fn run_check(extra: &[&str]) -> Output {
    Command::new(harness_binary())
        .arg("check")
        .arg(policy_wasm())
        .arg("--settings-path")
        .arg(settings_path())
        .arg("--metadata")
        .arg(repo_root().join("metadata.yml"))
        .args(extra)
        .arg(manifests_dir())
        .env("NO_COLOR", "1")
        .output()
        .expect("host-harness runs")
}

fn rejected_count(expected: &[ExpectedObject]) -> usize {
    expected.iter().filter(|o| o.verdict == "rejected").count()
}

#[test]
fn the_library_gives_every_fixture_object_its_recorded_verdict() {
    let expected = verdicts().objects;
    let options = CheckOptions {
        settings: settings_json(),
        metadata: Some(
            Metadata::from_file(&repo_root().join("metadata.yml")).expect("metadata.yml loads"),
        ),
        limits: Limits::default(),
        verify: None,
    };
    let report = check(expand_paths(&[manifests_dir()]), policy_host(), &options);
    let mut json = Vec::new();
    write_report(&report, OutputFormat::Json, TextStyle::default(), &mut json).unwrap();
    let got = objects_of_json_report(&serde_json::from_slice(&json).unwrap());
    assert_same_objects(&got, &expected, "library");
    assert_eq!(report.summary.exit_code(), 1, "some fixtures are rejected");
}

#[test]
fn check_json_output_matches_the_table_and_exits_1() {
    let expected = verdicts().objects;
    let output = run_check(&["--output", "json"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_same_objects(&objects_of_json_report(&report), &expected, "--output json");
    let summary = &report["summary"];
    assert_eq!(summary["checked"], expected.len());
    assert_eq!(summary["rejected"], rejected_count(&expected));
    assert_eq!(summary["errors"], 0);
}

#[test]
fn check_text_output_names_every_violation_with_file_and_line() {
    let expected = verdicts().objects;
    let output = run_check(&[]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    for object in &expected {
        for violation in &object.violations {
            let line = format!(
                "manifests/{}:{}: {}",
                object.file, violation.line, violation.message
            );
            assert!(text.contains(&line), "text output lacks {line:?}:\n{text}");
        }
    }
    let accepted = expected.iter().filter(|o| o.verdict == "accepted").count();
    let skipped = expected.iter().filter(|o| o.verdict == "skipped").count();
    let summary = format!(
        "checked {} objects: {accepted} accepted, {} rejected, {skipped} skipped, 0 errors",
        expected.len(),
        rejected_count(&expected)
    );
    assert!(
        text.trim_end().ends_with(&summary),
        "summary line {summary:?} missing:\n{text}"
    );
}

#[test]
fn check_junit_output_has_one_failure_per_rejected_object() {
    let expected = verdicts().objects;
    let output = run_check(&["--output", "junit"]);
    assert_eq!(output.status.code(), Some(1));
    let xml = String::from_utf8(output.stdout).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), expected.len());
    assert_eq!(xml.matches("<failure ").count(), rejected_count(&expected));
    assert!(xml.contains(&format!("tests=\"{}\"", expected.len())));
}

#[test]
fn check_sarif_output_has_one_result_per_violation_with_its_location() {
    let expected = verdicts().objects;
    let output = run_check(&["--output", "sarif"]);
    assert_eq!(output.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let mut got: BTreeMap<(String, u64), String> = BTreeMap::new();
    for result in sarif["runs"][0]["results"].as_array().unwrap() {
        if result["level"] != "error" {
            continue;
        }
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        let file = uri.rsplit_once("manifests/").unwrap().1.to_string();
        got.insert(
            (file, location["region"]["startLine"].as_u64().unwrap()),
            result["message"]["text"].as_str().unwrap().into(),
        );
    }
    let want: BTreeMap<(String, u64), String> = expected
        .iter()
        .flat_map(|o| {
            o.violations
                .iter()
                .map(|v| ((o.file.clone(), v.line as u64), v.message.clone()))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn check_github_output_annotates_every_violation() {
    let expected = verdicts().objects;
    let output = run_check(&["--output", "github"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let errors: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("::error "))
        .collect();
    let violations: usize = expected.iter().map(|o| o.violations.len()).sum();
    assert_eq!(errors.len(), violations, "{text}");
    for object in &expected {
        for violation in &object.violations {
            let prefix = format!("manifests/{},line={},", object.file, violation.line);
            assert!(
                errors.iter().any(|line| line.contains(&prefix)),
                "no annotation at {prefix}:\n{text}"
            );
        }
        for warning in &object.warnings {
            assert!(
                text.lines()
                    .any(|line| line.starts_with("::warning ") && line.ends_with(warning.as_str()))
            );
        }
    }
}

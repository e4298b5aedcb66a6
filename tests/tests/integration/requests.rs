//! Every JSON AdmissionRequest under tests/fixtures/requests/, with the verdict recorded for it in
//! expected.json, evaluated by the real module: through the harness library and through `host-harness run`.
//! The policy crate runs the same cases natively, so the two builds of the rule are held to one table.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::support::{fixtures, harness_binary, policy_host, policy_wasm};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedCase {
    pub name: String,
    pub request: String,
    #[serde(default)]
    pub settings: Value,
    pub allowed: bool,
    pub message: Option<String>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// Image as written -> digest the (offline) registry answers with, for `resolveTags` cases.
    #[serde(default)]
    pub digests: Option<serde_json::Map<String, Value>>,
    /// JSON pointer into the object -> the image the mutation must leave there.
    #[serde(default)]
    pub mutated_images: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct ExpectedFile {
    cases: Vec<ExpectedCase>,
}

pub fn requests_dir() -> PathBuf {
    fixtures().join("requests")
}

pub fn expected_cases() -> Vec<ExpectedCase> {
    let text = std::fs::read_to_string(requests_dir().join("expected.json"))
        .expect("expected.json is readable");
    let file: ExpectedFile = serde_json::from_str(&text).expect("expected.json matches its schema");
    assert!(
        file.cases.len() >= 20,
        "expected.json should cover every behaviour, found {} cases",
        file.cases.len()
    );
    file.cases
}

pub fn settings_of(case: &ExpectedCase) -> Value {
    if case.settings.is_null() {
        serde_json::json!({})
    } else {
        case.settings.clone()
    }
}

pub fn load_request(case: &ExpectedCase) -> Value {
    let path = requests_dir().join(&case.request);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Compares one verdict with its expectation; returns a description of every difference.
fn differences(
    case: &ExpectedCase,
    allowed: bool,
    message: Option<&str>,
    warnings: Option<&[String]>,
) -> Vec<String> {
    let mut found = Vec::new();
    if allowed != case.allowed {
        found.push(format!(
            "allowed: expected {}, got {allowed} (message {message:?})",
            case.allowed
        ));
    }
    if message != case.message.as_deref() {
        found.push(format!(
            "message:\n  expected {:?}\n  got      {message:?}",
            case.message
        ));
    }
    if let Some(expected) = &case.warnings {
        let got = warnings.unwrap_or_default();
        if got != expected.as_slice() {
            found.push(format!("warnings: expected {expected:?}, got {got:?}"));
        }
    }
    found
}

#[test]
fn every_request_fixture_gets_its_recorded_verdict_through_the_library() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in expected_cases()
        .iter()
        .filter(|case| case.digests.is_none())
    {
        let request = load_request(case);
        let settings = settings_of(case);
        let verdict = match policy_host().validate(&request, &settings) {
            Ok(verdict) => verdict,
            Err(error) => {
                failures.push(format!("{}: evaluation error: {error}", case.name));
                continue;
            }
        };
        checked += 1;
        for difference in differences(
            case,
            verdict.accepted,
            verdict.message.as_deref(),
            verdict.warnings.as_deref(),
        ) {
            failures.push(format!("{}: {difference}", case.name));
        }
        if verdict.mutated_object.is_some() {
            failures.push(format!("{}: a validating case must not mutate", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0);
}

#[test]
fn every_request_fixture_gets_its_recorded_verdict_through_the_run_command() {
    let mut failures = Vec::new();
    for case in expected_cases()
        .iter()
        .filter(|case| case.digests.is_none())
    {
        let output = Command::new(harness_binary())
            .arg("run")
            .arg(policy_wasm())
            .arg("--request-path")
            .arg(requests_dir().join(&case.request))
            .arg("--settings-json")
            .arg(settings_of(case).to_string())
            .output()
            .expect("host-harness runs");
        if !output.status.success() {
            failures.push(format!(
                "{}: exit {:?}: {}",
                case.name,
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
            continue;
        }
        let review: Value = serde_json::from_slice(&output.stdout).expect("run prints JSON");
        let response = &review["response"];
        assert_eq!(
            response["uid"],
            load_request(case)["uid"],
            "{}: uid is echoed",
            case.name
        );
        let allowed = response["allowed"].as_bool().expect("allowed is a bool");
        let message = response["status"]["message"].as_str();
        let warnings: Option<Vec<String>> = response
            .get("warnings")
            .map(|w| serde_json::from_value(w.clone()).unwrap());
        for difference in differences(case, allowed, message, warnings.as_deref()) {
            failures.push(format!("{}: {difference}", case.name));
        }
        if response.get("patch").is_some() {
            let patch = base64::engine::general_purpose::STANDARD
                .decode(response["patch"].as_str().unwrap())
                .unwrap();
            failures.push(format!(
                "{}: unexpected patch {}",
                case.name,
                String::from_utf8_lossy(&patch)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

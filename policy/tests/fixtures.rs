//! Runs every case of tests/fixtures/requests/expected.json through `entry::validate`, the very function policy.wasm's
//! `validate` calls, so the fixtures the harness tests replay through the real module are proven here first.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::PathBuf;

use require_digest::entry;
use require_digest::resolver::TableResolver;
use serde_json::{Value, json};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/requests")
}

fn expected_cases() -> Vec<Value> {
    let text = fs::read_to_string(fixtures_dir().join("expected.json")).expect("expected.json");
    let expected: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    expected["cases"].as_array().expect("cases").clone()
}

/// The case's verdict against expectations; an empty list when all holds.
fn check_case(case: &Value) -> Vec<String> {
    let file = case["request"].as_str().expect("request file");
    // The request goes in as written, byte for byte, so duplicate keys reach the policy as they would the API server.
    let request_text =
        fs::read_to_string(fixtures_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let payload = format!(
        r#"{{"settings": {}, "request": {request_text}}}"#,
        case["settings"]
    );
    let digests: HashMap<String, String> = case
        .get("digests")
        .and_then(Value::as_object)
        .map(|table| {
            table
                .iter()
                .map(|(image, digest)| (image.clone(), digest.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let response: Value = serde_json::from_slice(&entry::validate(
        payload.as_bytes(),
        &TableResolver::new(digests),
    ))
    .expect("the response is JSON");

    let mut failures = Vec::new();
    let expect = |failures: &mut Vec<String>, what: &str, got: &Value, want: &Value| {
        if got != want {
            failures.push(format!("{what}:\n    got  {got}\n    want {want}"));
        }
    };
    expect(
        &mut failures,
        "accepted",
        &response["accepted"],
        &case["allowed"],
    );
    expect(
        &mut failures,
        "message",
        &response["message"],
        &case["message"],
    );
    expect(&mut failures, "code", &response["code"], &Value::Null);
    let want_warnings = case.get("warnings").cloned().unwrap_or(Value::Null);
    expect(
        &mut failures,
        "warnings",
        &response["warnings"],
        &want_warnings,
    );
    match case.get("mutatedImages").and_then(Value::as_object) {
        None => expect(
            &mut failures,
            "mutated_object",
            &response["mutated_object"],
            &Value::Null,
        ),
        Some(mutated_images) => {
            // Exactly the listed images change; everything else in the object stays as it was.
            let request: Value = serde_json::from_str(&request_text).unwrap();
            let mut want_object = request["object"].clone();
            for (pointer, image) in mutated_images {
                match want_object.pointer_mut(pointer) {
                    Some(slot) => *slot = image.clone(),
                    None => failures.push(format!("mutatedImages: {pointer} is not in the object")),
                }
            }
            expect(
                &mut failures,
                "mutated_object",
                &response["mutated_object"],
                &want_object,
            );
        }
    }
    failures
}

#[test]
fn every_fixture_case_gets_its_expected_verdict() {
    let cases = expected_cases();
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|case| {
            check_case(case)
                .into_iter()
                .map(move |failure| format!("case {:?}: {failure}", case["name"].as_str().unwrap()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_cover_the_issue_and_none_is_orphaned() {
    let cases = expected_cases();
    let used: BTreeSet<String> = cases
        .iter()
        .map(|case| case["request"].as_str().unwrap().to_string())
        .collect();
    let on_disk: BTreeSet<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json") && name != "expected.json")
        .collect();
    assert_eq!(
        used, on_disk,
        "every request file has a case, and every case a file"
    );

    let names: BTreeSet<&str> = cases
        .iter()
        .map(|case| case["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");

    // Each kind, operation and mode the issue names appears in some request.
    let requests: Vec<Value> = used
        .iter()
        .map(|file| {
            serde_json::from_str(&fs::read_to_string(fixtures_dir().join(file)).unwrap()).unwrap()
        })
        .collect();
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
    ] {
        assert!(
            requests.iter().any(|r| r["kind"]["kind"] == kind),
            "no fixture of kind {kind}"
        );
    }
    for operation in ["CREATE", "UPDATE", "DELETE", "CONNECT"] {
        assert!(
            requests.iter().any(|r| r["operation"] == operation),
            "no fixture of operation {operation}"
        );
    }
    assert!(
        requests
            .iter()
            .any(|r| r["subResource"] == "ephemeralcontainers")
    );
    for setting in [
        "exemptImages",
        "allowedAlgorithms",
        "requireTag",
        "allowExistingViolations",
        "resolveTags",
    ] {
        assert!(
            cases
                .iter()
                .any(|case| case["settings"].get(setting).is_some()),
            "no case sets {setting}"
        );
    }
    assert!(
        cases
            .iter()
            .any(|case| case.get("mutatedImages").is_some() && case["allowed"] == json!(true))
    );
}

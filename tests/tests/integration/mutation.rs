//! The `resolveTags` cases of expected.json: the real module in mutate mode, answering through the harness's
//! real `kubewarden`/`oci`/`v1/manifest_digest` capability backed by an offline `--digests` map (the registry
//! itself is exercised in host-harness/tests/registry.rs and e2e/).

use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use host_harness::host::{Capabilities, HostCapability};
use host_harness::registry::RegistrySpec;

use crate::requests::{ExpectedCase, expected_cases, load_request, requests_dir, settings_of};
use crate::support::{harness_binary, policy_host_with, policy_wasm};

/// The digest map of a case, as the file `--digests` reads; `None` when the map itself breaks the digest rule
/// (the harness refuses such a map on load, so those answers are served by [`FixedAnswer`] instead).
fn digests_file(case: &ExpectedCase, dir: &tempfile::TempDir) -> Option<std::path::PathBuf> {
    let digests = case.digests.as_ref()?;
    if malformed_digest(case).is_some() {
        return None;
    }
    let path = dir.path().join(format!("{}.json", case.request));
    std::fs::write(&path, serde_json::to_vec(digests).unwrap()).unwrap();
    Some(path)
}

/// The first digest of a case's map that is not `sha256:<64 lowercase hex>`.
fn malformed_digest(case: &ExpectedCase) -> Option<String> {
    let well_formed = |digest: &str| {
        digest.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    };
    case.digests
        .as_ref()?
        .values()
        .filter_map(Value::as_str)
        .find(|digest| !well_formed(digest))
        .map(str::to_string)
}

/// A registry that answers every image with the same digest string, however malformed: how the policy treats a
/// host it cannot trust.
pub struct FixedAnswer(pub String);

impl HostCapability for FixedAnswer {
    fn call(&self, _payload: &[u8]) -> Result<Vec<u8>, String> {
        Ok(serde_json::to_vec(&json!({ "digest": self.0 })).unwrap())
    }
}

/// The part of an expected message that does not depend on which digest source answered: a resolution failure's
/// host error is the harness's own wording, not the native test table's.
fn message_prefix(message: &str) -> &str {
    match message.find("could not be resolved to a digest:") {
        Some(at) => &message[..at + "could not be resolved to a digest:".len()],
        None => message,
    }
}

fn assert_mutation(case: &ExpectedCase, object: &Value, mutated: Option<&Value>) {
    match (&case.mutated_images, mutated) {
        (Some(images), Some(mutated)) => {
            for (pointer, image) in images {
                assert_eq!(
                    mutated.pointer(pointer),
                    Some(image),
                    "{}: {pointer}",
                    case.name
                );
            }
            // Nothing changed but the expected images (some of which may already have been pinned).
            let patch = json_patch::diff(object, mutated);
            let changed = images
                .iter()
                .filter(|(pointer, image)| object.pointer(pointer) != Some(*image))
                .count();
            assert_eq!(patch.0.len(), changed, "{}: patch {patch:?}", case.name);
        }
        (None, None) => {}
        (expected, got) => panic!("{}: expected mutation {expected:?}, got {got:?}", case.name),
    }
}

#[test]
fn resolve_tags_cases_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for case in expected_cases()
        .iter()
        .filter(|case| case.digests.is_some())
    {
        let mut capabilities = Capabilities::new();
        match digests_file(case, &dir) {
            Some(path) => {
                let registry = RegistrySpec {
                    digests: Some(path),
                    ..RegistrySpec::default()
                };
                registry
                    .register(&mut capabilities)
                    .expect("the digest map loads");
            }
            None => {
                let answer = malformed_digest(case)
                    .expect("a map the harness refuses has a malformed digest");
                capabilities.register(
                    "kubewarden",
                    "oci",
                    "v1/manifest_digest",
                    Arc::new(FixedAnswer(answer)),
                );
            }
        }
        let host = policy_host_with(capabilities);
        let request = load_request(case);
        let verdict = host
            .validate(&request, &settings_of(case))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            verdict.accepted, case.allowed,
            "{}: {:?}",
            case.name, verdict.message
        );
        match (&case.message, &verdict.message) {
            (Some(expected), Some(got)) => assert!(
                got.starts_with(message_prefix(expected)),
                "{}:\n  expected {expected:?}\n  got      {got:?}",
                case.name
            ),
            (expected, got) => assert_eq!(expected, got, "{}", case.name),
        }
        if let Some(warnings) = &case.warnings {
            assert_eq!(verdict.warnings.as_ref(), Some(warnings), "{}", case.name);
        }
        assert_mutation(case, &request["object"], verdict.mutated_object.as_ref());
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected.json should hold resolveTags cases, found {checked}"
    );
}

#[test]
fn run_prints_the_json_patch_of_a_mutation_like_kwctl() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for case in expected_cases()
        .iter()
        .filter(|case| case.mutated_images.is_some())
    {
        let digests = digests_file(case, &dir).expect("mutating cases have well-formed digests");
        let output = Command::new(harness_binary())
            .arg("run")
            .arg(policy_wasm())
            .arg("--request-path")
            .arg(requests_dir().join(&case.request))
            .arg("--settings-json")
            .arg(settings_of(case).to_string())
            .arg("--digests")
            .arg(&digests)
            .output()
            .expect("host-harness runs");
        assert!(
            output.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let review: Value = serde_json::from_slice(&output.stdout).expect("run prints JSON");
        let response = &review["response"];
        assert_eq!(response["allowed"], json!(true), "{}", case.name);
        assert_eq!(response["patchType"], json!("JSONPatch"), "{}", case.name);
        let patch = base64::engine::general_purpose::STANDARD
            .decode(
                response["patch"]
                    .as_str()
                    .expect("patch is a base64 string"),
            )
            .expect("patch is base64");
        let patch: json_patch::Patch =
            serde_json::from_slice(&patch).expect("patch is a JSON Patch");
        // Applying the patch to the request's object must give the expected images and nothing else.
        let object = load_request(case)["object"].clone();
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &patch).expect("the patch applies to the request's object");
        assert_mutation(case, &object, Some(&patched));
        checked += 1;
    }
    assert!(checked >= 2);
}

//! The real policy.wasm through the host library, beyond the fixture tables of `requests`: the protocol version,
//! settings validation round-tripping, one host evaluating from many threads (as `check` does), and mutate mode
//! through a registered registry capability, down to the AdmissionReview's JSON patch.

use base64::Engine as _;
use host_harness::host::{Capabilities, HostOptions, PolicyHost};
use host_harness::kubewarden::admission_review_response;
use host_harness::registry::RegistrySpec;
use serde_json::{Value, json};

use crate::run_support::pod_request;
use crate::support::{policy_host, policy_wasm};

const DIGEST: &str = "sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d";

fn host() -> &'static PolicyHost {
    policy_host()
}

#[test]
fn speaks_protocol_v1() {
    assert_eq!(host().protocol_version().unwrap(), "v1");
}

#[test]
fn settings_validation_round_trips() {
    let valid = host().validate_settings(&json!({})).unwrap();
    assert!(valid.valid, "{valid:?}");
    assert!(host().validate_settings(&Value::Null).unwrap().valid);
    assert!(
        host()
            .validate_settings(&json!({"exemptImages": ["registry.k8s.io/pause:*"]}))
            .unwrap()
            .valid
    );

    let invalid = host()
        .validate_settings(&json!({"exemptImages": "nginx"}))
        .unwrap();
    assert!(!invalid.valid);
    assert!(
        invalid
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("exemptImages"),
        "{invalid:?}"
    );
}

#[test]
fn verdicts_stay_right_across_threads() {
    std::thread::scope(|scope| {
        for thread in 0..4 {
            scope.spawn(move || {
                for round in 0..25 {
                    let pinned = (thread + round) % 2 == 0;
                    let image = if pinned {
                        format!("nginx:1.27@{DIGEST}")
                    } else {
                        "nginx:1.27".to_owned()
                    };
                    let verdict = host().validate(&pod_request(&image), &json!({})).unwrap();
                    assert_eq!(verdict.accepted, pinned, "{image}: {verdict:?}");
                }
            });
        }
    });
}

#[test]
fn mutate_mode_pins_through_the_registered_capability() {
    let map = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(map.path(), format!("nginx:1.27: {DIGEST}\n")).unwrap();
    let mut capabilities = Capabilities::new();
    RegistrySpec {
        digests: Some(map.path().to_owned()),
        ..RegistrySpec::default()
    }
    .register(&mut capabilities)
    .unwrap();
    let options = HostOptions {
        cache: false,
        capabilities,
        ..HostOptions::default()
    };
    let host = PolicyHost::load(policy_wasm(), options).unwrap();

    let request = pod_request("nginx:1.27");
    let verdict = host
        .validate(&request, &json!({"resolveTags": true}))
        .unwrap();
    assert!(verdict.accepted, "{verdict:?}");
    let pinned = format!("nginx:1.27@{DIGEST}");
    let mutated = verdict.mutated_object.as_ref().expect("a mutated object");
    assert_eq!(mutated["spec"]["containers"][0]["image"], pinned);

    let review = admission_review_response(&request, &verdict);
    assert_eq!(review.response.patch_type.as_deref(), Some("JSONPatch"));
    let patch = base64::engine::general_purpose::STANDARD
        .decode(review.response.patch.unwrap())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&patch).unwrap(),
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": pinned}])
    );

    // An image the map does not know: rejected, naming it (the host's error reaches the policy).
    let unknown = host
        .validate(&pod_request("redis:7"), &json!({"resolveTags": true}))
        .unwrap();
    assert!(!unknown.accepted);
    assert!(
        unknown
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("redis:7"),
        "{unknown:?}"
    );
}

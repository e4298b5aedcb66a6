//! The module's own limits: its stack (48 KiB, policy/memory_layout.rs) holds the deepest payload and the deepest
//! settings its JSON parser accepts, on the validate path, the mutate path (which reads the object whole, copies it and
//! writes it back) and in `validate_settings`. Up to the parser's depth limit every evaluation ends in a verdict, never
//! a trap; past it, in a rejection naming the limit. A module with a 36 KiB stack fails these tests (it traps at 113
//! levels).

use std::sync::Arc;

use serde_json::{Value, json};

use host_harness::host::{Capabilities, PolicyHost};

use crate::mutation::FixedAnswer;
use crate::support::{policy_host, policy_host_with};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A Deployment's admission request with `image` as its one container's image and `extra` as a field of its spec.
fn deployment_request(image: Value, extra: Value) -> Value {
    json!({
        "uid": "limits",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "operation": "CREATE",
        "name": "deep",
        "object": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "deep"},
            "spec": {
                "extra": extra,
                "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
            },
        },
    })
}

/// `leaf` inside `depth` lists.
fn nested_lists(depth: usize, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, _| Value::Array(vec![inner]))
}

/// Evaluates `request_at(depth)` for growing depths until the module answers that the parser's depth limit is
/// exceeded, checking every answer before that with `check`. Returns the deepest depth that got a verdict.
fn deepest_judged(
    host: &PolicyHost,
    settings: &Value,
    request_at: impl Fn(usize) -> Value,
    check: impl Fn(usize, &host_harness::kubewarden::ValidationResponse),
) -> usize {
    for depth in 100..200 {
        let verdict = host
            .validate(&request_at(depth), settings)
            .unwrap_or_else(|error| panic!("nesting {depth} deep: no verdict: {error}"));
        if verdict
            .message
            .as_deref()
            .is_some_and(|message| message.contains("recursion limit exceeded"))
        {
            assert!(!verdict.accepted, "nesting {depth} deep: {verdict:?}");
            return depth - 1;
        }
        check(depth, &verdict);
    }
    panic!("no depth up to 200 reached the parser's limit");
}

#[test]
fn the_deepest_image_the_parser_accepts_is_judged() {
    let deepest = deepest_judged(
        policy_host(),
        &json!({}),
        |depth| deployment_request(nested_lists(depth, json!("nginx")), json!(null)),
        |depth, verdict| {
            assert!(!verdict.accepted, "nesting {depth} deep: {verdict:?}");
            let message = verdict.message.as_deref().unwrap_or_default();
            assert!(
                message.contains("image must be a string, found a list"),
                "nesting {depth} deep: {message}"
            );
        },
    );
    assert!(deepest >= 110, "the parser stopped at {deepest} levels");
}

#[test]
fn the_deepest_object_the_parser_accepts_is_mutated_whole() {
    let mut capabilities = Capabilities::new();
    capabilities.register(
        "kubewarden",
        "oci",
        "v1/manifest_digest",
        Arc::new(FixedAnswer(DIGEST.to_string())),
    );
    let host = policy_host_with(capabilities);
    let deepest = deepest_judged(
        &host,
        &json!({"resolveTags": true}),
        |depth| deployment_request(json!("nginx:1.27"), nested_lists(depth, json!("leaf"))),
        |depth, verdict| {
            assert!(verdict.accepted, "nesting {depth} deep: {verdict:?}");
            let mutated = verdict
                .mutated_object
                .as_ref()
                .unwrap_or_else(|| panic!("nesting {depth} deep: not mutated"));
            assert_eq!(
                mutated.pointer("/spec/template/spec/containers/0/image"),
                Some(&json!(format!("nginx:1.27@{DIGEST}"))),
                "nesting {depth} deep"
            );
            assert_eq!(
                mutated.pointer("/spec/extra"),
                Some(&nested_lists(depth, json!("leaf"))),
                "nesting {depth} deep: the deep field is handed back unchanged"
            );
        },
    );
    assert!(deepest >= 110, "the parser stopped at {deepest} levels");
}

/// Gives `answer` settings nested deeper and deeper until the module answers that the parser's depth limit is
/// exceeded; every answer before that must refuse the settings (`exemptImages` must be a list of strings) with a
/// message containing `refusal`. `answer` returns whether the module accepted, and its message.
fn deepest_settings_refused(answer: impl Fn(&Value) -> (bool, String), refusal: &str) -> usize {
    for depth in 100..200 {
        let settings = json!({ "exemptImages": nested_lists(depth, json!("nginx")) });
        let (accepted, message) = answer(&settings);
        assert!(!accepted, "settings nested {depth} deep were accepted");
        if message.contains("recursion limit exceeded") {
            return depth - 1;
        }
        assert!(
            message.contains(refusal),
            "settings nested {depth} deep: {message}"
        );
    }
    panic!("no depth up to 200 reached the parser's limit");
}

/// Settings are read whole, from the top of their payload: the deepest value the parser accepts there is the deepest
/// the module ever builds. Up to that depth the settings are judged; past it, refused naming the limit.
#[test]
fn the_deepest_settings_the_parser_accepts_are_judged() {
    let deepest = deepest_settings_refused(
        |settings| {
            let verdict = policy_host()
                .validate_settings(settings)
                .unwrap_or_else(|error| panic!("no answer: {error}"));
            (verdict.valid, verdict.message.unwrap_or_default())
        },
        "exemptImages",
    );
    assert!(deepest >= 120, "the parser stopped at {deepest} levels");
}

/// The same settings inside a validation payload: every evaluation is a verdict (a rejection naming the settings),
/// never a trap.
#[test]
fn the_deepest_settings_in_a_validation_payload_are_judged() {
    let request = deployment_request(json!("nginx"), json!(null));
    let deepest = deepest_settings_refused(
        |settings| {
            let verdict = policy_host()
                .validate(&request, settings)
                .unwrap_or_else(|error| panic!("no verdict: {error}"));
            (verdict.accepted, verdict.message.unwrap_or_default())
        },
        "invalid settings",
    );
    assert!(deepest >= 120, "the parser stopped at {deepest} levels");
}

//! The pruned payload reader (`payload::read` with `payload::PAYLOAD`) against the whole parse it replaced: the same
//! errors for malformed input (but for the faults in dropped fields it does not look for), and the same verdict for
//! every request.

use std::collections::HashMap;
use std::path::PathBuf;

use proptest::prelude::*;
use require_digest::entry;
use require_digest::payload::{self, PAYLOAD, Shape};
use require_digest::resolver::TableResolver;
use require_digest::settings::Settings;
use require_digest::validation::{Verdict, validate_request};
use rstest::rstest;
use serde_json::{Value, json};

/// The verdict the policy gave before pruning: the whole payload parsed into a `Value`, then the rule.
fn whole_verdict(payload: &[u8], resolver: &TableResolver) -> Verdict {
    let mut whole: Value = match serde_json::from_slice(payload) {
        Ok(value) => value,
        Err(error) => return Verdict::reject(format!("malformed validation payload: {error}")),
    };
    if !whole.is_object() {
        return entry::verdict(payload, resolver);
    }
    let settings = match Settings::from_json(whole.get("settings").unwrap_or(&Value::Null)) {
        Ok(settings) => settings,
        Err(error) => return Verdict::reject(format!("invalid settings: {error}")),
    };
    match whole.get_mut("request").map(Value::take) {
        None | Some(Value::Null) => {
            Verdict::reject("malformed admission request: request is missing")
        }
        Some(request) => validate_request(&request, &settings, resolver),
    }
}

/// Both readers agree on `json`: the same value when the shape keeps everything, the same error otherwise. (The same
/// error, not always the same column: in a skipped string serde_json reports a control character one column later.)
fn assert_same_outcome(json: &[u8]) {
    let without_position = |error: serde_json::Error| {
        let message = error.to_string();
        match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        }
    };
    let whole = serde_json::from_slice::<Value>(json).map_err(without_position);
    let pruned = payload::read(json, PAYLOAD).map_err(without_position);
    assert_eq!(
        whole.as_ref().err(),
        pruned.as_ref().err(),
        "input: {:?}",
        String::from_utf8_lossy(json)
    );
    assert_eq!(
        payload::read(json, Shape::Whole).map_err(without_position),
        whole,
        "Shape::Whole is a whole parse"
    );
}

#[rstest]
#[case::invalid_utf8_in_a_dropped_string(b"{\"request\": {\"junk\": \"\xff\xfe\"}}".to_vec())]
#[case::invalid_utf8_in_a_dropped_key(b"{\"request\": {\"\xc3\x28\": 1}}".to_vec())]
#[case::bad_escape_in_a_dropped_string(br#"{"request": {"junk": "\q"}}"#.to_vec())]
#[case::control_character_in_a_dropped_string(b"{\"request\": {\"junk\": \"a\x01b\"}}".to_vec())]
#[case::trailing_characters(br#"{"request": {}} x"#.to_vec())]
#[case::truncated(br#"{"request": {"object": {"spec": {"containers": [{"image": "a""#.to_vec())]
#[case::missing_colon_in_a_dropped_object(br#"{"request": {"userInfo": {"username" "x"}}}"#.to_vec())]
#[case::trailing_comma(br#"{"request": {"operation": "CREATE",}}"#.to_vec())]
#[case::not_json_at_all(b"\x00\x01\x02".to_vec())]
#[case::empty(Vec::new())]
fn malformed_payloads_fail_with_the_whole_parse_error(#[case] json: Vec<u8>) {
    assert!(serde_json::from_slice::<Value>(&json).is_err());
    assert_same_outcome(&json);
}

const PINNED_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const PINNED: &str =
    "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What the pruned read does not look for in a field it drops (see payload.rs): the verdict is the one on the payload
/// without that field, and a mutation, which needs the object whole, is refused naming the fault.
#[rstest]
#[case::lone_surrogate_in_a_dropped_string(r#""\ud800""#, "hex escape")]
#[case::number_out_of_range_in_a_dropped_field("1e400", "number out of range")]
#[case::dropped_nesting_past_the_depth_limit(&format!("{}1{}", "[".repeat(200), "]".repeat(200)), "recursion limit exceeded")]
fn faults_in_dropped_fields_do_not_change_the_verdict(
    #[case] junk: &str,
    #[case] whole_error: &str,
) {
    let pod = |image: &str, junk: Option<&str>| {
        let junk = junk.map_or(String::new(), |junk| format!(r#""junk": {junk}, "#));
        format!(
            r#"{{"settings": {{"resolveTags": true}}, "request": {{{junk}"operation": "CREATE", "kind": {{"kind": "Pod"}},
            "object": {{"spec": {{"containers": [{{"name": "app", "image": "{image}"}}]}}}}}}}}"#
        )
    };
    let whole = serde_json::from_slice::<Value>(pod(PINNED, Some(junk)).as_bytes()).unwrap_err();
    assert!(whole.to_string().contains(whole_error), "{whole}");

    let resolver = TableResolver::default();
    for image in [PINNED, "nginx:1.27"] {
        let expected = entry::verdict(pod(image, None).as_bytes(), &resolver);
        assert_eq!(
            entry::verdict(pod(image, Some(junk)).as_bytes(), &resolver),
            expected
        );
    }
    // resolveTags with a resolvable tag: the mutation needs the whole object, which cannot be read.
    let resolver = TableResolver::new(HashMap::from([(
        "nginx:1.27".to_string(),
        PINNED_DIGEST.to_string(),
    )]));
    assert!(matches!(
        entry::verdict(pod("nginx:1.27", None).as_bytes(), &resolver),
        Verdict::Mutate { .. }
    ));
    match entry::verdict(pod("nginx:1.27", Some(junk)).as_bytes(), &resolver) {
        Verdict::Reject { message, .. } => assert!(message.contains(whole_error), "{message}"),
        other => panic!("a mutation of an object that cannot be read whole: {other:?}"),
    }
}

#[test]
fn only_the_fields_the_rule_reads_are_kept_each_whole_with_its_type() {
    let payload = json!({
        "settings": {"exemptImages": ["a/*"]},
        "junk": [1, 2, 3],
        "request": {
            "uid": "1", "operation": "CREATE", "kind": {"kind": "Deployment", "group": "apps"}, "name": "web",
            "userInfo": {"username": "me"},
            "object": {
                "metadata": {"name": "web", "labels": {"a": "b"}},
                "spec": {"replicas": 2, "template": {"metadata": {}, "spec": {
                    "containers": [{"name": "app", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}, "not an object"],
                    "initContainers": {"not": "a list"},
                    "volumes": [{"name": "v", "image": {"reference": "r", "pullPolicy": "Always"}, "emptyDir": {}}],
                    "nodeSelector": {"a": "b"}
                }}}
            },
            "oldObject": null
        }
    });
    let pruned = payload::read(payload.to_string().as_bytes(), PAYLOAD).unwrap();
    assert_eq!(
        pruned,
        json!({
            "settings": {"exemptImages": ["a/*"]},
            "request": {
                "operation": "CREATE", "kind": {"kind": "Deployment", "group": "apps"}, "name": "web",
                "object": {
                    "metadata": {"name": "web"},
                    "spec": {"template": {"spec": {
                        "containers": [{"name": "app", "image": "nginx"}, "not an object"],
                        "initContainers": {"not": "a list"},
                        "volumes": [{"name": "v", "image": {"reference": "r", "pullPolicy": "Always"}}]
                    }}}
                },
                "oldObject": null
            }
        })
    );
}

#[test]
fn duplicate_keys_keep_the_last_value_as_a_whole_parse_does() {
    let json = br#"{"request": {"object": {"spec": {"containers": [{"image": "a:1@sha256:x", "image": "b:2"}]},
        "spec": {"containers": [{"name": "c", "image": "d:3", "junk": 1, "image": "e:4"}]}}}}"#;
    let pruned = payload::read(json, PAYLOAD).unwrap();
    assert_eq!(
        pruned["request"]["object"]["spec"]["containers"],
        json!([{"name": "c", "image": "e:4"}])
    );
    assert_same_outcome(json);
}

/// Every request file of the fixtures and of bench/requests, with every settings the fixtures use.
fn fixture_payloads() -> Vec<(String, Vec<u8>, TableResolver)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/fixtures/requests/expected.json")).unwrap(),
    )
    .unwrap();
    let mut settings_used = vec![json!({})];
    let mut digests = HashMap::new();
    for case in expected["cases"].as_array().unwrap() {
        if !settings_used.contains(&case["settings"]) {
            settings_used.push(case["settings"].clone());
        }
        for (image, digest) in case["digests"].as_object().into_iter().flatten() {
            digests.insert(image.clone(), digest.as_str().unwrap().to_owned());
        }
    }
    let mut payloads = Vec::new();
    for dir in ["tests/fixtures/requests", "bench/requests"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == "expected.json" {
                continue;
            }
            let request: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for settings in &settings_used {
                let payload = json!({"request": request, "settings": settings});
                payloads.push((
                    format!("{} with {settings}", path.display()),
                    payload.to_string().into_bytes(),
                    TableResolver::new(digests.clone()),
                ));
            }
        }
    }
    assert!(payloads.len() > 100, "{} payloads", payloads.len());
    payloads
}

#[test]
fn every_fixture_request_gets_the_verdict_of_a_whole_parse() {
    let mut mutations = 0;
    for (name, payload, resolver) in fixture_payloads() {
        let verdict = entry::verdict(&payload, &resolver);
        mutations += usize::from(matches!(verdict, Verdict::Mutate { .. }));
        assert_eq!(verdict, whole_verdict(&payload, &resolver), "{name}");
    }
    assert!(
        mutations > 0,
        "the mutate path (a whole second read) is covered"
    );
}

/// A mutation carries the whole object, fields the rule never reads included.
#[test]
fn a_mutated_object_is_the_whole_object_with_its_images_pinned() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let resolver = TableResolver::new(HashMap::from([("nginx:1.27".to_owned(), digest.clone())]));
    let payload = json!({
        "settings": {"resolveTags": true},
        "request": {"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {
            "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
        }}
    });
    let Verdict::Mutate { object, .. } = entry::verdict(payload.to_string().as_bytes(), &resolver)
    else {
        panic!("a mutation")
    };
    assert_eq!(
        object,
        json!({
            "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": format!("nginx:1.27@{digest}"), "ports": [{"containerPort": 80}]}]}
        })
    );
}

/// JSON values of every type, nested, with keys the rule reads among others.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "request",
        "settings",
        "object",
        "oldObject",
        "operation",
        "kind",
        "subResource",
        "name",
        "metadata",
        "generateName",
        "spec",
        "template",
        "jobTemplate",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "image",
        "reference",
        "resources",
        "labels",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "CREATE",
            "UPDATE",
            "Pod",
            "Deployment",
            "CronJob",
            "nginx:1.27",
            "",
            "é\u{1F600}"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|fields| Value::Object(
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_fail_or_parse_as_a_whole_parse_does(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_same_outcome(&bytes);
    }

    #[test]
    fn arbitrary_json_gets_the_verdict_of_a_whole_parse(request in any_json(), settings in any_json()) {
        let resolver = TableResolver::default();
        for payload in [
            json!({"request": request, "settings": settings}),
            json!({"request": request, "settings": {}}),
            json!({"settings": {}, "request": {"operation": "CREATE", "kind": {"kind": "Deployment"}, "object": request}}),
        ] {
            let bytes = payload.to_string().into_bytes();
            assert_same_outcome(&bytes);
            prop_assert_eq!(entry::verdict(&bytes, &resolver), whole_verdict(&bytes, &resolver));
        }
    }
}

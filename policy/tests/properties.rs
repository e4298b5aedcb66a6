//! Property tests: grammar-valid references round-trip, corrupted digests never pass, and no input makes the
//! validate entry point panic (in policy.wasm a panic is a trap) or accept an unpinned image.

use proptest::prelude::*;
use require_digest::entry;
use require_digest::reference::{Algorithm, Digest, ImageReference};
use require_digest::resolver::TableResolver;
use serde_json::{Map, Value, json};

/// The parts of a reference the generator chose, to compare with what the parser finds.
#[derive(Clone, Debug)]
struct Parts {
    domain: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Parts {
    fn written(&self) -> String {
        let mut written = String::new();
        if let Some(domain) = &self.domain {
            written.push_str(domain);
            written.push('/');
        }
        written.push_str(&self.path);
        if let Some(tag) = &self.tag {
            written.push(':');
            written.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            written.push('@');
            written.push_str(digest);
        }
        written
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha384),
        Just(Algorithm::Sha512)
    ]
}

fn valid_digest() -> impl Strategy<Value = String> {
    algorithm().prop_flat_map(|algorithm| {
        proptest::string::string_regex(&format!("[0-9a-f]{{{}}}", algorithm.hex_len()))
            .unwrap()
            .prop_map(move |hex| format!("{algorithm}:{hex}"))
    })
}

/// Hosts that Docker's split recognizes as a registry: dotted names, localhost, IPv4, bracketed IPv6; any port.
fn domain() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?";
    let host = prop_oneof![
        proptest::string::string_regex(&format!("{label}(\\.{label}){{1,3}}")).unwrap(),
        Just("localhost".to_string()),
        any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
        // Every group in hex: Ipv6Addr's Display writes IPv4-mapped addresses as dotted quads, outside the grammar.
        any::<[u16; 8]>().prop_map(|groups| {
            let groups: Vec<String> = groups.iter().map(|group| format!("{group:x}")).collect();
            format!("[{}]", groups.join(":"))
        }),
    ];
    (host, proptest::option::of(0u32..100_000)).prop_map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn path_component() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9]{1,5}(([._]|__|-{1,3})[a-z0-9]{1,5}){0,3}").unwrap()
}

fn grammar_valid_parts() -> impl Strategy<Value = Parts> {
    (
        proptest::option::of(domain()),
        proptest::collection::vec(path_component(), 1..4),
        proptest::option::of(
            proptest::string::string_regex("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}").unwrap(),
        ),
        proptest::option::of(valid_digest()),
    )
        .prop_filter(
            "without a registry, a first component with a dot would be read as one",
            |(domain, path, _, _)| domain.is_some() || path.len() == 1 || !path[0].contains('.'),
        )
        .prop_map(|(domain, path, tag, digest)| Parts {
            domain,
            path: path.join("/"),
            tag,
            digest,
        })
}

/// One character of a valid digest changed so that it must not pass: replaced (by anything in the algorithm or the
/// colon, by a non-lowercase-hex character in the hex), removed, or inserted.
fn corrupted_digest() -> impl Strategy<Value = (String, String)> {
    (
        valid_digest(),
        any::<prop::sample::Index>(),
        0..3u8,
        any::<char>(),
    )
        .prop_filter_map(
            "a replacement by lowercase hex in the hex part is just another digest",
            |(digest, index, how, replacement)| {
                let chars: Vec<char> = digest.chars().collect();
                let at = index.index(chars.len());
                let colon = digest.find(':').unwrap();
                let mut corrupted = chars.clone();
                match how {
                    0 => {
                        let in_hex = at > colon;
                        if replacement == chars[at]
                            || (in_hex && matches!(replacement, '0'..='9' | 'a'..='f'))
                        {
                            return None;
                        }
                        corrupted[at] = replacement;
                    }
                    1 => {
                        corrupted.remove(at);
                    }
                    _ => corrupted.insert(at, replacement),
                }
                Some((digest, corrupted.into_iter().collect()))
            },
        )
}

/// JSON that looks enough like an AdmissionRequest to reach deep into the rule: keys and values are drawn from the
/// vocabulary the policy reads, mixed with arbitrary values of every type.
fn admission_like_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "kind",
        "operation",
        "object",
        "oldObject",
        "subResource",
        "spec",
        "template",
        "jobTemplate",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "image",
        "reference",
        "name",
        "metadata",
        "generateName",
    ]);
    let strings = prop_oneof![
        prop::sample::select(vec![
            "Pod",
            "Deployment",
            "CronJob",
            "PodTemplate",
            "CREATE",
            "UPDATE",
            "DELETE",
            "CONNECT",
            "ephemeralcontainers",
            "status",
            "nginx",
            "nginx:1.27",
            "",
            " ",
            "app",
            "NGINX",
            "nginx@sha256:",
        ])
        .prop_map(str::to_string),
        valid_digest().prop_map(|digest| format!("nginx:1.27@{digest}")),
        any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        strings.prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 128, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((keys.clone(), inner), 0..6).prop_map(
                |fields| Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>()
                )
            ),
        ]
    })
}

/// Image strings of every sort: pinned, unpinned, one character off, arbitrary.
fn image_like() -> impl Strategy<Value = String> {
    prop_oneof![
        (grammar_valid_parts(), valid_digest()).prop_map(|(parts, digest)| Parts {
            digest: Some(digest),
            ..parts
        }
        .written()),
        grammar_valid_parts().prop_map(|parts| parts.written()),
        (grammar_valid_parts(), corrupted_digest()).prop_map(|(parts, (_, bad))| Parts {
            digest: Some(bad),
            ..parts
        }
        .written()),
        any::<String>(),
    ]
}

/// A pod spec with container lists and image volumes of generated images, or, sometimes, anything at all.
fn pod_spec() -> impl Strategy<Value = Value> {
    let value = prop_oneof![3 => image_like().prop_map(Value::String), 1 => admission_like_json()];
    let container = (
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of(value.clone()),
    )
        .prop_map(|(name, image)| json!({"name": name, "image": image}));
    let volume = (
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of(value),
    )
        .prop_map(|(name, reference)| json!({"name": name, "image": {"reference": reference}}));
    let list =
        |item: BoxedStrategy<Value>| proptest::option::of(proptest::collection::vec(item, 0..4));
    let structured = (
        list(container.clone().boxed()),
        list(container.clone().boxed()),
        list(container.boxed()),
        list(volume.boxed()),
    )
        .prop_map(|(containers, init, ephemeral, volumes)| {
            json!({"containers": containers, "initContainers": init, "ephemeralContainers": ephemeral, "volumes": volumes})
        });
    prop_oneof![4 => structured, 1 => admission_like_json()]
}

/// A well-formed Pod request whose pod spec is generated: the rule's own ground.
fn pod_request_with_generated_spec() -> impl Strategy<Value = Value> {
    (pod_spec(), prop::sample::select(vec!["CREATE", "UPDATE"])).prop_map(|(spec, operation)| {
        json!({"operation": operation, "kind": {"kind": "Pod"}, "object": {"metadata": {"name": "p"}, "spec": spec}})
    })
}

fn response(payload: &[u8]) -> Value {
    let response: Value =
        serde_json::from_slice(&entry::validate(payload, &TableResolver::default())).expect("JSON");
    let accepted = response["accepted"]
        .as_bool()
        .expect("accepted is a boolean");
    if !accepted {
        assert!(
            response["message"].as_str().is_some_and(|m| !m.is_empty()),
            "a rejection says why: {response}"
        );
    }
    response
}

proptest! {
    #[test]
    fn grammar_valid_references_parse_and_print_back(parts in grammar_valid_parts()) {
        let written = parts.written();
        let reference = ImageReference::parse(&written).map_err(|e| TestCaseError::fail(format!("{written:?}: {e}")))?;
        prop_assert_eq!(reference.to_string(), written.clone());
        prop_assert_eq!(reference.domain(), parts.domain.as_deref());
        prop_assert_eq!(reference.path(), parts.path.as_str());
        prop_assert_eq!(reference.tag(), parts.tag.as_deref());
        prop_assert_eq!(reference.digest().map(Digest::to_string), parts.digest.clone());
    }

    #[test]
    fn every_single_character_corruption_of_a_digest_is_rejected((digest, corrupted) in corrupted_digest()) {
        prop_assert!(Digest::parse(&digest, &Algorithm::ALL).is_ok());
        prop_assert!(Digest::parse(&corrupted, &Algorithm::ALL).is_err(), "{:?} passed", corrupted);
        let reference = format!("nginx:1.27@{corrupted}");
        prop_assert!(ImageReference::parse(&reference).is_err(), "{:?} passed", reference);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        response(&bytes);
        let settings: Value = serde_json::from_slice(&entry::validate_settings(&bytes)).expect("JSON");
        prop_assert!(settings["valid"].is_boolean());
    }

    #[test]
    fn arbitrary_json_never_panics(request in admission_like_json(), settings in admission_like_json()) {
        response(json!({"settings": settings, "request": request}).to_string().as_bytes());
        response(json!({"settings": {}, "request": request}).to_string().as_bytes());
        let valid: Value = serde_json::from_slice(&entry::validate_settings(settings.to_string().as_bytes())).expect("JSON");
        prop_assert!(valid["valid"].is_boolean());
    }

    /// The oracle: whatever the pod spec, an accepted Pod has only digest-pinned images in every container list.
    #[test]
    fn an_accepted_pod_has_only_pinned_images(request in pod_request_with_generated_spec()) {
        let response = response(json!({"settings": {}, "request": request}).to_string().as_bytes());
        if response["accepted"] == true {
            let spec = &request["object"]["spec"];
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                for container in spec.get(list).and_then(Value::as_array).into_iter().flatten() {
                    let image = container["image"].as_str().unwrap_or_default();
                    let reference = ImageReference::parse(image);
                    prop_assert!(
                        reference.is_ok_and(|reference| reference.digest().is_some()),
                        "accepted unpinned image {:?} in {}", image, request
                    );
                }
            }
            for volume in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
                if let Some(reference) = volume.get("image").filter(|image| !image.is_null()) {
                    let image = reference["reference"].as_str().unwrap_or_default();
                    prop_assert!(ImageReference::parse(image).is_ok_and(|r| r.digest().is_some()), "accepted {:?}", image);
                }
            }
        }
    }
}

#[test]
fn deeply_nested_json_is_rejected_not_overflowed() {
    // serde_json stops at 128 levels; the policy answers with a rejection instead of exhausting the stack.
    let deep = format!(
        "{{\"settings\":{{}},\"request\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let response = response(deep.as_bytes());
    assert_eq!(response["accepted"], false);
    assert!(
        response["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed validation payload: recursion limit exceeded")
    );
}

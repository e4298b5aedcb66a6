//! The bypass suite: every place an image can hide in the kinds the policy judges, crossed with every way a reference
//! can look pinned without being pinned, sent through the real policy.wasm by the real harness. Each must be rejected
//! with a message naming the place and the problem; every valid pinned form must be accepted in every place. Then the
//! request itself: malformed payloads, unknown operations, missing or mistyped objects and kinds, a kind in the object
//! that disagrees with the request's, duplicated JSON keys, look-alike container names, exemptions and
//! allowExistingViolations pushed past their edges.
//!
//! Cases are generated in loops; each has a name (`Deployment/initContainers/CREATE/fullwidth_digits`) that a failure
//! quotes. Every test collects all its failures before failing, and prints how many cases it ran
//! (`cargo test -p require-digest-tests bypass -- --nocapture`).

use host_harness::kubewarden::ValidationResponse;
use serde_json::{Map, Value, json};

use crate::support::policy_host;

/// `len` lowercase hex characters.
fn hex(len: usize) -> String {
    "0123456789abcdef".chars().cycle().take(len).collect()
}

fn sha256() -> String {
    format!("sha256:{}", hex(64))
}

fn pinned(name: &str) -> String {
    format!("{name}@{}", sha256())
}

/// A way a workload is submitted: its kind, where its pod spec is, and the subresource it is written through.
struct Context {
    label: &'static str,
    kind: &'static str,
    group: &'static str,
    pod_spec_at: &'static [&'static str],
    sub_resource: Option<&'static str>,
}

const TEMPLATE: &[&str] = &["spec", "template", "spec"];

const CONTEXTS: [Context; 10] = [
    Context {
        label: "Pod",
        kind: "Pod",
        group: "",
        pod_spec_at: &["spec"],
        sub_resource: None,
    },
    Context {
        label: "Deployment",
        kind: "Deployment",
        group: "apps",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "ReplicaSet",
        kind: "ReplicaSet",
        group: "apps",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "StatefulSet",
        kind: "StatefulSet",
        group: "apps",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "DaemonSet",
        kind: "DaemonSet",
        group: "apps",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "ReplicationController",
        kind: "ReplicationController",
        group: "",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "Job",
        kind: "Job",
        group: "batch",
        pod_spec_at: TEMPLATE,
        sub_resource: None,
    },
    Context {
        label: "CronJob",
        kind: "CronJob",
        group: "batch",
        pod_spec_at: &["spec", "jobTemplate", "spec", "template", "spec"],
        sub_resource: None,
    },
    Context {
        label: "PodTemplate",
        kind: "PodTemplate",
        group: "",
        pod_spec_at: &["template", "spec"],
        sub_resource: None,
    },
    // `kubectl debug`: the Pod written through its ephemeralcontainers subresource.
    Context {
        label: "pods/ephemeralcontainers",
        kind: "Pod",
        group: "",
        pod_spec_at: &["spec"],
        sub_resource: Some("ephemeralcontainers"),
    },
];

/// Where in a pod spec an image can be named.
#[derive(Clone, Copy, Debug)]
enum Site {
    Container,
    InitContainer,
    EphemeralContainer,
    ImageVolume,
}

const SITES: [Site; 4] = [
    Site::Container,
    Site::InitContainer,
    Site::EphemeralContainer,
    Site::ImageVolume,
];

impl Site {
    fn label(self) -> &'static str {
        match self {
            Site::Container => "containers",
            Site::InitContainer => "initContainers",
            Site::EphemeralContainer => "ephemeralContainers",
            Site::ImageVolume => "volumes",
        }
    }
}

/// The image of the main container beside the probed one, where the probe is not itself a valid form.
fn main_image() -> String {
    pinned("registry.example.com/team/main:1")
}

/// A pod spec whose one probed image (absent when `image` is `None`) is at `site`, beside a main container with
/// `main_image`; and the probed item's path in the spec (`containers[1]`).
fn pod_spec(site: Site, image: Option<Value>, main_image: &str) -> (Value, String) {
    let main = json!({ "name": "main", "image": main_image });
    let mut probe = Map::new();
    probe.insert("name".into(), json!("probe"));
    let with_image = |mut item: Map<String, Value>, key: &str| {
        if let Some(image) = image.clone() {
            item.insert(key.into(), image);
        }
        Value::Object(item)
    };
    match site {
        Site::Container => {
            let probe = with_image(probe, "image");
            (
                json!({ "containers": [main, probe] }),
                "containers[1]".into(),
            )
        }
        Site::InitContainer => {
            let probe = with_image(probe, "image");
            (
                json!({ "containers": [main], "initContainers": [probe] }),
                "initContainers[0]".into(),
            )
        }
        Site::EphemeralContainer => {
            probe.insert("targetContainerName".into(), json!("main"));
            let probe = with_image(probe, "image");
            (
                json!({ "containers": [main], "ephemeralContainers": [probe] }),
                "ephemeralContainers[0]".into(),
            )
        }
        Site::ImageVolume => {
            let source = with_image(
                Map::from_iter([("pullPolicy".into(), json!("IfNotPresent"))]),
                "reference",
            );
            let volumes = json!([
                { "name": "scratch", "emptyDir": {} },
                { "name": "probe", "image": source },
            ]);
            (
                json!({ "containers": [main], "volumes": volumes }),
                "volumes[1]".into(),
            )
        }
    }
}

/// `inner` placed at the path of keys `at` (`["spec", "template", "spec"]`).
fn nest(at: &[&str], inner: Value) -> Value {
    at.iter()
        .rev()
        .fold(inner, |inner, key| json!({ *key: inner }))
}

fn object(context: &Context, spec: Value) -> Value {
    let mut object = nest(context.pod_spec_at, spec);
    object["apiVersion"] = json!(if context.group.is_empty() {
        "v1".to_string()
    } else {
        format!("{}/v1", context.group)
    });
    object["kind"] = json!(context.kind);
    object["metadata"] = json!({ "name": "probe", "namespace": "default" });
    object
}

fn request(context: &Context, operation: &str, object: Value, old_object: Option<Value>) -> Value {
    let mut request = json!({
        "uid": "bypass",
        "kind": { "group": context.group, "version": "v1", "kind": context.kind },
        "name": "probe",
        "namespace": "default",
        "operation": operation,
        "userInfo": { "username": "mallory" },
        "object": object,
        "oldObject": old_object,
    });
    if let Some(sub_resource) = context.sub_resource {
        request["subResource"] = json!(sub_resource);
    }
    request
}

/// The policy's answer to a payload given as raw bytes, as the waPC host hands them to the module.
fn evaluate_raw(payload: Vec<u8>) -> Result<ValidationResponse, String> {
    let answer = policy_host()
        .call("validate", payload)
        .map_err(|error| format!("evaluation failed: {error}"))?;
    serde_json::from_slice(&answer).map_err(|error| {
        format!(
            "the answer is not a ValidationResponse ({error}): {}",
            String::from_utf8_lossy(&answer)
        )
    })
}

fn evaluate(request: &Value, settings: &Value) -> Result<ValidationResponse, String> {
    let payload = json!({ "settings": settings, "request": request });
    evaluate_raw(serde_json::to_vec(&payload).expect("a Value serializes"))
}

/// The cases one test ran and the failures it found.
#[derive(Default)]
struct Tally {
    cases: usize,
    failures: Vec<String>,
}

impl Tally {
    /// The verdict must be a rejection whose message contains every one of `fragments`.
    fn expect_rejected(
        &mut self,
        case: &str,
        verdict: Result<ValidationResponse, String>,
        fragments: &[&str],
    ) {
        self.cases += 1;
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(error) => return self.failures.push(format!("{case}: {error}")),
        };
        if verdict.accepted {
            return self.failures.push(format!(
                "{case}: accepted (warnings {:?})",
                verdict.warnings
            ));
        }
        let message = verdict.message.unwrap_or_default();
        let unsaid: Vec<&&str> = fragments
            .iter()
            .filter(|f| !message.contains(**f))
            .collect();
        if !unsaid.is_empty() {
            return self.failures.push(format!(
                "{case}: the message does not say {unsaid:?}: {message:?}"
            ));
        }
        if verdict.mutated_object.is_some() {
            self.failures
                .push(format!("{case}: a rejection with a mutated object"));
        }
    }

    /// The verdict must be an acceptance of the object as it is.
    fn expect_accepted(&mut self, case: &str, verdict: Result<ValidationResponse, String>) {
        self.cases += 1;
        match verdict {
            Ok(verdict) if verdict.accepted && verdict.mutated_object.is_none() => {}
            Ok(verdict) => self.failures.push(format!(
                "{case}: rejected or changed: {:?} (mutated: {})",
                verdict.message,
                verdict.mutated_object.is_some()
            )),
            Err(error) => self.failures.push(format!("{case}: {error}")),
        }
    }

    /// Prints the count and fails with every failure; `minimum` guards against a generator that silently shrank.
    fn finish(self, what: &str, minimum: usize) {
        println!("bypass suite: {} {what} cases", self.cases);
        assert!(
            self.failures.is_empty(),
            "{} of {} {what} cases failed:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
        assert!(
            self.cases >= minimum,
            "only {} {what} cases, expected at least {minimum}",
            self.cases
        );
    }
}

/// An image value that must not pass, and a fragment the rejection must contain to say why.
struct Unpinned {
    name: &'static str,
    image: Option<Value>,
    reason: String,
}

fn unpinned(name: &'static str, image: impl Into<Value>, reason: &str) -> Unpinned {
    Unpinned {
        name,
        image: Some(image.into()),
        reason: reason.to_string(),
    }
}

/// Every way a reference can look pinned without being pinned, and plain unpinned ones.
fn unpinned_forms() -> Vec<Unpinned> {
    let h = hex(64);
    let digit_mapped = |base: u32| -> String {
        h.chars()
            .map(|c| {
                c.to_digit(10)
                    .map_or(c, |d| char::from_u32(base + d).unwrap())
            })
            .collect()
    };
    let not_pinned = "is not pinned by a digest";
    let whitespace = "is invalid: image reference has leading or trailing whitespace";
    let invalid = "is invalid: ";
    let non_hex = "sha256 digest must be 64 lowercase hex characters, found non-hex";
    let more_than_one_at = "image reference has more than one \"@\"";
    let not_allowed = |algorithm: &str| {
        format!("digest algorithm {algorithm} is not allowed (allowed: sha256, sha512)")
    };
    let must_be_string = |found: &str| format!("must be a string, found {found}");
    vec![
        unpinned("tag_only", "nginx:1.27", not_pinned),
        unpinned("bare_name", "nginx", not_pinned),
        unpinned("latest", "nginx:latest", not_pinned),
        unpinned(
            "registry_with_port_and_tag",
            "registry.example.com:5000/team/app:2.1",
            not_pinned,
        ),
        unpinned(
            "digest_spelled_as_tag",
            format!("nginx:sha256-{h}"),
            not_pinned,
        ),
        unpinned(
            "digest_as_the_whole_image",
            format!("sha256:{h}"),
            not_pinned,
        ),
        unpinned(
            "short_digest",
            format!("nginx@sha256:{}", hex(63)),
            "found 63",
        ),
        unpinned(
            "long_digest",
            format!("nginx@sha256:{}", hex(65)),
            "found 65",
        ),
        unpinned("empty_hex", "nginx@sha256:", "found 0"),
        unpinned(
            "uppercase_hex",
            format!("nginx@sha256:{}", h.to_uppercase()),
            "found uppercase 'A'",
        ),
        unpinned(
            "one_uppercase_hex_character",
            format!("nginx@sha256:{}F", hex(63)),
            "found uppercase 'F'",
        ),
        unpinned(
            "non_hex_letter",
            format!("nginx@sha256:{}g", hex(63)),
            "found non-hex 'g'",
        ),
        unpinned("md5", format!("nginx@md5:{}", hex(32)), &not_allowed("md5")),
        unpinned(
            "sha1",
            format!("nginx@sha1:{}", hex(40)),
            &not_allowed("sha1"),
        ),
        unpinned(
            "sha256_base64url",
            "nginx@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            &not_allowed("sha256+b64u"),
        ),
        unpinned(
            "multihash_base58",
            "nginx@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
            &not_allowed("multihash+base58"),
        ),
        unpinned(
            "sha512_with_64_hex",
            format!("nginx@sha512:{h}"),
            "sha512 digest must be 128 lowercase hex characters, found 64",
        ),
        unpinned(
            "sha384_not_allowed_by_default",
            format!("nginx@sha384:{}", hex(96)),
            &not_allowed("sha384"),
        ),
        unpinned(
            "uppercase_algorithm",
            format!("nginx@SHA256:{h}"),
            &not_allowed("SHA256"),
        ),
        unpinned(
            "digest_without_algorithm",
            format!("nginx@{h}"),
            "digest must be written as algorithm:hex",
        ),
        unpinned(
            "empty_algorithm",
            format!("nginx@:{h}"),
            "digest must be written as algorithm:hex",
        ),
        unpinned(
            "at_inside_the_tag",
            "nginx:v@1",
            "digest must be written as algorithm:hex",
        ),
        unpinned(
            "at_inside_the_tag_then_digest",
            format!("nginx:la@test@{}", sha256()),
            more_than_one_at,
        ),
        unpinned(
            "two_digests",
            format!("nginx@{}@sha256:{}", sha256(), hex(64)),
            more_than_one_at,
        ),
        unpinned(
            "double_at",
            format!("nginx@@{}", sha256()),
            more_than_one_at,
        ),
        unpinned(
            "digest_before_tag",
            format!("nginx@{}:1.27", sha256()),
            "found non-hex ':'",
        ),
        unpinned("leading_space", format!(" {}", pinned("nginx")), whitespace),
        unpinned(
            "trailing_space",
            format!("{} ", pinned("nginx")),
            whitespace,
        ),
        unpinned(
            "trailing_newline",
            format!("{}\n", pinned("nginx")),
            whitespace,
        ),
        unpinned("leading_tab", format!("\t{}", pinned("nginx")), whitespace),
        unpinned(
            "trailing_carriage_return",
            format!("{}\r", pinned("nginx")),
            whitespace,
        ),
        unpinned(
            "trailing_next_line_u0085",
            format!("{}\u{85}", pinned("nginx")),
            whitespace,
        ),
        unpinned(
            "leading_no_break_space",
            format!("\u{a0}{}", pinned("nginx")),
            whitespace,
        ),
        unpinned(
            "space_before_at",
            format!("nginx @{}", sha256()),
            "repository path component \"nginx \" is invalid",
        ),
        unpinned(
            "space_inside_hex",
            format!("nginx@sha256:{} {}", hex(32), hex(31)),
            "found non-hex ' '",
        ),
        unpinned(
            "nul_after_digest",
            format!("{}\0", pinned("nginx")),
            "found non-hex '\\0'",
        ),
        unpinned("nul_inside_name", format!("ngi\0nx@{}", sha256()), invalid),
        unpinned(
            "escape_sequence_in_name",
            format!("\u{1b}[0mnginx@{}", sha256()),
            invalid,
        ),
        unpinned(
            "delete_character_in_tag",
            format!("nginx:1\u{7f}@{}", sha256()),
            invalid,
        ),
        unpinned(
            "byte_order_mark_first",
            format!("\u{feff}{}", pinned("nginx")),
            invalid,
        ),
        unpinned(
            "fullwidth_digits",
            format!("nginx@sha256:{}", digit_mapped(0xFF10)),
            non_hex,
        ),
        unpinned(
            "arabic_indic_digits",
            format!("nginx@sha256:{}", digit_mapped(0x0660)),
            non_hex,
        ),
        unpinned(
            "cyrillic_a_and_e_in_hex",
            format!(
                "nginx@sha256:{}",
                h.replace('a', "\u{430}").replace('e', "\u{435}")
            ),
            non_hex,
        ),
        unpinned(
            "cyrillic_letter_in_name",
            format!("ngin\u{445}@{}", sha256()),
            invalid,
        ),
        unpinned(
            "fullwidth_at",
            format!("nginx\u{ff20}{}", sha256()),
            invalid,
        ),
        unpinned(
            "fullwidth_colon",
            format!("nginx@sha256\u{ff1a}{h}"),
            "digest must be written as algorithm:hex",
        ),
        unpinned(
            "zero_width_joiner_in_hex",
            format!("nginx@sha256:{}\u{200d}{}", hex(32), &h[32..]),
            non_hex,
        ),
        unpinned(
            "zero_width_space_before_at",
            format!("nginx\u{200b}@{}", sha256()),
            invalid,
        ),
        unpinned(
            "right_to_left_override_in_tag",
            format!("nginx:1\u{202e}@{}", sha256()),
            invalid,
        ),
        unpinned(
            "uppercase_repository",
            pinned("NGINX"),
            "repository name must be lowercase",
        ),
        unpinned(
            "percent_encoded_at",
            format!("nginx%40sha256%3A{h}"),
            invalid,
        ),
        unpinned(
            "url_with_scheme",
            format!("https://registry.example.com/app@{}", sha256()),
            invalid,
        ),
        unpinned(
            "slash_before_digest",
            format!("nginx/@{}", sha256()),
            invalid,
        ),
        unpinned(
            "digest_without_name",
            format!("@{}", sha256()),
            "image reference has no repository name",
        ),
        unpinned("image_id_as_name", hex(64), "64-character hex string"),
        unpinned(
            "tag_of_129_characters",
            format!("nginx:{}@{}", "t".repeat(129), sha256()),
            "tag is 129 characters long",
        ),
        // distribution/reference v0.6.0 (the kubelet's parser) limits the path, not the whole name.
        unpinned(
            "path_of_256_characters",
            pinned(&format!("registry.example.com/{}", "a".repeat(256))),
            "the limit is 255",
        ),
        unpinned("empty_string", "", "has an empty image"),
        Unpinned {
            name: "null",
            image: Some(Value::Null),
            reason: "has no image".into(),
        },
        Unpinned {
            name: "missing",
            image: None,
            reason: "has no image".into(),
        },
        unpinned("number", 42, &must_be_string("a number")),
        unpinned("float", 1.5, &must_be_string("a number")),
        unpinned("boolean", true, &must_be_string("a boolean")),
        unpinned(
            "list_of_a_pinned_image",
            json!([pinned("nginx")]),
            &must_be_string("a list"),
        ),
        unpinned(
            "object_with_a_digest",
            json!({ "name": "nginx", "digest": sha256() }),
            &must_be_string("an object"),
        ),
    ]
}

/// Every unpinned form at every image site of every kind, on CREATE and UPDATE: rejected, naming the site and why.
#[test]
fn every_unpinned_form_is_rejected_wherever_it_hides() {
    let forms = unpinned_forms();
    let mut tally = Tally::default();
    for context in &CONTEXTS {
        let spec_path = context.pod_spec_at.join(".");
        for site in SITES {
            for operation in ["CREATE", "UPDATE"] {
                // On UPDATE the old object held an unpinned image too: without allowExistingViolations it counts
                // for nothing.
                let old_object = (operation == "UPDATE").then(|| {
                    object(
                        context,
                        pod_spec(site, Some(json!("nginx:1.26")), &main_image()).0,
                    )
                });
                for form in &forms {
                    let (spec, item) = pod_spec(site, form.image.clone(), &main_image());
                    let request = request(
                        context,
                        operation,
                        object(context, spec),
                        old_object.clone(),
                    );
                    let case = format!(
                        "{}/{}/{operation}/{}",
                        context.label,
                        site.label(),
                        form.name
                    );
                    let place = format!("{spec_path}.{item}");
                    tally.expect_rejected(
                        &case,
                        evaluate(&request, &json!({})),
                        &[&place, &form.reason],
                    );
                }
            }
        }
    }
    tally.finish("unpinned-form", 4000);
}

/// Every valid pinned form at every image site of every kind, on CREATE and UPDATE: accepted as it is.
#[test]
fn every_pinned_form_is_accepted_wherever_it_is() {
    let h = hex(64);
    let defaults = json!({});
    let forms: Vec<(&str, String, Value)> = vec![
        (
            "tag_and_digest",
            format!("nginx:1.27@sha256:{h}"),
            defaults.clone(),
        ),
        ("digest_only", format!("nginx@sha256:{h}"), defaults.clone()),
        (
            "sha512",
            format!("nginx@sha512:{}", hex(128)),
            defaults.clone(),
        ),
        (
            "sha384_when_allowed",
            format!("nginx@sha384:{}", hex(96)),
            json!({ "allowedAlgorithms": ["sha384"] }),
        ),
        (
            "sha512_when_only_it_is_allowed",
            format!("nginx:1@sha512:{}", hex(128)),
            json!({ "allowedAlgorithms": ["sha512"] }),
        ),
        (
            "tag_and_digest_under_require_tag",
            format!("nginx:1.27@sha256:{h}"),
            json!({ "requireTag": true }),
        ),
        (
            "registry_with_port",
            format!("registry.example.com:5000/team/app:2.1@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "ipv4_with_port",
            format!("127.0.0.1:5000/app@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "ipv6_loopback_with_port",
            format!("[::1]:5000/app:1.0@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "ipv6_documentation_address",
            format!("[2001:db8::1]/team/app@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "localhost",
            format!("localhost/app@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "localhost_with_port_and_tag",
            format!("localhost:5000/app:dev@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "deep_path",
            format!("registry.example.com/a/b/c/d/e/f:1@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "docker_hub_spelled_out",
            format!("docker.io/library/nginx:1.27@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "legacy_docker_hub_domain",
            format!("index.docker.io/library/nginx@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "uppercase_registry",
            format!("Registry.Example.COM/app@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "every_separator",
            format!("registry.example.com/a0.b-c_d__e---f/x@sha256:{h}"),
            defaults.clone(),
        ),
        (
            "tag_of_128_characters",
            format!("nginx:{}@sha256:{h}", "t".repeat(128)),
            defaults.clone(),
        ),
        (
            "nested_ghcr_repository",
            format!("ghcr.io/owner/repo/sub:v1.2.3-rc.1@sha256:{h}"),
            defaults.clone(),
        ),
    ];
    let mut tally = Tally::default();
    for context in &CONTEXTS {
        for site in SITES {
            for operation in ["CREATE", "UPDATE"] {
                let old_object = (operation == "UPDATE").then(|| {
                    object(
                        context,
                        pod_spec(site, Some(json!("nginx:1.26")), &main_image()).0,
                    )
                });
                for (name, image, settings) in &forms {
                    // The main container holds the same form, so that settings narrowing the algorithms apply to both.
                    let (spec, _) = pod_spec(site, Some(json!(image)), image);
                    let request = request(
                        context,
                        operation,
                        object(context, spec),
                        old_object.clone(),
                    );
                    let case = format!("{}/{}/{operation}/{name}", context.label, site.label());
                    tally.expect_accepted(&case, evaluate(&request, settings));
                }
            }
        }
    }
    tally.finish("pinned-form", 1500);
}

/// A Pod CREATE request (a bare AdmissionRequest) whose one container has `image`.
fn pod_request(image: &str) -> Value {
    request(
        &CONTEXTS[0],
        "CREATE",
        object(
            &CONTEXTS[0],
            json!({ "containers": [{ "name": "app", "image": image }] }),
        ),
        None,
    )
}

/// Payloads and requests that are not what an API server sends: each rejected, saying what is wrong.
#[test]
fn malformed_requests_are_rejected_with_a_message() {
    let unpinned_pod = pod_request("nginx:1.27");
    let with = |pointer: &str, value: Value| {
        let mut request = unpinned_pod.clone();
        *request
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        request
    };
    let without = |key: &str| {
        let mut request = unpinned_pod.clone();
        request.as_object_mut().unwrap().remove(key);
        request
    };
    let payload = |request: Value| {
        serde_json::to_vec(&json!({ "settings": {}, "request": request })).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "payload_empty",
            Vec::new(),
            "malformed validation payload: ",
        ),
        (
            "payload_not_json",
            b"{\"request\":".to_vec(),
            "malformed validation payload: ",
        ),
        (
            "payload_invalid_utf8",
            b"{\"request\":\"\xff\xfe\"}".to_vec(),
            "malformed validation payload: ",
        ),
        (
            "payload_a_list",
            b"[]".to_vec(),
            "must be an object, found a list",
        ),
        (
            "payload_a_string",
            b"\"request\"".to_vec(),
            "must be an object, found a string",
        ),
        (
            "payload_without_request",
            br#"{"settings":{}}"#.to_vec(),
            "request is missing",
        ),
        (
            "request_null",
            br#"{"settings":{},"request":null}"#.to_vec(),
            "request is missing",
        ),
        (
            "request_a_string",
            payload(json!("CREATE Pod")),
            "request must be an object, found a string",
        ),
        (
            "request_kind_missing",
            payload(without("kind")),
            "request.kind must be an object with a kind",
        ),
        (
            "request_kind_a_string",
            payload(with("/kind", json!("Pod"))),
            "request.kind must be an object with a kind",
        ),
        (
            "request_kind_kind_missing",
            payload(with("/kind", json!({ "group": "", "version": "v1" }))),
            "request.kind.kind is missing",
        ),
        (
            "request_kind_kind_a_number",
            payload(with("/kind/kind", json!(1))),
            "request.kind.kind must be a string, found a number",
        ),
        (
            "operation_missing",
            payload(without("operation")),
            "request.operation is missing",
        ),
        (
            "operation_null",
            payload(with("/operation", Value::Null)),
            "request.operation is missing",
        ),
        (
            "operation_a_number",
            payload(with("/operation", json!(0))),
            "request.operation must be a string",
        ),
        (
            "operation_patch",
            payload(with("/operation", json!("PATCH"))),
            "operation \"PATCH\" is unknown",
        ),
        (
            "operation_lowercase",
            payload(with("/operation", json!("create"))),
            "operation \"create\" is unknown",
        ),
        (
            "operation_empty",
            payload(with("/operation", json!(""))),
            "operation \"\" is unknown",
        ),
        (
            "operation_trailing_space",
            payload(with("/operation", json!("CREATE "))),
            "operation \"CREATE \" is unknown",
        ),
        (
            "operation_with_nul",
            payload(with("/operation", json!("CREATE\0"))),
            "operation \"CREATE\\0\" is unknown",
        ),
        (
            "subresource_a_list",
            payload(
                unpinned_pod
                    .clone()
                    .tap_insert("subResource", json!(["ephemeralcontainers"])),
            ),
            "request.subResource must be a string",
        ),
        (
            "object_missing",
            payload(without("object")),
            "request.object is missing",
        ),
        (
            "object_null",
            payload(with("/object", Value::Null)),
            "request.object is missing",
        ),
        (
            "object_a_list",
            payload(with("/object", json!([{ "spec": {} }]))),
            "request.object must be an object, found a list",
        ),
        (
            "object_a_string",
            payload(with("/object", json!("{\"spec\":{}}"))),
            "request.object must be an object, found a string",
        ),
        (
            "object_a_number",
            payload(with("/object", json!(7))),
            "request.object must be an object, found a number",
        ),
        (
            "spec_a_string",
            payload(with("/object/spec", json!("containers"))),
            "object spec must be an object, found a string",
        ),
        (
            "containers_an_object",
            payload(with(
                "/object/spec/containers",
                json!({ "app": { "image": "nginx" } }),
            )),
            "spec.containers must be a list, found an object",
        ),
        (
            "container_a_string",
            payload(with("/object/spec/containers", json!(["nginx:1.27"]))),
            "spec.containers[0] must be an object, found a string",
        ),
        (
            "container_name_a_number",
            payload(with("/object/spec/containers/0/name", json!(1))),
            "spec.containers[0].name must be a string",
        ),
        (
            "image_volume_source_a_string",
            payload(with(
                "/object/spec",
                json!({ "containers": [{ "name": "app", "image": pinned("nginx") }], "volumes": [{ "name": "v", "image": "nginx:1.27" }] }),
            )),
            "spec.volumes[0].image must be an object, found a string",
        ),
        (
            "settings_invalid",
            serde_json::to_vec(
                &json!({ "settings": { "exemptImages": "*" }, "request": unpinned_pod }),
            )
            .unwrap(),
            "invalid settings: exemptImages must be a list of strings",
        ),
        (
            "settings_a_string",
            serde_json::to_vec(&json!({ "settings": "exemptImages", "request": unpinned_pod }))
                .unwrap(),
            "invalid settings: settings must be an object, found a string",
        ),
        (
            "settings_unknown_field",
            serde_json::to_vec(
                &json!({ "settings": { "exemptImage": ["*"] }, "request": unpinned_pod }),
            )
            .unwrap(),
            "invalid settings: unknown field \"exemptImage\"",
        ),
    ];
    let mut tally = Tally::default();
    for (name, payload, reason) in cases {
        tally.expect_rejected(name, evaluate_raw(payload), &[reason]);
    }
    tally.finish("malformed-request", 34);
}

/// `Value::tap_insert`: a copy of an object with one more key, for building variants inline.
trait TapInsert {
    fn tap_insert(self, key: &str, value: Value) -> Value;
}

impl TapInsert for Value {
    fn tap_insert(mut self, key: &str, value: Value) -> Value {
        self.as_object_mut()
            .expect("an object")
            .insert(key.to_string(), value);
        self
    }
}

/// A validation payload written by hand, so that it can hold duplicated keys; `{{CONTAINERS}}`-style holes are
/// filled by the callers' `format!`.
fn raw_pod_payload(
    settings: &str,
    operation: &str,
    kind: &str,
    sub_resource: &str,
    containers: &str,
) -> Vec<u8> {
    format!(
        r#"{{"settings":{settings},"request":{{"uid":"dup","kind":{kind},"operation":{operation}{sub_resource},
"object":{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"dup"}},"spec":{{"containers":{containers}}}}}}}}}"#
    )
    .into_bytes()
}

/// Duplicated keys in the raw request bytes: the API server's decoder keeps the last value, so the policy must judge
/// that one, at every level (the image, the list, the kind, the operation, the subresource, the settings).
#[test]
fn duplicated_keys_are_judged_by_their_last_value() {
    let ok = pinned("nginx:1.27");
    let pod_kind = r#"{"group":"","version":"v1","kind":"Pod"}"#;
    let create = r#""CREATE""#;
    let container = |image_fields: &str| format!(r#"[{{"name":"app",{image_fields}}}]"#);
    let pinned_then_unpinned = container(&format!(r#""image":"{ok}","image":"nginx:latest""#));
    let unpinned_then_pinned = container(&format!(r#""image":"nginx:latest","image":"{ok}""#));
    let pinned_list = container(&format!(r#""image":"{ok}""#));
    let unpinned_list = container(r#""image":"nginx:latest""#);

    let mut tally = Tally::default();
    let not_pinned = "is not pinned by a digest";
    let reject = [
        ("image_pinned_then_unpinned", raw_pod_payload("{}", create, pod_kind, "", &pinned_then_unpinned), not_pinned),
        (
            "image_pinned_then_a_number",
            raw_pod_payload("{}", create, pod_kind, "", &container(&format!(r#""image":"{ok}","image":7"#))),
            "spec.containers[0].image must be a string, found a number",
        ),
        (
            "image_pinned_then_null",
            raw_pod_payload("{}", create, pod_kind, "", &container(&format!(r#""image":"{ok}","image":null"#))),
            "has no image",
        ),
        (
            "containers_pinned_then_unpinned",
            format!(
                r#"{{"settings":{{}},"request":{{"uid":"dup","kind":{pod_kind},"operation":"CREATE","object":{{"metadata":{{"name":"dup"}},"spec":{{"containers":{pinned_list},"containers":{unpinned_list}}}}}}}}}"#
            )
            .into_bytes(),
            not_pinned,
        ),
        (
            "spec_pinned_then_unpinned",
            format!(
                r#"{{"settings":{{}},"request":{{"uid":"dup","kind":{pod_kind},"operation":"CREATE","object":{{"spec":{{"containers":{pinned_list}}},"spec":{{"containers":{unpinned_list}}}}}}}}}"#
            )
            .into_bytes(),
            not_pinned,
        ),
        (
            "object_pinned_then_unpinned",
            format!(
                r#"{{"settings":{{}},"request":{{"uid":"dup","kind":{pod_kind},"operation":"CREATE","object":{{"spec":{{"containers":{pinned_list}}}}},"object":{{"spec":{{"containers":{unpinned_list}}}}}}}}}"#
            )
            .into_bytes(),
            not_pinned,
        ),
        (
            "kind_configmap_then_pod",
            raw_pod_payload("{}", create, r#"{"group":"","version":"v1","kind":"ConfigMap","kind":"Pod"}"#, "", &unpinned_list),
            not_pinned,
        ),
        (
            "operation_delete_then_create",
            raw_pod_payload("{}", r#""DELETE","operation":"CREATE""#, pod_kind, "", &unpinned_list),
            not_pinned,
        ),
        (
            "subresource_status_then_none",
            raw_pod_payload("{}", create, pod_kind, r#","subResource":"status","subResource":"""#, &unpinned_list),
            not_pinned,
        ),
        (
            "settings_exempting_then_not",
            raw_pod_payload(r#"{"exemptImages":["nginx:*"],"exemptImages":[]}"#, create, pod_kind, "", &unpinned_list),
            not_pinned,
        ),
        (
            "settings_object_exempting_then_empty",
            format!(
                r#"{{"settings":{{"exemptImages":["nginx:*"]}},"settings":{{}},"request":{{"uid":"dup","kind":{pod_kind},"operation":"CREATE","object":{{"spec":{{"containers":{unpinned_list}}}}}}}}}"#
            )
            .into_bytes(),
            not_pinned,
        ),
    ];
    for (name, payload, reason) in reject {
        tally.expect_rejected(name, evaluate_raw(payload), &[reason]);
    }
    let accept = [
        ("image_unpinned_then_pinned", raw_pod_payload("{}", create, pod_kind, "", &unpinned_then_pinned)),
        (
            "containers_unpinned_then_pinned",
            format!(
                r#"{{"settings":{{}},"request":{{"uid":"dup","kind":{pod_kind},"operation":"CREATE","object":{{"spec":{{"containers":{unpinned_list},"containers":{pinned_list}}}}}}}}}"#
            )
            .into_bytes(),
        ),
        (
            "kind_pod_then_configmap",
            raw_pod_payload("{}", create, r#"{"group":"","version":"v1","kind":"Pod","kind":"ConfigMap"}"#, "", &unpinned_list),
        ),
        ("operation_create_then_delete", raw_pod_payload("{}", r#""CREATE","operation":"DELETE""#, pod_kind, "", &unpinned_list)),
        (
            "subresource_none_then_status",
            raw_pod_payload("{}", create, pod_kind, r#","subResource":"","subResource":"status""#, &unpinned_list),
        ),
        (
            "settings_not_exempting_then_exempting",
            raw_pod_payload(r#"{"exemptImages":[],"exemptImages":["nginx:*"]}"#, create, pod_kind, "", &unpinned_list),
        ),
    ];
    for (name, payload) in accept {
        tally.expect_accepted(name, evaluate_raw(payload));
    }
    // The exact pair of the brief, checked for the image the rejection names.
    tally.expect_rejected(
        "brief_pair_names_the_last_image",
        evaluate_raw(raw_pod_payload(
            "{}",
            create,
            pod_kind,
            "",
            &pinned_then_unpinned,
        )),
        &["image \"nginx:latest\" is not pinned by a digest"],
    );
    tally.finish("duplicated-key", 18);
}

/// Names, kinds and settings that try to borrow a pass: containers named like others, an object whose own `kind`
/// disagrees with the request's, exemption patterns stretched to other registries, allowExistingViolations with a
/// forged or mismatched old object.
#[test]
fn look_alikes_and_borrowed_passes_are_rejected() {
    let deployment = &CONTEXTS[1];
    let pod = &CONTEXTS[0];
    let containers = |list: Value| object(pod, json!({ "containers": list }));
    let named = |name: &str, image: &str| json!({ "name": name, "image": image });
    let tolerate = json!({ "allowExistingViolations": true });
    let old_app = containers(json!([named("app", "nginx:1.27")]));
    let exempt_registry = json!({ "exemptImages": ["registry.example.com/*"] });

    let mut tally = Tally::default();
    let reject: Vec<(&str, Value, Value, &str)> = vec![
        (
            "second_container_named_like_the_first",
            request(
                pod,
                "CREATE",
                containers(json!([
                    named("app", &pinned("nginx")),
                    named("app", "nginx:1.27")
                ])),
                None,
            ),
            json!({}),
            "spec.containers[1]",
        ),
        (
            "init_container_named_like_a_container",
            request(
                pod,
                "CREATE",
                object(
                    pod,
                    json!({ "containers": [named("app", &pinned("nginx"))], "initContainers": [named("app", "nginx:1.27")] }),
                ),
                None,
            ),
            json!({}),
            "spec.initContainers[0]",
        ),
        (
            "object_kind_pod_in_a_deployment_request",
            {
                let mut object = object(
                    deployment,
                    json!({ "containers": [named("app", "nginx:1.27")] }),
                );
                object["kind"] = json!("Pod");
                request(deployment, "CREATE", object, None)
            },
            json!({}),
            "spec.template.spec.containers[0]",
        ),
        (
            "object_kind_configmap_in_a_pod_request",
            {
                let mut object = containers(json!([named("app", "nginx:1.27")]));
                object["kind"] = json!("ConfigMap");
                object["apiVersion"] = json!("v1");
                request(pod, "CREATE", object, None)
            },
            json!({}),
            "spec.containers[0]",
        ),
        (
            "exemption_registry_as_a_prefix_of_another",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "registry.example.com.evil.io/app:1")])),
                None,
            ),
            exempt_registry.clone(),
            "is not pinned by a digest",
        ),
        (
            "exemption_registry_as_a_path_elsewhere",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "evil.io/registry.example.com/app:1")])),
                None,
            ),
            exempt_registry.clone(),
            "is not pinned by a digest",
        ),
        (
            "exemption_never_covers_an_invalid_reference",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "registry.example.com/app:1\n")])),
                None,
            ),
            exempt_registry.clone(),
            "leading or trailing whitespace",
        ),
        (
            "exemption_prefix_glob_stays_in_its_segment",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "nginx.evil.io/app:1")])),
                None,
            ),
            json!({ "exemptImages": ["nginx*"] }),
            "is not pinned by a digest",
        ),
        (
            "exemption_star_does_not_cross_a_slash",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "evil.io/app:1")])),
                None,
            ),
            json!({ "exemptImages": ["*"] }),
            "is not pinned by a digest",
        ),
        (
            "tolerance_with_a_forged_old_object_on_create",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "nginx:1.27")])),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
            "is not pinned by a digest",
        ),
        (
            "tolerance_for_a_renamed_container",
            request(
                pod,
                "UPDATE",
                containers(json!([named("app2", "nginx:1.27")])),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
            "is not pinned by a digest",
        ),
        (
            "tolerance_across_lists",
            request(
                pod,
                "UPDATE",
                object(
                    pod,
                    json!({ "containers": [], "initContainers": [named("app", "nginx:1.27")] }),
                ),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
            "spec.initContainers[0]",
        ),
        (
            "tolerance_for_unnamed_containers",
            request(
                pod,
                "UPDATE",
                containers(json!([{ "image": "nginx:1.27" }])),
                Some(containers(json!([{ "image": "nginx:1.27" }]))),
            ),
            tolerate.clone(),
            "is not pinned by a digest",
        ),
        (
            "tolerance_for_a_changed_image_under_a_duplicated_name",
            request(
                pod,
                "UPDATE",
                containers(json!([
                    named("app", "nginx:1.27"),
                    named("app", "nginx:1.28")
                ])),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
            "image \"nginx:1.28\" is not pinned by a digest",
        ),
        (
            "tolerance_from_a_malformed_old_object",
            request(
                pod,
                "UPDATE",
                containers(json!([named("app", "nginx:1.27")])),
                Some(object(pod, json!({ "containers": "nginx:1.27" }))),
            ),
            tolerate.clone(),
            "is not pinned by a digest",
        ),
        (
            "tolerance_from_another_kind_of_old_object",
            request(
                deployment,
                "UPDATE",
                object(
                    deployment,
                    json!({ "containers": [named("app", "nginx:1.27")] }),
                ),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
            "is not pinned by a digest",
        ),
    ];
    for (name, request, settings, reason) in reject {
        tally.expect_rejected(name, evaluate(&request, &settings), &[reason]);
    }
    // The control cases: what these look-alikes imitate is accepted.
    let accept: Vec<(&str, Value, Value)> = vec![
        (
            "tolerance_for_the_same_container_and_image",
            request(
                pod,
                "UPDATE",
                containers(json!([named("app", "nginx:1.27")])),
                Some(old_app.clone()),
            ),
            tolerate.clone(),
        ),
        (
            "exemption_for_the_registry_it_names",
            request(
                pod,
                "CREATE",
                containers(json!([named("app", "registry.example.com/team/app:1")])),
                None,
            ),
            exempt_registry.clone(),
        ),
        (
            "object_kind_pod_in_a_configmap_request_is_not_judged",
            {
                let configmap = Context {
                    label: "ConfigMap",
                    kind: "ConfigMap",
                    group: "",
                    pod_spec_at: &["spec"],
                    sub_resource: None,
                };
                request(
                    &configmap,
                    "CREATE",
                    containers(json!([named("app", "nginx:1.27")])),
                    None,
                )
            },
            json!({}),
        ),
    ];
    for (name, request, settings) in accept {
        tally.expect_accepted(name, evaluate(&request, &settings));
    }
    tally.finish("look-alike", 19);
}

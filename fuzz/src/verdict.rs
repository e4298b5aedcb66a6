//! What must hold of every answer of the `validate` entry point, whatever it was given.
//!
//! - The answer is JSON of the SDK's `ValidationResponse` shape: a rejection has a message, an acceptance none; the
//!   message and warnings cannot be made to carry forged lines.
//! - Soundness: an accepted request that runs something (CREATE/UPDATE of a workload kind) holds only images that
//!   parse and are pinned by an allowed digest, unless exempt by a pattern or tolerated by allowExistingViolations;
//!   in mutate mode the mutated object differs from the object only by digests appended to unpinned images.
//!
//! The walk over the object is this module's own, from the Kubernetes API's field names, not the policy's.

use kubewarden_policy_sdk::response::ValidationResponse;
use require_digest::reference::{Algorithm, ImageReference};
use require_digest::resolver::DigestResolver;
use require_digest::settings::Settings;
use require_digest::validation::{Verdict, validate_request};
use serde_json::Value;

/// A `validate` answer, read and checked for shape.
#[derive(Debug)]
pub struct Response {
    pub accepted: bool,
    pub message: Option<String>,
    pub mutated_object: Option<Value>,
    pub warnings: Vec<String>,
}

/// The fields the SDK's `ValidationResponse` serializes.
const RESPONSE_FIELDS: [&str; 6] = [
    "accepted",
    "message",
    "code",
    "mutated_object",
    "audit_annotations",
    "warnings",
];

/// Reads a `validate` answer, panicking unless it has the SDK's shape and keeps its messages on their own lines.
pub fn parse_response(answer: &[u8]) -> Response {
    let value: Value = serde_json::from_slice(answer).unwrap_or_else(|error| {
        panic!(
            "the answer is not JSON ({error}): {:?}",
            String::from_utf8_lossy(answer)
        )
    });
    let Value::Object(fields) = &value else {
        panic!("the answer is not a JSON object: {value}");
    };
    for key in fields.keys() {
        assert!(
            RESPONSE_FIELDS.contains(&key.as_str()),
            "the answer has a field the SDK does not know: {key:?}"
        );
    }
    let response: ValidationResponse = serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("the SDK cannot read the answer ({error}): {value}"));
    assert_eq!(response.code, None, "the policy never sets a code: {value}");
    assert_eq!(
        response.audit_annotations, None,
        "the policy never sets audit annotations: {value}"
    );
    let warnings = response.warnings.unwrap_or_default();
    if response.accepted {
        assert_eq!(
            response.message, None,
            "an acceptance carries no message: {value}"
        );
    } else {
        let message = response.message.as_deref().unwrap_or_default();
        assert!(!message.is_empty(), "a rejection must say why: {value}");
        assert!(
            response.mutated_object.is_none(),
            "a rejection carries no mutated object: {value}"
        );
        check_message_lines(message);
    }
    for warning in &warnings {
        assert!(!warning.is_empty(), "an empty warning: {value}");
        if let Some(bad) = warning.chars().find(|&c| breaks_lines(c)) {
            panic!("warning {warning:?} holds the raw character {bad:?}");
        }
    }
    Response {
        accepted: response.accepted,
        message: response.message,
        mutated_object: response.mutated_object,
        warnings,
    }
}

/// A character that would start a new line or hide text in a terminal or a log: a rejection's text comes in part from
/// the object (names, images), so the policy must have escaped it.
fn breaks_lines(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A message has one line per problem, and every line of a multi-line message names the same object: no line can be
/// forged by an image or a name.
fn check_message_lines(message: &str) {
    if let Some(bad) = message.chars().find(|&c| c != '\n' && breaks_lines(c)) {
        panic!("message {message:?} holds the raw character {bad:?}");
    }
    let lines: Vec<&str> = message.split('\n').collect();
    if lines.len() == 1 {
        return;
    }
    // "Deployment web: container ...": the subject ends at the first ": ", and is the same on every line.
    let subject = |line: &str| line.find(": ").map(|end| line[..end].to_string());
    let first = subject(lines[0]).unwrap_or_else(|| {
        panic!("a multi-line message whose first line names no object: {message:?}")
    });
    for line in &lines[1..] {
        assert_eq!(
            subject(line).as_deref(),
            Some(first.as_str()),
            "line {line:?} of a rejection does not name the object {first:?}: {message:?}"
        );
    }
}

/// Where the kinds this policy knows keep their pod spec (from the Kubernetes API reference).
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job" => Some(&["spec", "template", "spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "PodTemplate" => Some(&["template", "spec"]),
        _ => None,
    }
}

/// One image of an object, found by [`images_of`].
#[derive(Debug, Clone, PartialEq)]
pub struct FoundImage {
    /// `containers`, `initContainers`, `ephemeralContainers` or `volumes`.
    pub list: &'static str,
    pub index: usize,
    pub name: Option<String>,
    pub image: String,
    /// JSON pointer of the image string.
    pub pointer: String,
}

/// What [`images_of`] makes of a container with no image (missing, null or empty).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Imageless {
    Error,
    Skipped,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Every image of `object` under `pod_spec_path`; `Err` says what in the object does not have the shape Kubernetes
/// gives it (a list that is not a list, an image that is not a string...), which an acceptance must never overlook.
/// With `Imageless::Skipped`, a container without an image (missing, null or empty) is passed over rather than an
/// error: the old object of an UPDATE is read that way, as the policy reads it for allowExistingViolations, where
/// such a container tolerates nothing but spoils nothing either.
pub fn images_of(
    object: &Value,
    pod_spec_path: &[&str],
    imageless: Imageless,
) -> Result<Vec<FoundImage>, String> {
    let mut spec = object;
    let mut pointer = String::new();
    for key in pod_spec_path {
        pointer.push('/');
        pointer.push_str(key);
        match spec.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(value @ Value::Object(_)) => spec = value,
            Some(other) => return Err(format!("{pointer} is {other}, not an object")),
        }
    }
    let mut found = Vec::new();
    for list in CONTAINER_LISTS.into_iter().chain(["volumes"]) {
        let items = match spec.get(list) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("{pointer}/{list} is {other}, not a list")),
        };
        for (index, item) in items.iter().enumerate() {
            let at = format!("{pointer}/{list}/{index}");
            if !item.is_object() {
                return Err(format!("{at} is {item}, not an object"));
            }
            let (holder, key, image_pointer) = if list == "volumes" {
                match item.get("image") {
                    None | Some(Value::Null) => continue, // another volume type: nothing of it runs
                    Some(source @ Value::Object(_)) => {
                        (source, "reference", format!("{at}/image/reference"))
                    }
                    Some(other) => return Err(format!("{at}/image is {other}, not an object")),
                }
            } else {
                (item, "image", format!("{at}/image"))
            };
            // The name matters to allowExistingViolations, which matches containers by name.
            let name = match item.get("name") {
                None | Some(Value::Null) => None,
                Some(Value::String(name)) => Some(name.clone()),
                Some(other) => return Err(format!("{at}/name is {other}, not a string")),
            };
            match holder.get(key) {
                None | Some(Value::Null) if imageless == Imageless::Skipped => {}
                Some(Value::String(image))
                    if image.is_empty() && imageless == Imageless::Skipped => {}
                Some(Value::String(image)) if !image.is_empty() => found.push(FoundImage {
                    list,
                    index,
                    name: name.clone(),
                    image: image.clone(),
                    pointer: image_pointer,
                }),
                other => return Err(format!("{image_pointer} is {other:?}, not an image")),
            }
        }
    }
    Ok(found)
}

/// The digest part of a pinned image, checked without the policy's parser: exactly one `@`, then an allowed
/// algorithm, `:` and lowercase hex of that algorithm's length; the whole image printable ASCII without spaces.
pub fn pinned_digest<'a>(image: &'a str, allowed: &[Algorithm]) -> Option<&'a str> {
    if !image.bytes().all(|b| b.is_ascii_graphic()) || image.matches('@').count() != 1 {
        return None;
    }
    let (name, digest) = image.split_once('@')?;
    let (algorithm, hex) = digest.split_once(':')?;
    let expected_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return None,
    };
    let allowed = allowed.iter().any(|a| a.name() == algorithm);
    let hex_ok =
        hex.len() == expected_len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (allowed && hex_ok && !name.is_empty()).then_some(digest)
}

/// The request's parts the soundness check reads, or the reason the request cannot be one the policy may accept
/// into judging.
struct Judged<'a> {
    settings: Settings,
    operation: &'a str,
    pod_spec_path: Option<&'static [&'static str]>,
    request: &'a Value,
}

/// What a request asks the policy to judge; `Err`: why the policy must have rejected it.
fn read_request(payload: &Value) -> Result<Option<Judged<'_>>, String> {
    let settings = Settings::from_json(payload.get("settings").unwrap_or(&Value::Null))
        .map_err(|error| format!("the settings are invalid: {error}"))?;
    let request = payload
        .get("request")
        .filter(|request| request.is_object())
        .ok_or("the request is missing or not an object")?;
    let operation = request
        .get("operation")
        .and_then(Value::as_str)
        .ok_or("request.operation is not a string")?;
    let kind = request
        .get("kind")
        .and_then(|kind| kind.get("kind"))
        .and_then(Value::as_str)
        .ok_or("request.kind.kind is not a string")?;
    match operation {
        "CREATE" | "UPDATE" => {}
        "DELETE" | "CONNECT" => return Ok(None),
        other => return Err(format!("operation {other:?} is unknown")),
    }
    let judged_kind = match request.get("subResource") {
        None | Some(Value::Null) => kind,
        Some(Value::String(sub)) if sub.is_empty() => kind,
        Some(Value::String(sub)) if sub == "ephemeralcontainers" => "Pod",
        Some(Value::String(_)) => return Ok(None),
        Some(other) => return Err(format!("request.subResource is {other}, not a string")),
    };
    Ok(Some(Judged {
        settings,
        operation,
        pod_spec_path: pod_spec_path(judged_kind),
        request,
    }))
}

/// serde_json's words for the faults a whole parse refuses and the policy's pruned read does not look for in a skipped
/// field: a `\u` escape that is not a whole UTF-16 character, a number past f64, nesting past 128 levels.
const TOLERATED_IN_SKIPPED_FIELDS: [&str; 5] = [
    "surrogate",
    "end of hex escape",
    "unicode code point",
    "number out of range",
    "recursion limit exceeded",
];

/// Panics unless `response`, the policy's answer to `payload`, is sound (see the module documentation).
pub fn check_soundness(payload: &[u8], response: &Response) {
    if !response.accepted {
        return;
    }
    let payload: Value = match serde_json::from_slice(payload) {
        Ok(payload) => payload,
        // The policy reads only the fields it judges, and does not look for these faults in the ones it skips
        // (policy/src/payload.rs): it judges such a payload on its kept fields, which its pruned read gives. Any other
        // fault, or one its pruned read refuses too, must not be accepted.
        Err(error)
            if TOLERATED_IN_SKIPPED_FIELDS
                .iter()
                .any(|fault| error.to_string().contains(fault)) =>
        {
            require_digest::payload::read(payload, require_digest::payload::PAYLOAD).unwrap_or_else(
                |pruned| {
                    panic!(
                        "accepted a payload that is not JSON: {error} (its pruned read: {pruned})"
                    )
                },
            )
        }
        Err(error) => panic!("accepted a payload that is not JSON: {error}"),
    };
    if !payload.is_object() {
        panic!("accepted a payload that is not an object: {payload}");
    }
    let judged = match read_request(&payload) {
        Ok(Some(judged)) => judged,
        Ok(None) => {
            assert!(
                response.mutated_object.is_none(),
                "mutated a request it does not judge"
            );
            return;
        }
        Err(reason) => panic!("accepted although {reason}"),
    };
    let Some(pod_spec_path) = judged.pod_spec_path else {
        assert!(
            response.mutated_object.is_none(),
            "mutated an object of a kind it does not judge"
        );
        return;
    };
    let object = match judged.request.get("object") {
        Some(object @ Value::Object(_)) => object,
        other => panic!("accepted a CREATE/UPDATE whose object is {other:?}"),
    };
    let images = images_of(object, pod_spec_path, Imageless::Error)
        .unwrap_or_else(|reason| panic!("accepted a malformed object: {reason}"));
    let settings = &judged.settings;
    let old_images = match judged.request.get("oldObject") {
        Some(old) if judged.operation == "UPDATE" && settings.allow_existing_violations => {
            images_of(old, pod_spec_path, Imageless::Skipped).unwrap_or_default()
        }
        _ => Vec::new(),
    };

    let mut restored = response.mutated_object.clone();
    for found in &images {
        let image = found.image.as_str();
        let parsed = ImageReference::parse_with_algorithms(image, &settings.allowed_algorithms);
        let exempt = parsed
            .as_ref()
            .ok()
            .and_then(|reference| settings.exemption_for(image, &reference.normalized()));
        let tolerated = found.name.is_some()
            && old_images.iter().any(|old| {
                old.list == found.list && old.name == found.name && old.image == found.image
            });
        let rule_met = parsed.as_ref().is_ok_and(|reference| {
            reference.digest().is_some() && (!settings.require_tag || reference.tag().is_some())
        });
        if rule_met {
            assert!(
                pinned_digest(image, &settings.allowed_algorithms).is_some(),
                "the parser calls {image:?} pinned, but its digest is not an allowed algorithm with its hex"
            );
        }
        let mutated_image = restored
            .as_mut()
            .and_then(|mutated| mutated.pointer_mut(&found.pointer));
        match mutated_image {
            Some(Value::String(pinned)) if pinned != image => {
                assert!(
                    settings.resolve_tags,
                    "changed {image:?} to {pinned:?} without resolveTags"
                );
                assert!(
                    parsed.as_ref().is_ok_and(|r| r.digest().is_none())
                        && exempt.is_none()
                        && !tolerated,
                    "changed {image:?}, which needed no pinning, to {pinned:?}"
                );
                let digest = pinned
                    .strip_prefix(image)
                    .and_then(|rest| rest.strip_prefix('@'))
                    .unwrap_or_else(|| {
                        panic!("{pinned:?} is not {image:?} with a digest appended")
                    });
                assert!(
                    pinned_digest(pinned, &settings.allowed_algorithms) == Some(digest),
                    "pinned {image:?} to {pinned:?}, whose digest is not acceptable"
                );
                ImageReference::parse_with_algorithms(pinned, &settings.allowed_algorithms)
                    .unwrap_or_else(|error| {
                        panic!("pinned to {pinned:?}, which does not parse: {error}")
                    });
                // Put the original back, so that what remains to compare is everything but the images.
                *restored
                    .as_mut()
                    .and_then(|mutated| mutated.pointer_mut(&found.pointer))
                    .expect("just found") = Value::String(image.to_string());
            }
            Some(Value::String(_)) | None => {
                if !rule_met && exempt.is_none() && !tolerated {
                    panic!(
                        "accepted {} {:?} ({}) with image {image:?}, which is {}",
                        found.list,
                        found.name,
                        found.pointer,
                        match &parsed {
                            Err(error) => format!("invalid: {error}"),
                            Ok(_) => "not pinned as the settings require".to_string(),
                        }
                    );
                }
            }
            Some(other) => panic!("the mutated object holds {other} at {}", found.pointer),
        }
    }
    if let Some(restored) = restored {
        assert_eq!(
            &restored, object,
            "the mutated object differs from the object in more than pinned images"
        );
    }
}

/// Panics unless `response`, the entry point's answer to `payload`, is the verdict of the rule on the payload parsed
/// whole into a `serde_json::Value` (the plain reading, in which duplicated keys keep their last value). Whatever the
/// entry point does to read payloads faster (it may skip the fields the rule does not look at), the verdict must not
/// change. Payloads that are not a JSON object with settings and a request are left to [`check_soundness`].
pub fn check_same_as_whole_read(
    payload: &[u8],
    response: &Response,
    resolver: &dyn DigestResolver,
) {
    let Ok(Value::Object(mut payload)) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let Ok(settings) = Settings::from_json(payload.get("settings").unwrap_or(&Value::Null)) else {
        return;
    };
    let request = match payload.remove("request") {
        None | Some(Value::Null) => return,
        Some(request) => request,
    };
    let (accepted, message, mutated_object, warnings) =
        match validate_request(&request, &settings, resolver) {
            Verdict::Accept { warnings } => (true, None, None, warnings),
            Verdict::Mutate { object, warnings } => (true, None, Some(object), warnings),
            Verdict::Reject { message, warnings } => (false, Some(message), None, warnings),
        };
    assert_eq!(
        response.accepted, accepted,
        "accepted, against the whole read: {message:?}"
    );
    assert_eq!(response.message, message, "message, against the whole read");
    assert_eq!(
        response.warnings, warnings,
        "warnings, against the whole read"
    );
    assert!(
        response.mutated_object == mutated_object,
        "mutated object, against the whole read"
    );
}

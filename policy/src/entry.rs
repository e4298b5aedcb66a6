//! The plain functions behind policy.wasm's waPC entry points: payload bytes in, response JSON out. They never fail
//! and never panic: whatever the input, the answer is a verdict (a malformed input is a rejection that says why).

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use serde::Serialize;
use serde_json::Value;

use crate::json::Json;
use crate::payload::{self, Shape};
use crate::resolver::{DigestResolver, RememberingResolver};
use crate::settings::Settings;
use crate::validation::{Verdict, judge_request};

/// The SDK's `ValidationResponse` as this policy writes it: the fields it uses, each left out when absent rather than
/// written as `null` (an absent optional field reads back as the same `None`; Kubewarden's Go SDK leaves them out
/// too). Most answers are `{"accepted":true}`, or that with a message: the SDK's own serialization wrote five `null`s
/// for the host to parse, a measurable share of a fresh instance's evaluation (bench/README.md).
#[derive(Serialize)]
struct Response<'a> {
    accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mutated_object: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

/// `validate`: Kubewarden's validation payload (`{"settings": {...}, "request": <AdmissionRequest>}`) to a
/// `ValidationResponse` (see [`Response`]).
pub fn validate(payload: &[u8], resolver: &dyn DigestResolver) -> Vec<u8> {
    let verdict = verdict(payload, resolver);
    let response = match &verdict {
        // The most common answer of all, written out: even this struct's serialization showed in `host-harness bench`.
        Verdict::Accept { warnings } if warnings.is_empty() => {
            return br#"{"accepted":true}"#.to_vec();
        }
        Verdict::Accept { warnings } => Response {
            accepted: true,
            message: None,
            mutated_object: None,
            warnings,
        },
        Verdict::Mutate { object, warnings } => Response {
            accepted: true,
            message: None,
            mutated_object: Some(object),
            warnings,
        },
        Verdict::Reject { message, warnings } => Response {
            accepted: false,
            message: Some(message),
            mutated_object: None,
            warnings,
        },
    };
    serde_json::to_vec(&response).unwrap_or_else(|_| {
        // Unreachable in practice (a Value always serializes); still an answer, and a closed one.
        br#"{"accepted":false,"message":"require-digest could not encode its response"}"#.to_vec()
    })
}

/// `validate_settings`: the settings JSON to a `SettingsValidationResponse`; invalid settings, including ones that
/// are not JSON or have fields of the wrong type, are `valid: false` with a message naming the field.
pub fn validate_settings(payload: &[u8]) -> Vec<u8> {
    let outcome = serde_json::from_slice::<Value>(payload)
        .map_err(|error| format!("settings are not valid JSON: {error}"))
        .and_then(|settings| Settings::from_json(&settings));
    let response = SettingsValidationResponse {
        valid: outcome.is_ok(),
        message: outcome.err(),
    };
    serde_json::to_vec(&response).unwrap_or_else(|_| {
        br#"{"valid":false,"message":"require-digest could not encode its response"}"#.to_vec()
    })
}

/// The verdict on a validation payload, as [`validate`] answers it.
///
/// The request is read with only the fields the rule looks at ([`payload::PAYLOAD`]): the same verdict as on the whole
/// request, for a fraction of the parsing. A mutation returns the whole object, so a request the policy mutates is
/// judged again, read whole, with the digests the first judgement was given (the resolver is not asked twice).
pub fn verdict(payload: &[u8], resolver: &dyn DigestResolver) -> Verdict {
    let resolver = RememberingResolver::new(resolver);
    let verdict = judge_payload(payload, payload::PAYLOAD, &resolver);
    if !matches!(verdict, Verdict::Mutate { .. }) {
        return verdict;
    }
    // A fault in a field the pruned read skips (an out-of-range number, nesting past serde_json's depth limit) fails
    // this read: the object cannot be handed back whole, so it is refused, naming the fault.
    judge_payload(payload, Shape::Whole, &resolver)
}

/// The verdict on a validation payload read with `shape`.
fn judge_payload(payload: &[u8], shape: Shape, resolver: &dyn DigestResolver) -> Verdict {
    let mut whole_read = None;
    let payload = match payload::read_json(payload, shape, &mut whole_read) {
        Ok(payload) => payload,
        Err(error) => return Verdict::reject(format!("malformed validation payload: {error}")),
    };
    match settings_and_request(&payload) {
        Ok((settings, request)) => judge_request(request, &settings, resolver).verdict,
        Err(message) => Verdict::reject(message),
    }
}

/// The settings and the AdmissionRequest of a validation payload. Read as a whole parse would read them: with
/// duplicate keys, serde_json keeps the last value, as the API server's Go decoder does, so the policy judges what the
/// cluster will store.
fn settings_and_request<'a>(payload: &'a Json<'a>) -> Result<(Settings, &'a Json<'a>), String> {
    if !payload.is_object() {
        return Err(format!(
            "malformed validation payload: must be an object, found {}",
            payload.type_name()
        ));
    }
    let settings = match payload.get("settings") {
        Some(settings) => Settings::from_json(&settings.to_value()),
        None => Settings::from_json(&Value::Null),
    }
    .map_err(|error| format!("invalid settings: {error}"))?;
    match payload.get("request") {
        None | Some(Json::Null) => {
            Err("malformed admission request: request is missing".to_string())
        }
        Some(request) => Ok((settings, request)),
    }
}

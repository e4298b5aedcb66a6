//! The Kubewarden wire types: what goes into a policy and what comes out of it, and the
//! AdmissionReview response `kwctl run` prints.
//!
//! What a policy answers is read into `kubewarden-policy-sdk`'s own types, as Kubewarden's policy-evaluator (kwctl,
//! policy-server) reads it, so an answer host-harness accepts is one they accept. What the SDK has no type for on the
//! host side, the AdmissionReview response and its JSON patch, is written here.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A policy's verdict on one admission request.
pub use kubewarden_policy_sdk::response::ValidationResponse;
/// A policy's verdict on its settings.
pub use kubewarden_policy_sdk::settings::SettingsValidationResponse as SettingsValidation;

/// The payload of the waPC `validate` call: `{"request": <AdmissionRequest>, "settings": <settings>}`,
/// which the SDK reads as its `ValidationRequest`.
pub fn validation_payload(request: &Value, settings: &Value) -> Vec<u8> {
    // Written field by field: `json!` would first deep-copy the request into a new `Value` (measured: a third of
    // the host's side of an evaluation). Serializing a `Value` cannot fail: every map key is already a string.
    let mut payload = Vec::with_capacity(256);
    payload.extend_from_slice(br#"{"request":"#);
    serde_json::to_writer(&mut payload, request).expect("a serde_json::Value always serializes");
    payload.extend_from_slice(br#","settings":"#);
    serde_json::to_writer(&mut payload, settings).expect("a serde_json::Value always serializes");
    payload.push(b'}');
    payload
}

/// Why an input is not an admission request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestInputError {
    #[error("the request is not a JSON object")]
    NotAnObject,
    #[error("the AdmissionReview has no \"request\" object")]
    ReviewWithoutRequest,
}

/// Accepts what `kwctl run --request-path` accepts: a bare AdmissionRequest, or a whole AdmissionReview
/// (`{"kind": "AdmissionReview", "request": {…}}`), and returns the AdmissionRequest.
pub fn admission_request_from_input(input: Value) -> Result<Value, RequestInputError> {
    let Value::Object(mut fields) = input else {
        return Err(RequestInputError::NotAnObject);
    };
    let is_review = fields.get("kind").and_then(Value::as_str) == Some("AdmissionReview")
        // An AdmissionReview written without its kind still wraps the request; a bare request never
        // has a `request` field of its own but always has an `operation`.
        || (fields.contains_key("request") && !fields.contains_key("operation"));
    if !is_review {
        return Ok(Value::Object(fields));
    }
    match fields.remove("request") {
        Some(request @ Value::Object(_)) => Ok(request),
        _ => Err(RequestInputError::ReviewWithoutRequest),
    }
}

/// The AdmissionReview response a webhook returns and `kwctl run` prints:
/// `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    pub api_version: String,
    pub kind: String,
    pub response: AdmissionResponse,
}

/// The `response` of an [`AdmissionReview`], fields in the order Kubernetes documents them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AdmissionStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// `"JSONPatch"` when the policy mutated the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// The base64 of the RFC 6902 JSON Patch from the request's `object` to the policy's `mutated_object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
}

/// The `status` of a response: why it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// The AdmissionReview answering `request` with the policy's `verdict`, as policy-server would send it.
///
/// `status` is there when the policy gave a message or a code; a mutation (a `mutated_object`) becomes
/// `patchType: "JSONPatch"` and the base64 `patch` from the request's `object`.
pub fn admission_review_response(request: &Value, verdict: &ValidationResponse) -> AdmissionReview {
    let status = (verdict.message.is_some() || verdict.code.is_some()).then(|| AdmissionStatus {
        message: verdict.message.clone(),
        code: verdict.code,
    });
    let patch = verdict.mutated_object.as_ref().map(|mutated| {
        let original = request.get("object").unwrap_or(&Value::Null);
        json_patch_base64(original, mutated)
    });
    AdmissionReview {
        api_version: "admission.k8s.io/v1".into(),
        kind: "AdmissionReview".into(),
        response: AdmissionResponse {
            uid: request
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            allowed: verdict.accepted,
            status,
            warnings: verdict.warnings.clone(),
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_owned()),
            patch,
            audit_annotations: verdict.audit_annotations.as_ref().map(|annotations| {
                annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
        },
    }
}

/// The JSON Patch from `original` to `mutated`, serialized and base64-encoded as an AdmissionResponse carries it.
pub fn json_patch_base64(original: &Value, mutated: &Value) -> String {
    let patch = json_patch::diff(original, mutated);
    let patch_json = serde_json::to_vec(&patch).expect("a JSON Patch always serializes");
    base64::engine::general_purpose::STANDARD.encode(patch_json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request_with_object(object: Value) -> Value {
        json!({"uid": "abc-123", "operation": "CREATE", "object": object})
    }

    #[test]
    fn a_response_is_read_with_the_sdk_s_field_names() {
        let sdk: ValidationResponse = serde_json::from_str(
            r#"{"accepted":true,"mutated_object":{"a":1},"audit_annotations":{"k":"v"}}"#,
        )
        .unwrap();
        assert_eq!(sdk.mutated_object, Some(json!({"a": 1})));
        assert_eq!(sdk.audit_annotations.unwrap()["k"], "v");
        // As policy-evaluator reads it: a camelCase field is an unknown one, ignored.
        let camel: ValidationResponse =
            serde_json::from_str(r#"{"accepted":true,"mutatedObject":{"a":1}}"#).unwrap();
        assert_eq!(camel.mutated_object, None);
    }

    #[test]
    fn a_response_without_accepted_is_rejected_by_the_parser() {
        assert!(serde_json::from_str::<ValidationResponse>(r#"{"message":"hi"}"#).is_err());
    }

    #[test]
    fn the_validation_payload_is_the_request_and_the_settings() {
        let request = json!({"uid": "1", "object": {"b": [1, "x\"y"], "a": null}});
        let settings = json!({"exemptImages": ["a/*"]});
        let payload = validation_payload(&request, &settings);
        assert_eq!(
            serde_json::from_slice::<Value>(&payload).unwrap(),
            json!({"request": request, "settings": settings})
        );
        assert_eq!(
            payload,
            serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap(),
            "byte for byte what serializing the whole payload gives"
        );
    }

    #[test]
    fn a_bare_request_is_used_as_is_and_a_review_is_unwrapped() {
        let bare = json!({"uid": "1", "operation": "CREATE"});
        assert_eq!(admission_request_from_input(bare.clone()).unwrap(), bare);
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": bare});
        assert_eq!(admission_request_from_input(review).unwrap(), bare);
        let kindless_review = json!({"request": bare});
        assert_eq!(admission_request_from_input(kindless_review).unwrap(), bare);
    }

    #[test]
    fn malformed_request_inputs_are_named() {
        assert_eq!(
            admission_request_from_input(json!([1])),
            Err(RequestInputError::NotAnObject)
        );
        assert_eq!(
            admission_request_from_input(json!({"kind": "AdmissionReview"})),
            Err(RequestInputError::ReviewWithoutRequest)
        );
        assert_eq!(
            admission_request_from_input(json!({"kind": "AdmissionReview", "request": "x"})),
            Err(RequestInputError::ReviewWithoutRequest)
        );
    }

    #[test]
    fn a_rejection_prints_like_kwctl() {
        let verdict = ValidationResponse {
            accepted: false,
            message: Some("image not pinned".into()),
            code: Some(400),
            mutated_object: None,
            warnings: None,
            audit_annotations: None,
        };
        let review = admission_review_response(&request_with_object(json!({})), &verdict);
        assert_eq!(
            serde_json::to_string(&review).unwrap(),
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"abc-123","allowed":false,"status":{"message":"image not pinned","code":400}}}"#,
            "the fields come in kwctl's order"
        );
        assert_eq!(
            serde_json::to_value(&review).unwrap(),
            json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {"uid": "abc-123", "allowed": false, "status": {"message": "image not pinned", "code": 400}}
            })
        );
    }

    #[test]
    fn an_acceptance_without_message_has_no_status() {
        let verdict: ValidationResponse =
            serde_json::from_str(r#"{"accepted":true,"warnings":["w"]}"#).unwrap();
        let review = serde_json::to_value(admission_review_response(
            &request_with_object(json!({})),
            &verdict,
        ))
        .unwrap();
        assert_eq!(
            review["response"],
            json!({"uid": "abc-123", "allowed": true, "warnings": ["w"]})
        );
    }

    #[test]
    fn a_mutation_carries_the_base64_json_patch_from_object_to_mutated_object() {
        let original = json!({"spec": {"containers": [{"image": "nginx:1.27"}]}});
        let mutated = json!({"spec": {"containers": [{"image": "nginx:1.27@sha256:abc"}]}});
        let verdict = ValidationResponse {
            accepted: true,
            message: None,
            code: None,
            mutated_object: Some(mutated.clone()),
            warnings: None,
            audit_annotations: None,
        };
        let review = serde_json::to_value(admission_review_response(
            &request_with_object(original.clone()),
            &verdict,
        ))
        .unwrap();
        assert_eq!(review["response"]["patchType"], "JSONPatch");
        let patch_bytes = base64::engine::general_purpose::STANDARD
            .decode(review["response"]["patch"].as_str().unwrap())
            .unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).unwrap();
        let mut patched = original;
        json_patch::patch(&mut patched, &patch).unwrap();
        assert_eq!(patched, mutated);
        assert_eq!(
            serde_json::from_slice::<Value>(&patch_bytes).unwrap(),
            json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.27@sha256:abc"}])
        );
    }
}

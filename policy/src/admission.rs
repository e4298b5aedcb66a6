//! A Kubernetes object as an admission request: what the API server would call it, and the CREATE request it would
//! send a webhook for it. One place for host-harness (`check`, `pin`) and the browser build (`js.rs`), so both put to
//! the rule the very request the other does.

use serde_json::{Value, json};

use crate::json::json_type;
use crate::resources::resource_for_kind;

/// What the API server would call an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectIdentity {
    pub api_version: String,
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Plural resource, e.g. `deployments`.
    pub resource: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl ObjectIdentity {
    /// `Kind namespace/name`, `Kind name`, or `Kind` when unnamed.
    pub fn describe(&self) -> String {
        match (&self.namespace, &self.name) {
            (Some(namespace), Some(name)) => format!("{} {namespace}/{name}", self.kind),
            (None, Some(name)) => format!("{} {name}", self.kind),
            _ => self.kind.clone(),
        }
    }
}

pub fn identify(value: &Value) -> Result<ObjectIdentity, String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "not a Kubernetes object: expected a mapping with apiVersion and kind, found {}",
            json_type(value)
        ));
    };
    let text_field = |name: &str| -> Result<String, String> {
        match object.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            Some(Value::String(_)) | None => {
                Err(format!("not a Kubernetes object: `{name}` is missing"))
            }
            Some(other) => Err(format!(
                "`{name}` must be a string, found {}",
                json_type(other)
            )),
        }
    };
    let api_version = text_field("apiVersion")?;
    let kind = text_field("kind")?;
    let (group, version) = match api_version.split_once('/') {
        Some((group, version))
            if !group.is_empty() && !version.is_empty() && !version.contains('/') =>
        {
            (group.to_owned(), version.to_owned())
        }
        None => (String::new(), api_version.clone()),
        _ => {
            return Err(format!(
                "apiVersion `{api_version}` is not `version` or `group/version`"
            ));
        }
    };
    let metadata = object.get("metadata");
    let metadata_text = |name: &str| {
        metadata
            .and_then(|m| m.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(ObjectIdentity {
        resource: resource_for_kind(&group, &kind),
        api_version,
        group,
        version,
        kind,
        name: metadata_text("name"),
        namespace: metadata_text("namespace"),
    })
}

/// The CREATE AdmissionRequest (`admission.k8s.io/v1`, the bare request, not the review) that the
/// API server would send a webhook for `object`. `uid` identifies the request in responses.
pub fn create_request(
    object: Value,
    identity: &ObjectIdentity,
    uid: &str,
    username: &str,
) -> Value {
    let kind =
        json!({ "group": identity.group, "version": identity.version, "kind": identity.kind });
    let resource = json!({ "group": identity.group, "version": identity.version, "resource": identity.resource });
    // The small fields come from `json!`; the object is moved in afterwards, since `json!` deep-copies every
    // value it is given (it serializes it into a new `Value`), which showed in `check`'s profile.
    let mut request = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "operation": "CREATE",
        "userInfo": { "username": username, "groups": ["system:authenticated"] },
        "dryRun": false,
        "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" },
    });
    request["object"] = object;
    if let Some(name) = &identity.name {
        request["name"] = Value::String(name.clone());
    }
    if let Some(namespace) = &identity.namespace {
        request["namespace"] = Value::String(namespace.clone());
    }
    request
}

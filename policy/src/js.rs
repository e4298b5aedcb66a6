//! The rule for JavaScript (cargo feature `js`): an ES module, built by scripts/build-js.sh with wasm-bindgen, that
//! exposes one function, `checkObject(manifest, settings, digests?)`.
//!
//! No second copy of the rule: the settings go through [`entry::validate_settings`], policy.wasm's own
//! `validate_settings`, and the object through [`judge_request`], the rule policy.wasm's `validate` applies, on the
//! CREATE admission request `host-harness check` would send for the same object. The rule also says how it judged
//! each image ([`ImageStatus`]); what this module adds is presentation for people: each image with its status, the
//! policy's words about it, and the pinned form to write instead.
//!
//! Only [`check_object`] needs wasm-bindgen; [`check`] is plain Rust, so the unit tests below run natively without
//! the feature.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
#[cfg(feature = "js")]
use wasm_bindgen::prelude::*;

use crate::json::{Json, json_type};
use crate::reference::{Algorithm, ImageReference};
use crate::resolver::TableResolver;
use crate::settings::Settings;
use crate::validation::{ImageStatus, Verdict, judge_request};
use crate::workload::ImageSite;
use crate::{admission, entry};

/// Judges one Kubernetes object (a manifest, already parsed from YAML or JSON) as a CREATE request under `settings`.
///
/// `digests` (optional): image as written → digest, the answers of a registry for mutate mode (`resolveTags`),
/// which the browser cannot ask itself.
///
/// Returns `{verdict, allowed, mutated, message, violations, warnings, images, mutatedObject}` where `verdict` is
/// `accepted` or `rejected`; a document that is not a Kubernetes object is `{verdict: "skipped", reason}`. Both as
/// `host-harness check --output json` reports them.
/// Throws an `Error` when the settings are invalid, as `check` refuses to run with them.
#[cfg(feature = "js")]
#[wasm_bindgen(js_name = checkObject)]
pub fn check_object(
    manifest: JsValue,
    settings: JsValue,
    digests: JsValue,
) -> Result<JsValue, JsError> {
    let manifest =
        from_js(&manifest).map_err(|error| JsError::new(&format!("manifest: {error}")))?;
    let settings =
        from_js(&settings).map_err(|error| JsError::new(&format!("settings: {error}")))?;
    let digests = from_js(&digests).map_err(|error| JsError::new(&format!("digests: {error}")))?;
    let report = check(manifest, settings, &digests).map_err(|error| JsError::new(&error))?;
    let text = serde_json::to_string(&report).map_err(|error| JsError::new(&error.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("could not hand the report to JavaScript"))
}

/// A JavaScript value as JSON; `undefined` and `null` are `null`.
#[cfg(feature = "js")]
fn from_js(value: &JsValue) -> Result<Value, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(Value::Null);
    }
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| "cannot be written as JSON (a cycle, or a BigInt?)".to_string())?
        .as_string()
        .ok_or_else(|| "is not a JSON value".to_string())?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// The whole check of one object, in plain Rust: settings through the module's `validate_settings`, the object
/// through its `validate`, then each image's part of the answer.
pub fn check(manifest: Value, settings: Value, digests: &Value) -> Result<Value, String> {
    let settings = if settings.is_null() {
        json!({})
    } else {
        settings
    };
    let settings_answer: Value =
        serde_json::from_slice(&entry::validate_settings(settings.to_string().as_bytes()))
            .map_err(|error| format!("the policy's settings answer is unreadable: {error}"))?;
    if settings_answer["valid"] != true {
        let message = settings_answer["message"]
            .as_str()
            .unwrap_or("no reason given");
        return Err(format!("Provided settings are not valid: {message}"));
    }
    let parsed_settings = Settings::from_json(&settings)?;
    let resolver = TableResolver::new(digest_table(digests)?);

    let identity = match admission::identify(&manifest) {
        Ok(identity) => identity,
        Err(reason) => return Ok(json!({ "verdict": "skipped", "reason": reason })),
    };
    let request = admission::create_request(manifest, &identity, "playground", "playground");
    let request = Json::from_value(&request);
    let judgement = judge_request(&request, &parsed_settings, &resolver);
    let images: Vec<Value> = judgement
        .images
        .iter()
        .map(|(site, status)| ImageReport::of(site, status, &parsed_settings).to_json())
        .collect();
    let (allowed, message, mutated_object, warnings) = match judgement.verdict {
        Verdict::Accept { warnings } => (true, None, None, warnings),
        Verdict::Mutate { object, warnings } => (true, None, Some(object), warnings),
        Verdict::Reject { message, warnings } => (false, Some(message), None, warnings),
    };
    let violations: Vec<&str> = message.iter().flat_map(|message| message.lines()).collect();
    let mut report = json!({
        "verdict": if allowed { "accepted" } else { "rejected" },
        "allowed": allowed,
        "mutated": mutated_object.is_some(),
        "message": message,
        "violations": violations,
        "warnings": warnings,
        "images": images,
    });
    if let Some(object) = mutated_object {
        report["mutatedObject"] = object;
    }
    Ok(report)
}

/// `{image: digest}` from the caller's digests object.
fn digest_table(digests: &Value) -> Result<HashMap<String, String>, String> {
    match digests {
        Value::Null => Ok(HashMap::new()),
        Value::Object(entries) => entries
            .iter()
            .map(|(image, digest)| match digest {
                Value::String(digest) => Ok((image.clone(), digest.clone())),
                other => Err(format!(
                    "digests[{image:?}] must be a string, found {}",
                    json_type(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "digests must be an object (image → digest), found {}",
            json_type(other)
        )),
    }
}

/// One image of the object, as the policy judged it.
struct ImageReport<'a> {
    site: &'a ImageSite<'a>,
    /// `pinned`, `exempt`, `tolerated`, `violation`, `warned` (tagDigestMismatch: warn) or `resolved` (pinned by
    /// resolveTags).
    status: &'static str,
    /// The policy's own words about this image (after `<site> image "<image>" `), when it said something.
    reason: Option<String>,
    /// What to write instead, when the image is not pinned as the policy wants; `None` when it is fine as written or
    /// cannot be pinned before its reference is fixed.
    pinned_form: Option<String>,
    /// The command that prints the digest the pinned form needs.
    digest_command: Option<String>,
}

impl<'a> ImageReport<'a> {
    fn of(site: &'a ImageSite<'a>, status: &ImageStatus, settings: &Settings) -> ImageReport<'a> {
        let (status_name, reason, pinned_form) = match status {
            ImageStatus::Pinned => ("pinned", None, None),
            ImageStatus::Exempt { .. } => ("exempt", status.said(), None),
            ImageStatus::Tolerated { .. } => ("tolerated", status.said(), None),
            ImageStatus::Violation { .. } => ("violation", status.said(), None),
            ImageStatus::Warned { .. } => ("warned", status.said(), None),
            ImageStatus::Resolved { pinned } => (
                "resolved",
                Some("pinned by resolveTags to the digest its registry reported".to_string()),
                Some(pinned.clone()),
            ),
        };
        let mut report = ImageReport {
            site,
            status: status_name,
            reason,
            pinned_form,
            digest_command: None,
        };
        if matches!(
            status,
            ImageStatus::Violation { .. } | ImageStatus::Tolerated { .. }
        ) {
            (report.pinned_form, report.digest_command) =
                suggestion(site.image.unwrap_or_default(), settings);
        }
        report
    }

    fn to_json(&self) -> Value {
        let kind = match self.site.kind {
            crate::workload::SiteKind::Container => "container",
            crate::workload::SiteKind::InitContainer => "initContainer",
            crate::workload::SiteKind::EphemeralContainer => "ephemeralContainer",
            crate::workload::SiteKind::ImageVolume => "imageVolume",
        };
        let mut out = Map::new();
        out.insert("site".into(), json!(self.site.to_string()));
        out.insert("kind".into(), json!(kind));
        out.insert("name".into(), json!(self.site.name));
        out.insert("path".into(), json!(self.site.path()));
        out.insert("image".into(), json!(self.site.image));
        out.insert("status".into(), json!(self.status));
        out.insert("reason".into(), json!(self.reason));
        out.insert("pinnedForm".into(), json!(self.pinned_form));
        out.insert("digestCommand".into(), json!(self.digest_command));
        Value::Object(out)
    }
}

/// The pinned form to write for `image` (`name[:tag]@<algorithm>:<digest>`, the digest left for the user to fill
/// in) and the command that prints that digest; `None` when the name itself is not a valid reference.
fn suggestion(image: &str, settings: &Settings) -> (Option<String>, Option<String>) {
    // Whatever digest is there (too short, another algorithm, twice) goes: the name and tag before it are what the
    // digest must be looked up for.
    let base = image.split_once('@').map_or(image, |(base, _)| base);
    let Ok(reference) = ImageReference::parse(base) else {
        return (None, None);
    };
    let algorithm = if settings.allowed_algorithms.contains(&Algorithm::Sha256) {
        Algorithm::Sha256
    } else {
        settings
            .allowed_algorithms
            .first()
            .copied()
            .unwrap_or(Algorithm::Sha256)
    };
    let tag = if settings.require_tag && reference.tag().is_none() {
        ":<tag>"
    } else {
        ""
    };
    (
        Some(format!("{base}{tag}@{algorithm}:<digest>")),
        Some(format!("host-harness digest {base}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806";

    fn deployment(images: &[&str]) -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(index, image)| json!({ "name": format!("c{index}"), "image": image }))
            .collect();
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "web", "namespace": "shop" },
            "spec": { "template": { "spec": { "containers": containers } } }
        })
    }

    #[test]
    fn a_pinned_deployment_is_accepted_with_every_image_pinned() {
        let report = check(
            deployment(&[&format!("nginx:1.27@{DIGEST}")]),
            json!({}),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(report["verdict"], "accepted");
        assert_eq!(report["images"][0]["status"], "pinned");
        assert_eq!(report["images"][0]["pinnedForm"], Value::Null);
    }

    #[test]
    fn an_unpinned_image_is_a_violation_with_the_policys_reason_and_a_pinned_form() {
        let report = check(deployment(&["nginx:1.27"]), json!({}), &Value::Null).unwrap();
        assert_eq!(report["verdict"], "rejected");
        let image = &report["images"][0];
        assert_eq!(image["status"], "violation");
        assert_eq!(image["reason"], "is not pinned by a digest");
        assert_eq!(image["pinnedForm"], "nginx:1.27@sha256:<digest>");
        assert_eq!(image["digestCommand"], "host-harness digest nginx:1.27");
        assert!(
            report["message"]
                .as_str()
                .unwrap()
                .starts_with("Deployment web: container \"c0\"")
        );
    }

    #[test]
    fn a_bad_digest_keeps_the_name_and_tag_in_the_pinned_form() {
        let settings = json!({ "requireTag": true, "allowedAlgorithms": ["sha512"] });
        let report = check(
            deployment(&["ghcr.io/acme/app@sha256:abc"]),
            settings,
            &Value::Null,
        )
        .unwrap();
        assert_eq!(
            report["images"][0]["pinnedForm"],
            "ghcr.io/acme/app:<tag>@sha512:<digest>"
        );
    }

    #[test]
    fn an_invalid_name_has_no_pinned_form() {
        let report = check(deployment(&["ghcr.io/Acme/App:1"]), json!({}), &Value::Null).unwrap();
        assert_eq!(report["images"][0]["status"], "violation");
        assert_eq!(report["images"][0]["pinnedForm"], Value::Null);
    }

    #[test]
    fn exempt_images_say_by_which_pattern() {
        let settings = json!({ "exemptImages": ["nginx:*"] });
        let report = check(deployment(&["nginx:1.27"]), settings, &Value::Null).unwrap();
        assert_eq!(report["verdict"], "accepted");
        assert_eq!(report["images"][0]["status"], "exempt");
        assert_eq!(
            report["images"][0]["reason"],
            "is exempt by pattern \"nginx:*\""
        );
    }

    #[test]
    fn resolve_tags_pins_from_the_digest_table() {
        let settings = json!({ "resolveTags": true });
        let digests = json!({ "nginx:1.27": DIGEST });
        let report = check(
            deployment(&["nginx:1.27", "redis:7"]),
            settings.clone(),
            &digests,
        )
        .unwrap();
        assert_eq!(report["verdict"], "rejected", "redis:7 has no known digest");
        let report = check(deployment(&["nginx:1.27"]), settings, &digests).unwrap();
        assert_eq!(report["verdict"], "accepted");
        assert_eq!(report["mutated"], true);
        assert_eq!(report["images"][0]["status"], "resolved");
        assert_eq!(
            report["images"][0]["pinnedForm"],
            format!("nginx:1.27@{DIGEST}")
        );
        assert_eq!(
            report["mutatedObject"]["spec"]["template"]["spec"]["containers"][0]["image"],
            format!("nginx:1.27@{DIGEST}")
        );
    }

    #[test]
    fn every_image_has_its_status_past_the_violations_a_rejection_lists() {
        let images: Vec<String> = (0..25).map(|index| format!("app{index}:1")).collect();
        let images: Vec<&str> = images.iter().map(String::as_str).collect();
        let report = check(deployment(&images), json!({}), &Value::Null).unwrap();
        let violations = report["violations"].as_array().unwrap();
        assert_eq!(violations.len(), 21, "20 listed and a summary line");
        assert!(violations[20].as_str().unwrap().ends_with("… and 5 more"));
        let images = report["images"].as_array().unwrap();
        assert_eq!(images.len(), 25);
        for image in images {
            assert_eq!(image["status"], "violation", "{image}");
            assert_eq!(image["reason"], "is not pinned by a digest");
        }
    }

    #[test]
    fn a_tolerated_image_says_so_and_gets_a_pinned_form() {
        let settings = json!({ "allowExistingViolations": true });
        let manifest = deployment(&["nginx:1.27"]);
        let request = json!({
            "operation": "UPDATE",
            "kind": { "kind": "Deployment" },
            "object": manifest,
            "oldObject": manifest,
        });
        let request = Json::from_value(&request);
        let judgement = judge_request(
            &request,
            &Settings::from_json(&settings).unwrap(),
            &TableResolver::default(),
        );
        let (site, status) = &judgement.images[0];
        let report = ImageReport::of(site, status, &Settings::from_json(&settings).unwrap());
        assert_eq!(report.status, "tolerated");
        assert_eq!(
            report.reason.as_deref(),
            Some(
                "is not pinned by a digest; tolerated: the old object has the same image (allowExistingViolations)"
            )
        );
        assert_eq!(
            report.pinned_form.as_deref(),
            Some("nginx:1.27@sha256:<digest>")
        );
        assert!(
            matches!(judgement.verdict, Verdict::Accept { ref warnings } if warnings.len() == 1)
        );
    }

    #[test]
    fn documents_that_are_not_objects_are_skipped_and_other_kinds_are_accepted() {
        let report = check(json!(["a", "list"]), json!({}), &Value::Null).unwrap();
        assert_eq!(report["verdict"], "skipped");
        let report = check(json!({ "apiVersion": "v1" }), json!({}), &Value::Null).unwrap();
        assert_eq!(
            report["reason"],
            "not a Kubernetes object: `kind` is missing"
        );
        let service =
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web" } });
        let report = check(service, json!({}), &Value::Null).unwrap();
        assert_eq!(report["verdict"], "accepted");
        assert_eq!(report["images"], json!([]));
    }

    #[test]
    fn invalid_settings_and_digests_are_errors_that_say_why() {
        let error = check(
            deployment(&["nginx"]),
            json!({ "requireTag": "yes" }),
            &Value::Null,
        )
        .unwrap_err();
        assert_eq!(
            error,
            "Provided settings are not valid: requireTag must be a boolean, found a string"
        );
        let error = check(deployment(&["nginx"]), json!({}), &json!({ "nginx": 1 })).unwrap_err();
        assert!(
            error.contains("digests[\"nginx\"] must be a string"),
            "{error}"
        );
    }
}

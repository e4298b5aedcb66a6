//! `check --verify-registry`: does each pinned image's digest exist in its registry, and does its tag still point
//! there?
//!
//! This runs in the host, not in the module: whether a manifest exists is a fact about a registry, not a rule about
//! how an image must be written, and the module's one registry capability (`oci/v1/manifest_digest`) answers a pinned
//! image with its own digest, so the module cannot ask it. The policy's code still decides what an image is and where
//! it sits: the sites come from `require_digest::workload` and the lines are written in the format
//! `require_digest::violation` owns, so `check` places them at the image's line in every output format, as it does
//! the module's own. The digest rule (pinned or not, which algorithms) stays the module's alone: an image the grammar
//! does not accept, or one without a digest, is not asked about here.

use require_digest::json::Json;
use require_digest::reference::ImageReference;
use require_digest::validation::subject;
use require_digest::violation::{push_site, with_subject};
use require_digest::workload::{ImageSite, image_sites, pod_spec_location};
use serde_json::Value;

use crate::registry::DigestSource;

/// What the registry said about one object's pinned images, as lines in the violation format.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistryFindings {
    /// A pinned digest its registry does not serve: the image would never pull.
    pub violations: Vec<String>,
    /// A `name:tag@digest` whose tag points elsewhere now, or cannot be resolved.
    pub warnings: Vec<String>,
    /// The registry could not be asked (unreachable, credentials): nothing is known about the digest.
    pub errors: Vec<String>,
}

/// Asks `source` about every image written with a digest in the object of `request` (an AdmissionRequest of
/// `kind`). Objects that hold no pod spec, or one the policy cannot read (it rejects those itself), have nothing to
/// ask.
pub fn verify_request(kind: &str, request: &Value, source: &dyn DigestSource) -> RegistryFindings {
    let mut findings = RegistryFindings::default();
    let request = Json::from_value(request);
    let (Some(pod_spec_at), Some(object)) = (pod_spec_location(kind), request.get("object")) else {
        return findings;
    };
    let Ok(sites) = image_sites(object, pod_spec_at) else {
        return findings;
    };
    let (mut violations, mut warnings) = (Vec::new(), Vec::new());
    for site in &sites {
        let Some(image) = site.image else { continue };
        let Ok(reference) = ImageReference::parse(image) else {
            continue;
        };
        let Some(digest) = reference.digest() else {
            continue;
        };
        match source.missing_manifest(image) {
            Err(error) => findings.errors.push(error.to_string()),
            Ok(Some(why)) => violations.push(line(
                site,
                &format!("is pinned to a digest that does not exist: {why}"),
            )),
            Ok(None) => {
                let Some(tag) = reference.tag() else { continue };
                // The reference without its digest: sources answer a pinned reference with its own digest.
                let tagged = image.rsplit_once('@').map_or(image, |(tagged, _)| tagged);
                let pinned = digest.to_string();
                match source.digest(tagged) {
                    Ok(now) if now == pinned => {}
                    Ok(now) => warnings.push(line(
                        site,
                        &format!(
                            "tag {tag} now points to {now}; the pinned digest is still served"
                        ),
                    )),
                    Err(error) => warnings.push(line(
                        site,
                        &format!(
                            "tag {tag} could not be resolved ({error}); the pinned digest is served"
                        ),
                    )),
                }
            }
        }
    }
    if !violations.is_empty() || !warnings.is_empty() {
        let subject = subject(kind, &request, object);
        findings.violations = with_subject(&subject, violations);
        findings.warnings = with_subject(&subject, warnings);
    }
    findings
}

/// The line about one site, without its subject.
fn line(site: &ImageSite, reason: &str) -> String {
    let mut line = String::new();
    push_site(&mut line, site);
    line.push_str(reason);
    line
}

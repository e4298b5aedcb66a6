//! `pin --refresh`: a `name:tag@digest` whose tag now points elsewhere gets the tag's digest; the tag stays.
//!
//! This runs in the host, beside the module's mutation, not in it: the policy accepts a pinned image as it is (that
//! is the rule), so its mutate mode has nothing to say about one whose tag has moved on. Which images and where they
//! sit still come from the policy's own code (`require_digest::workload`, `reference`, `settings` for exemptions), and
//! the digest comes from the same source the module's capability asks (a registry, `--digests`, `--from-pods`).
//! Digest-only references (`name@sha256:…`) have no tag to follow; exempt images are left alone.

use require_digest::json::Json;
use require_digest::reference::ImageReference;
use require_digest::settings::Settings;
use require_digest::violation::image_pointer_of;
use require_digest::workload::{image_sites, pod_spec_location};

use crate::manifest::{Document, ManifestObject};
use crate::registry::DigestSource;

use super::{Change, PinError};

/// The stale digests of `object`'s images (as changes of the document), and the lookups that failed.
pub(super) fn stale_digests(
    document: &Document,
    object: &ManifestObject,
    settings: &Settings,
    source: &dyn DigestSource,
) -> (Vec<Change>, Vec<PinError>) {
    let (mut changes, mut errors) = (Vec::new(), Vec::new());
    let value = Json::from_value(&object.value);
    let Some(pod_spec_at) = pod_spec_location(&object.identity.kind) else {
        return (changes, errors);
    };
    // An object the rule cannot read is the module's to reject: nothing to refresh in it.
    let Ok(sites) = image_sites(&value, pod_spec_at) else {
        return (changes, errors);
    };
    for site in &sites {
        let Some(image) = site.image else { continue };
        let Ok(reference) = ImageReference::parse(image) else {
            continue;
        };
        let (Some(digest), Some(_tag)) = (reference.digest(), reference.tag()) else {
            continue;
        };
        if settings
            .exemption_for(image, &reference.normalized())
            .is_some()
        {
            continue;
        }
        let pointer = format!(
            "{}{}",
            object.pointer,
            image_pointer_of(&site.path(), site.kind)
        );
        let line = document
            .scalar_at(&pointer)
            .map_or(object.line, |scalar| scalar.line);
        // Sources answer a pinned reference with its own digest: ask for the tag alone.
        let tagged = image.rsplit_once('@').map_or(image, |(tagged, _)| tagged);
        match source.digest(tagged) {
            Ok(now) if now == digest.to_string() => {}
            Ok(now) => changes.push(Change {
                pointer,
                old: image.to_owned(),
                new: format!("{tagged}@{now}"),
            }),
            Err(error) => errors.push(PinError::at(
                line,
                format!(
                    "{}: {site}: image {image:?}: its tag could not be resolved to refresh the digest: {error}",
                    object.identity.describe()
                ),
            )),
        }
    }
    (changes, errors)
}

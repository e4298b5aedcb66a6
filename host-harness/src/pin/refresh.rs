//! `pin --refresh`: a `name:tag@digest` whose tag now points elsewhere gets the tag's digest; the tag stays.
//! `pin --set IMAGE:TAG`: every image of that repository becomes `name:TAG@<digest of TAG>` (`name` as written).
//!
//! This runs in the host, beside the module's mutation, not in it: the policy accepts a pinned image as it is (that
//! is the rule), so its mutate mode has nothing to say about one whose tag has moved on. Which images and where they
//! sit still come from the policy's own code (`require_digest::workload`, `reference`, `settings` for exemptions), and
//! the digest comes from the same source the module's capability asks (a registry, `--digests`, `--from-pods`).
//! Digest-only references (`name@sha256:…`) have no tag to follow; exempt images are left alone by both.

use require_digest::json::Json;
use require_digest::reference::ImageReference;
use require_digest::settings::Settings;
use require_digest::violation::image_pointer_of;
use require_digest::workload::{image_sites, pod_spec_location};

use crate::manifest::{Document, ManifestObject};
use crate::registry::DigestSource;

use super::{Change, PinError};

/// `--set IMAGE:TAG`: the repository to move, by its normalized name, and the tag to move it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetImage {
    /// As given (`nginx:1.25.3`): what is resolved.
    pub written: String,
    /// `docker.io/library/nginx`: what images are matched on, so `nginx` and `docker.io/library/nginx` are one.
    pub normalized_name: String,
    pub tag: String,
}

impl SetImage {
    /// Reads `IMAGE:TAG` as `--set` takes it: a valid reference with a tag and no digest.
    pub fn parse(text: &str) -> Result<Self, String> {
        let reference = ImageReference::parse(text)
            .map_err(|error| format!("--set {text:?} is not a valid image reference: {error}"))?;
        if reference.digest().is_some() {
            return Err(format!(
                "--set {text:?} holds a digest: give IMAGE:TAG, and pin finds the tag's digest"
            ));
        }
        let Some(tag) = reference.tag() else {
            return Err(format!("--set {text:?} has no tag: give IMAGE:TAG"));
        };
        Ok(Self {
            written: text.to_owned(),
            normalized_name: reference.normalized_name(),
            tag: tag.to_owned(),
        })
    }
}

/// What the host itself changes in pinned or unpinned images: `--refresh` and `--set`.
pub struct HostChanges<'a> {
    pub source: &'a dyn DigestSource,
    pub settings: Settings,
    pub refresh: bool,
    pub sets: &'a [SetImage],
}

/// The changes `host` asks for in `object`'s images (as changes of the document), and the lookups that failed.
pub(super) fn host_changes(
    document: &Document,
    object: &ManifestObject,
    host: &HostChanges,
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
        if host
            .settings
            .exemption_for(image, &reference.normalized())
            .is_some()
        {
            continue;
        }
        // The name as written, without tag or digest (`nginx` in `nginx:1.27@sha256:…`).
        let tagged = image.rsplit_once('@').map_or(image, |(tagged, _)| tagged);
        let name = match reference.tag() {
            Some(tag) => &tagged[..tagged.len() - tag.len() - 1],
            None => tagged,
        };
        let normalized_name = reference.normalized_name();
        // What to resolve, and the image to write with its digest: the --set tag, or (--refresh) the image's own.
        let (ask, new_tagged) = match host
            .sets
            .iter()
            .find(|set| set.normalized_name == normalized_name)
        {
            Some(set) => (set.written.as_str(), format!("{name}:{}", set.tag)),
            // Sources answer a pinned reference with its own digest: ask for the tag alone.
            None if host.refresh && reference.digest().is_some() && reference.tag().is_some() => {
                (tagged, tagged.to_owned())
            }
            None => continue,
        };
        let pointer = format!(
            "{}{}",
            object.pointer,
            image_pointer_of(&site.path(), site.kind)
        );
        let line = document
            .scalar_at(&pointer)
            .map_or(object.line, |scalar| scalar.line);
        match host.source.digest(ask) {
            Ok(digest) => {
                let new = format!("{new_tagged}@{digest}");
                if new != image {
                    changes.push(Change {
                        pointer,
                        old: image.to_owned(),
                        new,
                    });
                }
            }
            Err(error) => errors.push(PinError::at(
                line,
                format!(
                    "{}: {site}: image {image:?}: {ask} could not be resolved to a digest: {error}",
                    object.identity.describe()
                ),
            )),
        }
    }
    (changes, errors)
}

//! `pin --from-pods FILE|-`: digests taken from what a cluster is running, not from what a tag points at today.
//!
//! The input is what `kubectl get pods -A -o json` prints (a `List` of Pods, a `PodList`, or one Pod; YAML works too).
//! For each image in a Pod's spec, the digest is read from the status entry of the same container
//! (`containerStatuses`, `initContainerStatuses`, `ephemeralContainerStatuses`, matched by name): its `imageID`, in
//! the forms container runtimes write it (`docker-pullable://repo@sha256:…`, `repo@sha256:…`). A bare `sha256:…` is a
//! local image ID, not a repository digest, and cannot pin. No registry is contacted.
//!
//! An image that runs at two digests in different Pods is a conflict: it has no single digest to pin to, and asking
//! for it fails naming both, so `pin` leaves its file untouched and exits 2. This is migration from tags to digests
//! as it is safe to do: pin to what is running now.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::manifest;

use super::ResolveError;
use super::reference::{parse_image, validate_digest};

/// What the Pods say about one image (by normalized reference).
#[derive(Debug, Default)]
struct Observed {
    /// Repository digest → the first Pod (`namespace/name`) running the image at it.
    digests: BTreeMap<String, String>,
    /// A Pod that reports only a local image ID for it, and that ID.
    local_id: Option<(String, String)>,
}

/// The images of a set of running Pods and the digests they run at.
#[derive(Debug)]
pub struct RunningPods {
    /// Where the Pods were read from, for messages (`-` for stdin).
    source: PathBuf,
    by_reference: BTreeMap<String, Observed>,
}

/// The container lists of a pod spec, each with the status list that reports on it.
const CONTAINER_LISTS: [(&str, &str); 3] = [
    ("containers", "containerStatuses"),
    ("initContainers", "initContainerStatuses"),
    ("ephemeralContainers", "ephemeralContainerStatuses"),
];

impl RunningPods {
    /// Reads the Pods from `path` (`-`: standard input).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|error| format!("cannot read the Pods from stdin: {error}"))?
        } else {
            std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?
        };
        let value = manifest::parse_single(&text).map_err(|error| {
            format!(
                "{}:{}: not valid JSON or YAML: {}",
                path.display(),
                error.line,
                error.message
            )
        })?;
        Self::from_value(path, &value)
    }

    /// The Pods in `value`: a List (or `*List`) of Pods, or one Pod.
    pub fn from_value(path: &Path, value: &Value) -> Result<Self, String> {
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        let pods: Vec<&Value> = match (kind, value.get("items")) {
            ("Pod", _) => vec![value],
            (kind, Some(Value::Array(items))) if kind.ends_with("List") => items.iter().collect(),
            _ => {
                return Err(format!(
                    "{}: expected the output of `kubectl get pods -o json` (a List of Pods, or a Pod), found {}",
                    path.display(),
                    if kind.is_empty() {
                        "no kind".to_owned()
                    } else {
                        format!("kind {kind:?}")
                    }
                ));
            }
        };
        let mut running = Self {
            source: path.to_path_buf(),
            by_reference: BTreeMap::new(),
        };
        for (index, pod) in pods.into_iter().enumerate() {
            if pod.get("kind").and_then(Value::as_str) != Some("Pod") {
                return Err(format!(
                    "{}: item {index} is not a Pod (pass `kubectl get pods … -o json`)",
                    path.display()
                ));
            }
            running.observe(pod);
        }
        Ok(running)
    }

    fn observe(&mut self, pod: &Value) {
        let metadata = &pod["metadata"];
        let pod_name = format!(
            "{}/{}",
            metadata["namespace"].as_str().unwrap_or("default"),
            metadata["name"].as_str().unwrap_or("?")
        );
        for (list, statuses) in CONTAINER_LISTS {
            let containers = pod["spec"][list].as_array().into_iter().flatten();
            let statuses = pod["status"][statuses].as_array();
            for container in containers {
                let (Some(name), Some(image)) =
                    (container["name"].as_str(), container["image"].as_str())
                else {
                    continue;
                };
                // An image the resolver could not name anyway (a typo, a placeholder) is left to the policy.
                let Ok(reference) = parse_image(image) else {
                    continue;
                };
                let Some(image_id) = statuses
                    .into_iter()
                    .flatten()
                    .find(|status| status["name"].as_str() == Some(name))
                    .and_then(|status| status["imageID"].as_str())
                    .filter(|id| !id.is_empty())
                else {
                    // No status yet (a Pod still pending): nothing is running to pin to.
                    continue;
                };
                let observed = self.by_reference.entry(reference.whole()).or_default();
                match repository_digest(image_id) {
                    Some(digest) => {
                        observed
                            .digests
                            .entry(digest)
                            .or_insert_with(|| pod_name.clone());
                    }
                    None => {
                        observed
                            .local_id
                            .get_or_insert_with(|| (pod_name.clone(), image_id.to_owned()));
                    }
                }
            }
        }
    }

    /// The digest `image` runs at: its own when it is pinned already; an error naming why not otherwise (no Pod
    /// reports it, its Pods run it at several digests, or report only a local image ID).
    pub fn digest(&self, image: &str) -> Result<String, ResolveError> {
        let reference = parse_image(image)?;
        if let Some(digest) = reference.digest() {
            return Ok(digest.to_string());
        }
        let not_pinnable = |reason: String| ResolveError::NotFromRunningPods {
            image: image.to_owned(),
            reason,
        };
        let Some(observed) = self.by_reference.get(&reference.whole()) else {
            return Err(not_pinnable(format!(
                "no running Pod in {} reports a digest for it (with --from-pods no registry is contacted)",
                self.source.display()
            )));
        };
        let mut digests = observed.digests.iter();
        match (digests.next(), digests.next()) {
            (Some((digest, _)), None) => Ok(digest.clone()),
            (Some(_), Some(_)) => Err(not_pinnable(format!(
                "it runs at {} different digests: {}; pin it by hand to the one you mean",
                observed.digests.len(),
                observed
                    .digests
                    .iter()
                    .map(|(digest, pod)| format!("{digest} (pod {pod})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            (None, _) => {
                let (pod, id) = observed.local_id.as_ref().expect("observed at least once");
                Err(not_pinnable(format!(
                    "pod {pod} reports only the local image ID {id}, not a repository digest"
                )))
            }
        }
    }

    /// Only `pin` reads running Pods, and it never asks whether a digest exists.
    pub fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        Err(ResolveError::NotFromRunningPods {
            image: image.to_owned(),
            reason: "running Pods cannot tell whether a registry still serves a digest".to_owned(),
        })
    }
}

/// The repository digest in an `imageID`: the part after `@` of `[scheme://]repo@sha256:…`, when it is a valid
/// digest. `None` for a bare image ID (`sha256:…`, `docker://sha256:…`), which names a local image only.
fn repository_digest(image_id: &str) -> Option<String> {
    let without_scheme = image_id
        .split_once("://")
        .map_or(image_id, |(_, rest)| rest);
    let (_, digest) = without_scheme.rsplit_once('@')?;
    validate_digest(digest).ok()?;
    Some(digest.to_owned())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[rstest]
    #[case::docker_pullable(&format!("docker-pullable://nginx@{A}"), Some(A))]
    #[case::containerd(&format!("docker.io/library/nginx@{A}"), Some(A))]
    #[case::bare_image_id(A, None)]
    #[case::docker_scheme_image_id(&format!("docker://{A}"), None)]
    #[case::not_a_digest("nginx@sha256:123", None)]
    fn image_ids_give_a_repository_digest_only_when_they_hold_one(
        #[case] image_id: &str,
        #[case] digest: Option<&str>,
    ) {
        assert_eq!(repository_digest(image_id).as_deref(), digest);
    }
}

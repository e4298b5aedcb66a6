//! Policies as OCI artifacts, stored the way Kubewarden's tools store them, and `registry://` policy references.
//!
//! The layout is policy-fetcher's (`Registry::push`, which `kwctl push` calls): an OCI image manifest with one layer
//! of media type `application/vnd.wasm.content.layer.v1+wasm` holding the module as it is, a config blob `{}` of
//! media type `application/vnd.wasm.config.v1+json`, and as manifest annotations the single-line annotations of the
//! metadata `kwctl annotate` embedded, plus `org.opencontainers.image.source` from `io.kubewarden.policy.source`
//! (kwctl's `build_oci_annotations`). policy-fetcher pulls by accepting only that layer media type, so an artifact
//! without it is not a policy, whatever else it holds.
//!
//! A pulled policy is kept beside the compiled modules (see [`crate::host::cache`]), content-addressed: the manifest
//! under its digest and the module under its layer's digest, each checked against its name whenever it is read. A
//! `…@sha256:` reference already there is never fetched again; a `…:tag` reference costs one request, for the digest
//! the tag names now.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use oci_client::Reference;
use oci_client::client::{Config, ImageLayer};
use oci_client::errors::{DigestError, OciDistributionError};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest, WASM_CONFIG_MEDIA_TYPE,
    WASM_LAYER_MEDIA_TYPE,
};
use sha2::{Digest as _, Sha256};

use super::{RegistryResolver, ResolveError};
use crate::metadata::Metadata;

/// The scheme of a policy stored in an OCI registry, as Kubewarden writes it (`module: registry://…`).
pub const SCHEME: &str = "registry://";

/// kwctl copies `io.kubewarden.policy.source` into this OCI annotation when it is not set.
const OCI_SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";
const KUBEWARDEN_SOURCE_ANNOTATION: &str = "io.kubewarden.policy.source";

/// Why a policy could not be pulled or pushed. Each message starts with the reference as written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyRegistryError {
    #[error("{reference}: not a policy reference: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// The registry could not be asked, or said no (missing tag or repository, credentials…).
    #[error(transparent)]
    Registry(#[from] ResolveError),

    #[error(
        "{reference}: not a Kubewarden wasm policy: {found} (a policy has one layer of media type {WASM_LAYER_MEDIA_TYPE})"
    )]
    NotAPolicy { reference: String, found: String },

    #[error(
        "{reference}: tampered layer: the registry served policy content with digest {actual}, but the manifest names {expected}; it is not run"
    )]
    TamperedLayer {
        reference: String,
        expected: String,
        actual: String,
    },

    #[error(
        "{reference}: tampered manifest: the registry served a manifest with digest {actual}, not {expected}"
    )]
    TamperedManifest {
        reference: String,
        expected: String,
        actual: String,
    },

    #[error(
        "{path}: not annotated: the module has no metadata from `kwctl annotate` (push it anyway with --force)"
    )]
    NotAnnotated { path: String },

    #[error("{reference}: {detail}")]
    Push { reference: String, detail: String },

    #[error("storing the pulled policy in {}: {detail}", path.display())]
    Store { path: PathBuf, detail: String },
}

/// A policy module pulled from a registry, in a file.
#[derive(Debug)]
pub struct PulledPolicy {
    /// The module's file: in the cache, or a temporary file that lives as long as this value.
    pub path: PathBuf,
    /// The reference as written.
    pub reference: String,
    /// The manifest's digest: what a `:tag` reference resolved to.
    pub digest: String,
    /// `registry://HOST/REPOSITORY@DIGEST`: the immutable reference of what was pulled.
    pub pinned: String,
    /// Whether the reference named a tag (and so had to be resolved).
    pub from_tag: bool,
    _temporary: Option<tempfile::TempPath>,
}

/// Whether `module` names a policy in a registry rather than a file.
pub fn is_registry_reference(module: &str) -> bool {
    module.starts_with(SCHEME)
}

/// Parses `registry://HOST/REPOSITORY:TAG` or `registry://HOST/REPOSITORY@DIGEST` (also accepted without the scheme,
/// as `kwctl push` prints references).
pub fn parse_policy_reference(written: &str) -> Result<Reference, PolicyRegistryError> {
    let bare = written.strip_prefix(SCHEME).unwrap_or(written);
    let invalid = |reason: String| PolicyRegistryError::InvalidReference {
        reference: written.to_string(),
        reason,
    };
    let reference = Reference::try_from(bare).map_err(|error| invalid(error.to_string()))?;
    // A policy reference names its registry: `registry://nginx` resolving to Docker Hub's library would surprise.
    let first = bare.split('/').next().unwrap_or_default();
    if !bare.contains('/') || !(first.contains('.') || first.contains(':') || first == "localhost")
    {
        return Err(invalid(
            "name the registry: registry://HOST[:PORT]/REPOSITORY:TAG".to_string(),
        ));
    }
    Ok(reference)
}

/// The policy `written` names, pulled with `resolver` (its credentials and plain-HTTP registries), verified, and kept
/// in `cache_dir` (`None`: in a temporary file, nothing kept).
pub fn pull(
    resolver: &RegistryResolver,
    written: &str,
    cache_dir: Option<&Path>,
) -> Result<PulledPolicy, PolicyRegistryError> {
    let reference = parse_policy_reference(written)?;
    let from_tag = reference.digest().is_none();
    let store = cache_dir.map(PolicyStore::new);

    let cached_manifest = reference
        .digest()
        .and_then(|digest| store.as_ref()?.read(&manifest_name(digest)));
    let (manifest_bytes, digest) = match cached_manifest {
        Some(bytes) => (bytes, reference.digest().unwrap_or_default().to_string()),
        None => {
            let (bytes, digest) = fetch_manifest(resolver, written, &reference)?;
            if let Some(store) = &store {
                store.write(&manifest_name(&digest), &bytes)?;
            }
            (bytes, digest)
        }
    };
    let layer = policy_layer(written, &manifest_bytes)?;

    let cached_module = store
        .as_ref()
        .and_then(|store| store.read(&blob_name(&layer.digest)));
    let module = match cached_module {
        Some(module) => module,
        None => fetch_layer(resolver, written, &reference, &layer)?,
    };

    let pinned = format!(
        "{SCHEME}{}/{}@{digest}",
        reference.registry(),
        reference.repository()
    );
    let (path, temporary) = match &store {
        Some(store) => (store.write(&blob_name(&layer.digest), &module)?, None),
        None => {
            let file = temporary_file(&module)?;
            (file.to_path_buf(), Some(file))
        }
    };
    Ok(PulledPolicy {
        path,
        reference: written.to_string(),
        digest,
        pinned,
        from_tag,
        _temporary: temporary,
    })
}

/// Pushes `module` to `destination` as Kubewarden's tools do; returns the manifest's digest. A module without the
/// metadata `kwctl annotate` embeds is refused unless `force`, as `kwctl push` refuses it.
pub fn push(
    resolver: &RegistryResolver,
    module: &[u8],
    module_name: &str,
    destination: &str,
    force: bool,
) -> Result<String, PolicyRegistryError> {
    let reference = parse_policy_reference(destination)?;
    if reference.digest().is_some() {
        return Err(PolicyRegistryError::InvalidReference {
            reference: destination.to_string(),
            reason: "push to a tag (registry://HOST/REPOSITORY:TAG), not a digest".to_string(),
        });
    }
    let metadata = Metadata::from_module(module).map_err(|error| PolicyRegistryError::Push {
        reference: destination.to_string(),
        detail: format!("reading {module_name}'s embedded metadata: {error:#}"),
    })?;
    if metadata.is_none() && !force {
        return Err(PolicyRegistryError::NotAnnotated {
            path: module_name.to_string(),
        });
    }
    let annotations = metadata
        .and_then(|metadata| metadata.annotations)
        .map(oci_annotations);

    let layers = vec![ImageLayer::new(
        module.to_vec(),
        WASM_LAYER_MEDIA_TYPE.to_string(),
        None,
    )];
    let config = Config {
        data: b"{}".to_vec().into(),
        media_type: WASM_CONFIG_MEDIA_TYPE.to_string(),
        annotations: None,
    };
    let manifest = OciImageManifest::build(&layers, &config, annotations);
    let target = reference.clone();
    let response = resolver.call(destination, &reference, |client, auth| async move {
        client
            .push(&target, &layers, config, &auth, Some(manifest))
            .await
    })?;
    // The registry names the manifest by its digest in the URL it answers with (policy-fetcher reads it there too).
    let digest = response
        .manifest_url
        .rsplit_once('/')
        .map(|(_, digest)| digest.to_string())
        .filter(|digest| super::reference::validate_digest(digest).is_ok())
        .ok_or_else(|| PolicyRegistryError::Push {
            reference: destination.to_string(),
            detail: format!(
                "the registry's answer names no manifest digest: {}",
                response.manifest_url
            ),
        })?;
    Ok(digest)
}

/// The annotations `kwctl push` puts on the manifest: the single-line ones (the OCI annotation rules allow no
/// others), trimmed, and the policy's source as `org.opencontainers.image.source` unless that is set.
pub fn oci_annotations(annotations: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut kept: BTreeMap<String, String> = annotations
        .into_iter()
        .filter(|(_, value)| value.lines().count() <= 1)
        .map(|(key, value)| (key, value.trim().to_string()))
        .collect();
    if let Some(source) = kept.get(KUBEWARDEN_SOURCE_ANNOTATION).cloned() {
        kept.entry(OCI_SOURCE_ANNOTATION.to_string())
            .or_insert(source);
    }
    kept
}

/// The manifest's bytes and digest, checked: a `@digest` reference must get exactly those bytes.
fn fetch_manifest(
    resolver: &RegistryResolver,
    written: &str,
    reference: &Reference,
) -> Result<(Vec<u8>, String), PolicyRegistryError> {
    let (bytes, _) = resolver.call(written, reference, |client, auth| async move {
        client
            .pull_manifest_raw(
                reference,
                &auth,
                &[
                    OCI_IMAGE_MEDIA_TYPE,
                    IMAGE_MANIFEST_MEDIA_TYPE,
                    OCI_IMAGE_INDEX_MEDIA_TYPE,
                    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
                ],
            )
            .await
    })?;
    let actual = sha256_digest(&bytes);
    if let Some(expected) = reference.digest()
        && expected != actual
    {
        return Err(PolicyRegistryError::TamperedManifest {
            reference: written.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok((bytes.to_vec(), actual))
}

/// The one wasm layer of a policy manifest; anything else is not a policy.
fn policy_layer(written: &str, manifest: &[u8]) -> Result<OciDescriptor, PolicyRegistryError> {
    let not_a_policy = |found: String| PolicyRegistryError::NotAPolicy {
        reference: written.to_string(),
        found,
    };
    let value: serde_json::Value = serde_json::from_slice(manifest)
        .map_err(|error| not_a_policy(format!("its manifest is not JSON ({error})")))?;
    if value.get("manifests").is_some() {
        return Err(not_a_policy(
            "it is an image index (a multi-platform container image)".to_string(),
        ));
    }
    let manifest: OciImageManifest = serde_json::from_value(value).map_err(|error| {
        not_a_policy(format!("its manifest is not an image manifest ({error})"))
    })?;
    let media_types: Vec<&str> = manifest
        .layers
        .iter()
        .map(|layer| layer.media_type.as_str())
        .collect();
    match manifest.layers.as_slice() {
        [layer] if layer.media_type == WASM_LAYER_MEDIA_TYPE => Ok(layer.clone()),
        _ => Err(not_a_policy(format!(
            "its layers have media types [{}]",
            media_types.join(", ")
        ))),
    }
}

/// The layer's bytes, which must have the digest the manifest names.
fn fetch_layer(
    resolver: &RegistryResolver,
    written: &str,
    reference: &Reference,
    layer: &OciDescriptor,
) -> Result<Vec<u8>, PolicyRegistryError> {
    let tampered = |actual: String| PolicyRegistryError::TamperedLayer {
        reference: written.to_string(),
        expected: layer.digest.clone(),
        actual,
    };
    // oci-client checks the digest as it reads, and says so with a DigestError: kept apart from the registry errors
    // here, to be named as what it is.
    let pulled = resolver.call(written, reference, |client, auth| async move {
        client
            .store_auth_if_needed(reference.resolve_registry(), &auth)
            .await;
        let mut module = Vec::new();
        match client.pull_blob(reference, layer, &mut module).await {
            Ok(()) => Ok(Ok(module)),
            Err(OciDistributionError::DigestError(DigestError::VerificationError {
                actual,
                ..
            })) => Ok(Err(actual)),
            Err(error) => Err(error),
        }
    })?;
    let module = pulled.map_err(tampered)?;
    // And again here, whatever the client version does.
    let actual = sha256_digest(&module);
    if actual != layer.digest {
        return Err(tampered(actual));
    }
    Ok(module)
}

fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

fn manifest_name(digest: &str) -> String {
    format!("manifests/{}.json", digest.replace(':', "-"))
}

fn blob_name(digest: &str) -> String {
    format!("blobs/{}.wasm", digest.replace(':', "-"))
}

/// The content-addressed files of pulled policies: every file is named by the digest of its contents.
struct PolicyStore<'a> {
    dir: &'a Path,
}

impl<'a> PolicyStore<'a> {
    fn new(dir: &'a Path) -> Self {
        Self { dir }
    }

    /// The file's contents when they still have the digest it is named by; anything else is fetched again.
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.dir.join(name)).ok()?;
        let digest = Path::new(name).file_stem()?.to_str()?.replacen('-', ":", 1);
        (sha256_digest(&bytes) == digest).then_some(bytes)
    }

    /// Writes the file (through a temporary file renamed into place, so a reader never sees half of it).
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, PolicyRegistryError> {
        let path = self.dir.join(name);
        let store_error = |detail: String| PolicyRegistryError::Store {
            path: path.clone(),
            detail,
        };
        let parent = path.parent().unwrap_or(self.dir);
        crate::host::cache::create_private_dir(parent)
            .map_err(|error| store_error(format!("{error:#}")))?;
        let mut file = tempfile::NamedTempFile::new_in(parent)
            .map_err(|error| store_error(error.to_string()))?;
        file.write_all(bytes)
            .map_err(|error| store_error(error.to_string()))?;
        file.persist(&path)
            .map_err(|error| store_error(error.to_string()))?;
        Ok(path)
    }
}

fn temporary_file(module: &[u8]) -> Result<tempfile::TempPath, PolicyRegistryError> {
    let store_error = |detail: String| PolicyRegistryError::Store {
        path: std::env::temp_dir(),
        detail,
    };
    let mut file = tempfile::Builder::new()
        .prefix("host-harness-policy-")
        .suffix(".wasm")
        .tempfile()
        .map_err(|error| store_error(error.to_string()))?;
    file.write_all(module)
        .map_err(|error| store_error(error.to_string()))?;
    Ok(file.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_references_name_their_registry() {
        for good in [
            "registry://127.0.0.1:5000/policies/require-digest:v0",
            "registry://ghcr.io/require-digest/policies/require-digest:v0.1.0",
            "localhost/policies/p@sha256:2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806",
        ] {
            assert!(parse_policy_reference(good).is_ok(), "{good}");
        }
        for bad in [
            "registry://require-digest:v0",
            "registry://policies/require-digest:v0",
            "registry://ghcr.io/Policies:v0",
        ] {
            let error = parse_policy_reference(bad).unwrap_err().to_string();
            assert!(error.starts_with(bad), "{error}");
        }
    }

    #[test]
    fn annotations_are_kwctls_single_line_ones_with_the_oci_source() {
        let annotations = BTreeMap::from([
            (
                "io.kubewarden.policy.source".to_string(),
                "https://example.test/src".to_string(),
            ),
            (
                "io.kubewarden.policy.usage".to_string(),
                "two\nlines".to_string(),
            ),
            (
                "io.kubewarden.policy.title".to_string(),
                " t \n".to_string(),
            ),
        ]);
        let oci = oci_annotations(annotations);
        assert_eq!(
            oci["org.opencontainers.image.source"],
            "https://example.test/src"
        );
        assert_eq!(oci["io.kubewarden.policy.title"], "t");
        assert!(!oci.contains_key("io.kubewarden.policy.usage"));
    }

    #[test]
    fn anything_but_one_wasm_layer_is_not_a_policy() {
        let manifest = |layers: &str| {
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"{WASM_CONFIG_MEDIA_TYPE}","digest":"sha256:{0}","size":2}},"layers":[{layers}]}}"#,
                "a".repeat(64)
            )
        };
        let layer = |media_type: &str| {
            format!(
                r#"{{"mediaType":"{media_type}","digest":"sha256:{}","size":1}}"#,
                "b".repeat(64)
            )
        };
        assert!(policy_layer("r", manifest(&layer(WASM_LAYER_MEDIA_TYPE)).as_bytes()).is_ok());
        for (layers, found) in [
            (
                layer("application/vnd.oci.image.layer.v1.tar+gzip"),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            (
                format!("{0},{0}", layer(WASM_LAYER_MEDIA_TYPE)),
                "[application/vnd.wasm.content.layer.v1+wasm, application/vnd.wasm.content.layer.v1+wasm]",
            ),
            (String::new(), "[]"),
        ] {
            let error = policy_layer("r", manifest(&layers).as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("r: not a Kubewarden wasm policy") && error.contains(found),
                "{error}"
            );
        }
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(
            policy_layer("r", index)
                .unwrap_err()
                .to_string()
                .contains("image index")
        );
    }
}

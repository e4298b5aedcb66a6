//! The OCI registry host capability: Kubewarden's `kubewarden` / `oci` / `v1/manifest_digest`, which answers the
//! digest of an image (`"nginx:1.27"` → `{"digest": "sha256:…"}`), as policy-server does for policies in a cluster.
//!
//! Two sources of digests stand behind it ([`DigestSource`]):
//! - [`RegistryResolver`]: asks the image's registry with oci-client, with Docker-config credentials, plain HTTP for
//!   `--insecure-registry` hosts, timeouts and a per-run cache;
//! - [`DigestMap`]: `--digests FILE`, an offline image → digest map; with it no registry is contacted;
//! - [`RunningPods`]: `pin --from-pods FILE`, the digests a cluster's Pods run at; no registry is contacted either.
//!
//! [`RegistrySpec`] chooses and configures the source: what the binary's registry flags say (every subcommand that
//! may resolve tags, `run`, `check`, `digest`, `pin`, flattens the same flags, so they mean the same everywhere).

mod capability;
pub mod digest_map;
pub mod docker_config;
mod error;
pub mod policy;
pub mod reference;
pub mod resolver;
pub mod running_pods;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::host::capabilities::Capabilities;

pub use capability::ManifestDigestCapability;
pub use digest_map::DigestMap;
pub use error::ResolveError;
pub use policy::{PolicyRegistryError, PulledPolicy};
pub use resolver::{RegistryOptions, RegistryResolver};
pub use running_pods::RunningPods;

/// The waPC binding, namespace and operation the capability is registered under.
pub const BINDING: &str = "kubewarden";
pub const NAMESPACE: &str = "oci";
pub const OPERATION: &str = "v1/manifest_digest";

/// Something that knows images' digests.
pub trait DigestSource: Send + Sync + fmt::Debug {
    /// The digest of `image` (as written in a manifest): `sha256:<64 hex>` or another OCI digest.
    fn digest(&self, image: &str) -> Result<String, ResolveError>;

    /// Whether the manifest a pinned image (`name[:tag]@digest`) names exists (`check --verify-registry`): `Ok(None)`
    /// when it does, `Ok(Some(why))` when the source knows it does not, an error when it cannot tell.
    fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError>;
}

impl DigestSource for RegistryResolver {
    fn digest(&self, image: &str) -> Result<String, ResolveError> {
        RegistryResolver::digest(self, image)
    }

    fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        RegistryResolver::missing_manifest(self, image)
    }
}

impl DigestSource for RunningPods {
    fn digest(&self, image: &str) -> Result<String, ResolveError> {
        RunningPods::digest(self, image)
    }

    fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        RunningPods::missing_manifest(self, image)
    }
}

impl DigestSource for DigestMap {
    fn digest(&self, image: &str) -> Result<String, ResolveError> {
        DigestMap::digest(self, image)
    }

    fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        DigestMap::missing_manifest(self, image)
    }
}

/// Where digests come from and how registries are reached: what the registry flags every tag-resolving subcommand
/// shares (the binary's `cli::RegistryArgs`) describe, as plain library data.
#[derive(Debug, Clone, Default)]
pub struct RegistrySpec {
    /// `--digests FILE`: resolve from this offline map and contact no registry (except to pull a `registry://`
    /// policy).
    pub digests: Option<PathBuf>,
    pub options: RegistryOptions,
}

impl RegistrySpec {
    /// The digest source this describes. Files it names are read and validated now, so a bad `--digests` or
    /// `--docker-config` fails the command before any work starts.
    pub fn digest_source(&self) -> anyhow::Result<Arc<dyn DigestSource>> {
        if let Some(path) = &self.digests {
            let map = DigestMap::load(path)
                .map_err(anyhow::Error::msg)
                .context("invalid --digests map")?;
            return Ok(Arc::new(map));
        }
        Ok(Arc::new(self.resolver()?))
    }

    /// A registry client as this describes it, whatever `--digests` says: a `registry://` policy is pulled from
    /// its registry even when tags resolve offline.
    pub fn resolver(&self) -> anyhow::Result<RegistryResolver> {
        RegistryResolver::new(self.options.clone())
            .map_err(anyhow::Error::msg)
            .context("invalid --docker-config")
    }

    /// Serves `kubewarden` / `oci` / `v1/manifest_digest` in `capabilities` as this says. Returns the digest
    /// source, for callers that also resolve images themselves (`pin`).
    pub fn register(
        &self,
        capabilities: &mut Capabilities,
    ) -> anyhow::Result<Arc<dyn DigestSource>> {
        let source = self.digest_source()?;
        register_source(capabilities, Arc::clone(&source));
        Ok(source)
    }
}

/// Serves `kubewarden` / `oci` / `v1/manifest_digest` in `capabilities` from `source`.
pub fn register_source(capabilities: &mut Capabilities, source: Arc<dyn DigestSource>) {
    let capability = ManifestDigestCapability::new(source);
    capabilities.register(BINDING, NAMESPACE, OPERATION, Arc::new(capability));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_digests_file_fails_up_front() {
        let args = RegistrySpec {
            digests: Some("/nonexistent/digests.yaml".into()),
            ..Default::default()
        };
        let error = format!("{:#}", args.digest_source().unwrap_err());
        assert!(error.contains("/nonexistent/digests.yaml"), "{error}");
    }
}

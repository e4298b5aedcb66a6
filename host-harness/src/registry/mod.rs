//! The OCI registry host capability: Kubewarden's `kubewarden` / `oci` / `v1/manifest_digest`, which answers the
//! digest of an image (`"nginx:1.27"` → `{"digest": "sha256:…"}`), as policy-server does for policies in a cluster.
//!
//! Two sources of digests stand behind it ([`DigestSource`]):
//! - [`RegistryResolver`]: asks the image's registry with oci-client, with Docker-config credentials, plain HTTP for
//!   `--insecure-registry` hosts, timeouts and a per-run cache;
//! - [`DigestMap`]: `--digests FILE`, an offline image → digest map; with it no registry is contacted;
//! - [`RunningPods`]: `pin --from-pods FILE`, the digests a cluster's Pods run at; no registry is contacted either.
//!
//! [`RegistryArgs`] are the command-line flags that choose and configure the source; every subcommand that may
//! resolve tags (`run`, `check`, `digest`, `pin`) flattens them, so they mean the same everywhere.

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
use std::time::Duration;

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

/// Where digests come from: the flags shared by every subcommand that resolves tags.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Registry (resolving tags to digests)")]
pub struct RegistryArgs {
    /// Resolve from this offline map (YAML or JSON: image -> digest) and contact no registry (except to pull a
    /// registry:// POLICY).
    #[arg(long, value_name = "FILE")]
    pub digests: Option<PathBuf>,

    /// Registry credentials from this Docker config [default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json].
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,

    /// Speak plain HTTP to this registry (as written in image references); repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT", value_parser = parse_registry_host)]
    pub insecure_registries: Vec<String>,

    /// Seconds to wait for a connection to a registry.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub registry_connect_timeout: Duration,

    /// Seconds one resolution may take in all (authentication, HEAD, GET).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub registry_timeout: Duration,
}

impl Default for RegistryArgs {
    fn default() -> Self {
        let options = RegistryOptions::default();
        Self {
            digests: None,
            docker_config: None,
            insecure_registries: Vec::new(),
            registry_connect_timeout: options.connect_timeout,
            registry_timeout: options.total_timeout,
        }
    }
}

impl RegistryArgs {
    /// The digest source these flags describe. Files named by flags are read and validated now, so a bad
    /// `--digests` or `--docker-config` fails the command before any work starts.
    pub fn digest_source(&self) -> anyhow::Result<Arc<dyn DigestSource>> {
        if let Some(path) = &self.digests {
            let map = DigestMap::load(path)
                .map_err(anyhow::Error::msg)
                .context("invalid --digests map")?;
            return Ok(Arc::new(map));
        }
        Ok(Arc::new(self.resolver()?))
    }

    /// How these flags reach registries (for tag resolution and for `registry://` policies alike).
    pub fn options(&self) -> RegistryOptions {
        RegistryOptions {
            docker_config: self.docker_config.clone(),
            insecure_registries: self.insecure_registries.clone(),
            connect_timeout: self.registry_connect_timeout,
            total_timeout: self.registry_timeout,
        }
    }

    /// A registry client as these flags describe it, whatever `--digests` says: a `registry://` policy is pulled
    /// from its registry even when tags resolve offline.
    pub fn resolver(&self) -> anyhow::Result<RegistryResolver> {
        RegistryResolver::new(self.options())
            .map_err(anyhow::Error::msg)
            .context("invalid --docker-config")
    }

    /// Serves `kubewarden` / `oci` / `v1/manifest_digest` in `capabilities` as these flags say. Returns the digest
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

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!(
            "{text} is out of range (more than 0, at most 3600 seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_registry_host(text: &str) -> Result<String, String> {
    if text.contains("://") || text.contains('/') || text.is_empty() {
        return Err(format!(
            "{text:?}: give the registry as written in image references, HOST or HOST:PORT"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        registry: RegistryArgs,
    }

    #[test]
    fn flags_parse_and_validate() {
        let parsed = Harness::try_parse_from([
            "t",
            "--insecure-registry",
            "127.0.0.1:5000",
            "--insecure-registry",
            "localhost:5001",
            "--registry-timeout",
            "2.5",
        ])
        .unwrap();
        assert_eq!(
            parsed.registry.insecure_registries,
            ["127.0.0.1:5000", "localhost:5001"]
        );
        assert_eq!(
            parsed.registry.registry_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(
            parsed.registry.registry_connect_timeout,
            Duration::from_secs(5)
        );

        for bad in [
            &["t", "--insecure-registry", "http://127.0.0.1:5000"][..],
            &["t", "--registry-timeout", "0"],
            &["t", "--registry-connect-timeout", "soon"],
        ] {
            assert!(Harness::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_digests_file_fails_up_front() {
        let args = RegistryArgs {
            digests: Some("/nonexistent/digests.yaml".into()),
            ..Default::default()
        };
        let error = format!("{:#}", args.digest_source().unwrap_err());
        assert!(error.contains("/nonexistent/digests.yaml"), "{error}");
    }
}

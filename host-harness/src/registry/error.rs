//! Why an image could not be resolved to a digest.
//!
//! Every message names the image, and the registry when one was asked, because the same text reaches three readers:
//! the policy (which quotes the host's error in its rejection), `host-harness digest` on stderr, and `pin`.
//! No message ever carries a credential: URLs built by oci-client hold none, and the Docker config's
//! values are never formatted (see `docker_config`).

use std::path::PathBuf;

/// A failed resolution. `Clone` because the per-run cache hands the same outcome to every caller of an image.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("{image}: not a valid image reference: {reason}")]
    InvalidReference { image: String, reason: String },

    #[error("{image}: not in the offline digest map {} (with --digests no registry is contacted)", path.display())]
    NotInDigestMap { image: String, path: PathBuf },

    #[error("{image}: cannot pin it to what is running: {reason}")]
    NotFromRunningPods { image: String, reason: String },

    #[error("{image}: connection refused by registry {registry} (is it running?)")]
    ConnectionRefused { image: String, registry: String },

    #[error("{image}: registry {registry} did not answer within {seconds}s ({what})")]
    Timeout {
        image: String,
        registry: String,
        seconds: f64,
        what: &'static str,
    },

    #[error("{image}: cannot reach registry {registry}: {detail}{hint}")]
    Unreachable {
        image: String,
        registry: String,
        detail: String,
        hint: String,
    },

    #[error(
        "{image}: registry {registry} requires authentication, and there are no credentials for it in {config}{hint}"
    )]
    AuthenticationRequired {
        image: String,
        registry: String,
        config: String,
        hint: String,
    },

    #[error("{image}: registry {registry} rejected the credentials for it from {config}")]
    CredentialsRejected {
        image: String,
        registry: String,
        config: String,
    },

    #[error("{image}: not found in registry {registry}: {detail}")]
    NotFound {
        image: String,
        registry: String,
        detail: String,
    },

    #[error("{image}: registry {registry} answered with an error: {detail}")]
    Registry {
        image: String,
        registry: String,
        detail: String,
    },

    #[error("{image}: cannot read the Docker config: {detail}")]
    DockerConfig { image: String, detail: String },

    #[error("{image}: cannot start the registry client: {detail}")]
    Client { image: String, detail: String },
}

impl ResolveError {
    /// The same error for `image` as written by another caller: the cache keys outcomes by normalized reference,
    /// so `nginx` and `docker.io/library/nginx:latest` share one, and each caller sees its own spelling.
    pub fn with_image(mut self, image: &str) -> Self {
        let (Self::InvalidReference { image: field, .. }
        | Self::NotInDigestMap { image: field, .. }
        | Self::NotFromRunningPods { image: field, .. }
        | Self::ConnectionRefused { image: field, .. }
        | Self::Timeout { image: field, .. }
        | Self::Unreachable { image: field, .. }
        | Self::AuthenticationRequired { image: field, .. }
        | Self::CredentialsRejected { image: field, .. }
        | Self::NotFound { image: field, .. }
        | Self::Registry { image: field, .. }
        | Self::DockerConfig { image: field, .. }
        | Self::Client { image: field, .. }) = &mut self;
        *field = image.to_string();
        self
    }
}

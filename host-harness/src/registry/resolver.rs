//! Resolving tags to digests by asking the registry, with oci-client (the client Kubewarden's policy-server uses).
//!
//! oci-client's `fetch_manifest_digest` does what `crane digest` does: a HEAD on the manifest with the OCI and
//! Docker manifest and index media types accepted, `Docker-Content-Digest` when the registry sends it, else a GET and
//! the sha256 of the manifest bytes. A multi-arch index therefore resolves to the index's own digest, which is what
//! a pinned reference must carry to stay multi-arch.
//!
//! Host calls are synchronous (a waPC `__host_call` blocks the guest), so the async client runs on a small tokio
//! runtime owned by the resolver. Many objects share images and `check` evaluates on several threads at once, so
//! every resolution is cached for the run, and concurrent callers of the same image wait for one request.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::ResolveError;
use super::docker_config::DockerConfig;
use super::reference::{parse_image, validate_digest};

/// How the resolver reaches registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `--docker-config FILE`; `None` means the Docker CLI's default lookup.
    pub docker_config: Option<PathBuf>,
    /// Registries (`HOST:PORT`, as written in image references) spoken to over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Longest wait for a TCP (and TLS) connection to a registry.
    pub connect_timeout: Duration,
    /// Longest wait for one whole resolution: authentication, HEAD and the GET fallback.
    pub total_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            docker_config: None,
            insecure_registries: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
        }
    }
}

/// One resolution outcome, shared by everyone who asks for the same image during the run.
type CachedOutcome = Arc<OnceLock<Result<String, ResolveError>>>;

/// Resolves images against their registries. Cheap to create: the runtime, the HTTP client and the default Docker
/// config are set up on the first resolution, so a run that never resolves a tag pays nothing.
pub struct RegistryResolver {
    options: RegistryOptions,
    credentials: OnceLock<Result<DockerConfig, String>>,
    session: OnceLock<Result<Session, String>>,
    /// Normalized reference (`docker.io/library/nginx:1.27`) to outcome.
    cache: Mutex<HashMap<String, CachedOutcome>>,
    registry_requests: AtomicUsize,
}

/// The async machinery, built once.
struct Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl fmt::Debug for RegistryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately not the credentials: only where they come from.
        f.debug_struct("RegistryResolver")
            .field("options", &self.options)
            .field("registry_requests", &self.registry_requests())
            .finish_non_exhaustive()
    }
}

impl RegistryResolver {
    /// A resolver with `options`. An explicit `--docker-config` is read now, so a wrong path or a broken file is
    /// reported before any work starts; the default config is read on first use.
    pub fn new(options: RegistryOptions) -> Result<Self, String> {
        let credentials = OnceLock::new();
        if let Some(path) = &options.docker_config {
            let _ = credentials.set(Ok(DockerConfig::load_explicit(path)?));
        }
        Ok(Self {
            options,
            credentials,
            session: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            registry_requests: AtomicUsize::new(0),
        })
    }

    /// The digest of `image`: its own when already pinned (no network), else the registry's, cached for the run.
    pub fn digest(&self, image: &str) -> Result<String, ResolveError> {
        let reference = parse_image(image)?;
        if let Some(digest) = reference.digest() {
            return Ok(digest.to_string());
        }
        let outcome = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cache.entry(reference.whole()).or_default())
        };
        // Outside the lock: other images resolve in parallel, callers of this one wait for the first.
        outcome
            .get_or_init(|| self.fetch(image, &reference))
            .clone()
            .map_err(|error| error.with_image(image))
    }

    /// Whether the registry serves the manifest a pinned image (`name[:tag]@digest`) names: a HEAD by digest (the
    /// tag plays no part), cached for the run. `Ok(None)` when it is served, `Ok(Some(why))` when the registry says
    /// it does not know it (the manifest or the repository); an image without a digest has nothing to check.
    pub fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        let reference = parse_image(image)?;
        let Some(digest) = reference.digest() else {
            return Ok(None);
        };
        let by_digest = Reference::with_digest(
            reference.registry().to_string(),
            reference.repository().to_string(),
            digest.to_string(),
        );
        let outcome = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cache.entry(by_digest.whole()).or_default())
        };
        match outcome.get_or_init(|| self.fetch(image, &by_digest)) {
            Ok(_) => Ok(None),
            Err(ResolveError::NotFound {
                registry, detail, ..
            }) => Ok(Some(format!("registry {registry} has {detail}"))),
            Err(error) => Err(error.clone().with_image(image)),
        }
    }

    /// How many resolutions went to a registry (cache misses), for tests and measurements.
    pub fn registry_requests(&self) -> usize {
        self.registry_requests.load(Ordering::Relaxed)
    }

    fn fetch(&self, image: &str, reference: &Reference) -> Result<String, ResolveError> {
        let digest = self.call(image, reference, |client, auth| async move {
            client.fetch_manifest_digest(reference, &auth).await
        })?;
        validate_digest(&digest).map_err(|why| ResolveError::Registry {
            image: image.to_string(),
            registry: reference.registry().to_string(),
            detail: format!("its Docker-Content-Digest is unusable: {why}"),
        })?;
        Ok(digest)
    }

    /// Runs one request to `reference`'s registry (`operation`, given the client and the credentials for that
    /// registry) under the total timeout, and explains its failure naming `image`, as every other resolution. Not
    /// cached: the caller decides what to keep.
    pub(crate) fn call<T, F, Fut>(
        &self,
        image: &str,
        reference: &Reference,
        operation: F,
    ) -> Result<T, ResolveError>
    where
        F: FnOnce(Client, RegistryAuth) -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>> + Send,
        T: Send,
    {
        let credentials = self
            .credentials
            .get_or_init(DockerConfig::load_default)
            .as_ref()
            .map_err(|detail| ResolveError::DockerConfig {
                image: image.to_string(),
                detail: detail.clone(),
            })?;
        let session = self
            .session
            .get_or_init(|| Session::start(&self.options))
            .as_ref()
            .map_err(|detail| ResolveError::Client {
                image: image.to_string(),
                detail: detail.clone(),
            })?;

        self.registry_requests.fetch_add(1, Ordering::Relaxed);
        let auth = credentials.auth_for(reference.registry());
        let total_timeout = self.options.total_timeout;
        let request = operation(session.client.clone(), auth);
        let outcome =
            session.block_on(async { tokio::time::timeout(total_timeout, request).await });

        match outcome {
            Err(_elapsed) => Err(ResolveError::Timeout {
                image: image.to_string(),
                registry: reference.registry().to_string(),
                seconds: total_timeout.as_secs_f64(),
                what: "the whole request; see --registry-timeout",
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.explain(image, reference, credentials, error)),
        }
    }

    /// Turns oci-client's error into one that says what happened and what to do about it.
    fn explain(
        &self,
        image: &str,
        reference: &Reference,
        credentials: &DockerConfig,
        error: OciDistributionError,
    ) -> ResolveError {
        let image = image.to_string();
        let registry = reference.registry().to_string();
        let not_authorized = || {
            if credentials.has_credentials_for(&registry) {
                ResolveError::CredentialsRejected {
                    image: image.clone(),
                    registry: registry.clone(),
                    config: credentials.description().to_string(),
                }
            } else {
                ResolveError::AuthenticationRequired {
                    image: image.clone(),
                    registry: registry.clone(),
                    config: credentials.description().to_string(),
                    hint: credentials.helper_hint(&registry).unwrap_or_default(),
                }
            }
        };
        match error {
            OciDistributionError::RequestError(error)
                if error.is_timeout() && error.is_connect() =>
            {
                ResolveError::Timeout {
                    image,
                    registry,
                    seconds: self.options.connect_timeout.as_secs_f64(),
                    what: "connecting; see --registry-connect-timeout",
                }
            }
            OciDistributionError::RequestError(error) if error.is_timeout() => {
                ResolveError::Timeout {
                    image,
                    registry,
                    seconds: self.options.total_timeout.as_secs_f64(),
                    what: "reading its answer; see --registry-timeout",
                }
            }
            OciDistributionError::RequestError(error) if error.is_connect() => {
                if caused_by_refused_connection(&error) {
                    return ResolveError::ConnectionRefused { image, registry };
                }
                let hint = if self.options.insecure_registries.contains(&registry) {
                    String::new()
                } else {
                    format!(
                        " (if {registry} serves plain HTTP, pass --insecure-registry {registry})"
                    )
                };
                ResolveError::Unreachable {
                    image,
                    registry,
                    detail: innermost_cause(&error),
                    hint,
                }
            }
            OciDistributionError::RequestError(error) => ResolveError::Registry {
                image,
                registry,
                detail: innermost_cause(&error),
            },
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => not_authorized(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let messages = envelope
                    .errors
                    .iter()
                    .map(|error| {
                        if error.message.is_empty() {
                            format!("{:?}", error.code)
                        } else {
                            error.message.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let repository = reference.repository();
                match envelope.errors.first().map(|error| &error.code) {
                    Some(OciErrorCode::ManifestUnknown | OciErrorCode::NotFound) => {
                        ResolveError::NotFound {
                            image,
                            registry,
                            detail: format!(
                                "no {} in repository {repository} ({messages})",
                                manifest_asked(reference)
                            ),
                        }
                    }
                    Some(OciErrorCode::NameUnknown) => ResolveError::NotFound {
                        image,
                        registry,
                        detail: format!("no repository {repository} ({messages})"),
                    },
                    Some(OciErrorCode::Unauthorized) => not_authorized(),
                    _ => ResolveError::Registry {
                        image,
                        registry,
                        detail: messages,
                    },
                }
            }
            // What a push (an upload) gets without credentials: the registry's error envelope as a plain 401.
            OciDistributionError::ServerError { code: 401, .. } => not_authorized(),
            OciDistributionError::ServerError { code: 404, .. } => ResolveError::NotFound {
                image,
                registry,
                detail: format!(
                    "no {} in repository {} (HTTP 404)",
                    manifest_asked(reference),
                    reference.repository()
                ),
            },
            OciDistributionError::ServerError { code, message, .. } => ResolveError::Registry {
                image,
                registry,
                detail: format!("HTTP {code}: {}", first_chars(message.trim(), 200)),
            },
            other => ResolveError::Registry {
                image,
                registry,
                detail: other.to_string(),
            },
        }
    }
}

impl Session {
    fn start(options: &RegistryOptions) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("registry-client")
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        let config = oci_client::client::ClientConfig {
            protocol: oci_client::client::ClientProtocol::HttpsExcept(
                options.insecure_registries.clone(),
            ),
            connect_timeout: Some(options.connect_timeout),
            read_timeout: Some(options.total_timeout),
            ..Default::default()
        };
        // `Client::new` would fall back to a default client on a bad config; try_from reports it instead.
        let client = Client::try_from(config).map_err(|error| error.to_string())?;
        Ok(Self { runtime, client })
    }

    /// Runs `future` to completion. A host call can in principle come from a thread already inside a tokio runtime,
    /// where `block_on` would panic; such a call runs on a thread of its own instead.
    fn block_on<F: Future + Send>(&self, future: F) -> F::Output
    where
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| self.runtime.block_on(future))
                    .join()
                    .expect("registry request thread panicked")
            })
        } else {
            self.runtime.block_on(future)
        }
    }
}

/// What a manifest request asked for: `manifest sha256:…` when the reference has a digest (the registry is asked by
/// digest then), else `tag 1.27`.
fn manifest_asked(reference: &Reference) -> String {
    match reference.digest() {
        Some(digest) => format!("manifest {digest}"),
        None => format!("tag {}", reference.tag().unwrap_or("latest")),
    }
}

/// Whether the OS refused the TCP connection (nothing listens there): the common "registry is down" case.
fn caused_by_refused_connection(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The most specific message in an error's chain ("Connection refused (os error 111)", "invalid peer certificate").
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    message
}

fn first_chars(text: &str, count: usize) -> String {
    match text.char_indices().nth(count) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

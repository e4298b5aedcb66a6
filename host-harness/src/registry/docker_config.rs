//! Registry credentials from a Docker config file, as `docker login` writes them: `{"auths": {"HOST": {"auth":
//! base64("user:password")}}}` (or `username` and `password` fields).
//!
//! Secrets must never reach a terminal or a log: [`Credential`]'s `Debug` redacts the password, and every error
//! here names the file, the registry key and what is wrong, but never quotes a value from the file (serde's own
//! messages can quote input, so they are reduced to a position).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    password: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The credentials of one Docker config, by registry host (`127.0.0.1:5000`, `ghcr.io`, Docker Hub as `docker.io`).
#[derive(Debug, Default)]
pub struct DockerConfig {
    /// What was read, for messages: "the Docker config /root/.docker/config.json", or why nothing was.
    /// It completes "no credentials in …".
    description: String,
    credentials: HashMap<String, Credential>,
    /// Registries the config hands to credential helpers (`credsStore`, `credHelpers`), which this host does not run.
    helper_registries: Option<HelperScope>,
}

#[derive(Debug)]
enum HelperScope {
    /// `credsStore`: every registry without an `auths` entry.
    All(String),
    /// `credHelpers`: these registries only.
    Some(HashMap<String, String>),
}

/// Where the config comes from: `--docker-config FILE`, else `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json` (the lookup order of the Docker CLI).
pub fn default_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
        _ => dirs::home_dir().map(|home| home.join(".docker").join("config.json")),
    }
}

impl DockerConfig {
    /// Reads a config the user named: it must exist.
    pub fn load_explicit(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::parse(path, &bytes)
    }

    /// Reads the config at the default location; none there means no credentials, as for the Docker CLI.
    pub fn load_default() -> Result<Self, String> {
        let Some(path) = default_path() else {
            return Ok(Self::empty(
                "any Docker config (no home directory to look in)".to_string(),
            ));
        };
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&path, &bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::empty(format!(
                "the Docker config {}, which does not exist",
                path.display()
            ))),
            Err(error) => Err(format!("cannot read {}: {error}", path.display())),
        }
    }

    fn empty(description: String) -> Self {
        Self {
            description,
            ..Self::default()
        }
    }

    /// Parses the JSON of a config file; `path` is for messages only.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct ConfigFile {
            #[serde(default)]
            auths: HashMap<String, AuthEntry>,
            #[serde(rename = "credsStore")]
            creds_store: Option<String>,
            #[serde(rename = "credHelpers", default)]
            cred_helpers: HashMap<String, String>,
        }
        #[derive(Deserialize)]
        struct AuthEntry {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
        }

        let file: ConfigFile = serde_json::from_slice(bytes).map_err(|error| {
            // Position and category only: serde's message may quote a value, and values here are secrets.
            let what = match error.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not valid JSON",
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Data => {
                    "not a Docker config (expected {\"auths\": {\"HOST\": {\"auth\": \"<base64 of user:password>\"}}})"
                }
            };
            format!("{} is {what} (line {}, column {})", path.display(), error.line(), error.column())
        })?;

        let mut credentials = HashMap::new();
        for (key, entry) in file.auths {
            let at = || format!("{}: auths[\"{key}\"]", path.display());
            let credential = match (
                entry.auth.as_deref().map(str::trim),
                entry.username,
                entry.password,
            ) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    decode_auth(auth).map_err(|why| format!("{}.auth {why}", at()))?
                }
                (_, Some(username), Some(password)) => Credential { username, password },
                // An entry with only an identity token (or nothing) gives no basic credentials; such a registry is
                // tried anonymously and, if it refuses, the error says the config has nothing usable for it.
                _ => continue,
            };
            credentials.insert(registry_key(&key), credential);
        }

        let helper_registries = match (file.creds_store, file.cred_helpers) {
            (Some(store), _) if !store.is_empty() => Some(HelperScope::All(store)),
            (_, helpers) if !helpers.is_empty() => Some(HelperScope::Some(
                helpers
                    .into_iter()
                    .map(|(key, helper)| (registry_key(&key), helper))
                    .collect(),
            )),
            _ => None,
        };

        Ok(Self {
            description: format!("the Docker config {}", path.display()),
            credentials,
            helper_registries,
        })
    }

    /// The credentials for `registry` (a reference's registry: `host[:port]`, Docker Hub as `docker.io`);
    /// anonymous when the config has none.
    pub fn auth_for(&self, registry: &str) -> RegistryAuth {
        match self.credentials.get(&registry_key(registry)) {
            Some(credential) => {
                RegistryAuth::Basic(credential.username.clone(), credential.password.clone())
            }
            None => RegistryAuth::Anonymous,
        }
    }

    /// Whether the config holds credentials for `registry`.
    pub fn has_credentials_for(&self, registry: &str) -> bool {
        self.credentials.contains_key(&registry_key(registry))
    }

    /// "the Docker config PATH" (", which does not exist" when it does not): for messages.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// When `registry`'s credentials would come from a credential helper this host cannot run: a hint saying so.
    pub fn helper_hint(&self, registry: &str) -> Option<String> {
        let helper = match &self.helper_registries {
            Some(HelperScope::All(store)) => store.clone(),
            Some(HelperScope::Some(helpers)) => helpers.get(&registry_key(registry))?.clone(),
            None => return None,
        };
        Some(format!(
            "; it delegates credentials to the helper docker-credential-{helper}, which host-harness does not run: \
             add an \"auths\" entry for {registry} (e.g. with `docker login` and no credsStore)"
        ))
    }
}

/// Decodes an `auth` value: base64 of `user:password`. The error never includes the value.
fn decode_auth(auth: &str) -> Result<Credential, &'static str> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .map_err(|_| "is not valid base64 (expected base64 of user:password)")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "does not decode to UTF-8 text (expected base64 of user:password)")?;
    let (username, password) = text
        .split_once(':')
        .ok_or("does not decode to user:password (no ':')")?;
    if username.is_empty() {
        return Err("decodes to an empty user name");
    }
    Ok(Credential {
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// The host a config key or a reference's registry names, the way the Docker CLI matches them: scheme and path
/// dropped (`https://index.docker.io/v1/` is Docker Hub), case folded, and Docker Hub's aliases made one.
pub fn registry_key(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn parse(json: &str) -> Result<DockerConfig, String> {
        DockerConfig::parse(Path::new("/cfg/config.json"), json.as_bytes())
    }

    #[test]
    fn auth_entries_are_found_by_host_whatever_the_key_spelling() {
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{}"}},
                "http://127.0.0.1:5000/v2/": {{"auth": "{}"}},
                "GHCR.io": {{"username": "u3", "password": "p3"}}
            }}}}"#,
            b64("hubuser:hub:pass"),
            b64("localuser:localpass")
        );
        let config = parse(&json).unwrap();
        assert_eq!(
            config.auth_for("docker.io"),
            RegistryAuth::Basic("hubuser".into(), "hub:pass".into())
        );
        assert_eq!(
            config.auth_for("127.0.0.1:5000"),
            RegistryAuth::Basic("localuser".into(), "localpass".into())
        );
        assert_eq!(
            config.auth_for("ghcr.io"),
            RegistryAuth::Basic("u3".into(), "p3".into())
        );
        assert_eq!(config.auth_for("quay.io"), RegistryAuth::Anonymous);
        assert_eq!(config.description(), "the Docker config /cfg/config.json");
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = parse(&format!(
            r#"{{"auths": {{"r.io": {{"auth": "{}"}}}}}}"#,
            b64("me:s3cr3t-pw")
        ))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(debug.contains("me"), "{debug}");
        assert!(!debug.contains("s3cr3t-pw"), "{debug}");
    }

    #[test]
    fn broken_entries_are_errors_that_quote_no_value() {
        for (json, expected) in [
            (
                r#"{"auths": {"r.io": {"auth": "!!not-base64-s3cr3t"}}}"#.to_string(),
                "is not valid base64",
            ),
            (
                format!(
                    r#"{{"auths": {{"r.io": {{"auth": "{}"}}}}}}"#,
                    b64("nocolons3cr3t")
                ),
                "no ':'",
            ),
            (
                r#"{"auths": {"r.io": {"auth": "s3cr3t"#.to_string(),
                "is not valid JSON",
            ),
            (
                r#"{"auths": "s3cr3t"}"#.to_string(),
                "is not a Docker config",
            ),
        ] {
            let error = parse(&json).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains("/cfg/config.json"), "{error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }

    #[test]
    fn credential_helpers_are_named_in_a_hint() {
        let config = parse(r#"{"credsStore": "desktop"}"#).unwrap();
        assert!(
            config
                .helper_hint("ghcr.io")
                .unwrap()
                .contains("docker-credential-desktop")
        );
        let config = parse(r#"{"credHelpers": {"gcr.io": "gcloud"}}"#).unwrap();
        assert!(
            config
                .helper_hint("gcr.io")
                .unwrap()
                .contains("docker-credential-gcloud")
        );
        assert_eq!(config.helper_hint("ghcr.io"), None);
    }

    #[test]
    fn a_missing_explicit_config_is_an_error_naming_it() {
        let error = DockerConfig::load_explicit(Path::new("/nonexistent/config.json")).unwrap_err();
        assert!(error.contains("/nonexistent/config.json"), "{error}");
    }
}

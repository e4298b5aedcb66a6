//! Real registries for the registry tests: `e2e/registry.sh` starts two CNCF distribution registries on loopback
//! (one open, one behind htpasswd basic auth) in a state directory of this test process, seeded with small images,
//! and stops them by PID when this process exits (the script's watchdog: a test binary has no teardown hook).
//!
//! Also a plain-HTTP `HEAD` on a manifest, independent of oci-client, to ask a registry for the
//! `Docker-Content-Digest` it serves: the value every digest the harness reports must equal.
//!
//! A registry that cannot be installed here fails every test that needs one, with what to install: Rust's test
//! harness has no skip, so a test that returned early would count as passed, and a green run would hide that the
//! registry work was never checked. `make deps` (scripts/install-deps.sh) installs the registry, and e2e/registry.sh
//! installs it itself when it runs as root. On a machine that can have neither, `REQUIRE_DIGEST_SKIP_REGISTRY=1`
//! skips these tests on purpose: each then prints a `SKIPPED:` line past the harness's output capture. Under `CI`,
//! and in `make test`, the skip is refused.
//!
//! Shared by host-harness's registry tests and tests/tests/integration (which includes this very file, at its crate
//! root: `registries_or_skip!` names it as `$crate::registry_support`).

#![allow(dead_code)] // each test crate uses a different part of this module

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;

/// Every manifest media type, as the harness asks for them.
pub const MANIFEST_MEDIA_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The images `registry.sh start` seeds into the open registry: (repository:tag, manifest media type).
pub const OPEN_IMAGES: &[(&str, &str)] = &[
    ("demo/app:1.0", "application/vnd.oci.image.manifest.v1+json"),
    ("demo/app:1.1", "application/vnd.oci.image.manifest.v1+json"),
    ("demo/multi:1.0", "application/vnd.oci.image.index.v1+json"),
    (
        "demo/docker:1.0",
        "application/vnd.docker.distribution.manifest.v2+json",
    ),
    (
        "demo/dockerlist:1.0",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ),
];

/// The image seeded into the registry with basic auth.
pub const AUTH_IMAGE: &str = "private/app:1.0";

/// A running pair of registries.
#[derive(Debug)]
pub struct Registries {
    pub state_dir: PathBuf,
    /// `127.0.0.1:PORT` of the open registry.
    pub open: String,
    /// `127.0.0.1:PORT` of the registry with basic auth.
    pub auth: String,
    pub user: String,
    pub password: String,
    /// A Docker config holding the credentials for `auth`.
    pub docker_config: PathBuf,
}

/// The script, from this crate's directory.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/registry.sh")
}

/// Starts registries in `state_dir`, stopped when this process exits. `Err` (saying why) only when the registry
/// cannot be installed on this machine (e2e/registry.sh's exit status 3); any other failure panics.
pub fn start(state_dir: &Path) -> Result<Registries, String> {
    let output = Command::new("bash")
        .arg(script())
        .arg("start")
        .env("RD_REGISTRY_STATE_DIR", state_dir)
        .env("RD_REGISTRY_WATCH_PID", std::process::id().to_string())
        .output()
        .expect("run e2e/registry.sh start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        return Err(stderr.trim_end().to_string());
    }
    assert!(
        output.status.success(),
        "e2e/registry.sh start failed ({}):\n{stderr}",
        output.status
    );
    Ok(read_env(state_dir))
}

/// Registries of the calling test's own (for a test that stops them), in `state_dir`; `None` only when this test is
/// skipped (see [`skip_or_fail`]).
pub fn start_own(state_dir: &Path) -> Option<Registries> {
    match start(state_dir) {
        Ok(registries) => Some(registries),
        Err(why) => skip_or_fail(&why),
    }
}

/// What a test does when the registry cannot be installed: fail, saying what to install, unless the person running
/// the tests asked to skip them (`REQUIRE_DIGEST_SKIP_REGISTRY=1`) outside CI; then `None`, after a `SKIPPED:` line.
fn skip_or_fail<T>(why: &str) -> Option<T> {
    let test = std::thread::current()
        .name()
        .unwrap_or("a registry test")
        .to_string();
    let skip_asked =
        std::env::var_os("REQUIRE_DIGEST_SKIP_REGISTRY").is_some_and(|value| value == "1");
    // CI's own convention (GitHub Actions, GitLab, and most others set CI=true): a skip there would ship a green run
    // in which the registry work was never checked.
    let in_ci =
        std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"));
    let what_to_do = "install the Debian packages docker-registry, skopeo, apache2-utils and curl (`make deps` \
                      does, as root)";
    if !skip_asked {
        panic!(
            "{test} needs a real registry on 127.0.0.1, and none can be started here:\n{why}\n\
             {what_to_do}; or, on a machine that cannot have them, skip the registry tests on purpose with \
             REQUIRE_DIGEST_SKIP_REGISTRY=1 (refused under CI)"
        );
    }
    if in_ci {
        panic!(
            "{test}: REQUIRE_DIGEST_SKIP_REGISTRY=1 is refused under CI (CI is set): CI must run the registry \
             tests. No registry can be started here:\n{why}\n{what_to_do}"
        );
    }
    // Straight to standard error, not through eprintln!: the test harness captures eprintln! and shows it only for
    // failed tests, and this test is about to count as passed.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: no registry can be started here (REQUIRE_DIGEST_SKIP_REGISTRY=1): {}",
        why.replace('\n', " ")
    );
    None
}

/// Stops the registries of `state_dir` now.
pub fn stop(state_dir: &Path) {
    let status = Command::new("bash")
        .arg(script())
        .arg("stop")
        .env("RD_REGISTRY_STATE_DIR", state_dir)
        .status()
        .expect("run e2e/registry.sh stop");
    assert!(status.success(), "e2e/registry.sh stop failed");
}

fn read_env(state_dir: &Path) -> Registries {
    let output = Command::new("bash")
        .arg(script())
        .arg("env")
        .env("RD_REGISTRY_STATE_DIR", state_dir)
        .output()
        .expect("run e2e/registry.sh env");
    assert!(
        output.status.success(),
        "registry.sh env: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let values: HashMap<String, String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    let get = |key: &str| {
        values
            .get(key)
            .unwrap_or_else(|| panic!("registry.sh env printed no {key}"))
            .clone()
    };
    Registries {
        state_dir: state_dir.to_path_buf(),
        open: get("RD_REGISTRY_OPEN"),
        auth: get("RD_REGISTRY_AUTH"),
        user: get("RD_REGISTRY_AUTH_USER"),
        password: get("RD_REGISTRY_AUTH_PASSWORD"),
        docker_config: PathBuf::from(get("RD_REGISTRY_DOCKER_CONFIG")),
    }
}

/// The registries shared by every test of this process, started on first use; `None` only when this test is
/// skipped (see [`skip_or_fail`]).
pub fn shared() -> Option<&'static Registries> {
    static SHARED: OnceLock<Result<Registries, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        let state_dir = std::env::temp_dir().join(format!(
            "require-digest-registry-test-{}",
            std::process::id()
        ));
        start(&state_dir)
    });
    match started {
        Ok(registries) => Some(registries),
        Err(why) => skip_or_fail(why),
    }
}

/// The shared registries, or, when this test is skipped on purpose, an early return from it (`#[macro_use] mod
/// registry_support;` brings it into a test crate).
macro_rules! registries_or_skip {
    () => {
        match $crate::registry_support::shared() {
            Some(registries) => registries,
            None => return,
        }
    };
}

/// What a registry answers to `HEAD /v2/REPOSITORY/manifests/TAG`.
#[derive(Debug)]
pub struct ManifestHead {
    pub status: u16,
    pub content_type: Option<String>,
    pub digest: Option<String>,
}

/// A plain HTTP/1.1 request on a std `TcpStream`: nothing shared with the code under test.
pub fn head_manifest(
    registry: &str,
    repository_and_tag: &str,
    basic_auth: Option<(&str, &str)>,
) -> ManifestHead {
    let response = request(
        registry,
        "HEAD",
        &manifest_path(repository_and_tag),
        basic_auth,
    );
    let (head, _) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    parse_head(head)
}

/// The manifest bytes a registry serves for `REPOSITORY:TAG` (a GET), for checking what a digest covers.
pub fn get_manifest(registry: &str, repository_and_tag: &str) -> Vec<u8> {
    let response = request(registry, "GET", &manifest_path(repository_and_tag), None);
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert_eq!(
        parse_head(head).status,
        200,
        "GET {repository_and_tag}: {head}"
    );
    body.as_bytes().to_vec()
}

fn manifest_path(repository_and_tag: &str) -> String {
    let (repository, tag) = repository_and_tag.rsplit_once(':').expect("REPOSITORY:TAG");
    format!("/v2/{repository}/manifests/{tag}")
}

fn request(registry: &str, method: &str, path: &str, basic_auth: Option<(&str, &str)>) -> String {
    let mut stream = TcpStream::connect(registry)
        .unwrap_or_else(|error| panic!("connect to {registry}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let authorization = match basic_auth {
        Some((user, password)) => format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ),
        None => String::new(),
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {registry}\r\nAccept: {MANIFEST_MEDIA_TYPES}\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8(response).expect("a UTF-8 response (manifests are JSON)")
}

fn parse_head(head: &str) -> ManifestHead {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok());
    let mut content_type = None;
    let mut digest = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => content_type = Some(value.trim().to_string()),
                "docker-content-digest" => digest = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    ManifestHead {
        status: status.expect("an HTTP status line"),
        content_type,
        digest,
    }
}

/// The registry's digest for an image it serves (asserting it serves it).
pub fn served_digest(
    registry: &str,
    repository_and_tag: &str,
    basic_auth: Option<(&str, &str)>,
) -> String {
    let head = head_manifest(registry, repository_and_tag, basic_auth);
    assert_eq!(
        head.status, 200,
        "HEAD {registry}/{repository_and_tag}: {head:?}"
    );
    head.digest
        .unwrap_or_else(|| panic!("{registry}/{repository_and_tag}: no Docker-Content-Digest"))
}

/// Builds one more single-platform image from `seed` and pushes it to the open registry as `repository_and_tag`
/// (`registry.sh push`, with skopeo): the digest the registry now serves for the tag. Pushing another seed under the
/// same tag moves the tag.
pub fn push(registries: &Registries, repository_and_tag: &str, seed: &str) -> String {
    let output = Command::new("bash")
        .arg(script())
        .args(["push", "open", repository_and_tag, "single", seed])
        .env("RD_REGISTRY_STATE_DIR", &registries.state_dir)
        .output()
        .expect("run e2e/registry.sh push");
    assert!(
        output.status.success(),
        "registry.sh push {repository_and_tag}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let digest = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(
        digest.starts_with("sha256:"),
        "registry.sh push printed {digest:?}"
    );
    digest
}

/// Deletes a manifest by digest with the registry's delete API (registry.sh enables deletion): the HTTP status,
/// 202 when it was deleted.
pub fn delete_manifest(registry: &str, repository: &str, digest: &str) -> u16 {
    let response = request(
        registry,
        "DELETE",
        &format!("/v2/{repository}/manifests/{digest}"),
        None,
    );
    let (head, _) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    parse_head(head).status
}

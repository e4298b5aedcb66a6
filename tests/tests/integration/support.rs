//! Locating the artifacts under test and the fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use host_harness::host::{Capabilities, HostOptions, PolicyHost};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// `policy.wasm` at the workspace root (or `$REQUIRE_DIGEST_POLICY`), built with scripts/build-policy.sh
/// when it is missing, so `cargo test` alone works from a fresh clone.
pub fn policy_wasm() -> &'static Path {
    static POLICY: OnceLock<PathBuf> = OnceLock::new();
    POLICY.get_or_init(|| {
        if let Some(path) = std::env::var_os("REQUIRE_DIGEST_POLICY") {
            return PathBuf::from(path);
        }
        let path = repo_root().join("policy.wasm");
        if !path.exists() {
            let status = Command::new(repo_root().join("scripts/build-policy.sh"))
                .status()
                .expect("running scripts/build-policy.sh");
            assert!(
                status.success(),
                "scripts/build-policy.sh failed; see its output above"
            );
        }
        path
    })
}

/// The `host-harness` binary of the same build profile as this test (target/<profile>/host-harness),
/// built with cargo when it is missing.
pub fn harness_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("HOST_HARNESS_BIN") {
            return PathBuf::from(path);
        }
        // The test executable is target/<profile>/deps/<name>-<hash>.
        let exe = std::env::current_exe().expect("the test binary knows its path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps layout");
        let binary = profile_dir.join("host-harness");
        if !binary.exists() {
            let release = profile_dir
                .file_name()
                .is_some_and(|name| name == "release");
            let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cargo
                .args(["build", "-p", "host-harness"])
                .current_dir(repo_root());
            if release {
                cargo.arg("--release");
            }
            assert!(
                cargo.status().expect("running cargo build").success(),
                "building host-harness failed"
            );
        }
        binary
    })
}

/// One host for the whole test binary: the module is compiled once and every test evaluates through it,
/// exactly as `check` does across its threads.
pub fn policy_host() -> &'static PolicyHost {
    static HOST: OnceLock<PolicyHost> = OnceLock::new();
    HOST.get_or_init(|| {
        PolicyHost::load(policy_wasm(), HostOptions::default()).expect("policy.wasm loads")
    })
}

/// A host of its own for tests that give the policy host capabilities (a registry).
pub fn policy_host_with(capabilities: Capabilities) -> PolicyHost {
    PolicyHost::load(
        policy_wasm(),
        HostOptions {
            capabilities,
            ..HostOptions::default()
        },
    )
    .expect("policy.wasm loads")
}

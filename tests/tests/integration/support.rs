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

/// `policy.wasm` at the workspace root (or `$REQUIRE_DIGEST_POLICY`), built with scripts/build-policy.sh when it is
/// missing or older than its sources, so plain `cargo test` tests the policy as it is now: the one place that finds
/// the module for every test that runs it.
mod policy_wasm_locator;
pub use policy_wasm_locator::policy_wasm;

/// The `host-harness` binary of the same build profile as this test (target/<profile>/host-harness), or
/// `$HOST_HARNESS_BIN`. Cargo builds a binary only for its own crate's tests (`CARGO_BIN_EXE_…`), so here it is built
/// with cargo when it is missing or older than anything it is built from: the CLI under test is the code as it is now,
/// never an older build left in target/.
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
        let root = repo_root();
        if let Some(why) =
            policy_wasm_locator::older_than_a_source(&root, &binary, harness_sources(&root))
        {
            eprintln!("host-harness: {why}; building it with cargo");
            let release = profile_dir
                .file_name()
                .is_some_and(|name| name == "release");
            let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cargo
                .args(["build", "-p", "host-harness"])
                .current_dir(&root);
            if release {
                cargo.arg("--release");
            }
            assert!(
                cargo.status().expect("running cargo build").success(),
                "building host-harness failed ({why})"
            );
        }
        binary
    })
}

/// Every file the host-harness binary is built from: its crate but its tests, the policy crate it links (but its
/// tests and benchmarks), and the workspace's manifest and lock file.
pub fn harness_sources(root: &Path) -> Vec<PathBuf> {
    let mut sources = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    for (krate, left_out) in [
        ("host-harness", &["tests"][..]),
        ("policy", &["tests", "benches"]),
    ] {
        let dir = root.join(krate);
        for entry in std::fs::read_dir(&dir).expect("the crate's directory is readable") {
            let path = entry.expect("the crate's directory is readable").path();
            let name = path.file_name().unwrap_or_default();
            if !left_out.iter().any(|left| name == *left) {
                policy_wasm_locator::files_under(&path, &mut sources);
            }
        }
    }
    sources
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

/// The locator's rule, on workspaces of its own in temporary directories: a module older than any file it is built
/// from is rebuilt, a module newer than them all (or older only than the policy's tests) is used as it is. Each
/// workspace's scripts/build-policy.sh is a real script that writes the module and leaves a mark that it ran.
#[cfg(test)]
mod locating_the_module {
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use super::harness_sources;
    use super::policy_wasm_locator::{needs_build, older_than_a_source, up_to_date_module};

    /// A workspace with a policy.wasm written at `built`, and every source at `built` minus an hour.
    fn workspace(built: SystemTime) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let sources = [
            "Cargo.toml",
            "Cargo.lock",
            "scripts/lib/wasm-toolchain.sh",
            "policy/Cargo.toml",
            "policy/build.rs",
            "policy/memory_layout.rs",
            "policy/src/lib.rs",
            "policy/src/payload/scan.rs",
            "policy/tests/rule.rs",
            "policy/benches/validate.rs",
        ];
        for source in sources {
            write_at(root.path(), source, "", built - Duration::from_secs(3600));
        }
        let script = root.path().join("scripts/build-policy.sh");
        write_at(
            root.path(),
            "scripts/build-policy.sh",
            "#!/bin/sh\necho rebuilt > \"$POLICY_WASM_OUT\"\ntouch \"$(dirname \"$0\")/../ran\"\n",
            built - Duration::from_secs(3600),
        );
        let mut permissions = fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        fs::set_permissions(&script, permissions).unwrap();
        write_at(root.path(), "policy.wasm", "built", built);
        root
    }

    fn write_at(root: &Path, path: &str, text: &str, modified: SystemTime) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }

    fn touch(root: &Path, path: &str, modified: SystemTime) {
        fs::File::options()
            .write(true)
            .open(root.join(path))
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }

    const BUILT: Duration = Duration::from_secs(1_700_000_000);

    #[test]
    fn a_module_newer_than_its_sources_is_used_as_it_is() {
        let built = SystemTime::UNIX_EPOCH + BUILT;
        let root = workspace(built);
        // The policy's tests and benchmarks are not part of the module.
        touch(
            root.path(),
            "policy/tests/rule.rs",
            built + Duration::from_secs(60),
        );
        touch(
            root.path(),
            "policy/benches/validate.rs",
            built + Duration::from_secs(60),
        );
        assert_eq!(
            needs_build(root.path(), &root.path().join("policy.wasm")),
            None
        );
        let module = up_to_date_module(root.path());
        assert_eq!(fs::read_to_string(module).unwrap(), "built");
        assert!(!root.path().join("ran").exists());
    }

    #[rstest::rstest]
    #[case::policy_source("policy/src/payload/scan.rs")]
    #[case::policy_manifest("policy/Cargo.toml")]
    #[case::policy_build_script("policy/build.rs")]
    #[case::memory_layout("policy/memory_layout.rs")]
    #[case::workspace_profiles("Cargo.toml")]
    #[case::lock_file("Cargo.lock")]
    #[case::build_script("scripts/build-policy.sh")]
    #[case::toolchain_script("scripts/lib/wasm-toolchain.sh")]
    fn a_module_older_than_a_source_is_rebuilt(#[case] source: &str) {
        let built = SystemTime::UNIX_EPOCH + BUILT;
        let root = workspace(built);
        touch(root.path(), source, built + Duration::from_secs(1));
        let module = root.path().join("policy.wasm");
        assert_eq!(
            needs_build(root.path(), &module),
            Some(format!("{} is older than {source}", module.display()))
        );
        assert_eq!(up_to_date_module(root.path()), module);
        assert_eq!(fs::read_to_string(&module).unwrap(), "rebuilt\n");
        assert!(root.path().join("ran").exists());
    }

    #[test]
    fn a_missing_module_is_built() {
        let root = workspace(SystemTime::UNIX_EPOCH + BUILT);
        let module = root.path().join("policy.wasm");
        fs::remove_file(&module).unwrap();
        assert_eq!(
            needs_build(root.path(), &module),
            Some(format!("{} is missing", module.display()))
        );
        up_to_date_module(root.path());
        assert_eq!(fs::read_to_string(&module).unwrap(), "rebuilt\n");
    }

    /// The same rule for the host-harness binary, which cargo builds for host-harness's own tests only: a binary
    /// older than a file it is built from is rebuilt, and the tests of either crate are not among those files.
    #[rstest::rstest]
    #[case::harness_source("host-harness/src/commands/run.rs", true)]
    #[case::harness_manifest("host-harness/Cargo.toml", true)]
    #[case::policy_source("policy/src/payload/scan.rs", true)]
    #[case::lock_file("Cargo.lock", true)]
    #[case::harness_test("host-harness/tests/run_command.rs", false)]
    #[case::policy_test("policy/tests/rule.rs", false)]
    #[case::policy_benchmark("policy/benches/validate.rs", false)]
    fn the_harness_binary_is_rebuilt_when_older_than_a_file_it_is_built_from(
        #[case] source: &str,
        #[case] rebuilt: bool,
    ) {
        let built = SystemTime::UNIX_EPOCH + BUILT;
        let root = workspace(built);
        for file in [
            "host-harness/Cargo.toml",
            "host-harness/src/commands/run.rs",
            "host-harness/tests/run_command.rs",
        ] {
            write_at(root.path(), file, "", built - Duration::from_secs(3600));
        }
        let binary = root.path().join("target/release/host-harness");
        write_at(root.path(), "target/release/host-harness", "", built);
        let stale = |root: &Path| older_than_a_source(root, &binary, harness_sources(root));
        assert_eq!(stale(root.path()), None);
        touch(root.path(), source, built + Duration::from_secs(1));
        assert_eq!(
            stale(root.path()),
            rebuilt.then(|| format!("{} is older than {source}", binary.display()))
        );
        fs::remove_file(&binary).unwrap();
        assert_eq!(
            stale(root.path()),
            Some(format!("{} is missing", binary.display()))
        );
    }
}

//! Locating the real policy module for every test that runs it: `$REQUIRE_DIGEST_POLICY` as given, else
//! `policy.wasm` at the workspace root, built with scripts/build-policy.sh when it is missing or older than anything it
//! is built from.
//!
//! Without that last check, plain `cargo test` after a change to the policy would test the module built before it
//! and pass or fail for the old code: the test binaries are rebuilt by cargo, policy.wasm only by this script.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

pub fn policy_wasm() -> &'static Path {
    static POLICY: OnceLock<PathBuf> = OnceLock::new();
    POLICY.get_or_init(|| {
        // Given explicitly (e2e/run.sh, a module built elsewhere): the caller knows what it is testing.
        match std::env::var_os("REQUIRE_DIGEST_POLICY") {
            Some(path) => PathBuf::from(path),
            None => up_to_date_module(&super::repo_root()),
        }
    })
}

/// `root`'s policy.wasm, after running `root`'s scripts/build-policy.sh if [`needs_build`] says so.
pub fn up_to_date_module(root: &Path) -> PathBuf {
    let path = root.join("policy.wasm");
    if let Some(why) = needs_build(root, &path) {
        eprintln!("policy.wasm: {why}; building it with scripts/build-policy.sh");
        let status = Command::new(root.join("scripts/build-policy.sh"))
            // Here, whatever the environment says: this is the module the tests run.
            .env("POLICY_WASM_OUT", &path)
            .status()
            .expect("running scripts/build-policy.sh");
        assert!(
            status.success(),
            "scripts/build-policy.sh failed ({why}); see its output above"
        );
    }
    path
}

/// Why `module` must be built: it is missing, or a file it is built from changed after it was written. `None`
/// when it is up to date.
pub fn needs_build(root: &Path, module: &Path) -> Option<String> {
    older_than_a_source(root, module, policy_sources(root))
}

/// Why `artifact` must be built from `sources` (files under `root`): it is missing, or older than one of them.
pub fn older_than_a_source(root: &Path, artifact: &Path, sources: Vec<PathBuf>) -> Option<String> {
    let built = match std::fs::metadata(artifact).and_then(|meta| meta.modified()) {
        Ok(built) => built,
        Err(_) => return Some(format!("{} is missing", artifact.display())),
    };
    let (newest, source) = sources
        .into_iter()
        .filter_map(|source| Some((modified(&source)?, source)))
        .max()?;
    (newest > built).then(|| {
        format!(
            "{} is older than {}",
            artifact.display(),
            source.strip_prefix(root).unwrap_or(&source).display()
        )
    })
}

/// Every file policy.wasm is built from: the policy crate but its tests and benchmarks, the workspace's manifest
/// (its profiles shape the module) and lock file, and the build scripts.
pub fn policy_sources(root: &Path) -> Vec<PathBuf> {
    let mut sources = vec![
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("scripts/build-policy.sh"),
    ];
    files_under(&root.join("scripts/lib"), &mut sources);
    let policy = root.join("policy");
    for entry in std::fs::read_dir(&policy).expect("policy/ is readable") {
        let path = entry.expect("policy/ is readable").path();
        let name = path.file_name().unwrap_or_default();
        if name != "tests" && name != "benches" {
            files_under(&path, &mut sources);
        }
    }
    sources
}

pub fn files_under(path: &Path, files: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            for entry in entries {
                files_under(&entry.expect("a readable directory").path(), files);
            }
        }
        Err(_) => files.push(path.to_path_buf()),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

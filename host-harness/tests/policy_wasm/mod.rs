//! Locating the real policy module for host-level tests: `$REQUIRE_DIGEST_POLICY`, else `policy.wasm` at the
//! workspace root, built with scripts/build-policy.sh when it is missing (so `cargo test` works from a fresh
//! clone). The same convention as the integration tests under tests/.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn policy_wasm() -> &'static Path {
    static POLICY: OnceLock<PathBuf> = OnceLock::new();
    POLICY.get_or_init(|| {
        if let Some(path) = std::env::var_os("REQUIRE_DIGEST_POLICY") {
            return PathBuf::from(path);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("host-harness/ sits in the workspace root");
        let path = root.join("policy.wasm");
        if !path.exists() {
            let status = Command::new(root.join("scripts/build-policy.sh"))
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

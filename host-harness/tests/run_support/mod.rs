//! Running `host-harness run` as a user does, for the tests of both layers: host-harness/tests/run_command.rs (WAT
//! guests) and tests/tests/integration (the real policy.wasm), which reaches this file by `#[path]`.
//! Each includer says which binary to run with a `harness_binary()` of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use super::harness_binary;

pub const DIGEST: &str = "sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d";

pub fn harness() -> Command {
    let mut command = Command::new(harness_binary());
    // Keep the tests out of the user's own module cache; the cache tests set their own directory.
    command.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("host-harness-run-tests-cache"),
    );
    command
}

pub fn run(args: &[&str]) -> Output {
    harness()
        .arg("run")
        .args(args)
        .output()
        .expect("the harness runs")
}

pub fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An admission request to create Pod "web" with one container, "web", running `image`.
pub fn pod_request(image: &str) -> Value {
    pod_request_with_container("web", image)
}

/// An admission request to create Pod "web" with one container, `container`, running `image`.
pub fn pod_request_with_container(container: &str, image: &str) -> Value {
    json!({
        "uid": "req-42",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "name": "web",
        "namespace": "default",
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": container, "image": image}]}
        }
    })
}

pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

pub fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    write(dir, name, serde_json::to_vec(value).unwrap())
        .to_str()
        .unwrap()
        .to_owned()
}

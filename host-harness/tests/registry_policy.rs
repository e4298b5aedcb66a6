//! `registry://` references that hold no policy, against real CNCF distribution registries on loopback (started by
//! e2e/registry.sh): a container image and a missing tag are each refused by name, before any module is run. The
//! policies pushed and run from a registry are the real policy.wasm's: tests/tests/integration/registry_policy.rs.

#[macro_use]
mod registry_support;

use std::path::Path;
use std::process::{Command, Output};

use registry_support::Registries;

/// The harness with its own cache directory (`XDG_CACHE_HOME`) and no credentials from the machine running the tests.
fn harness(cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-harness"));
    command.env("XDG_CACHE_HOME", cache).env(
        "DOCKER_CONFIG",
        std::env::temp_dir().join("require-digest-no-docker-config"),
    );
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `host-harness check POLICY` over the fixture manifests with the fixtures' settings, as JSON.
fn check(cache: &Path, registries: &Registries, policy: &str) -> Output {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    harness(cache)
        .arg("check")
        .arg(policy)
        .arg("--settings-path")
        .arg(fixtures.join("manifest-settings.yaml"))
        .args(["--output", "json", "--insecure-registry", &registries.open])
        .arg(fixtures.join("manifests"))
        .output()
        .expect("running host-harness check")
}

#[test]
fn a_container_image_is_not_a_wasm_policy() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    for (image, found) in [
        (
            "demo/app:1.0",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        ("demo/multi:1.0", "image index"),
    ] {
        let reference = format!("registry://{}/{image}", registries.open);
        let output = check(work.path(), registries, &reference);
        assert_eq!(output.status.code(), Some(2), "{image}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("error: {reference}: not a Kubewarden wasm policy"))
                && stderr.contains(found),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_tag_is_named() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let reference = format!("registry://{}/demo/app:no-such-tag", registries.open);
    let output = check(work.path(), registries, &reference);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{reference}: not found in registry"))
            && stderr.contains("no tag no-such-tag in repository demo/app"),
        "{stderr}"
    );
}

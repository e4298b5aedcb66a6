//! Policies in a registry, as a user runs them, against real CNCF distribution registries on loopback (started by
//! e2e/registry.sh): `host-harness push` lays a policy out as Kubewarden's tools do and prints the digest the registry
//! serves; `check`, `run`, `pin` and `bench` take `registry://…:TAG` and `registry://…@sha256:…`, with the same
//! verdicts as the local file; a tampered layer is refused by name. (A `registry://` reference that holds no policy
//! needs no policy.wasm: host-harness/tests/registry_policy.rs.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_harness::metadata::Metadata;
use serde_json::Value;

use crate::registry_support::{self, Registries};
use crate::support::{harness_binary, policy_wasm, repo_root};

const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const WASM_CONFIG: &str = "application/vnd.wasm.config.v1+json";

/// The harness with its own cache directory (`XDG_CACHE_HOME`) and no credentials from the machine running the tests.
fn harness(cache: &Path) -> Command {
    let mut command = Command::new(harness_binary());
    command.env("XDG_CACHE_HOME", cache).env(
        "DOCKER_CONFIG",
        std::env::temp_dir().join("require-digest-no-docker-config"),
    );
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// policy.wasm annotated as `kwctl annotate -m metadata.yml` does (a custom section `io.kubewarden.metadata` holding
/// the metadata's JSON, appended), plus, when `marker` is given, a custom section of its own, so the module's bytes,
/// and so its layer in the registry, belong to one test.
fn annotated_policy(dir: &Path, marker: Option<&str>) -> PathBuf {
    let mut module = std::fs::read(policy_wasm()).expect("reading policy.wasm");
    let metadata =
        Metadata::from_file(&repo_root().join("metadata.yml")).expect("reading metadata.yml");
    let mut annotations = metadata.annotations.clone().unwrap_or_default();
    // A multi-line annotation, as `kwctl annotate -u README.md` adds: the OCI manifest cannot carry it.
    annotations.insert(
        "io.kubewarden.policy.usage".to_string(),
        "# require-digest\nmore lines".to_string(),
    );
    let json = serde_json::to_vec(&Metadata {
        annotations: Some(annotations),
        protocol_version: Some("v1".to_string()),
        ..metadata
    })
    .unwrap();
    append_custom_section(&mut module, "io.kubewarden.metadata", &json);
    if let Some(marker) = marker {
        append_custom_section(&mut module, "require-digest-test", marker.as_bytes());
    }
    let path = dir.join(format!("policy-{}.wasm", marker.unwrap_or("annotated")));
    std::fs::write(&path, module).unwrap();
    path
}

fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = leb128(name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    module.extend(leb128(payload.len()));
    module.extend(payload);
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// `host-harness push MODULE registry://REGISTRY/REPOSITORY_AND_TAG`, asserting it succeeds; returns the digest printed.
fn push(cache: &Path, registry: &str, module: &Path, repository_and_tag: &str) -> String {
    let output = harness(cache)
        .args(["push", "--insecure-registry", registry])
        .arg(module)
        .arg(format!("registry://{registry}/{repository_and_tag}"))
        .output()
        .expect("running host-harness push");
    assert_eq!(
        output.status.code(),
        Some(0),
        "push failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout).trim_end().to_string()
}

/// `host-harness check POLICY` over the fixture manifests with the fixtures' settings, as JSON.
fn check(cache: &Path, registries: &Registries, policy: &str) -> Output {
    let fixtures = repo_root().join("tests/fixtures");
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

/// The report without its timings, which differ from run to run.
fn report(output: &Output) -> Value {
    let mut report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "check printed no JSON report ({error}); stderr: {}",
            text(&output.stderr)
        )
    });
    strip_timings(&mut report);
    report
}

fn strip_timings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.contains("duration") && !key.contains("elapsed"));
            map.values_mut().for_each(strip_timings);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_timings),
        _ => {}
    }
}

#[test]
fn push_prints_the_digest_the_registry_serves_and_lays_the_policy_out_as_kubewarden_does() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let module = annotated_policy(work.path(), None);
    let digest = push(
        work.path(),
        &registries.open,
        &module,
        "policies/layout-test:v0",
    );
    assert_eq!(
        digest,
        registry_support::served_digest(&registries.open, "policies/layout-test:v0", None)
    );

    let manifest: Value = serde_json::from_slice(&registry_support::get_manifest(
        &registries.open,
        "policies/layout-test:v0",
    ))
    .unwrap();
    assert_eq!(manifest["config"]["mediaType"], WASM_CONFIG, "{manifest}");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(layers[0]["mediaType"], WASM_LAYER);
    let bytes = std::fs::read(&module).unwrap();
    assert_eq!(layers[0]["size"], bytes.len());
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["io.kubewarden.policy.title"], "require-digest");
    assert_eq!(
        annotations["org.opencontainers.image.source"], annotations["io.kubewarden.policy.source"],
        "kwctl copies the policy's source into the OCI annotation"
    );
    assert!(
        annotations.get("io.kubewarden.policy.usage").is_none(),
        "multi-line annotations stay out of the manifest: {annotations}"
    );
}

#[test]
fn check_of_a_pushed_policy_by_tag_and_by_digest_gives_the_local_files_report() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let module = annotated_policy(work.path(), None);
    let digest = push(
        work.path(),
        &registries.open,
        &module,
        "policies/require-digest:v0",
    );

    let local = check(work.path(), registries, module.to_str().unwrap());
    assert_eq!(local.status.code(), Some(1), "{}", text(&local.stderr));
    let by_tag_reference = format!("registry://{}/policies/require-digest:v0", registries.open);
    let by_tag = check(&work.path().join("cache-1"), registries, &by_tag_reference);
    assert_eq!(by_tag.status.code(), Some(1), "{}", text(&by_tag.stderr));
    assert_eq!(report(&by_tag), report(&local));
    let pinned = format!(
        "registry://{}/policies/require-digest@{digest}",
        registries.open
    );
    assert_eq!(
        text(&by_tag.stderr),
        format!("{by_tag_reference} resolved to {pinned}\n"),
        "a tag says which digest judged"
    );

    let by_digest = check(&work.path().join("cache-2"), registries, &pinned);
    assert_eq!(
        by_digest.status.code(),
        Some(1),
        "{}",
        text(&by_digest.stderr)
    );
    assert_eq!(report(&by_digest), report(&local));
    assert_eq!(text(&by_digest.stderr), "", "a digest needs no resolving");
}

#[test]
fn run_pin_and_bench_take_a_registry_policy_too() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let module = annotated_policy(work.path(), None);
    push(
        work.path(),
        &registries.open,
        &module,
        "policies/commands:v0",
    );
    let reference = format!("registry://{}/policies/commands:v0", registries.open);
    let request = repo_root().join("tests/fixtures/requests/deployment-unpinned.json");

    let run = |policy: &str| {
        harness(work.path())
            .args(["run", policy, "--insecure-registry", &registries.open])
            .arg("--request-path")
            .arg(&request)
            .output()
            .unwrap()
    };
    let local = run(module.to_str().unwrap());
    let remote = run(&reference);
    assert_eq!(remote.status.code(), Some(0), "{}", text(&remote.stderr));
    assert_eq!(text(&remote.stdout), text(&local.stdout));
    assert!(text(&remote.stdout).contains("\"allowed\":false"));

    // Tags resolve offline (--digests); the policy still comes from its registry.
    let pin_fixtures = repo_root().join("tests/fixtures/pin");
    let pin = harness(work.path())
        .args(["pin", &reference, "--insecure-registry", &registries.open])
        .args(["--digests"])
        .arg(pin_fixtures.join("digests.yaml"))
        .arg("--check")
        .arg(pin_fixtures.join("before/apps/pod.json"))
        .output()
        .unwrap();
    assert!(
        text(&pin.stderr).contains("resolved to registry://"),
        "{}",
        text(&pin.stderr)
    );
    assert_eq!(
        pin.status.code(),
        Some(1),
        "unpinned images would be pinned: {}",
        text(&pin.stderr)
    );

    let bench = harness(work.path())
        .args(["bench", &reference, "--insecure-registry", &registries.open])
        .args(["--iterations", "2", "--warmup", "0", "--compilations", "1"])
        .arg(&request)
        .output()
        .unwrap();
    assert_eq!(bench.status.code(), Some(0), "{}", text(&bench.stderr));
}

#[test]
fn a_policy_pulled_by_digest_runs_again_from_the_cache_without_its_registry() {
    let state = tempfile::tempdir().unwrap();
    let Some(registries) = registry_support::start_own(state.path()) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let module = annotated_policy(work.path(), None);
    let digest = push(
        work.path(),
        &registries.open,
        &module,
        "policies/require-digest:v0",
    );
    let pinned = format!(
        "registry://{}/policies/require-digest@{digest}",
        registries.open
    );
    let first = check(work.path(), &registries, &pinned);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));

    registry_support::stop(state.path());
    let again = check(work.path(), &registries, &pinned);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert_eq!(report(&again), report(&first));
    // A tag must be asked of its registry every time: it may have moved.
    let by_tag = check(
        work.path(),
        &registries,
        &format!("registry://{}/policies/require-digest:v0", registries.open),
    );
    assert_eq!(by_tag.status.code(), Some(2));
    assert!(
        text(&by_tag.stderr).contains("connection refused"),
        "{}",
        text(&by_tag.stderr)
    );
}

#[test]
fn a_tampered_layer_is_named_and_not_run() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    // A module of this test's own, so the layer spoiled below is no other test's.
    let module = annotated_policy(work.path(), Some("tampered-layer-test"));
    push(
        work.path(),
        &registries.open,
        &module,
        "policies/tampered:v0",
    );
    let layer_digest = {
        let manifest: Value = serde_json::from_slice(&registry_support::get_manifest(
            &registries.open,
            "policies/tampered:v0",
        ))
        .unwrap();
        manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hex = layer_digest.strip_prefix("sha256:").unwrap();
    let blob = registries.state_dir.join(format!(
        "open/storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    // The last byte is in the test's own custom section: the module stays valid WebAssembly, so only the digest
    // can tell.
    let mut bytes = std::fs::read(&blob).expect("the layer in the registry's storage");
    *bytes.last_mut().unwrap() ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();

    let reference = format!("registry://{}/policies/tampered:v0", registries.open);
    let output = check(work.path(), registries, &reference);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("error: {reference}: tampered layer"))
            && stderr.contains(&layer_digest),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing is evaluated: {}",
        text(&output.stdout)
    );
}

#[test]
fn push_uses_the_docker_config_and_refuses_an_unannotated_module() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let module = annotated_policy(work.path(), None);
    let destination = format!("registry://{}/policies/require-digest:v0", registries.auth);

    let anonymous = harness(work.path())
        .args(["push", "--insecure-registry", &registries.auth])
        .arg(&module)
        .arg(&destination)
        .output()
        .unwrap();
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(
        text(&anonymous.stderr).contains("requires authentication"),
        "{}",
        text(&anonymous.stderr)
    );

    let with_credentials = harness(work.path())
        .args(["push", "--insecure-registry", &registries.auth])
        .arg("--docker-config")
        .arg(&registries.docker_config)
        .arg(&module)
        .arg(&destination)
        .output()
        .unwrap();
    assert_eq!(
        with_credentials.status.code(),
        Some(0),
        "{}",
        text(&with_credentials.stderr)
    );
    let digest = text(&with_credentials.stdout).trim_end().to_string();
    assert_eq!(
        digest,
        registry_support::served_digest(
            &registries.auth,
            "policies/require-digest:v0",
            Some((&registries.user, &registries.password))
        )
    );
    for output in [&anonymous, &with_credentials] {
        assert!(!text(&output.stderr).contains(&registries.password));
    }

    let plain = harness(work.path())
        .args(["push", "--insecure-registry", &registries.open])
        .arg(policy_wasm())
        .arg(format!("registry://{}/policies/plain:v0", registries.open))
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        text(&plain.stderr).contains("not annotated"),
        "{}",
        text(&plain.stderr)
    );
}

//! Keeping pins true against a real registry on loopback (e2e/registry.sh, images pushed by skopeo):
//! `check --verify-registry` (a deleted digest is a violation at the image's line in every output format, a moved tag
//! a warning, an unreachable registry an error, `--digests` offline), the policy's `tagDigestMismatch` setting
//! through `run`, whose `oci/v1/manifest_digest` capability asks the same registry, and `pin --refresh` (a moved tag's
//! new digest written in place of the stale one).
//!
//! Each test pushes repositories of its own, so deleting or moving them leaves the seeded images alone.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::registry_support::{self, Registries};
use crate::run_support::pod_request_with_container;
use crate::support::{harness_binary, policy_wasm};

fn harness() -> Command {
    let mut command = Command::new(harness_binary());
    // No credentials from the machine running the tests.
    command.env(
        "DOCKER_CONFIG",
        std::env::temp_dir().join("require-digest-no-docker-config"),
    );
    command
}

fn policy() -> &'static Path {
    policy_wasm()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Deployment "web" whose two containers run `served` (line 10) and `image` (line 12).
fn deployment(served: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: served
          image: {served}
        - name: app
          image: {image}
"
    )
}

const IMAGE_LINE: usize = 12;

/// `host-harness check POLICY --insecure-registry OPEN [extra] FILE -o FORMAT`.
fn check(registries: &Registries, file: &Path, extra: &[&str], format: &str) -> Output {
    harness()
        .arg("check")
        .arg(policy())
        .args(["--insecure-registry", &registries.open, "--output", format])
        .args(extra)
        .arg(file)
        .output()
        .expect("run host-harness")
}

fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\nstderr: {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// The served image every manifest here also holds: the registry must be asked about it too, and find it.
fn served_image(registries: &Registries) -> String {
    let digest = registry_support::served_digest(&registries.open, "demo/app:1.0", None);
    format!("{}/demo/app:1.0@{digest}", registries.open)
}

#[test]
fn a_deleted_digest_is_a_violation_at_the_image_line_in_every_format() {
    let registries = registries_or_skip!();
    let digest = registry_support::push(registries, "verify/deleted:1.0", "deleted-one");
    let image = format!("{}/verify/deleted:1.0@{digest}", registries.open);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, deployment(&served_image(registries), &image)).unwrap();

    // Served: accepted, with no warning (the tag still points there).
    let before = check(registries, &file, &["--verify-registry"], "json");
    assert_eq!(before.status.code(), Some(0), "{}", text(&before.stderr));
    assert_eq!(
        json_report(&before)["files"][0]["objects"][0],
        json!({"line": 1, "api_version": "apps/v1", "kind": "Deployment", "name": "web", "verdict": "accepted"})
    );

    assert_eq!(
        registry_support::delete_manifest(&registries.open, "verify/deleted", &digest),
        202
    );
    // Without the flag, check stays offline: the policy only reads how the image is written.
    let offline = check(registries, &file, &[], "json");
    assert_eq!(offline.status.code(), Some(0), "{}", text(&offline.stderr));

    let message = format!(
        "Deployment web: container \"app\" (spec.template.spec.containers[1]) image {image:?} is pinned to a digest \
         that does not exist: registry {0} has no manifest {digest} in repository verify/deleted (manifest unknown)",
        registries.open
    );
    let json = check(registries, &file, &["--verify-registry"], "json");
    assert_eq!(json.status.code(), Some(1), "{}", text(&json.stderr));
    let object = &json_report(&json)["files"][0]["objects"][0];
    assert_eq!(object["verdict"], "rejected");
    assert_eq!(object["message"], message);
    assert_eq!(
        object["violations"],
        json!([{"line": IMAGE_LINE, "message": message}])
    );

    let name = file.display().to_string();
    let text_output = text(&check(registries, &file, &["--verify-registry"], "text").stdout);
    assert!(
        text_output.contains(&format!("{name}:{IMAGE_LINE}: {message}")),
        "{text_output}"
    );
    let github = text(&check(registries, &file, &["--verify-registry"], "github").stdout);
    assert!(
        github.contains(&format!(
            ",line={IMAGE_LINE},title=Deployment web rejected::{message}"
        )),
        "{github}"
    );
    let sarif: Value =
        serde_json::from_slice(&check(registries, &file, &["--verify-registry"], "sarif").stdout)
            .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["message"]["text"], message);
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        IMAGE_LINE
    );
    let junit = text(&check(registries, &file, &["--verify-registry"], "junit").stdout);
    assert!(
        junit.contains(&format!("{name}:{IMAGE_LINE}: Deployment web: container")),
        "{junit}"
    );
}

#[test]
fn a_moved_tag_is_a_warning_and_the_pinned_digest_still_passes() {
    let registries = registries_or_skip!();
    let pinned = registry_support::push(registries, "verify/moved:1.27", "moved-one");
    let image = format!("{}/verify/moved:1.27@{pinned}", registries.open);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, deployment(&served_image(registries), &image)).unwrap();

    let moved = registry_support::push(registries, "verify/moved:1.27", "moved-two");
    assert_ne!(moved, pinned);

    let output = check(registries, &file, &["--verify-registry"], "json");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let object = &json_report(&output)["files"][0]["objects"][0];
    assert_eq!(object["verdict"], "accepted");
    assert_eq!(
        object["warnings"],
        json!([format!(
            "Deployment web: container \"app\" (spec.template.spec.containers[1]) image {image:?} tag 1.27 now \
             points to {moved}; the pinned digest is still served"
        )])
    );
}

#[test]
fn a_registry_that_cannot_be_asked_is_an_error_not_a_pass() {
    let registries = registries_or_skip!();
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("127.0.0.1:{port}");
    let image = format!("{nowhere}/verify/app:1.0@sha256:{}", "a".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, deployment(&served_image(registries), &image)).unwrap();
    let output = check(
        registries,
        &file,
        &["--verify-registry", "--insecure-registry", &nowhere],
        "json",
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let object = &json_report(&output)["files"][0]["objects"][0];
    assert_eq!(object["verdict"], "error");
    assert_eq!(
        object["message"],
        format!(
            "cannot verify against the registry: {image}: connection refused by registry {nowhere} (is it running?)"
        )
    );
}

#[test]
fn with_a_digest_map_a_digest_exists_when_the_map_has_it() {
    let known = format!("sha256:{}", "1".repeat(64));
    let now = format!("sha256:{}", "2".repeat(64));
    let unknown = format!("sha256:{}", "3".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("digests.yaml");
    std::fs::write(
        &map,
        format!("registry.example.com/app:1.0: {known}\nregistry.example.com/app:1.1: {now}\n"),
    )
    .unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(
        &file,
        deployment(
            &format!("registry.example.com/app:1.0@{now}"),
            &format!("registry.example.com/app:1.0@{unknown}"),
        ),
    )
    .unwrap();
    let output = harness()
        .arg("check")
        .arg(policy())
        .args(["--verify-registry", "--digests"])
        .arg(&map)
        .args(["--output", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let object = &json_report(&output)["files"][0]["objects"][0];
    assert_eq!(
        object["violations"],
        json!([{"line": IMAGE_LINE, "message": format!(
            "Deployment web: container \"app\" (spec.template.spec.containers[1]) image \
             \"registry.example.com/app:1.0@{unknown}\" is pinned to a digest that does not exist: the offline \
             digest map {} has it under no tag of registry.example.com/app",
            map.display()
        )}])
    );
    // The first container's digest is in the map (under 1.1), and its tag 1.0 points elsewhere there.
    assert_eq!(
        object["warnings"],
        json!([format!(
            "Deployment web: container \"served\" (spec.template.spec.containers[0]) image \
             \"registry.example.com/app:1.0@{now}\" tag 1.0 now points to {known}; the pinned digest is still served"
        )])
    );
}

/// `host-harness run POLICY --settings-json '{"tagDigestMismatch": MODE}'` on a Pod running `image`: the
/// AdmissionReview's response.
fn admit(registries: &Registries, mode: &str, image: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("request.json");
    std::fs::write(
        &request,
        pod_request_with_container("app", image).to_string(),
    )
    .unwrap();
    let output = harness()
        .arg("run")
        .arg(policy())
        .args(["--insecure-registry", &registries.open, "--request-path"])
        .arg(&request)
        .args([
            "--settings-json",
            &json!({ "tagDigestMismatch": mode }).to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let review: Value = serde_json::from_slice(&output.stdout).unwrap();
    review["response"].clone()
}

#[test]
fn tag_digest_mismatch_at_admission_asks_the_registry_for_the_tag() {
    let registries = registries_or_skip!();
    let pinned = registry_support::push(registries, "verify/admission:4.8.1", "admission-one");
    let image = format!("{}/verify/admission:4.8.1@{pinned}", registries.open);
    let site = "Pod web: container \"app\" (spec.containers[0])";

    // The tag still points to the pinned digest: nothing to say, whatever the mode.
    for mode in ["ignore", "warn", "reject"] {
        let response = admit(registries, mode, &image);
        assert_eq!(response["allowed"], true, "{mode}: {response}");
        assert_eq!(response.get("warnings"), None, "{mode}: {response}");
    }

    let moved = registry_support::push(registries, "verify/admission:4.8.1", "admission-two");
    let stale = format!(
        "{site} image {image:?} is stale: tag 4.8.1 points to {moved}, the image pins {pinned}"
    );
    let ignored = admit(registries, "ignore", &image);
    assert_eq!(ignored["allowed"], true, "{ignored}");
    assert_eq!(ignored.get("warnings"), None, "{ignored}");
    let warned = admit(registries, "warn", &image);
    assert_eq!(warned["allowed"], true, "{warned}");
    assert_eq!(warned["warnings"], json!([stale]));
    let rejected = admit(registries, "reject", &image);
    assert_eq!(rejected["allowed"], false, "{rejected}");
    assert_eq!(rejected["status"]["message"], stale);

    // A tag the registry does not have: a warning under warn, a rejection naming the error under reject.
    let untagged = format!("{}/verify/admission:9.9@{pinned}", registries.open);
    let unresolvable = format!(
        "{site} image {untagged:?} is pinned, but its tag 9.9 could not be resolved: error invoking host capability \
         oci.manifest_digest: Host error: {0}/verify/admission:9.9: not found in registry {0}: no tag 9.9 in repository verify/admission (manifest unknown)",
        registries.open
    );
    let warned = admit(registries, "warn", &untagged);
    assert_eq!(warned["allowed"], true, "{warned}");
    assert_eq!(warned["warnings"], json!([unresolvable]));
    let rejected = admit(registries, "reject", &untagged);
    assert_eq!(rejected["allowed"], false, "{rejected}");
    assert_eq!(rejected["status"]["message"], unresolvable);
}

/// `host-harness pin POLICY --insecure-registry OPEN --refresh [extra] FILE`.
fn pin_refresh(registries: &Registries, file: &Path, extra: &[&str]) -> Output {
    harness()
        .arg("pin")
        .arg(policy())
        .args(["--insecure-registry", &registries.open, "--refresh"])
        .args(extra)
        .arg(file)
        .output()
        .expect("run host-harness")
}

#[test]
fn pin_refresh_rewrites_exactly_the_digests_whose_tag_has_moved() {
    let registries = registries_or_skip!();
    let first = registry_support::push(registries, "refresh/app:2.0", "refresh-one");
    let open = &registries.open;
    let before = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: served
          image: {served}
        - name: app
          image: \"{open}/refresh/app:2.0@{first}\" # bumped by hand
        - name: by-digest
          image: {open}/refresh/app@{first}
",
        served = served_image(registries),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, &before).unwrap();

    // Nothing has moved yet: nothing to refresh.
    let output = pin_refresh(registries, &file, &["--check"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let moved = registry_support::push(registries, "refresh/app:2.0", "refresh-two");
    assert_ne!(moved, first);
    let output = pin_refresh(registries, &file, &["--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "--check writes nothing"
    );

    let output = pin_refresh(registries, &file, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Only the tagged reference follows its tag; the digest-only one has no tag to follow, and the quoting and the
    // comment stay.
    let after = before.replacen(
        &format!("refresh/app:2.0@{first}\" # bumped"),
        &format!("refresh/app:2.0@{moved}\" # bumped"),
        1,
    );
    assert_ne!(after, before);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
    assert!(
        text(&output.stderr).contains(&format!(
            "web.yaml:12: pinned {open}/refresh/app:2.0@{first} -> {open}/refresh/app:2.0@{moved}"
        )),
        "{}",
        text(&output.stderr)
    );

    let output = pin_refresh(registries, &file, &["--check"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

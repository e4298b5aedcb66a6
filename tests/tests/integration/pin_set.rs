//! `pin --set IMAGE:TAG`: every image of that repository, matched on the normalized name and however it is written,
//! moves to `name:TAG@<digest of TAG>`, in every document of a file; other repositories stay.

use std::fs;
use std::process::{Command, Output};

use crate::support::{harness_binary, policy_wasm};

const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const API: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn manifests(tag: &str, digest: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:{tag}@{digest} # the web server
    - name: api
      image: ghcr.io/acme/api:1.0@{API}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: warm-cache
spec:
  template:
    spec:
      initContainers:
        - name: warm
          image: \"docker.io/library/nginx:{tag}@{digest}\"
      containers:
        - name: main
          image: ghcr.io/acme/api:1.0@{API}
"
    )
}

fn pin(work: &std::path::Path, args: &[&str]) -> Output {
    Command::new(harness_binary())
        .arg("pin")
        .arg(policy_wasm())
        .arg("--digests")
        .arg(work.join("digests.yaml"))
        .args(args)
        .arg(work.join("app.yaml"))
        .output()
        .expect("running host-harness pin")
}

#[test]
fn set_moves_every_spelling_of_the_repository_in_every_document_and_nothing_else() {
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("digests.yaml"),
        format!("nginx:1.27.3: {NEW}\nnginx:1.25.0: {OLD}\nghcr.io/acme/api:1.0: {API}\n"),
    )
    .unwrap();
    let file = work.path().join("app.yaml");
    fs::write(&file, manifests("1.25.0", OLD)).unwrap();

    let check = pin(work.path(), &["--set", "nginx:1.27.3", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), manifests("1.25.0", OLD));

    let set = pin(work.path(), &["--set", "docker.io/library/nginx:1.27.3"]);
    let stderr = String::from_utf8_lossy(&set.stderr);
    assert_eq!(set.status.code(), Some(0), "{stderr}");
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        manifests("1.27.3", NEW),
        "{stderr}"
    );
    assert!(stderr.contains("pinned 2 images in 1 file"), "{stderr}");

    let again = pin(work.path(), &["--set", "nginx:1.27.3", "--check"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn a_set_tag_that_cannot_be_resolved_leaves_the_file_untouched() {
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("digests.yaml"),
        format!("ghcr.io/acme/api:1.0: {API}\n"),
    )
    .unwrap();
    let file = work.path().join("app.yaml");
    fs::write(&file, manifests("1.25.0", OLD)).unwrap();
    let output = pin(work.path(), &["--set", "nginx:9.9"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nginx:9.9 could not be resolved"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), manifests("1.25.0", OLD));
}

#[test]
fn set_takes_an_image_with_a_tag_and_no_digest() {
    for (value, expected) in [
        ("nginx", "has no tag"),
        (&format!("nginx:1.27@{NEW}") as &str, "holds a digest"),
        ("Nginx:1.27", "not a valid image reference"),
    ] {
        let output = Command::new(harness_binary())
            .args(["pin", "policy.wasm", "--set", value, "x.yaml"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{value}: {stderr}");
        assert!(stderr.contains(expected), "{value}: {stderr}");
    }
}

/// `--output json`, for bots: every change with its file, line, both references and both digests; stdout holds only
/// the JSON; `--check` reports the same changes it would write.
#[test]
fn output_json_says_what_moved_for_a_commit_message() {
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("digests.yaml"),
        format!("nginx:1.27.3: {NEW}\nghcr.io/acme/api:1.0: {API}\n"),
    )
    .unwrap();
    let file = work.path().join("app.yaml");
    fs::write(&file, manifests("1.25.0", OLD)).unwrap();

    for (args, written) in [
        (
            &["--set", "nginx:1.27.3", "--check", "-o", "json"][..],
            false,
        ),
        (&["--set", "nginx:1.27.3", "--output", "json"][..], true),
    ] {
        let output = pin(work.path(), args);
        assert!(
            output.status.code() != Some(2),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
        assert_eq!(report["written"], written);
        assert_eq!(report["summary"]["images"], 2);
        let changes = report["files"][0]["changes"].as_array().unwrap();
        assert_eq!(
            changes
                .iter()
                .map(|change| (
                    change["line"].as_u64().unwrap(),
                    change["from"].as_str().unwrap().to_owned(),
                    change["to"].as_str().unwrap().to_owned(),
                    change["fromDigest"].as_str().unwrap().to_owned(),
                    change["toDigest"].as_str().unwrap().to_owned(),
                ))
                .collect::<Vec<_>>(),
            vec![
                (
                    8,
                    format!("nginx:1.25.0@{OLD}"),
                    format!("nginx:1.27.3@{NEW}"),
                    OLD.to_owned(),
                    NEW.to_owned()
                ),
                (
                    21,
                    format!("docker.io/library/nginx:1.25.0@{OLD}"),
                    format!("docker.io/library/nginx:1.27.3@{NEW}"),
                    OLD.to_owned(),
                    NEW.to_owned()
                ),
            ]
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), manifests("1.27.3", NEW));
}

//! `pin --from-pods`: pinning to the digests a cluster runs, read from `kubectl get pods -A -o json`
//! (tests/fixtures/pin/from-pods/pods.json: init and ephemeral containers, two Pods of one Deployment, an image at two
//! digests, a bare local image ID, a Pending Pod with no status). No registry is contacted.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{fixtures, harness_binary, policy_wasm};

fn from_pods() -> std::path::PathBuf {
    fixtures().join("pin/from-pods")
}

fn pin(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(harness_binary())
        .arg("pin")
        .arg(policy_wasm())
        .arg("--from-pods")
        .arg(from_pods().join("pods.json"))
        .args(args)
        .args(paths)
        .output()
        .expect("running host-harness pin")
}

fn copy_before(to: &Path) {
    for entry in fs::read_dir(from_pods().join("before")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn images_are_pinned_to_the_digests_their_pods_run_and_check_passes_after() {
    let work = tempfile::tempdir().unwrap();
    copy_before(work.path());
    let web = work.path().join("web.yaml");

    assert_eq!(pin(&["--check"], &[&web]).status.code(), Some(1));
    let pinned = pin(&[], &[&web]);
    let stderr = String::from_utf8_lossy(&pinned.stderr);
    assert_eq!(pinned.status.code(), Some(0), "{stderr}");
    // The init container's digest comes from initContainerStatuses, nginx's from a docker-pullable:// imageID.
    assert_eq!(
        fs::read_to_string(&web).unwrap(),
        fs::read_to_string(from_pods().join("after/web.yaml")).unwrap(),
        "{stderr}"
    );
    assert_eq!(pin(&["--check"], &[&web]).status.code(), Some(0));
}

#[test]
fn what_cannot_be_pinned_to_a_running_digest_fails_its_file_and_leaves_it_untouched() {
    let work = tempfile::tempdir().unwrap();
    copy_before(work.path());
    let output = pin(&[], &[work.path()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for (file, reason) in [
        ("api.yaml", "it runs at 2 different digests: sha256:aaaa"),
        ("api.yaml", "(pod shop/api-7f9c-2)"),
        ("cache.yaml", "reports only the local image ID sha256:eeee"),
        ("worker.yaml", "no running Pod in"),
    ] {
        let line = stderr
            .lines()
            .find(|line| line.contains(file) && line.contains(reason))
            .unwrap_or_else(|| panic!("{file}: {reason}:\n{stderr}"));
        assert!(line.starts_with("error: "), "{line}");
        assert_eq!(
            fs::read_to_string(work.path().join(file)).unwrap(),
            fs::read_to_string(from_pods().join("before").join(file)).unwrap(),
            "{file} is untouched"
        );
    }
    // The file whose images all run at one digest is still pinned.
    assert_eq!(
        fs::read_to_string(work.path().join("web.yaml")).unwrap(),
        fs::read_to_string(from_pods().join("after/web.yaml")).unwrap()
    );
}

#[test]
fn input_that_is_not_pods_is_refused_before_anything_is_pinned() {
    let work = tempfile::tempdir().unwrap();
    copy_before(work.path());
    let not_pods = work.path().join("deployments.json");
    fs::write(
        &not_pods,
        r#"{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Deployment"}]}"#,
    )
    .unwrap();
    let output = Command::new(harness_binary())
        .arg("pin")
        .arg(policy_wasm())
        .arg("--from-pods")
        .arg(&not_pods)
        .arg(work.path().join("web.yaml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("item 0 is not a Pod"), "{stderr}");
    assert_eq!(
        fs::read_to_string(work.path().join("web.yaml")).unwrap(),
        fs::read_to_string(from_pods().join("before/web.yaml")).unwrap()
    );
}

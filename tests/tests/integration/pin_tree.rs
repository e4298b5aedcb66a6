//! `pin` on a source tree as teams keep them (tests/fixtures/pin/kustomize/): a base with unpinned images, a
//! kustomize patch whose container has no image, an overlay of `$IMAGE` placeholders, `ko://` and `<PROJECT_ID>`.
//! `pin` pins every image it can resolve, leaves the rest as is on their lines with the policy's reason, and
//! `pin --check` exits 1 before and 0 after; `check` keeps rejecting what was left. And `pin` names the line
//! `check` names for the same violation, on every fixture both report.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_harness::check::{CheckOptions, check_files};
use host_harness::host::Capabilities;
use host_harness::manifest::{self, Limits, ManifestFile, expand_paths, read_input};
use host_harness::pin::{self, PinError};
use host_harness::registry::RegistrySpec;
use host_harness::report::Outcome;
use require_digest::violation::parse_line;

use crate::support::{fixtures, harness_binary, policy_host_with, policy_wasm};

fn pin_fixtures() -> PathBuf {
    fixtures().join("pin")
}

/// `host-harness SUBCOMMAND policy.wasm --settings-path settings.yaml ARGS…`, offline for pin.
fn run(subcommand: &str, args: &[&Path]) -> Output {
    let mut command = Command::new(harness_binary());
    command
        .arg(subcommand)
        .arg(policy_wasm())
        .arg("--settings-path")
        .arg(pin_fixtures().join("settings.yaml"));
    if subcommand == "pin" {
        command
            .arg("--digests")
            .arg(pin_fixtures().join("digests.yaml"));
    } else {
        command.args(["--color", "never"]);
    }
    command.args(args).output().expect("running host-harness")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file under `dir`, by path relative to it, with its text.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(relative, fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

fn copy_tree(from: &Path, to: &Path) {
    for (relative, text) in read_tree(from) {
        let target = to.join(relative);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, text).unwrap();
    }
}

#[test]
fn pin_pins_a_kustomize_tree_around_what_pinning_cannot_fix() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    copy_tree(&pin_fixtures().join("kustomize/before"), &tree);
    let before = read_tree(&tree);

    let check = run("pin", &[Path::new("--check"), &tree]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert_eq!(read_tree(&tree), before, "--check changes nothing");

    let pinned = run("pin", &[&tree]);
    let report = stderr(&pinned);
    assert_eq!(pinned.status.code(), Some(0), "{report}");
    assert_eq!(
        read_tree(&tree),
        read_tree(&pin_fixtures().join("kustomize/after")),
        "the tree pinned is kustomize/after/"
    );
    let tree_name = tree.display().to_string();
    let left: Vec<String> = report
        .lines()
        .filter(|line| line.contains(": left as is: "))
        .map(|line| line.replace(&tree_name, "TREE"))
        .collect();
    let placeholder = "render the template first (envsubst, helm template, kustomize build, …) and check its output";
    assert_eq!(
        left,
        [
            format!("TREE/overlays/preview/deployment.yaml:11: left as is: Deployment preview: container \"app\" (spec.template.spec.containers[0]) image \"$IMAGE\" looks unrendered (it holds the placeholder `$IMAGE`): {placeholder}"),
            format!("TREE/overlays/preview/deployment.yaml:13: left as is: Deployment preview: container \"worker\" (spec.template.spec.containers[1]) image \"${{IMAGE_REPOSITORY}}/worker:${{IMAGE_TAG}}\" looks unrendered (it holds the placeholder `${{IMAGE_REPOSITORY}}`): {placeholder}"),
            "TREE/overlays/preview/deployment.yaml:15: left as is: Deployment preview: container \"builder\" (spec.template.spec.containers[2]) image \"ko://github.com/acme/shop/cmd/builder\" is invalid: registry port \"\" must be digits".to_owned(),
            format!("TREE/overlays/preview/deployment.yaml:32: left as is: CronJob report: container \"report\" (spec.jobTemplate.spec.template.spec.containers[0]) image \"gcr.io/<PROJECT_ID>/report:latest\" looks unrendered (it holds the placeholder `<PROJECT_ID>`): {placeholder}"),
            "TREE/overlays/production/resources.yaml:12: left as is: Deployment web: container \"web\" (spec.template.spec.containers[0]) has no image".to_owned(),
        ],
        "{report}"
    );
    // The preview's pinnable image is the fourth container, after three that are set aside.
    assert!(
        report.contains(&format!("{tree_name}/overlays/preview/deployment.yaml:17: pinned 127.0.0.1:5000/demo/multi:1.0 -> 127.0.0.1:5000/demo/multi:1.0@sha256:503cc8e4")),
        "{report}"
    );
    assert!(
        report.ends_with(
            "pinned 4 images in 3 files; 4 files unchanged; 0 errors; 5 rejections left as is\n"
        ),
        "{report}"
    );

    let again = run("pin", &[Path::new("--check"), &tree]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).ends_with(
            "would pin 0 images in 0 files; 7 files unchanged; 0 errors; 5 rejections left as is\n"
        ),
        "{}",
        stderr(&again)
    );

    // `check` keeps rejecting what pin left: that is its job.
    let checked = run("check", &[&tree]);
    let text = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(1), "{text}");
    assert!(
        text.ends_with("checked 8 objects: 5 accepted, 3 rejected, 0 skipped, 0 errors\n"),
        "{text}"
    );
}

#[test]
fn a_failed_lookup_still_fails_its_file_whatever_else_is_left_as_is() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    copy_tree(&pin_fixtures().join("kustomize/before"), &tree);
    let before = read_tree(&tree);
    // A map that knows the base's images but not the overlays' sidecar.
    let digests = work.path().join("digests.yaml");
    let map: String = fs::read_to_string(pin_fixtures().join("digests.yaml"))
        .unwrap()
        .lines()
        .filter(|line| !line.contains("demo/multi:1.0"))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(&digests, map).unwrap();
    let pin_with = |extra: &[&str]| {
        Command::new(harness_binary())
            .arg("pin")
            .arg(policy_wasm())
            .arg("--settings-path")
            .arg(pin_fixtures().join("settings.yaml"))
            .arg("--digests")
            .arg(&digests)
            .args(extra)
            .arg(&tree)
            .output()
            .unwrap()
    };

    let check = pin_with(&["--check"]);
    assert_eq!(check.status.code(), Some(2), "{}", stderr(&check));
    let output = pin_with(&[]);
    let report = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let after = read_tree(&tree);
    for file in [
        "overlays/preview/deployment.yaml",
        "overlays/production/resources.yaml",
    ] {
        assert_eq!(
            after[Path::new(file)],
            before[Path::new(file)],
            "{file} changed"
        );
        let name = tree.join(file).display().to_string();
        assert!(
            report.contains(&format!("error: {name}:17: Deployment "))
                && report.contains("could not be resolved to a digest: "),
            "{report}"
        );
    }
    assert!(
        after[Path::new("base/deployment.yaml")].contains("demo/app:1.1@sha256:"),
        "the base is pinned"
    );
    assert!(
        report.ends_with("pinned 2 images in 1 file; 4 files unchanged; 2 errors (2 files left untouched); 5 rejections left as is\n"),
        "{report}"
    );
}

#[test]
fn rejections_past_the_listed_ones_are_left_as_is_too() {
    // More sites than one rejection lists (`… and N more`): asked again, the module names the rest.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("many.yaml");
    let mut text =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: many\nspec:\n  containers:\n".to_owned();
    for index in 0..25 {
        text.push_str(&format!("    - name: patch-{index}\n"));
    }
    text.push_str("    - name: app\n      image: 127.0.0.1:5000/demo/app:1.0\n");
    fs::write(&file, &text).unwrap();

    let output = run("pin", &[&file]);
    let report = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        fs::read_to_string(&file)
            .unwrap()
            .contains("image: 127.0.0.1:5000/demo/app:1.0@sha256:5d8d")
    );
    let name = file.display();
    for index in 0..25 {
        let expected = format!(
            "{name}:{}: left as is: Pod many: container \"patch-{index}\" (spec.containers[{index}]) has no image\n",
            7 + index
        );
        assert!(report.contains(&expected), "{expected}in:\n{report}");
    }
    assert!(
        report.ends_with(
            "pinned 1 image in 1 file; 0 files unchanged; 0 errors; 25 rejections left as is\n"
        ),
        "{report}"
    );
}

/// The site a line is about (subject, site, path, image), whatever the reason: `check` says "is not pinned" where
/// `pin` pins or says why it could not; other lines by their text.
fn violation_key(message: &str) -> String {
    match parse_line(message) {
        Some(line) => format!(
            "{} | {:?} {:?} ({}) {:?}",
            line.subject, line.site, line.name, line.path, line.image
        ),
        None => message.to_owned(),
    }
}

#[test]
fn pin_names_the_line_check_names_for_the_same_violation() {
    let mut capabilities = Capabilities::new();
    RegistrySpec {
        digests: Some(pin_fixtures().join("digests.yaml")),
        ..RegistrySpec::default()
    }
    .register(&mut capabilities)
    .expect("the digest map loads");
    let host = policy_host_with(capabilities);
    let settings =
        manifest::parse_single(&fs::read_to_string(pin_fixtures().join("settings.yaml")).unwrap())
            .expect("settings.yaml reads");
    let pin_settings = pin::settings_with_resolve_tags(settings.clone()).unwrap();

    let files: Vec<ManifestFile> = expand_paths(&[
        fixtures().join("manifests"),
        pin_fixtures().join("before"),
        pin_fixtures().join("kustomize/before"),
    ])
    .into_iter()
    .map(|input| read_input(&input.unwrap()).unwrap())
    .collect();

    // (file, site) → line, as pin names it.
    let mut pin_lines: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &files {
        let reported: Vec<PinError> =
            match pin::plan_file(file, &host, &pin_settings, Limits::default()) {
                Ok(plan) => plan.left_as_is,
                Err(failure) => failure
                    .errors
                    .into_iter()
                    .chain(failure.left_as_is)
                    .collect(),
            };
        for reason in reported {
            if let Some(line) = reason.line {
                pin_lines.insert((file.name.clone(), violation_key(&reason.message)), line);
            }
        }
    }

    let options = CheckOptions {
        settings,
        metadata: None,
        limits: Limits::default(),
        verify: None,
    };
    let report = check_files(files, &host, &options);
    let mut compared = Vec::new();
    let mut differ = Vec::new();
    for file in &report.files {
        for object in &file.objects {
            let Outcome::Rejected { violations, .. } = &object.outcome else {
                continue;
            };
            for violation in violations {
                let key = (file.file.clone(), violation_key(&violation.message));
                let Some(&pin_line) = pin_lines.get(&key) else {
                    continue;
                };
                if pin_line != violation.line {
                    differ.push(format!(
                        "{}: check {} pin {pin_line}: {}",
                        file.file, violation.line, violation.message
                    ));
                }
                compared.push(violation.message.clone());
            }
        }
    }
    assert!(
        differ.is_empty(),
        "pin and check name different lines:\n{}",
        differ.join("\n")
    );
    // Both report the malformed images, the unpinned ones pin cannot resolve offline, and the kustomize tree's.
    assert!(
        compared.len() >= 20,
        "only {} lines compared: {compared:#?}",
        compared.len()
    );
    assert!(
        compared
            .iter()
            .any(|message| message.ends_with("has no image")),
        "{compared:#?}"
    );
}

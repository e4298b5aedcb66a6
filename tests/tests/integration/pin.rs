//! `host-harness pin` as a user runs it: the built CLI, the real policy.wasm, and real registries on loopback
//! (e2e/registry.sh) or an offline `--digests` map.
//!
//! tests/fixtures/pin/before/ must become exactly after/ (byte for byte); `--check` and `--dry-run` change nothing;
//! a stopped registry, a missing image, missing credentials and scalars pin cannot rewrite faithfully leave their
//! file untouched with an error naming the image and why (exit 2), while a rejection pinning cannot fix (a badly
//! pinned image) is left as is and the file's other images are pinned; credentials come from a Docker config and
//! the password appears in no output.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::registry_support::{self, Registries};
use crate::support::{self, harness_binary, policy_wasm};

fn fixtures() -> PathBuf {
    support::fixtures().join("pin")
}

fn harness() -> Command {
    let mut command = Command::new(harness_binary());
    // No credentials from the machine running the tests.
    command.env(
        "DOCKER_CONFIG",
        std::env::temp_dir().join("require-digest-no-docker-config"),
    );
    command
}

/// `host-harness pin POLICY --settings-path fixtures/pin/settings.yaml ARGS…`.
fn pin<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    harness()
        .arg("pin")
        .arg(policy_wasm())
        .arg("--settings-path")
        .arg(fixtures().join("settings.yaml"))
        .args(args)
        .output()
        .expect("run host-harness pin")
}

/// `pin` with the offline map of the fixtures: no registry involved.
fn pin_offline<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> =
        vec!["--digests".into(), fixtures().join("digests.yaml").into()];
    all.extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
    pin(all)
}

/// `pin` against the test registries, with credentials for the one behind auth.
fn pin_online(registries: &Registries, paths: &[&Path]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--insecure-registry".into(),
        registries.open.clone().into(),
        "--insecure-registry".into(),
        registries.auth.clone().into(),
        "--docker-config".into(),
        registries.docker_config.clone().into(),
    ];
    args.extend(paths.iter().map(|path| path.as_os_str().to_owned()));
    pin(args)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir` (hidden ones too), by path relative to it, with its bytes.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// Copies the tree `from` into `to`, passing each file's text through `edit`.
fn copy_tree(from: &Path, to: &Path, edit: &dyn Fn(String) -> String) {
    for (relative, bytes) in read_tree(from) {
        let target = to.join(relative);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, edit(String::from_utf8(bytes).unwrap())).unwrap();
    }
}

/// The fixtures name the registries 127.0.0.1:5000 (open) and 127.0.0.1:5001 (auth): the real ports instead.
fn with_real_ports(registries: &Registries) -> impl Fn(String) -> String + '_ {
    move |text: String| {
        text.replace("127.0.0.1:5001/", &format!("{}/", registries.auth))
            .replace("127.0.0.1:5000/", &format!("{}/", registries.open))
    }
}

fn unchanged(text: String) -> String {
    text
}

fn assert_trees_equal(got: &Path, want: &Path) {
    let (got, want) = (read_tree(got), read_tree(want));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (path, bytes) in &want {
        assert!(
            got[path] == *bytes,
            "{} differs:\n--- got\n{}\n--- want\n{}",
            path.display(),
            String::from_utf8_lossy(&got[path]),
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn pins_before_into_exactly_after_against_the_real_registries() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let (tree, want) = (work.path().join("tree"), work.path().join("want"));
    copy_tree(
        &fixtures().join("before"),
        &tree,
        &with_real_ports(registries),
    );
    copy_tree(
        &fixtures().join("after"),
        &want,
        &with_real_ports(registries),
    );

    let output = pin_online(registries, &[&tree]);

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_trees_equal(&tree, &want);
    let report = stderr(&output);
    assert!(
        report.ends_with("pinned 12 images in 4 files; 2 files unchanged; 0 errors\n"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "apps/web.yaml:34: pinned {}/demo/app:1.1 -> {0}/demo/app:1.1@sha256:",
            registries.open
        )),
        "{report}"
    );
    for output in [stdout(&output), report] {
        assert!(
            !output.contains(&registries.password),
            "the password leaked: {output}"
        );
    }
    // The JSON file is still JSON.
    serde_json::from_slice::<serde_json::Value>(&fs::read(tree.join("apps/pod.json")).unwrap())
        .unwrap();
}

#[test]
fn the_offline_map_holds_the_digests_the_registries_serve() {
    let registries = registries_or_skip!();
    let map = fs::read_to_string(fixtures().join("digests.yaml")).unwrap();
    let mut entries = 0;
    for line in map
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
    {
        let (image, digest) = line.rsplit_once(": ").unwrap();
        let (registry, repository_and_tag) = image.split_once('/').unwrap();
        let (registry, credentials) = match registry {
            "127.0.0.1:5000" => (&registries.open, None),
            "127.0.0.1:5001" => (
                &registries.auth,
                Some((registries.user.as_str(), registries.password.as_str())),
            ),
            other => panic!("digests.yaml names an unknown registry {other}"),
        };
        assert_eq!(
            registry_support::served_digest(registry, repository_and_tag, credentials),
            digest,
            "{image}"
        );
        entries += 1;
    }
    assert_eq!(entries, 6);
}

#[test]
fn pins_before_into_exactly_after_offline_with_a_digest_map() {
    let work = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("before"), work.path(), &unchanged);

    let output = pin_offline([work.path()]);

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_trees_equal(work.path(), &fixtures().join("after"));
    assert!(
        stderr(&output).ends_with("pinned 12 images in 4 files; 2 files unchanged; 0 errors\n")
    );

    // Pinning again finds nothing to do.
    let again = pin_offline([work.path()]);
    assert_eq!(again.status.code(), Some(0), "stderr: {}", stderr(&again));
    assert_eq!(
        stderr(&again),
        "pinned 0 images in 0 files; 6 files unchanged; 0 errors\n"
    );
    assert_trees_equal(work.path(), &fixtures().join("after"));
}

#[test]
fn check_and_dry_run_change_nothing() {
    let work = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("before"), work.path(), &unchanged);
    let before = read_tree(work.path());

    let check = pin_offline([OsStr::new("--check"), work.path().as_os_str()]);
    assert_eq!(check.status.code(), Some(1), "stderr: {}", stderr(&check));
    assert_eq!(read_tree(work.path()), before, "--check changed files");
    assert!(stdout(&check).is_empty(), "{}", stdout(&check));
    assert!(
        stderr(&check).ends_with("would pin 12 images in 4 files; 2 files unchanged; 0 errors\n"),
        "{}",
        stderr(&check)
    );

    // From the tree's directory, as a user would run it, so the diff names files relative to it.
    let dry_run = harness()
        .current_dir(work.path())
        .arg("pin")
        .arg(policy_wasm())
        .arg("--settings-path")
        .arg(fixtures().join("settings.yaml"))
        .arg("--digests")
        .arg(fixtures().join("digests.yaml"))
        .args(["--dry-run", "apps", "jobs", "values.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        dry_run.status.code(),
        Some(0),
        "stderr: {}",
        stderr(&dry_run)
    );
    assert_eq!(read_tree(work.path()), before, "--dry-run changed files");
    let diff = stdout(&dry_run);
    assert!(
        diff.starts_with("--- apps/pod.json\n+++ apps/pod.json\n@@ -7,17 +7,17 @@\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-          image: '127.0.0.1:5000/demo/app:1.0'\n"),
        "{diff}"
    );
    assert!(diff.contains("\n+          image: '127.0.0.1:5000/demo/app:1.0@sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e'\n"), "{diff}");
    assert!(
        !diff.contains("pinned.yaml") && !diff.contains("values.yaml"),
        "files with nothing to pin have no diff"
    );
    assert!(
        stderr(&dry_run).ends_with("would pin 12 images in 4 files; 2 files unchanged; 0 errors\n"),
        "{}",
        stderr(&dry_run)
    );

    // The diff is a real patch: applied to the untouched tree, it gives after/.
    let mut patch = Command::new("patch")
        .current_dir(work.path())
        .args(["-p0", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run patch");
    patch
        .stdin
        .take()
        .unwrap()
        .write_all(diff.as_bytes())
        .unwrap();
    assert!(patch.wait().unwrap().success());
    assert_trees_equal(work.path(), &fixtures().join("after"));

    // Once pinned, --check passes.
    let check = pin_offline([OsStr::new("--check"), work.path().as_os_str()]);
    assert_eq!(check.status.code(), Some(0), "stderr: {}", stderr(&check));
}

#[test]
fn a_stopped_registry_fails_clearly_and_changes_nothing() {
    // Registries of this test's own, started and then stopped: their port no longer answers.
    let state = tempfile::tempdir().unwrap();
    let Some(stopped) = registry_support::start_own(&state.path().join("registry")) else {
        return; // skipped on purpose (REQUIRE_DIGEST_SKIP_REGISTRY=1), and said so
    };
    // `stop` deletes the state directory, Docker config included: keep a copy, credentials still apply.
    let docker_config = state.path().join("docker-config.json");
    fs::copy(&stopped.docker_config, &docker_config).unwrap();
    registry_support::stop(&stopped.state_dir);
    let stopped = Registries {
        docker_config,
        ..stopped
    };
    let work = tempfile::tempdir().unwrap();
    copy_tree(
        &fixtures().join("before"),
        work.path(),
        &with_real_ports(&stopped),
    );
    let before = read_tree(work.path());

    let output = pin_online(&stopped, &[work.path()]);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(read_tree(work.path()), before, "a file changed");
    let report = stderr(&output);
    let web = work.path().join("apps/web.yaml").display().to_string();
    let image = format!("{}/demo/app:1.1", stopped.open);
    let line = report
        .lines()
        .find(|line| {
            line.starts_with(&format!(
                "error: {web}:34: Deployment web: container \"web\""
            ))
        })
        .unwrap_or_else(|| panic!("no error for the web container: {report}"));
    assert!(
        line.contains(&format!(
            "image {image:?} could not be resolved to a digest: "
        )),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            "{image}: connection refused by registry {} (is it running?)",
            stopped.open
        )),
        "{line}"
    );
    // One error per image site (the aliased image of nightly.yaml counts twice), every changed file untouched.
    assert!(
        report.ends_with(
            "pinned 0 images in 0 files; 2 files unchanged; 13 errors (4 files left untouched)\n"
        ),
        "{report}"
    );
}

#[test]
fn a_missing_image_leaves_its_file_untouched_and_the_others_are_pinned() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("missing.yaml");
    let fine = work.path().join("fine.yaml");
    let pod = |name: &str, images: &[&str]| {
        let containers: String = images
            .iter()
            .enumerate()
            .map(|(index, image)| {
                format!(
                    "    - name: c{index}\n      image: {}/{image}\n",
                    registries.open
                )
            })
            .collect();
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n{containers}"
        )
    };
    let missing_text = pod(
        "missing",
        &["demo/app:1.0", "demo/app:9.9", "demo/nothing-here:1.0"],
    );
    fs::write(&missing, &missing_text).unwrap();
    fs::write(&fine, pod("fine", &["demo/app:1.0"])).unwrap();

    let output = pin_online(registries, &[&missing, &fine]);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(
        fs::read_to_string(&missing).unwrap(),
        missing_text,
        "the file with a missing image changed"
    );
    assert!(
        fs::read_to_string(&fine)
            .unwrap()
            .contains("/demo/app:1.0@sha256:5d8d7176"),
        "the other file is pinned"
    );
    let report = stderr(&output);
    for (line, image) in [(10, "demo/app:9.9"), (12, "demo/nothing-here:1.0")] {
        let image = format!("{}/{image}", registries.open);
        let expected = format!(
            "error: {}:{line}: Pod missing: container",
            missing.display()
        );
        let found = report
            .lines()
            .find(|l| l.starts_with(&expected))
            .unwrap_or_else(|| panic!("{expected}: {report}"));
        assert!(
            found.contains(&format!(
                "image {image:?} could not be resolved to a digest: "
            )),
            "{found}"
        );
        assert!(
            found.contains(&format!(
                "{image}: not found in registry {}: ",
                registries.open
            )),
            "{found}"
        );
    }
    assert!(
        report.ends_with(
            "pinned 1 image in 1 file; 0 files unchanged; 2 errors (1 file left untouched)\n"
        ),
        "{report}"
    );
}

#[test]
fn credentials_come_from_the_docker_config_and_never_show() {
    let registries = registries_or_skip!();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("private.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: private}}\nspec:\n  containers:\n  - name: app\n    image: {}/private/app:1.0\n",
        registries.auth
    );
    let run = |docker_config_dir: Option<&Path>, extra: &[&str]| {
        fs::write(&file, &text).unwrap();
        let mut command = harness();
        if let Some(dir) = docker_config_dir {
            command.env("DOCKER_CONFIG", dir);
        }
        command
            .arg("pin")
            .arg(policy_wasm())
            .args(["--insecure-registry", &registries.auth, "--verbose"])
            .args(extra)
            .arg(&file)
            .output()
            .unwrap()
    };
    let no_leak = |output: &Output, secrets: &[&str]| {
        for text in [stdout(output), stderr(output)] {
            for secret in secrets {
                assert!(!text.contains(secret), "{secret:?} leaked: {text}");
            }
        }
    };

    // From $DOCKER_CONFIG/config.json, as docker itself reads it.
    let config_dir = work.path().join("docker");
    fs::create_dir(&config_dir).unwrap();
    fs::copy(&registries.docker_config, config_dir.join("config.json")).unwrap();
    let output = run(Some(&config_dir), &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(
        fs::read_to_string(&file)
            .unwrap()
            .contains("/private/app:1.0@sha256:fb94535030e1")
    );
    no_leak(&output, &[&registries.password]);

    // No credentials: a clear error, the file untouched.
    let output = run(None, &[]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    assert!(
        stderr(&output).contains("requires authentication"),
        "{}",
        stderr(&output)
    );

    // Wrong credentials: rejected, and neither password shows.
    let wrong = work.path().join("wrong.json");
    let wrong_password = "not-the-password-7f3a9c";
    let auth = base64_encode(&format!("{}:{wrong_password}", registries.user));
    fs::write(
        &wrong,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registries.auth
        ),
    )
    .unwrap();
    let output = run(None, &["--docker-config", wrong.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    assert!(
        stderr(&output).contains("rejected the credentials"),
        "{}",
        stderr(&output)
    );
    no_leak(&output, &[&registries.password, wrong_password, &auth]);
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn what_cannot_be_rewritten_faithfully_is_refused_and_left_untouched() {
    let work = tempfile::tempdir().unwrap();
    let pod = |spec: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{spec}");
    let cases = [
        (
            "block.yaml",
            pod(
                "spec:\n  containers:\n  - name: app\n    image: >-\n      127.0.0.1:5000/demo/app:1.0\n",
            ),
            // The line where the scalar starts: its `>-` indicator.
            "error: {file}:8: image \"127.0.0.1:5000/demo/app:1.0\" is a block scalar (`|` or `>`), which pin does not rewrite",
        ),
        (
            "multiline.yaml",
            pod(
                "spec:\n  containers:\n  - name: app\n    image: \"127.0.0.1:5000/demo/\\\n      app:1.0\"\n",
            ),
            "error: {file}:8: image \"127.0.0.1:5000/demo/app:1.0\" is written over several lines",
        ),
        (
            "alias.yaml",
            pod(
                "  annotations:\n    source: &img 127.0.0.1:5000/demo/app:1.0\nspec:\n  containers:\n  - name: app\n    image: *img\n",
            ),
            "error: {file}:9: an image shares its text with /spec/containers/0/image through a YAML alias or merge key",
        ),
        (
            "broken.yaml",
            "apiVersion: v1\nkind: Pod\nspec: [unclosed\n".to_owned(),
            "error: {file}:4: not valid YAML or JSON",
        ),
    ];
    for (name, text, _) in &cases {
        fs::write(work.path().join(name), text).unwrap();
    }
    let good = work.path().join("good.yaml");
    fs::write(
        &good,
        pod("spec:\n  containers:\n  - {name: app, image: 127.0.0.1:5000/demo/app:1.0}\n"),
    )
    .unwrap();
    // A badly pinned image is no failure of pin's: pinning cannot fix it, so it is left as is, on its line, and the
    // file's other image is pinned.
    let badly_pinned = work.path().join("badly-pinned.yaml");
    fs::write(
        &badly_pinned,
        pod(
            "spec:\n  containers:\n  - name: app\n    image: 127.0.0.1:5000/demo/app:1.0@sha256:abc\n  - name: ok\n    image: 127.0.0.1:5000/demo/app:1.1\n",
        ),
    )
    .unwrap();

    let output = pin_offline([work.path()]);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let report = stderr(&output);
    for (name, text, expected) in &cases {
        let file = work.path().join(name);
        assert_eq!(&fs::read_to_string(&file).unwrap(), text, "{name} changed");
        let expected = expected.replace("{file}", &file.display().to_string());
        assert!(
            report.contains(&expected),
            "expected {expected:?} in:\n{report}"
        );
    }
    assert!(
        fs::read_to_string(&good)
            .unwrap()
            .contains("image: 127.0.0.1:5000/demo/app:1.0@sha256:5d8d"),
        "the good file is pinned"
    );
    let badly_pinned_text = fs::read_to_string(&badly_pinned).unwrap();
    assert!(
        badly_pinned_text.contains("image: 127.0.0.1:5000/demo/app:1.0@sha256:abc\n")
            && badly_pinned_text.contains("image: 127.0.0.1:5000/demo/app:1.1@sha256:470c"),
        "{badly_pinned_text}"
    );
    let left = format!(
        "{}:8: left as is: Pod p: container \"app\" (spec.containers[0]) image \"127.0.0.1:5000/demo/app:1.0@sha256:abc\" is invalid",
        badly_pinned.display()
    );
    assert!(report.contains(&left), "expected {left:?} in:\n{report}");
    assert!(
        report.ends_with(
            "pinned 2 images in 2 files; 0 files unchanged; 4 errors (4 files left untouched); 1 rejection left as is\n"
        ),
        "{report}"
    );
}

#[test]
fn stdin_is_pinned_to_stdout() {
    let before = fs::read(fixtures().join("before/apps/web.yaml")).unwrap();
    let mut child = harness()
        .arg("pin")
        .arg(policy_wasm())
        .arg("--settings-path")
        .arg(fixtures().join("settings.yaml"))
        .arg("--digests")
        .arg(fixtures().join("digests.yaml"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&before).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(
        output.stdout == fs::read(fixtures().join("after/apps/web.yaml")).unwrap(),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("<stdin>:30: pinned 127.0.0.1:5000/demo/app:1.0 -> "),
        "{}",
        stderr(&output)
    );

    let output = pin_offline([OsStr::new("-"), fixtures().join("before").as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`-` (pin stdin to stdout) cannot be combined with other paths"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn permissions_are_kept_and_invalid_settings_change_nothing() {
    let work = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("before"), work.path(), &unchanged);
    let web = work.path().join("apps/web.yaml");
    fs::set_permissions(&web, fs::Permissions::from_mode(0o640)).unwrap();
    let before = read_tree(work.path());

    let output = harness()
        .arg("pin")
        .arg(policy_wasm())
        .args(["--settings-json", r#"{"exemptImages": "not-a-list"}"#])
        .arg("--digests")
        .arg(fixtures().join("digests.yaml"))
        .arg(work.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("Provided settings are not valid: exemptImages must be a list of strings"),
        "{}",
        stderr(&output)
    );
    assert_eq!(read_tree(work.path()), before);

    let output = pin_offline([work.path()]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(
        fs::metadata(&web).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn a_registry_that_does_not_answer_gives_its_timeout_not_the_policy_deadline() {
    // Accepts connections (the kernel does, into the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let registry = silent.local_addr().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("slow.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: slow}}\nspec:\n  containers:\n  \
         - {{name: a, image: {registry}/demo/a:1}}\n  - {{name: b, image: {registry}/demo/b:1}}\n"
    );
    fs::write(&file, &text).unwrap();

    // Each lookup takes the registry timeout (1s), longer than the policy's deadline (0.5s): the evaluation runs out
    // of time, and the retries find the lookups' outcomes in the per-run cache.
    let output = harness()
        .arg("pin")
        .arg(policy_wasm())
        .args([
            "--timeout",
            "0.5",
            "--registry-timeout",
            "1",
            "--insecure-registry",
            &registry,
        ])
        .arg(&file)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    let report = stderr(&output);
    for image in ["demo/a:1", "demo/b:1"] {
        let image = format!("{registry}/{image}");
        assert!(
            report.contains(&format!(
                "{image}: registry {registry} did not answer within 1s"
            )),
            "{report}"
        );
    }
    assert!(!report.contains("deadline"), "{report}");
    drop(silent);
}

#[test]
fn crlf_line_ends_trailing_blanks_and_non_ascii_text_are_kept() {
    const APP: &str = "sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e";
    const APP_11: &str = "sha256:470cd0da858a3325a9819eb113804c7db33b6978544cfa31c324ce10b1ea6c2f";
    let before = "# ünïcödé ✓\r\napiVersion: v1\r\nkind: Pod\r\nmetadata: {name: u, annotations: {note: \"日本語\"}}\r\n\
                  spec:\r\n  containers: [{name: \"café✓\", image: 127.0.0.1:5000/demo/app:1.0}]\r\n  \
                  initContainers:\r\n  - name: b\r\n    image: \"127.0.0.1:5000/demo/app:1.1\"   \r\n";
    let after = before
        .replace("demo/app:1.0}", &format!("demo/app:1.0@{APP}}}"))
        .replace("demo/app:1.1\"", &format!("demo/app:1.1@{APP_11}\""));
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("crlf.yaml");
    fs::write(&file, before).unwrap();

    let output = pin_offline([&file]);

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(fs::read_to_string(&file).unwrap(), after);
}

/// A big List (one that `check` and `pin` read item by item, see host-harness/src/manifest/lists.rs), YAML and JSON:
/// every item's image is pinned in place, and the text changes by the digests alone.
#[test]
fn a_big_list_is_pinned_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let image = "127.0.0.1:5000/demo/app:1.0";
    let digest = "sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e";
    let pad = "x".repeat(200);
    let items = 400;
    let yaml_items: String = (0..items)
        .map(|i| {
            format!(
                "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p{i}, annotations: {{pad: {pad}}}}}\n  spec:\n    containers:\n    - name: app\n      image: {image}\n"
            )
        })
        .collect();
    let json_items: Vec<String> = (0..items)
        .map(|i| {
            format!(
                r#"    {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p{i}", "annotations": {{"pad": "{pad}"}}}}, "spec": {{"containers": [{{"name": "app", "image": "{image}"}}]}}}}"#
            )
        })
        .collect();
    let texts = [
        (
            "pods.yaml",
            format!("apiVersion: v1\nitems:\n{yaml_items}kind: List\n"),
        ),
        (
            "pods.json",
            format!(
                "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n{}\n  ]\n}}\n",
                json_items.join(",\n")
            ),
        ),
    ];
    for (name, text) in &texts {
        assert!(
            text.len() > 64 * 1024,
            "{name} is big enough to be read item by item"
        );
        fs::write(dir.path().join(name), text).unwrap();
    }
    let output = pin_offline([dir.path().join("pods.yaml"), dir.path().join("pods.json")]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The last item's image line, counted in the whole file.
    assert!(
        stderr(&output).contains(&format!(
            "pods.yaml:{}: pinned {image} -> {image}@{digest}",
            2 + 7 * items
        )),
        "{}",
        stderr(&output)
    );
    for (name, text) in &texts {
        let pinned = fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(
            pinned.matches(&format!("{image}@{digest}")).count(),
            items,
            "{name}"
        );
        assert_eq!(
            &pinned.replace(&format!("@{digest}"), ""),
            text,
            "{name}: only digests were added"
        );
    }
}

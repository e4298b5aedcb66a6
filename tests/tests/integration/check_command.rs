//! `check` on real inputs with the real policy: the library (verdicts, lines, skipping by metadata) and
//! the binary (exit statuses, every output format parsed back, stdin, colour), including the shared
//! corpus of real-world manifests and templates.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use host_harness::check::{CheckOptions, check, check_files};
use host_harness::manifest::{Limits, ManifestFile, expand_paths};
use host_harness::metadata::Metadata;
use host_harness::report::Outcome;
use serde_json::{Value, json};

use crate::support::{harness_binary, policy_host, policy_wasm, repo_root};

const PINNED: &str =
    "nginx:1.27@sha256:27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c01184a07300a5a";

fn corpus() -> PathBuf {
    repo_root().join("../shared/corpus")
}

fn metadata() -> Metadata {
    Metadata::from_file(&repo_root().join("metadata.yml")).expect("the repository's metadata.yml")
}

fn options(metadata: Option<Metadata>) -> CheckOptions {
    CheckOptions {
        settings: json!({}),
        metadata,
        limits: Limits::default(),
        verify: None,
    }
}

fn manifest(name: &str, text: &str) -> ManifestFile {
    ManifestFile::new(name, text)
}

/// Three documents: an unpinned Deployment (its second container's image on line 15), a pinned Pod, a Service.
fn web_yaml() -> String {
    format!(
        "# comment line\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: ok\n          image: {PINNED}\n        - name: app\n          # tag only\n          image: ghcr.io/acme/app:1.0\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pinned}}\nspec:\n  containers: [{{name: c, image: \"{PINNED}\"}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{ports: [{{port: 80}}]}}\n"
    )
}

#[test]
fn verdicts_lines_and_metadata_skips_through_the_real_policy() {
    let host = policy_host();
    let report = check_files(
        vec![manifest("web.yaml", &web_yaml())],
        host,
        &options(Some(metadata())),
    );
    let objects = &report.files[0].objects;
    assert_eq!(objects.len(), 3);

    assert_eq!(
        (objects[0].line, objects[0].describe().as_str()),
        (2, "Deployment shop/web")
    );
    let Outcome::Rejected {
        violations,
        message,
        ..
    } = &objects[0].outcome
    else {
        panic!("{:?}", objects[0])
    };
    assert_eq!(violations.len(), 1, "{message}");
    assert_eq!(violations[0].line, 15, "{:?}", violations[0]);
    assert!(
        violations[0].message.contains("ghcr.io/acme/app:1.0"),
        "{:?}",
        violations[0]
    );

    assert_eq!(objects[1].line, 17);
    assert!(
        matches!(objects[1].outcome, Outcome::Accepted { .. }),
        "{:?}",
        objects[1]
    );
    assert!(
        matches!(&objects[2].outcome, Outcome::Skipped { reason } if reason.contains("core/v1 services"))
    );
    assert_eq!(
        (
            report.summary.accepted,
            report.summary.rejected,
            report.summary.skipped
        ),
        (1, 1, 1)
    );
    assert_eq!(report.summary.exit_code(), 1);

    // Without metadata every object is evaluated: the policy itself accepts the Service.
    let report = check_files(
        vec![manifest("web.yaml", &web_yaml())],
        host,
        &options(None),
    );
    assert_eq!(
        (
            report.summary.accepted,
            report.summary.rejected,
            report.summary.skipped
        ),
        (2, 1, 0)
    );
}

#[test]
fn list_items_are_judged_each_at_its_own_line() {
    let text = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: a}}\n  spec:\n    containers:\n    - {{name: c, image: \"{PINNED}\"}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: b}}\n  spec:\n    containers:\n    - name: c\n      image: busybox\n"
    );
    let report = check_files(
        vec![manifest("list.yaml", &text)],
        policy_host(),
        &options(Some(metadata())),
    );
    let objects = &report.files[0].objects;
    assert_eq!(
        objects.iter().map(|o| o.line).collect::<Vec<_>>(),
        vec![4, 10]
    );
    assert!(matches!(objects[0].outcome, Outcome::Accepted { .. }));
    let Outcome::Rejected { violations, .. } = &objects[1].outcome else {
        panic!("{:?}", objects[1])
    };
    assert_eq!(violations[0].line, 16);
}

#[test]
fn a_broken_file_is_one_error_and_the_others_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a-broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b-web.yaml"), web_yaml()).unwrap();
    std::fs::write(dir.path().join("c-empty.yaml"), "").unwrap();
    std::fs::write(dir.path().join("d-values.yaml"), "replicas: 3\n").unwrap();
    let report = check(
        expand_paths(&[dir.path().to_path_buf()]),
        policy_host(),
        &options(Some(metadata())),
    );
    let broken = &report.files[0];
    let error = broken.error.as_ref().expect("a YAML error");
    assert!(broken.file.ends_with("a-broken.yaml"));
    assert!(error.line.is_some() && error.column.is_some(), "{error}");
    assert!(broken.objects.is_empty());
    assert_eq!(report.files[1].objects.len(), 3);
    assert!(report.files[2].objects.is_empty() && report.files[2].error.is_none());
    // A document that is no Kubernetes object (a values file) cannot reach a cluster: skipped, with why.
    assert!(
        matches!(&report.files[3].objects[0].outcome, Outcome::Skipped { reason } if reason.contains("apiVersion"))
    );
    assert_eq!(report.summary.errors, 1);
    assert_eq!(report.summary.checked, 1 + 3 + 1);
    assert_eq!(report.summary.exit_code(), 2);
}

#[test]
fn the_real_world_corpus_loads_completely() {
    let report = check(
        expand_paths(&[corpus().join("real")]),
        policy_host(),
        &options(Some(metadata())),
    );
    for file in &report.files {
        assert!(file.error.is_none(), "{:?}", file.error);
        for object in &file.objects {
            assert!(
                !matches!(object.outcome, Outcome::Error { .. }),
                "{}: {object:?}",
                file.file
            );
        }
    }
    // 640 documents, of which three *List wrappers hold 39 items: 676 objects. All 73 workloads are judged,
    // the batch/v1beta1 CronJob too: rules match as the API server's default matchPolicy Equivalent does.
    let summary = report.summary;
    assert_eq!(summary.checked, 676, "{summary:?}");
    assert_eq!(summary.accepted + summary.rejected, 73, "{summary:?}");
    assert_eq!(summary.errors, 0);
    // Every violation line points into its file at a line that names the image it reports.
    for file in &report.files {
        let text = std::fs::read_to_string(&file.file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for object in &file.objects {
            if let Outcome::Rejected { violations, .. } = &object.outcome {
                for violation in violations {
                    let image = violation
                        .message
                        .split('"')
                        .nth(3)
                        .expect("the message quotes the image");
                    let line = lines[violation.line - 1];
                    assert!(
                        line.contains(image) || line.contains("image"),
                        "{}:{} {line} / {image}",
                        file.file,
                        violation.line
                    );
                }
            }
        }
    }
}

// ----- the binary -----

fn harness(args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(harness_binary());
    command
        .arg("check")
        .arg(policy_wasm())
        .args(args)
        .env_remove("NO_COLOR");
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("the host-harness binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn fixture_dir() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), web_yaml()).unwrap();
    let path = dir.path().display().to_string();
    (dir, path)
}

fn metadata_path() -> String {
    repo_root().join("metadata.yml").display().to_string()
}

#[test]
fn exit_status_is_0_all_accepted_1_any_rejected_2_any_error() {
    let pinned = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c, image: \"{PINNED}\"}}]}}\n"
    );
    let output = harness(&["-"], Some(&pinned));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output)
            .ends_with("checked 1 objects: 1 accepted, 0 rejected, 0 skipped, 0 errors\n")
    );

    let (_dir, path) = fixture_dir();
    let output = harness(&[&path], None);
    assert_eq!(output.status.code(), Some(1));

    let output = harness(&[&path, "/nonexistent/manifests.yaml"], None);
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(
        text.contains("/nonexistent/manifests.yaml: no such file or directory"),
        "{text}"
    );
    assert!(
        text.contains("ghcr.io/acme/app:1.0"),
        "the other file is still checked: {text}"
    );

    let output = harness(
        &[
            "--settings-json",
            r#"{"allowedAlgorithms": ["md5"]}"#,
            &path,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("Provided settings are not valid"), "{error}");
}

#[test]
fn text_output_groups_by_file_with_file_and_line() {
    let (_dir, path) = fixture_dir();
    let output = harness(&["--metadata", &metadata_path(), &path], None);
    let text = stdout(&output);
    let file = format!("{path}/web.yaml");
    assert!(text.starts_with(&format!("{file}\n")), "{text}");
    assert!(
        text.contains(&format!("rejected {file}:2: Deployment shop/web\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{file}:15: Deployment web: container \"app\"")),
        "{text}"
    );
    assert!(
        text.contains(&format!("accepted {file}:17: Pod pinned\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("skipped  {file}:23: Service web")),
        "{text}"
    );
    assert!(
        text.ends_with("checked 3 objects: 1 accepted, 1 rejected, 1 skipped, 0 errors\n"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );

    let quiet = stdout(&harness(
        &["--metadata", &metadata_path(), "--quiet", &path],
        None,
    ));
    assert!(
        !quiet.contains("accepted ") && !quiet.contains("skipped "),
        "{quiet}"
    );
    assert!(quiet.contains("rejected "), "{quiet}");

    let coloured = stdout(&harness(&["--color", "always", &path], None));
    assert!(coloured.contains("\u{1b}["), "{coloured}");
}

#[test]
fn json_output_is_the_report() {
    let (_dir, path) = fixture_dir();
    let output = harness(
        &["--metadata", &metadata_path(), "--output", "json", &path],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        report["summary"],
        json!({"checked": 3, "accepted": 1, "rejected": 1, "skipped": 1, "errors": 0})
    );
    let web = &report["files"][0]["objects"][0];
    assert_eq!(web["verdict"], "rejected");
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["violations"][0]["line"], 15);
    assert_eq!(report["files"][0]["objects"][2]["verdict"], "skipped");
}

#[test]
fn junit_output_has_a_suite_per_file_and_a_case_per_object() {
    let (_dir, path) = fixture_dir();
    let output = harness(
        &[
            "--metadata",
            &metadata_path(),
            "--output",
            "junit",
            &path,
            "/nonexistent.yaml",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<skipped ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
    assert!(xml.contains("web.yaml:15: Deployment web"), "{xml}");
}

#[test]
fn sarif_output_has_a_result_per_violation_and_error() {
    let (_dir, path) = fixture_dir();
    let output = harness(&["--output", "sarif", &path, "/nonexistent.yaml"], None);
    let sarif: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "host-harness");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:#?}");
    assert_eq!(results[0]["ruleId"], "rejected");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert!(
        location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("web.yaml")
    );
    assert_eq!(location["region"]["startLine"], 15);
    assert_eq!(results[1]["ruleId"], "error");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "/nonexistent.yaml"
    );
}

#[test]
fn github_output_annotates_file_and_line() {
    let (_dir, path) = fixture_dir();
    let output = harness(&["--output", "github", &path], None);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let escaped_path = format!("{path}/web.yaml")
        .replace(':', "%3A")
        .replace(',', "%2C");
    assert!(
        lines[0].starts_with(&format!(
            "::error file={escaped_path},line=15,title=Deployment shop/web rejected::"
        )),
        "{text}"
    );
    assert!(lines[0].contains("ghcr.io/acme/app:1.0"), "{text}");
    // No metadata given and none embedded: the policy judges the Service too, and accepts it.
    assert_eq!(
        lines[1],
        "checked 3 objects: 2 accepted, 1 rejected, 0 skipped, 0 errors"
    );
}

#[test]
fn metadata_embedded_in_the_module_selects_objects_like_metadata_yml() {
    // The section as `kwctl annotate` (1.31) lays it out: walrus re-emits the module and appends a custom section
    // named `io.kubewarden.metadata` (policy-evaluator's KUBEWARDEN_CUSTOM_SECTION_METADATA) as the module's last
    // section, minimal LEB128 sizes, holding the JSON of policy-evaluator's `Metadata`.
    let mut module = std::fs::read(policy_wasm()).unwrap();
    let name = b"io.kubewarden.metadata";
    let data = kwctl_metadata_json(&metadata(), "1.31.0");
    let mut payload = leb128(name.len());
    payload.extend_from_slice(name);
    payload.extend_from_slice(data.as_bytes());
    module.push(0);
    module.extend(leb128(payload.len()));
    module.extend(payload);
    let dir = tempfile::tempdir().unwrap();
    let annotated = dir.path().join("annotated.wasm");
    std::fs::write(&annotated, &module).unwrap();
    let embedded = Metadata::from_module(&module)
        .unwrap()
        .expect("the module's io.kubewarden.metadata section is read");
    assert_eq!(embedded.rules, metadata().rules);
    assert_eq!(embedded.mutating, metadata().mutating);
    assert_eq!(embedded.protocol_version.as_deref(), Some("v1"));
    assert_eq!(
        embedded.annotations.unwrap()["io.kubewarden.kwctl"],
        "1.31.0"
    );

    let (_fixtures, path) = fixture_dir();
    let output = Command::new(harness_binary())
        .args([
            "check",
            annotated.to_str().unwrap(),
            "--output",
            "json",
            &path,
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The Service is outside the embedded rules: skipped, as with --metadata metadata.yml.
    assert_eq!(report["summary"]["skipped"], 1, "{report}");
    // The plain module has none: every object is evaluated.
    assert_eq!(
        Metadata::from_module(&std::fs::read(policy_wasm()).unwrap()).unwrap(),
        None
    );
}

/// The bytes kwctl 1.31 stores for `metadata.yml`: `serde_json::to_vec` of policy-evaluator 0.30.4's `Metadata`,
/// which it deserializes from the YAML (dropping fields it does not know: `hostCapabilities`, the old
/// `contextAware`), completes with the protocol version it asks the module for and its own `io.kubewarden.kwctl`
/// annotation, and serializes in its struct's field order, camelCase, defaults spelled out.
fn kwctl_metadata_json(metadata: &Metadata, kwctl_version: &str) -> String {
    let mut annotations = metadata.annotations.clone().unwrap_or_default();
    annotations.insert("io.kubewarden.kwctl".to_owned(), kwctl_version.to_owned());
    format!(
        r#"{{"protocolVersion":"v1","rules":{},"annotations":{},"mutating":{},"backgroundAudit":{},"executionMode":{},"policyType":"kubernetes","contextAwareResources":[]}}"#,
        serde_json::to_string(&metadata.rules).unwrap(),
        serde_json::to_string(&annotations).unwrap(),
        metadata.mutating,
        metadata.background_audit.unwrap_or(true),
        serde_json::to_string(
            metadata
                .execution_mode
                .as_deref()
                .unwrap_or("kubewarden-wapc")
        )
        .unwrap(),
    )
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

#[test]
fn templates_in_the_odd_corpus_are_per_file_errors_and_an_unrendered_image_is_rejected() {
    let output = harness(
        &[
            "--metadata",
            &metadata_path(),
            corpus().join("odd").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    for (file, expected) in [
        ("cert-manager_chart_deployment.yaml", "Helm or Go template"),
        ("flux2_podinfo-build-result.yaml", "Helm or Go template"),
        (
            "ingress-nginx_chart_controller-deployment.yaml",
            "Helm or Go template",
        ),
    ] {
        let error = text
            .lines()
            .find(|line| line.trim_start().starts_with("error") && line.contains(file))
            .unwrap_or_else(|| panic!("no error line for {file}: {text}"));
        assert!(error.contains(expected), "{error}");
    }
    // kubectl reads the knative file (a `${VAR}` is text to YAML): its objects are judged, and the one image that
    // is a placeholder is rejected on its own line as unrendered.
    let unrendered = text
        .lines()
        .find(|line| line.contains("knative-operator_testdata_manifest.yaml:2894: StatefulSet"))
        .unwrap_or_else(|| panic!("no violation on line 2894: {text}"));
    assert!(
        unrendered.contains(
            "looks unrendered (it holds the placeholder `${KNATIVE_KAFKA_DISPATCHER_IMAGE}`): render the template first"
        ),
        "{unrendered}"
    );
    assert!(
        text.ends_with("checked 63 objects: 8 accepted, 1 rejected, 51 skipped, 3 errors\n"),
        "{text}"
    );
}

/// `check` over stdin reads what `helm template … |` or `kustomize build … |` pipe in.
#[test]
fn stdin_is_read_as_a_manifest_stream() {
    let output = harness(&["--output", "json", "-"], Some(&web_yaml()));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0]["file"], "<stdin>");
    assert_eq!(report["summary"]["checked"], 3);
}

//! Manifest loading on real inputs: the shared corpus of real-world manifests and templates, and small
//! YAML written here for each rule of the YAML → JSON conversion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use host_harness::manifest::{
    self, Document, InputPath, Limits, ManifestFile, Style, expand_paths, load_documents,
    objects_of, parse_all, read_input,
};
use serde_json::{Value, json};

/// `../shared/corpus` beside the repository (read-only; CI has it there too).
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn file(name: &str, text: &str) -> ManifestFile {
    ManifestFile::new(name, text)
}

fn load(text: &str) -> Vec<Document> {
    load_documents(&file("test.yaml", text), Limits::default())
        .unwrap_or_else(|error| panic!("{error}"))
}

fn load_error(text: &str) -> manifest::InputError {
    load_documents(&file("test.yaml", text), Limits::default()).expect_err("the text must not load")
}

fn value(text: &str) -> Value {
    let mut documents = load(text);
    assert_eq!(documents.len(), 1, "{text}");
    documents.remove(0).value
}

fn real_files() -> Vec<PathBuf> {
    expand_paths(&[corpus().join("real")])
        .into_iter()
        .map(
            |input| match input.expect("every corpus entry is readable") {
                InputPath::File(path) => path,
                InputPath::Stdin => unreachable!(),
            },
        )
        .collect()
}

#[test]
fn every_real_world_file_loads_with_the_documented_counts() {
    let files = real_files();
    assert_eq!(files.len(), 20, "{files:?}");
    let mut documents = 0;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let file = read_input(&InputPath::File(path.clone())).unwrap();
        for mut document in
            load_documents(&file, Limits::default()).unwrap_or_else(|error| panic!("{error}"))
        {
            // A big List is read item by item, each item a document of its own: the List counts once.
            documents += usize::from(document.pointer.is_empty() || document.pointer == "/items/0");
            for object in objects_of(&mut document) {
                let object = object.unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                *kinds.entry(object.identity.kind).or_default() += 1;
            }
        }
    }
    // The corpus README: 640 documents, 73 workloads.
    assert_eq!(documents, 640);
    let workloads: BTreeMap<&str, usize> = [
        ("CronJob", 1),
        ("DaemonSet", 6),
        ("Deployment", 49),
        ("Job", 7),
        ("Pod", 3),
        ("ReplicaSet", 1),
        ("ReplicationController", 1),
        ("StatefulSet", 5),
    ]
    .into();
    for (kind, count) in &workloads {
        assert_eq!(kinds.get(*kind), Some(count), "{kind}");
    }
}

#[test]
fn parallel_split_parsing_equals_one_sequential_pass_on_real_files() {
    // Object by object (a big List's items are read apart, each a document of its own): pointer, line, value,
    // and the places of the object's scalars.
    let objects = |documents: Vec<Document>| {
        let mut out = Vec::new();
        for mut document in documents {
            for object in objects_of(&mut document).into_iter().flatten() {
                let scalars: Vec<_> = document.scalars[object.scalars.clone()]
                    .iter()
                    .map(|s| {
                        (
                            document.pointer_of(s),
                            s.line,
                            s.column,
                            s.span.clone(),
                            s.style,
                        )
                    })
                    .collect();
                out.push((object.pointer, object.line, object.value, scalars));
            }
        }
        out
    };
    for path in real_files() {
        let file = read_input(&InputPath::File(path.clone())).unwrap();
        let split = objects(load_documents(&file, Limits::default()).unwrap());
        let whole = objects(
            parse_all(&file.text, Limits::default()).unwrap_or_else(|error| panic!("{error}")),
        );
        assert_eq!(split.len(), whole.len(), "{}", path.display());
        for (a, b) in split.iter().zip(&whole) {
            assert!(a == b, "{}: {} differs", path.display(), a.0);
        }
    }
}

/// Every recorded span, cut from the file, is the scalar as written: the value itself when plain,
/// the value between its quotes when quoted. This is what `pin` relies on to rewrite in place.
#[test]
fn scalar_spans_cut_the_scalar_as_written_from_real_files() {
    let mut checked = 0;
    for path in real_files() {
        let file = read_input(&InputPath::File(path.clone())).unwrap();
        for document in load_documents(&file, Limits::default()).unwrap() {
            for scalar in &document.scalars {
                let written = &file.text[scalar.span.clone()];
                let pointer = document.pointer_of(scalar);
                let Some(Value::String(text)) = pointer_in(&document.value, &pointer) else {
                    continue;
                };
                let expected = match scalar.style {
                    Style::Plain if !written.contains('\n') => written,
                    Style::DoubleQuoted | Style::SingleQuoted
                        if !written.contains(['\\', '\n', '\'']) =>
                    {
                        &written[1..written.len() - 1]
                    }
                    _ => continue,
                };
                assert_eq!(
                    expected,
                    text,
                    "{}:{} {}",
                    path.display(),
                    scalar.line,
                    pointer
                );
                let line_text = file.text.lines().nth(scalar.line - 1).unwrap();
                let column_text: String = line_text.chars().skip(scalar.column - 1).collect();
                assert!(
                    column_text.starts_with(written.lines().next().unwrap_or("")),
                    "{}:{}",
                    path.display(),
                    scalar.line
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} scalars checked");
}

fn pointer_in<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    value.pointer(pointer)
}

#[test]
fn tekton_flow_sequences_closed_under_their_key_load_with_true_positions() {
    let path = corpus().join("real/tekton-pipeline_config-source.yaml");
    let file = read_input(&InputPath::File(path)).unwrap();
    let documents = load_documents(&file, Limits::default()).unwrap();
    let controller = documents
        .iter()
        .find(|d| {
            d.value["kind"] == "Deployment"
                && d.value["metadata"]["name"] == "tekton-pipelines-controller"
        })
        .expect("the controller Deployment");
    let args = controller.value["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(args.iter().any(|a| a == "-shell-image"), "{args:?}");
    for scalar in controller
        .scalars
        .iter()
        .filter(|s| controller.pointer_of(s).contains("/args/"))
    {
        let written = &file.text[scalar.span.clone()];
        assert!(
            written.starts_with('"') && written.ends_with('"'),
            "{written}"
        );
    }
}

#[test]
fn helm_templates_are_clear_per_file_errors() {
    for name in [
        "cert-manager_chart_deployment.yaml",
        "ingress-nginx_chart_controller-deployment.yaml",
        "flux2_podinfo-build-result.yaml",
    ] {
        let file = read_input(&InputPath::File(corpus().join("odd").join(name))).unwrap();
        let error = load_documents(&file, Limits::default()).expect_err(name);
        assert!(error.line.is_some() && error.column.is_some(), "{error}");
        assert!(error.message.contains("Helm or Go template"), "{error}");
        assert!(error.file.ends_with(name));
    }
}

#[test]
fn template_placeholders_are_text_for_the_reader() {
    // kubectl reads `${VAR}` as text: whether an image may hold one is the policy's call (it rejects it as
    // unrendered), not a reason to refuse the whole file.
    let file = read_input(&InputPath::File(
        corpus().join("odd/knative-operator_testdata_manifest.yaml"),
    ))
    .unwrap();
    let documents = load_documents(&file, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(documents.iter().any(|document| {
        document.scalars.iter().any(|scalar| {
            scalar.line == 2894
                && file.text[scalar.span.clone()].contains("${KNATIVE_KAFKA_DISPATCHER_IMAGE}")
        })
    }));
    assert_eq!(
        value("command: echo ${HOME} is home\nurl: \"${BASE}/x\"\n")["url"],
        "${BASE}/x"
    );
    assert_eq!(
        value("image: ${REGISTRY}/app:${TAG}\n")["image"],
        "${REGISTRY}/app:${TAG}"
    );
    assert_eq!(
        value("data:\n  X-Request-Start: t=${msec}\n")["data"]["X-Request-Start"],
        "t=${msec}"
    );
}

#[test]
fn plain_scalars_are_typed_as_go_yaml_v2_types_them() {
    let cases = [
        ("a: true", json!(true)),
        ("a: False", json!(false)),
        // YAML 1.1's booleans: kubectl's reader makes them booleans (the API server then refuses them in a
        // string field, so a manifest that means the string quotes it).
        ("a: yes", json!(true)),
        ("a: on", json!(true)),
        ("a: n", json!(false)),
        ("a: OFF", json!(false)),
        ("a: ~", json!(null)),
        ("a:", json!(null)),
        ("a: Null", json!(null)),
        ("a: 42", json!(42)),
        ("a: -7", json!(-7)),
        ("a: 0o17", json!(15)),
        ("a: 0x1F", json!(31)),
        ("a: 012", json!(10)),
        ("a: 0b101", json!(5)),
        ("a: 1.5", json!(1.5)),
        ("a: 1e3", json!(1000.0)),
        ("a: 1_000", json!(1000)),
        ("a: 1:30", json!("1:30")),
        ("a: 2001-12-14", json!("2001-12-14")),
        ("a: 1e400", json!("1e400")),
        ("a: '42'", json!("42")),
        ("a: \"true\"", json!("true")),
        ("a: !!str 42", json!("42")),
        ("a: ! 42", json!("42")),
        ("a: !!float 1", json!(1.0)),
        ("a: |\n  42\n", json!("42\n")),
        ("a: 18446744073709551615", json!(18446744073709551615u64)),
        ("a: nginx:1.27", json!("nginx:1.27")),
        // Keys become strings as sigs.k8s.io/yaml writes them.
        ("a: {1: a}", json!({"1": "a"})),
        ("a: {yes: a}", json!({"true": "a"})),
        ("a: {1.5: a}", json!({"1.5": "a"})),
        ("a: {1e6: a}", json!({"1e+06": "a"})),
        ("a: {0x10: a}", json!({"16": "a"})),
    ];
    for (text, expected) in cases {
        assert_eq!(value(text)["a"], expected, "{text}");
    }
    assert!(
        load_error("a: !!int abc\n")
            .message
            .contains("cannot decode !!str `abc` as a !!int")
    );
    // No JSON form: kubectl refuses the document.
    assert!(load_error("a: .inf\n").message.contains("no JSON form"));
    assert!(
        load_error("~: a\n")
            .message
            .contains("unsupported mapping key")
    );
}

#[test]
fn keys_duplicates_and_merges_behave_like_kubectl() {
    // Keys are text as written.
    assert_eq!(value("1: a\ntrue: b\n"), json!({"1": "a", "true": "b"}));
    // The last duplicate wins, as in sigs.k8s.io/yaml; both positions are recorded, the last is current.
    let documents = load("image: first:1\nimage: second:2\n");
    assert_eq!(documents[0].value["image"], "second:2");
    assert_eq!(documents[0].scalars.len(), 2);
    assert_eq!(documents[0].scalar_at("/image").unwrap().line, 2);
    // Merge keys, as go-yaml v2 applies them: the merged keys are set where `<<` is written, so a key written
    // before the merge is overridden by it and a key written after it wins.
    let merged =
        value("base: &b {a: 1, b: 2}\nbefore:\n  b: 3\n  <<: *b\nafter:\n  <<: *b\n  b: 3\n");
    assert_eq!(merged["before"], json!({"a": 1, "b": 2}));
    assert_eq!(merged["after"], json!({"a": 1, "b": 3}));
    assert!(load_error("a:\n  <<: 5\n").message.contains("merge key"));
    // A mapping as a key is what an unrendered template looks like.
    assert!(
        load_error("labels:\n  app: {{ .name }}\n")
            .message
            .contains("mapping key is itself a mapping")
    );
}

#[test]
fn alias_bombs_and_deep_nesting_are_bounded() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        bomb.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            [previous.as_str(); 10].join(", ")
        ));
    }
    let error = load_error(&bomb);
    assert!(error.message.contains("billion laughs"), "{error}");
    assert!(error.line.is_some());

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let error = load_error(&deep);
    assert!(
        error.message.contains("nesting deeper than 128 levels"),
        "{error}"
    );
    let deep_block: String = (0..200)
        .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
        .collect();
    let error = load_error(&deep_block);
    assert!(
        error.message.contains("nesting deeper than 128 levels"),
        "{error}"
    );
    assert_eq!(error.line, Some(129), "{error}");
    // Just inside the limit loads.
    let fine = format!("{}{}", "[".repeat(128), "]".repeat(128));
    load(&fine);
    // Small, honest reuse of anchors is fine.
    let reused = value("env: &env [{name: A, value: b}]\nfirst: *env\nsecond: *env\n");
    assert_eq!(reused["first"], reused["second"]);
    assert_eq!(reused["first"], reused["env"]);
}

#[test]
fn positions_are_file_lines_columns_and_byte_spans_with_non_ascii_text() {
    let text = "# ünïcödé comment\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"pöd\"\n  annotations: {note: 'é', anchored: &x \"nginx:1\"}\n---\nkind: Other\nimage: \u{1F600}:tag # emoji\n";
    let documents = load(text);
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[0].line, 3);
    assert_eq!(documents[1].line, 9);
    let name = documents[0].scalar_at("/metadata/name").unwrap();
    assert_eq!((name.line, name.column), (6, 9));
    assert_eq!(&text[name.span.clone()], "\"pöd\"");
    assert_eq!(name.style, Style::DoubleQuoted);
    let anchored = documents[0]
        .scalar_at("/metadata/annotations/anchored")
        .unwrap();
    assert_eq!(&text[anchored.span.clone()], "\"nginx:1\"");
    let image = documents[1].scalar_at("/image").unwrap();
    assert_eq!(&text[image.span.clone()], "\u{1F600}:tag");
    assert_eq!((image.line, image.column), (10, 8));
}

#[test]
fn pointers_escape_slashes_and_tildes() {
    let documents = load("metadata:\n  annotations:\n    example.com/a~b: v\n");
    assert_eq!(
        documents[0].pointer_of(&documents[0].scalars[0]),
        "/metadata/annotations/example.com~1a~0b"
    );
}

#[test]
fn documents_are_cut_at_every_marker_line_as_kubectl_cuts_them() {
    let text = "a: 1\n---\nb: |\n  ---not a marker\n  text\n--- # comment\nc: 3\n---\n";
    let chunks = manifest::yaml::split_documents(text);
    assert_eq!(
        chunks.iter().map(|c| c.first_line).collect::<Vec<_>>(),
        vec![1, 2, 6, 8]
    );
    let documents = load(text);
    // The final `---` starts an empty document, which holds no object and is dropped.
    assert_eq!(documents.len(), 3);
    assert_eq!(documents[1].value["b"], "---not a marker\ntext\n");
    // kubectl cuts at every `---` line and drops it, so a directive is left without the document it announces.
    assert_eq!(
        manifest::yaml::split_documents("%YAML 1.1\n---\na: 1\n---\nb: 2\n").len(),
        3
    );
    assert!(
        load_error("%YAML 1.1\n---\na: 1\n---\nb: 2\n")
            .message
            .contains("did not find expected <document start>")
    );
    // CRLF line ends.
    let crlf = load("a: 1\r\n---\r\nb: x\r\n");
    assert_eq!(crlf[1].value["b"], "x");
    assert_eq!(crlf[1].line, 3);
}

#[test]
fn yaml_errors_give_the_file_line_and_column() {
    let error = load_error("a: 1\n---\nb: [1, 2\nc: 3\n");
    assert_eq!(error.file, "test.yaml");
    assert!(error.line.unwrap() >= 3, "{error}");
    assert!(error.to_string().starts_with("test.yaml:"), "{error}");
    assert!(!error.message.contains("Helm"), "{error}");
}

#[test]
fn lists_and_star_list_wrappers_are_unwrapped_with_item_lines() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b, namespace: ns}\n- just a string\n";
    let mut documents = load(text);
    let objects = objects_of(&mut documents[0]);
    assert_eq!(objects.len(), 3);
    let a = objects[0].as_ref().unwrap();
    assert_eq!(
        (a.identity.kind.as_str(), a.line, a.pointer.as_str()),
        ("Pod", 4, "/items/0")
    );
    let b = objects[1].as_ref().unwrap();
    assert_eq!(b.identity.describe(), "Deployment ns/b");
    assert_eq!(
        (
            b.identity.group.as_str(),
            b.identity.resource.as_str(),
            b.line
        ),
        ("apps", "deployments", 7)
    );
    let error = objects[2].as_ref().unwrap_err();
    assert_eq!(error.line, 10);
    assert!(error.message.contains("found a string"), "{error}");

    let mut documents = load(
        "apiVersion: v1\nkind: PodList\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n",
    );
    let objects = objects_of(&mut documents[0]);
    assert_eq!(objects[0].as_ref().unwrap().identity.describe(), "Pod p");
}

#[test]
fn non_objects_are_errors_not_silently_skipped() {
    for (text, expected) in [
        ("- a\n- b\n", "found a list"),
        ("kind: Pod\n", "`apiVersion` is missing"),
        ("apiVersion: v1\nkind: 3\n", "`kind` must be a string"),
        (
            "apiVersion: a/b/c\nkind: X\n",
            "is not `version` or `group/version`",
        ),
    ] {
        let mut documents = load(text);
        let objects = objects_of(&mut documents[0]);
        let error = objects[0].as_ref().unwrap_err();
        assert!(error.message.contains(expected), "{text}: {error}");
    }
}

#[test]
fn admission_requests_carry_the_api_servers_names() {
    let mut documents =
        load("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: jobs}\n");
    let object = objects_of(&mut documents[0]).remove(0).unwrap();
    let request = manifest::admission_request(object.value.clone(), &object.identity, "uid-1");
    assert_eq!(request["uid"], "uid-1");
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(
        request["kind"],
        json!({"group": "batch", "version": "v1", "kind": "CronJob"})
    );
    assert_eq!(
        request["resource"],
        json!({"group": "batch", "version": "v1", "resource": "cronjobs"})
    );
    assert_eq!(request["requestKind"], request["kind"]);
    assert_eq!(request["requestResource"], request["resource"]);
    assert_eq!(
        (request["name"].as_str(), request["namespace"].as_str()),
        (Some("nightly"), Some("jobs"))
    );
    assert_eq!(request["object"], object.value);
    assert_eq!(request["dryRun"], false);
    assert!(request["userInfo"]["username"].is_string());

    let mut documents = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n");
    let object = objects_of(&mut documents[0]).remove(0).unwrap();
    let request = manifest::admission_request(object.value, &object.identity, "uid-2");
    assert_eq!(request["kind"]["group"], "");
    assert_eq!(request["resource"]["resource"], "namespaces");
    assert!(request.get("namespace").is_none());
}

#[test]
fn inputs_expand_directories_sorted_skip_hidden_and_report_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/nested")).unwrap();
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    std::fs::write(root.join("b/nested/z.yml"), "a: 1\n").unwrap();
    std::fs::write(root.join("a.json"), "{\"a\": 1}").unwrap();
    std::fs::write(root.join("b/c.yaml"), "").unwrap();
    std::fs::write(root.join("b/notes.txt"), "not a manifest").unwrap();
    std::fs::write(root.join(".github/workflows/ci.yml"), "on: push\n").unwrap();
    std::fs::write(root.join("binary.yaml"), b"apiVersion: v1\n\0\x01\x02").unwrap();
    std::fs::write(root.join("latin1.yaml"), b"a: 1\nname: caf\xe9\n").unwrap();
    std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();

    let inputs = expand_paths(&[
        root.to_path_buf(),
        root.join("missing.yaml"),
        PathBuf::from("-"),
    ]);
    let names: Vec<String> = inputs
        .iter()
        .map(|input| match input {
            Ok(path) => path
                .display_name()
                .strip_prefix(&root.display().to_string())
                .unwrap_or("<stdin>")
                .to_owned(),
            Err(error) => format!(
                "error {}: {}",
                error
                    .file
                    .strip_prefix(&root.display().to_string())
                    .unwrap(),
                error.message
            ),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "/a.json".to_owned(),
            "/b/c.yaml".to_owned(),
            format!(
                "error /b/loop: symbolic link loop (back to {}); not followed",
                root.display()
            ),
            "/b/nested/z.yml".to_owned(),
            "/binary.yaml".to_owned(),
            "/latin1.yaml".to_owned(),
            "error /missing.yaml: no such file or directory".to_owned(),
            "<stdin>".to_owned(),
        ]
    );

    let empty = read_input(&InputPath::File(root.join("b/c.yaml"))).unwrap();
    assert!(
        load_documents(&empty, Limits::default())
            .unwrap()
            .is_empty()
    );
    let binary = read_input(&InputPath::File(root.join("binary.yaml"))).unwrap_err();
    assert!(binary.message.starts_with("binary file"), "{binary}");
    assert_eq!((binary.line, binary.column), (Some(2), Some(1)));
    let latin1 = read_input(&InputPath::File(root.join("latin1.yaml"))).unwrap_err();
    assert!(latin1.message.starts_with("invalid UTF-8"), "{latin1}");
    assert_eq!((latin1.line, latin1.column), (Some(2), Some(10)));
}

#[test]
fn single_document_helper_reads_settings_style_files() {
    assert_eq!(manifest::parse_single("").unwrap(), Value::Null);
    assert_eq!(
        manifest::parse_single("{\"a\": [1, \"x\"]}").unwrap(),
        json!({"a": [1, "x"]})
    );
    assert!(manifest::parse_single("a: 1\n---\nb: 2\n").is_err());
}

// ----- what kubectl reads and a stricter reader refused (issue 19); each also in yaml_fidelity's differential -----

fn fidelity_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/yaml-fidelity")
        .join(name)
}

fn load_fixture(name: &str) -> Vec<Document> {
    let file = read_input(&InputPath::File(fidelity_fixture(name))).unwrap();
    load_documents(&file, Limits::default()).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn anchors_on_keys_and_aliases_used_as_keys_load() {
    let documents = load_fixture("key-anchors-and-aliases.yaml");
    let value = &documents[0].value;
    assert_eq!(
        value["metadata"]["labels"],
        json!({"app": "web", "tier": "frontend"})
    );
    assert_eq!(
        value["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "tier": "frontend"})
    );
    assert_eq!(
        value["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web"})
    );
    // An alias to a mapping cannot be a key.
    assert!(
        load_error("a: &m {b: c}\n? *m\n: d\n")
            .message
            .contains("mapping key is itself a mapping")
    );
}

#[test]
fn quoted_scalars_whose_closing_line_sits_at_the_keys_column_load() {
    let args = &load_fixture("quoted-args-closing-at-key-column.yaml")[0].value["spec"]["containers"]
        [0]["args"];
    assert_eq!(*args, json!([" echo starting; exec sleep 3600 "]));
    let command = &load_fixture("quoted-command-closing-at-key-column.yaml")[0].value["spec"]["template"]
        ["spec"]["containers"][0]["command"];
    assert_eq!(*command, json!("[ \"python\", \"-c\", \"print(1)\" ]"));
}

#[test]
fn a_json_stream_with_surrogate_pairs_is_read_as_json() {
    let documents = load_fixture("surrogate-pair-escape.json");
    assert_eq!(documents[0].value["data"]["smile"], "😀");
    // The scalar's position is the JSON text's, escapes and all.
    let file = read_input(&InputPath::File(fidelity_fixture(
        "surrogate-pair-escape.json",
    )))
    .unwrap();
    let smile = documents[0].scalar_at("/data/smile").unwrap();
    assert_eq!(&file.text[smile.span.clone()], "\"\\ud83d\\ude00\"");
    // The same escape in YAML is no YAML escape: refused, as kubectl refuses it.
    let yaml = read_input(&InputPath::File(fidelity_fixture(
        "surrogate-pair-escape-in-yaml.yaml",
    )))
    .unwrap();
    assert!(load_documents(&yaml, Limits::default()).is_err());
}

#[test]
fn utf16_with_a_byte_order_mark_is_decoded_and_utf32_is_named() {
    let source = std::fs::read_to_string(fidelity_fixture("utf16-and-utf32-source.yaml")).unwrap();
    let expected = load(&source);
    for (encoding, bytes) in [
        (
            manifest::Encoding::Utf16Le,
            [0xFF, 0xFE]
                .into_iter()
                .chain(source.encode_utf16().flat_map(u16::to_le_bytes))
                .collect::<Vec<u8>>(),
        ),
        (
            manifest::Encoding::Utf16Be,
            [0xFE, 0xFF]
                .into_iter()
                .chain(source.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
        ),
    ] {
        let file =
            manifest::inputs::text_from_bytes("utf16.yaml".to_owned(), bytes.clone()).unwrap();
        assert_eq!(file.encoding, encoding);
        assert_eq!(file.text, source);
        // pin writes the file back in its own encoding, byte for byte.
        assert_eq!(file.bytes_of(&file.text), bytes);
        let documents = load_documents(&file, Limits::default()).unwrap();
        let values: Vec<&Value> = documents.iter().map(|document| &document.value).collect();
        assert_eq!(
            values,
            expected
                .iter()
                .map(|document| &document.value)
                .collect::<Vec<_>>()
        );
    }
    let utf32: Vec<u8> = [0xFF, 0xFE, 0x00, 0x00]
        .into_iter()
        .chain(source.chars().flat_map(|c| u32::from(c).to_le_bytes()))
        .collect();
    let error = manifest::inputs::text_from_bytes("utf32.yaml".to_owned(), utf32).unwrap_err();
    assert!(error.message.contains("UTF-32LE text"), "{error}");
    assert!(error.message.contains("kubectl cannot read"), "{error}");
}

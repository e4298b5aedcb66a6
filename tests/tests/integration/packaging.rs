//! Kubewarden packaging: artifacthub-pkg.yml, artifacthub-repo.yml, questions-ui.yml and every policy under
//! examples/ parse, agree with metadata.yml (rules, mutation, context awareness, version, names), and every setting
//! they give passes the real module's `validate_settings` through the harness.
//!
//! The settings the module accepts are asked of the module itself (its error for an unknown field lists them), so a
//! setting added to policy/src/settings.rs without a question in the form fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::support::{policy_host, repo_root};

/// The Kubewarden policy resources an example may be.
const POLICY_KINDS: [&str; 2] = ["ClusterAdmissionPolicy", "AdmissionPolicy"];
const POLICY_API_VERSION: &str = "policies.kubewarden.io/v1";
/// The Rancher questions types the form may use for this policy's settings.
const QUESTION_TYPES: [&str; 5] = ["string", "boolean", "int", "enum", "array["];

/// metadata.yml: the fields packaging must agree with. Other fields (e.g. hostCapabilities) are allowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    rules: Value,
    mutating: bool,
    context_aware: bool,
    annotations: Map<String, Value>,
}

/// artifacthub-pkg.yml: every field Artifact Hub and Kubewarden's hub pages need is required here, so a missing one
/// fails to parse with its name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactHubPackage {
    version: String,
    name: String,
    display_name: String,
    created_at: String,
    description: String,
    license: String,
    #[serde(rename = "homeURL")]
    home_url: String,
    containers_images: Vec<ContainerImage>,
    keywords: Vec<String>,
    links: Vec<Link>,
    install: String,
    maintainers: Vec<Person>,
    provider: Provider,
    recommendations: Vec<Recommendation>,
    annotations: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct ContainerImage {
    name: String,
    image: String,
}

#[derive(Debug, Deserialize)]
struct Link {
    name: String,
    url: String,
}

#[derive(Debug, Deserialize)]
struct Person {
    name: String,
    email: String,
}

#[derive(Debug, Deserialize)]
struct Provider {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Recommendation {
    url: String,
}

/// artifacthub-repo.yml.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactHubRepository {
    owners: Vec<Person>,
    #[serde(default)]
    repository_id: Option<String>,
}

/// questions-ui.yml (and the `kubewarden/questions-ui` annotation).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct QuestionsUi {
    questions: Vec<Question>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Question {
    variable: String,
    label: String,
    description: String,
    group: String,
    #[serde(rename = "type")]
    kind: String,
    default: Value,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    value_multiline: Option<bool>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

fn read_yaml<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    parse_yaml(&text, &path.display().to_string())
}

fn parse_yaml<T: DeserializeOwned>(text: &str, what: &str) -> T {
    serde_saphyr::from_str(text)
        .unwrap_or_else(|error| panic!("{what} does not parse as expected:\n{error}"))
}

fn metadata() -> Metadata {
    read_yaml(&repo_root().join("metadata.yml"))
}

fn package() -> ArtifactHubPackage {
    read_yaml(&repo_root().join("artifacthub-pkg.yml"))
}

fn questions() -> QuestionsUi {
    read_yaml(&repo_root().join("questions-ui.yml"))
}

/// A metadata.yml annotation, as text.
fn metadata_annotation(metadata: &Metadata, key: &str) -> String {
    match metadata.annotations.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => panic!("metadata.yml has no annotation {key}"),
    }
}

/// An artifacthub-pkg.yml annotation. Artifact Hub reads every annotation as a string; `kwctl scaffold` quotes
/// booleans ('true'), but an unquoted YAML boolean is read as a boolean, so both are accepted.
fn package_annotation<'a>(package: &'a ArtifactHubPackage, key: &str) -> &'a Value {
    package
        .annotations
        .get(key)
        .unwrap_or_else(|| panic!("artifacthub-pkg.yml has no annotation {key}"))
}

fn annotation_text(package: &ArtifactHubPackage, key: &str) -> String {
    match package_annotation(package, key) {
        Value::String(text) => text.clone(),
        other => panic!("artifacthub-pkg.yml annotation {key} must be a string, found {other}"),
    }
}

fn annotation_bool(package: &ArtifactHubPackage, key: &str) -> bool {
    match package_annotation(package, key) {
        Value::Bool(value) => *value,
        Value::String(text) if text == "true" => true,
        Value::String(text) if text == "false" => false,
        other => {
            panic!("artifacthub-pkg.yml annotation {key} must be 'true' or 'false', found {other}")
        }
    }
}

/// `a, b, c` as a list.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// The settings fields policy.wasm accepts, asked of the module: its error for an unknown field lists them as
/// `(the fields are a, b, c)`.
fn settings_fields_of_module() -> BTreeSet<String> {
    let verdict = policy_host()
        .validate_settings(&json!({ "notASettingOfThisPolicy": true }))
        .expect("validate_settings runs");
    assert!(
        !verdict.valid,
        "the module must reject an unknown settings field, so its field list is complete"
    );
    let message = verdict.message.unwrap_or_default();
    let list = message
        .split_once("(the fields are ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
        .unwrap_or_else(|| {
            panic!("the module's unknown-field error does not list its fields: {message:?}")
        });
    comma_list(list).into_iter().collect()
}

/// Asserts that `settings` pass the module's `validate_settings`.
fn assert_valid_settings(settings: &Value, what: &str) {
    let verdict = policy_host()
        .validate_settings(settings)
        .expect("validate_settings runs");
    assert!(
        verdict.valid,
        "{what}: the module rejects the settings {settings}: {:?}",
        verdict.message
    );
}

/// `YYYY-MM-DDTHH:MM:SS` followed by optional fractional seconds and `Z` or `±HH:MM`: RFC 3339, as Artifact Hub
/// requires for createdAt.
fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shape = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    rest == "Z"
        || (rest.len() == 6 && matches!(&rest[..1], "+" | "-") && rest.as_bytes()[3] == b':')
}

#[test]
fn artifacthub_package_has_every_field_artifact_hub_and_kubewarden_need() {
    let package = package();
    for (field, value) in [
        ("version", &package.version),
        ("name", &package.name),
        ("displayName", &package.display_name),
        ("description", &package.description),
        ("license", &package.license),
        ("homeURL", &package.home_url),
        ("install", &package.install),
        ("provider.name", &package.provider.name),
    ] {
        assert!(
            !value.trim().is_empty(),
            "artifacthub-pkg.yml: {field} is empty"
        );
    }
    assert!(
        is_rfc3339(&package.created_at),
        "createdAt {:?} is not an RFC 3339 time",
        package.created_at
    );
    assert!(
        !package.keywords.is_empty(),
        "artifacthub-pkg.yml: keywords is empty"
    );
    assert!(
        package
            .maintainers
            .iter()
            .all(|person| !person.name.is_empty() && person.email.contains('@')),
        "every maintainer needs a name and an email: {:?}",
        package.maintainers
    );
    assert!(
        !package.maintainers.is_empty(),
        "artifacthub-pkg.yml: no maintainers"
    );
    assert_eq!(
        package.provider.name, "kubewarden",
        "Kubewarden policies are provided by `kubewarden` on Artifact Hub"
    );
    assert!(
        package
            .recommendations
            .iter()
            .any(|recommendation| recommendation.url.contains("kubewarden-controller")),
        "recommend the Kubewarden controller chart: {:?}",
        package.recommendations
    );
    let tag = format!(":v{}", package.version);
    let policy_image = package
        .containers_images
        .iter()
        .find(|image| image.name == "policy")
        .unwrap_or_else(|| {
            panic!(
                "containersImages has no `policy` image: {:?}",
                package.containers_images
            )
        });
    assert!(
        policy_image.image.ends_with(&tag),
        "the policy image {:?} is not tagged {tag}",
        policy_image.image
    );
    assert!(
        package.install.contains(&policy_image.image),
        "install does not name the policy image {:?}",
        policy_image.image
    );
    let download = package
        .links
        .iter()
        .find(|link| link.name == "policy")
        .unwrap_or_else(|| panic!("links has no `policy` download: {:?}", package.links));
    assert!(
        download.url.contains(&format!("/v{}/", package.version))
            && download.url.ends_with(".wasm"),
        "the policy link {:?} is not the v{} policy.wasm",
        download.url,
        package.version
    );
    assert!(
        package.links.iter().any(|link| link.name == "source"),
        "links has no `source`"
    );
    for key in [
        "kubewarden/mutation",
        "kubewarden/resources",
        "kubewarden/rules",
        "kubewarden/questions-ui",
        "kubewarden/contextAware",
    ] {
        package_annotation(&package, key);
    }
}

#[test]
fn artifacthub_package_agrees_with_metadata() {
    let metadata = metadata();
    let package = package();

    let rules: Value = parse_yaml(
        &annotation_text(&package, "kubewarden/rules"),
        "the kubewarden/rules annotation",
    );
    assert_eq!(
        rules, metadata.rules,
        "artifacthub-pkg.yml kubewarden/rules differ from metadata.yml's rules"
    );
    assert_eq!(
        annotation_bool(&package, "kubewarden/mutation"),
        metadata.mutating,
        "artifacthub-pkg.yml kubewarden/mutation differs from metadata.yml's mutating"
    );
    assert_eq!(
        annotation_bool(&package, "kubewarden/contextAware"),
        metadata.context_aware,
        "artifacthub-pkg.yml kubewarden/contextAware differs from metadata.yml's contextAware"
    );
    assert_eq!(
        comma_list(&annotation_text(&package, "kubewarden/resources")),
        comma_list(&metadata_annotation(&metadata, "io.artifacthub.resources")),
        "kubewarden/resources differs from metadata.yml's io.artifacthub.resources"
    );

    // What `kwctl scaffold artifacthub` copies from metadata.yml's annotations.
    assert_eq!(
        package.version,
        metadata_annotation(&metadata, "io.kubewarden.policy.version"),
        "version"
    );
    assert_eq!(
        package.display_name,
        metadata_annotation(&metadata, "io.artifacthub.displayName"),
        "displayName"
    );
    assert_eq!(
        package.description,
        metadata_annotation(&metadata, "io.kubewarden.policy.description"),
        "description"
    );
    assert_eq!(
        package.license,
        metadata_annotation(&metadata, "io.kubewarden.policy.license"),
        "license"
    );
    assert_eq!(
        package.home_url,
        metadata_annotation(&metadata, "io.kubewarden.policy.url"),
        "homeURL"
    );
    assert_eq!(
        package.keywords,
        comma_list(&metadata_annotation(&metadata, "io.artifacthub.keywords")),
        "keywords"
    );
    let oci = metadata_annotation(&metadata, "io.kubewarden.policy.ociUrl");
    let images: Vec<&str> = package
        .containers_images
        .iter()
        .map(|image| image.image.as_str())
        .collect();
    assert_eq!(
        images,
        [format!("{oci}:v{}", package.version)],
        "containersImages is the ociUrl at this version"
    );
}

#[test]
fn the_packaged_questions_ui_is_questions_ui_yml() {
    let package = package();
    let embedded: QuestionsUi = parse_yaml(
        &annotation_text(&package, "kubewarden/questions-ui"),
        "the kubewarden/questions-ui annotation",
    );
    assert_eq!(
        embedded,
        questions(),
        "artifacthub-pkg.yml's kubewarden/questions-ui is not questions-ui.yml"
    );
}

#[test]
fn artifacthub_repository_names_its_owners() {
    let repository: ArtifactHubRepository = read_yaml(&repo_root().join("artifacthub-repo.yml"));
    assert!(
        !repository.owners.is_empty(),
        "artifacthub-repo.yml: no owners"
    );
    for owner in &repository.owners {
        assert!(
            !owner.name.is_empty() && owner.email.contains('@'),
            "owner needs a name and an email: {owner:?}"
        );
    }
    if let Some(id) = &repository.repository_id {
        assert_eq!(
            id.len(),
            36,
            "repositoryID {id:?} is not the UUID Artifact Hub assigns"
        );
    }
}

#[test]
fn the_form_asks_for_every_setting_the_module_accepts_and_no_other() {
    let accepted = settings_fields_of_module();
    let questions = questions();
    let asked: Vec<&str> = questions
        .questions
        .iter()
        .map(|question| question.variable.as_str())
        .collect();
    let asked_set: BTreeSet<String> = asked.iter().map(|variable| variable.to_string()).collect();
    assert_eq!(
        asked.len(),
        asked_set.len(),
        "a setting is asked twice: {asked:?}"
    );
    assert_eq!(
        asked_set, accepted,
        "questions-ui.yml's variables differ from the settings policy.wasm accepts"
    );
    for question in &questions.questions {
        assert!(
            QUESTION_TYPES.contains(&question.kind.as_str()),
            "{}: type {:?} is not one of {QUESTION_TYPES:?}",
            question.variable,
            question.kind
        );
        assert!(
            !question.label.is_empty() && !question.description.is_empty(),
            "{}: no label or description",
            question.variable
        );
        assert_eq!(
            question.group, "Settings",
            "{}: Kubewarden forms group settings under `Settings`",
            question.variable
        );
        let default_fits = match question.kind.as_str() {
            "boolean" => question.default.is_boolean(),
            "array[" => question
                .default
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            "int" => question.default.is_i64(),
            "enum" => question.options.as_ref().is_some_and(|options| {
                question
                    .default
                    .as_str()
                    .is_some_and(|default| options.iter().any(|option| option == default))
            }),
            _ => question.default.is_string(),
        };
        assert!(
            default_fits,
            "{}: default {} does not fit type {:?}",
            question.variable, question.default, question.kind
        );
    }
}

#[test]
fn the_forms_defaults_are_valid_settings_and_each_question_reaches_the_module() {
    let questions = questions().questions;
    let defaults: Map<String, Value> = questions
        .iter()
        .map(|question| (question.variable.clone(), question.default.clone()))
        .collect();
    assert_valid_settings(
        &Value::Object(defaults.clone()),
        "questions-ui.yml's defaults",
    );

    // Each question's variable is read by the module: a value of the wrong type in it is refused, naming it.
    for question in &questions {
        let mut settings = defaults.clone();
        settings.insert(question.variable.clone(), json!({ "not": "a valid value" }));
        let verdict = policy_host()
            .validate_settings(&Value::Object(settings))
            .expect("validate_settings runs");
        let message = verdict.message.unwrap_or_default();
        assert!(
            !verdict.valid && message.contains(&question.variable),
            "an object as {} should be refused with a message naming it; got valid={} {message:?}",
            question.variable,
            verdict.valid
        );
    }
}

#[test]
fn every_option_of_an_enum_question_is_a_valid_setting_and_nothing_else_is() {
    let questions = questions().questions;
    let tag_digest_mismatch = questions
        .iter()
        .find(|question| question.variable == "tagDigestMismatch")
        .expect("questions-ui.yml asks for tagDigestMismatch");
    assert_eq!(tag_digest_mismatch.kind, "enum");
    assert_eq!(tag_digest_mismatch.default, json!("ignore"));
    assert_eq!(
        tag_digest_mismatch.options.as_deref(),
        Some(&["ignore".to_string(), "warn".into(), "reject".into()][..])
    );
    for question in questions.iter().filter(|question| question.kind == "enum") {
        for option in question.options.as_deref().unwrap_or_default() {
            assert_valid_settings(
                &json!({ &question.variable: option }),
                &format!("option {option:?} of {}", question.variable),
            );
        }
        // Fail closed: a value the form does not offer (here, one capitalized) is refused, naming the setting.
        let offered = question.options.as_deref().unwrap_or_default();
        let capitalized = offered[0][..1].to_uppercase() + &offered[0][1..];
        let verdict = policy_host()
            .validate_settings(&json!({ &question.variable: capitalized }))
            .expect("validate_settings runs");
        let message = verdict.message.unwrap_or_default();
        assert!(
            !verdict.valid && message.contains(&question.variable),
            "{}: {capitalized:?} should be refused; got valid={} {message:?}",
            question.variable,
            verdict.valid
        );
    }
}

/// An example policy under examples/, read as a generic document.
struct Example {
    path: PathBuf,
    document: Value,
}

impl Example {
    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn spec(&self, field: &str) -> &Value {
        self.document
            .get("spec")
            .and_then(|spec| spec.get(field))
            .unwrap_or(&Value::Null)
    }
}

fn examples() -> Vec<Example> {
    let dir = repo_root().join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no examples under {}", dir.display());
    paths
        .into_iter()
        .map(|path| Example {
            document: read_yaml(&path),
            path,
        })
        .collect()
}

/// What is wrong with one example; empty when nothing is.
fn example_problems(example: &Example, metadata: &Metadata, module: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let document = &example.document;
    let field = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    if field("apiVersion") != POLICY_API_VERSION {
        problems.push(format!(
            "apiVersion is {:?}, not {POLICY_API_VERSION}",
            field("apiVersion")
        ));
    }
    let kind = field("kind");
    if !POLICY_KINDS.contains(&kind) {
        problems.push(format!("kind is {kind:?}, not one of {POLICY_KINDS:?}"));
    }
    let metadata_field = |name: &str| {
        document
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
    };
    if metadata_field("name").is_none_or(str::is_empty) {
        problems.push("metadata.name is missing".to_string());
    }
    match (kind, metadata_field("namespace")) {
        ("AdmissionPolicy", None) => {
            problems.push("an AdmissionPolicy needs metadata.namespace".to_string())
        }
        ("ClusterAdmissionPolicy", Some(namespace)) => {
            problems.push(format!(
                "a ClusterAdmissionPolicy is not namespaced, found namespace {namespace:?}"
            ));
        }
        _ => {}
    }
    if example.spec("module").as_str() != Some(module) {
        problems.push(format!(
            "spec.module is {}, not {module:?}",
            example.spec("module")
        ));
    }
    if !matches!(example.spec("mode").as_str(), Some("protect" | "monitor")) {
        problems.push(format!(
            "spec.mode is {}, not protect or monitor",
            example.spec("mode")
        ));
    }
    if example.spec("rules") != &metadata.rules {
        problems.push("spec.rules differ from metadata.yml's rules".to_string());
    }
    let settings = example.spec("settings");
    // Pinning changes the object, which policy-server refuses from a policy not deployed as mutating; a mutating
    // policy that never mutates only costs a second webhook.
    let resolves_tags = settings
        .get("resolveTags")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if example.spec("mutating").as_bool() != Some(resolves_tags) {
        problems.push(format!(
            "spec.mutating is {}, but settings.resolveTags is {resolves_tags}: they must agree",
            example.spec("mutating")
        ));
    }
    let verdict = policy_host()
        .validate_settings(settings)
        .expect("validate_settings runs");
    if !verdict.valid {
        problems.push(format!(
            "the module rejects its settings: {}",
            verdict.message.unwrap_or_default()
        ));
    }
    problems
}

#[test]
fn every_example_is_a_kubewarden_policy_for_this_module_with_valid_settings() {
    let metadata = metadata();
    let module = format!(
        "registry://{}:v{}",
        metadata_annotation(&metadata, "io.kubewarden.policy.ociUrl"),
        metadata_annotation(&metadata, "io.kubewarden.policy.version")
    );
    let failures: Vec<String> = examples()
        .iter()
        .flat_map(|example| {
            example_problems(example, &metadata, &module)
                .into_iter()
                .map(move |problem| format!("examples/{}: {problem}", example.name()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_examples_cover_protect_monitor_namespaced_and_mutate_modes() {
    let examples = examples();
    let any = |what: &str, test: &dyn Fn(&Example) -> bool| {
        assert!(examples.iter().any(test), "no example shows {what}");
    };
    any("a ClusterAdmissionPolicy in protect mode", &|example| {
        example.document["kind"] == "ClusterAdmissionPolicy" && example.spec("mode") == "protect"
    });
    any("a namespaced AdmissionPolicy", &|example| {
        example.document["kind"] == "AdmissionPolicy"
    });
    any("monitor mode", &|example| example.spec("mode") == "monitor");
    any(
        "mutate mode (mutating: true, resolveTags: true)",
        &|example| {
            example.spec("mutating") == true && example.spec("settings")["resolveTags"] == true
        },
    );
}

#[test]
fn a_broken_example_is_caught() {
    // The checks above must be able to fail: the protect example with its rules, settings and mode spoiled.
    let metadata = metadata();
    let path = repo_root().join("examples/cluster-admission-policy.yaml");
    let mut document: Value = read_yaml(&path);
    document["spec"]["rules"][0]["operations"] = json!(["CREATE"]);
    document["spec"]["settings"]["allowedAlgorithms"] = json!(["md5"]);
    document["spec"]["mode"] = json!("enforce");
    let problems = example_problems(
        &Example { path, document },
        &metadata,
        "registry://example.test/policy:v0",
    );
    let text = problems.join("\n");
    for expected in [
        "spec.module",
        "spec.mode",
        "spec.rules",
        "rejects its settings",
    ] {
        assert!(
            text.contains(expected),
            "the spoiled example should be reported for {expected}; got:\n{text}"
        );
    }
}

/// Runs ci-recipes/require-digest.sh with the real harness and module on `paths`, offline (`digests`).
fn run_ci_script(paths: &[&Path], digests: &Path, output: &str) -> std::process::Output {
    std::process::Command::new(repo_root().join("ci-recipes/require-digest.sh"))
        .args(paths)
        .env("HOST_HARNESS", crate::support::harness_binary())
        .env("REQUIRE_DIGEST_POLICY", crate::support::policy_wasm())
        .env(
            "REQUIRE_DIGEST_SETTINGS",
            repo_root().join("tests/fixtures/manifest-settings.yaml"),
        )
        .env("REQUIRE_DIGEST_DIGESTS", digests)
        .env("REQUIRE_DIGEST_OUTPUT", output)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("running ci-recipes/require-digest.sh")
}

#[test]
fn the_ci_script_annotates_unpinned_images_and_passes_once_they_are_pinned() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let manifest = work.path().join("web-apps.yaml");
    std::fs::copy(
        repo_root().join("tests/fixtures/manifests/web-apps.yaml"),
        &manifest,
    )
    .expect("copying the fixture");
    let digests = work.path().join("digests.yaml");
    std::fs::write(
        &digests,
        "ghcr.io/acme/checkout:1.8.0: sha256:2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806\n\
         envoyproxy/envoy:v1.31-latest: sha256:27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c01184a07300a5a\n",
    )
    .expect("writing the digests");

    let before = run_ci_script(&[work.path()], &digests, "github");
    let stdout = String::from_utf8_lossy(&before.stdout);
    let stderr = String::from_utf8_lossy(&before.stderr);
    assert_eq!(
        before.status.code(),
        Some(1),
        "unpinned images are findings\n{stdout}\n{stderr}"
    );
    let annotation = format!("::error file={},line=38,", manifest.display());
    assert!(
        stdout.contains(&annotation),
        "check --output github should annotate line 38:\n{stdout}"
    );
    assert!(
        stderr.contains(
            "would pin ghcr.io/acme/checkout:1.8.0 -> ghcr.io/acme/checkout:1.8.0@sha256:2c8b08"
        ),
        "pin --check should say what it would pin:\n{stderr}"
    );

    // What the recipe asks of a team: pin, then the same run passes.
    let pinned = std::process::Command::new(crate::support::harness_binary())
        .arg("pin")
        .arg(crate::support::policy_wasm())
        .arg("--digests")
        .arg(&digests)
        .arg(work.path())
        .output()
        .expect("running host-harness pin");
    assert!(
        pinned.status.success(),
        "pin failed: {}",
        String::from_utf8_lossy(&pinned.stderr)
    );
    let after = run_ci_script(&[work.path()], &digests, "github");
    assert_eq!(
        after.status.code(),
        Some(0),
        "after pin the recipe passes\n{}\n{}",
        String::from_utf8_lossy(&after.stdout),
        String::from_utf8_lossy(&after.stderr)
    );
}

#[test]
fn the_ci_script_refuses_a_missing_policy_with_an_error() {
    let output = std::process::Command::new(repo_root().join("ci-recipes/require-digest.sh"))
        .env("HOST_HARNESS", crate::support::harness_binary())
        .env("REQUIRE_DIGEST_POLICY", "/nonexistent/policy.wasm")
        .output()
        .expect("running ci-recipes/require-digest.sh");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("policy module /nonexistent/policy.wasm not found")
    );
}

/// With a release's SHA256SUMS, the recipe runs only a module that matches its `policy.wasm` line.
#[test]
fn the_ci_script_runs_only_the_module_the_release_checksums_name() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let module = std::fs::read(crate::support::policy_wasm()).expect("reading policy.wasm");
    let sha256 = |bytes: &[u8]| {
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("running sha256sum");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
        let output = child.wait_with_output().unwrap();
        String::from_utf8(output.stdout).unwrap()[..64].to_owned()
    };
    let policy = work.path().join("policy.wasm");
    std::fs::write(&policy, &module).unwrap();
    let manifest = work.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: \
         nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    let run = |sums: &str| {
        let sums_path = work.path().join("SHA256SUMS");
        std::fs::write(&sums_path, sums).unwrap();
        std::process::Command::new(repo_root().join("ci-recipes/require-digest.sh"))
            .arg(&manifest)
            .env("HOST_HARNESS", crate::support::harness_binary())
            .env("REQUIRE_DIGEST_POLICY", &policy)
            .env("REQUIRE_DIGEST_SHA256SUMS", &sums_path)
            .env("REQUIRE_DIGEST_PIN_CHECK", "false")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("running ci-recipes/require-digest.sh")
    };
    let good = sha256(&module);
    let other = sha256(b"another file");

    let matching = run(&format!(
        "{other}  host-harness-x86_64\n{good}  policy.wasm\n"
    ));
    assert_eq!(
        matching.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&matching.stderr)
    );

    for (sums, expected) in [
        (format!("{other}  policy.wasm\n"), "does not match"),
        (
            format!("{good}  host-harness-x86_64\n"),
            "has no line for policy.wasm",
        ),
    ] {
        let refused = run(&sums);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{sums}: {stderr}");
        assert!(stderr.contains(expected), "{sums}: {stderr}");
        assert!(
            refused.stdout.is_empty(),
            "nothing ran: {}",
            String::from_utf8_lossy(&refused.stdout)
        );
    }
}

/// `.pre-commit-hooks.yaml`.
#[derive(Debug, Deserialize)]
struct PreCommitHook {
    id: String,
    name: String,
    entry: String,
    language: String,
    files: String,
}

#[test]
fn the_pre_commit_hook_runs_the_ci_script_on_manifests() {
    let hooks: Vec<PreCommitHook> = read_yaml(&repo_root().join(".pre-commit-hooks.yaml"));
    let [hook] = hooks.as_slice() else {
        panic!("expected one hook, found {hooks:?}")
    };
    assert_eq!(
        (hook.id.as_str(), hook.language.as_str()),
        ("require-digest", "script")
    );
    assert!(!hook.name.is_empty());
    assert_eq!(hook.entry, "ci-recipes/require-digest.sh");
    let entry = std::fs::metadata(repo_root().join(&hook.entry)).expect("the hook's entry exists");
    assert!(
        std::os::unix::fs::PermissionsExt::mode(&entry.permissions()) & 0o111 != 0,
        "the entry must be executable"
    );
    // YAML and JSON files: what `host-harness check` reads from a directory too.
    assert_eq!(hook.files, r"\.(ya?ml|json)$", "the hook's files pattern");

    let example: Value = read_yaml(&repo_root().join("ci-recipes/pre-commit-config.yaml"));
    assert_eq!(
        example["repos"][0]["hooks"][0]["id"], "require-digest",
        "the example uses the hook's id"
    );
}

#[test]
fn the_github_workflow_reports_with_annotations_and_pin_check() {
    let workflow: Value = read_yaml(&repo_root().join(".github/workflows/require-digest.yml"));
    let inputs = workflow["on"]["workflow_call"]["inputs"]
        .as_object()
        .unwrap_or_else(|| {
            panic!("the workflow must be reusable (on.workflow_call.inputs): {workflow}")
        });
    let steps = workflow["jobs"]["require-digest"]["steps"]
        .as_array()
        .expect("jobs.require-digest.steps");
    let run_step = steps
        .iter()
        .find(|step| {
            step["run"]
                .as_str()
                .is_some_and(|run| run.contains("ci-recipes/require-digest.sh"))
        })
        .expect("a step runs ci-recipes/require-digest.sh");
    assert_eq!(
        run_step["env"]["REQUIRE_DIGEST_OUTPUT"], "github",
        "check reports as GitHub annotations"
    );
    assert_eq!(
        run_step["env"]["REQUIRE_DIGEST_PIN_CHECK"],
        "${{ inputs.pin-check }}"
    );
    assert_eq!(
        inputs["pin-check"]["default"], true,
        "pin --check runs unless a caller opts out"
    );

    // Every `${{ inputs.NAME }}` names a declared input (a typo would silently be empty on GitHub).
    let text = std::fs::read_to_string(repo_root().join(".github/workflows/require-digest.yml"))
        .expect("reading");
    for used in text.split("${{ inputs.").skip(1) {
        let name = used.split_whitespace().next().unwrap_or_default();
        assert!(
            inputs.contains_key(name),
            "the workflow uses undeclared input {name:?}"
        );
    }

    let caller: Value = read_yaml(&repo_root().join("ci-recipes/github-workflow.yml"));
    let job = &caller["jobs"]["require-digest"];
    assert!(
        job["uses"]
            .as_str()
            .is_some_and(|uses| uses.contains("/.github/workflows/require-digest.yml@")),
        "the example calls the reusable workflow: {job}"
    );
    for name in job["with"]
        .as_object()
        .expect("the example passes inputs")
        .keys()
    {
        assert!(
            inputs.contains_key(name),
            "the example passes undeclared input {name:?}"
        );
    }
}

// --- The version in one place -------------------------------------------------------------------------------------
//
// The workspace Cargo.toml's `[workspace.package] version` is the source; every other file that names a release
// (metadata.yml, artifacthub-pkg.yml, the examples' and docs' `registry://…:vX`, the README, the reusable workflow's
// default, the pins users copy) must name the same one. scripts/set-version.sh changes them all together.

/// What names a release in prose and YAML, followed by the version: `registry://…/require-digest:v0.1.0`, a
/// `…/require-digest.yml@v0.1.0` workflow pin, a release download URL.
const VERSION_ANCHORS: [&str; 3] = [
    "policies/require-digest:v",
    "require-digest.yml@v",
    "require-digest/releases/download/v",
];

/// The files copied into a scratch repository for the set-version tests: every file that names the version.
const VERSIONED_PATHS: [&str; 12] = [
    "Cargo.toml",
    "Cargo.lock",
    "fuzz/Cargo.lock",
    "metadata.yml",
    "artifacthub-pkg.yml",
    "README.md",
    "SECURITY.md",
    "docs",
    "examples",
    ".github/workflows",
    "ci-recipes",
    "scripts/set-version.sh",
];

/// `[workspace.package] version` of the Cargo.toml at `root`.
fn workspace_version(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("reading Cargo.toml");
    let section = text
        .split_once("[workspace.package]")
        .map(|(_, rest)| rest.split("\n[").next().unwrap_or_default())
        .expect("Cargo.toml has a [workspace.package] section");
    section
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("[workspace.package] has a version")
        .to_string()
}

/// The files under `root` whose text may name a release.
fn files_naming_releases(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![
        root.join("README.md"),
        root.join("SECURITY.md"),
        root.join("artifacthub-pkg.yml"),
    ];
    for dir in ["docs", "examples", ".github/workflows", "ci-recipes"] {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|error| panic!("reading {dir}: {error}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

/// The version in the `[[package]]` entry `name` of a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let entry = lock.split("[[package]]").find(|entry| {
        entry
            .lines()
            .any(|line| line == format!("name = \"{name}\""))
    })?;
    entry
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_string)
}

/// Every place under `root` that names a version other than `version`, one line each; empty when all agree.
fn version_disagreements(root: &Path, version: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut differs = |what: String, found: &str| {
        if found != version {
            problems.push(format!("{what} is {found:?}, not {version:?}"));
        }
    };

    for (lock, crates) in [
        (
            "Cargo.lock",
            &["host-harness", "require-digest", "require-digest-tests"][..],
        ),
        ("fuzz/Cargo.lock", &["require-digest"][..]),
    ] {
        let text = std::fs::read_to_string(root.join(lock)).expect("reading a Cargo.lock");
        for name in crates {
            let found = locked_version(&text, name)
                .unwrap_or_else(|| panic!("{lock} has no package {name}"));
            differs(format!("{lock}'s {name}"), &found);
        }
    }

    let metadata: Metadata = read_yaml(&root.join("metadata.yml"));
    differs(
        "metadata.yml's io.kubewarden.policy.version".to_string(),
        &metadata_annotation(&metadata, "io.kubewarden.policy.version"),
    );
    let package: ArtifactHubPackage = read_yaml(&root.join("artifacthub-pkg.yml"));
    differs(
        "artifacthub-pkg.yml's version".to_string(),
        &package.version,
    );

    let workflow: Value = read_yaml(&root.join(".github/workflows/require-digest.yml"));
    let default = workflow["on"]["workflow_call"]["inputs"]["version"]["default"]
        .as_str()
        .unwrap_or_default();
    differs(
        "the reusable workflow's inputs.version.default (without its v)".to_string(),
        default.strip_prefix('v').unwrap_or(default),
    );
    let pre_commit: Value = read_yaml(&root.join("ci-recipes/pre-commit-config.yaml"));
    for repo in pre_commit["repos"].as_array().into_iter().flatten() {
        if repo["repo"]
            .as_str()
            .is_some_and(|url| url.contains("require-digest/require-digest"))
        {
            let rev = repo["rev"].as_str().unwrap_or_default();
            differs(
                "ci-recipes/pre-commit-config.yaml's rev (without its v)".to_string(),
                rev.strip_prefix('v').unwrap_or(rev),
            );
        }
    }

    for file in files_naming_releases(root) {
        let text = std::fs::read_to_string(&file).expect("reading a file");
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (number, line) in text.lines().enumerate() {
            for anchor in VERSION_ANCHORS {
                for (at, _) in line.match_indices(anchor) {
                    let rest = &line[at + anchor.len()..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || ".-+".contains(c)))
                        .unwrap_or(rest.len());
                    differs(
                        format!("{name}:{} `{anchor}…`", number + 1),
                        rest[..end].trim_end_matches('.'),
                    );
                }
            }
        }
    }
    problems
}

/// A copy of every file that names the version, in a scratch directory laid out as the repository.
fn scratch_repository() -> tempfile::TempDir {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    for path in VERSIONED_PATHS {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg("--parents")
            .arg(path)
            .arg(scratch.path())
            .current_dir(repo_root())
            .status()
            .expect("running cp");
        assert!(status.success(), "copying {path}");
    }
    scratch
}

fn set_version(root: &Path, version: &str) -> std::process::Output {
    std::process::Command::new(root.join("scripts/set-version.sh"))
        .arg(version)
        .output()
        .expect("running scripts/set-version.sh")
}

#[test]
fn every_file_that_names_the_version_names_the_workspace_version() {
    let version = workspace_version(&repo_root());
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "this crate takes the workspace version"
    );
    let problems = version_disagreements(&repo_root(), &version);
    assert!(
        problems.is_empty(),
        "Cargo.toml's version is {version}; run scripts/set-version.sh {version}:\n{}",
        problems.join("\n")
    );
    // The anchors still find what users read: the README's install and CI snippets, every example.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("reading README.md");
    for anchor in &VERSION_ANCHORS[..2] {
        assert!(
            readme.contains(&format!("{anchor}{version}")),
            "README.md names no {anchor}{version}"
        );
    }
}

#[test]
fn a_stale_version_anywhere_is_caught() {
    let scratch = scratch_repository();
    let root = scratch.path();
    let version = workspace_version(root);
    let stale = "0.0.9";
    for (file, from, to) in [
        (
            "README.md",
            format!("require-digest.yml@v{version}"),
            format!("require-digest.yml@v{stale}"),
        ),
        (
            "examples/monitor-mode.yaml",
            format!("require-digest:v{version}"),
            format!("require-digest:v{stale}"),
        ),
        (
            ".github/workflows/require-digest.yml",
            format!("default: v{version}"),
            format!("default: v{stale}"),
        ),
        (
            "Cargo.lock",
            format!("name = \"host-harness\"\nversion = \"{version}\""),
            format!("name = \"host-harness\"\nversion = \"{stale}\""),
        ),
    ] {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).expect("reading");
        assert!(text.contains(&from), "{file} has no {from:?} to spoil");
        std::fs::write(&path, text.replacen(&from, &to, 1)).expect("writing");
    }
    let problems = version_disagreements(root, &version).join("\n");
    for expected in [
        "README.md:",
        "examples/monitor-mode.yaml:",
        "inputs.version.default",
        "Cargo.lock's host-harness",
    ] {
        assert!(
            problems.contains(expected),
            "{expected} should be reported; got:\n{problems}"
        );
    }
}

#[test]
fn set_version_moves_every_file_to_the_new_version_together() {
    let scratch = scratch_repository();
    let root = scratch.path();
    let output = set_version(root, "v1.4.2");
    assert!(
        output.status.success(),
        "set-version.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(workspace_version(root), "1.4.2");
    let problems = version_disagreements(root, "1.4.2");
    assert!(
        problems.is_empty(),
        "set-version.sh left these behind:\n{}",
        problems.join("\n")
    );
    // Only the versions changed: the packaging still parses and agrees with itself.
    let package: ArtifactHubPackage = read_yaml(&root.join("artifacthub-pkg.yml"));
    assert!(package.install.contains("policies/require-digest:v1.4.2"));

    let refused = set_version(root, "1.5");
    assert!(!refused.status.success(), "1.5 is not a semantic version");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a semantic version"));
    assert_eq!(
        workspace_version(root),
        "1.4.2",
        "a refused run changes nothing"
    );
}

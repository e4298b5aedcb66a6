//! Hostile inputs for `host-harness check` (issue 5, "Harness / Inputs"): a 100 MB file, 50 000 documents,
//! nesting 10 000 levels deep, alias bombs, invalid UTF-8, binary files, empty files, symlink loops, dangling
//! symlinks, a directory named like a manifest, a FIFO and an unreadable file.
//!
//! Every test runs the real binary on generated input in a temporary directory, beside one good file, and
//! asserts that the bad input gets a clear error (or a result) naming it, that the good file is still checked,
//! and the exit status. A hang fails the test binary instead of hanging CI: the watchdog kills the hung run and ends
//! the process (no run is timed: how long a run takes is the benchmarks' business). The runs of the large inputs
//! are measured with `/usr/bin/time` (when installed) and their peak RSS printed (`cargo test … -- --nocapture`
//! shows it); the only memory assertion is a generous sanity bound.
//!
//! Needs `policy.wasm` at the repository root (built on demand, see `support::policy_wasm`).

use std::fs::File;
use std::io::{BufWriter, Read, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use host_harness::manifest::Limits;
use host_harness::manifest::inputs::{MAX_FILE_BYTES, MAX_LIST_BYTES};

use crate::support::{harness_binary, policy_wasm};
use crate::watchdog;

const PINNED: &str =
    "nginx:1.27@sha256:27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c01184a07300a5a";
const UNPINNED: &str = "nginx:1.27";

/// A sanity bound on peak memory, not a target: the point is that memory is bounded, not how tightly.
const RSS_SANITY_BOUND_KIB: u64 = 2 * 1024 * 1024;

/// What one run of `host-harness check` did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident set size in KiB, when measured.
    peak_rss_kib: Option<u64>,
}

impl std::fmt::Debug for Run {
    /// The output, shortened: a failed assertion on a 50 000-object run should not print megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shorten = |text: &str| -> String {
            if text.len() <= 4000 {
                return text.to_owned();
            }
            let head_end = text.floor_char_boundary(2000);
            let tail_start = text.ceil_char_boundary(text.len() - 2000);
            format!("{}\n[…]\n{}", &text[..head_end], &text[tail_start..])
        };
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            shorten(&self.stdout),
            shorten(&self.stderr)
        )
    }
}

/// A temporary directory holding `good.yaml`, a pinned Pod every run checks beside the hostile input.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("good.yaml"), pod("good", PINNED)).unwrap();
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `host-harness check policy.wasm PATHS… good.yaml`, run in the workspace so reports name files
    /// by their short relative paths.
    fn check(&self, paths: &[&str]) -> Run {
        self.run(paths, false)
    }

    /// As [`Workspace::check`], measuring the peak RSS when `/usr/bin/time` is installed.
    fn check_measured(&self, paths: &[&str]) -> Run {
        self.run(paths, true)
    }

    fn run(&self, paths: &[&str], measure: bool) -> Run {
        let time = Path::new("/usr/bin/time");
        let rss_file = self.path("peak-rss.txt");
        let mut command = if measure && time.exists() {
            // `-o` keeps the figure out of the harness's own stderr.
            let mut command = Command::new(time);
            command
                .arg("-o")
                .arg(&rss_file)
                .args(["-f", "%M"])
                .arg(harness_binary());
            command
        } else {
            if measure {
                eprintln!("/usr/bin/time is not installed: peak RSS not measured");
            }
            Command::new(harness_binary())
        };
        command
            .arg("check")
            .arg(policy_wasm())
            .args(paths)
            .arg("good.yaml")
            .args(["--color", "never"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a hang is killed whole (the harness under `time` included).
            .process_group(0);
        let mut child = command.spawn().expect("the host-harness binary runs");
        let _killed_on_hang = watchdog::kill_group_on_hang(child.id());

        // Drained on threads: a run printing more than a pipe holds would otherwise block forever.
        let mut stdout_pipe = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stdout_reader = std::thread::spawn(move || {
            let mut text = String::new();
            stdout_pipe.read_to_string(&mut text).map(|_| text)
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            stderr_pipe.read_to_string(&mut text).map(|_| text)
        });

        let status = child.wait().unwrap();
        let stdout = stdout_reader.join().unwrap().expect("stdout is UTF-8");
        let stderr = stderr_reader.join().unwrap().expect("stderr is UTF-8");

        // Under `time`, the exit status is the harness's own (time passes it through).
        let peak_rss_kib = (measure && rss_file.exists()).then(|| {
            let text = std::fs::read_to_string(&rss_file).unwrap();
            // `time` writes "Command exited with non-zero status N" before the figure in that case.
            text.lines()
                .last()
                .and_then(|line| line.trim().parse().ok())
                .unwrap_or_else(|| panic!("unexpected /usr/bin/time output: {text:?}"))
        });
        Run {
            code: status.code(),
            stdout,
            stderr,
            peak_rss_kib,
        }
    }
}

/// One Pod with one container.
fn pod(name: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n    - name: app\n      image: \"{image}\"\n"
    )
}

/// The good file was checked: its verdict line is in the output.
fn assert_good_file_checked(run: &Run) {
    assert!(
        run.stdout.contains("accepted good.yaml:1: Pod good"),
        "good.yaml was not checked: {run:?}"
    );
}

fn assert_summary(run: &Run, summary: &str) {
    assert!(
        run.stdout.ends_with(&format!("{summary}\n")),
        "expected the summary {summary:?}: {run:?}"
    );
}

/// Prints the peak RSS of a run and holds it to the sanity bound.
fn report_peak_rss(what: &str, run: &Run) {
    let Some(kib) = run.peak_rss_kib else {
        return;
    };
    println!("peak RSS, {what}: {} MiB ({kib} KiB)", kib / 1024);
    assert!(
        kib < RSS_SANITY_BOUND_KIB,
        "{what}: peak RSS {kib} KiB is over the sanity bound of {RSS_SANITY_BOUND_KIB} KiB"
    );
}

#[test]
fn a_100_mb_file_is_checked_within_bounded_memory() {
    // One huge document (a Pod with 100 MB of annotations), so the parser, the JSON value and the policy
    // all see the whole size at once; its unpinned image comes last, so a right verdict on its line proves
    // the whole file was read and parsed.
    let workspace = Workspace::new();
    let path = workspace.path("huge.yaml");
    let mut out = BufWriter::new(File::create(&path).unwrap());
    out.write_all(b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n  annotations:\n")
        .unwrap();
    let filler = "x".repeat(100);
    let mut written = 0;
    let mut lines = 5;
    for index in 0.. {
        if written >= 100_000_000 {
            break;
        }
        let line = format!("    note-{index:08}: \"{filler}\"\n");
        out.write_all(line.as_bytes()).unwrap();
        written += line.len();
        lines += 1;
    }
    out.write_all(
        format!("spec:\n  containers:\n    - name: app\n      image: {UNPINNED}\n").as_bytes(),
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);
    let image_line = lines + 4;
    let size = std::fs::metadata(&path).unwrap().len();

    let run = workspace.check_measured(&["huge.yaml"]);
    assert_good_file_checked(&run);
    if size > MAX_FILE_BYTES {
        // The cap was lowered below 100 MB: then the file must be refused clearly.
        assert!(run.stdout.contains("huge.yaml: larger than"), "{run:?}");
        assert_eq!(run.code, Some(2), "{run:?}");
    } else {
        assert!(
            run.stdout.contains("rejected huge.yaml:1: Pod huge"),
            "{run:?}"
        );
        assert!(
            run.stdout.contains(&format!(
                "huge.yaml:{image_line}: Pod huge: container \"app\" (spec.containers[0]) image \"{UNPINNED}\""
            )),
            "the violation should point at line {image_line}: {run:?}"
        );
        assert_summary(
            &run,
            "checked 2 objects: 1 accepted, 1 rejected, 0 skipped, 0 errors",
        );
        assert_eq!(run.code, Some(1), "{run:?}");
    }
    report_peak_rss(&format!("one {} MB document", size / 1_000_000), &run);
}

#[test]
fn a_file_over_the_size_cap_is_refused_with_a_clear_error() {
    // Sparse: a file one byte over the cap costs no disk and no time to write.
    let workspace = Workspace::new();
    let file = File::create(workspace.path("disk-image.yaml")).unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    drop(file);

    let run = workspace.check_measured(&["disk-image.yaml"]);
    let cap_mib = MAX_FILE_BYTES / (1024 * 1024);
    assert!(
        run.stdout.contains(&format!(
            "error    disk-image.yaml: larger than {cap_mib} MiB; not a manifest file"
        )),
        "{run:?}"
    );
    assert_good_file_checked(&run);
    assert_eq!(run.code, Some(2), "{run:?}");
    report_peak_rss(&format!("a file of {cap_mib} MiB + 1 byte"), &run);
}

/// A JSON List (what `kubectl get pods -A -o json` writes) of `items` Pods with an unpinned image, each padded to
/// about `item_bytes`.
fn write_json_list(path: &Path, items: usize, item_bytes: usize) {
    let mut out = std::io::BufWriter::new(File::create(path).unwrap());
    let padding = "x".repeat(item_bytes);
    out.write_all(b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n")
        .unwrap();
    for index in 0..items {
        let comma = if index + 1 < items { "," } else { "" };
        writeln!(
            out,
            r#"        {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p{index}", "annotations": {{"pad": "{padding}"}}}}, "spec": {{"containers": [{{"name": "app", "image": "{UNPINNED}"}}]}}}}{comma}"#
        )
        .unwrap();
    }
    out.write_all(b"    ],\n    \"kind\": \"List\"\n}\n")
        .unwrap();
}

#[test]
fn a_list_over_the_file_cap_is_read_from_a_file_and_from_stdin() {
    let workspace = Workspace::new();
    let items = 2_700;
    write_json_list(&workspace.path("pods.json"), items, 100_000);
    let size = std::fs::metadata(workspace.path("pods.json"))
        .unwrap()
        .len();
    assert!(size > MAX_FILE_BYTES && size < MAX_LIST_BYTES, "{size}");

    let run = workspace.check_measured(&["pods.json"]);
    assert_good_file_checked(&run);
    // Each item is its own object, at its own line (the items start on line 4).
    assert!(
        run.stdout.contains("rejected pods.json:4: Pod p0"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "rejected pods.json:{}: Pod p{}",
            3 + items,
            items - 1
        )),
        "{run:?}"
    );
    let summary = format!(
        "checked {} objects: 1 accepted, {items} rejected, 0 skipped, 0 errors",
        items + 1
    );
    assert_summary(&run, &summary);
    assert_eq!(run.code, Some(1), "{run:?}");
    report_peak_rss(&format!("a JSON List of {} MB", size / 1_000_000), &run);

    let output = Command::new(harness_binary())
        .args(["check"])
        .arg(policy_wasm())
        .args(["-", "-q", "--color", "never"])
        .stdin(File::open(workspace.path("pods.json")).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.ends_with(&format!(
            "checked {items} objects: 0 accepted, {items} rejected, 0 skipped, 0 errors\n"
        )),
        "{stdout}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_big_file_that_does_not_begin_as_a_list_is_refused_unread() {
    let workspace = Workspace::new();
    // A log, say: past the cap, and no `items` in its first lines.
    let mut log = std::io::BufWriter::new(File::create(workspace.path("big.log.yaml")).unwrap());
    let line = format!("{}\n", "log line ".repeat(100));
    for _ in 0..(MAX_FILE_BYTES as usize / line.len() + 1) {
        log.write_all(line.as_bytes()).unwrap();
    }
    drop(log);
    let run = workspace.check(&["big.log.yaml"]);
    assert!(
        run.stdout
            .contains("big.log.yaml: larger than 256 MiB; not a manifest file (a List"),
        "{run:?}"
    );
    assert_good_file_checked(&run);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn fifty_thousand_documents_in_one_file_are_all_checked() {
    const DOCUMENTS: usize = 50_000;
    let workspace = Workspace::new();
    let mut out = BufWriter::new(File::create(workspace.path("many.yaml")).unwrap());
    for index in 0..DOCUMENTS {
        let image = if index % 2 == 0 { PINNED } else { UNPINNED };
        write!(out, "---\n{}", pod(&format!("pod-{index}"), image)).unwrap();
    }
    out.flush().unwrap();
    drop(out);

    let run = workspace.check_measured(&["many.yaml"]);
    assert_good_file_checked(&run);
    // The first and last documents, in file order: 9 lines each, the Pod's first line after its `---`.
    assert!(
        run.stdout.contains("accepted many.yaml:2: Pod pod-0\n"),
        "{run:?}"
    );
    let last_line = (DOCUMENTS - 1) * 9 + 2;
    assert!(
        run.stdout.contains(&format!(
            "rejected many.yaml:{last_line}: Pod pod-{}\n",
            DOCUMENTS - 1
        )),
        "{run:?}"
    );
    // Half pinned (plus good.yaml), half not.
    assert_summary(
        &run,
        &format!(
            "checked {} objects: {} accepted, {} rejected, 0 skipped, 0 errors",
            DOCUMENTS + 1,
            DOCUMENTS / 2 + 1,
            DOCUMENTS / 2
        ),
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    report_peak_rss(&format!("{DOCUMENTS} documents in one file"), &run);
}

#[test]
fn nesting_10_000_levels_deep_is_a_clear_error() {
    const LEVELS: usize = 10_000;
    let workspace = Workspace::new();
    // Block style: each level a mapping indented under the last.
    let mut block = String::new();
    for level in 0..LEVELS {
        block.push_str(&"  ".repeat(level));
        block.push_str("k:\n");
    }
    block.push_str(&"  ".repeat(LEVELS));
    block.push_str("v\n");
    std::fs::write(workspace.path("deep-block.yaml"), block).unwrap();
    // Flow style, sequences and mappings: the parser's own recursion.
    let flow_sequences = format!("{}{}\n", "[".repeat(LEVELS), "]".repeat(LEVELS));
    std::fs::write(workspace.path("deep-flow-sequences.yaml"), flow_sequences).unwrap();
    // (Behind a key: a text that starts with `{` is JSON to kubectl, and so to check.)
    let flow_mappings = format!("deep: {}1{}\n", "{a: ".repeat(LEVELS), "}".repeat(LEVELS));
    std::fs::write(workspace.path("deep-flow-mappings.yaml"), flow_mappings).unwrap();

    let run = workspace.check(&[
        "deep-block.yaml",
        "deep-flow-sequences.yaml",
        "deep-flow-mappings.yaml",
    ]);
    let max_depth = Limits::default().max_depth;
    // The error sits where the limit is crossed: the line of the first level too deep.
    assert!(
        run.stdout
            .contains(&format!("error    deep-block.yaml:{}:", max_depth + 1))
            && run
                .stdout
                .contains(&format!("nesting deeper than {max_depth} levels")),
        "{run:?}"
    );
    for flow in ["deep-flow-sequences.yaml", "deep-flow-mappings.yaml"] {
        let error_line = run
            .stdout
            .lines()
            .find(|line| line.contains(&format!("error    {flow}:1:")))
            .unwrap_or_else(|| panic!("no error for {flow}: {run:?}"));
        assert!(
            error_line.contains(&format!("nesting deeper than {max_depth} levels")),
            "{run:?}"
        );
    }
    assert_good_file_checked(&run);
    assert_summary(
        &run,
        "checked 4 objects: 1 accepted, 0 rejected, 0 skipped, 3 errors",
    );
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn alias_bombs_are_a_clear_error() {
    // "Billion laughs": ten levels of nine aliases each to the level below, 9^10 nodes once expanded.
    let workspace = Workspace::new();
    let mut sequences = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut mappings = String::from(
        "l0: &l0 {a: lol, b: lol, c: lol, d: lol, e: lol, f: lol, g: lol, h: lol, i: lol}\n",
    );
    for level in 1..10 {
        let below = format!("*l{}", level - 1);
        let items = [below.as_str(); 9].join(", ");
        sequences.push_str(&format!("l{level}: &l{level} [{items}]\n"));
        let entries = (0..9)
            .map(|key| format!("k{key}: {below}"))
            .collect::<Vec<_>>()
            .join(", ");
        mappings.push_str(&format!("l{level}: &l{level} {{{entries}}}\n"));
    }
    // Inside a real object, where the policy would read it.
    let in_a_pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n{}spec:\n  containers:\n    - name: app\n      image: \"{PINNED}\"\n      args: *l9\n",
        sequences
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    );
    std::fs::write(workspace.path("laughs-sequences.yaml"), &sequences).unwrap();
    std::fs::write(workspace.path("laughs-mappings.yaml"), &mappings).unwrap();
    std::fs::write(workspace.path("laughs-pod.yaml"), &in_a_pod).unwrap();

    let run = workspace.check_measured(&[
        "laughs-sequences.yaml",
        "laughs-mappings.yaml",
        "laughs-pod.yaml",
    ]);
    let budget = Limits::default().max_alias_nodes;
    for file in [
        "laughs-sequences.yaml",
        "laughs-mappings.yaml",
        "laughs-pod.yaml",
    ] {
        let error_line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("  error    {file}:")))
            .unwrap_or_else(|| panic!("no error for {file}: {run:?}"));
        assert!(
            error_line.contains(&format!("aliases expand to more than {budget} nodes")),
            "{error_line}"
        );
    }
    assert_good_file_checked(&run);
    assert_summary(
        &run,
        "checked 4 objects: 1 accepted, 0 rejected, 0 skipped, 3 errors",
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    report_peak_rss("three alias bombs", &run);
}

#[test]
fn invalid_utf8_and_binary_files_are_clear_errors() {
    let workspace = Workspace::new();
    // Latin-1 text, as an old editor would save it: valid YAML bytes but for the 0xE9 on line 4.
    let mut latin1 = pod("cafe", PINNED).into_bytes();
    let at = latin1.windows(4).position(|w| w == b"cafe").unwrap() + 3;
    latin1[at] = 0xE9;
    std::fs::write(workspace.path("latin1.yaml"), &latin1).unwrap();
    // A real binary file under a manifest's name: the policy module itself (`\0asm…`).
    std::fs::copy(policy_wasm(), workspace.path("module.yaml")).unwrap();
    // NUL bytes in the middle of otherwise good text.
    let mut with_nul = pod("nul", PINNED).into_bytes();
    with_nul.extend_from_slice(b"# \0\0\0\n");
    std::fs::write(workspace.path("nul.yaml"), &with_nul).unwrap();

    let run = workspace.check(&["latin1.yaml", "module.yaml", "nul.yaml"]);
    let nul_offset = with_nul.iter().position(|&b| b == 0).unwrap();
    for expected in [
        format!(
            "error    latin1.yaml:4:12: invalid UTF-8 at byte offset {at}; YAML and JSON files are UTF-8"
        ),
        "error    module.yaml:1:1: binary file (NUL byte at offset 0); not YAML or JSON".to_owned(),
        format!("error    nul.yaml:9:3: binary file (NUL byte at offset {nul_offset})"),
    ] {
        assert!(
            run.stdout.contains(&expected),
            "expected {expected:?}: {run:?}"
        );
    }
    assert_good_file_checked(&run);
    assert_summary(
        &run,
        "checked 4 objects: 1 accepted, 0 rejected, 0 skipped, 3 errors",
    );
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn empty_files_have_no_objects_and_are_not_errors() {
    let workspace = Workspace::new();
    std::fs::write(workspace.path("empty.yaml"), "").unwrap();
    std::fs::write(
        workspace.path("comments.yaml"),
        "# nothing here yet\n---\n---\n",
    )
    .unwrap();
    std::fs::write(workspace.path("blank.yml"), "\n\n   \n").unwrap();

    let run = workspace.check(&["empty.yaml", "comments.yaml", "blank.yml"]);
    for file in ["empty.yaml", "comments.yaml", "blank.yml"] {
        assert!(
            run.stdout.contains(&format!("{file}\n  no objects\n")),
            "{file}: {run:?}"
        );
    }
    assert_good_file_checked(&run);
    assert_summary(
        &run,
        "checked 1 objects: 1 accepted, 0 rejected, 0 skipped, 0 errors",
    );
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn a_hostile_directory_tree_is_walked_to_the_end() {
    use std::os::unix::fs::symlink;
    let workspace = Workspace::new();
    let tree = workspace.path("tree");
    // A symlink loop: tree/loop/sub/up → tree/loop.
    std::fs::create_dir_all(tree.join("loop/sub")).unwrap();
    symlink("..", tree.join("loop/sub/up")).unwrap();
    // A dangling symlink with a manifest's name.
    symlink("/nonexistent/deployment.yaml", tree.join("x.yaml")).unwrap();
    // A directory with a manifest's name, holding a manifest: walked like any directory.
    std::fs::create_dir(tree.join("dir.yaml")).unwrap();
    std::fs::write(tree.join("dir.yaml/inner.yaml"), pod("inner", UNPINNED)).unwrap();
    // A FIFO with a manifest's name: not a regular file, so a walk skips it without opening it (opening a
    // FIFO with no writer would block).
    let fifo = Command::new("mkfifo").arg(tree.join("pipe.yaml")).status();
    let have_fifo = fifo.is_ok_and(|status| status.success());
    if !have_fifo {
        eprintln!("mkfifo did not work: the FIFO case is not covered");
    }
    std::fs::write(tree.join("z-last.yaml"), pod("last", PINNED)).unwrap();

    let run = workspace.check(&["tree"]);
    for expected in [
        "error    tree/loop/sub/up: symbolic link loop (back to tree/loop); not followed",
        "error    tree/x.yaml: no such file or directory",
        "rejected tree/dir.yaml/inner.yaml:1: Pod inner",
        // After every hostile entry, in sorted order: the walk went on to the end.
        "accepted tree/z-last.yaml:1: Pod last",
    ] {
        assert!(
            run.stdout.contains(expected),
            "expected {expected:?}: {run:?}"
        );
    }
    if have_fifo {
        assert!(!run.stdout.contains("pipe.yaml"), "{run:?}");
    }
    assert_good_file_checked(&run);
    assert_summary(
        &run,
        "checked 5 objects: 2 accepted, 1 rejected, 0 skipped, 2 errors",
    );
    assert_eq!(run.code, Some(2), "{run:?}");

    // The same entries named on the command line.
    let run = workspace.check(&["tree/x.yaml", "tree/dir.yaml", "tree/loop"]);
    for expected in [
        "error    tree/x.yaml: no such file or directory",
        "rejected tree/dir.yaml/inner.yaml:1: Pod inner",
        "error    tree/loop/sub/up: symbolic link loop (back to tree/loop); not followed",
    ] {
        assert!(
            run.stdout.contains(expected),
            "expected {expected:?}: {run:?}"
        );
    }
    assert_good_file_checked(&run);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn a_fifo_named_on_the_command_line_does_not_block() {
    let workspace = Workspace::new();
    let status = Command::new("mkfifo")
        .arg(workspace.path("pipe.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());

    let run = workspace.check(&["pipe.yaml"]);
    assert!(run.stdout.contains("error    pipe.yaml"), "{run:?}");
    assert_good_file_checked(&run);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn an_unreadable_file_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt as _;
    let workspace = Workspace::new();
    let path = workspace.path("secret.yaml");
    std::fs::write(&path, pod("secret", PINNED)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        // Root (as in most containers) reads a file whatever its mode: nothing to test here.
        eprintln!(
            "mode 000 does not stop this user from reading: the unreadable-file case is not covered"
        );
        return;
    }

    let run = workspace.check(&["secret.yaml"]);
    assert!(
        run.stdout
            .contains("error    secret.yaml: cannot read: permission denied"),
        "{run:?}"
    );
    assert_good_file_checked(&run);
    assert_eq!(run.code, Some(2), "{run:?}");
}

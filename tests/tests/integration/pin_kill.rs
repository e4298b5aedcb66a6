//! Kill safety of `host-harness pin` (issue 5): a run killed with SIGKILL at any moment leaves every manifest either
//! exactly as it was or exactly as it should become, never half-written, and leaves no file a later `check` or
//! `pin` would read as a manifest (temporary files are hidden and end in `.pin-tmp`).
//!
//! `pin` runs over a few hundred files (offline, with `--digests`) under strace, which kills it with SIGKILL on entry
//! to a chosen system call of a file's replacement, the k-th of its kind in one of pin's threads: the write of a
//! temporary file's content (where a file written in place would be torn), the fsync before the rename, the rename,
//! the fsync of the directory after it. So every kill lands at a known step of a replacement, in the middle of the
//! run, on any machine at any speed: nothing waits for a moment or races the run, and each round checks that its kill
//! landed where it was aimed. After each kill every file is compared with its before and after texts, the directory
//! is listed for stray names, and a second run must finish the job.
//!
//! Needs strace (Debian: strace) and a kernel that lets a process trace its children (ptrace).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use host_harness::manifest::{InputPath, expand_paths};
use host_harness::pin::is_temp_file_name;

use crate::support::{self, harness_binary, policy_wasm};
use crate::watchdog;

const FILES: usize = 200;
/// Every tenth file is pinned already: runs also pass files they leave alone.
const PINNED_EVERY: usize = 10;

const APP_DIGEST: &str = "sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e";
const MULTI_DIGEST: &str =
    "sha256:503cc8e44d47624a5ec1dfb2bfb70a4f257fb96ed6d88c7bd2e29d7902d2a3f8";

/// pin's worker threads, fixed so that the k-th call of one thread is bounded: with the 180 files to pin shared by
/// at most THREADS threads, one of them makes at least 180 / THREADS replacements, so every kill below is reached.
const THREADS: usize = 2;

fn fixtures() -> PathBuf {
    support::fixtures().join("pin")
}

/// The manifests: Deployments in YAML (`.yaml`, `.yml`) and JSON, each with some padding so that writing one takes
/// more than an instant.
fn manifests() -> BTreeMap<String, String> {
    let padding: String = (0..200)
        .map(|line| format!("# notes line {line}: unchanged by pin\n"))
        .collect();
    (0..FILES)
        .map(|index| {
            let (app, multi) = if index % PINNED_EVERY == 0 {
                (format!("127.0.0.1:5000/demo/app:1.0@{APP_DIGEST}"), format!("127.0.0.1:5000/demo/multi:1.0@{MULTI_DIGEST}"))
            } else {
                ("127.0.0.1:5000/demo/app:1.0".to_owned(), "127.0.0.1:5000/demo/multi:1.0".to_owned())
            };
            match index % 3 {
                2 => (
                    format!("deploy-{index:03}.json"),
                    format!(
                        "{{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {{\"name\": \"d{index}\"}},\n \
                         \"spec\": {{\"template\": {{\"spec\": {{\"containers\": [\n  {{\"name\": \"app\", \"image\": \"{app}\"}},\n  \
                         {{\"name\": \"side\", \"image\": \"{multi}\"}}]}}}}}}}}\n"
                    ),
                ),
                extension => (
                    format!("deploy-{index:03}.{}", if extension == 0 { "yaml" } else { "yml" }),
                    format!(
                        "{padding}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{index}\nspec:\n  template:\n    spec:\n      \
                         containers:\n        - name: app\n          image: {app}\n        - name: side\n          image: '{multi}'\n"
                    ),
                ),
            }
        })
        .collect()
}

fn write_tree(dir: &Path, files: &BTreeMap<String, String>) {
    fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
}

fn pin_command(dir: &Path) -> Command {
    let mut command = Command::new(harness_binary());
    command
        .arg("pin")
        .arg(policy_wasm())
        .arg("--digests")
        .arg(fixtures().join("digests.yaml"))
        // The module cache would add writes of its own to count.
        .arg("--no-cache")
        .arg(dir)
        .env("RAYON_NUM_THREADS", THREADS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn run_pin(dir: &Path) {
    watchdog::arm();
    let output = pin_command(dir).output().unwrap();
    assert!(
        output.status.success(),
        "pin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Where a kill lands: on entry to the `nth` call (counted in each thread) of one of `syscalls`, before it runs.
#[derive(Debug, Clone, Copy)]
struct KillAt {
    syscalls: &'static str,
    nth: usize,
    /// Whether a temporary file is open at that point: between its creation and its rename.
    mid_replacement: bool,
}

/// A replacement is: create the temporary file, write its content, fsync it, rename it over the file, fsync the
/// directory. Every point of it, early and late in the run. Not the first write: the main thread writes the module's
/// memory image (to a memfd) before the workers start, and makes its next writes, the report, after they end.
const KILLS: &[KillAt] = &[
    at("write", 3, true),
    at("write", 40, true),
    at("fsync", 1, true),
    at("fsync", 2, false),
    at("fsync", 61, true),
    at("fsync", 80, false),
    at("rename,renameat,renameat2", 1, true),
    at("rename,renameat,renameat2", 70, true),
];

const fn at(syscalls: &'static str, nth: usize, mid_replacement: bool) -> KillAt {
    KillAt {
        syscalls,
        nth,
        mid_replacement,
    }
}

fn strace() -> &'static str {
    let found = Command::new("strace").arg("-V").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "this test kills pin at chosen system calls with strace, which is not installed: install it (Debian: strace)"
    );
    "strace"
}

/// Runs pin on `dir` under strace, killed at `kill_at`; asserts that the kill came (the run did not finish).
fn kill_during_run(dir: &Path, kill_at: KillAt) {
    watchdog::arm();
    let pin = pin_command(dir);
    let mut command = Command::new(strace());
    command
        // Follow pin's threads, quietly. Not --seccomp-bpf: with it, strace 6.1 does not count the calls of pin's
        // worker threads, and the kill never comes.
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg(format!("--trace={}", kill_at.syscalls))
        .arg(format!(
            "--inject={}:signal=KILL:when={}",
            kill_at.syscalls, kill_at.nth
        ))
        .arg(pin.get_program())
        .args(pin.get_args())
        .envs(
            pin.get_envs()
                .filter_map(|(key, value)| Some((key, value?))),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = command.output().expect("run pin under strace");
    // strace ends as its tracee did: by SIGKILL, when the kill came.
    assert_eq!(
        output.status.signal(),
        Some(9),
        "{kill_at:?}: pin was not killed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_killed_run_leaves_every_file_whole_and_no_stray_manifests() {
    let work = tempfile::tempdir().unwrap();
    let before = manifests();

    // A full run: the after texts.
    let reference = work.path().join("reference");
    write_tree(&reference, &before);
    run_pin(&reference);
    let after: BTreeMap<String, String> = before
        .keys()
        .map(|name| {
            (
                name.clone(),
                fs::read_to_string(reference.join(name)).unwrap(),
            )
        })
        .collect();
    let to_change = before
        .iter()
        .filter(|(name, text)| after[*name] != **text)
        .count();
    assert_eq!(
        to_change,
        FILES - FILES / PINNED_EVERY,
        "the reference run pins every unpinned file"
    );
    for (name, text) in &after {
        assert!(
            !text.contains("demo/app:1.0\n") && text.contains(APP_DIGEST),
            "{name} is not pinned: {text}"
        );
    }

    for (round, &kill_at) in KILLS.iter().enumerate() {
        // The replacements the killed thread finished before its nth call: one write and one rename each, and two
        // fsyncs (the nth fsync of a thread comes after nth / 2 renames).
        let calls_per_replacement = if kill_at.syscalls == "fsync" { 2 } else { 1 };
        let done_by_that_thread = if calls_per_replacement == 2 {
            kill_at.nth / 2
        } else {
            kill_at.nth - 1
        };
        assert!(
            kill_at.nth.div_ceil(calls_per_replacement) <= to_change / THREADS,
            "{kill_at:?} may never be reached"
        );
        let dir = work.path().join(format!("round-{round}"));
        write_tree(&dir, &before);
        kill_during_run(&dir, kill_at);

        let mut replaced = 0;
        for (name, old) in &before {
            let now = fs::read_to_string(dir.join(name))
                .unwrap_or_else(|error| panic!("{kill_at:?}: {name}: {error}"));
            assert!(
                now == *old || now == after[name],
                "{kill_at:?}: {name} is neither its before nor its after:\n{now}"
            );
            if now != *old {
                replaced += 1;
            }
        }
        let mut temp_files = 0;
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if before.contains_key(&name) {
                continue;
            }
            assert!(
                is_temp_file_name(&name),
                "{kill_at:?}: a stray file {name:?}"
            );
            assert!(
                ![".yaml", ".yml", ".json"]
                    .iter()
                    .any(|extension| name.ends_with(extension)),
                "{name}"
            );
            temp_files += 1;
        }
        // The kill landed where it was aimed: mid-run, after that thread's earlier replacements, and (where a
        // temporary file is open) with that file left behind, the original untouched.
        assert!(
            (done_by_that_thread..to_change).contains(&replaced),
            "{kill_at:?}: {replaced} of {to_change} files replaced"
        );
        if kill_at.mid_replacement {
            assert!(temp_files > 0, "{kill_at:?}: no temporary file left");
        }
        eprintln!(
            "killed at {kill_at:?}: {replaced} of {to_change} files replaced, {temp_files} temporary files left"
        );

        // What `check` and `pin` read from the directory: the manifests, never a leftover temporary file.
        let read: Vec<PathBuf> = expand_paths(std::slice::from_ref(&dir))
            .into_iter()
            .map(|input| match input.unwrap() {
                InputPath::File(path) => path,
                InputPath::Stdin => unreachable!(),
            })
            .collect();
        assert_eq!(
            read,
            before.keys().map(|name| dir.join(name)).collect::<Vec<_>>(),
            "{kill_at:?}"
        );

        // Running pin again finishes the job.
        run_pin(&dir);
        for (name, text) in &after {
            assert_eq!(
                fs::read_to_string(dir.join(name)).unwrap(),
                *text,
                "{kill_at:?}: {name} after the rerun"
            );
        }
    }
}

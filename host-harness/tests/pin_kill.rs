//! Kill safety of `host-harness pin` (issue 5): a run killed with SIGKILL at any moment leaves every manifest either
//! exactly as it was or exactly as it should become, never half-written, and leaves no file a later `check` or
//! `pin` would read as a manifest (temporary files are hidden and end in `.pin-tmp`).
//!
//! `pin` runs over a few hundred files (offline, with `--digests`, so only pin itself sets the pace) and is killed:
//! at moments spread over a full run's duration, after a given number of files were replaced, and the moment a
//! temporary file appears (in the middle of a write). After each kill every file is compared with its before and
//! after texts, the directory is listed for stray names, and a second run must finish the job.

mod policy_wasm;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_harness::manifest::{InputPath, expand_paths};
use host_harness::pin::is_temp_file_name;

const FILES: usize = 200;
/// Every tenth file is pinned already: runs also pass files they leave alone.
const PINNED_EVERY: usize = 10;

const APP_DIGEST: &str = "sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e";
const MULTI_DIGEST: &str =
    "sha256:503cc8e44d47624a5ec1dfb2bfb70a4f257fb96ed6d88c7bd2e29d7902d2a3f8";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/pin")
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

fn start_pin(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_host-harness"))
        .arg("pin")
        .arg(policy_wasm::policy_wasm())
        .arg("--digests")
        .arg(fixtures().join("digests.yaml"))
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start host-harness pin")
}

fn run_pin(dir: &Path) {
    let output = start_pin(dir).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "pin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// When to kill.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the start.
    Time(Duration),
    /// As soon as at least this many files have their new content.
    FilesReplaced(usize),
    /// As soon as a temporary file exists: in the middle of writing one.
    TempFileSeen,
}

/// What one killed run left behind.
#[derive(Debug)]
struct Aftermath {
    kill_at: KillAt,
    replaced: usize,
    stray_temp_files: usize,
    /// The process had already exited when the kill came.
    finished_first: bool,
}

fn replaced_count(dir: &Path, before: &BTreeMap<String, String>) -> usize {
    before
        .iter()
        .filter(|(name, text)| {
            fs::metadata(dir.join(name)).is_ok_and(|meta| meta.len() != text.len() as u64)
        })
        .count()
}

fn temp_file_exists(dir: &Path) -> bool {
    fs::read_dir(dir)
        .unwrap()
        .any(|entry| is_temp_file_name(&entry.unwrap().file_name().to_string_lossy()))
}

fn kill_during_run(dir: &Path, kill_at: KillAt, before: &BTreeMap<String, String>) -> Aftermath {
    let mut child = start_pin(dir);
    let started = Instant::now();
    let give_up = Duration::from_secs(60);
    loop {
        let due = match kill_at {
            KillAt::Time(delay) => started.elapsed() >= delay,
            KillAt::FilesReplaced(count) => replaced_count(dir, before) >= count,
            KillAt::TempFileSeen => temp_file_exists(dir),
        };
        if due || started.elapsed() > give_up || child.try_wait().unwrap().is_some() {
            break;
        }
        if matches!(kill_at, KillAt::Time(_)) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let finished_first = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL: no handler, no cleanup
    child.wait().unwrap();
    Aftermath {
        kill_at,
        replaced: 0,
        stray_temp_files: 0,
        finished_first,
    }
}

#[test]
fn a_killed_run_leaves_every_file_whole_and_no_stray_manifests() {
    let work = tempfile::tempdir().unwrap();
    let before = manifests();

    // A full run: the after texts, and how long a run takes.
    let reference = work.path().join("reference");
    write_tree(&reference, &before);
    let started = Instant::now();
    run_pin(&reference);
    let full_run = started.elapsed();
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

    let mut plans: Vec<KillAt> = (0..8)
        .map(|eighth| KillAt::Time(full_run * eighth / 8))
        .collect();
    plans.extend([1, to_change / 3, 2 * to_change / 3].map(KillAt::FilesReplaced));
    plans.extend([KillAt::TempFileSeen; 2]);

    let mut aftermaths = Vec::new();
    for (round, kill_at) in plans.into_iter().enumerate() {
        let dir = work.path().join(format!("round-{round}"));
        write_tree(&dir, &before);
        let mut aftermath = kill_during_run(&dir, kill_at, &before);

        for (name, old) in &before {
            let now = fs::read_to_string(dir.join(name))
                .unwrap_or_else(|error| panic!("{kill_at:?}: {name}: {error}"));
            assert!(
                now == *old || now == after[name],
                "{kill_at:?}: {name} is neither its before nor its after:\n{now}"
            );
            if now != *old {
                aftermath.replaced += 1;
            }
        }
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
            aftermath.stray_temp_files += 1;
        }
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
        aftermaths.push(aftermath);
    }

    eprintln!("a full run over {FILES} files ({to_change} to pin) took {full_run:?}");
    for aftermath in &aftermaths {
        eprintln!(
            "killed at {:?}: {} files replaced, {} temporary files left{}",
            aftermath.kill_at,
            aftermath.replaced,
            aftermath.stray_temp_files,
            if aftermath.finished_first {
                " (the run had finished)"
            } else {
                ""
            }
        );
    }
    let with_leftovers = aftermaths.iter().filter(|a| a.stray_temp_files > 0).count();
    eprintln!(
        "{with_leftovers} of {} kills left hidden temporary files (never read as manifests)",
        aftermaths.len()
    );
    // The kills must have landed in the middle of runs, not only before or after them.
    let partial = aftermaths
        .iter()
        .filter(|a| a.replaced > 0 && a.replaced < to_change && !a.finished_first)
        .count();
    assert!(
        partial >= 3,
        "too few kills landed mid-run to show anything: {aftermaths:#?}"
    );
}

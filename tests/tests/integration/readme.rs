//! README.md is the policy's public page (`kwctl annotate -u README.md` embeds it; Artifact Hub and `kwctl inspect`
//! show it). It stays short enough to read in five minutes, every file it and the pages it links name exists, and every
//! command it shows with its output prints exactly that output, so the page cannot drift from the program.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{harness_binary, policy_wasm, repo_root};

/// The pages a user reads: the README and what it links to.
fn user_pages() -> Vec<PathBuf> {
    let root = repo_root();
    let mut pages = vec![root.join("README.md"), root.join("bench/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_fits_in_250_lines() {
    let lines = read(&repo_root().join("README.md")).lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; details belong in docs/, figures in bench/README.md"
    );
}

/// Markdown links `[text](target)` whose target is a path in this repository.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = &rest[..end];
        rest = &rest[end..];
        let is_external = target.contains("://") || target.starts_with("mailto:");
        if !is_external && !target.starts_with('#') && !target.is_empty() {
            links.push(target.split('#').next().unwrap_or(target).to_string());
        }
    }
    links
}

#[test]
fn every_link_in_the_user_pages_points_at_a_file_that_exists() {
    let mut checked = 0;
    for page in user_pages() {
        let dir = page.parent().expect("a page sits in a directory");
        for link in relative_links(&read(&page)) {
            let target = dir.join(&link);
            assert!(
                target.exists(),
                "{} links to {link}, which does not exist",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} links found: is the link parser still reading Markdown?"
    );
}

#[test]
fn every_repository_path_the_readme_quotes_exists() {
    let readme = read(&repo_root().join("README.md"));
    let mut checked = 0;
    for word in readme.split(|c: char| c.is_whitespace() || "`()[]\"'".contains(c)) {
        // `file:line` locations name the file before the colon.
        let word = word.split(':').next().unwrap_or(word);
        let word = word.trim_end_matches([',', '.', ';']);
        let quotes_a_path = ["tests/fixtures/", "examples/", "docs/", "ci-recipes/"]
            .iter()
            .any(|prefix| word.starts_with(prefix));
        if quotes_a_path {
            assert!(
                repo_root().join(word).exists(),
                "README.md names {word}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} paths found in README.md");
}

/// One `$ command` of a ```console block and the lines shown under it.
#[derive(Debug)]
struct ShownCommand {
    command: String,
    output: Vec<String>,
}

fn console_examples(text: &str) -> Vec<ShownCommand> {
    let mut shown = Vec::new();
    let mut in_console = false;
    for line in text.lines() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        if line.starts_with("```") {
            in_console = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            shown.push(ShownCommand {
                command: command.to_string(),
                output: Vec::new(),
            });
        } else if let Some(last) = shown.last_mut() {
            last.output.push(line.to_string());
        }
    }
    shown
}

/// `…` alone on a line stands for any number of lines; inside a line, for any text.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            !actual.is_empty() && line_matches(first, actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let mut pieces = expected.split('…');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i + 1 == pieces.len() {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[rstest::rstest]
#[case::exact("a b", "a b", true)]
#[case::differs("a b", "a c", false)]
#[case::ellipsis_inside("a … c", "a bbb c", true)]
#[case::ellipsis_at_end("a …", "a bbb", true)]
#[case::ellipsis_needs_its_suffix("a … c", "a bbb d", false)]
fn the_ellipsis_matcher_matches_what_it_stands_for(
    #[case] expected: &str,
    #[case] actual: &str,
    #[case] matches: bool,
) {
    assert_eq!(line_matches(expected, actual), matches);
}

#[test]
fn every_host_harness_command_the_readme_shows_prints_what_it_shows() {
    let root = repo_root();
    let readme = read(&root.join("README.md"));
    // The commands are written as a user types them: `host-harness` on PATH, `policy.wasm` at the repository root.
    let bin_dir = tempfile::tempdir().expect("a temporary directory");
    std::os::unix::fs::symlink(harness_binary(), bin_dir.path().join("host-harness"))
        .expect("linking host-harness");
    let path = format!(
        "{}:{}",
        bin_dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let policy = policy_wasm().display().to_string();
    let mut checked = 0;
    for shown in console_examples(&readme) {
        if !shown.command.starts_with("host-harness ") {
            continue;
        }
        let command = shown
            .command
            .replace(" policy.wasm ", &format!(" {policy} "));
        let run = Command::new("sh")
            .args(["-c", &format!("{command} 2>&1")])
            .current_dir(&root)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .expect("running sh");
        let printed = String::from_utf8_lossy(&run.stdout);
        let printed: Vec<&str> = printed.lines().collect();
        assert!(
            lines_match(&shown.output, &printed),
            "README.md shows\n$ {}\n{}\nbut it prints\n{}",
            shown.command,
            shown.output.join("\n"),
            printed.join("\n")
        );
        checked += 1;
    }
    assert!(
        checked >= 4,
        "only {checked} host-harness commands found in README.md's console blocks"
    );
}

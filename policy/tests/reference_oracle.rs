//! The policy's parser held equal to distribution/reference v0.6.0's `ParseNormalizedNamed`, the parser the kubelet
//! reads images with, as rebuilt from its published regular expressions in `distribution-reference-oracle` (the
//! same oracle fuzz/'s reference_parser target uses). On every input both accept or both refuse; where both accept
//! they find the same normalized name, tag and digest; and under any choice of allowed algorithms the policy takes
//! the image as pinned exactly when the oracle does.
//!
//! The inputs: references generated from the grammar (registries of every form v0.6.0 takes, paths near the
//! 255-character limit, tags near theirs, valid and invalid digests), and those same references with one or two
//! characters deleted, inserted or replaced, which is where a hand-written parser and a grammar part ways.

use std::cell::RefCell;
use std::fmt;

use distribution_reference_oracle::{self as oracle, PATH_MAX_LEN};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use require_digest::reference::{Algorithm, ImageReference};
use rstest::rstest;

/// How many references each property test compares: 3 × 4,096 = 12,288 a run.
const CASES: u32 = 4096;

const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn sha256() -> String {
    format!("sha256:{HEX64}")
}

/// What a comparison saw, to show that the generated inputs reach the cases that matter.
#[derive(Default)]
struct Tally {
    compared: usize,
    pinned: usize,
    accepted_unpinned: usize,
    refused: usize,
    /// Accepted with no registry at all: a dotted first component read again as a path.
    without_registry: usize,
    bracketed_host: usize,
    /// Paths (as v0.6.0 counts them) of more than 240 characters, accepted or refused for their length.
    long_path: usize,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} compared: {} pinned, {} accepted unpinned, {} refused by both; {} without a registry, {} with a \
             bracketed host, {} with a path of more than 240 characters",
            self.compared,
            self.pinned,
            self.accepted_unpinned,
            self.refused,
            self.without_registry,
            self.bracketed_host,
            self.long_path
        )
    }
}

/// Compares the policy's reading of `reference` with the oracle's, and counts what it saw in `tally`.
fn compare(reference: &str, tally: &mut Tally) -> Result<(), TestCaseError> {
    let policy = ImageReference::parse(reference);
    let expected = oracle::parse_normalized_named(reference);
    tally.compared += 1;
    match (&policy, &expected) {
        (Ok(parsed), Ok(named)) => {
            prop_assert_eq!(
                parsed.normalized_name(),
                named.name(),
                "name of {:?}",
                reference
            );
            prop_assert_eq!(parsed.tag(), named.tag.as_deref(), "tag of {:?}", reference);
            prop_assert_eq!(
                parsed.digest().map(ToString::to_string),
                named.digest.clone(),
                "digest of {:?}",
                reference
            );
            if named.digest.is_some() {
                tally.pinned += 1;
            } else {
                tally.accepted_unpinned += 1;
            }
            if named.domain.is_empty() {
                tally.without_registry += 1;
            }
            if named.domain.starts_with('[') {
                tally.bracketed_host += 1;
            }
            if named.path.len() > 240 {
                tally.long_path += 1;
            }
        }
        (Err(_), Err(why)) => {
            tally.refused += 1;
            if *why == oracle::Rejection::PathTooLong {
                tally.long_path += 1;
            }
        }
        (Ok(parsed), Err(why)) => {
            return Err(TestCaseError::fail(format!(
                "the policy accepts {reference:?} ({parsed:?}); v0.6.0 refuses it ({why:?})"
            )));
        }
        (Err(error), Ok(named)) => {
            return Err(TestCaseError::fail(format!(
                "the policy refuses {reference:?} ({error}); v0.6.0 accepts it as {named:?}"
            )));
        }
    }
    // Pinned: a digest whose algorithm is allowed. Each algorithm allowed alone, then all of them.
    let singletons = Algorithm::ALL.map(|algorithm| vec![algorithm]);
    for allowed in singletons.iter().chain([&Algorithm::ALL.to_vec()]) {
        let names: Vec<&str> = allowed.iter().map(|algorithm| algorithm.name()).collect();
        let policy_pinned = ImageReference::parse_with_algorithms(reference, allowed)
            .is_ok_and(|parsed| parsed.digest().is_some());
        prop_assert_eq!(
            policy_pinned,
            expected
                .as_ref()
                .is_ok_and(|named| named.is_pinned_with(&names)),
            "{:?} pinned with {:?} allowed",
            reference,
            names
        );
    }
    Ok(())
}

/// Runs `compare` on `CASES` references from `references`, prints what it saw, and returns that.
fn compare_all(what: &str, references: impl Strategy<Value = String>) -> Tally {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // Every failure is printed with its (shrunk) input; the fuzz regressions keep the ones worth keeping.
        failure_persistence: None,
        ..Config::default()
    });
    let tally = RefCell::new(Tally::default());
    if let Err(failure) = runner.run(&references, |reference| {
        compare(&reference, &mut tally.borrow_mut())
    }) {
        panic!("{what}: {failure}");
    }
    let tally = tally.into_inner();
    println!("{what}: {tally}");
    tally
}

/// Registries of every form v0.6.0 takes, and of forms near them: dotted names with mixed case, single labels
/// (a registry only when uppercase), `localhost`, Docker Hub's two names, IPv4, bracketed hex and colons (real
/// addresses or not); any of them with a port.
fn domain() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
    let host = prop_oneof![
        4 => proptest::string::string_regex(&format!("{label}(\\.{label}){{0,3}}")).unwrap(),
        1 => prop::sample::select(vec!["localhost", "docker.io", "index.docker.io", "Registry"])
            .prop_map(str::to_string),
        1 => any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
        2 => proptest::string::string_regex(r"\[[a-fA-F0-9:]{1,12}\]").unwrap(),
    ];
    (host, proptest::option::of(0u32..100_000)).prop_map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// A path component: runs of `[a-z0-9]` and the separators, dots and underscores included, so that a first
/// component can look like a host to Docker's split and yet be none (`do_ker.io`).
fn path_component() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9]{1,4}(([._]|__|-{1,3})[a-z0-9]{1,4}){0,3}").unwrap()
}

/// A path of one to four components; sometimes padded to a length around the 255-character limit (the limit applies
/// after Docker Hub's `library/`, so both sides of it are reached with and without that prefix).
fn path() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(path_component(), 1..5),
        proptest::option::weighted(0.2, 235usize..=262),
    )
        .prop_map(|(components, padded_to)| {
            let mut path = components.join("/");
            if let Some(length) = padded_to.filter(|&length| path.len() + 1 < length) {
                path.push('/');
                path.push_str(&"p".repeat(length - path.len()));
            }
            path
        })
}

/// Tags of the grammar's characters, short or near their 128-character limit.
fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::string::string_regex("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}").unwrap(),
        1 => proptest::string::string_regex("[A-Za-z0-9_][A-Za-z0-9_.-]{125,129}").unwrap(),
    ]
}

/// Digests of the reference grammar: valid ones of each algorithm, and ones go-digest's `Validate` refuses (an
/// algorithm it does not register, a length another algorithm's, uppercase hex).
fn digest() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![("sha256", 64), ("sha384", 96), ("sha512", 128)])
        .prop_flat_map(|(algorithm, length)| {
            proptest::string::string_regex(&format!("[0-9a-f]{{{length}}}"))
                .unwrap()
                .prop_map(move |hex| format!("{algorithm}:{hex}"))
        });
    let other_length = (
        prop::sample::select(vec!["sha256", "sha384", "sha512"]),
        prop::sample::select(vec![32usize, 63, 64, 65, 96, 128]),
    )
        .prop_map(|(algorithm, length)| format!("{algorithm}:{}", &HEX64.repeat(3)[..length]));
    let other_algorithm = (
        proptest::string::string_regex("[A-Za-z][A-Za-z0-9]{0,6}([-_+.][A-Za-z][A-Za-z0-9]{0,3})?")
            .unwrap(),
        proptest::string::string_regex("[0-9a-fA-F]{32,64}").unwrap(),
    )
        .prop_map(|(algorithm, hex)| format!("{algorithm}:{hex}"));
    let uppercase = Just(format!("sha256:{}", HEX64.to_uppercase()));
    prop_oneof![6 => valid, 1 => other_length, 1 => other_algorithm, 1 => uppercase]
}

/// A reference of the grammar, put together from generated parts.
fn grammar_reference() -> impl Strategy<Value = String> {
    (
        proptest::option::weighted(0.6, domain()),
        path(),
        proptest::option::of(tag()),
        proptest::option::weighted(0.7, digest()),
    )
        .prop_map(|(domain, path, tag, digest)| {
            let mut reference = String::new();
            if let Some(domain) = domain {
                reference.push_str(&domain);
                reference.push('/');
            }
            reference.push_str(&path);
            if let Some(tag) = tag {
                reference.push(':');
                reference.push_str(&tag);
            }
            if let Some(digest) = digest {
                reference.push('@');
                reference.push_str(&digest);
            }
            reference
        })
}

/// One edit of a reference: a character deleted, or one inserted or put in its place. The characters are the ones
/// the grammar gives meaning to, their neighbours in case, and a few it has no place for.
#[derive(Clone, Debug)]
enum Edit {
    Delete(prop::sample::Index),
    Insert(prop::sample::Index, char),
    Replace(prop::sample::Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let character = prop::sample::select("aAzZ09fF._-:/@[]+ é".chars().collect::<Vec<_>>());
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), character.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<prop::sample::Index>(), character).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(reference: &str, edit: &Edit) -> String {
    let mut characters: Vec<char> = reference.chars().collect();
    match edit {
        Edit::Delete(at) if !characters.is_empty() => {
            characters.remove(at.index(characters.len()));
        }
        Edit::Insert(at, c) => characters.insert(at.index(characters.len() + 1), *c),
        Edit::Replace(at, c) if !characters.is_empty() => {
            let at = at.index(characters.len());
            characters[at] = *c;
        }
        _ => {}
    }
    characters.into_iter().collect()
}

/// A grammar reference with `edits` edits applied, one after another.
fn edited_reference(edits: usize) -> impl Strategy<Value = String> {
    (
        grammar_reference(),
        proptest::collection::vec(edit(), edits),
    )
        .prop_map(|(reference, edits)| {
            edits
                .iter()
                .fold(reference, |reference, edit| apply(&reference, edit))
        })
}

/// Whether a share of the cases reached each thing that matters, so that a generator gone wrong (say, one that no
/// longer makes paths near the limit) fails here instead of passing on easy inputs.
fn assert_reaches(what: &str, tally: &Tally, minimums: &[(&str, usize, usize)]) {
    for (name, seen, minimum) in minimums {
        assert!(
            seen >= minimum,
            "{what}: only {seen} of {} cases {name}, expected at least {minimum}",
            tally.compared
        );
    }
}

#[test]
fn grammar_references_parse_as_the_kubelet_parses_them() {
    let tally = compare_all("grammar references", grammar_reference());
    let cases = tally.compared;
    assert_reaches(
        "grammar references",
        &tally,
        &[
            ("were pinned", tally.pinned, cases / 4),
            ("were refused", tally.refused, cases / 20),
            ("had no registry", tally.without_registry, cases / 200),
            ("had a bracketed host", tally.bracketed_host, cases / 100),
            ("had a long path", tally.long_path, cases / 50),
        ],
    );
}

#[test]
fn references_one_edit_away_parse_as_the_kubelet_parses_them() {
    let tally = compare_all("one edit", edited_reference(1));
    let cases = tally.compared;
    assert_reaches(
        "one edit",
        &tally,
        &[
            ("were pinned", tally.pinned, cases / 20),
            ("were refused", tally.refused, cases / 10),
        ],
    );
}

#[test]
fn references_two_edits_away_parse_as_the_kubelet_parses_them() {
    let tally = compare_all("two edits", edited_reference(2));
    let cases = tally.compared;
    assert_reaches(
        "two edits",
        &tally,
        &[
            ("were pinned", tally.pinned, cases / 40),
            ("were refused", tally.refused, cases / 10),
        ],
    );
}

/// A path of `length` characters: a namespace and a name of `p`s.
fn path_of(length: usize) -> String {
    format!("team/{}", "p".repeat(length - "team/".len()))
}

/// The references the policy refused while v0.6.0 pins them, one case per class the differential test found: the
/// policy must now pin each, under the name the oracle gives it.
#[rstest]
#[case::path_of_255_after_a_port(
    format!("localhost:5000/{}@{}", path_of(PATH_MAX_LEN), sha256()),
    format!("localhost:5000/{}", path_of(PATH_MAX_LEN))
)]
#[case::path_of_250_after_a_long_registry(
    format!("registry.example.com/{}:1.0@{}", path_of(250), sha256()),
    format!("registry.example.com/{}", path_of(250))
)]
#[case::official_image_of_247_is_a_path_of_255_with_library(
    format!("{}@{}", "n".repeat(247), sha256()),
    format!("docker.io/library/{}", "n".repeat(247))
)]
#[case::docker_hub_path_whose_first_component_has_a_dot_and_an_underscore(
    format!("do_ker.io/library/nginx:1.27@{}", sha256()),
    "do_ker.io/library/nginx".to_string()
)]
#[case::registry_like_first_component_with_an_underscore(
    format!("r_egistry.k8s.io/pause:3.10@{}", sha256()),
    "r_egistry.k8s.io/pause".to_string()
)]
#[case::ipv6_host_that_is_no_address(
    format!("[:1]:5000/x:y@{}", sha256()),
    "[:1]:5000/x".to_string()
)]
#[case::ipv6_host_of_too_many_groups(
    format!("[1:2:3:4:5:6:7:8:9]/app@{}", sha256()),
    "[1:2:3:4:5:6:7:8:9]/app".to_string()
)]
#[case::ipv6_host_with_two_double_colons(
    format!("[1::2::3]:443/app@{}", sha256()),
    "[1::2::3]:443/app".to_string()
)]
fn pinned_as_the_kubelet_pins_it(#[case] reference: String, #[case] name: String) {
    let named = oracle::parse_normalized_named(&reference)
        .unwrap_or_else(|why| panic!("the oracle refuses {reference:?}: {why:?}"));
    assert_eq!(named.name(), name, "the oracle's name of {reference:?}");
    assert!(oracle::is_pinned(&reference, &["sha256"]));
    let parsed = ImageReference::parse(&reference)
        .unwrap_or_else(|error| panic!("the policy refuses {reference:?}: {error}"));
    assert_eq!(parsed.normalized_name(), name);
    assert_eq!(parsed.digest().map(ToString::to_string), Some(sha256()));
    assert_eq!(parsed.to_string(), reference, "prints back as written");
}

/// Just past each of those boundaries, both refuse, and the policy says why.
#[rstest]
#[case::path_of_256_after_a_port(
    format!("localhost:5000/{}@{}", path_of(PATH_MAX_LEN + 1), sha256()),
    "repository path is 256 characters long once normalized (without its registry), the limit is 255"
)]
#[case::official_image_of_248_is_a_path_of_256_with_library(
    format!("{}@{}", "n".repeat(248), sha256()),
    "repository path is 256 characters long once normalized (without its registry), the limit is 255"
)]
#[case::path_of_256_without_a_registry(
    format!("do_ker.io/{}@{}", path_of(PATH_MAX_LEN + 1 - "do_ker.io/".len()), sha256()),
    "repository path is 256 characters long once normalized (without its registry), the limit is 255"
)]
#[case::underscore_first_component_with_a_port(
    format!("do_ker.io:5000/nginx@{}", sha256()),
    "registry \"do_ker.io:5000\" is not a valid host name (dot-separated letters, digits and inner hyphens)"
)]
#[case::underscore_first_component_with_an_uppercase_letter(
    format!("Do_ker.io/nginx@{}", sha256()),
    "registry \"Do_ker.io\" is not a valid host name (dot-separated letters, digits and inner hyphens)"
)]
#[case::underscore_first_component_then_an_uppercase_path(
    format!("do_ker.io/Nginx@{}", sha256()),
    "repository name must be lowercase (\"do_ker.io/Nginx\")"
)]
#[case::dotted_first_component_that_is_no_path_component_either(
    format!("do_.io/nginx@{}", sha256()),
    "registry \"do_.io\" is not a valid host name (dot-separated letters, digits and inner hyphens)"
)]
#[case::ipv6_host_with_a_dotted_quad(
    format!("[::ffff:1.2.3.4]/app@{}", sha256()),
    "registry \"[::ffff:1.2.3.4]\" is not a valid bracketed IPv6 address"
)]
#[case::ipv6_host_with_a_non_hex_letter(
    format!("[::g]:5000/app@{}", sha256()),
    "registry \"[::g]:5000\" is not a valid bracketed IPv6 address"
)]
fn refused_as_the_kubelet_refuses_it(#[case] reference: String, #[case] reason: &str) {
    assert!(
        oracle::parse_normalized_named(&reference).is_err(),
        "the oracle accepts {reference:?}"
    );
    let error = ImageReference::parse(&reference).expect_err(&reference);
    assert_eq!(error.to_string(), reason, "{reference:?}");
}

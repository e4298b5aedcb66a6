//! The exemption glob (`exemptImages` patterns) against a plain backtracking matcher of the same documented rule,
//! plus the property that makes it safe: the part of a pattern before its first `/` only ever matches the first
//! segment (the registry) of an image, so no pattern exempts a registry it does not spell out.

#![no_main]

use libfuzzer_sys::fuzz_target;
use require_digest::settings::glob_matches;

/// The documented rule, written the obvious (exponential, fine for short inputs) way: `?` is one character other than
/// `/`; `*` is any run of characters, not crossing a `/` before the pattern's first `/`.
fn reference_match(pattern: &[char], text: &[char], before_first_slash: bool) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len())
            .take_while(|&n| n == 0 || !before_first_slash || text[n - 1] != '/')
            .any(|n| reference_match(rest, &text[n..], before_first_slash)),
        Some(('?', rest)) => text
            .split_first()
            .is_some_and(|(&c, text)| c != '/' && reference_match(rest, text, before_first_slash)),
        Some((&literal, rest)) => text.split_first().is_some_and(|(&c, text)| {
            c == literal && reference_match(rest, text, before_first_slash && literal != '/')
        }),
    }
}

fuzz_target!(|input: (&str, &str)| {
    let (pattern, text) = input;
    // The reference matcher backtracks: keep it from taking seconds on many '*' over long text.
    if pattern.chars().filter(|&c| c == '*').count() > 4 || pattern.len() > 48 || text.len() > 48 {
        return;
    }
    let matched = glob_matches(pattern, text);
    let pattern_chars: Vec<char> = pattern.chars().collect();
    let text_chars: Vec<char> = text.chars().collect();
    assert_eq!(
        matched,
        reference_match(&pattern_chars, &text_chars, true),
        "glob_matches({pattern:?}, {text:?})"
    );
    if !pattern.contains(['*', '?']) {
        assert_eq!(
            matched,
            pattern == text,
            "a pattern without wildcards is the image itself"
        );
    }
    if matched && let Some((registry_pattern, _)) = pattern.split_once('/') {
        let (registry, _) = text.split_once('/').unwrap_or_else(|| {
            panic!("{pattern:?} has a '/' but matched {text:?}, which has none")
        });
        assert!(
            glob_matches(registry_pattern, registry),
            "{pattern:?} matched {text:?}, whose registry {registry:?} its own {registry_pattern:?} does not match"
        );
    }
});

//! The reference parser on arbitrary text, against distribution/reference's `ParseNormalizedNamed` rebuilt from its
//! grammar (src/distribution.rs): it never panics; what it accepts, distribution accepts with the same normalized
//! name, tag and digest; what it rejects that distribution accepts, it rejects for one of its two documented stricter
//! rules; an accepted reference prints back as written, normalizes to a reference that parses to the same normalized
//! form, and carries only a digest that passes; every reason for a rejection is a single line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use require_digest::reference::{Algorithm, Digest, ImageReference, ReferenceError};
use require_digest_fuzz::distribution;
use require_digest_fuzz::verdict::pinned_digest;

fuzz_target!(|reference: &str| {
    let parsed = ImageReference::parse(reference);
    let distribution = distribution::parse_normalized_named(reference);
    match (&parsed, &distribution) {
        (Ok(parsed), Some(expected)) => {
            assert_eq!(
                parsed.normalized_name(),
                expected.name,
                "name of {reference:?}"
            );
            assert_eq!(
                parsed.tag(),
                expected.tag.as_deref(),
                "tag of {reference:?}"
            );
            assert_eq!(
                parsed.digest().map(ToString::to_string),
                expected.digest,
                "digest of {reference:?}"
            );
        }
        (Ok(parsed), None) => {
            panic!("accepted {reference:?} ({parsed:?}), which distribution rejects")
        }
        (Err(error), Some(expected)) => {
            let first_component = reference.split_once('/').map(|(first, _)| first);
            let stricter = match error {
                ReferenceError::InvalidIpv6 { .. } => reference.starts_with('['),
                ReferenceError::InvalidDomain { .. } | ReferenceError::InvalidPort { .. } => {
                    first_component.is_some_and(|first| !distribution::is_domain(first))
                }
                _ => false,
            };
            assert!(
                stricter,
                "rejected {reference:?}, which distribution accepts as {expected:?}, with: {error}"
            );
        }
        (Err(_), None) => {}
    }
    if let Err(error) = &parsed {
        let reason = error.to_string();
        assert!(
            !reason
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
            "reason {reason:?} holds a character that breaks lines"
        );
    }

    let Ok(parsed) = parsed else { return };
    assert_eq!(parsed.to_string(), reference, "prints back as written");
    let normalized = parsed.normalized();
    let renormalized = ImageReference::parse(&normalized).unwrap_or_else(|error| {
        panic!("{reference:?} normalizes to {normalized:?}, which fails: {error}")
    });
    assert_eq!(
        renormalized.normalized(),
        normalized,
        "normalizing is idempotent"
    );
    assert_eq!(renormalized.digest(), parsed.digest());
    assert_eq!(renormalized.tag(), parsed.tag());

    if let Some(digest) = parsed.digest() {
        assert_eq!(
            pinned_digest(reference, &Algorithm::ALL),
            Some(digest.to_string().as_str()),
            "{reference:?} has a digest the independent check does not accept"
        );
        // The digest on its own parses to itself, and only when its algorithm is allowed.
        let text = digest.to_string();
        assert_eq!(Digest::parse(&text, &Algorithm::ALL).as_ref(), Ok(digest));
        for algorithm in Algorithm::ALL {
            let allowed_alone = ImageReference::parse_with_algorithms(reference, &[algorithm]);
            assert_eq!(
                allowed_alone.is_ok(),
                digest.algorithm() == algorithm,
                "{reference:?} with only {algorithm} allowed"
            );
        }
    } else {
        assert!(
            !reference.contains('@'),
            "{reference:?} has an '@' but no digest"
        );
    }
});

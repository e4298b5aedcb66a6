//! The reference parser on arbitrary text, against distribution/reference v0.6.0's `ParseNormalizedNamed` (the
//! kubelet's parser) rebuilt from its published regular expressions (the distribution-reference-oracle crate, which
//! policy/tests/reference_oracle.rs shares): it never panics; it accepts exactly what v0.6.0 accepts, with the same
//! normalized name, tag and digest, and takes a reference as pinned under any allowed algorithm exactly when the
//! oracle does; an accepted reference prints back as written, normalizes to a reference that parses to the same
//! normalized form, and carries only a digest that passes; every reason for a rejection is a single line.

#![no_main]

use distribution_reference_oracle as oracle;
use libfuzzer_sys::fuzz_target;
use require_digest::reference::{Algorithm, Digest, ImageReference};
use require_digest_fuzz::verdict::pinned_digest;

fuzz_target!(|reference: &str| {
    let parsed = ImageReference::parse(reference);
    let expected = oracle::parse_normalized_named(reference);
    match (&parsed, &expected) {
        (Ok(parsed), Ok(named)) => {
            assert_eq!(
                parsed.normalized_name(),
                named.name(),
                "name of {reference:?}"
            );
            assert_eq!(parsed.tag(), named.tag.as_deref(), "tag of {reference:?}");
            assert_eq!(
                parsed.digest().map(ToString::to_string),
                named.digest,
                "digest of {reference:?}"
            );
        }
        (Ok(parsed), Err(why)) => {
            panic!("accepted {reference:?} ({parsed:?}), which v0.6.0 refuses ({why:?})")
        }
        (Err(error), Ok(named)) => {
            panic!("refused {reference:?} ({error}), which v0.6.0 accepts as {named:?}")
        }
        (Err(_), Err(_)) => {}
    }
    for algorithm in Algorithm::ALL {
        let pinned = ImageReference::parse_with_algorithms(reference, &[algorithm])
            .is_ok_and(|parsed| parsed.digest().is_some());
        assert_eq!(
            pinned,
            expected
                .as_ref()
                .is_ok_and(|named| named.is_pinned_with(&[algorithm.name()])),
            "{reference:?} pinned with only {algorithm} allowed"
        );
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

//! Every input the fuzz targets (fuzz/, `fuzz/run.sh`) found wrong, kept as a test of the fixed behaviour. Each case
//! names the target that found it; fuzz/RESULTS.md lists the runs.

use require_digest::reference::ImageReference;
use rstest::rstest;

/// reference_parser: Rust's `Ipv6Addr` parser takes the dotted-quad forms of IPv6 addresses, which distribution's
/// grammar (`\[[a-fA-F0-9:]+\]`) does not, so the policy accepted registries containerd cannot pull from.
#[rstest]
#[case::ipv4_mapped("[::ffff:1.2.3.4]/app")]
#[case::ipv4_compatible("[::1.2.3.4]:5000/app")]
#[case::ipv4_mapped_pinned(
    "[::ffff:127.0.0.1]/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)]
fn bracketed_hosts_are_hex_and_colons_only(#[case] written: &str) {
    let error = ImageReference::parse(written).expect_err(written);
    assert!(
        error
            .to_string()
            .contains("is not a valid bracketed IPv6 address"),
        "{written:?}: {error}"
    );
}

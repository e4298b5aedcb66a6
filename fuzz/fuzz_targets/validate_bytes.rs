//! The whole `validate` entry point, natively, on arbitrary bytes (seeded with the request fixtures): it answers
//! every input with a response of the SDK's shape, never accepts an unpinned image, and gives the verdict the rule
//! gives on the payload parsed whole (see src/verdict.rs).

#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use require_digest::entry;
use require_digest::resolver::TableResolver;
use require_digest_fuzz::verdict::{check_same_as_whole_read, check_soundness, parse_response};

/// What the registry knows in resolveTags cases, among them answers that must not be taken.
static RESOLVER: LazyLock<TableResolver> = LazyLock::new(|| {
    let hex = "0123456789abcdef".repeat(8);
    TableResolver::new(HashMap::from([
        ("nginx:1.27".to_string(), format!("sha256:{}", &hex[..64])),
        ("nginx".to_string(), format!("sha512:{hex}")),
        (
            "registry.example.com/team/app:2.1".to_string(),
            format!("sha256:{}", &hex[..64]),
        ),
        ("busybox".to_string(), "sha256:tooshort".to_string()),
        ("redis:7".to_string(), format!("md5:{}", &hex[..32])),
    ]))
});

fuzz_target!(|payload: &[u8]| {
    let answer = entry::validate(payload, &*RESOLVER);
    let response = parse_response(&answer);
    check_soundness(payload, &response);
    check_same_as_whole_read(payload, &response, &*RESOLVER);
});

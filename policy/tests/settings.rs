//! Settings: reading, validation (each error names its field), the validate_settings entry point, and the
//! exemption globs.

use require_digest::entry;
use require_digest::reference::Algorithm;
use require_digest::resolver::TableResolver;
use require_digest::settings::{Settings, TagDigestMismatch, glob_matches};
use rstest::rstest;
use serde_json::{Value, json};

#[test]
fn defaults() {
    let defaults = Settings::default();
    assert_eq!(
        defaults.allowed_algorithms,
        [Algorithm::Sha256, Algorithm::Sha512]
    );
    assert!(defaults.exempt_images.is_empty());
    assert!(!defaults.require_tag && !defaults.allow_existing_violations && !defaults.resolve_tags);
    assert_eq!(defaults.tag_digest_mismatch, TagDigestMismatch::Ignore);
    assert_eq!(Settings::from_json(&json!({})), Ok(Settings::default()));
    assert_eq!(Settings::from_json(&Value::Null), Ok(Settings::default()));
    assert_eq!(
        Settings::from_json(&json!({"requireTag": null, "exemptImages": null})),
        Ok(Settings::default())
    );
}

#[test]
fn every_field_is_read() {
    let settings = Settings::from_json(&json!({
        "exemptImages": ["registry.example.com/*", "busybox"],
        "allowedAlgorithms": ["sha384"],
        "requireTag": true,
        "allowExistingViolations": true,
        "resolveTags": true,
        "tagDigestMismatch": "reject",
    }));
    assert_eq!(
        settings,
        Ok(Settings {
            exempt_images: vec!["registry.example.com/*".into(), "busybox".into()],
            allowed_algorithms: vec![Algorithm::Sha384],
            require_tag: true,
            allow_existing_violations: true,
            resolve_tags: true,
            tag_digest_mismatch: TagDigestMismatch::Reject,
        })
    );
}

#[rstest]
#[case::unknown_field(json!({"requireTags": true}), r#"unknown field "requireTags" (the fields are exemptImages, allowedAlgorithms, requireTag, allowExistingViolations, resolveTags, tagDigestMismatch)"#)]
#[case::snake_case_field(json!({"require_tag": true}), r#"unknown field "require_tag" (the fields are exemptImages, allowedAlgorithms, requireTag, allowExistingViolations, resolveTags, tagDigestMismatch)"#)]
#[case::require_tag_string(json!({"requireTag": "yes"}), "requireTag must be a boolean, found a string")]
#[case::allow_existing_violations_number(json!({"allowExistingViolations": 1}), "allowExistingViolations must be a boolean, found a number")]
#[case::resolve_tags_list(json!({"resolveTags": [true]}), "resolveTags must be a boolean, found a list")]
#[case::exempt_images_string(json!({"exemptImages": "nginx"}), "exemptImages must be a list of strings, found a string")]
#[case::exempt_image_number(json!({"exemptImages": ["nginx", 3]}), "exemptImages[1] must be a string, found a number")]
#[case::empty_pattern(json!({"exemptImages": ["nginx", ""]}), "exemptImages[1]: a pattern must not be empty")]
#[case::pattern_with_whitespace(json!({"exemptImages": ["nginx "]}), r#"exemptImages[0]: pattern "nginx " has leading or trailing whitespace, so it would never match"#)]
#[case::no_algorithms(json!({"allowedAlgorithms": []}), "allowedAlgorithms: must name at least one of sha256, sha384, sha512")]
#[case::md5(json!({"allowedAlgorithms": ["sha256", "md5"]}), r#"allowedAlgorithms[1]: "md5" is not one of sha256, sha384, sha512"#)]
#[case::uppercase_algorithm(json!({"allowedAlgorithms": ["SHA256"]}), r#"allowedAlgorithms[0]: "SHA256" is not one of sha256, sha384, sha512"#)]
#[case::algorithms_object(json!({"allowedAlgorithms": {"sha256": true}}), "allowedAlgorithms must be a list of strings, found an object")]
#[case::settings_list(json!(["requireTag"]), "settings must be an object, found a list")]
#[case::tag_digest_mismatch_capitalized(json!({"tagDigestMismatch": "Reject"}), r#"tagDigestMismatch must be one of ignore, warn, reject, found "Reject""#)]
#[case::tag_digest_mismatch_unknown(json!({"tagDigestMismatch": "deny"}), r#"tagDigestMismatch must be one of ignore, warn, reject, found "deny""#)]
#[case::tag_digest_mismatch_boolean(json!({"tagDigestMismatch": true}), "tagDigestMismatch must be one of ignore, warn, reject, found true")]
#[case::tag_digest_mismatch_empty(json!({"tagDigestMismatch": ""}), "tagDigestMismatch must be one of ignore, warn, reject, found \"\"")]
fn invalid_settings_name_the_field(#[case] settings: Value, #[case] message: &str) {
    assert_eq!(Settings::from_json(&settings), Err(message.to_string()));
}

#[rstest]
#[case::ignore("ignore", TagDigestMismatch::Ignore)]
#[case::warn("warn", TagDigestMismatch::Warn)]
#[case::reject("reject", TagDigestMismatch::Reject)]
fn tag_digest_mismatch_values(#[case] written: &str, #[case] expected: TagDigestMismatch) {
    let settings = Settings::from_json(&json!({ "tagDigestMismatch": written })).unwrap();
    assert_eq!(settings.tag_digest_mismatch, expected);
}

fn validate_settings(payload: &str) -> Value {
    serde_json::from_slice(&entry::validate_settings(payload.as_bytes())).unwrap()
}

#[test]
fn validate_settings_answers_valid_or_why_not() {
    assert_eq!(
        validate_settings(r#"{"requireTag": true}"#),
        json!({"valid": true, "message": null})
    );
    assert_eq!(
        validate_settings("{}"),
        json!({"valid": true, "message": null})
    );
    assert_eq!(
        validate_settings(r#"{"requireTag": "true"}"#),
        json!({"valid": false, "message": "requireTag must be a boolean, found a string"})
    );
    assert_eq!(
        validate_settings("{requireTag: true}"),
        json!({"valid": false, "message": "settings are not valid JSON: key must be a string at line 1 column 2"})
    );
    // Duplicate keys: the last one counts, as in the API server.
    assert_eq!(
        validate_settings(r#"{"allowedAlgorithms": [], "allowedAlgorithms": ["sha512"]}"#),
        json!({"valid": true, "message": null})
    );
}

#[test]
fn invalid_settings_reject_every_request() {
    let payload = json!({"settings": {"allowedAlgorithms": ["md5"]}, "request": {"operation": "DELETE", "kind": {"kind": "Pod"}}});
    let response: Value = serde_json::from_slice(&entry::validate(
        payload.to_string().as_bytes(),
        &TableResolver::default(),
    ))
    .unwrap();
    assert_eq!(response["accepted"], false);
    assert_eq!(
        response["message"],
        r#"invalid settings: allowedAlgorithms[0]: "md5" is not one of sha256, sha384, sha512"#
    );
}

#[rstest]
#[case::everything_below_a_registry(
    "registry.example.com/*",
    "registry.example.com/team/app:1",
    true
)]
#[case::registry_itself_needs_a_path("registry.example.com/*", "registry.example.com", false)]
#[case::registry_prefix_bypass("registry.example.com/*", "registry.example.com.evil.io/x", false)]
#[case::registry_port_is_another_registry(
    "registry.example.com/*",
    "registry.example.com:5000/app",
    false
)]
#[case::any_port("registry.example.com:*/*", "registry.example.com:5000/app", true)]
#[case::star_in_registry_stays_in_the_registry(
    "*.example.com/*",
    "evil.io/a.example.com/app",
    false
)]
#[case::star_in_registry("*.example.com/*", "eu.example.com/app", true)]
#[case::star_without_slash_stays_in_one_segment("nginx*", "nginx.evil.io/app", false)]
#[case::star_without_slash_matches_tags("nginx*", "nginx:1.27", true)]
#[case::lone_star_matches_one_segment("*", "nginx:1.27", true)]
#[case::lone_star_does_not_match_paths("*", "docker.io/library/nginx", false)]
#[case::star_after_first_slash_crosses("docker.io/*", "docker.io/library/nginx:1", true)]
#[case::star_in_the_middle(
    "docker.io/library/nginx:*-alpine",
    "docker.io/library/nginx:1.27-alpine",
    true
)]
#[case::star_matches_empty("nginx:1.27*", "nginx:1.27", true)]
#[case::question_mark_one_character("nginx:1.2?", "nginx:1.27", true)]
#[case::question_mark_exactly_one("nginx:1.2?", "nginx:1.2", false)]
#[case::question_mark_not_slash("a?b", "a/b", false)]
#[case::literal_only("busybox", "busybox", true)]
#[case::literal_is_whole_string("busybox", "busybox:1", false)]
#[case::case_sensitive("Busybox", "busybox", false)]
#[case::several_stars("*/*/*", "a/b/c/d", true)]
#[case::unicode("régistry/*", "régistry/app", true)]
fn globs(#[case] pattern: &str, #[case] text: &str, #[case] matches: bool) {
    assert_eq!(
        glob_matches(pattern, text),
        matches,
        "{pattern:?} vs {text:?}"
    );
}

#[test]
fn glob_cost_is_linear_in_each_input() {
    // Exponential backtracking would never finish on this; the table matcher does 10^2 × 10^4 steps.
    let pattern = "*a".repeat(50);
    let text = "a".repeat(10_000) + "b";
    assert!(!glob_matches(&pattern, &text));
}

//! The image-reference grammar and the digest rule, case by case.

use require_digest::reference::{Algorithm, Digest, ImageReference};
use rstest::rstest;

/// `len` lowercase hex characters.
fn hex(len: usize) -> String {
    "0123456789abcdef".chars().cycle().take(len).collect()
}

fn sha256() -> String {
    format!("sha256:{}", hex(64))
}

/// References that parse: each prints back exactly as written, and normalizes as Docker does.
#[rstest]
#[case::official_image("nginx", "docker.io/library/nginx")]
#[case::official_image_with_tag("nginx:1.27", "docker.io/library/nginx:1.27")]
#[case::latest_tag("nginx:latest", "docker.io/library/nginx:latest")]
#[case::library_namespace("library/nginx", "docker.io/library/nginx")]
#[case::user_repository("user/app", "docker.io/user/app")]
#[case::docker_io_official("docker.io/nginx", "docker.io/library/nginx")]
#[case::docker_io_library("docker.io/library/nginx:1", "docker.io/library/nginx:1")]
#[case::legacy_docker_hub_domain("index.docker.io/nginx", "docker.io/library/nginx")]
#[case::legacy_docker_hub_user("index.docker.io/user/app", "docker.io/user/app")]
#[case::registry_with_nested_path(
    "registry.example.com/team/app:v1.2.3",
    "registry.example.com/team/app:v1.2.3"
)]
#[case::registry_with_port("registry.example.com:5000/app", "registry.example.com:5000/app")]
#[case::localhost("localhost/app", "localhost/app")]
#[case::localhost_with_port_and_tag("localhost:5000/app:dev", "localhost:5000/app:dev")]
#[case::ipv4_with_port("127.0.0.1:5000/app", "127.0.0.1:5000/app")]
#[case::ipv4("192.168.0.1/app", "192.168.0.1/app")]
#[case::ipv6_loopback("[::1]/app", "[::1]/app")]
#[case::ipv6_with_port_and_tag("[::1]:5000/app:1.0", "[::1]:5000/app:1.0")]
#[case::ipv6_documentation_address("[2001:db8::1]:443/team/app", "[2001:db8::1]:443/team/app")]
#[case::ipv6_full("[fe80:0:0:0:1:2:3:4]/app", "[fe80:0:0:0:1:2:3:4]/app")]
#[case::uppercase_domain("Registry.Example.COM/app", "Registry.Example.COM/app")]
#[case::uppercase_single_label_domain("Foo/bar", "Foo/bar")]
#[case::hyphenated_domain("my-registry.example.com/app", "my-registry.example.com/app")]
#[case::single_label_domain_with_port("registry:5000/app", "registry:5000/app")]
#[case::deep_path("a/b/c/d/e", "docker.io/a/b/c/d/e")]
#[case::single_underscore("app_name", "docker.io/library/app_name")]
#[case::double_underscore("app__name", "docker.io/library/app__name")]
#[case::many_hyphens("app---name", "docker.io/library/app---name")]
#[case::dot_separator("app.name", "docker.io/library/app.name")]
#[case::every_separator("f/a0.b-c_d__e", "docker.io/f/a0.b-c_d__e")]
#[case::dotted_first_component_is_a_registry("a0.b-c/d__e", "a0.b-c/d__e")]
#[case::dotted_first_component_with_an_underscore_is_a_path_without_registry(
    "registry_example.com/app",
    "registry_example.com/app"
)]
#[case::ipv6_host_of_hex_and_colons_only("[:1]:5000/x:y", "[:1]:5000/x:y")]
#[case::digits_only_path("123/456", "docker.io/123/456")]
#[case::single_character("a", "docker.io/library/a")]
#[case::tag_zero("nginx:0", "docker.io/library/nginx:0")]
#[case::tag_with_dots_hyphens_underscores(
    "nginx:1.27.0-alpine_3",
    "docker.io/library/nginx:1.27.0-alpine_3"
)]
#[case::tag_starting_with_underscore("nginx:_tag", "docker.io/library/nginx:_tag")]
#[case::uppercase_tag("nginx:RC1", "docker.io/library/nginx:RC1")]
#[case::name_that_looks_like_host_and_port("localhost:5000", "docker.io/library/localhost:5000")]
#[case::gcr("k8s.gcr.io/pause:3.9", "k8s.gcr.io/pause:3.9")]
#[case::ghcr_nested("ghcr.io/owner/repo/sub:tag", "ghcr.io/owner/repo/sub:tag")]
fn valid_references_print_back_and_normalize(#[case] written: &str, #[case] normalized: &str) {
    let reference =
        ImageReference::parse(written).unwrap_or_else(|error| panic!("{written:?}: {error}"));
    assert_eq!(reference.to_string(), written);
    assert_eq!(reference.normalized(), normalized);
}

/// References with digests: the parts come apart as written.
#[rstest]
#[case::tag_and_digest(format!("nginx:1.27@{}", sha256()), None, "nginx", Some("1.27"), Some(sha256()))]
#[case::digest_only(format!("nginx@{}", sha256()), None, "nginx", None, Some(sha256()))]
#[case::sha384(format!("nginx@sha384:{}", hex(96)), None, "nginx", None, Some(format!("sha384:{}", hex(96))))]
#[case::sha512(format!("nginx@sha512:{}", hex(128)), None, "nginx", None, Some(format!("sha512:{}", hex(128))))]
#[case::everything(
    format!("registry.example.com:5000/team/app:v1@{}", sha256()),
    Some("registry.example.com:5000"),
    "team/app",
    Some("v1"),
    Some(sha256())
)]
#[case::ipv6_everything(format!("[::1]:5000/app:1@{}", sha256()), Some("[::1]:5000"), "app", Some("1"), Some(sha256()))]
#[case::tag_of_128_characters(format!("nginx:{}", "t".repeat(128)), None, "nginx", Some(&*"t".repeat(128)), None)]
fn references_split_into_their_parts(
    #[case] written: String,
    #[case] domain: Option<&str>,
    #[case] path: &str,
    #[case] tag: Option<&str>,
    #[case] digest: Option<String>,
) {
    let reference =
        ImageReference::parse(&written).unwrap_or_else(|error| panic!("{written:?}: {error}"));
    assert_eq!(reference.domain(), domain);
    assert_eq!(reference.path(), path);
    assert_eq!(reference.tag(), tag);
    assert_eq!(reference.digest().map(Digest::to_string), digest);
    assert_eq!(reference.to_string(), written);
}

/// The 255-character limit applies to the path, without the registry but with the `library/` Docker Hub puts before
/// an official image's name, as distribution/reference v0.6.0's `Parse` applies it.
#[rstest]
#[case::registry_path_of_255(format!("registry.example.com/{}", "a".repeat(255)), Ok(()))]
#[case::official_image_path_of_255("a".repeat(247), Ok(()))]
#[case::docker_hub_user_path_of_255(format!("{}/{}", "a".repeat(230), "b".repeat(24)), Ok(()))]
#[case::registry_path_of_256(
    format!("registry.example.com/{}", "a".repeat(256)),
    Err("repository path is 256 characters long once normalized (without its registry), the limit is 255")
)]
#[case::official_image_path_of_256(
    "a".repeat(248),
    Err("repository path is 256 characters long once normalized (without its registry), the limit is 255")
)]
#[case::legacy_docker_hub_official_image_path_of_256(
    format!("index.docker.io/{}", "a".repeat(248)),
    Err("repository path is 256 characters long once normalized (without its registry), the limit is 255")
)]
fn repository_path_length(#[case] written: String, #[case] expected: Result<(), &str>) {
    let outcome = ImageReference::parse(&written)
        .map(|_| ())
        .map_err(|error| error.to_string());
    assert_eq!(outcome, expected.map_err(str::to_string));
}

/// References that do not parse, each with the reason the user sees.
#[rstest]
#[case::empty("".into(), "image reference is empty")]
#[case::leading_whitespace(" nginx".into(), "image reference has leading or trailing whitespace")]
#[case::trailing_whitespace("nginx ".into(), "image reference has leading or trailing whitespace")]
#[case::trailing_newline("nginx:1.27\n".into(), "image reference has leading or trailing whitespace")]
#[case::leading_tab(format!("\tnginx@{}", sha256()), "image reference has leading or trailing whitespace")]
#[case::trailing_space_after_digest(format!("nginx@{} ", sha256()), "image reference has leading or trailing whitespace")]
#[case::uppercase_name("NGINX".into(), "repository name must be lowercase (\"NGINX\")")]
#[case::capitalized_name_with_tag("Nginx:1.27".into(), "repository name must be lowercase (\"Nginx\")")]
#[case::uppercase_path_after_registry("docker.io/Library/nginx".into(), "repository name must be lowercase (\"Library/nginx\")")]
#[case::uppercase_path_with_port("localhost:5000/UPPER".into(), "repository name must be lowercase (\"UPPER\")")]
#[case::uppercase_in_pinned_name(format!("registry.example.com/Team/app@{}", sha256()), "repository name must be lowercase (\"Team/app\")")]
#[case::uppercase_hex_digest(
    format!("nginx@sha256:{}", hex(64).to_uppercase()),
    "sha256 digest must be 64 lowercase hex characters, found uppercase 'A'"
)]
#[case::one_uppercase_hex_character(
    format!("nginx@sha256:{}F", hex(63)),
    "sha256 digest must be 64 lowercase hex characters, found uppercase 'F'"
)]
#[case::non_hex_digest(
    format!("nginx@sha256:{}g", hex(63)),
    "sha256 digest must be 64 lowercase hex characters, found non-hex 'g'"
)]
#[case::digest_of_63(format!("nginx@sha256:{}", hex(63)), "sha256 digest must be 64 lowercase hex characters, found 63")]
#[case::digest_of_65(format!("nginx@sha256:{}", hex(65)), "sha256 digest must be 64 lowercase hex characters, found 65")]
#[case::empty_encoded_digest("nginx@sha256:".into(), "sha256 digest must be 64 lowercase hex characters, found 0")]
#[case::sha512_of_sha256_length(
    format!("nginx@sha512:{}", hex(64)),
    "sha512 digest must be 128 lowercase hex characters, found 64"
)]
#[case::sha384_of_sha512_length(
    format!("nginx@sha384:{}", hex(128)),
    "sha384 digest must be 96 lowercase hex characters, found 128"
)]
#[case::md5(
    format!("nginx@md5:{}", hex(32)),
    "digest algorithm md5 is not allowed (allowed: sha256, sha384, sha512)"
)]
#[case::sha256_base64url(
    "nginx@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564".into(),
    "digest algorithm sha256+b64u is not allowed (allowed: sha256, sha384, sha512)"
)]
#[case::multihash_base58(
    "nginx@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8".into(),
    "digest algorithm multihash+base58 is not allowed (allowed: sha256, sha384, sha512)"
)]
#[case::uppercase_algorithm(
    format!("nginx@SHA256:{}", hex(64)),
    "digest algorithm SHA256 is not allowed (allowed: sha256, sha384, sha512)"
)]
#[case::sha1(format!("nginx@sha1:{}", hex(40)), "digest algorithm sha1 is not allowed (allowed: sha256, sha384, sha512)")]
#[case::second_at(format!("nginx@{}@{}", sha256(), sha256()), "image reference has more than one \"@\"")]
#[case::double_at(format!("nginx@@{}", sha256()), "image reference has more than one \"@\"")]
#[case::digest_without_algorithm(format!("nginx@{}", hex(64)), "digest must be written as algorithm:hex")]
#[case::digest_with_empty_algorithm(format!("nginx@:{}", hex(64)), "digest must be written as algorithm:hex")]
#[case::empty_digest("nginx@".into(), "digest must be written as algorithm:hex")]
#[case::empty_tag("nginx:".into(), "tag after \":\" is empty")]
#[case::tag_starting_with_hyphen("nginx:-tag".into(), "tag \"-tag\" is invalid (letters, digits and \"_\", then also \".\" and \"-\")")]
#[case::tag_starting_with_dot("nginx:.tag".into(), "tag \".tag\" is invalid (letters, digits and \"_\", then also \".\" and \"-\")")]
#[case::tag_with_space("nginx:ta g".into(), "tag \"ta g\" is invalid (letters, digits and \"_\", then also \".\" and \"-\")")]
#[case::tag_with_plus("nginx:1.0+build".into(), "tag \"1.0+build\" is invalid (letters, digits and \"_\", then also \".\" and \"-\")")]
#[case::tag_of_129_characters(format!("nginx:{}", "t".repeat(129)), "tag is 129 characters long, the limit is 128")]
#[case::two_tags("nginx:1:2".into(), "repository path component \"nginx:1\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::missing_name_before_tag(":1.27".into(), "image reference has no repository name")]
#[case::missing_name_before_digest(format!("@{}", sha256()), "image reference has no repository name")]
#[case::leading_slash("/nginx".into(), "repository path component \"\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::trailing_slash("nginx/".into(), "repository path component \"\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::empty_component("a//b".into(), "repository path component \"\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::leading_hyphen("-nginx".into(), "repository path component \"-nginx\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::trailing_hyphen("nginx-".into(), "repository path component \"nginx-\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::double_dot("a..b".into(), "repository path component \"a..b\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::triple_underscore("a___b".into(), "repository path component \"a___b\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::mixed_separators("a._b".into(), "repository path component \"a._b\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::space_inside("ngin x".into(), "repository path component \"ngin x\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::non_ascii("ünicode/app".into(), "repository path component \"ünicode\" is invalid (lowercase letters and digits, separated by \".\", \"_\", \"__\" or hyphens)")]
#[case::non_numeric_port("registry.example.com:abc/app".into(), "registry port \"abc\" must be digits")]
#[case::empty_port("registry.example.com:/app".into(), "registry port \"\" must be digits")]
#[case::domain_with_leading_hyphen("-registry.example.com/app".into(), "registry \"-registry.example.com\" is not a valid host name (dot-separated letters, digits and inner hyphens)")]
#[case::domain_with_empty_label("registry..example.com/app".into(), "registry \"registry..example.com\" is not a valid host name (dot-separated letters, digits and inner hyphens)")]
#[case::domain_with_underscore_and_port("registry_example.com:5000/app".into(), "registry \"registry_example.com:5000\" is not a valid host name (dot-separated letters, digits and inner hyphens)")]
#[case::unclosed_ipv6("[::1/app".into(), "registry \"[::1\" is not a valid bracketed IPv6 address")]
#[case::invalid_ipv6("[::g]/app".into(), "registry \"[::g]\" is not a valid bracketed IPv6 address")]
#[case::ipv4_in_brackets("[127.0.0.1]/app".into(), "registry \"[127.0.0.1]\" is not a valid bracketed IPv6 address")]
#[case::junk_after_ipv6("[::1]x/app".into(), "registry \"[::1]x\" is not a valid host name (dot-separated letters, digits and inner hyphens)")]
#[case::empty_ipv6_port("[::1]:/app".into(), "registry port \"\" must be digits")]
#[case::image_id_as_name(
    hex(64),
    "repository name must not be a 64-character hex string (that is an image ID, not a name)"
)]
fn invalid_references_say_why(#[case] written: String, #[case] reason: &str) {
    let error = ImageReference::parse(&written).expect_err(&written);
    assert_eq!(error.to_string(), reason, "{written:?}");
}

/// `allowedAlgorithms` narrows which registered algorithms a digest may use; the reason lists what is allowed.
#[rstest]
#[case::sha256_allowed_by_default(format!("sha256:{}", hex(64)), &[Algorithm::Sha256, Algorithm::Sha512], Ok(()))]
#[case::sha512_allowed_by_default(format!("sha512:{}", hex(128)), &[Algorithm::Sha256, Algorithm::Sha512], Ok(()))]
#[case::sha384_not_allowed_by_default(
    format!("sha384:{}", hex(96)),
    &[Algorithm::Sha256, Algorithm::Sha512],
    Err("digest algorithm sha384 is not allowed (allowed: sha256, sha512)")
)]
#[case::md5_not_allowed_by_default(
    format!("md5:{}", hex(32)),
    &[Algorithm::Sha256, Algorithm::Sha512],
    Err("digest algorithm md5 is not allowed (allowed: sha256, sha512)")
)]
#[case::only_sha512(
    format!("sha256:{}", hex(64)),
    &[Algorithm::Sha512],
    Err("digest algorithm sha256 is not allowed (allowed: sha512)")
)]
#[case::sha384_when_allowed(format!("sha384:{}", hex(96)), &[Algorithm::Sha384], Ok(()))]
fn allowed_algorithms(
    #[case] digest: String,
    #[case] allowed: &[Algorithm],
    #[case] expected: Result<(), &str>,
) {
    let outcome = Digest::parse(&digest, allowed)
        .map(|_| ())
        .map_err(|error| error.to_string());
    assert_eq!(outcome, expected.map_err(str::to_string));
    let reference = format!("nginx:1.27@{digest}");
    let outcome = ImageReference::parse_with_algorithms(&reference, allowed)
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(outcome, expected.map_err(str::to_string));
}

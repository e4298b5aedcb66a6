//! distribution/reference v0.6.0's `ParseNormalizedNamed` (the function the kubelet, 1.30 and later, reads a
//! container's image with), rebuilt from what that module publishes: the regular expressions of its regexp.go,
//! matched here by `regex-lite`; the Docker Hub split of normalize.go; `Parse`'s 255-character limit on the path; and
//! go-digest v1.0.0's `Validate` with the three algorithms go-digest registers.
//!
//! A test oracle, shared by the policy's tests (policy/tests/reference_oracle.rs) and the fuzz targets (fuzz/). The
//! policy's own parser (policy/src/reference.rs) is written by hand, to say *why* a reference is wrong and to stay
//! small in policy.wasm; this crate answers only *whether* a reference parses and into what, by the most literal
//! reading of the published grammar it can, so that the two can be compared on any input. It is never a dependency
//! of policy.wasm.

use std::sync::LazyLock;

use regex_lite::Regex;

/// regexp.go's expressions, as published. Go's `\w` and `[[:xdigit:]]` are ASCII-only, and so are regex-lite's, so
/// they are kept as written.
pub mod grammar {
    /// A run of a path component.
    pub const ALPHANUMERIC: &str = "[a-z0-9]+";
    /// What may stand between two runs of a path component.
    pub const SEPARATOR: &str = "(?:[._]|__|[-]+)";
    /// One dot-separated label of a host name.
    pub const DOMAIN_NAME_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    pub const OPTIONAL_PORT: &str = "(?::[0-9]+)?";
    pub const TAG: &str = r"[\w][\w.-]{0,127}";
    /// Any digest of the OCI grammar; which of them are valid is go-digest's `Validate`'s to say.
    pub const DIGEST: &str =
        "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    /// An image ID, which `ParseNormalizedNamed` refuses to read as a name.
    pub const IDENTIFIER: &str = "([a-f0-9]{64})";
    /// Bracketed hex digits and colons: v0.6.0 checks no more of an IPv6 address than that.
    pub const IPV6_ADDRESS: &str = r"\[(?:[a-fA-F0-9:]+)\]";

    fn optional(parts: &[&str]) -> String {
        format!("(?:{})?", parts.concat())
    }

    fn any_times(parts: &[&str]) -> String {
        format!("(?:{})*", parts.concat())
    }

    fn capture(parts: &[&str]) -> String {
        format!("({})", parts.concat())
    }

    fn anchored(parts: &[&str]) -> String {
        format!("^{}$", parts.concat())
    }

    pub fn domain_name() -> String {
        DOMAIN_NAME_COMPONENT.to_string() + &any_times(&[r"\.", DOMAIN_NAME_COMPONENT])
    }

    pub fn host() -> String {
        format!("(?:{}|{IPV6_ADDRESS})", domain_name())
    }

    /// `domainAndPort`: a registry.
    pub fn domain_and_port() -> String {
        host() + OPTIONAL_PORT
    }

    pub fn path_component() -> String {
        ALPHANUMERIC.to_string() + &any_times(&[SEPARATOR, ALPHANUMERIC])
    }

    /// `remoteName`: a repository path, components joined by '/'.
    pub fn remote_name() -> String {
        let path_component = path_component();
        path_component.clone() + &any_times(&["/", &path_component])
    }

    /// `namePat`: a repository name, with or without its registry.
    pub fn name() -> String {
        optional(&[&domain_and_port(), "/"]) + &remote_name()
    }

    /// `anchoredNamePat`: a name, captured as (registry, path); the registry group takes the first component
    /// whenever it can.
    pub fn anchored_name() -> String {
        anchored(&[
            &optional(&[&capture(&[&domain_and_port()]), "/"]),
            &capture(&[&remote_name()]),
        ])
    }

    /// `referencePat`: a whole reference, captured as (name, tag, digest).
    pub fn reference() -> String {
        anchored(&[
            &capture(&[&name()]),
            &optional(&[":", &capture(&[TAG])]),
            &optional(&["@", &capture(&[DIGEST])]),
        ])
    }

    pub fn anchored_identifier() -> String {
        anchored(&[IDENTIFIER])
    }
}

/// `RepositoryNameTotalLengthMax`: the longest *path* (`library/nginx`, without the registry) `Parse` accepts.
pub const PATH_MAX_LEN: usize = 255;

/// Docker Hub, and the names normalize.go gives it.
const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPOSITORY_PREFIX: &str = "library/";

static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&grammar::reference()).expect("referencePat compiles"));
static ANCHORED_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&grammar::anchored_name()).expect("anchoredNamePat compiles"));
static ANCHORED_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&grammar::anchored_identifier()).expect("the identifier pattern compiles")
});
/// go-digest's encoded part for every algorithm it registers: lowercase hex (the length is checked apart).
static LOWERCASE_HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-f0-9]*$").expect("the hex pattern compiles"));

/// A reference `ParseNormalizedNamed` accepts, in the parts its `Named` result reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// `Domain()`: the registry (`docker.io` for Docker Hub), or empty where `Parse` found none in the name: when the
    /// first component Docker's split took for a registry is no host but is a path component (`do_ker.io/app`).
    pub domain: String,
    /// `Path()`: the repository path, with Docker Hub's `library/` where normalize.go adds it.
    pub path: String,
    pub tag: Option<String>,
    /// The digest as written, once go-digest has validated it.
    pub digest: Option<String>,
}

impl Named {
    /// `Name()`: the registry and the path joined by '/', or the path alone when there is no registry.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The digest's algorithm (`sha256`), when there is a digest.
    pub fn digest_algorithm(&self) -> Option<&str> {
        self.digest
            .as_deref()
            .and_then(|digest| digest.split_once(':'))
            .map(|(algorithm, _)| algorithm)
    }

    /// Whether this reference is pinned when the algorithms in `allowed` (`"sha256"`...) are: it has a digest (a
    /// valid one, or it would not have parsed) and its algorithm is one of them.
    pub fn is_pinned_with(&self, allowed: &[&str]) -> bool {
        self.digest_algorithm()
            .is_some_and(|algorithm| allowed.contains(&algorithm))
    }
}

/// Which step of `ParseNormalizedNamed` returns the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// "cannot specify 64-byte hexadecimal strings"
    HexIdentifier,
    /// "repository name must be lowercase", judged on the text between the split-off registry and the first ':'.
    UppercaseRepository,
    /// `referencePat` does not match what the split put together.
    NotAReference,
    /// The path is longer than [`PATH_MAX_LEN`].
    PathTooLong,
    /// go-digest's `Validate`: an algorithm it does not register, or an encoded part of the wrong length or case.
    InvalidDigest,
}

/// `ParseNormalizedNamed(reference)`.
pub fn parse_normalized_named(reference: &str) -> Result<Named, Rejection> {
    if ANCHORED_IDENTIFIER.is_match(reference) {
        return Err(Rejection::HexIdentifier);
    }
    let (domain, remainder) = split_docker_domain(reference);
    let remote = remainder.split(':').next().unwrap_or_default();
    // Go's strings.ToLower and Rust's to_lowercase differ only outside ASCII, which the grammar refuses next anyway.
    if remote.to_lowercase() != remote {
        return Err(Rejection::UppercaseRepository);
    }
    parse(&format!("{domain}/{remainder}"))
}

/// The rule the policy enforces, in this oracle's terms: `reference` is pinned when `ParseNormalizedNamed` accepts it
/// with a digest whose algorithm is in `allowed` (`"sha256"`...).
pub fn is_pinned(reference: &str, allowed: &[&str]) -> bool {
    parse_normalized_named(reference).is_ok_and(|named| named.is_pinned_with(allowed))
}

/// reference.go's `Parse`, for the names `ParseNormalizedNamed` hands it (never empty, never digest-only).
fn parse(reference: &str) -> Result<Named, Rejection> {
    let captures = REFERENCE
        .captures(reference)
        .ok_or(Rejection::NotAReference)?;
    let name = captures.get(1).map_or("", |m| m.as_str());
    // Every name `referencePat` matches, `anchoredNamePat` matches too: it is the same grammar, anchored.
    let name_parts = ANCHORED_NAME
        .captures(name)
        .ok_or(Rejection::NotAReference)?;
    let domain = name_parts.get(1).map_or("", |m| m.as_str());
    let path = name_parts.get(2).map_or("", |m| m.as_str());
    if path.len() > PATH_MAX_LEN {
        return Err(Rejection::PathTooLong);
    }
    let tag = captures.get(2).map(|m| m.as_str().to_string());
    let digest = captures.get(3).map(|m| m.as_str());
    if let Some(digest) = digest {
        validate_digest(digest)?;
    }
    Ok(Named {
        domain: domain.to_string(),
        path: path.to_string(),
        tag,
        digest: digest.map(str::to_string),
    })
}

/// normalize.go's `splitDockerDomain`: the registry, taken from the first component only when it looks like a host
/// (`localhost`, or it has a '.' or a ':', or uppercase letters, which a path may not have), else Docker Hub; and the
/// rest, with `library/` before an official image's name.
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((first, rest)) = name.split_once('/') else {
        return (
            DEFAULT_DOMAIN,
            format!("{OFFICIAL_REPOSITORY_PREFIX}{name}"),
        );
    };
    let (domain, remainder) = if first == "localhost" {
        (first, rest)
    } else if first == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, rest)
    } else if first.contains(['.', ':']) || first.to_lowercase() != first {
        (first, rest)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        (domain, format!("{OFFICIAL_REPOSITORY_PREFIX}{remainder}"))
    } else {
        (domain, remainder.to_string())
    }
}

/// go-digest v1.0.0's `Digest.Validate`, with the algorithms it registers: sha256, sha384 and sha512, each
/// lowercase hex of twice its hash's size.
fn validate_digest(digest: &str) -> Result<(), Rejection> {
    let Some((algorithm, encoded)) = digest
        .split_once(':')
        .filter(|(algorithm, encoded)| !algorithm.is_empty() && !encoded.is_empty())
    else {
        return Err(Rejection::InvalidDigest);
    };
    let hash_size = match algorithm {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        _ => return Err(Rejection::InvalidDigest),
    };
    if encoded.len() != hash_size * 2 || !LOWERCASE_HEX.is_match(encoded) {
        return Err(Rejection::InvalidDigest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The oracle on references whose reading by v0.6.0 follows from its source line by line: if the expressions
    //! were mistyped or the steps mis-ordered, these fail before any comparison with the policy is made.

    use super::*;

    const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn named(domain: &str, path: &str, tag: Option<&str>, digest: Option<&str>) -> Named {
        Named {
            domain: domain.into(),
            path: path.into(),
            tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn docker_hub_names_are_normalized() {
        assert_eq!(
            parse_normalized_named("nginx:1.27"),
            Ok(named("docker.io", "library/nginx", Some("1.27"), None))
        );
        assert_eq!(
            parse_normalized_named("index.docker.io/nginx"),
            Ok(named("docker.io", "library/nginx", None, None))
        );
        assert_eq!(
            parse_normalized_named("user/app"),
            Ok(named("docker.io", "user/app", None, None))
        );
        // A bare host:port is a name and a tag.
        assert_eq!(
            parse_normalized_named("localhost:5000"),
            Ok(named("docker.io", "library/localhost", Some("5000"), None))
        );
    }

    #[test]
    fn a_dotted_first_component_that_is_no_host_is_read_again_as_a_path() {
        let digest = format!("sha256:{HEX64}");
        let parsed = parse_normalized_named(&format!("do_ker.io/library/nginx:1.27@{digest}"));
        assert_eq!(
            parsed,
            Ok(named(
                "",
                "do_ker.io/library/nginx",
                Some("1.27"),
                Some(&digest)
            ))
        );
        assert_eq!(parsed.unwrap().name(), "do_ker.io/library/nginx");
        // With a ':' or an uppercase letter it is no path component either.
        assert_eq!(
            parse_normalized_named("do_ker.io:5000/app"),
            Err(Rejection::NotAReference)
        );
        assert_eq!(
            parse_normalized_named("Do_ker.io/app"),
            Err(Rejection::NotAReference)
        );
    }

    #[test]
    fn bracketed_hosts_are_hex_digits_and_colons() {
        let digest = format!("sha256:{HEX64}");
        assert_eq!(
            parse_normalized_named(&format!("[:1]:5000/x:y@{digest}")),
            Ok(named("[:1]:5000", "x", Some("y"), Some(&digest)))
        );
        assert_eq!(
            parse_normalized_named("[::ffff:1.2.3.4]/app"),
            Err(Rejection::NotAReference)
        );
        // Without a ':', a '.' or uppercase, the first component is a Docker Hub path component, and '[' is none.
        assert_eq!(
            parse_normalized_named("[ab]/app"),
            Err(Rejection::NotAReference)
        );
        assert_eq!(
            parse_normalized_named("[AB]/app"),
            Ok(named("[AB]", "app", None, None))
        );
    }

    #[test]
    fn the_length_limit_is_on_the_path() {
        let path = "a".repeat(PATH_MAX_LEN);
        assert!(parse_normalized_named(&format!("localhost:5000/{path}")).is_ok());
        assert_eq!(
            parse_normalized_named(&format!("localhost:5000/{path}b")),
            Err(Rejection::PathTooLong)
        );
        // On Docker Hub, an official image's path has "library/" before it.
        let official = "a".repeat(PATH_MAX_LEN - "library/".len());
        assert!(parse_normalized_named(&official).is_ok());
        assert_eq!(
            parse_normalized_named(&format!("{official}b")),
            Err(Rejection::PathTooLong)
        );
    }

    #[test]
    fn refusals_come_from_the_step_that_makes_them() {
        assert_eq!(parse_normalized_named(HEX64), Err(Rejection::HexIdentifier));
        assert_eq!(
            parse_normalized_named("Nginx"),
            Err(Rejection::UppercaseRepository)
        );
        assert_eq!(
            parse_normalized_named("nginx:"),
            Err(Rejection::NotAReference)
        );
        assert_eq!(
            parse_normalized_named(&format!("nginx@md5:{}", &HEX64[..32])),
            Err(Rejection::InvalidDigest)
        );
        assert_eq!(
            parse_normalized_named(&format!("nginx@sha256:{}", HEX64.to_uppercase())),
            Err(Rejection::InvalidDigest)
        );
        assert_eq!(
            parse_normalized_named(&format!("nginx@sha512:{HEX64}")),
            Err(Rejection::InvalidDigest)
        );
        assert!(is_pinned(&format!("nginx@sha256:{HEX64}"), &["sha256"]));
        assert!(!is_pinned(&format!("nginx@sha256:{HEX64}"), &["sha512"]));
        assert!(!is_pinned("nginx:1.27", &["sha256"]));
    }
}

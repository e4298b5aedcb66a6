//! distribution/reference's `ParseNormalizedNamed` (the parser Docker and containerd, and so the kubelet, read image
//! references with), rebuilt from its published regular expressions (reference/regexp.go), its Docker Hub
//! normalization (normalize.go) and go-digest's validation, to compare the hand-written parser of the policy with.
//!
//! The policy may be stricter than distribution in two named ways, and nowhere else: a bracketed host must be a real
//! IPv6 address (distribution takes any `[a-fA-F0-9:]+`); and a first component Docker's split takes for a registry
//! (one with a `.` or `:`) must be a valid host, where distribution then reads `registry_example.com/app` as a
//! two-component path without a registry. Where both accept, they must find the same name, tag and digest.

use std::sync::LazyLock;

use regex::Regex;

/// A reference as `ParseNormalizedNamed` reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The normalized name: `nginx` is `docker.io/library/nginx`.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// The grammar's pieces, as regular-expression text. Spelled out with ASCII classes: Go's `\w` and `[[:xdigit:]]`
/// are ASCII-only, Rust's `\w` is Unicode.
struct Grammar {
    domain_and_port: String,
    reference: String,
}

fn grammar() -> Grammar {
    let alphanumeric = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]+)";
    let domain_name_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain_name = format!(r"{domain_name_component}(?:\.{domain_name_component})*");
    let ipv6_address = r"\[(?:[a-fA-F0-9:]+)\]";
    let host = format!("(?:{domain_name}|{ipv6_address})");
    let domain_and_port = format!("{host}(?::[0-9]+)?");
    let path_component = format!("{alphanumeric}(?:{separator}{alphanumeric})*");
    let remote_name = format!("{path_component}(?:/{path_component})*");
    let name = format!("(?:{domain_and_port}/)?{remote_name}");
    let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
    Grammar {
        reference: format!("^({name})(?::({tag}))?(?:@({digest}))?$"),
        domain_and_port,
    }
}

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&grammar().reference).expect("distribution's reference grammar compiles")
});

static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^{}$", grammar().domain_and_port))
        .expect("distribution's domain grammar compiles")
});

/// `NameTotalLengthMax`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Whether `domain` is a registry (host and optional port) by distribution's grammar.
pub fn is_domain(domain: &str) -> bool {
    DOMAIN.is_match(domain)
}

/// normalize.go's `splitDockerDomain`: the registry (Docker Hub when the first component does not look like a host)
/// and the rest, with Docker Hub's `library/` added to official images.
fn split_docker_domain(name: &str) -> (&str, String) {
    let (mut domain, remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first, rest.to_string())
        }
        _ => ("docker.io", name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io";
    }
    if domain == "docker.io" && !remainder.contains('/') {
        return (domain, format!("library/{remainder}"));
    }
    (domain, remainder)
}

/// go-digest's `Digest.Validate` with sha256, sha384 and sha512 registered (as they are in containerd).
fn digest_is_valid(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    encoded.len() == length
        && encoded
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `ParseNormalizedNamed(reference)`: `None` where it returns an error.
pub fn parse_normalized_named(reference: &str) -> Option<Parsed> {
    // "cannot specify 64-byte hexadecimal strings"
    if reference.len() == 64
        && reference
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let (domain, remainder) = split_docker_domain(reference);
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.to_lowercase() != remote_name {
        return None; // "repository name must be lowercase"
    }
    // `Parse(domain + "/" + remainder)`; the tag and digest are the same text in `reference`.
    let full = format!("{domain}/{remainder}");
    let captures = REFERENCE.captures(&full)?;
    let name = captures.get(1)?.as_str().to_string();
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return None;
    }
    let tag = captures.get(2).map(|m| m.as_str().to_string());
    let digest = captures.get(3).map(|m| m.as_str().to_string());
    if digest
        .as_deref()
        .is_some_and(|digest| !digest_is_valid(digest))
    {
        return None;
    }
    Some(Parsed { name, tag, digest })
}

//! Container image references, parsed as distribution/reference v0.6.0's `ParseNormalizedNamed` parses them (the
//! kubelet reads images with it from 1.30 on, and containerd with the same grammar), and the digest rule this policy
//! enforces: an image is pinned when it parses, carries a digest, the digest's algorithm is allowed, and its encoded
//! part is what go-digest's `Validate` requires (lowercase hex of the algorithm's length).
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain "/" ] path             (path at most 255 characters, with Docker Hub's "library/")
//! domain           := host [ ":" port ]
//! host             := domain-component ( "." domain-component )* | "[" [a-fA-F0-9:]+ "]"
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! port             := [0-9]+
//! path             := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := "." | "_" | "__" | "-"+
//! tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest           := algorithm ":" encoded           (this policy: sha256/sha384/sha512, lowercase hex)
//! ```
//!
//! Which first component is the domain is Docker's choice, not the grammar's: the one before the first '/' when it
//! is `localhost` or has a '.', a ':' or an uppercase letter (a path may have none), else there is none and the name
//! is Docker Hub's (`nginx` is `docker.io/library/nginx`). A first component so chosen that is no host but is a path
//! component (`do_ker.io/app`: a '.' and a '_') is read again, as v0.6.0 reads it, as the start of a path with no
//! registry at all, not Docker Hub's. A bracketed host is only checked for hex digits and colons, as v0.6.0 checks
//! it. The 255-character limit is on the path alone. policy/tests/reference_oracle.rs and fuzz/'s reference_parser
//! hold this parser equal to an oracle built from v0.6.0's published expressions (distribution-reference-oracle/).
//!
//! Hand-written rather than `regex-lite`: the policy must say *why* a reference is wrong ("repository name must be
//! lowercase", "tag is 129 characters long"), so the input has to be split into domain, path, tag and digest and each
//! part judged on its own anyway; once it is split, every part is a one-screen loop over bytes. And it is smaller: a
//! regex engine inside policy.wasm would cost far more of its size budget than these loops, only to answer match /
//! no match. The tests use one, where it costs the module nothing.

use std::fmt;

use crate::swar;

/// Longest repository path (`library/nginx`, without the registry) distribution/reference accepts:
/// `RepositoryNameTotalLengthMax`, which v0.6.0's `Parse` compares with the path alone.
pub const PATH_MAX_LEN: usize = 255;
/// Longest tag: the grammar's `[\w][\w.-]{0,127}`.
pub const TAG_MAX_LEN: usize = 128;

/// Docker Hub, the domain of references written without one.
const DEFAULT_DOMAIN: &str = "docker.io";
/// Docker Hub's old name, normalized to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images, with its slash (`nginx` is `docker.io/library/nginx`).
const OFFICIAL_REPOSITORY_NAMESPACE: &str = "library/";

/// A digest algorithm registered with the OCI image spec whose encoded part is lowercase hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded hash: two characters per byte.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a reference (or a digest) is not acceptable. `Display` is the reason shown to the user; the parts of the
/// reference it quotes are escaped (`{:?}`), so no reference can add lines to a rejection message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceError {
    Empty,
    SurroundingWhitespace,
    MoreThanOneAt,
    MissingName,
    HexIdentifierAsName,
    InvalidDomain {
        domain: String,
    },
    InvalidPort {
        port: String,
    },
    InvalidIpv6 {
        host: String,
    },
    UppercaseName {
        path: String,
    },
    InvalidPathComponent {
        component: String,
    },
    PathTooLong {
        length: usize,
    },
    EmptyTag,
    InvalidTag {
        tag: String,
    },
    TagTooLong {
        length: usize,
    },
    DigestWithoutAlgorithm,
    DigestAlgorithmNotAllowed {
        algorithm: String,
        allowed: Vec<Algorithm>,
    },
    DigestUppercaseHex {
        algorithm: Algorithm,
        found: char,
    },
    DigestNotHex {
        algorithm: Algorithm,
        found: char,
    },
    DigestWrongLength {
        algorithm: Algorithm,
        found: usize,
    },
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ReferenceError::*;
        match self {
            Empty => write!(f, "image reference is empty"),
            SurroundingWhitespace => {
                write!(f, "image reference has leading or trailing whitespace")
            }
            MoreThanOneAt => write!(f, "image reference has more than one \"@\""),
            MissingName => write!(f, "image reference has no repository name"),
            HexIdentifierAsName => {
                write!(
                    f,
                    "repository name must not be a 64-character hex string (that is an image ID, not a name)"
                )
            }
            InvalidDomain { domain } => write!(
                f,
                "registry {domain:?} is not a valid host name (dot-separated letters, digits and inner hyphens)"
            ),
            InvalidPort { port } => write!(f, "registry port {port:?} must be digits"),
            InvalidIpv6 { host } => {
                write!(f, "registry {host:?} is not a valid bracketed IPv6 address")
            }
            UppercaseName { path } => write!(f, "repository name must be lowercase ({path:?})"),
            InvalidPathComponent { component } => write!(
                f,
                "repository path component {component:?} is invalid (lowercase letters and digits, separated by \
                 \".\", \"_\", \"__\" or hyphens)"
            ),
            PathTooLong { length } => write!(
                f,
                "repository path is {length} characters long once normalized (without its registry), the limit \
                 is {PATH_MAX_LEN}"
            ),
            EmptyTag => write!(f, "tag after \":\" is empty"),
            InvalidTag { tag } => write!(
                f,
                "tag {tag:?} is invalid (letters, digits and \"_\", then also \".\" and \"-\")"
            ),
            TagTooLong { length } => write!(
                f,
                "tag is {length} characters long, the limit is {TAG_MAX_LEN}"
            ),
            DigestWithoutAlgorithm => write!(f, "digest must be written as algorithm:hex"),
            DigestAlgorithmNotAllowed { algorithm, allowed } => {
                write!(
                    f,
                    "digest algorithm {} is not allowed (allowed: ",
                    algorithm.escape_debug()
                )?;
                for (i, allowed) in allowed.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(allowed.name())?;
                }
                f.write_str(")")
            }
            DigestUppercaseHex { algorithm, found } => write!(
                f,
                "{algorithm} digest must be {} lowercase hex characters, found uppercase {found:?}",
                algorithm.hex_len()
            ),
            DigestNotHex { algorithm, found } => write!(
                f,
                "{algorithm} digest must be {} lowercase hex characters, found non-hex {found:?}",
                algorithm.hex_len()
            ),
            DigestWrongLength { algorithm, found } => write!(
                f,
                "{algorithm} digest must be {} lowercase hex characters, found {found}",
                algorithm.hex_len()
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

/// A digest that passed the rule: an allowed algorithm and lowercase hex of exactly that algorithm's length. It
/// borrows its hex from the text it was parsed from, as [`ImageReference`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest<'a> {
    algorithm: Algorithm,
    encoded: &'a str,
}

impl<'a> Digest<'a> {
    /// Parses `algorithm:hex`, accepting only the algorithms in `allowed`.
    pub fn parse(digest: &'a str, allowed: &[Algorithm]) -> Result<Digest<'a>, ReferenceError> {
        let Some((algorithm_name, encoded)) = digest
            .bytes()
            .position(|b| b == b':')
            .filter(|&colon| colon > 0)
            .map(|colon| (&digest[..colon], &digest[colon + 1..]))
        else {
            return Err(ReferenceError::DigestWithoutAlgorithm);
        };
        let algorithm = Algorithm::from_name(algorithm_name)
            .filter(|algorithm| allowed.contains(algorithm))
            .ok_or_else(|| ReferenceError::DigestAlgorithmNotAllowed {
                algorithm: algorithm_name.to_string(),
                allowed: allowed.to_vec(),
            })?;
        if !swar::all_lowercase_hex(encoded.as_bytes()) {
            let found = encoded
                .chars()
                .find(|c| !matches!(c, '0'..='9' | 'a'..='f'))
                .unwrap_or_default();
            return Err(match found {
                'A'..='F' => ReferenceError::DigestUppercaseHex { algorithm, found },
                _ => ReferenceError::DigestNotHex { algorithm, found },
            });
        }
        if encoded.len() != algorithm.hex_len() {
            return Err(ReferenceError::DigestWrongLength {
                algorithm,
                found: encoded.len(),
            });
        }
        Ok(Digest { algorithm, encoded })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn encoded(&self) -> &'a str {
        self.encoded
    }
}

impl fmt::Display for Digest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.encoded)
    }
}

/// An image reference that passed the grammar: its parts, borrowed from the text it was parsed from (the rule
/// parses every image of every request, and copying four strings out of each was a measurable part of that).
/// `Display` prints it exactly as it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageReference<'a> {
    registry: Registry<'a>,
    /// The repository path as written (`library/nginx`, or just `nginx`); with no registry, the whole name.
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<Digest<'a>>,
}

/// Where a reference's repository lives, as distribution's `ParseNormalizedNamed` decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Registry<'a> {
    /// Written before the path (`registry.example.com:5000`, `index.docker.io`).
    Written(&'a str),
    /// Not written, so Docker Hub: `nginx` is `docker.io/library/nginx`.
    DockerHub,
    /// None at all: the first component looked like a host to Docker's split (it has a '.') but is none, and as it is
    /// a path component, distribution reads the whole name as a path without a registry (`do_ker.io/app`).
    Absent,
}

impl<'a> ImageReference<'a> {
    /// Parses a reference, accepting a digest of any algorithm this policy knows.
    pub fn parse(reference: &'a str) -> Result<ImageReference<'a>, ReferenceError> {
        ImageReference::parse_with_algorithms(reference, &Algorithm::ALL)
    }

    /// Parses a reference whose digest, if any, must use one of `allowed`.
    pub fn parse_with_algorithms(
        reference: &'a str,
        allowed: &[Algorithm],
    ) -> Result<ImageReference<'a>, ReferenceError> {
        if reference.is_empty() {
            return Err(ReferenceError::Empty);
        }
        // Lengths, not contents: comparing the two strings would read the whole reference again.
        if reference.trim().len() != reference.len() {
            return Err(ReferenceError::SurroundingWhitespace);
        }
        let marks = Landmarks::of(reference.as_bytes());
        if marks.second_at {
            return Err(ReferenceError::MoreThanOneAt);
        }
        let (name_and_tag, digest) = match marks.first_at {
            Some(at) => (&reference[..at], Some(&reference[at + 1..])),
            None => (reference, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to the registry's port.
        let (name, tag) = match marks.last_colon {
            Some(colon) if marks.last_slash.is_none_or(|slash| slash < colon) => {
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            _ => (name_and_tag, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::MissingName);
        }
        // Docker's rule (distribution's ParseNormalizedNamed): a bare 64-hex string is an image ID.
        if reference.len() == 64 && swar::all_lowercase_hex(reference.as_bytes()) {
            return Err(ReferenceError::HexIdentifierAsName);
        }
        // Every '/' before the '@' is in the name: a tag has none.
        let (registry, path) = match split_domain(name, marks.first_slash) {
            (Some(domain), path) => match check_domain(domain) {
                Ok(()) => (Registry::Written(domain), path),
                // distribution's `Parse` takes the whole name as a path when its first component is no host; this
                // one then fails only if some later component is no path component either.
                Err(_) if is_path_component(domain.as_bytes()) => (Registry::Absent, name),
                Err(error) => return Err(error),
            },
            (None, path) => (Registry::DockerHub, path),
        };
        check_path(path)?;
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        let digest = digest
            .map(|digest| Digest::parse(digest, allowed))
            .transpose()?;
        // v0.6.0 limits the path as its normalization leaves it (`library/` added), without the registry.
        let (_, namespace) = normalized_domain_and_namespace(registry, path);
        let length = namespace.len() + path.len();
        if length > PATH_MAX_LEN {
            return Err(ReferenceError::PathTooLong { length });
        }
        Ok(ImageReference {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// The registry as written (`registry.example.com:5000`), if the reference names one.
    pub fn domain(&self) -> Option<&'a str> {
        match self.registry {
            Registry::Written(domain) => Some(domain),
            Registry::DockerHub | Registry::Absent => None,
        }
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    pub fn digest(&self) -> Option<&Digest<'a>> {
        self.digest.as_ref()
    }

    /// The repository as Docker names it: `nginx` is `docker.io/library/nginx`, `user/app` is `docker.io/user/app`,
    /// `index.docker.io/x` is `docker.io/x`, `do_ker.io/app` (no registry) stays as it is... (no tag, no digest).
    pub fn normalized_name(&self) -> String {
        match normalized_domain_and_namespace(self.registry, self.path) {
            (Some(domain), namespace) => format!("{domain}/{namespace}{}", self.path),
            (None, _) => self.path.to_string(),
        }
    }

    /// The whole reference with its name normalized, tag and digest as written: `nginx:1.27` is
    /// `docker.io/library/nginx:1.27`. No `:latest` is added; an untagged reference stays untagged.
    pub fn normalized(&self) -> String {
        let mut normalized = self.normalized_name();
        self.write_tag_and_digest(&mut normalized);
        normalized
    }

    fn write_tag_and_digest(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for ImageReference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = String::new();
        if let Some(domain) = self.domain() {
            written.push_str(domain);
            written.push('/');
        }
        written.push_str(self.path);
        self.write_tag_and_digest(&mut written);
        f.write_str(&written)
    }
}

/// The registry of a name as Docker normalizes it, and the namespace it puts before the path: `nginx` is
/// (`docker.io`, `library/`), `index.docker.io/user/app` is (`docker.io`, ``), `do_ker.io/app` is (none, ``).
fn normalized_domain_and_namespace<'a>(
    registry: Registry<'a>,
    path: &str,
) -> (Option<&'a str>, &'static str) {
    let domain = match registry {
        Registry::Absent => return (None, ""),
        Registry::DockerHub | Registry::Written(LEGACY_DEFAULT_DOMAIN) => DEFAULT_DOMAIN,
        Registry::Written(domain) => domain,
    };
    if domain == DEFAULT_DOMAIN && !path.bytes().any(|b| b == b'/') {
        (Some(domain), OFFICIAL_REPOSITORY_NAMESPACE)
    } else {
        (Some(domain), "")
    }
}

/// Docker's split (distribution's `splitDockerDomain`): the first component is a registry when it looks like a host
/// (has a '.' or a ':', is `localhost`, or has uppercase letters, which a path may not); otherwise the whole name is
/// a Docker Hub path. `first_slash` is where the name's first '/' is, if it has one. Whether the registry it picks is
/// a host is for [`check_domain`] to say.
fn split_domain(name: &str, first_slash: Option<usize>) -> (Option<&str>, &str) {
    match first_slash {
        Some(slash) => {
            let first = &name[..slash];
            if first == "localhost"
                || first
                    .bytes()
                    .any(|b| matches!(b, b'.' | b':') || b.is_ascii_uppercase())
            {
                (Some(first), &name[slash + 1..])
            } else {
                (None, name)
            }
        }
        None => (None, name),
    }
}

/// Where the characters that split a reference are, found in one pass over it: the first '@' (its digest follows)
/// and whether there is a second; before the first '@', the first and the last '/' and the last ':'. A reference
/// is short, but searching it for each character in turn (`split_once`, `rfind`, `contains`) reads it several times
/// over, in wasm, where `memchr` has no SIMD.
#[derive(Default)]
struct Landmarks {
    first_at: Option<usize>,
    second_at: bool,
    first_slash: Option<usize>,
    last_slash: Option<usize>,
    last_colon: Option<usize>,
}

impl Landmarks {
    fn of(reference: &[u8]) -> Landmarks {
        let mut marks = Landmarks::default();
        for (chunk_index, chunk) in reference.chunks(8).enumerate() {
            // Most eight-byte stretches of a name have none of the three: one test passes over them.
            if chunk.len() == 8 {
                let word = swar::word(chunk);
                if (swar::equal(word, b'@') | swar::equal(word, b'/') | swar::equal(word, b':'))
                    == 0
                {
                    continue;
                }
            }
            for (offset, &byte) in chunk.iter().enumerate() {
                let at = chunk_index * 8 + offset;
                // Letters are above '@': one comparison passes over them.
                if byte > b'@' {
                    continue;
                }
                if byte == b'@' {
                    marks.first_at = Some(at);
                    marks.second_at = swar::contains_byte(&reference[at + 1..], b'@');
                    return marks;
                } else if byte == b'/' {
                    marks.first_slash.get_or_insert(at);
                    marks.last_slash = Some(at);
                } else if byte == b':' {
                    marks.last_colon = Some(at);
                }
            }
        }
        marks
    }
}

fn check_domain(domain: &str) -> Result<(), ReferenceError> {
    let (host, port) = if let Some(bracketed) = domain.strip_prefix('[') {
        let (address, after) =
            bracketed
                .split_once(']')
                .ok_or_else(|| ReferenceError::InvalidIpv6 {
                    host: domain.to_string(),
                })?;
        // distribution v0.6.0's `[a-fA-F0-9:]+` and nothing more: it does not check that this is an address (`[:1]`
        // is taken), and a stricter policy would refuse images the kubelet pulls. No dotted quads (`::ffff:1.2.3.4`).
        let hex_and_colons =
            !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        if !hex_and_colons {
            return Err(ReferenceError::InvalidIpv6 {
                host: domain.to_string(),
            });
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => {
                    return Err(ReferenceError::InvalidDomain {
                        domain: domain.to_string(),
                    });
                }
            },
        }
    } else {
        match domain.bytes().position(|b| b == b':') {
            Some(colon) => (Some(&domain[..colon]), Some(&domain[colon + 1..])),
            None => (Some(domain), None),
        }
    };
    if host.is_some_and(|host| {
        !host
            .as_bytes()
            .split(|&b| b == b'.')
            .all(is_domain_component)
    }) {
        return Err(ReferenceError::InvalidDomain {
            domain: domain.to_string(),
        });
    }
    match port {
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(ReferenceError::InvalidPort {
                port: port.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// The character sets of a reference's parts, one bit each, looked up per byte in a table: in wasm a chain of range
/// comparisons per byte (`is_ascii_alphanumeric() || b == b'-'`) cost several compares and branches where this costs
/// one load.
mod class {
    /// `[a-z0-9]`: the runs of a path component.
    pub(super) const LOWER_OR_DIGIT: u8 = 1;
    /// `[a-zA-Z0-9]`: the ends of a domain component.
    pub(super) const ALNUM: u8 = 2;
    /// `[a-zA-Z0-9-]`: inside a domain component.
    pub(super) const DOMAIN: u8 = 4;
    /// `[a-zA-Z0-9_]`: a tag's first character.
    pub(super) const TAG_START: u8 = 8;
    /// `[a-zA-Z0-9_.-]`: a tag's others.
    pub(super) const TAG: u8 = 16;

    const TABLE: [u8; 256] = {
        let mut table = [0; 256];
        let mut byte = 0;
        while byte < 256 {
            let b = byte as u8;
            let lower_or_digit = b.is_ascii_lowercase() || b.is_ascii_digit();
            let alnum = b.is_ascii_alphanumeric();
            let mut bits = 0;
            if lower_or_digit {
                bits |= LOWER_OR_DIGIT;
            }
            if alnum {
                bits |= ALNUM;
            }
            if alnum || b == b'-' {
                bits |= DOMAIN;
            }
            if alnum || b == b'_' {
                bits |= TAG_START;
            }
            if alnum || b == b'_' || b == b'.' || b == b'-' {
                bits |= TAG;
            }
            table[byte] = bits;
            byte += 1;
        }
        table
    };

    /// `byte` is in the set `set`.
    pub(super) fn is(byte: u8, set: u8) -> bool {
        TABLE[usize::from(byte)] & set != 0
    }
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            class::is(first, class::ALNUM)
                && class::is(last, class::ALNUM)
                && bytes.iter().all(|&b| class::is(b, class::DOMAIN))
        }
        _ => false,
    }
}

fn check_path(path: &str) -> Result<(), ReferenceError> {
    let Some(component) = path
        .as_bytes()
        .split(|&b| b == b'/')
        .find(|component| !is_path_component(component))
    else {
        return Ok(());
    };
    // Reported before the component grammar: it is the common mistake and the clearer reason. (A path that passes
    // the grammar has no uppercase letter, so this is looked for only in one that does not.)
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::UppercaseName {
            path: path.to_string(),
        });
    }
    Err(ReferenceError::InvalidPathComponent {
        // Split at ASCII '/' bytes: still whole UTF-8 characters.
        component: String::from_utf8_lossy(component).into_owned(),
    })
}

/// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`
fn is_path_component(bytes: &[u8]) -> bool {
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && class::is(bytes[i], class::LOWER_OR_DIGIT) {
            i += 1;
        }
        if i == run_start {
            return false; // empty component, or a separator at the start, the end, or beside another separator
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    // Bytes, not chars: every allowed character is ASCII, and no byte of a non-ASCII character is.
    let mut bytes = tag.bytes();
    let first_ok = match bytes.next() {
        None => return Err(ReferenceError::EmptyTag),
        Some(first) => class::is(first, class::TAG_START),
    };
    if !first_ok || !bytes.all(|b| class::is(b, class::TAG)) {
        return Err(ReferenceError::InvalidTag {
            tag: tag.to_string(),
        });
    }
    if tag.len() > TAG_MAX_LEN {
        return Err(ReferenceError::TagTooLong { length: tag.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::class;

    /// Each class's set, written out character by character from the grammar in the module's doc, not derived from
    /// the predicates the table is built with: the table is checked against the grammar, not against itself.
    const CHARACTER_SETS: [(&str, u8, &str); 5] = [
        (
            "LOWER_OR_DIGIT",
            class::LOWER_OR_DIGIT,
            "abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "ALNUM",
            class::ALNUM,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        ),
        (
            "DOMAIN",
            class::DOMAIN,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
        ),
        (
            "TAG_START",
            class::TAG_START,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
        ),
        (
            "TAG",
            class::TAG,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
        ),
    ];

    #[test]
    fn the_byte_classes_are_the_grammar_s_character_sets() {
        let mut wrong = Vec::new();
        for (name, set, members) in CHARACTER_SETS {
            for byte in 0..=u8::MAX {
                let expected = members.as_bytes().contains(&byte);
                if class::is(byte, set) != expected {
                    wrong.push(format!(
                        "{name}: byte {byte:#04x} ({:?}) should {}be in the set",
                        char::from(byte),
                        if expected { "" } else { "not " }
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

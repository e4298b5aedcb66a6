//! The one format of a violation line: written by the rule, read back by its tools.
//!
//! Each line of a rejection, and each warning about an image, reads
//!
//! ```text
//! <subject>: <site> "<name>" (<path>) image "<image>" <reason>
//! Deployment web: container "app" (spec.template.spec.containers[0]) image "nginx:1.27" is not pinned by a digest
//! ```
//!
//! - subject: the object's kind and name (Kubernetes names hold neither `:` nor spaces);
//! - site: `container`, `init container`, `ephemeral container` or `image volume`, then its name, Rust-quoted, when it
//!   has one;
//! - path: where the container or volume sits in the object, dotted (`spec.template.spec.containers[0]`);
//! - image: the image as written, Rust-quoted; left out when there is none (a container with no image);
//! - reason: the rest of the line, the policy's own words.
//!
//! Admission answers carry only a message, and Kubewarden's engines show it as it is, so the format is text meant for
//! people. host-harness reads it back ([`parse_line`]) to point `check` and `pin` at the image's line; since this module
//! owns both directions, and a round-trip test holds them together, the tools never depend on an unwritten
//! convention.

use crate::text;
use crate::workload::ImageSite;
#[cfg(not(target_arch = "wasm32"))]
use crate::workload::SiteKind;

/// How many lines one answer lists before `… and N more`: enough to fix a workload, short enough for `kubectl`.
pub const MAX_LISTED: usize = 20;

/// How a reason starts when resolveTags asked for an image's digest and the lookup failed (the registry's or the
/// digest map's error follows). Unlike every other reason, it is about the lookup, not about the object as written:
/// `pin` tells the two apart by it ([`ViolationLine::is_failed_lookup`]).
pub const UNRESOLVED: &str = "could not be resolved to a digest";

/// How a reason starts when the lookup answered a digest the rule does not accept: a failed lookup too.
pub const UNACCEPTABLE_DIGEST: &str = "was resolved to an unacceptable digest";

/// Appends `<site> (<path>) image "<image>" `: the start of the line about one image site, which the reason ends
/// (the subject is added by [`with_subject`]).
pub fn push_site(line: &mut String, site: &ImageSite) {
    site.push_label(line);
    if let Some(image) = site.image.filter(|image| !image.is_empty()) {
        line.push_str(" image ");
        text::push_quoted(line, image);
    }
    line.push(' ');
}

/// Prefixes each line with `<subject>: ` and caps the list at [`MAX_LISTED`], saying how many more there were.
pub fn with_subject(subject: &str, lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    let mut out: Vec<String> = lines
        .into_iter()
        .take(MAX_LISTED)
        .map(|line| [subject, ": ", &line].concat())
        .collect();
    if total > MAX_LISTED {
        let mut more = [subject, ": … and "].concat();
        text::push_decimal(&mut more, total - MAX_LISTED);
        more.push_str(" more");
        out.push(more);
    }
    out
}

/// A violation line read back.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViolationLine {
    pub subject: String,
    pub site: SiteKind,
    pub name: Option<String>,
    /// Dotted, as written: `spec.template.spec.containers[0]`.
    pub path: String,
    pub image: Option<String>,
    pub reason: String,
}

#[cfg(not(target_arch = "wasm32"))]
impl ViolationLine {
    /// The site's JSON pointer in the object: `spec.template.spec.containers[0]` → `/spec/template/spec/containers/0`.
    pub fn pointer(&self) -> String {
        pointer_of_path(&self.path)
    }

    /// The JSON pointer of the image string at the site: `…/containers/0/image`, `…/volumes/0/image/reference`.
    pub fn image_pointer(&self) -> String {
        image_pointer_of(&self.path, self.site)
    }

    /// Whether the reason is a failed digest lookup ([`UNRESOLVED`], [`UNACCEPTABLE_DIGEST`]) rather than something
    /// wrong with the object as written (no image, an invalid or unrendered one, a missing tag): the one kind of
    /// violation that asking again, or another registry, can clear.
    pub fn is_failed_lookup(&self) -> bool {
        self.reason.starts_with(UNRESOLVED) || self.reason.starts_with(UNACCEPTABLE_DIGEST)
    }
}

/// A site's dotted path as a JSON pointer: `spec.template.spec.containers[0]` → `/spec/template/spec/containers/0`.
#[cfg(not(target_arch = "wasm32"))]
pub fn pointer_of_path(path: &str) -> String {
    let mut pointer = String::new();
    for segment in path.split('.') {
        let mut parts = segment.split('[');
        if let Some(field) = parts.next().filter(|field| !field.is_empty()) {
            pointer.push('/');
            pointer.push_str(field);
        }
        for index in parts {
            pointer.push('/');
            pointer.push_str(index.trim_end_matches(']'));
        }
    }
    pointer
}

/// The JSON pointer of the image string at a site of `kind` at dotted `path`: `…/containers/0/image`,
/// `…/volumes/0/image/reference`.
#[cfg(not(target_arch = "wasm32"))]
pub fn image_pointer_of(path: &str, kind: SiteKind) -> String {
    let mut pointer = pointer_of_path(path);
    pointer.push_str(match kind {
        SiteKind::ImageVolume => "/image/reference",
        _ => "/image",
    });
    pointer
}

/// Reads a line [`push_site`] and [`with_subject`] wrote; `None` for any other line (a malformed-object rejection,
/// `… and N more`, another policy's message). Host-side only: policy.wasm writes lines, it never reads them.
#[cfg(not(target_arch = "wasm32"))]
pub fn parse_line(line: &str) -> Option<ViolationLine> {
    // The subject ends at the first `: ` that a site follows; Kubernetes names cannot hold one.
    let mut from = 0;
    while let Some(at) = line[from..].find(": ") {
        let subject_end = from + at;
        if let Some(parsed) = parse_site_part(&line[subject_end + 2..]) {
            let (site, name, path, image, reason) = parsed;
            return Some(ViolationLine {
                subject: line[..subject_end].to_string(),
                site,
                name,
                path: path.to_string(),
                image,
                reason: reason.to_string(),
            });
        }
        from = subject_end + 2;
    }
    None
}

/// Whether `line` is the `<subject>: … and N more` line [`with_subject`] ends a capped list with: the sites it
/// stands for are not named, so a tool that needs them all asks again without the ones it was told about.
#[cfg(not(target_arch = "wasm32"))]
pub fn is_more_line(line: &str) -> bool {
    line.split_once(": … and ")
        .and_then(|(_, rest)| rest.strip_suffix(" more"))
        .is_some_and(|count| !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(not(target_arch = "wasm32"))]
type SitePart<'a> = (SiteKind, Option<String>, &'a str, Option<String>, &'a str);

#[cfg(not(target_arch = "wasm32"))]
fn parse_site_part(text: &str) -> Option<SitePart<'_>> {
    // Longest labels first: `container` is the end of `init container`.
    let (site, rest) = SiteKind::ALL
        .iter()
        .filter_map(|&site| Some((site, text.strip_prefix(site.label())?)))
        .max_by_key(|(site, _)| site.label().len())?;
    let (name, rest) = match rest.strip_prefix(' ').filter(|rest| rest.starts_with('"')) {
        Some(quoted) => {
            let (name, rest) = unquote(quoted)?;
            (Some(name), rest)
        }
        None => (None, rest),
    };
    let rest = rest.strip_prefix(" (")?;
    let close = rest.find(')')?;
    let path = &rest[..close];
    let is_path = !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._[]".contains(&b));
    if !is_path {
        return None;
    }
    let rest = &rest[close + 1..];
    let (image, rest) = match rest.strip_prefix(" image \"") {
        Some(_) => {
            let (image, rest) = unquote(&rest[" image ".len()..])?;
            (Some(image), rest)
        }
        None => (None, rest),
    };
    let reason = rest.strip_prefix(' ')?;
    Some((site, name, path, image, reason))
}

/// Reads a string [`text::push_quoted`] wrote (Rust's `{:?}` of a `str`): the text, and what follows the closing quote.
#[cfg(not(target_arch = "wasm32"))]
fn unquote(quoted: &str) -> Option<(String, &str)> {
    let mut chars = quoted.strip_prefix('"')?.char_indices();
    let body_start = 1;
    let mut out = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, &quoted[body_start + at + 1..])),
            '\\' => match chars.next()?.1 {
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'n' => out.push('\n'),
                '0' => out.push('\0'),
                c @ ('\\' | '"' | '\'') => out.push(c),
                'u' => {
                    if chars.next()?.1 != '{' {
                        return None;
                    }
                    let mut code = 0u32;
                    loop {
                        let digit = chars.next()?.1;
                        if digit == '}' {
                            break;
                        }
                        code = code.checked_mul(16)?.checked_add(digit.to_digit(16)?)?;
                    }
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_reads_back_whatever_it_holds() {
        for text in [
            "",
            "app",
            "a \"b\" c",
            "tab\there",
            "back\\slash",
            "é ü \u{7f} \u{200b} ' \0 \n",
        ] {
            let mut quoted = String::new();
            text::push_quoted(&mut quoted, text);
            quoted.push_str(" rest");
            assert_eq!(
                unquote(&quoted),
                Some((text.to_string(), " rest")),
                "{quoted}"
            );
        }
    }
}

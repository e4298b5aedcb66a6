//! `--digests FILE`: an offline map from image to digest, so CI can resolve tags hermetically.
//!
//! The file is one YAML mapping (JSON is YAML, so a JSON object works too):
//!
//! ```yaml
//! nginx:1.27: sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d
//! ghcr.io/acme/api:v2: sha256:…
//! ```
//!
//! Keys are matched the way Docker names images, so `nginx:1.27` in the map also answers
//! `docker.io/library/nginx:1.27` in a manifest. Every entry is checked when the file is loaded: a key that is not an
//! image reference, a value that is not `ALGORITHM:HEX` of the right length, or two keys naming the same image with
//! different digests are errors with the line number.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser};

use super::ResolveError;
use super::reference::{parse_image, validate_digest};

/// The loaded map: normalized image reference (`docker.io/library/nginx:1.27`) to digest.
#[derive(Debug)]
pub struct DigestMap {
    path: PathBuf,
    by_reference: HashMap<String, String>,
}

impl DigestMap {
    /// Reads and validates the map at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Validates the map in `text`; `path` is for messages and for the "not in the map" error.
    pub fn parse(path: &Path, text: &str) -> Result<Self, String> {
        let at = |line: usize| format!("{}:{line}", path.display());
        let mut by_reference: HashMap<String, (String, usize)> = HashMap::new();
        for (key, value, line) in
            read_flat_mapping(text).map_err(|error| format!("{}: {error}", path.display()))?
        {
            let reference = oci_client::Reference::try_from(key.as_str()).map_err(|error| {
                format!("{}: {key:?} is not an image reference: {error}", at(line))
            })?;
            if reference.digest().is_some() {
                return Err(format!(
                    "{}: {key:?} is already pinned by digest; map only tags",
                    at(line)
                ));
            }
            validate_digest(&value)
                .map_err(|why| format!("{}: the digest of {key}: {why}", at(line)))?;
            match by_reference.get(&reference.whole()) {
                Some((digest, first_line)) if *digest != value => {
                    return Err(format!(
                        "{}: {key} names the same image as line {first_line} ({}) with another digest",
                        at(line),
                        reference.whole()
                    ));
                }
                _ => {
                    by_reference.insert(reference.whole(), (value, line));
                }
            }
        }
        let by_reference = by_reference
            .into_iter()
            .map(|(reference, (digest, _))| (reference, digest))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            by_reference,
        })
    }

    /// The digest of `image`: its own when it is pinned already, else the map's.
    pub fn digest(&self, image: &str) -> Result<String, ResolveError> {
        let reference = parse_image(image)?;
        if let Some(digest) = reference.digest() {
            return Ok(digest.to_string());
        }
        self.by_reference
            .get(&reference.whole())
            .cloned()
            .ok_or_else(|| ResolveError::NotInDigestMap {
                image: image.to_string(),
                path: self.path.clone(),
            })
    }

    /// How many images the map holds.
    pub fn len(&self) -> usize {
        self.by_reference.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }
}

/// The `(key, value, line)` pairs of a YAML document that is one mapping of scalars to scalars.
/// An empty file is an empty map.
fn read_flat_mapping(text: &str) -> Result<Vec<(String, String, usize)>, String> {
    let mut entries = Vec::new();
    let mut pending_key: Option<(String, usize)> = None;
    let mut depth = 0usize; // 1 inside the top-level mapping
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| format!("not valid YAML: {error}"))?;
        let line = span.start.line();
        let unexpected = |what: &str| {
            Err(format!(
                "line {line}: expected `image: digest` entries, found {what}"
            ))
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(format!(
                        "line {line}: expected one YAML document, found another"
                    ));
                }
            }
            Event::MappingStart(..) if depth == 0 => depth = 1,
            Event::MappingEnd => depth = 0,
            Event::Scalar(value, ..) if depth == 1 => match pending_key.take() {
                None => pending_key = Some((value.into_owned(), line)),
                Some((key, key_line)) => entries.push((key, value.into_owned(), key_line)),
            },
            Event::Scalar(value, ..) => {
                // A bare scalar document: an empty file parses as none, "~" or "" as an empty map.
                if !(value.is_empty() || value == "~" || value == "null") {
                    return unexpected("a single value instead of a mapping");
                }
            }
            Event::MappingStart(..) => return unexpected("a nested mapping"),
            Event::SequenceStart(..) | Event::SequenceEnd => return unexpected("a list"),
            Event::Alias(_) => return unexpected("an alias"),
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str =
        "sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d";
    const DIGEST_B: &str =
        "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn parse(text: &str) -> Result<DigestMap, String> {
        DigestMap::parse(Path::new("digests.yaml"), text)
    }

    #[test]
    fn yaml_and_json_maps_answer_by_normalized_reference() {
        for text in [
            format!("nginx:1.27: {DIGEST_A}\n# a comment\n'ghcr.io/acme/api:v2': \"{DIGEST_B}\"\n"),
            format!(r#"{{"nginx:1.27": "{DIGEST_A}", "ghcr.io/acme/api:v2": "{DIGEST_B}"}}"#),
        ] {
            let map = parse(&text).unwrap();
            assert_eq!(map.len(), 2);
            assert_eq!(map.digest("nginx:1.27").unwrap(), DIGEST_A);
            assert_eq!(
                map.digest("docker.io/library/nginx:1.27").unwrap(),
                DIGEST_A
            );
            assert_eq!(map.digest("ghcr.io/acme/api:v2").unwrap(), DIGEST_B);
        }
    }

    #[test]
    fn pinned_images_answer_their_own_digest_and_missing_ones_are_named() {
        let map = parse(&format!("nginx:1.27: {DIGEST_A}\n")).unwrap();
        assert_eq!(
            map.digest(&format!("redis:7@{DIGEST_B}")).unwrap(),
            DIGEST_B
        );
        let error = map.digest("nginx:1.28").unwrap_err().to_string();
        assert!(
            error.starts_with("nginx:1.28: not in the offline digest map digests.yaml"),
            "{error}"
        );
        let error = map.digest("Not An Image").unwrap_err().to_string();
        assert!(error.contains("not a valid image reference"), "{error}");
    }

    #[test]
    fn an_empty_file_is_an_empty_map() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# nothing yet\n").unwrap().is_empty());
        assert!(parse("{}").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_errors_with_file_and_line() {
        for (text, expected) in [
            (
                format!("nginx:1.27: {DIGEST_A}\nredis:7: sha256:abc\n"),
                "digests.yaml:2: the digest of redis:7",
            ),
            (
                format!("nginx:1.27: {}\n", DIGEST_A.to_uppercase()),
                "digests.yaml:1",
            ),
            (
                // Whether md5 may pin an image is the policy's call; a digest outside the OCI grammar is caught here.
                "nginx:1.27: md5:d41d8cd9 8f00b204\n".to_string(),
                "is not an OCI digest",
            ),
            (
                format!("Bad Name: {DIGEST_A}\n"),
                "digests.yaml:1: \"Bad Name\" is not an image reference",
            ),
            (
                format!("nginx:1.27@{DIGEST_A}: {DIGEST_A}\n"),
                "already pinned",
            ),
            (
                format!("nginx:1.27: {DIGEST_A}\ndocker.io/library/nginx:1.27: {DIGEST_B}\n"),
                "same image as line 1",
            ),
            (format!("- nginx:1.27: {DIGEST_A}\n"), "found a list"),
            (
                format!("nginx:\n  1.27: {DIGEST_A}\n"),
                "found a nested mapping",
            ),
            ("just-a-string\n".to_string(), "a single value"),
            (
                format!("a: {DIGEST_A}\n---\nb: {DIGEST_A}\n"),
                "found another",
            ),
            ("nginx:1.27: 'unclosed\n".to_string(), "not valid YAML"),
        ] {
            let error = parse(&text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.starts_with("digests.yaml"), "{error}");
        }
    }

    #[test]
    fn the_same_image_twice_with_the_same_digest_is_fine() {
        let map = parse(&format!(
            "nginx:1.27: {DIGEST_A}\ndocker.io/library/nginx:1.27: {DIGEST_A}\n"
        ))
        .unwrap();
        assert_eq!(map.len(), 1);
    }
}

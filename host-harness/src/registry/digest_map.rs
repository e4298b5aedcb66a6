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

use serde_json::Value;

use crate::manifest;

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

    /// `--verify-registry` offline: whether the map knows the digest a pinned image (`name[:tag]@digest`) names,
    /// as the digest of any tag of the same repository. `Ok(None)` when it does, `Ok(Some(why))` when not.
    pub fn missing_manifest(&self, image: &str) -> Result<Option<String>, ResolveError> {
        let reference = parse_image(image)?;
        let Some(digest) = reference.digest() else {
            return Ok(None);
        };
        let repository = format!("{}/{}", reference.registry(), reference.repository());
        // Keys are normalized `registry/repository:tag` (the map holds no digests), so the last `:` ends the name.
        let known = self.by_reference.iter().any(|(key, value)| {
            value == digest
                && key
                    .rsplit_once(':')
                    .is_some_and(|(name, _)| name == repository)
        });
        Ok((!known).then(|| {
            format!(
                "the offline digest map {} has it under no tag of {repository}",
                self.path.display()
            )
        }))
    }

    /// How many images the map holds.
    pub fn len(&self) -> usize {
        self.by_reference.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }
}

/// The `(key, value, line)` pairs, in file order, of a YAML document that is one mapping of scalars to scalars.
/// An empty file is an empty map. Read with the manifests' reader, so it takes what kubectl's YAML takes.
fn read_flat_mapping(text: &str) -> Result<Vec<(String, String, usize)>, String> {
    let documents = manifest::parse_all(text, manifest::Limits::default())
        .map_err(|error| format!("not valid YAML: {error}"))?;
    let document = match documents.as_slice() {
        [] => return Ok(Vec::new()),
        [document] => document,
        [_, next, ..] => {
            return Err(format!(
                "line {}: expected one YAML document, found another",
                next.line
            ));
        }
    };
    let unexpected = |line: usize, what: &str| {
        format!("line {line}: expected `image: digest` entries, found {what}")
    };
    let Value::Object(map) = &document.value else {
        let what = if document.value.is_array() {
            "a list"
        } else {
            "a single value instead of a mapping"
        };
        return Err(unexpected(document.line, what));
    };
    // A key written twice would silently lose one of its digests: name both lines instead.
    let mut first_lines: HashMap<String, usize> = HashMap::new();
    for scalar in &document.scalars {
        let pointer = document.pointer_of(scalar);
        if let Some(first) = first_lines.get(&pointer) {
            return Err(format!(
                "line {}: the key {:?} is written twice (first on line {first})",
                scalar.line,
                &pointer[1..]
            ));
        }
        first_lines.insert(pointer, scalar.line);
    }
    let mut entries = Vec::with_capacity(map.len());
    for (key, value) in map {
        let line = document.line_of(&pointer_of_key(key));
        match value {
            Value::String(digest) => entries.push((key.clone(), digest.clone(), line)),
            Value::Object(_) => return Err(unexpected(line, "a nested mapping")),
            Value::Array(_) => return Err(unexpected(line, "a list")),
            other => return Err(unexpected(line, &format!("`{other}`, not a digest"))),
        }
    }
    entries.sort_by_key(|&(_, _, line)| line);
    Ok(entries)
}

/// The JSON pointer of a top-level key (RFC 6901 escapes).
fn pointer_of_key(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
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
    fn a_digest_is_known_when_the_map_has_it_for_a_tag_of_the_same_repository() {
        let map = parse(&format!("nginx:1.27: {DIGEST_A}\nredis:7: {DIGEST_B}\n")).unwrap();
        for known in [
            format!("nginx@{DIGEST_A}"),
            format!("nginx:1.26@{DIGEST_A}"),
            format!("docker.io/library/nginx:1.27@{DIGEST_A}"),
            "nginx:1.27".to_string(),
        ] {
            assert_eq!(map.missing_manifest(&known), Ok(None), "{known}");
        }
        assert_eq!(
            map.missing_manifest(&format!("nginx:1.27@{DIGEST_B}")),
            Ok(Some(
                "the offline digest map digests.yaml has it under no tag of docker.io/library/nginx"
                    .to_string()
            ))
        );
        // Another repository's digest is not this one's.
        assert!(
            map.missing_manifest(&format!("ghcr.io/library/nginx@{DIGEST_A}"))
                .unwrap()
                .is_some()
        );
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

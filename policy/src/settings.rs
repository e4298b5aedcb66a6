//! The policy's settings, their validation, and the exemption patterns.

use kubewarden_policy_sdk::settings::Validatable;
use serde_json::Value;

use crate::json::json_type;
use crate::reference::Algorithm;

/// The settings, as the policy's `settings:` in camelCase JSON. Read by [`Settings::from_json`], field by field rather
/// than through a serde derive: every error must name its field ("requireTag must be a boolean, found a string"),
/// which serde's messages do not; and the derive plus serde_path_to_error (which adds the field) would not fit
/// policy.wasm's size budget. Unknown fields are errors, as with
/// `#[serde(deny_unknown_fields)]`; with duplicate keys the last one counts, as in the API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Glob patterns (`*`, `?`) of images that need no digest; see [`glob_matches`] for what `*` may cross.
    pub exempt_images: Vec<String>,
    /// Digest algorithms a pinned image may use.
    pub allowed_algorithms: Vec<Algorithm>,
    /// Also require a tag beside the digest (`name:tag@sha256:…`), the readable form.
    pub require_tag: bool,
    /// On UPDATE, tolerate an unpinned image the old object already had in the same container.
    pub allow_existing_violations: bool,
    /// Mutate mode: pin unpinned images to the digest the host's registry capability reports.
    pub resolve_tags: bool,
    /// What to do when the tag of a `name:tag@digest` image now points to another digest than the one it pins.
    pub tag_digest_mismatch: TagDigestMismatch,
}

/// `tagDigestMismatch`: whether the policy asks the registry capability for the tag of a `name:tag@digest` image, and
/// what a tag that has moved to another digest (or cannot be resolved) means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagDigestMismatch {
    /// Do not ask: the digest alone decides what runs, the tag is only a label.
    #[default]
    Ignore,
    /// Accept, with an admission warning.
    Warn,
    /// Refuse the object.
    Reject,
}

const FIELDS: &str = "exemptImages, allowedAlgorithms, requireTag, allowExistingViolations, resolveTags, \
                      tagDigestMismatch";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            exempt_images: Vec::new(),
            allowed_algorithms: vec![Algorithm::Sha256, Algorithm::Sha512],
            require_tag: false,
            allow_existing_violations: false,
            resolve_tags: false,
            tag_digest_mismatch: TagDigestMismatch::Ignore,
        }
    }
}

impl Settings {
    /// Reads settings from their JSON form and validates them. A missing or null value (the whole settings, or one
    /// field) means the default. The error names the field that is wrong.
    pub fn from_json(value: &Value) -> Result<Settings, String> {
        let fields = match value {
            Value::Null => return Ok(Settings::default()),
            Value::Object(fields) => fields,
            other => {
                return Err(format!(
                    "settings must be an object, found {}",
                    json_type(other)
                ));
            }
        };
        let mut settings = Settings::default();
        for (field, value) in fields.iter().filter(|(_, value)| !value.is_null()) {
            match field.as_str() {
                "exemptImages" => settings.exempt_images = string_list(field, value)?,
                "allowedAlgorithms" => {
                    settings.allowed_algorithms = string_list(field, value)?
                        .iter()
                        .enumerate()
                        .map(|(index, name)| {
                            Algorithm::from_name(name).ok_or_else(|| {
                                format!("{field}[{index}]: {name:?} is not one of sha256, sha384, sha512")
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "requireTag" => settings.require_tag = boolean(field, value)?,
                "allowExistingViolations" => {
                    settings.allow_existing_violations = boolean(field, value)?
                }
                "resolveTags" => settings.resolve_tags = boolean(field, value)?,
                "tagDigestMismatch" => {
                    settings.tag_digest_mismatch = match value.as_str() {
                        Some("ignore") => TagDigestMismatch::Ignore,
                        Some("warn") => TagDigestMismatch::Warn,
                        Some("reject") => TagDigestMismatch::Reject,
                        // Fail closed: a misspelt "Reject" must not quietly mean "ignore".
                        _ => {
                            return Err(format!(
                                "{field} must be one of ignore, warn, reject, found {value}"
                            ));
                        }
                    }
                }
                unknown => {
                    return Err(format!(
                        "unknown field {unknown:?} (the fields are {FIELDS})"
                    ));
                }
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    /// The first exemption pattern matching the image as written or its normalized form.
    pub fn exemption_for(&self, written: &str, normalized: &str) -> Option<&str> {
        self.exempt_images
            .iter()
            .find(|pattern| glob_matches(pattern, written) || glob_matches(pattern, normalized))
            .map(String::as_str)
    }
}

fn boolean(field: &str, value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{field} must be a boolean, found {}", json_type(value)))
}

fn string_list(field: &str, value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{field} must be a list of strings, found {}",
            json_type(value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::String(item) => Ok(item.clone()),
            other => Err(format!(
                "{field}[{index}] must be a string, found {}",
                json_type(other)
            )),
        })
        .collect()
}

impl Validatable for Settings {
    fn validate(&self) -> Result<(), String> {
        for (index, pattern) in self.exempt_images.iter().enumerate() {
            if pattern.is_empty() {
                return Err(format!(
                    "exemptImages[{index}]: a pattern must not be empty"
                ));
            }
            if pattern.trim() != pattern {
                return Err(format!(
                    "exemptImages[{index}]: pattern {pattern:?} has leading or trailing whitespace, so it would never match"
                ));
            }
        }
        if self.allowed_algorithms.is_empty() {
            return Err(
                "allowedAlgorithms: must name at least one of sha256, sha384, sha512".to_string(),
            );
        }
        Ok(())
    }
}

/// Glob match of a whole image reference: `?` is one character other than `/`; `*` is any run of characters, but
/// before the pattern's first `/` it does not cross a `/`.
///
/// Why: the first segment of a reference is its registry. Without the rule `*.example.com/*` would match
/// `evil.io/x.example.com/app` and `nginx*` would match `nginx.evil.io/app`. With it, the part of a pattern before its
/// first `/` can only ever match the first segment of the image, so a pattern can never exempt another registry than
/// the one it spells out; after that `/` a `*` matches any depth (`registry.example.com/*` covers every repository
/// there). `registry.example.com/*` never matches `registry.example.com.evil.io/x` since the `/` must match literally.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let first_slash = pattern.iter().position(|&c| c == '/');
    // matched[j]: the pattern read so far can match text[..j]. One pass per pattern character: O(pattern × text),
    // no backtracking, so hostile patterns or images cannot make it slow.
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for (i, &pattern_char) in pattern.iter().enumerate() {
        let mut next = vec![false; text.len() + 1];
        match pattern_char {
            '*' => {
                let may_cross_slash = first_slash.is_some_and(|slash| i > slash);
                let mut reachable = false;
                for j in 0..=text.len() {
                    if j > 0 && !may_cross_slash && text[j - 1] == '/' {
                        reachable = false;
                    }
                    reachable |= matched[j];
                    next[j] = reachable;
                }
            }
            '?' => {
                for j in 1..=text.len() {
                    next[j] = matched[j - 1] && text[j - 1] != '/';
                }
            }
            literal => {
                for j in 1..=text.len() {
                    next[j] = matched[j - 1] && text[j - 1] == literal;
                }
            }
        }
        matched = next;
    }
    matched[text.len()]
}

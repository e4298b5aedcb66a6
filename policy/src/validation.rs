//! The rule: every image of a workload must be pinned by a valid digest (or be exempt, or, in mutate mode, get pinned).

use serde_json::Value;

use crate::json::Json;
use crate::reference::{Digest, ImageReference};
use crate::resolver::{DigestResolver, RememberingResolver};
use crate::settings::{Settings, TagDigestMismatch};
use crate::text;
use crate::workload::{ImageSite, Malformed, image_sites, pod_spec_location};

pub use crate::violation::MAX_LISTED;
use crate::violation::{UNACCEPTABLE_DIGEST, UNRESOLVED, push_site, with_subject};

/// Ends a warning about an image allowExistingViolations let through.
const TOLERATED: &str = "; tolerated: the old object has the same image (allowExistingViolations)";

/// The subresource `kubectl debug` writes ephemeral containers through; checked like the Pod itself.
const EPHEMERAL_CONTAINERS_SUBRESOURCE: &str = "ephemeralcontainers";

/// The policy's answer to one admission request.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Accept {
        warnings: Vec<String>,
    },
    /// Accept the object as changed here: resolveTags pinned some of its images.
    Mutate {
        object: Value,
        warnings: Vec<String>,
    },
    Reject {
        message: String,
        warnings: Vec<String>,
    },
}

impl Verdict {
    fn accept() -> Verdict {
        Verdict::Accept {
            warnings: Vec::new(),
        }
    }

    pub fn reject(message: impl Into<String>) -> Verdict {
        Verdict::Reject {
            message: message.into(),
            warnings: Vec::new(),
        }
    }
}

/// Judges one AdmissionRequest (the `request` of Kubewarden's validation payload), given as a `Value`: the verdict
/// [`judge_request`] gives on its [`Json`] view.
pub fn validate_request(
    request: &Value,
    settings: &Settings,
    resolver: &dyn DigestResolver,
) -> Verdict {
    judge_request(&Json::from_value(request), settings, resolver).verdict
}

/// The verdict on a request, and how each image of its object was judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement<'a> {
    pub verdict: Verdict,
    /// Every image site of the object, in the order of [`image_sites`], with its status. Empty when the request
    /// has no object to judge (a deletion, another kind, a malformed request).
    pub images: Vec<(ImageSite<'a>, ImageStatus)>,
}

/// What the rule concluded about one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageStatus {
    /// Pinned by an acceptable digest (and tagged, under requireTag).
    Pinned,
    /// Skipped by the rule: the image matches an `exemptImages` pattern.
    Exempt { pattern: String },
    /// Not acceptable, but the old object had the same image in the same container (allowExistingViolations).
    Tolerated { reason: String },
    /// Not acceptable: `reason` says why ("is not pinned by a digest", "is invalid: …").
    Violation { reason: String },
    /// Acceptable, with a warning that says why (`tagDigestMismatch: warn`).
    Warned { reason: String },
    /// resolveTags pinned it: the image as the mutated object has it.
    Resolved { pinned: String },
}

impl ImageStatus {
    /// What the policy says about the image after naming it (`<site> image "<image>" <this>`), if anything.
    pub fn said(&self) -> Option<String> {
        let mut said = String::new();
        self.push_said(&mut said);
        (!said.is_empty()).then_some(said)
    }

    /// Appends what [`said`](Self::said) says (nothing for a pinned or resolved image), without an intermediate
    /// string: a rejection's lines are built on every rejected evaluation.
    fn push_said(&self, out: &mut String) {
        match self {
            ImageStatus::Pinned | ImageStatus::Resolved { .. } => {}
            ImageStatus::Exempt { pattern } => {
                out.push_str("is exempt by pattern ");
                text::push_quoted(out, pattern);
            }
            ImageStatus::Tolerated { reason } => {
                out.push_str(reason);
                out.push_str(TOLERATED);
            }
            ImageStatus::Violation { reason } | ImageStatus::Warned { reason } => {
                out.push_str(reason)
            }
        }
    }
}

/// Judges one AdmissionRequest, and says how each of its images was judged.
pub fn judge_request<'a>(
    request: &'a Json<'_>,
    settings: &Settings,
    resolver: &dyn DigestResolver,
) -> Judgement<'a> {
    check_request(request, settings, resolver).unwrap_or_else(|malformed| Judgement {
        verdict: Verdict::reject(format!("malformed admission request: {malformed}")),
        images: Vec::new(),
    })
}

fn check_request<'a>(
    request: &'a Json<'_>,
    settings: &Settings,
    resolver: &dyn DigestResolver,
) -> Result<Judgement<'a>, Malformed> {
    let without_images = |verdict| Judgement {
        verdict,
        images: Vec::new(),
    };
    if !request.is_object() {
        return Err(Malformed(format!(
            "request must be an object, found {}",
            request.type_name()
        )));
    }
    let operation = required_string(request, "operation", "request.operation")?;
    let kind = match request.get("kind") {
        Some(group_version_kind) if group_version_kind.is_object() => {
            required_string(group_version_kind, "kind", "request.kind.kind")?
        }
        _ => {
            return Err(Malformed(
                "request.kind must be an object with a kind".to_string(),
            ));
        }
    };
    match operation {
        "CREATE" | "UPDATE" => {}
        // Nothing new runs: a deletion, or `kubectl exec`/`attach`/`port-forward` into what already runs.
        "DELETE" | "CONNECT" => return Ok(without_images(Verdict::accept())),
        other => {
            return Ok(without_images(Verdict::reject(format!(
                "operation {other:?} is unknown to this policy, which rejects what it cannot judge"
            ))));
        }
    }
    let kind = match optional_string(request, "subResource", "request.subResource")? {
        None | Some("") => kind,
        Some(EPHEMERAL_CONTAINERS_SUBRESOURCE) => "Pod",
        // Other subresources (status, scale, binding, eviction, resize...) cannot change an image: the API server
        // keeps the spec's images as they are.
        Some(_) => return Ok(without_images(Verdict::accept())),
    };
    let Some(pod_spec_at) = pod_spec_location(kind) else {
        return Ok(without_images(Verdict::accept()));
    };
    let object = match request.get("object") {
        Some(object) if object.is_object() => object,
        None | Some(Json::Null) => return Err(Malformed("request.object is missing".to_string())),
        Some(other) => {
            return Err(Malformed(format!(
                "request.object must be an object, found {}",
                other.type_name()
            )));
        }
    };
    let sites = image_sites(object, pod_spec_at)
        .map_err(|malformed| Malformed(format!("object {malformed}")))?;
    // The old object only serves to tolerate what it already had; if it cannot be read, nothing is tolerated.
    let old_sites = match request.get("oldObject") {
        Some(old) if operation == "UPDATE" && settings.allow_existing_violations => {
            image_sites(old, pod_spec_at).unwrap_or_default()
        }
        _ => Vec::new(),
    };

    // resolveTags asks by image, so an image used by several containers is asked for once.
    let resolver = RememberingResolver::new(resolver);
    let judge = Judge {
        settings,
        resolver: &resolver,
        old_sites: &old_sites,
    };
    let statuses: Vec<ImageStatus> = sites.iter().map(|site| judge.judge(site)).collect();

    let mut violations = Vec::new();
    let mut warnings = Vec::new();
    let mut pins = Vec::new();
    for (site, status) in sites.iter().zip(&statuses) {
        match status {
            ImageStatus::Pinned => {}
            ImageStatus::Violation { .. } => violations.push(line(site, status)),
            ImageStatus::Exempt { .. }
            | ImageStatus::Tolerated { .. }
            | ImageStatus::Warned { .. } => warnings.push(line(site, status)),
            ImageStatus::Resolved { pinned } => pins.push((site.image_pointer(), pinned.clone())),
        }
    }
    let verdict = verdict(kind, request, object, violations, warnings, pins);
    Ok(Judgement {
        verdict,
        images: sites.into_iter().zip(statuses).collect(),
    })
}

/// The line about one image site, in the format [`crate::violation`] owns.
fn line(site: &ImageSite, status: &ImageStatus) -> String {
    let mut line = String::new();
    push_site(&mut line, site);
    status.push_said(&mut line);
    line
}

/// The verdict from the lines about the object's images, each "<site> <what>" (the object's kind and name are
/// added here), and the images resolveTags pinned (JSON pointer, pinned image).
fn verdict(
    kind: &str,
    request: &Json,
    object: &Json,
    violations: Vec<String>,
    warnings: Vec<String>,
    pins: Vec<(String, String)>,
) -> Verdict {
    if violations.is_empty() && warnings.is_empty() && pins.is_empty() {
        return Verdict::accept(); // the common case: nothing to say, so no subject to spell out
    }
    let subject = subject(kind, request, object);
    let warnings = with_subject(&subject, warnings);
    if !violations.is_empty() {
        let message = with_subject(&subject, violations).join("\n");
        return Verdict::Reject { message, warnings };
    }
    if pins.is_empty() {
        return Verdict::Accept { warnings };
    }
    let mut mutated = object.to_value();
    for (pointer, pinned) in pins {
        if let Some(image) = mutated.pointer_mut(&pointer) {
            *image = Value::String(pinned);
        }
    }
    Verdict::Mutate {
        object: mutated,
        warnings,
    }
}

/// The subject of the object's lines (`Deployment web`, see [`crate::violation`]): its kind and the name people know
/// it by, escaped so that no name can add a line.
pub fn subject(kind: &str, request: &Json, object: &Json) -> String {
    [kind, " ", &object_name(request, object)]
        .concat()
        .escape_debug()
        .collect()
}

/// Judges the image sites of one object, one at a time.
struct Judge<'a> {
    settings: &'a Settings,
    resolver: &'a dyn DigestResolver,
    old_sites: &'a [ImageSite<'a>],
}

impl Judge<'_> {
    fn judge(&self, site: &ImageSite) -> ImageStatus {
        let violation = |reason: &str| ImageStatus::Violation {
            reason: reason.to_string(),
        };
        let image = match site.image {
            None => return violation("has no image"),
            Some("") => return violation("has an empty image"),
            Some(image) => image,
        };
        let reference = match ImageReference::parse_with_algorithms(
            image,
            &self.settings.allowed_algorithms,
        ) {
            Ok(reference) => reference,
            Err(reason) => {
                let reason = match template_placeholder(image) {
                    Some(placeholder) => format!(
                        "looks unrendered (it holds the placeholder `{placeholder}`): render the template first \
                             (envsubst, helm template, kustomize build, …) and check its output"
                    ),
                    None => format!("is invalid: {reason}"),
                };
                return self.violation_unless_tolerated(site, image, reason);
            }
        };
        // Only references that parse can be exempt: a glob over a string the runtime may read differently is no
        // safe ground to skip the rule on. (The normalized form is built only when there are patterns.)
        let exemption = (!self.settings.exempt_images.is_empty())
            .then(|| self.settings.exemption_for(image, &reference.normalized()))
            .flatten();
        if let Some(pattern) = exemption {
            return ImageStatus::Exempt {
                pattern: pattern.to_string(),
            };
        }
        let pinned = reference.digest().is_some();
        if !pinned && !self.settings.resolve_tags {
            return self.violation_unless_tolerated(
                site,
                image,
                "is not pinned by a digest".into(),
            );
        }
        // Before resolving too: `nginx` would become `nginx@sha256:…`, still without a tag.
        if self.settings.require_tag && reference.tag().is_none() {
            let reason = "has no tag (requireTag: write it as name:tag@digest)";
            return self.violation_unless_tolerated(site, image, reason.into());
        }
        if let Some(digest) = reference.digest() {
            return match (self.settings.tag_digest_mismatch, reference.tag()) {
                (TagDigestMismatch::Ignore, _) | (_, None) => ImageStatus::Pinned,
                (_, Some(tag)) => self.compare_tag(site, image, tag, &digest.to_string()),
            };
        }
        if self.tolerated(site, image) {
            // Left as it was, like any tolerated image: allowExistingViolations means "do not touch legacy images".
            return ImageStatus::Tolerated {
                reason: "is not pinned by a digest".to_string(),
            };
        }
        match self.resolver.manifest_digest(image) {
            Err(error) => ImageStatus::Violation {
                reason: format!("{UNRESOLVED}: {}", one_line(&error)),
            },
            Ok(answer) => match Digest::parse(&answer, &self.settings.allowed_algorithms) {
                Ok(digest) => ImageStatus::Resolved {
                    pinned: format!("{image}@{digest}"),
                },
                Err(reason) => ImageStatus::Violation {
                    reason: format!("{UNACCEPTABLE_DIGEST} {answer:?}: {reason}"),
                },
            },
        }
    }

    /// tagDigestMismatch: asks the resolver where the tag of `image` (`name:tag@digest`) points now, and says so
    /// (a warning or a violation, as the setting asks) when that is not the pinned digest or cannot be known.
    fn compare_tag(&self, site: &ImageSite, image: &str, tag: &str, pinned: &str) -> ImageStatus {
        // The reference without its digest: a pinned reference would be answered with its own digest.
        let tagged = image.rsplit_once('@').map_or(image, |(tagged, _)| tagged);
        let reason = match self.resolver.manifest_digest(tagged) {
            Ok(answer) if answer == pinned => return ImageStatus::Pinned,
            Ok(answer) => format!(
                "is stale: tag {tag} points to {}, the image pins {pinned}",
                one_line(&answer)
            ),
            Err(error) => format!(
                "is pinned, but its tag {tag} could not be resolved: {}",
                one_line(&error)
            ),
        };
        match self.settings.tag_digest_mismatch {
            TagDigestMismatch::Reject => self.violation_unless_tolerated(site, image, reason),
            _ => ImageStatus::Warned { reason },
        }
    }

    fn violation_unless_tolerated(
        &self,
        site: &ImageSite,
        image: &str,
        reason: String,
    ) -> ImageStatus {
        if self.tolerated(site, image) {
            ImageStatus::Tolerated { reason }
        } else {
            ImageStatus::Violation { reason }
        }
    }

    /// allowExistingViolations: the old object had this very image in the same container (same list, same name).
    fn tolerated(&self, site: &ImageSite, image: &str) -> bool {
        site.name.is_some()
            && self.old_sites.iter().any(|old| {
                old.kind == site.kind && old.name == site.name && old.image == Some(image)
            })
    }
}

/// The first template placeholder in an image that is not a reference: `${IMAGE}`, `$IMAGE`, `{{ .Values.image }}`
/// or `<PROJECT_ID>`. None of `$`, `{` and `<` can appear in a reference, so text holding one was meant to be
/// replaced before it reached the cluster, and saying so helps more than the grammar's complaint.
pub fn template_placeholder(image: &str) -> Option<&str> {
    let bytes = image.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| matches!(b, b'$' | b'{' | b'<'))?;
    let rest = &image[start..];
    let closing = match rest.as_bytes() {
        [b'$', b'{', ..] => "}",
        [b'{', b'{', ..] => "}}",
        [b'<', ..] => ">",
        [b'$', next, ..] if next.is_ascii_alphabetic() || *next == b'_' => {
            let name_len = rest[1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            return Some(&rest[..1 + name_len]);
        }
        _ => return None,
    };
    let end = rest.find(closing)? + closing.len();
    Some(&rest[..end])
}

/// The name people know the object by: metadata.name, else the request's name, else the generateName prefix.
fn object_name(request: &Json, object: &Json) -> String {
    let metadata_field = |key: &str| {
        object
            .get("metadata")
            .and_then(|metadata| metadata.get(key))
            .and_then(Json::as_str)
    };
    let request_name = request.get("name").and_then(Json::as_str);
    [
        metadata_field("name"),
        request_name,
        metadata_field("generateName"),
    ]
    .into_iter()
    .flatten()
    .find(|name| !name.is_empty())
    .unwrap_or("(unnamed)")
    .to_string()
}

/// `text` with its control characters escaped: a host's error must not add lines to a rejection.
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

fn required_string<'a>(parent: &'a Json, key: &str, path: &str) -> Result<&'a str, Malformed> {
    match parent.get(key) {
        Some(Json::String(value)) => Ok(value),
        None | Some(Json::Null) => Err(Malformed(format!("{path} is missing"))),
        Some(other) => Err(Malformed(format!(
            "{path} must be a string, found {}",
            other.type_name()
        ))),
    }
}

fn optional_string<'a>(
    parent: &'a Json,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, Malformed> {
    match parent.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(_) => required_string(parent, key, path).map(Some),
    }
}

//! `pin`: rewriting manifests so that every unpinned image is pinned by digest, deciding nothing itself.
//!
//! What changes is the policy module's answer, never a rule of ours: every object of a file goes to the module with
//! `resolveTags: true`, which asks the registry capability for each unpinned, non-exempt image and answers with a
//! `mutated_object`. The strings that differ between the object sent and the object returned are the images to
//! rewrite; each is found in the text by its position from the manifest loader, and only its bytes are replaced, in
//! the quoting style it was written in (see [`scalar`]). Comments, key order, indentation, anchors and the other
//! documents of the file stay byte-identical, as does a Flux `# {"$imagepolicy": …}` marker after the image.
//!
//! What pinning cannot fix does not stop the rest: when the module rejects an object for its images as written (a
//! container with no image, an unrendered `$IMAGE`, an invalid reference), each such line is reported as left as is,
//! and the object is asked about again without the sites it named, so that its other images are pinned. The module
//! still decides everything; `pin` only takes out of the question what it was told it cannot change.
//!
//! A real failure makes the file all or nothing: if a digest lookup fails (the registry's or the digest map's
//! error), the module cannot evaluate an object, or an image cannot be rewritten faithfully (a block scalar, a
//! scalar over several lines, an alias whose anchor is not an image), the file is left untouched and every reason is
//! reported. Before anything is written, the new text is parsed again and must read back as exactly the module's
//! objects. Files are written by [`write::replace_file`], atomically.

mod refresh;
pub mod scalar;
pub mod write;

use std::fmt::Write as _;
use std::ops::Range;

use rayon::prelude::*;
use serde_json::Value;

use require_digest::violation;

use crate::host::PolicyHost;
use crate::manifest::{self, Document, Limits, ManifestFile, ManifestObject};
use crate::place::ObjectPlace;
use crate::registry::DigestSource;
use scalar::RenderError;

pub use refresh::SetImage;
pub use write::{TEMP_SUFFIX, WriteError, is_temp_file_name, replace_file};

/// One image the module pinned, where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    /// 1-based line and column (in characters) of the scalar in the file as read.
    pub line: usize,
    pub column: usize,
    /// The image as written, and as the module wants it.
    pub old: String,
    pub new: String,
}

/// One reason a file cannot be pinned, or one rejection pinning cannot fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinError {
    /// 1-based line the reason is about, when it has one.
    pub line: Option<usize>,
    pub message: String,
}

impl PinError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        PinError {
            line: Some(line),
            message: message.into(),
        }
    }
}

/// What pinning a file comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// The file's new text: the same as the old one when nothing is pinned.
    pub new_text: String,
    /// The images pinned, in file order.
    pub pinned: Vec<PinnedImage>,
    /// The lines of the module's rejections that pinning cannot fix (a container with no image, an unrendered or
    /// invalid image…), in file order: the file is pinned around them.
    pub left_as_is: Vec<PinError>,
}

/// Why a file is left untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinFailure {
    /// The failures (never empty), in file order.
    pub errors: Vec<PinError>,
    /// What the file would have left as is besides, in file order.
    pub left_as_is: Vec<PinError>,
}

impl PinFailure {
    fn of(errors: Vec<PinError>) -> Self {
        PinFailure {
            errors,
            left_as_is: Vec::new(),
        }
    }
}

/// The settings `pin` evaluates with: the given ones with `resolveTags: true`, which makes the module pin.
pub fn settings_with_resolve_tags(settings: Value) -> Result<Value, String> {
    match settings {
        Value::Null => Ok(serde_json::json!({ "resolveTags": true })),
        Value::Object(mut fields) => {
            fields.insert("resolveTags".to_owned(), Value::Bool(true));
            Ok(Value::Object(fields))
        }
        other => Err(format!(
            "the policy settings must be a mapping, found {other}"
        )),
    }
}

/// Works out how `file` reads with every image the module pins rewritten, without writing anything.
/// `settings` must already carry `resolveTags: true` (see [`settings_with_resolve_tags`]).
pub fn plan_file(
    file: &ManifestFile,
    policy: &PolicyHost,
    settings: &Value,
    limits: Limits,
) -> Result<FilePlan, PinFailure> {
    plan_file_with(file, policy, settings, limits, &HostAsks::default())
}

/// What `pin` asks of the host beside the module's pins (see the `refresh` module).
#[derive(Default)]
pub struct HostAsks<'a> {
    /// Where `--refresh` and `--set` find digests: the source the module's capability asks.
    pub source: Option<&'a dyn DigestSource>,
    /// `--refresh`: rewrite each `name:tag@digest` whose tag now resolves to another digest.
    pub refresh: bool,
    /// `--set IMAGE:TAG`, repeatable.
    pub sets: &'a [SetImage],
}

/// [`plan_file`], with what the host itself changes (`--refresh`, `--set`) applied too.
pub fn plan_file_with(
    file: &ManifestFile,
    policy: &PolicyHost,
    settings: &Value,
    limits: Limits,
    asks: &HostAsks,
) -> Result<FilePlan, PinFailure> {
    // Exemptions as the module reads them; settings the module validated first, so they parse.
    let host_changes = match asks.source {
        Some(source) if asks.refresh || !asks.sets.is_empty() => Some(refresh::HostChanges {
            source,
            settings: require_digest::settings::Settings::from_json(settings).map_err(|error| {
                PinFailure::of(vec![PinError {
                    line: None,
                    message: format!("invalid settings: {error}"),
                }])
            })?,
            refresh: asks.refresh,
            sets: asks.sets,
        }),
        _ => None,
    };
    let mut documents = manifest::load_documents(file, limits).map_err(|error| {
        PinFailure::of(vec![PinError {
            line: error.line,
            message: format!("not valid YAML or JSON: {}", error.message),
        }])
    })?;
    // The documents as they must read after the rewrite: as read, with the module's changes applied.
    let mut expected: Vec<Value> = documents
        .iter()
        .map(|document| document.value.clone())
        .collect();
    let objects: Vec<(usize, ManifestObject)> = documents
        .iter_mut()
        .enumerate()
        .flat_map(|(index, document)| {
            // Documents that are not Kubernetes objects (values files, notes) reach no cluster: nothing to pin.
            manifest::objects_of(document)
                .into_iter()
                .flatten()
                .map(move |object| (index, object))
        })
        .collect();
    let documents = documents;

    let answers: Vec<(usize, ObjectAnswer)> = objects
        .into_par_iter()
        .map(|(index, object)| {
            let asked_of_host = host_changes
                .as_ref()
                .map(|host| refresh::host_changes(&documents[index], &object, host));
            let mut answer = ask_module(&documents[index], index, object, policy, settings);
            if let Some((changes, errors)) = asked_of_host {
                // A --set image is unpinned, so the module pins it too: the host's change is the one written.
                answer
                    .changes
                    .retain(|change| !changes.iter().any(|set| set.pointer == change.pointer));
                answer.changes.extend(changes);
                answer.errors.extend(errors);
            }
            (index, answer)
        })
        .collect();

    let mut errors = Vec::new();
    let mut left_as_is = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    let mut any_change = false;
    for (index, answer) in answers {
        errors.extend(answer.errors);
        left_as_is.extend(answer.left_as_is);
        for change in answer.changes {
            any_change = true;
            // A List item read on its own (see manifest::lists) holds the value at its pointer in the List.
            let within_value = change
                .pointer
                .strip_prefix(documents[index].pointer.as_str())
                .unwrap_or(&change.pointer);
            if let Some(slot) = expected[index].pointer_mut(within_value) {
                *slot = Value::String(change.new.clone());
            }
            // An image reached through an alias (`image: *app`) or a merge key has no scalar of its own: rewriting
            // its anchor pins it, which the check of the new text below confirms (or refuses).
            let Some(position) = documents[index].scalar_at(&change.pointer) else {
                continue;
            };
            let written = &file.text[position.span.clone()];
            let refuse = |why: &str| {
                PinError::at(
                    position.line,
                    format!("image {:?} {why}; left as it is", change.old),
                )
            };
            match scalar::render(&change.new, position.style) {
                Err(RenderError::BlockScalar) => errors.push(refuse(
                    "is a block scalar (`|` or `>`), which pin does not rewrite: write it as a plain or quoted scalar",
                )),
                // A flow scalar folded or continued over lines (`"…\` newline `…"`): rewriting it on one line
                // would change how the file reads around it; rewriting it over lines would be a guess.
                Ok(_) if written.contains('\n') => {
                    errors.push(refuse("is written over several lines, and pin rewrites one-line scalars only"))
                }
                Ok((text, _style)) => edits.push(Edit {
                    span: position.span.clone(),
                    text,
                    pinned: PinnedImage {
                        line: position.line,
                        column: position.column,
                        old: change.old,
                        new: change.new,
                    },
                }),
            }
        }
    }
    left_as_is.sort_by_key(|note| note.line);
    if !errors.is_empty() {
        errors.sort_by_key(|error| error.line);
        return Err(PinFailure { errors, left_as_is });
    }
    if edits.is_empty() && !any_change {
        return Ok(FilePlan {
            new_text: file.text.clone(),
            pinned: Vec::new(),
            left_as_is,
        });
    }

    edits.sort_by_key(|edit| edit.span.start);
    let mut new_text = String::with_capacity(file.text.len() + edits.len() * 80);
    let mut copied_to = 0;
    for edit in &edits {
        new_text.push_str(&file.text[copied_to..edit.span.start]);
        new_text.push_str(&edit.text);
        copied_to = edit.span.end;
    }
    new_text.push_str(&file.text[copied_to..]);

    verify_rewrite(file, &new_text, &documents, &expected, limits).map_err(|errors| {
        PinFailure {
            errors,
            left_as_is: left_as_is.clone(),
        }
    })?;
    Ok(FilePlan {
        new_text,
        pinned: edits.into_iter().map(|edit| edit.pinned).collect(),
        left_as_is,
    })
}

/// A replacement of one scalar's bytes.
struct Edit {
    span: Range<usize>,
    text: String,
    pinned: PinnedImage,
}

/// A string the module changed, by its JSON pointer in the document.
struct Change {
    pointer: String,
    old: String,
    new: String,
}

/// What the module says about one object.
#[derive(Default)]
struct ObjectAnswer {
    /// The strings it pinned.
    changes: Vec<Change>,
    /// Its rejections that pinning cannot fix.
    left_as_is: Vec<PinError>,
    /// Failures: a lookup that failed, an evaluation that did not finish, a change pin does not write back.
    errors: Vec<PinError>,
}

fn ask_module(
    document: &Document,
    document_index: usize,
    object: ManifestObject,
    policy: &PolicyHost,
    settings: &Value,
) -> ObjectAnswer {
    let uid = format!("host-harness-pin-{document_index}{}", object.pointer);
    let request = manifest::admission_request(object.value, &object.identity, &uid);
    // The same mapping as `check`'s, so that both name the same line for the same violation.
    let place = ObjectPlace {
        document,
        pointer: &object.pointer,
        scalars: object.scalars.clone(),
        line: object.line,
        object: &request["object"],
    };
    let mut answer = ObjectAnswer::default();
    // The sites the module rejected for what pinning cannot fix, by their pointer in the object: taken out of the
    // object it is asked about next, so that it answers about the others.
    let mut set_aside: Vec<String> = Vec::new();
    loop {
        let asked = SetAside::from(&request, &set_aside);
        // Registry lookups do not count against the evaluation deadline (the host pauses it during host calls, and
        // each lookup has its own timeout), so one evaluation is enough however slow the registry is.
        let response = match policy.validate(asked.request(&request), settings) {
            Ok(response) => response,
            Err(error) => {
                let message = format!(
                    "{}: the policy could not evaluate it: {error}",
                    object.identity.describe()
                );
                answer.errors.push(PinError::at(object.line, message));
                return answer;
            }
        };
        if response.accepted {
            if let Some(mutated) = response.mutated_object {
                let before = &asked.request(&request)["object"];
                take_changes(
                    &asked,
                    before,
                    &mutated,
                    (&object.pointer, &object.identity),
                    document,
                    &mut answer,
                );
            }
            return answer;
        }
        let message = response
            .message
            .unwrap_or_else(|| "rejected (the policy gave no message)".to_owned());
        let mut named = Vec::new();
        for line in message.lines().filter(|line| !line.trim().is_empty()) {
            // The sites a capped list leaves out are named when the module is asked again without the listed ones.
            if violation::is_more_line(line) {
                continue;
            }
            let Some(site) = violation::parse_line(line) else {
                // A malformed object, or words of another policy: no site to set aside, nothing pin can change.
                answer
                    .left_as_is
                    .push(PinError::at(place.line_of_violation(line), line));
                return answer;
            };
            let asked_pointer = site.pointer();
            let pointer = asked.pointer_in_object(&asked_pointer);
            // Written as the module would write it about the object as it is in the file.
            let line = if pointer == asked_pointer {
                line.to_owned()
            } else {
                line.replacen(
                    &format!("({})", site.path),
                    &format!("({})", dotted_path(&pointer)),
                    1,
                )
            };
            let reason = PinError::at(place.line_of_violation(&line), line);
            if site.is_failed_lookup() {
                answer.errors.push(reason);
            } else {
                answer.left_as_is.push(reason);
            }
            named.push(pointer);
        }
        // A failed lookup fails the file: asking about the rest would change nothing that is written.
        if !answer.errors.is_empty() || named.is_empty() {
            return answer;
        }
        set_aside.extend(named);
    }
}

/// The strings the module changed between the object it was asked about and `mutated`, as changes of the object in
/// the file; any other change is an error.
fn take_changes(
    asked: &SetAside,
    before: &Value,
    mutated: &Value,
    (object_pointer, identity): (&str, &manifest::ObjectIdentity),
    document: &Document,
    answer: &mut ObjectAnswer,
) {
    for (pointer, before, after) in differences(before, mutated) {
        let pointer = format!("{object_pointer}{}", asked.pointer_in_object(&pointer));
        match (before, after) {
            (Some(Value::String(old)), Some(Value::String(new))) => answer.changes.push(Change {
                pointer,
                old: old.clone(),
                new: new.clone(),
            }),
            _ => {
                let within = &pointer[object_pointer.len()..];
                answer.errors.push(PinError::at(
                    line_near(document, &pointer),
                    format!(
                        "{}: the policy changed {} in a way pin does not write back (it rewrites strings only)",
                        identity.describe(),
                        if within.is_empty() { "the whole object" } else { within }
                    ),
                ))
            }
        }
    }
}

/// A request whose object has some of its image sites (containers, image volumes) taken out of their lists, and the
/// way back from a pointer in that object to the same place in the object as written.
struct SetAside {
    /// The request asked about; `None` when nothing is set aside (the request as it is, not copied).
    request: Option<Value>,
    /// Each list something was taken out of, with the indexes (in the object) of the items it kept.
    kept: Vec<(String, Vec<usize>)>,
}

impl SetAside {
    /// `request` with the list items at `sites` (JSON pointers in its object, `<list>/<index>`) taken out.
    fn from(request: &Value, sites: &[String]) -> SetAside {
        if sites.is_empty() {
            return SetAside {
                request: None,
                kept: Vec::new(),
            };
        }
        let mut request = request.clone();
        let object = &mut request["object"];
        let mut taken: Vec<(String, Vec<usize>)> = Vec::new();
        for site in sites {
            let Some((list, index)) = site
                .rsplit_once('/')
                .and_then(|(list, index)| Some((list, index.parse::<usize>().ok()?)))
            else {
                continue;
            };
            match taken.iter_mut().find(|(known, _)| known == list) {
                Some((_, indexes)) => indexes.push(index),
                None => taken.push((list.to_owned(), vec![index])),
            }
        }
        let mut kept = Vec::new();
        for (list, indexes) in taken {
            let Some(Value::Array(items)) = object.pointer_mut(&list) else {
                continue;
            };
            let survivors: Vec<usize> = (0..items.len())
                .filter(|index| !indexes.contains(index))
                .collect();
            let mut index = 0;
            items.retain(|_| {
                index += 1;
                !indexes.contains(&(index - 1))
            });
            kept.push((list, survivors));
        }
        SetAside {
            request: Some(request),
            kept,
        }
    }

    /// The request to ask about: `original` when nothing is set aside.
    fn request<'a>(&'a self, original: &'a Value) -> &'a Value {
        self.request.as_ref().unwrap_or(original)
    }

    /// The pointer, in the whole object, of the place at `pointer` in the object with sites set aside.
    fn pointer_in_object(&self, pointer: &str) -> String {
        for (list, survivors) in &self.kept {
            let Some(rest) = pointer
                .strip_prefix(list.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
            else {
                continue;
            };
            let (index, tail) = rest
                .split_once('/')
                .map_or((rest, ""), |(index, tail)| (index, tail));
            if let Some(&original) = index
                .parse::<usize>()
                .ok()
                .and_then(|index| survivors.get(index))
            {
                let tail = if tail.is_empty() {
                    String::new()
                } else {
                    format!("/{tail}")
                };
                return format!("{list}/{original}{tail}");
            }
        }
        pointer.to_owned()
    }
}

/// A site's JSON pointer as the violation format writes its path: `/spec/containers/3` → `spec.containers[3]`.
fn dotted_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(segment);
        }
    }
    path
}

/// Parses the new text and checks that it reads as exactly the expected documents: the one guarantee that the
/// rewrite changed the images the module pinned, and nothing else (aliases and merge keys can share a scalar
/// between an image and another field).
fn verify_rewrite(
    file: &ManifestFile,
    new_text: &str,
    documents: &[Document],
    expected: &[Value],
    limits: Limits,
) -> Result<(), Vec<PinError>> {
    let rewritten = file.with_text(new_text.to_owned());
    let reread = manifest::load_documents(&rewritten, limits).map_err(|error| {
        vec![PinError {
            line: error.line,
            message: format!(
                "rewriting the images would make the file unreadable ({}); left as it is (a bug in pin: please report it)",
                error.message
            ),
        }]
    })?;
    if reread.len() != expected.len() {
        return Err(vec![PinError {
            line: None,
            message: format!(
                "rewriting the images would turn {} documents into {}; left as it is (a bug in pin: please report it)",
                expected.len(),
                reread.len()
            ),
        }]);
    }
    for ((document, wanted), got) in documents.iter().zip(expected).zip(&reread) {
        if let Some((within_value, want, have)) = differences(wanted, &got.value).into_iter().next()
        {
            let pointer = format!("{}{within_value}", document.pointer);
            let show = |value: Option<&Value>| {
                value.map_or_else(|| "nothing".to_owned(), Value::to_string)
            };
            return Err(vec![PinError::at(
                line_near(document, &pointer),
                format!(
                    "an image shares its text with {} through a YAML alias or merge key, so rewriting it would make \
                     that read {} instead of {}; left as it is: write the image out in full where it is used",
                    if pointer.is_empty() {
                        "the document".to_owned()
                    } else {
                        pointer
                    },
                    show(have),
                    show(want)
                ),
            )]);
        }
    }
    Ok(())
}

/// The line of the node at `pointer`, or of its nearest ancestor written in the text (an alias has no line of its
/// own in the loader's positions; its mapping or list item does).
fn line_near(document: &Document, pointer: &str) -> usize {
    let mut pointer = pointer;
    loop {
        let found = document.scalars_within(pointer).next();
        match (found, pointer.rfind('/')) {
            (Some(scalar), _) => return scalar.line,
            (None, Some(parent)) => pointer = &pointer[..parent],
            (None, None) => return document.line,
        }
    }
}

/// Every place where `after` differs from `before`, as (JSON pointer, value before, value after), a missing side
/// being `None`. Lists of different lengths differ as a whole.
fn differences<'a>(
    before: &'a Value,
    after: &'a Value,
) -> Vec<(String, Option<&'a Value>, Option<&'a Value>)> {
    fn walk<'a>(
        before: &'a Value,
        after: &'a Value,
        pointer: &mut String,
        out: &mut Vec<(String, Option<&'a Value>, Option<&'a Value>)>,
    ) {
        let mark = pointer.len();
        match (before, after) {
            (Value::Object(old), Value::Object(new)) => {
                for (key, old_value) in old {
                    push_segment(pointer, key);
                    match new.get(key) {
                        Some(new_value) => walk(old_value, new_value, pointer, out),
                        None => out.push((pointer.clone(), Some(old_value), None)),
                    }
                    pointer.truncate(mark);
                }
                for (key, new_value) in new.iter().filter(|(key, _)| !old.contains_key(*key)) {
                    push_segment(pointer, key);
                    out.push((pointer.clone(), None, Some(new_value)));
                    pointer.truncate(mark);
                }
            }
            (Value::Array(old), Value::Array(new)) if old.len() == new.len() => {
                for (index, (old_item, new_item)) in old.iter().zip(new).enumerate() {
                    let _ = write!(pointer, "/{index}");
                    walk(old_item, new_item, pointer, out);
                    pointer.truncate(mark);
                }
            }
            _ if before == after => {}
            _ => out.push((pointer.clone(), Some(before), Some(after))),
        }
    }
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), &mut out);
    out
}

/// Appends one RFC 6901 segment, as the manifest loader writes pointers.
fn push_segment(pointer: &mut String, key: &str) {
    pointer.push('/');
    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resolve_tags_is_forced_on_top_of_the_given_settings() {
        assert_eq!(
            settings_with_resolve_tags(Value::Null).unwrap(),
            json!({"resolveTags": true})
        );
        assert_eq!(
            settings_with_resolve_tags(json!({"resolveTags": false, "requireTag": true})).unwrap(),
            json!({"resolveTags": true, "requireTag": true})
        );
        assert!(
            settings_with_resolve_tags(json!(["x"]))
                .unwrap_err()
                .contains("mapping")
        );
    }

    #[test]
    fn differences_name_each_changed_place_by_pointer() {
        let before = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}], "a/b": 1, "gone": true}});
        let after = json!({"spec": {"containers": [{"image": "a"}, {"image": "b@x"}], "a/b": 2, "new~": null}});
        let mut found: Vec<_> = differences(&before, &after)
            .into_iter()
            .map(|(pointer, old, new)| (pointer, old.cloned(), new.cloned()))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                ("/spec/a~1b".to_owned(), Some(json!(1)), Some(json!(2))),
                (
                    "/spec/containers/1/image".to_owned(),
                    Some(json!("b")),
                    Some(json!("b@x"))
                ),
                ("/spec/gone".to_owned(), Some(json!(true)), None),
                ("/spec/new~0".to_owned(), None, Some(json!(null))),
            ]
        );
        assert!(differences(&before, &before).is_empty());
    }

    #[test]
    fn set_aside_sites_leave_their_lists_and_pointers_lead_back() {
        let request = json!({"object": {"spec": {
            "containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}],
            "volumes": [{"name": "v0"}, {"name": "v1"}],
        }}});
        let sites = [
            "/spec/containers/0".to_owned(),
            "/spec/containers/2".to_owned(),
            "/spec/volumes/1".to_owned(),
        ];
        let asked = SetAside::from(&request, &sites);
        assert_eq!(
            asked.request(&request)["object"],
            json!({"spec": {"containers": [{"name": "b"}, {"name": "d"}], "volumes": [{"name": "v0"}]}})
        );
        assert_eq!(
            asked.pointer_in_object("/spec/containers/1/image"),
            "/spec/containers/3/image"
        );
        assert_eq!(
            asked.pointer_in_object("/spec/containers/0"),
            "/spec/containers/1"
        );
        assert_eq!(
            asked.pointer_in_object("/spec/volumes/0"),
            "/spec/volumes/0"
        );
        assert_eq!(asked.pointer_in_object("/metadata/name"), "/metadata/name");

        let nothing = SetAside::from(&request, &[]);
        assert!(
            std::ptr::eq(nothing.request(&request), &request),
            "not copied"
        );
        assert_eq!(
            nothing.pointer_in_object("/spec/containers/1"),
            "/spec/containers/1"
        );
    }

    #[test]
    fn dotted_paths_are_written_as_the_violation_format_writes_them() {
        assert_eq!(
            dotted_path("/spec/template/spec/containers/3"),
            "spec.template.spec.containers[3]"
        );
        assert_eq!(
            dotted_path("/spec/jobTemplate/spec/template/spec/initContainers/0"),
            "spec.jobTemplate.spec.template.spec.initContainers[0]"
        );
    }
}

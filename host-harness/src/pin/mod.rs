//! `pin`: rewriting manifests so that every unpinned image is pinned by digest, deciding nothing itself.
//!
//! What changes is the policy module's answer, never a rule of ours: every object of a file goes to the module with
//! `resolveTags: true`, which asks the registry capability for each unpinned, non-exempt image and answers with a
//! `mutated_object`. The strings that differ between the object sent and the object returned are the images to
//! rewrite; each is found in the text by its position from the manifest loader, and only its bytes are replaced, in
//! the quoting style it was written in (see [`scalar`]). Comments, key order, indentation, anchors and the other
//! documents of the file stay byte-identical, as does a Flux `# {"$imagepolicy": …}` marker after the image.
//!
//! A file is all or nothing: if the module rejects any of its objects (an image that does not resolve, or one that
//! is badly pinned already), or an image cannot be rewritten faithfully (a block scalar, a scalar over several
//! lines, an alias whose anchor is not an image), the file is left untouched and every reason is reported.
//! Before anything is written, the new text is parsed again and must read back as exactly the module's objects.
//! Files are written by [`write::replace_file`], atomically.

pub mod scalar;
pub mod write;

use std::fmt::Write as _;
use std::ops::Range;

use rayon::prelude::*;
use serde_json::Value;

use crate::host::PolicyHost;
use crate::manifest::{self, Document, Limits, ManifestFile, ManifestObject};
use scalar::RenderError;

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

/// One reason a file cannot be pinned.
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
) -> Result<FilePlan, Vec<PinError>> {
    let mut documents = manifest::load_documents(file, limits).map_err(|error| {
        vec![PinError {
            line: error.line,
            message: format!("not valid YAML or JSON: {}", error.message),
        }]
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
            (
                index,
                ask_module(&documents[index], index, object, policy, settings),
            )
        })
        .collect();

    let mut errors = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    let mut any_change = false;
    for (index, answer) in answers {
        let changes = match answer {
            ObjectAnswer::Refused(reasons) => {
                errors.extend(reasons);
                continue;
            }
            ObjectAnswer::Changes(changes) => changes,
        };
        for change in changes {
            any_change = true;
            if let Some(slot) = expected[index].pointer_mut(&change.pointer) {
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
    if !errors.is_empty() {
        errors.sort_by_key(|error| error.line);
        return Err(errors);
    }
    if edits.is_empty() && !any_change {
        return Ok(FilePlan {
            new_text: file.text.clone(),
            pinned: Vec::new(),
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

    verify_rewrite(file, &new_text, &documents, &expected, limits)?;
    Ok(FilePlan {
        new_text,
        pinned: edits.into_iter().map(|edit| edit.pinned).collect(),
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

enum ObjectAnswer {
    /// The module accepted the object, pinning these strings (none when it was already fine).
    Changes(Vec<Change>),
    /// The module rejected it, could not evaluate it, or changed it in a way that is not a string rewrite.
    Refused(Vec<PinError>),
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
    let sent = &request["object"];
    // Registry lookups do not count against the evaluation deadline (the host pauses it during host calls, and
    // each lookup has its own timeout), so one evaluation is enough however slow the registry is.
    let response = match policy.validate(&request, settings) {
        Ok(response) => response,
        Err(error) => {
            let message = format!(
                "{}: the policy could not evaluate it: {error}",
                object.identity.describe()
            );
            return ObjectAnswer::Refused(vec![PinError::at(object.line, message)]);
        }
    };
    if !response.accepted {
        let message = response
            .message
            .unwrap_or_else(|| "rejected (the policy gave no message)".to_owned());
        let place = ObjectPlace {
            document,
            pointer: &object.pointer,
            line: object.line,
            object: sent,
        };
        let reasons = message
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| PinError::at(place.line_of(line), line))
            .collect();
        return ObjectAnswer::Refused(reasons);
    }
    let Some(mutated) = response.mutated_object else {
        return ObjectAnswer::Changes(Vec::new());
    };
    let mut changes = Vec::new();
    let mut refusals = Vec::new();
    for (pointer, before, after) in differences(sent, &mutated) {
        match (before, after) {
            (Some(Value::String(old)), Some(Value::String(new))) => changes.push(Change {
                pointer: format!("{}{pointer}", object.pointer),
                old: old.clone(),
                new: new.clone(),
            }),
            _ => refusals.push(PinError::at(
                line_near(document, &format!("{}{pointer}", object.pointer)),
                format!(
                    "{}: the policy changed {} in a way pin does not write back (it rewrites strings only)",
                    object.identity.describe(),
                    if pointer.is_empty() { "the whole object" } else { &pointer }
                ),
            )),
        }
    }
    if refusals.is_empty() {
        ObjectAnswer::Changes(changes)
    } else {
        ObjectAnswer::Refused(refusals)
    }
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
        if let Some((pointer, want, have)) = differences(wanted, &got.value).into_iter().next() {
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

/// An object in its document, for placing the lines of a rejection.
struct ObjectPlace<'a> {
    document: &'a Document,
    /// The object's JSON pointer within the document (`""`, or `/items/3` in a List).
    pointer: &'a str,
    line: usize,
    /// The object as sent to the policy.
    object: &'a Value,
}

impl ObjectPlace<'_> {
    /// The line of the longest string of the object that the message quotes (require-digest quotes the image it
    /// is about, `image "nginx:1.27" …`), else the object's line.
    fn line_of(&self, message: &str) -> usize {
        self.document
            .scalars_within(self.pointer)
            .filter_map(|scalar| {
                let pointer = self.document.pointer_of(scalar);
                let within_object = pointer.strip_prefix(self.pointer)?;
                let text = self.object.pointer(within_object)?.as_str()?;
                (text.len() >= 3 && message.contains(&format!("{text:?}")))
                    .then_some((text.len(), scalar.line))
            })
            .max_by_key(|&(length, line)| (length, std::cmp::Reverse(line)))
            .map_or(self.line, |(_, line)| line)
    }
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
}

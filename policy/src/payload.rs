//! Reading a validation payload with only the fields the rule looks at.
//!
//! Parsing a whole AdmissionRequest into a `serde_json::Value` (a map and a string allocation for every field of the
//! object, its metadata, resources, probes, env...) was most of the policy's time: building and dropping that tree,
//! not the rule. [`read_json`] reads only the fields in
//! [`PAYLOAD`], each exactly what a whole parse holds for it, into a [`Json`] that borrows its strings from the payload;
//! [`read`] gives the same as a `Value`.
//!
//! Every other field is skipped, checked as serde_json's `IgnoredAny` checks it (JSON syntax, string escapes,
//! control characters) and for UTF-8, but not for number range, surrogate pairing or nesting depth. So a payload whose
//! only faults are in fields the rule never reads (a `1e400` replica count, an annotation nested 200 deep, a lone
//! `\ud800` escape) is judged on its images, where a whole parse would refuse it; the API server itself decodes such
//! fields leniently or rejects the object before any policy sees it. Any other malformed payload fails, with the whole
//! parse's own error; so does one of these faults in a payload the fast reader leaves to the whole parse (one with an
//! escaped key), which fails closed.
//!
//! A kept field is kept whole, with its JSON type: a `containers` that is not a list, or a container that is not an
//! object, is kept as it came, so the rule's "must be a list, found …" messages are unchanged. Duplicate keys behave
//! as in `Value`: the last one counts.
//!
//! One reader prunes: [`read_fast`] (the `fast` module) goes over the bytes once, building only the kept fields, and
//! answers for every well-formed payload but those with escaped keys or nesting past its depth. Everything else (errors
//! included) is left to the whole parse mutation needs anyway, then pruned by [`keep`], so errors are serde_json's
//! own. (A pruning serde visitor between the two was removed: the fast reader makes the policy's evaluation markedly
//! faster than serde's visitors can, and one pruning reader is enough; see bench/README.md.) The tests hold the fast
//! reader equal to a whole parse, pruned.
//!
//! [`PAYLOAD`] must name every field the rule reads: `validation.rs` (the request's operation, the kind of its kind,
//! subResource, name, object and oldObject; the object's metadata name and generateName) and `workload.rs` (the pod
//! spec at every [`pod_spec_location`](crate::workload::pod_spec_location), its container lists and volumes, their
//! name and image). The tests hold verdicts on pruned payloads equal to verdicts on whole ones.

use serde_json::Value;

use crate::json::Json;

mod fast;

/// What of a JSON value to keep.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// All of it.
    Whole,
    /// If it is an object: only these fields, each read with its own shape. Anything else: all of it.
    Object(&'static [(&'static str, Shape)]),
    /// If it is a list: every item, read with this shape. Anything else: all of it.
    List(&'static Shape),
}

const CONTAINER: Shape = Shape::Object(&[("name", Shape::Whole), ("image", Shape::Whole)]);
/// `volumes[]`: an image volume's `image` is `{reference, pullPolicy}`, small enough to keep whole.
const VOLUME: Shape = Shape::Object(&[("name", Shape::Whole), ("image", Shape::Whole)]);
const POD_SPEC_FIELDS: [(&str, Shape); 4] = [
    ("containers", Shape::List(&CONTAINER)),
    ("initContainers", Shape::List(&CONTAINER)),
    ("ephemeralContainers", Shape::List(&CONTAINER)),
    ("volumes", Shape::List(&VOLUME)),
];
const POD_SPEC: Shape = Shape::Object(&POD_SPEC_FIELDS);
/// A pod template (Deployment's `spec.template`, PodTemplate's `template`): its `spec` is a pod spec.
const POD_TEMPLATE: Shape = Shape::Object(&[("spec", POD_SPEC)]);
/// A CronJob's `spec.jobTemplate`: `spec.template.spec` is a pod spec.
const JOB_TEMPLATE: Shape =
    Shape::Object(&[("spec", Shape::Object(&[("template", POD_TEMPLATE)]))]);
/// An object's `spec`, whichever kind the object is: a Pod's pod spec, a workload's `template`, a CronJob's
/// `jobTemplate`. The request's kind may come after its object, so every place is kept; the rule reads only its own.
const OBJECT_SPEC: Shape = Shape::Object(&[
    POD_SPEC_FIELDS[0],
    POD_SPEC_FIELDS[1],
    POD_SPEC_FIELDS[2],
    POD_SPEC_FIELDS[3],
    ("template", POD_TEMPLATE),
    ("jobTemplate", JOB_TEMPLATE),
]);
const OBJECT: Shape = Shape::Object(&[
    (
        "metadata",
        Shape::Object(&[("name", Shape::Whole), ("generateName", Shape::Whole)]),
    ),
    ("spec", OBJECT_SPEC),
    ("template", POD_TEMPLATE),
]);
const REQUEST: Shape = Shape::Object(&[
    ("operation", Shape::Whole),
    // `{group, version, kind}`: the rule reads only `kind`.
    ("kind", Shape::Object(&[("kind", Shape::Whole)])),
    ("subResource", Shape::Whole),
    ("name", Shape::Whole),
    ("object", OBJECT),
    ("oldObject", OBJECT),
]);
/// Kubewarden's validation payload: `{"request": <AdmissionRequest>, "settings": {...}}`.
pub const PAYLOAD: Shape = Shape::Object(&[("request", REQUEST), ("settings", Shape::Whole)]);

/// Parses `json` as `serde_json::from_slice::<Value>` would, keeping only what `shape` names, as a [`Json`] that
/// borrows its strings and keys from `json` where the fast reader answers, else from the whole parse's value, kept in
/// `whole_read`. Fails wherever `serde_json::from_slice::<Value>(json)` fails, with its error, except on the faults in
/// dropped fields the module documentation lists, which the fast reader does not look for.
pub fn read_json<'a>(
    json: &'a [u8],
    shape: Shape,
    whole_read: &'a mut Option<Value>,
) -> serde_json::Result<Json<'a>> {
    if let Some(view) = fast_json(json, shape) {
        return Ok(view);
    }
    let value = whole_read.insert(keep(serde_json::from_slice(json)?, shape));
    Ok(Json::from_value(value))
}

/// [`read_json`] as a `serde_json::Value`: what the tests compare with a whole parse.
pub fn read(json: &[u8], shape: Shape) -> serde_json::Result<Value> {
    let mut whole_read = None;
    read_json(json, shape, &mut whole_read).map(|view| view.to_value())
}

/// [`read`]'s fast reader alone, or `None` where it leaves the payload to the whole parse (an error, an escaped key,
/// deep nesting; see the `fast` module). Public for the tests that hold the two equal.
pub fn read_fast(json: &[u8], shape: Shape) -> Option<Value> {
    fast_json(json, shape).map(|view| view.to_value())
}

fn fast_json(json: &[u8], shape: Shape) -> Option<Json<'_>> {
    match shape {
        // Nothing to prune: serde_json's own parse is the fastest whole one.
        Shape::Whole => None,
        shape => fast::read(json, shape),
    }
}

/// What of `value` `shape` keeps: the fast reader's answer, from a whole parse.
pub fn keep(value: Value, shape: Shape) -> Value {
    match (shape, value) {
        (Shape::Object(fields), Value::Object(mut object)) => {
            // Inserted one by one: collecting would sort the pairs first, pulling a sort routine into policy.wasm.
            let mut kept = serde_json::Map::new();
            for &(name, shape) in fields {
                if let Some(value) = object.remove(name) {
                    kept.insert(name.to_owned(), keep(value, shape));
                }
            }
            Value::Object(kept)
        }
        (Shape::List(item), Value::Array(items)) => {
            Value::Array(items.into_iter().map(|value| keep(value, *item)).collect())
        }
        (_, value) => value,
    }
}

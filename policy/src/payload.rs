//! Reading a validation payload with only the fields the rule looks at.
//!
//! Parsing a whole AdmissionRequest into a `serde_json::Value` (a map and a string allocation for every field of the
//! object, its metadata, resources, probes, env...) was most of the policy's time: building and dropping that tree,
//! not the rule. [`read_json`] reads only the fields in
//! [`PAYLOAD`], each exactly what a whole parse holds for it, into a [`Json`] that borrows its strings from the payload;
//! [`read`] gives the same as a `Value`.
//!
//! Every other field is skipped, checked as serde_json's `IgnoredAny` checks it (JSON syntax, string escapes, control
//! characters) and for UTF-8, but not for number range, surrogate pairing or nesting depth. So a payload whose only
//! faults are in fields the rule never reads (a `1e400` replica count, an annotation nested 200 deep, a lone `\ud800`
//! escape) is judged on its images, where a whole parse would refuse it; the API server itself decodes such fields
//! leniently or rejects the object before any policy sees it. Skipping this way took the native `validate` of a
//! 3-container Deployment from 173 k to 147 k instructions. Any other malformed payload fails, with the whole parse's
//! own error; only inside a dropped value may the wording differ where serde_json words the same fault two ways (`[1,]`
//! is "trailing comma" to a whole parse, "expected value" to `IgnoredAny`).
//!
//! A kept field is kept whole, with its JSON type: a `containers` that is not a list, or a container that is not an
//! object, is kept as it came, so the rule's "must be a list, found …" messages are unchanged. Duplicate keys behave
//! as in `Value`: the last one counts.
//!
//! Two readers give that value. [`read_fast`] (the `fast` module) goes over the bytes once, building only the kept
//! fields, and answers for every well-formed payload but those with escaped keys or deep nesting; [`read_with_serde`]
//! reads through serde's visitors, with serde_json's exact errors, and answers the rest. The tests hold them equal.
//!
//! [`PAYLOAD`] must name every field the rule reads: `validation.rs` (the request's operation, the kind of its kind,
//! subResource, name, object and oldObject; the object's metadata name and generateName) and `workload.rs` (the pod
//! spec at every [`pod_spec_location`](crate::workload::pod_spec_location), its container lists and volumes, their
//! name and image). The tests hold verdicts on pruned payloads equal to verdicts on whole ones.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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

/// Parses `json` as `serde_json::from_slice::<Value>` would, keeping only what `shape` names. Fails wherever
/// `serde_json::from_slice::<Value>(json)` fails, with its error, except on the faults in dropped fields the module
/// documentation lists, which it does not look for (and, inside a dropped value, with `IgnoredAny`'s wording of the
/// same fault where it differs).
///
/// Reads with [`read_fast`] where it answers (every well-formed payload seen in practice), else with
/// [`read_with_serde`]: the same value either way.
pub fn read(json: &[u8], shape: Shape) -> serde_json::Result<Value> {
    match read_fast(json, shape) {
        Some(value) => Ok(value),
        None => read_with_serde(json, shape),
    }
}

/// [`read`] as the rule reads it: a [`Json`] borrowing from `json` where the fast path answers, else from the serde
/// path's value, which is kept in `serde_read`. The same value either way, without a copy of each kept key and string.
pub fn read_json<'a>(
    json: &'a [u8],
    shape: Shape,
    serde_read: &'a mut Option<Value>,
) -> serde_json::Result<Json<'a>> {
    if let Some(view) = fast_json(json, shape) {
        return Ok(view);
    }
    let value = serde_read.insert(read_with_serde(json, shape)?);
    Ok(Json::from_value(value))
}

/// [`read`]'s fast path alone: the value [`read_with_serde`] gives, or `None` where only serde_json can tell (an
/// error, an escaped key, deep nesting; see the `fast` module). Public for the tests that hold the two equal.
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

/// [`read`] through serde's visitors only, with serde_json's exact errors.
pub fn read_with_serde(json: &[u8], shape: Shape) -> serde_json::Result<Value> {
    if std::str::from_utf8(json).is_err() {
        // Not JSON, but which error a whole parse reports (a syntax error may come first) is worth the slow path.
        return Err(serde_json::from_slice::<Value>(json)
            .err()
            .unwrap_or_else(|| serde::de::Error::custom("invalid UTF-8")));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = Pruned(shape).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Reads one value with a [`Shape`].
struct Pruned(Shape);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            // `Value`'s own deserializer: exactly what a whole parse would hold here.
            Shape::Whole => serde::Deserialize::deserialize(deserializer),
            shape => deserializer.deserialize_any(PrunedVisitor(shape)),
        }
    }
}

/// Builds a `Value` as `serde_json::Value`'s visitor does, pruning objects and lists as the shape says.
struct PrunedVisitor(Shape);

impl<'de> Visitor<'de> for PrunedVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // As `Value` does: a float JSON cannot represent (never produced by serde_json's parser) becomes null.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let item = match self.0 {
            Shape::List(item) => *item,
            _ => Shape::Whole,
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(value) = seq.next_element_seed(Pruned(item))? {
            items.push(value);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let fields = match self.0 {
            Shape::Object(fields) => fields,
            // Not the object the shape expects: kept whole, like any other type.
            _ => {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    object.insert(key, map.next_value()?);
                }
                return Ok(Value::Object(object));
            }
        };
        let mut object = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match fields.iter().find(|(name, _)| *name == key.0) {
                Some(&(_, shape)) => {
                    let value = map.next_value_seed(Pruned(shape))?;
                    object.insert(key.0.into_owned(), value);
                }
                None => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(Value::Object(object))
    }
}

/// An object key, borrowed from the payload unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        // `deserialize_str`, as `Value` reads its keys: the same string checks.
        deserializer.deserialize_str(KeyVisitor)
    }
}

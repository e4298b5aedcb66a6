//! YAML documents → Kubernetes objects → CREATE admission requests.

use std::fmt;
use std::ops::Range;

use require_digest::admission::{ObjectIdentity, identify};
use serde_json::Value;

use super::yaml::Document;

/// Deepest nesting of `*List` wrappers unwrapped (a List of Lists is unusual already).
const MAX_LIST_NESTING: usize = 8;

/// One object of a document: the document itself, or an item of a `*List`.
#[derive(Debug, Clone)]
pub struct ManifestObject {
    pub value: Value,
    pub identity: ObjectIdentity,
    /// JSON pointer of the object within its document (`""`, or `/items/3`).
    pub pointer: String,
    /// 1-based line of the object in its file.
    pub line: usize,
    /// The indexes of the document's scalars that lie in this object (they are in document order, and an item's
    /// scalars are contiguous): looking a place up among them, not among the whole List's, keeps a List of n
    /// items linear in n.
    pub scalars: Range<usize>,
}

/// A document, or a List item, that is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    pub message: String,
    /// 1-based line of the offending document or item.
    pub line: usize,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The objects of a document, in order: the document itself, or the items of a `kind: List` (or any
/// `*List` with `items`, as `kubectl get -o yaml` prints), each a result of its own so one bad item
/// does not hide the others. Takes the document's value (left `null`) to avoid copying objects.
pub fn objects_of(document: &mut Document) -> Vec<Result<ManifestObject, ObjectError>> {
    let value = std::mem::take(&mut document.value);
    let mut objects = Vec::new();
    let place = Place {
        pointer: document.pointer.clone(),
        line: document.line,
        scalars: 0..document.scalars.len(),
    };
    // A List item read on its own (see super::lists) is one List deep already.
    let nesting = usize::from(!document.pointer.is_empty());
    collect_objects(value, place, document, nesting, &mut objects);
    objects
}

/// Where an object (or a List) sits in its document.
struct Place {
    pointer: String,
    line: usize,
    scalars: Range<usize>,
}

fn collect_objects(
    value: Value,
    place: Place,
    document: &Document,
    nesting: usize,
    out: &mut Vec<Result<ManifestObject, ObjectError>>,
) {
    let identity = match identify(&value) {
        Ok(identity) => identity,
        Err(message) => {
            out.push(Err(ObjectError {
                message,
                line: place.line,
            }));
            return;
        }
    };
    let is_list =
        identity.kind.ends_with("List") && value.get("items").is_some_and(Value::is_array);
    if !is_list {
        out.push(Ok(ManifestObject {
            value,
            identity,
            pointer: place.pointer,
            line: place.line,
            scalars: place.scalars,
        }));
        return;
    }
    if nesting >= MAX_LIST_NESTING {
        out.push(Err(ObjectError {
            message: format!("Lists nested more than {MAX_LIST_NESTING} deep"),
            line: place.line,
        }));
        return;
    }
    let Value::Object(mut list) = value else {
        unreachable!("identify accepts only mappings")
    };
    let Some(Value::Array(items)) = list.remove("items") else {
        unreachable!("checked above")
    };
    let item_places = places_of_items(document, &place, items.len());
    for (index, (item, item_place)) in items.into_iter().zip(item_places).enumerate() {
        let (line, scalars) = item_place.unwrap_or((place.line, 0..0));
        let item_place = Place {
            pointer: format!("{}/items/{index}", place.pointer),
            line,
            scalars,
        };
        collect_objects(item, item_place, document, nesting + 1, out);
    }
}

/// The line of each item of the List at `list` (that of its first scalar) and the range of its scalars, in one pass
/// over the List's scalars. An item holding no scalar has none.
fn places_of_items(
    document: &Document,
    list: &Place,
    count: usize,
) -> Vec<Option<(usize, Range<usize>)>> {
    let items = format!("{}/items", list.pointer);
    let mut places: Vec<Option<(usize, Range<usize>)>> = vec![None; count];
    for index in list.scalars.clone() {
        let scalar = &document.scalars[index];
        let item = document.item_index_of(scalar, &items);
        if let Some(slot) = item.and_then(|i| places.get_mut(i)) {
            match slot {
                Some((_, range)) => range.end = index + 1,
                None => *slot = Some((scalar.line, index..index + 1)),
            }
        }
    }
    places
}

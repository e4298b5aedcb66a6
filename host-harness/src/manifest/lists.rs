//! A big `kind: List` read item by item: its items cut apart on the text and read in parallel, as separate
//! documents are.
//!
//! `kubectl get … -o yaml` (or `-o json`) prints a cluster's objects as one List. Read whole, a List of 50 000 Pods is
//! one document: parsed on one core, and held whole (its value, every scalar's position) until its last item is
//! judged. Cut at its items, it is read like 50 000 documents: on every core, each item alive only while it is
//! judged, so memory stays near the size of the text.
//!
//! The cut is made where it cannot change what is read, and is checked by reading:
//! - YAML: the List's `items:` key alone on a line at column 0 (as kubectl prints it), its block sequence's entries
//!   (`- ` lines at one column) each cut out with the lines below it, up to the first line back at that column or
//!   left of it that is not an entry. Each item is read on its own as a one-item sequence. The List's other keys
//!   are read with the items left out, and must make a List. A cut that does not hold (an alias to an anchor in
//!   another item, a quoted scalar running across a cut) leaves an item that does not read on its own; then the
//!   List is read whole again ([`super::reread_broken_lists`]), so what is read, or the error, is the whole
//!   read's.
//! - JSON: serde_json reads the List's top level, borrowing each item's text (no value is built for it), and each
//!   item is read on its own from that text.
//!
//! An item read on its own has the pointer (`/items/7`), line and scalar positions it has in the whole List. The
//! one difference: the alias budget ([`super::Limits::max_alias_nodes`]) applies to each item rather than to the
//! whole List; it still bounds what one item (one unit of work) may expand to.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use require_digest::admission::identify;
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::json::LineCounter;
use super::yaml::{self, Chunk, Document, Limits, YamlError};

/// Lists smaller than this are read whole: cutting pays off only across many items.
pub const MIN_CUT_BYTES: usize = 64 * 1024;

/// One item of a List, cut out of its document to be read on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub index: usize,
    /// 1-based column of the item's first character (a JSON item may start mid-line; a YAML one starts its line).
    pub first_column: usize,
    pub list: Arc<ListDocument>,
}

/// The List an item was cut from.
#[derive(Debug, PartialEq, Eq)]
pub struct ListDocument {
    /// The List's whole document (a YAML document, or a JSON file), read whole when an item does not read alone.
    pub chunk: Chunk,
    /// The List's own line: an item holding no scalar is placed there, as in the whole read.
    pub line: usize,
}

/// The items of a YAML document that is a List of at least [`MIN_CUT_BYTES`], each a chunk of its own; `None` when
/// the document is not one, or not written so that its items can be cut apart on the text.
pub fn cut_yaml(text: &str, document: &Chunk, limits: Limits) -> Option<Vec<Chunk>> {
    let bytes = &text.as_bytes()[document.range.clone()];
    if bytes.len() < MIN_CUT_BYTES
        || !(bytes.starts_with(b"items:") || memchr::memmem::find(bytes, b"\nitems:").is_some())
    {
        return None;
    }
    let mut lines = LineScanner {
        text,
        at: document.range.start,
        end: document.range.end,
        line: document.first_line,
    };
    // kubectl reads a document without its `---` line (see yaml::parse_chunk, which also refuses what may follow it).
    if bytes.starts_with(b"---") {
        lines.next()?;
    }
    let body_start = lines.at;
    let body_first_line = lines.line;

    // The List's keys before `items:`. A directive (`%TAG`) would change how the items' tags read.
    let items_key = loop {
        let line = lines.next()?;
        if line.text.starts_with('%') {
            return None;
        }
        if is_items_key(line.text.as_bytes()) {
            break line;
        }
    };
    // The sequence's column, from its first entry.
    let first = loop {
        let line = lines.next()?;
        if !is_blank_or_comment(line.text) {
            break line;
        }
    };
    let column = first.text.len() - first.text.trim_start_matches(' ').len();
    if !is_entry(first.text, column) {
        return None;
    }
    let mut starts = vec![(first.start, first.number)];
    let mut region_end = lines.end;
    for line in lines {
        if is_entry(line.text, column) {
            starts.push((line.start, line.number));
        } else if !is_blank_or_comment(line.text) && indentation(line.text) <= column {
            region_end = line.start;
            break;
        }
    }

    let list_line = list_line(
        text,
        body_start..items_key.start,
        region_end..document.range.end,
        body_first_line,
        limits,
    )?;
    let list = Arc::new(ListDocument {
        chunk: document.clone(),
        line: list_line,
    });
    let ends = starts
        .iter()
        .skip(1)
        .map(|&(start, _)| start)
        .chain([region_end]);
    Some(
        starts
            .iter()
            .zip(ends)
            .enumerate()
            .map(|(index, (&(start, first_line), end))| Chunk {
                range: start..end,
                first_line,
                list_item: Some(ListItem {
                    index,
                    first_column: 1,
                    list: Arc::clone(&list),
                }),
            })
            .collect(),
    )
}

/// Stands for the items in the List's text read without them: a string no manifest holds, so finding it as the
/// value of `items` proves that the `items:` cut out is the one the whole read keeps (the last of duplicates).
const ITEMS_STAND_IN: &str = "items: \"require-digest: the items, read apart\"\n";

/// The line of the YAML List made of `header`, the `items:` key and `trailer` (its text before and after the
/// items), when that text reads as a List whose `items` are the ones cut out.
fn list_line(
    text: &str,
    header: Range<usize>,
    trailer: Range<usize>,
    first_line: usize,
    limits: Limits,
) -> Option<usize> {
    let rest = format!("{}{ITEMS_STAND_IN}{}", &text[header], &text[trailer]);
    let chunk = Chunk {
        range: 0..rest.len(),
        first_line,
        list_item: None,
    };
    let mut documents = yaml::parse_chunk(&rest, &chunk, limits).ok()?;
    if documents.len() != 1 {
        return None;
    }
    let document = documents.remove(0);
    let Value::Object(mut list) = document.value else {
        return None;
    };
    let stand_in = ITEMS_STAND_IN["items: ".len()..].trim_end();
    if list.get("items").and_then(Value::as_str) != Some(&stand_in[1..stand_in.len() - 1]) {
        return None;
    }
    list.insert("items".to_owned(), Value::Array(Vec::new()));
    is_list(list).then_some(document.line)
}

/// Whether the top level of a List (its `items` emptied) is what the whole read unwraps as a List (see
/// [`super::objects`]).
fn is_list(list: Map<String, Value>) -> bool {
    identify(&Value::Object(list)).is_ok_and(|identity| identity.kind.ends_with("List"))
}

/// The items of a JSON text that is one List of at least [`MIN_CUT_BYTES`], each a chunk of its own; `None` when it
/// is not one (or is a stream of several values, which is read whole).
pub fn cut_json(text: &str) -> Option<Vec<Chunk>> {
    if text.len() < MIN_CUT_BYTES {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let top = (&mut deserializer).deserialize_map(TopLevelVisitor).ok()?;
    deserializer.end().ok()?;
    let mut fields = top.fields;
    let items = top.items?;
    fields.insert("items".to_owned(), Value::Array(Vec::new()));
    if !is_list(fields) {
        return None;
    }
    let mut lines = LineCounter::default();
    let start = text.len() - text.trim_start().len();
    let list = Arc::new(ListDocument {
        chunk: Chunk {
            range: 0..text.len(),
            first_line: 1,
            list_item: None,
        },
        line: lines.advance(text, start).0,
    });
    let base = text.as_ptr() as usize;
    Some(
        items
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let start = raw.get().as_ptr() as usize - base;
                let (first_line, first_column) = lines.advance(text, start);
                Chunk {
                    range: start..start + raw.get().len(),
                    first_line,
                    list_item: Some(ListItem {
                        index,
                        first_column,
                        list: Arc::clone(&list),
                    }),
                }
            })
            .collect(),
    )
}

/// A JSON List's top level: its items' texts, and its other fields as values.
struct TopLevel<'t> {
    fields: Map<String, Value>,
    /// The last `items` (a duplicate key's last value wins, as in the whole read).
    items: Option<Vec<&'t RawValue>>,
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = TopLevel {
            fields: Map::new(),
            items: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "items" {
                let items: Vec<&'de RawValue> = map.next_value()?;
                // More would not fit in the whole read's positions either (a sequence index is 32 bits).
                if u32::try_from(items.len()).is_err() {
                    return Err(serde::de::Error::custom("too many items"));
                }
                top.items = Some(items);
            } else {
                top.fields.insert(key.into_owned(), map.next_value()?);
            }
        }
        Ok(top)
    }
}

/// Reads a List item cut out by [`cut_yaml`] or [`cut_json`] on its own, as the document of its value placed where
/// it sits in the List.
pub fn parse_item(
    text: &str,
    chunk: &Chunk,
    item: &ListItem,
    is_json: bool,
    limits: Limits,
) -> Result<Document, YamlError> {
    let mut document = if is_json {
        super::json::parse_list_item(
            text,
            chunk.range.clone(),
            (chunk.first_line, item.first_column),
            item.index,
            limits,
        )?
    } else {
        parse_yaml_item(text, chunk, item.index, limits)?
    };
    // As the whole read places an item: at its first scalar, or at the List when it holds none.
    document.line = document
        .scalars
        .first()
        .map_or(item.list.line, |scalar| scalar.line);
    Ok(document)
}

fn parse_yaml_item(
    text: &str,
    chunk: &Chunk,
    index: usize,
    limits: Limits,
) -> Result<Document, YamlError> {
    let not_alone = || YamlError {
        message: "this List item does not read on its own".to_owned(),
        line: chunk.first_line,
        column: 1,
        is_syntax: true,
    };
    let limits = Limits {
        // The List's mapping holds the sequence that holds the item; read alone, the item's sequence is the root.
        max_depth: limits.max_depth.checked_sub(1).ok_or_else(not_alone)?,
        ..limits
    };
    let alone = Chunk {
        range: chunk.range.clone(),
        first_line: chunk.first_line,
        list_item: None,
    };
    let mut documents = yaml::parse_chunk(text, &alone, limits)?;
    let (Some(mut document), true) = (documents.pop(), documents.is_empty()) else {
        return Err(not_alone());
    };
    let Value::Array(mut items) = std::mem::take(&mut document.value) else {
        return Err(not_alone());
    };
    if items.len() != 1 {
        return Err(not_alone());
    }
    document.value = items.remove(0);
    document.paths.place_item_at(index);
    document.pointer = format!("/items/{index}");
    Ok(document)
}

/// A line of text, without its line break.
struct Line<'t> {
    text: &'t str,
    start: usize,
    number: usize,
}

/// The lines of `text[at..end]`, in order.
struct LineScanner<'t> {
    text: &'t str,
    at: usize,
    end: usize,
    line: usize,
}

impl<'t> Iterator for LineScanner<'t> {
    type Item = Line<'t>;

    fn next(&mut self) -> Option<Line<'t>> {
        if self.at >= self.end {
            return None;
        }
        let rest = &self.text.as_bytes()[self.at..self.end];
        let length = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = Line {
            text: self.text[self.at..self.at + length].trim_end_matches('\r'),
            start: self.at,
            number: self.line,
        };
        self.at = (self.at + length + 1).min(self.end);
        self.line += 1;
        Some(line)
    }
}

/// `items:` at column 0 with nothing after it but blanks and a comment (a line, without its line break): how
/// kubectl starts a List's items in YAML. The input cap tells a List by it too (see super::inputs).
pub(super) fn is_items_key(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"items:") else {
        return false;
    };
    let content = rest.trim_ascii_start();
    // A comment needs a blank before it (`items:#x` is a plain scalar).
    content.is_empty() || (content[0] == b'#' && content.len() < rest.len())
}

fn is_blank_or_comment(line: &str) -> bool {
    let content = line.trim_start_matches([' ', '\t']);
    content.is_empty() || content.starts_with('#')
}

/// Leading spaces; a tab after them counts as deeper (tabs are not YAML indentation: such a line is inside a
/// scalar, or an error the item's own read reports).
fn indentation(line: &str) -> usize {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    if line[spaces..].starts_with('\t') {
        usize::MAX
    } else {
        spaces
    }
}

/// A block sequence entry at `column`: `-` there, followed by a blank or the line's end.
fn is_entry(line: &str, column: usize) -> bool {
    line.len() > column
        && line.as_bytes()[..column].iter().all(|&b| b == b' ')
        && line[column..]
            .strip_prefix('-')
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::super::{ManifestFile, load_documents, objects_of, parse_all};
    use super::*;

    /// What a reader makes of a file, object by object: pointer, line, value, and every scalar's place.
    type Read = Result<Vec<(String, usize, Value, Vec<String>)>, (usize, usize)>;

    fn objects(documents: Vec<Document>) -> Vec<(String, usize, Value, Vec<String>)> {
        let mut out = Vec::new();
        for mut document in documents {
            for object in objects_of(&mut document).into_iter().flatten() {
                let scalars = document.scalars[object.scalars.clone()]
                    .iter()
                    .map(|s| {
                        let pointer = document.pointer_of(s);
                        format!(
                            "{pointer} {}:{} {:?} {:?}",
                            s.line, s.column, s.span, s.style
                        )
                    })
                    .collect();
                out.push((object.pointer, object.line, object.value, scalars));
            }
        }
        out
    }

    /// Read whole, one document at a time, as before Lists were cut.
    fn read_whole(text: &str) -> Read {
        parse_all(text, Limits::default())
            .map(objects)
            .map_err(|e| (e.line, e.column))
    }

    /// Read as `check` and `pin` read it: big Lists cut at their items.
    fn read_cut(text: &str) -> Read {
        load_documents(&ManifestFile::new("list", text), Limits::default())
            .map(objects)
            .map_err(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)))
    }

    /// Fails naming the first object where the two reads differ (a whole List would not fit in a message).
    fn assert_same(cut: &Read, whole: &Read, context: &str) {
        match (cut, whole) {
            (Ok(cut), Ok(whole)) => {
                if let Some((index, (a, b))) =
                    cut.iter().zip(whole).enumerate().find(|(_, (a, b))| a != b)
                {
                    panic!("{context}: object {index} differs:\n cut:   {a:?}\n whole: {b:?}");
                }
                assert_eq!(cut.len(), whole.len(), "{context}: objects read");
            }
            _ => assert_eq!(cut, whole, "{context}"),
        }
    }

    /// A comment long enough that the List is cut.
    fn padding() -> String {
        format!("# {}\n", "x".repeat(MIN_CUT_BYTES))
    }

    fn was_cut(text: &str) -> bool {
        let file = ManifestFile::new("list", text);
        super::super::chunks_of(&file, Limits::default())
            .iter()
            .any(|chunk| chunk.list_item.is_some())
    }

    const YAML_ITEMS: &str = r#"items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec:
    containers:
    - name: app
      image: nginx:1.27
- apiVersion: v1
  kind: Pod
  metadata: &meta
    name: b
    labels: {app: web}
  spec:
    containers:
    - {name: app, image: "nginx:1.27"}
    initContainers:
    - name: init
      image: &img busybox
      args:
      - |
        line one
        - not an item
      - "two
        lines"
  extra: *meta
  again: *img

# a comment between items
- 3
-
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Pod
    spec: {containers: [{image: x}]}
"#;

    #[rstest]
    #[case::kubectl_layout(format!("{}apiVersion: v1\n{YAML_ITEMS}kind: List\nmetadata:\n  resourceVersion: \"\"\n", padding()))]
    #[case::items_last(format!("{}apiVersion: v1\nkind: PodList\n{YAML_ITEMS}", padding()))]
    #[case::indented_entries(format!("{}apiVersion: v1\nkind: List\n{}", padding(), YAML_ITEMS.replace("\n", "\n  ").trim_end()))]
    #[case::after_a_marker(format!("---\n{}apiVersion: v1\nkind: List\n{YAML_ITEMS}", padding()))]
    fn a_cut_yaml_list_reads_as_the_whole_list(#[case] text: String) {
        assert!(was_cut(&text), "the List is cut");
        let cut = read_cut(&text);
        assert_same(&cut, &read_whole(&text), "");
        assert_eq!(cut.unwrap().len(), 3, "two Pods, and a List's Pod");
    }

    #[rstest]
    #[case::alias_to_another_item("- &a {apiVersion: v1, kind: Pod}\n- *a\n")]
    #[case::quoted_scalar_across_a_cut("- {apiVersion: v1, kind: Pod, x: \"a\n- b\"}\n")]
    #[case::flow_sequence_across_a_cut("- [a,\n- b]\n")]
    fn a_cut_that_does_not_hold_reads_the_list_whole(#[case] items: &str) {
        let text = format!("{}apiVersion: v1\nkind: List\nitems:\n{items}", padding());
        assert!(was_cut(&text));
        assert_same(&read_cut(&text), &read_whole(&text), "");
    }

    #[rstest]
    #[case::not_a_list(format!("{}apiVersion: v1\nkind: Pod\nitems:\n- a\n", padding()))]
    #[case::items_twice(format!("{}apiVersion: v1\nkind: List\nitems:\n- a\nitems: []\n", padding()))]
    #[case::items_in_flow_style(format!("{}apiVersion: v1\nkind: List\nitems: [\n {{a: 1}}]\n", padding()))]
    #[case::small(format!("apiVersion: v1\nkind: List\nitems:\n- a\n"))]
    fn a_document_is_cut_only_where_the_cut_is_the_whole_read(#[case] text: String) {
        assert!(!was_cut(&text));
        assert_same(&read_cut(&text), &read_whole(&text), "");
    }

    #[test]
    fn a_cut_json_list_reads_as_the_whole_list() {
        let item = |i: usize| {
            format!(
                r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p{i}", "x": "\ud83d\ude00"}}, "spec": {{"containers": [{{"image": "nginx:1.{i}"}}]}}}}"#
            )
        };
        let items: Vec<String> = (0..2000).map(item).collect();
        for (layout, text) in [
            (
                "one line",
                format!(
                    r#"{{"apiVersion":"v1","items":[{},null,3],"kind":"List"}}"#,
                    items.join(",")
                ),
            ),
            (
                "indented",
                format!(
                    "{{\n  \"kind\": \"List\",\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {}\n  ]\n}}\n",
                    items.join(",\n    ")
                ),
            ),
            (
                "items twice",
                format!(
                    r#"{{"apiVersion":"v1","items":[],"kind":"List","items":[{}]}}"#,
                    items.join(",")
                ),
            ),
        ] {
            assert!(was_cut(&text), "{layout}");
            assert_same(&read_cut(&text), &read_whole(&text), layout);
        }
        let two_values = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{}]}} {{"kind": "Pod"}}"#,
            items.join(",")
        );
        assert!(!was_cut(&two_values), "a stream of values is read whole");
    }

    /// Random edits of a List (the characters YAML gives meaning to, inserted, deleted or swapped in) never make the
    /// cut read differ from the whole read: either both read the same objects, or both fail at the same place.
    #[test]
    fn edits_never_make_the_cut_read_differ_from_the_whole_read() {
        let base = format!("{}apiVersion: v1\n{YAML_ITEMS}kind: List\n", padding());
        let body_start = base.find("apiVersion").unwrap();
        let alphabet: Vec<char> = "-: \n\"'#&*!|>[]{},?%.@`\tab".chars().collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        let mut cut = 0;
        for _ in 0..3000 {
            let mut text = base.clone();
            for _ in 0..1 + next(3) {
                let at = body_start + next(text.len() - body_start);
                if !text.is_char_boundary(at) {
                    continue;
                }
                match next(3) {
                    0 => text.insert(at, alphabet[next(alphabet.len())]),
                    1 => {
                        text.remove(at);
                    }
                    _ => {
                        text.remove(at);
                        text.insert(at, alphabet[next(alphabet.len())]);
                    }
                }
            }
            cut += usize::from(was_cut(&text));
            assert_same(&read_cut(&text), &read_whole(&text), &text[body_start..]);
        }
        assert!(cut > 1000, "most edited Lists are still cut ({cut})");
    }
}

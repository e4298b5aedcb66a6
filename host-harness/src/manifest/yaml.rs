//! YAML text → `serde_json` values, with the source position of every scalar.
//!
//! Manifests are read the way kubectl reads them: kubectl goes through `sigs.k8s.io/yaml`, which is go-yaml v2 (a
//! port of libyaml) followed by a YAML→JSON conversion. So the events come from `libyaml-safer`, a Rust port of
//! libyaml: what it accepts and refuses is what go-yaml v2 accepts and refuses (the differences are listed in
//! host-harness/tests/yaml_fidelity.rs, which holds this module to go-yaml v2 itself and to the YAML test suite).
//! Every event carries its byte position, which reports need (the line of each image) and `pin` needs (it
//! rewrites image scalars in place, byte for byte, from the spans recorded here).
//!
//! How YAML becomes JSON here, as go-yaml v2 and sigs.k8s.io/yaml do it:
//! - Plain scalars are typed by go-yaml v2's YAML 1.1 rules ([`resolve_plain`]): `true`, `yes`, `on`, `y` (and
//!   their capitalised forms) are booleans, `~`/`null`/empty is null, integers may be octal (`0777`), hex, binary
//!   and hold `_`, floats follow YAML 1.1. Timestamps stay strings. `.inf` and `.nan` have no JSON form: kubectl
//!   refuses a document holding one, and so does this reader. Quoted and block scalars are strings.
//! - Tags: `!!str` forces a string, `!!int`, `!!float`, `!!bool`, `!!null` must fit their text, any other tag
//!   leaves the text as a string.
//! - Mapping keys become strings as sigs.k8s.io/yaml makes them: a string as written, an integer in decimal, a
//!   boolean as `true`/`false`, a float as Go's shortest single-precision form; a null key, an integer beyond
//!   `i64`, a mapping or a sequence used as a key is an error (that last is what an unrendered Go template
//!   `{{ .Values.x }}` looks like to a YAML parser). Anchors on keys and aliases used as keys work.
//! - Duplicate keys: the last one wins, so the policy judges the value the cluster would store.
//! - Merge keys (`<<: *base`) copy the merged mapping's keys into the mapping at the point where the merge is
//!   written, as go-yaml v2 does: keys written after it override it, keys written before it are overridden.
//! - Aliases are expanded, within a budget of [`Limits::max_alias_nodes`] nodes per document (a "billion laughs"
//!   document fails with a clear error instead of exhausting memory); nesting deeper than [`Limits::max_depth`] is
//!   an error too (serde_json, which the policy uses, refuses depth > 128).
//! - `${NAME}` and other template placeholders are text like any other: whether an *image* may hold one is the
//!   policy's business, not the reader's.
//!
//! Documents: a file is cut where kubectl's reader cuts it, at every line that starts with `---`, and each piece
//! is parsed on its own, as kubectl does; the caller parses the pieces in parallel.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

use super::lists::ListItem;

/// Bounds on what one document may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Nodes that alias expansion may add to one document.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // serde_json's own recursion limit; the policy could not read anything deeper.
            max_depth: 128,
            // Far beyond any real manifest's use of anchors, far below what would strain memory
            // (a node is under 100 bytes).
            max_alias_nodes: 250_000,
        }
    }
}

/// How a scalar was written; `pin` keeps the style when it rewrites one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// Where a scalar value sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarPosition {
    /// The scalar's place in its document: [`Document::pointer_of`] gives it as a JSON pointer.
    pub path: PathId,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte range in the file of the scalar as written, quotes included, anchors and tags excluded.
    pub span: Range<usize>,
    pub style: Style,
}

/// A node's place in its document: an index into the document's [`PathTree`]. Meaningful only with
/// the document it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(u32);

impl PathId {
    pub(super) const ROOT: PathId = PathId(0);
}

/// The places of a document's nodes, as a tree: each node knows its parent and its key or index.
///
/// A document has dozens of scalars and `check` looks up a handful of them (the images of a rejected
/// object), so each scalar records one index into this tree instead of its JSON pointer as a string of
/// its own: one allocation and copy per scalar saved. Pointers are compared segment by segment against
/// the tree, and written out only when asked for.
#[derive(Debug, Clone)]
pub(super) struct PathTree {
    /// Node 0 is the document's root.
    nodes: Vec<PathNode>,
    /// The keys' text (as written in the YAML, unescaped), one after another: [`Segment::Key`] ranges index
    /// into it. A document is at most a file (2 GiB, a List), so `u32` offsets suffice.
    keys: String,
}

#[derive(Debug, Clone, Copy)]
struct PathNode {
    parent: PathId,
    /// Number of segments from the root (the root's is 0).
    depth: u32,
    segment: Segment,
}

#[derive(Debug, Clone, Copy)]
enum Segment {
    Root,
    /// A mapping value, by its key: `keys[start..end]`.
    Key {
        start: u32,
        end: u32,
    },
    /// A sequence item, by its index.
    Index(u32),
}

impl PathTree {
    pub(super) fn new() -> Self {
        PathTree {
            nodes: vec![PathNode {
                parent: PathId::ROOT,
                depth: 0,
                segment: Segment::Root,
            }],
            keys: String::new(),
        }
    }

    fn node(&self, id: PathId) -> &PathNode {
        &self.nodes[id.0 as usize]
    }

    fn add(&mut self, parent: PathId, segment: Segment) -> PathId {
        let id =
            PathId(u32::try_from(self.nodes.len()).expect("a document has fewer than 2^32 nodes"));
        let depth = self.node(parent).depth + 1;
        self.nodes.push(PathNode {
            parent,
            depth,
            segment,
        });
        id
    }

    pub(super) fn add_key(&mut self, parent: PathId, key: &str) -> PathId {
        let offset = |n: usize| u32::try_from(n).expect("a document is smaller than 4 GiB");
        let start = offset(self.keys.len());
        self.keys.push_str(key);
        let end = offset(self.keys.len());
        self.add(parent, Segment::Key { start, end })
    }

    pub(super) fn add_index(&mut self, parent: PathId, index: usize) -> PathId {
        let index = u32::try_from(index).expect("a sequence has fewer than 2^32 items");
        self.add(parent, Segment::Index(index))
    }

    fn key(&self, start: u32, end: u32) -> &str {
        &self.keys[start as usize..end as usize]
    }

    /// The RFC 6901 JSON pointer of a node (`""` for the root).
    fn pointer(&self, id: PathId) -> String {
        let mut segments = Vec::with_capacity(self.node(id).depth as usize);
        let mut id = id;
        while !matches!(self.node(id).segment, Segment::Root) {
            segments.push(id);
            id = self.node(id).parent;
        }
        let mut pointer = String::new();
        for &id in segments.iter().rev() {
            pointer.push('/');
            match self.node(id).segment {
                Segment::Key { start, end } => push_escaped(&mut pointer, self.key(start, end)),
                Segment::Index(index) => {
                    use std::fmt::Write;
                    let _ = write!(pointer, "{index}");
                }
                Segment::Root => unreachable!("the root has no segment"),
            }
        }
        pointer
    }

    /// Whether the node is the one at the pointer of `segments`, comparing from the last segment up
    /// (most nodes differ from a looked-up pointer in their own key, so most comparisons stop at once).
    fn is_at(&self, id: PathId, segments: &[&str]) -> bool {
        let mut node = self.node(id);
        if node.depth as usize != segments.len() {
            return false;
        }
        for segment in segments.iter().rev() {
            let same = match node.segment {
                Segment::Root => false,
                Segment::Key { start, end } => escaped_key_is(self.key(start, end), segment),
                Segment::Index(index) => index_is(index, segment),
            };
            if !same {
                return false;
            }
            node = self.node(node.parent);
        }
        true
    }

    /// The node's ancestor (or itself) `depth` segments below the root.
    fn ancestor_at(&self, id: PathId, depth: u32) -> Option<PathId> {
        let mut id = id;
        let mut node = self.node(id);
        if node.depth < depth {
            return None;
        }
        while node.depth > depth {
            id = node.parent;
            node = self.node(id);
        }
        Some(id)
    }

    /// Places a document that is a one-item sequence (a List item read on its own, see [`super::lists`]) where the
    /// item sits in its List, `/items/{index}`: the item's node becomes that index under a new `items` node, and
    /// every node below it one segment deeper.
    pub(super) fn place_item_at(&mut self, index: usize) {
        let index = u32::try_from(index).expect("a sequence has fewer than 2^32 items");
        let items = self.add_key(PathId::ROOT, "items");
        for (id, node) in self.nodes.iter_mut().enumerate().skip(1) {
            if id == items.0 as usize {
                continue;
            }
            node.depth += 1;
            if node.parent == PathId::ROOT {
                node.parent = items;
                node.segment = Segment::Index(index);
            }
        }
    }

    /// Whether the node is the one at the pointer of `segments` or lies inside it.
    fn is_within(&self, id: PathId, segments: &[&str]) -> bool {
        self.ancestor_at(id, depth_of(segments))
            .is_some_and(|ancestor| self.is_at(ancestor, segments))
    }
}

/// The (still escaped) segments of a JSON pointer: none for `""`, `["a", "b"]` for `/a/b`; `None` for
/// text that is not a pointer (it must start with `/`).
fn pointer_segments(pointer: &str) -> Option<Vec<&str>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    Some(pointer.strip_prefix('/')?.split('/').collect())
}

fn depth_of(segments: &[&str]) -> u32 {
    u32::try_from(segments.len()).unwrap_or(u32::MAX)
}

/// Whether `escaped`, one segment of a JSON pointer, names `key` (`~1` for `/`, `~0` for `~`).
fn escaped_key_is(key: &str, escaped: &str) -> bool {
    if key.contains(['~', '/']) {
        let mut expected = String::with_capacity(key.len() + 2);
        push_escaped(&mut expected, key);
        expected == escaped
    } else {
        key == escaped
    }
}

/// Whether `segment` is `index` written as JSON pointers write array indexes (decimal, no leading zero).
fn index_is(index: u32, segment: &str) -> bool {
    let canonical = segment == "0"
        || (!segment.is_empty()
            && !segment.starts_with('0')
            && segment.bytes().all(|b| b.is_ascii_digit()));
    canonical && segment.parse::<u32>() == Ok(index)
}

/// One YAML document of a file.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// 1-based line of the document's first node (not of its `---`).
    pub line: usize,
    /// Every scalar value of the document (mapping keys excluded), in document order. When a key
    /// is duplicated, both values are here; the last one is the one in [`Document::value`]. Values
    /// reached through an alias or a merge key are not: they are written where their anchor is.
    pub scalars: Vec<ScalarPosition>,
    /// The places the scalars' [`PathId`]s refer to.
    pub(super) paths: PathTree,
    /// Where [`Document::value`] sits in the document it was read from: `""` for a whole document, `/items/7` for
    /// a List item read on its own (see [`super::lists`]). Pointers into the document, and its scalars' paths, are
    /// the whole document's.
    pub pointer: String,
}

impl Document {
    /// The JSON pointer (RFC 6901) of a scalar of this document within it, e.g. `/spec/containers/0/image`.
    pub fn pointer_of(&self, scalar: &ScalarPosition) -> String {
        self.paths.pointer(scalar.path)
    }

    /// The position of the scalar at `pointer` (the last one written there, as in the value).
    pub fn scalar_at(&self, pointer: &str) -> Option<&ScalarPosition> {
        self.scalar_at_among(0..self.scalars.len(), pointer)
    }

    /// [`Document::scalar_at`], looking only among the scalars of `among` (indexes into [`Document::scalars`], such
    /// as one List item's).
    pub fn scalar_at_among(&self, among: Range<usize>, pointer: &str) -> Option<&ScalarPosition> {
        let segments = pointer_segments(pointer)?;
        self.scalars[among]
            .iter()
            .rev()
            .find(|scalar| self.paths.is_at(scalar.path, &segments))
    }

    /// The scalars at `pointer` or inside the node there, in document order.
    pub fn scalars_within<'d>(
        &'d self,
        pointer: &'d str,
    ) -> impl Iterator<Item = &'d ScalarPosition> + 'd {
        self.scalars_within_among(0..self.scalars.len(), pointer)
    }

    /// [`Document::scalars_within`], looking only among the scalars of `among`.
    pub fn scalars_within_among<'d>(
        &'d self,
        among: Range<usize>,
        pointer: &'d str,
    ) -> impl Iterator<Item = &'d ScalarPosition> + 'd {
        let segments = pointer_segments(pointer);
        self.scalars[among].iter().filter(move |scalar| {
            segments
                .as_ref()
                .is_some_and(|segments| self.paths.is_within(scalar.path, segments))
        })
    }

    /// When `scalar` lies inside an item of the sequence at `sequence_pointer`, that item's index.
    pub fn item_index_of(&self, scalar: &ScalarPosition, sequence_pointer: &str) -> Option<usize> {
        let segments = pointer_segments(sequence_pointer)?;
        let item = self
            .paths
            .ancestor_at(scalar.path, depth_of(&segments).checked_add(1)?)?;
        let node = self.paths.node(item);
        match node.segment {
            Segment::Index(index) if self.paths.is_at(node.parent, &segments) => {
                Some(index as usize)
            }
            _ => None,
        }
    }

    /// The line of the node at `pointer`: its own line for a scalar, else the line of the first
    /// scalar inside it, else the document's line.
    pub fn line_of(&self, pointer: &str) -> usize {
        if pointer.is_empty() {
            return self.line;
        }
        self.scalars_within(pointer)
            .next()
            .map_or(self.line, |scalar| scalar.line)
    }
}

/// A YAML error, positioned in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    /// 1-based line and column (in characters) in the file.
    pub line: usize,
    pub column: usize,
    /// The text is not YAML, or not YAML that maps to JSON (a non-scalar key): what an unrendered
    /// template looks like. False for limits and placeholders, which have their own explanation.
    pub is_syntax: bool,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for YamlError {}

/// A slice of a file holding whole documents, parseable on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range in the file.
    pub range: Range<usize>,
    /// 1-based line of the chunk's first byte.
    pub first_line: usize,
    /// Set when the chunk is one item of a List, cut out of its document to be read on its own.
    pub list_item: Option<ListItem>,
}

/// Splits a file where kubectl's reader (apimachinery's `YAMLReader`) cuts it: at every line that starts with
/// `---`, each chunk starting with its marker line. kubectl then parses each piece on its own, so a `%YAML` or
/// `%TAG` directive does not reach the document after the marker, and text after `---` other than a comment is
/// refused (see [`parse_chunk`]).
pub fn split_documents(text: &str) -> Vec<Chunk> {
    split_documents_from(text, 0)
}

/// [`split_documents`] of `text[start..]`, `start` being a line's start; chunks are positioned in `text`.
pub fn split_documents_from(text: &str, start: usize) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut chunk_start = start;
    let mut chunk_first_line = 1 + count_newlines(&bytes[..start]);
    // Every line that starts with `---` follows a newline: a (SIMD) substring search finds them, since this runs
    // over the whole input before any parallel work starts.
    for newline in memchr::memmem::find_iter(&bytes[start..], b"\n---") {
        let line_start = start + newline + 1;
        chunks.push(Chunk {
            range: chunk_start..line_start,
            first_line: chunk_first_line,
            list_item: None,
        });
        chunk_first_line += count_newlines(&bytes[chunk_start..line_start]);
        chunk_start = line_start;
    }
    chunks.push(Chunk {
        range: chunk_start..text.len(),
        first_line: chunk_first_line,
        list_item: None,
    });
    chunks
}

fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Parses every document of a YAML `text`, cut as [`split_documents`] cuts a file. (Text that kubectl would read
/// as JSON goes to [`super::parse_all`].)
pub fn parse_yaml(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    let mut documents = Vec::new();
    for chunk in split_documents(text) {
        documents.extend(parse_chunk(text, &chunk, limits)?);
    }
    Ok(documents)
}

/// The error kubectl's reader gives for a document marker followed by anything but a comment (`--- |`,
/// `--- !!map`, `---text`).
fn separator_error(chunk_text: &str, first_line: usize) -> Option<YamlError> {
    let line = chunk_text.strip_prefix("---")?.lines().next().unwrap_or("");
    let after = line.trim();
    if after.is_empty() || after.starts_with('#') {
        return None;
    }
    Some(YamlError {
        message: format!(
            "invalid YAML document separator `---{line}`: kubectl's reader takes only a comment after `---`; \
             put the rest on the next line"
        ),
        line: first_line,
        column: 4,
        is_syntax: true,
    })
}

/// Parses the documents of one chunk of `file_text`; positions are relative to the whole file.
pub fn parse_chunk(
    file_text: &str,
    chunk: &Chunk,
    limits: Limits,
) -> Result<Vec<Document>, YamlError> {
    let text = &file_text[chunk.range.clone()];
    if let Some(error) = separator_error(text, chunk.first_line) {
        return Err(error);
    }
    // kubectl hands go-yaml the lines between markers, without the `---` line itself.
    let (body_start, first_line) = match text.strip_prefix("---") {
        Some(rest) => match rest.find('\n') {
            Some(newline) => (3 + newline + 1, chunk.first_line + 1),
            None => (text.len(), chunk.first_line),
        },
        None => (0, chunk.first_line),
    };
    let body = &text[body_start..];
    // libyaml-safer panics on a block scalar that ends the input without a line break; a final line break changes
    // no value and no position.
    let with_newline;
    let source = if body.is_empty() || body.ends_with('\n') {
        body
    } else {
        with_newline = format!("{body}\n");
        &with_newline
    };
    let locator = Locator {
        source,
        chunk_start: chunk.range.start + body_start,
        first_line,
    };
    // The parser is a port of C code that still asserts some of its invariants by panicking; should one fail, the
    // document is reported as unreadable rather than the whole run aborting.
    std::panic::catch_unwind(|| run_parser(&locator, limits)).unwrap_or_else(|_| {
        Err(YamlError {
            message:
                "the YAML parser failed on this document (a bug in libyaml-safer; please report it)"
                    .to_owned(),
            line: locator.first_line,
            column: 1,
            is_syntax: true,
        })
    })
}

fn run_parser(locator: &Locator<'_>, limits: Limits) -> Result<Vec<Document>, YamlError> {
    let mut input = locator.source.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut builder = Builder::new(locator, limits);
    loop {
        // Events are borrowed, not moved: an event is over a hundred bytes, and moving each one out of its `Result`
        // and into the builder showed in the profile; the builder takes only the strings it keeps.
        let mut event = parser.parse();
        let event = match &mut event {
            Ok(event) => event,
            Err(error) => return Err(locator.parser_error(error)),
        };
        if matches!(event.data, EventData::StreamEnd) {
            return Ok(builder.documents);
        }
        builder.on_event(&mut event.data, event.start_mark, event.end_mark)?;
        if builder.ended {
            return Ok(builder.documents);
        }
    }
}

/// Turns parser marks (byte index, 0-based line and column in characters, all relative to the chunk) into file
/// positions.
struct Locator<'a> {
    source: &'a str,
    chunk_start: usize,
    first_line: usize,
}

impl Locator<'_> {
    /// (file line, 1-based column, file byte offset) of a mark.
    fn locate(&self, mark: Mark) -> (usize, usize, usize) {
        (
            self.first_line + mark.line as usize,
            mark.column as usize + 1,
            self.chunk_start + mark.index as usize,
        )
    }

    fn error_at(&self, mark: Mark, message: impl Into<String>) -> YamlError {
        let (line, column, _) = self.locate(mark);
        YamlError {
            message: message.into(),
            line,
            column,
            is_syntax: false,
        }
    }

    fn syntax_error_at(&self, mark: Mark, message: impl Into<String>) -> YamlError {
        YamlError {
            is_syntax: true,
            ..self.error_at(mark, message)
        }
    }

    /// libyaml's own words ("did not find expected key"), with where the construct it was reading started.
    fn parser_error(&self, error: &libyaml_safer::Error) -> YamlError {
        let mut message = error.problem().to_owned();
        if let (Some(context), Some(mark)) = (error.context(), error.context_mark()) {
            let (line, column, _) = self.locate(mark);
            message.push_str(&format!(
                " ({context} that starts at line {line}, column {column})"
            ));
        }
        let mark = error.problem_mark().unwrap_or_default();
        self.syntax_error_at(mark, message)
    }
}

/// What the mapping being built expects next.
enum Key {
    /// The next node is the value of this key.
    Name(String),
    /// The next node is merged in (`<<`).
    Merge,
}

/// A collection being built.
enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: Option<String>,
        path: PathId,
    },
    Mapping {
        entries: Map<String, Value>,
        anchor: Option<String>,
        path: PathId,
        /// `None` while the next node is a key.
        key: Option<Key>,
    },
}

struct Builder<'l, 'a> {
    locator: &'l Locator<'a>,
    limits: Limits,
    documents: Vec<Document>,
    stack: Vec<Frame>,
    /// The places of the current document's nodes.
    paths: PathTree,
    /// Each anchor's value and its node count (what an alias to it adds to the document).
    anchors: HashMap<String, (Value, usize)>,
    alias_nodes: usize,
    root: Option<Value>,
    document_line: Option<usize>,
    scalars: Vec<ScalarPosition>,
    /// A document has ended: kubectl reads one document per piece of its cut (go-yaml's `Unmarshal` takes the first
    /// and ignores the rest, after a `...` line), so reading stops there.
    ended: bool,
}

impl<'l, 'a> Builder<'l, 'a> {
    fn new(locator: &'l Locator<'a>, limits: Limits) -> Self {
        Builder {
            locator,
            limits,
            documents: Vec::new(),
            stack: Vec::new(),
            paths: PathTree::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
            document_line: None,
            scalars: Vec::new(),
            ended: false,
        }
    }

    fn on_event(&mut self, event: &mut EventData, start: Mark, end: Mark) -> Result<(), YamlError> {
        match event {
            EventData::DocumentStart { .. } => {
                self.anchors.clear();
                self.alias_nodes = 0;
                self.root = None;
                self.document_line = None;
                self.paths = PathTree::new();
            }
            EventData::DocumentEnd { .. } => {
                self.ended = true;
                let scalars = std::mem::take(&mut self.scalars);
                let paths = std::mem::replace(&mut self.paths, PathTree::new());
                // An empty (or `null`) document holds no object; kubectl skips it too.
                if let Some(value) = self.root.take().filter(|value| !value.is_null()) {
                    let line = self.document_line.unwrap_or(self.locator.first_line);
                    self.documents.push(Document {
                        value,
                        line,
                        scalars,
                        paths,
                        pointer: String::new(),
                    });
                }
            }
            EventData::Scalar {
                anchor,
                tag,
                value: text,
                style,
                ..
            } => {
                let (anchor, tag, text, style) =
                    (anchor.take(), tag.take(), std::mem::take(text), *style);
                if style == ScalarStyle::DoubleQuoted {
                    self.refuse_slash_escape(start, end)?;
                }
                let is_merge = style == ScalarStyle::Plain
                    && text == "<<"
                    && tag.as_deref().is_none_or(|tag| tag == MERGE_TAG);
                let scalar = self.resolve(&text, style, tag.as_deref(), start)?;
                if self.awaiting_key() {
                    if let Some(anchor) = anchor {
                        let value = self.value_of(scalar, text.clone(), start)?;
                        self.anchors.insert(anchor, (value, 1));
                    }
                    let key = if is_merge {
                        Key::Merge
                    } else {
                        Key::Name(self.key_of(scalar, text, start)?)
                    };
                    self.set_key(key);
                } else {
                    self.note_document_start(start);
                    let path = self.open_path();
                    self.record_scalar(
                        path,
                        &text,
                        style,
                        start,
                        end,
                        anchor.is_some() || tag.is_some(),
                    );
                    let value = self.value_of(scalar, text, start)?;
                    self.finish_node(value, anchor, start)?;
                }
            }
            EventData::SequenceStart { anchor, .. } => {
                self.open_collection(anchor.take(), false, start)?
            }
            EventData::MappingStart { anchor, .. } => {
                self.open_collection(anchor.take(), true, start)?
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let frame = self
                    .stack
                    .pop()
                    .expect("the parser balances collection events");
                let (value, anchor) = match frame {
                    Frame::Sequence { items, anchor, .. } => (Value::Array(items), anchor),
                    Frame::Mapping {
                        entries, anchor, ..
                    } => (Value::Object(entries), anchor),
                };
                self.finish_node(value, anchor, start)?;
            }
            EventData::Alias { anchor } => {
                let Some((value, nodes)) = self.anchors.get(anchor.as_str()) else {
                    return Err(self.locator.error_at(
                        start,
                        format!("alias *{anchor} refers to no anchor &{anchor} before it"),
                    ));
                };
                let (value, nodes) = (value.clone(), *nodes);
                self.alias_nodes += nodes;
                if self.alias_nodes > self.limits.max_alias_nodes {
                    return Err(self.locator.error_at(
                        start,
                        format!(
                            "aliases expand to more than {} nodes in this document (an alias bomb, \"billion laughs\"?)",
                            self.limits.max_alias_nodes
                        ),
                    ));
                }
                if self.awaiting_key() {
                    let key = self.key_of_value(&value, start)?;
                    self.set_key(Key::Name(key));
                } else {
                    self.note_document_start(start);
                    self.finish_node(value, None, start)?;
                }
            }
            EventData::StreamStart { .. } | EventData::StreamEnd => {}
        }
        Ok(())
    }

    fn open_collection(
        &mut self,
        anchor: Option<String>,
        is_mapping: bool,
        start: Mark,
    ) -> Result<(), YamlError> {
        if self.awaiting_key() {
            return Err(self.locator.syntax_error_at(
                start,
                "a mapping key is itself a mapping or sequence; Kubernetes objects have string keys",
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.locator.error_at(
                start,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        self.note_document_start(start);
        let path = self.open_path();
        self.stack.push(if is_mapping {
            Frame::Mapping {
                entries: Map::new(),
                anchor,
                path,
                key: None,
            }
        } else {
            Frame::Sequence {
                items: Vec::new(),
                anchor,
                path,
            }
        });
        Ok(())
    }

    /// `\/` is a YAML 1.2 escape that libyaml-safer reads but go-yaml v2, and so kubectl, refuses.
    fn refuse_slash_escape(&self, start: Mark, end: Mark) -> Result<(), YamlError> {
        let from = start.index as usize;
        let to = (end.index as usize).min(self.locator.source.len());
        let written = &self.locator.source.as_bytes()[from..to];
        let mut i = 0;
        while i < written.len() {
            match written[i] {
                b'\\' if written.get(i + 1) == Some(&b'/') => {
                    return Err(self.locator.syntax_error_at(
                        start,
                        "found unknown escape character `\\/` (kubectl's YAML reader has none: write `/`)",
                    ));
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        Ok(())
    }

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn note_document_start(&mut self, mark: Mark) {
        if self.stack.is_empty() && self.document_line.is_none() {
            self.document_line = Some(self.locator.locate(mark).0);
        }
    }

    fn set_key(&mut self, key: Key) {
        if let Some(Frame::Mapping { key: slot, .. }) = self.stack.last_mut() {
            *slot = Some(key);
        }
    }

    /// Adds the place of the node that starts now to the document's paths: in the innermost open
    /// collection, by its key or index, or the root.
    fn open_path(&mut self) -> PathId {
        match self.stack.last() {
            Some(Frame::Mapping {
                key: Some(Key::Name(key)),
                path,
                ..
            }) => self.paths.add_key(*path, key),
            Some(Frame::Mapping {
                key: Some(Key::Merge),
                path,
                ..
            }) => self.paths.add_key(*path, "<<"),
            Some(Frame::Sequence { items, path, .. }) => self.paths.add_index(*path, items.len()),
            _ => PathId::ROOT,
        }
    }

    fn record_scalar(
        &mut self,
        path: PathId,
        text: &str,
        style: ScalarStyle,
        start: Mark,
        end: Mark,
        has_properties: bool,
    ) {
        let (line, column, start) = self.locator.locate(start);
        let (_, _, end) = self.locator.locate(end);
        let (line, column, start) = if has_properties {
            self.skip_properties(line, column, start, end)
        } else {
            (line, column, start)
        };
        let end = if style == ScalarStyle::Plain && text.is_empty() {
            start
        } else {
            end
        };
        self.scalars.push(ScalarPosition {
            path,
            line,
            column,
            span: start..end,
            style: match style {
                ScalarStyle::SingleQuoted => Style::SingleQuoted,
                ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                ScalarStyle::Literal => Style::Literal,
                ScalarStyle::Folded => Style::Folded,
                _ => Style::Plain,
            },
        });
    }

    /// A scalar event starts at its anchor or tag (`&a !!str value`): move past them to the value.
    fn skip_properties(
        &self,
        mut line: usize,
        mut column: usize,
        start: usize,
        end: usize,
    ) -> (usize, usize, usize) {
        let chunk_start = self.locator.chunk_start;
        let bytes = &self.locator.source.as_bytes()[start - chunk_start..end - chunk_start];
        let is_blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        let mut i = 0;
        while i < bytes.len() && matches!(bytes[i], b'&' | b'!') {
            while i < bytes.len() && !is_blank(bytes[i]) {
                // Count characters, not UTF-8 continuation bytes.
                if bytes[i] & 0xC0 != 0x80 {
                    column += 1;
                }
                i += 1;
            }
            while i < bytes.len() && is_blank(bytes[i]) {
                if bytes[i] == b'\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
                i += 1;
            }
        }
        (line, column, start + i)
    }

    /// What a scalar means, as go-yaml v2 decides it for an untyped target (its `resolve`).
    fn resolve(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&str>,
        mark: Mark,
    ) -> Result<Scalar, YamlError> {
        let Some(tag) = tag else {
            // Quoted and block scalars without a tag are strings.
            return Ok(if style == ScalarStyle::Plain {
                resolve_plain(text)
            } else {
                Scalar::Str
            });
        };
        let Some(core) = tag.strip_prefix(CORE_TAG_PREFIX) else {
            // `!`, `!custom`, `tag:example.com,2000:x`: go-yaml leaves the text as it is.
            return Ok(Scalar::Str);
        };
        let resolved = resolve_plain(text);
        let fits = match core {
            "str" => return Ok(Scalar::Str),
            "binary" => return Ok(Scalar::Binary),
            "null" => matches!(resolved, Scalar::Null),
            "bool" => matches!(resolved, Scalar::Bool(_)),
            "int" => matches!(resolved, Scalar::Int(_) | Scalar::Uint(_)),
            "float" => {
                return match resolved {
                    Scalar::Float(_) => Ok(resolved),
                    Scalar::Int(n) => Ok(Scalar::Float(n as f64)),
                    Scalar::Uint(n) => Ok(Scalar::Float(n as f64)),
                    _ => Err(self.cannot_decode(text, &resolved, core, mark)),
                };
            }
            "timestamp" => matches!(resolved, Scalar::Timestamp),
            // `!!map`, `!!seq`, `!!merge` and the like on a scalar: the text.
            _ => return Ok(Scalar::Str),
        };
        if fits {
            Ok(resolved)
        } else {
            Err(self.cannot_decode(text, &resolved, core, mark))
        }
    }

    fn cannot_decode(&self, text: &str, resolved: &Scalar, tag: &str, mark: Mark) -> YamlError {
        self.locator.error_at(
            mark,
            format!(
                "cannot decode !!{} `{text}` as a !!{tag}",
                resolved.tag_name()
            ),
        )
    }

    /// A resolved scalar as a JSON value, as sigs.k8s.io/yaml's conversion makes it.
    fn value_of(&self, scalar: Scalar, text: String, mark: Mark) -> Result<Value, YamlError> {
        Ok(match scalar {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(n) => Value::from(n),
            Scalar::Uint(n) => Value::from(n),
            Scalar::Float(f) => match Number::from_f64(f) {
                Some(number) => Value::Number(number),
                None => {
                    return Err(self.locator.error_at(
                        mark,
                        format!(
                            "`{text}` is a float with no JSON form (infinity or not-a-number); kubectl refuses it too"
                        ),
                    ));
                }
            },
            Scalar::Str | Scalar::Timestamp => Value::String(text),
            Scalar::Binary => Value::String(self.binary(&text, mark)?),
        })
    }

    /// `!!binary`: base64 (line breaks ignored, as Go's decoder does), read as text.
    fn binary(&self, text: &str, mark: Mark) -> Result<String, YamlError> {
        use base64::Engine as _;
        let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(_) => Err(self
                .locator
                .error_at(mark, "!!binary value contains invalid base64 data")),
        }
    }

    /// A scalar mapping key as the string sigs.k8s.io/yaml makes of it.
    fn key_of(&self, scalar: Scalar, text: String, mark: Mark) -> Result<String, YamlError> {
        match scalar {
            Scalar::Str | Scalar::Timestamp => Ok(text),
            Scalar::Binary => self.binary(&text, mark),
            Scalar::Int(n) => Ok(n.to_string()),
            Scalar::Bool(b) => Ok(b.to_string()),
            Scalar::Float(f) => Ok(go_float_key(f)),
            Scalar::Null | Scalar::Uint(_) => Err(self.unsupported_key(&text, mark)),
        }
    }

    /// An aliased node used as a mapping key.
    fn key_of_value(&self, value: &Value, mark: Mark) -> Result<String, YamlError> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) if n.is_i64() => Ok(n.to_string()),
            Value::Number(n) if n.is_f64() => Ok(go_float_key(n.as_f64().unwrap_or_default())),
            Value::Null | Value::Number(_) => Err(self.unsupported_key(&value.to_string(), mark)),
            Value::Array(_) | Value::Object(_) => Err(self.locator.syntax_error_at(
                mark,
                "a mapping key is itself a mapping or sequence; Kubernetes objects have string keys",
            )),
        }
    }

    fn unsupported_key(&self, text: &str, mark: Mark) -> YamlError {
        let shown = if text.is_empty() {
            "an empty key"
        } else {
            text
        };
        self.locator.error_at(
            mark,
            format!(
                "unsupported mapping key `{shown}`: kubectl's YAML-to-JSON conversion takes only string, integer, \
                 float and boolean keys"
            ),
        )
    }

    /// Places a finished node in its parent (or as the document root).
    fn finish_node(
        &mut self,
        value: Value,
        anchor: Option<String>,
        mark: Mark,
    ) -> Result<(), YamlError> {
        if let Some(anchor) = anchor {
            let nodes = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => {
                match key.take().expect("a value follows its key") {
                    Key::Name(key) => {
                        entries.insert(key, value);
                    }
                    Key::Merge => {
                        if !merge_into(entries, value) {
                            return Err(self.locator.error_at(
                                mark,
                                "a merge key `<<` takes a mapping or a list of mappings",
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// go-yaml v2's merge: the merged keys are set where `<<` is written, over the keys before it; of a list of
/// mappings, the earlier ones win. False when the value is not a mapping or a list of mappings.
fn merge_into(entries: &mut Map<String, Value>, merged: Value) -> bool {
    match merged {
        Value::Object(map) => {
            entries.extend(map);
            true
        }
        Value::Array(list) if list.iter().all(Value::is_object) => {
            for item in list.into_iter().rev() {
                if let Value::Object(map) = item {
                    entries.extend(map);
                }
            }
            true
        }
        _ => false,
    }
}

/// The prefix of the YAML core schema's tags (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";
const MERGE_TAG: &str = "tag:yaml.org,2002:merge";

/// What a scalar is, by go-yaml v2's resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64` (go-yaml's `uint64`).
    Uint(u64),
    Float(f64),
    /// Looks like a timestamp: a string in the value, but it satisfies `!!timestamp`.
    Timestamp,
    Str,
    /// `!!binary`: base64 to decode.
    Binary,
}

impl Scalar {
    fn tag_name(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Uint(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Timestamp => "timestamp",
            Scalar::Str => "str",
            Scalar::Binary => "binary",
        }
    }
}

/// A plain scalar's meaning under go-yaml v2's rules (YAML 1.1's booleans and integer forms).
fn resolve_plain(text: &str) -> Scalar {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Scalar::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Scalar::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => {
            if is_yaml_float(text)
                && let Ok(f) = text.parse::<f64>()
                && f.is_finite()
            {
                return Scalar::Float(f);
            }
            Scalar::Str
        }
        b'0'..=b'9' | b'+' | b'-' => resolve_number(text),
        _ => Scalar::Str,
    }
}

/// go-yaml v2 on text that starts with a digit or a sign: a timestamp, else an integer (Go's base-prefix
/// syntax, underscores dropped), else a YAML float, else a string.
fn resolve_number(text: &str) -> Scalar {
    if looks_like_timestamp(text) {
        return Scalar::Timestamp;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some((negative, magnitude)) = go_integer(&plain) {
        if negative {
            if magnitude <= i64::MAX as u64 + 1 {
                return Scalar::Int((magnitude as i64).wrapping_neg());
            }
        } else if let Ok(n) = i64::try_from(magnitude) {
            return Scalar::Int(n);
        } else if !plain.starts_with('+') {
            return Scalar::Uint(magnitude);
        }
    }
    // Go's ParseFloat reports a range error for what overflows, and go-yaml then keeps the text.
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Scalar::Float(f);
    }
    Scalar::Str
}

/// Go's `strconv.ParseUint(s, 0, 64)` after an optional sign: `0x`, `0o`, `0b` prefixes, a leading `0` for octal.
/// `None` when not an integer or beyond `u64`.
fn go_integer(text: &str) -> Option<(bool, u64)> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = digits.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .map(|n| (negative, n))
}

/// go-yaml v2's float syntax: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_digits = digits(i);
    i += int_digits;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let frac_digits = digits(i);
        if int_digits == 0 && frac_digits == 0 {
            return false;
        }
        i += frac_digits;
    } else if int_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_digits = digits(i);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == bytes.len()
}

/// go-yaml v2 tries timestamps before numbers: four digits and a `-` start one (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`).
/// Only `!!timestamp` cares: an untagged timestamp is a string either way.
fn looks_like_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-'
}

/// A float mapping key as sigs.k8s.io/yaml writes it: Go's `strconv.FormatFloat(key, 'g', -1, 32)`, with
/// `.inf`, `-.inf` and `.nan` for the special values.
fn go_float_key(value: f64) -> String {
    if value.is_nan() {
        return ".nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let single = value as f32;
    if single.is_infinite() {
        return if single > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that read back as this f32, as Go's shortest formatting does.
    let scientific = format!("{:e}", single.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` writes an exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let sign = if single.is_sign_negative() { "-" } else { "" };
    if digits == "0" {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.abs()
        );
    }
    // Positional: the decimal point `exponent + 1` digits in.
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

fn push_escaped(pointer: &mut String, key: &str) {
    if key.contains(['~', '/']) {
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(key);
    }
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(entries) => 1 + entries.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Document {
        let mut documents = parse_yaml(text, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(documents.len(), 1, "{text}");
        documents.remove(0)
    }

    fn pointers(document: &Document) -> Vec<String> {
        document
            .scalars
            .iter()
            .map(|scalar| document.pointer_of(scalar))
            .collect()
    }

    #[test]
    fn scalars_in_nested_lists_and_maps_have_their_pointers() {
        let doc = document(
            "spec:\n  containers:\n  - name: a\n    image: x\n    args: [p, q]\n  - name: b\n    env:\n    - {name: E, value: v}\n",
        );
        assert_eq!(
            pointers(&doc),
            [
                "/spec/containers/0/name",
                "/spec/containers/0/image",
                "/spec/containers/0/args/0",
                "/spec/containers/0/args/1",
                "/spec/containers/1/name",
                "/spec/containers/1/env/0/name",
                "/spec/containers/1/env/0/value",
            ]
        );
        // Each is found again by its pointer, at its line.
        for (scalar, pointer) in doc.scalars.iter().zip(pointers(&doc)) {
            assert_eq!(doc.scalar_at(&pointer), Some(scalar), "{pointer}");
        }
        assert_eq!(doc.scalar_at("/spec/containers/0/image").unwrap().line, 4);
        assert_eq!(
            doc.scalar_at("/spec/containers/1/env/0/value")
                .unwrap()
                .line,
            8
        );
        // Collections are not scalars; their line is that of their first scalar.
        assert_eq!(doc.scalar_at("/spec/containers/0"), None);
        assert_eq!(doc.line_of("/spec/containers/1"), 6);
        assert_eq!(doc.line_of("/spec/containers/0/args"), 5);
        assert_eq!(doc.line_of("/spec/missing"), doc.line);
        // Near misses: a prefix of a key, a key of the wrong level, an index past the end.
        for pointer in [
            "/spec/containers/0/imag",
            "/spec/containers/image",
            "/containers/0/image",
            "/spec/containers/2/name",
            "spec/containers/0/image",
            "",
        ] {
            assert_eq!(doc.scalar_at(pointer), None, "{pointer}");
        }
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped_as_rfc_6901_says() {
        let doc = document(
            "metadata:\n  annotations:\n    example.com/a~b: v\n    \"~\": w\n    /: x\n    ~1: y\n",
        );
        assert_eq!(
            pointers(&doc),
            [
                "/metadata/annotations/example.com~1a~0b",
                "/metadata/annotations/~0",
                "/metadata/annotations/~1",
                "/metadata/annotations/~01",
            ]
        );
        let line_of = |pointer: &str| doc.scalar_at(pointer).map(|scalar| scalar.line);
        assert_eq!(line_of("/metadata/annotations/example.com~1a~0b"), Some(3));
        assert_eq!(line_of("/metadata/annotations/~1"), Some(5));
        assert_eq!(line_of("/metadata/annotations/~01"), Some(6));
        // Unescaped, the key would be two segments (or the wrong key).
        assert_eq!(line_of("/metadata/annotations/example.com/a~b"), None);
        assert_eq!(line_of("/metadata/annotations/~"), None);
        assert_eq!(line_of("/metadata/annotations/~1a~0b"), None);
    }

    #[test]
    fn merged_and_aliased_values_have_no_positions_of_their_own() {
        let doc = document(
            "base: &base\n  image: a\n  name: n\nderived:\n  <<: *base\n  name: m\nalias: *base\ninline:\n  <<: {image: b}\nlist:\n- &item x\n- *item\n",
        );
        assert_eq!(
            pointers(&doc),
            [
                "/base/image",
                "/base/name",
                "/derived/name",
                "/inline/<</image",
                "/list/0",
            ]
        );
        assert_eq!(doc.value["derived"]["image"], "a");
        assert_eq!(doc.value["inline"]["image"], "b");
        assert_eq!(doc.value["list"][1], "x");
        // What an alias or a merge brings in is written at its anchor, not here.
        assert_eq!(doc.scalar_at("/derived/image"), None);
        assert_eq!(doc.scalar_at("/alias/image"), None);
        assert_eq!(doc.scalar_at("/list/1"), None);
        assert_eq!(doc.scalar_at("/derived/name").unwrap().line, 6);
        assert_eq!(doc.line_of("/alias"), doc.line);
        assert_eq!(doc.line_of("/inline"), 9);
    }

    #[test]
    fn a_duplicated_key_keeps_both_positions_and_the_last_is_looked_up() {
        let doc = document("image: a\nimage: b\n");
        assert_eq!(pointers(&doc), ["/image", "/image"]);
        assert_eq!(doc.value["image"], "b");
        assert_eq!(doc.scalar_at("/image").unwrap().line, 2);
        assert_eq!(doc.line_of("/image"), 1);
    }

    #[test]
    fn indexes_match_only_as_json_pointers_write_them() {
        let doc = document("l: [a, b, c, d, e, f, g, h, i, j, k]\n");
        let text_at = |pointer: &str| {
            doc.scalar_at(pointer)
                .map(|scalar| &"l: [a, b, c, d, e, f, g, h, i, j, k]\n"[scalar.span.clone()])
        };
        assert_eq!(text_at("/l/0"), Some("a"));
        assert_eq!(text_at("/l/1"), Some("b"));
        assert_eq!(text_at("/l/10"), Some("k"));
        for pointer in ["/l/00", "/l/01", "/l/+1", "/l/-1", "/l/", "/l/x", "/l/11"] {
            assert_eq!(text_at(pointer), None, "{pointer}");
        }
        // `/l/1` holds `b` only, not `k` at `/l/10`.
        let within: Vec<_> = doc.scalars_within("/l/1").map(|s| s.span.clone()).collect();
        assert_eq!(within, [doc.scalar_at("/l/1").unwrap().span.clone()]);
        assert_eq!(doc.scalars_within("/l").count(), 11);
        assert_eq!(doc.scalars_within("").count(), 11);
    }

    #[test]
    fn a_scalar_document_is_at_the_empty_pointer() {
        let doc = document("---\n  just text\n");
        assert_eq!(pointers(&doc), [""]);
        assert_eq!(doc.scalar_at("").unwrap().column, 3);
        assert_eq!(doc.scalar_at("/0"), None);
    }

    #[test]
    fn scalars_are_placed_in_the_items_of_a_list() {
        let doc = document(
            "kind: List\nitems:\n- kind: Pod\n  spec: {containers: [{image: a}]}\n- kind: Pod\n- 3\n",
        );
        let items: Vec<_> = doc
            .scalars
            .iter()
            .map(|scalar| doc.item_index_of(scalar, "/items"))
            .collect();
        assert_eq!(items, [None, Some(0), Some(0), Some(1), Some(2)]);
        assert_eq!(
            doc.item_index_of(&doc.scalars[2], "/items/0/spec/containers"),
            Some(0)
        );
        assert_eq!(doc.item_index_of(&doc.scalars[2], "/item"), None);
        // The mapping `/items/0/spec` is not a sequence: it has no items.
        assert_eq!(doc.item_index_of(&doc.scalars[2], "/items/0"), None);
    }

    #[test]
    fn documents_of_one_chunk_have_paths_of_their_own() {
        let documents = parse_yaml("a:\n  b: 1\n---\n- x\n- z: 2\n", Limits::default()).unwrap();
        assert_eq!(pointers(&documents[0]), ["/a/b"]);
        assert_eq!(pointers(&documents[1]), ["/0", "/1/z"]);
        assert_eq!(documents[1].scalar_at("/1/z").unwrap().line, 5);
        assert_eq!(documents[1].scalar_at("/a/b"), None);
    }

    #[test]
    fn split_cuts_at_every_line_that_starts_with_three_dashes() {
        let text = "a: 1\r\n---\r\nb: 2\n\n--- x\n---\n---not-a-marker: 1\n--- # a comment\nc: 3\n";
        let chunks = split_documents(text);
        let starts: Vec<_> = chunks
            .iter()
            .map(|chunk| (&text[chunk.range.clone()], chunk.first_line))
            .collect();
        assert_eq!(
            starts,
            [
                ("a: 1\r\n", 1),
                ("---\r\nb: 2\n\n", 2),
                ("--- x\n", 5),
                ("---\n", 6),
                ("---not-a-marker: 1\n", 7),
                ("--- # a comment\nc: 3\n", 8),
            ]
        );
        // kubectl's reader refuses text after the marker, other than a comment.
        for (chunk, line) in [(&chunks[2], 5), (&chunks[4], 7)] {
            let error = parse_chunk(text, chunk, Limits::default()).unwrap_err();
            assert_eq!(error.line, line);
            assert!(
                error.message.starts_with("invalid YAML document separator"),
                "{}",
                error.message
            );
        }
        assert_eq!(
            parse_chunk(text, &chunks[5], Limits::default()).unwrap()[0].value["c"],
            3
        );
    }
}

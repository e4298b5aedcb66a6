//! YAML text → `serde_json` values, with the source position of every scalar.
//!
//! Built on `saphyr-parser`'s event stream (a YAML 1.2 parser that passes the YAML test suite and gives
//! every event a span), because the values alone are not enough: reports point at the line of each image,
//! and `pin` rewrites image scalars in place, byte for byte, from the spans recorded here.
//!
//! How YAML becomes JSON here, and why (the API server and kubectl go through `sigs.k8s.io/yaml`):
//! - Plain scalars are typed by the YAML 1.2 core schema: `true`/`false`, `null`/`~`/empty, decimal,
//!   `0o` octal and `0x` hex integers, floats. `yes`, `no`, `on`, `off`, `y`, `n` are strings. The API
//!   server decodes into typed structs, where a string field keeps the text as written (`yes` stays
//!   `"yes"`); kubectl's untyped client-side decoding is YAML 1.1 and would make them booleans. No field
//!   the policy reads is a boolean written that way, so YAML 1.2 is the faithful choice for image strings.
//!   `.inf`/`.nan` have no JSON form and stay strings. Quoted and block scalars are always strings;
//!   `!!str` forces a string, other core tags are honoured, any other tag is ignored.
//! - Mapping keys are scalars, taken as the text written (`1: x` has the key `"1"`, as sigs.k8s.io/yaml
//!   does). A mapping or sequence used as a key is an error: that is what an unrendered Go template
//!   (`{{ .Values.x }}`) looks like to a YAML parser.
//! - Duplicate keys: the last one wins, as in sigs.k8s.io/yaml's YAML-to-JSON conversion that kubectl
//!   applies before sending an object, so the policy judges the value the cluster would store.
//! - Merge keys (`<<: *base`, YAML 1.1, supported by kubectl) merge the keys the mapping does not set itself.
//! - Aliases are expanded, within a budget of [`Limits::max_alias_nodes`] nodes per document (a
//!   "billion laughs" document fails with a clear error instead of exhausting memory); nesting deeper than
//!   [`Limits::max_depth`] is an error too (serde_json, which the policy uses, refuses depth > 128).
//! - A plain scalar such as `${IMAGE}` is an unsubstituted `envsubst`/Flux placeholder: an error, since
//!   the manifest as written is not what the cluster will see. `${…}` inside text with spaces (shell
//!   scripts, Grafana dashboards) is ordinary content.
//!
//! Speed: a multi-document file is split at its `---` lines (a document marker at column 0 can never be
//! document content, so the split is exact) and the documents are parsed in parallel by the caller. A
//! document in plain block style (most manifests) takes [`block_scanner`]'s fast path, which yields the same
//! events saphyr would, several times faster; any other goes through saphyr.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

use super::block_scanner;

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
    const ROOT: PathId = PathId(0);
}

/// The places of a document's nodes, as a tree: each node knows its parent and its key or index.
///
/// A document has dozens of scalars and `check` looks up a handful of them (the images of a rejected
/// object), so each scalar records one index into this tree instead of its JSON pointer as a string of
/// its own: one allocation and copy per scalar saved. Pointers are compared segment by segment against
/// the tree, and written out only when asked for.
#[derive(Debug, Clone)]
struct PathTree {
    /// Node 0 is the document's root.
    nodes: Vec<PathNode>,
    /// The keys' text (as written in the YAML, unescaped), one after another: [`Segment::Key`] ranges index
    /// into it. A document is at most a file (256 MiB), so `u32` offsets suffice.
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
    fn new() -> Self {
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

    fn add_key(&mut self, parent: PathId, key: &str) -> PathId {
        let offset = |n: usize| u32::try_from(n).expect("a document is smaller than 4 GiB");
        let start = offset(self.keys.len());
        self.keys.push_str(key);
        let end = offset(self.keys.len());
        self.add(parent, Segment::Key { start, end })
    }

    fn add_index(&mut self, parent: PathId, index: usize) -> PathId {
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
    paths: PathTree,
}

impl Document {
    /// The JSON pointer (RFC 6901) of a scalar of this document within it, e.g. `/spec/containers/0/image`.
    pub fn pointer_of(&self, scalar: &ScalarPosition) -> String {
        self.paths.pointer(scalar.path)
    }

    /// The position of the scalar at `pointer` (the last one written there, as in the value).
    pub fn scalar_at(&self, pointer: &str) -> Option<&ScalarPosition> {
        let segments = pointer_segments(pointer)?;
        self.scalars
            .iter()
            .rev()
            .find(|scalar| self.paths.is_at(scalar.path, &segments))
    }

    /// The scalars at `pointer` or inside the node there, in document order.
    pub fn scalars_within<'d>(
        &'d self,
        pointer: &'d str,
    ) -> impl Iterator<Item = &'d ScalarPosition> + 'd {
        let segments = pointer_segments(pointer);
        self.scalars.iter().filter(move |scalar| {
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
}

/// Splits a file at its document markers (`---` at column 0 followed by a blank or the end), each
/// chunk starting with its marker line. A YAML stream with directives (`%YAML`, `%TAG`), which apply to
/// the document that follows, is kept whole: those are rare and splitting would detach them.
pub fn split_documents(text: &str) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    let has_directives =
        bytes.first() == Some(&b'%') || memchr::memmem::find(bytes, b"\n%").is_some();
    if has_directives {
        return vec![Chunk {
            range: 0..text.len(),
            first_line: 1,
        }];
    }
    let mut chunks = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_first_line = 1;
    // Every line that starts with `---` follows a newline: a (SIMD) substring search finds the
    // candidates, since this runs over the whole input before any parallel work starts.
    for newline in memchr::memmem::find_iter(bytes, b"\n---") {
        let line_start = newline + 1;
        if is_document_marker(&bytes[line_start..]) {
            chunks.push(Chunk {
                range: chunk_start..line_start,
                first_line: chunk_first_line,
            });
            chunk_first_line += count_newlines(&bytes[chunk_start..line_start]);
            chunk_start = line_start;
        }
    }
    chunks.push(Chunk {
        range: chunk_start..text.len(),
        first_line: chunk_first_line,
    });
    chunks
}

fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

pub(super) fn is_document_marker(line: &[u8]) -> bool {
    line.starts_with(b"---") && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Parses every document of `text` in one pass (no splitting).
pub fn parse_all(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    parse_chunk(
        text,
        &Chunk {
            range: 0..text.len(),
            first_line: 1,
        },
        limits,
    )
}

/// Parses the documents of one chunk of `file_text`; positions are relative to the whole file.
pub fn parse_chunk(
    file_text: &str,
    chunk: &Chunk,
    limits: Limits,
) -> Result<Vec<Document>, YamlError> {
    let source = &file_text[chunk.range.clone()];
    let mut locator = Locator::new(source, chunk);
    let mut repairs: HashMap<usize, usize> = HashMap::new();
    loop {
        let repaired;
        let input = if repairs.is_empty() {
            source
        } else {
            repaired = indent_lines(source, &repairs);
            repaired.as_str()
        };
        match Builder::new(&locator, limits).run(input) {
            Ok(documents) => return Ok(documents),
            Err(BuildError::Content(error)) => return Err(error),
            Err(BuildError::Scan {
                error,
                in_flow_since,
            }) => {
                // saphyr-parser (0.3.4 at least) rejects a flow collection whose later lines are indented
                // less than the enclosing block, such as a closing `]` under its key. libyaml, go-yaml and
                // so kubectl accept it, and real manifests are written so (Tekton's release); an upstream
                // fix is pending (saphyr-rs/saphyr#101, #108). Re-parse with that line indented past the
                // collection's opening bracket; positions are mapped back to the text as written.
                let mark = *error.marker();
                let repairable = error.info().starts_with("invalid indentation")
                    && repairs.len() < MAX_FLOW_INDENT_REPAIRS
                    && !repairs.contains_key(&mark.line());
                match in_flow_since {
                    Some(open) if repairable && open.line() < mark.line() => {
                        let spaces = (open.col() + 1).saturating_sub(mark.col()).max(1);
                        repairs.insert(mark.line(), spaces);
                        locator.set_column_shifts(&repairs);
                    }
                    _ => return Err(locator.syntax_error_at(mark, error.info().to_string())),
                }
            }
        }
    }
}

/// Each repair re-parses the chunk; real files need one or two per document.
const MAX_FLOW_INDENT_REPAIRS: usize = 100;

/// `source` with `spaces[line]` spaces inserted at the start of those (1-based) lines.
fn indent_lines(source: &str, spaces: &HashMap<usize, usize>) -> String {
    let mut out = String::with_capacity(source.len() + spaces.values().sum::<usize>());
    for (index, line) in source.split_inclusive('\n').enumerate() {
        if let Some(&count) = spaces.get(&(index + 1)) {
            out.extend(std::iter::repeat_n(' ', count));
        }
        out.push_str(line);
    }
    out
}

/// Turns parser markers (character index, chunk-relative line, column in characters) into file positions.
struct Locator<'a> {
    source: &'a str,
    /// Byte offset of each line start in `source`; built only when character and byte offsets differ
    /// (non-ASCII text) or lines were re-indented.
    line_starts: Option<Vec<usize>>,
    chunk_start: usize,
    first_line: usize,
    /// Spaces inserted at the start of chunk lines (see `parse_chunk`), by 1-based chunk line.
    column_shifts: HashMap<usize, usize>,
}

impl<'a> Locator<'a> {
    fn new(source: &'a str, chunk: &Chunk) -> Self {
        Locator {
            source,
            line_starts: (!source.is_ascii()).then(|| line_starts(source)),
            chunk_start: chunk.range.start,
            first_line: chunk.first_line,
            column_shifts: HashMap::new(),
        }
    }

    fn set_column_shifts(&mut self, shifts: &HashMap<usize, usize>) {
        if self.line_starts.is_none() {
            self.line_starts = Some(line_starts(self.source));
        }
        self.column_shifts = shifts.clone();
    }

    /// (file line, 1-based column, file byte offset) of a marker.
    fn locate(&self, mark: Marker) -> (usize, usize, usize) {
        let line = self.first_line + mark.line() - 1;
        let Some(line_starts) = &self.line_starts else {
            // ASCII and unchanged: characters are bytes.
            return (line, mark.col() + 1, self.chunk_start + mark.index());
        };
        let shift = self.column_shifts.get(&mark.line()).copied().unwrap_or(0);
        let column = mark.col().saturating_sub(shift);
        let line_start = line_starts
            .get(mark.line() - 1)
            .copied()
            .unwrap_or(self.source.len());
        let rest = &self.source[line_start..];
        let byte_in_line = rest
            .char_indices()
            .nth(column)
            .map_or(rest.len(), |(i, _)| i);
        (
            line,
            column + 1,
            self.chunk_start + line_start + byte_in_line,
        )
    }

    fn error_at(&self, mark: Marker, message: String) -> YamlError {
        let (line, column, _) = self.locate(mark);
        YamlError {
            message,
            line,
            column,
            is_syntax: false,
        }
    }

    fn syntax_error_at(&self, mark: Marker, message: String) -> YamlError {
        YamlError {
            is_syntax: true,
            ..self.error_at(mark, message)
        }
    }
}

fn line_starts(source: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        source
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

enum BuildError {
    /// The parser's own error, with the start of the innermost open flow collection if any.
    Scan {
        error: ScanError,
        in_flow_since: Option<Marker>,
    },
    /// A document that is valid YAML but cannot become JSON (or exceeds a limit).
    Content(YamlError),
}

/// A collection being built.
enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        path: PathId,
        /// Start of a flow sequence (`[`); `None` for a block one.
        flow_start: Option<Marker>,
    },
    Mapping {
        entries: Map<String, Value>,
        anchor: usize,
        path: PathId,
        flow_start: Option<Marker>,
        /// The key whose value comes next.
        key: Option<String>,
        /// Mappings merged with `<<`, applied when the mapping ends.
        merges: Vec<Map<String, Value>>,
    },
}

struct Builder<'l, 'a> {
    locator: &'l Locator<'a>,
    limits: Limits,
    documents: Vec<Document>,
    stack: Vec<Frame>,
    /// The places of the current document's nodes.
    paths: PathTree,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    root: Option<Value>,
    document_line: Option<usize>,
    scalars: Vec<ScalarPosition>,
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
        }
    }

    fn run(mut self, input: &str) -> Result<Vec<Document>, BuildError> {
        if let Some(events) = block_scanner::events(input) {
            for (event, span) in events {
                self.on_event(event, span).map_err(BuildError::Content)?;
            }
            return Ok(self.documents);
        }
        for event in Parser::new_from_str(input) {
            let (event, span) = event.map_err(|error| {
                let error = if error.info() == "recursion limit exceeded" {
                    // The parser's own bound on nesting.
                    ScanError::new(
                        *error.marker(),
                        "nesting too deep (the YAML parser's recursion limit)".to_owned(),
                    )
                } else {
                    error
                };
                BuildError::Scan {
                    error,
                    in_flow_since: self.innermost_flow(),
                }
            })?;
            self.on_event(event, span).map_err(BuildError::Content)?;
        }
        Ok(self.documents)
    }

    fn innermost_flow(&self) -> Option<Marker> {
        self.stack.iter().rev().find_map(|frame| match frame {
            Frame::Sequence { flow_start, .. } | Frame::Mapping { flow_start, .. } => *flow_start,
        })
    }

    fn error(&self, mark: Marker, message: impl Into<String>) -> YamlError {
        self.locator.error_at(mark, message.into())
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.alias_nodes = 0;
                self.root = None;
                self.document_line = None;
                self.paths = PathTree::new();
            }
            Event::DocumentEnd => {
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
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.awaiting_key() {
                    self.set_key(text.into_owned());
                } else {
                    self.note_document_start(span.start);
                    let path = self.open_path();
                    self.record_scalar(path, &text, style, span, anchor != 0 || tag.is_some());
                    let value = self.scalar_value(text, style, tag.as_deref(), span)?;
                    self.finish_node(value, anchor, span.start)?;
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let is_mapping = matches!(event, Event::MappingStart(..));
                if self.awaiting_key() {
                    return Err(self.locator.syntax_error_at(
                        span.start,
                        "a mapping key is itself a mapping or sequence; Kubernetes objects have string keys"
                            .to_owned(),
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.error(
                        span.start,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                    ));
                }
                self.note_document_start(span.start);
                let path = self.open_path();
                // A flow collection's start event spans its bracket; a block collection's is empty.
                let flow_start = (span.end.index() > span.start.index()).then_some(span.start);
                self.stack.push(if is_mapping {
                    Frame::Mapping {
                        entries: Map::new(),
                        anchor,
                        path,
                        flow_start,
                        key: None,
                        merges: Vec::new(),
                    }
                } else {
                    Frame::Sequence {
                        items: Vec::new(),
                        anchor,
                        path,
                        flow_start,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self
                    .stack
                    .pop()
                    .expect("the parser balances collection events");
                let (value, anchor) = match frame {
                    Frame::Sequence { items, anchor, .. } => (Value::Array(items), anchor),
                    Frame::Mapping {
                        mut entries,
                        anchor,
                        merges,
                        ..
                    } => {
                        for merged in merges {
                            for (key, value) in merged {
                                entries.entry(key).or_insert(value);
                            }
                        }
                        (Value::Object(entries), anchor)
                    }
                };
                self.finish_node(value, anchor, span.start)?;
            }
            Event::Alias(anchor) => {
                if self.awaiting_key() {
                    return Err(self.error(
                        span.start,
                        "an alias used as a mapping key is not supported",
                    ));
                }
                let Some((value, nodes)) = self.anchors.get(&anchor) else {
                    return Err(self.error(span.start, "alias to an unknown anchor"));
                };
                let (value, nodes) = (value.clone(), *nodes);
                self.alias_nodes += nodes;
                if self.alias_nodes > self.limits.max_alias_nodes {
                    return Err(self.error(
                        span.start,
                        format!(
                            "aliases expand to more than {} nodes in this document (an alias bomb, \"billion laughs\"?)",
                            self.limits.max_alias_nodes
                        ),
                    ));
                }
                self.note_document_start(span.start);
                self.finish_node(value, 0, span.start)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn note_document_start(&mut self, mark: Marker) {
        if self.stack.is_empty() && self.document_line.is_none() {
            self.document_line = Some(self.locator.locate(mark).0);
        }
    }

    fn set_key(&mut self, key: String) {
        if let Some(Frame::Mapping { key: slot, .. }) = self.stack.last_mut() {
            *slot = Some(key);
        }
    }

    /// Adds the place of the node that starts now to the document's paths: in the innermost open
    /// collection, by its key or index, or the root.
    fn open_path(&mut self) -> PathId {
        match self.stack.last() {
            Some(Frame::Mapping {
                key: Some(key),
                path,
                ..
            }) => self.paths.add_key(*path, key),
            Some(Frame::Sequence { items, path, .. }) => self.paths.add_index(*path, items.len()),
            _ => PathId::ROOT,
        }
    }

    fn record_scalar(
        &mut self,
        path: PathId,
        text: &str,
        style: ScalarStyle,
        span: Span,
        has_properties: bool,
    ) {
        let is_block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        // An empty block scalar's start marker depends on what follows it (the end of the chunk or
        // the next document): place it where its (empty) content ends, the same either way.
        let start_mark = if is_block && text.is_empty() {
            span.end
        } else {
            span.start
        };
        let (line, column, start) = self.locator.locate(start_mark);
        let (_, _, end) = self.locator.locate(span.end);
        let (line, column, start) = if has_properties {
            self.skip_properties(line, column, start, end)
        } else {
            (line, column, start)
        };
        let end = self.scalar_end(text, style, start, end);
        self.scalars.push(ScalarPosition {
            path,
            line,
            column,
            span: start..end,
            style: match style {
                ScalarStyle::Plain => Style::Plain,
                ScalarStyle::SingleQuoted => Style::SingleQuoted,
                ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                ScalarStyle::Literal => Style::Literal,
                ScalarStyle::Folded => Style::Folded,
            },
        });
    }

    /// The end of a scalar as written. The parser's end marker can lie past blanks that follow the
    /// scalar (`[ "a" ]`) and, for an empty plain scalar, on a later token; quoted scalars are cut at
    /// their closing quote and plain ones trimmed, so the span is exactly the scalar.
    fn scalar_end(&self, text: &str, style: ScalarStyle, start: usize, end: usize) -> usize {
        let chunk_start = self.locator.chunk_start;
        let written = &self.locator.source.as_bytes()[start - chunk_start..end - chunk_start];
        match style {
            ScalarStyle::Plain if text.is_empty() => start,
            ScalarStyle::Plain => {
                start + written.len()
                    - written
                        .iter()
                        .rev()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count()
            }
            ScalarStyle::SingleQuoted => {
                // `''` is an escaped quote; the first lone `'` after the opening one closes.
                let mut i = 1;
                while i < written.len() {
                    if written[i] == b'\'' {
                        if written.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return start + i + 1;
                    }
                    i += 1;
                }
                end
            }
            ScalarStyle::DoubleQuoted => {
                let mut i = 1;
                while i < written.len() {
                    match written[i] {
                        b'\\' => i += 2,
                        b'"' => return start + i + 1,
                        _ => i += 1,
                    }
                }
                end
            }
            ScalarStyle::Literal | ScalarStyle::Folded => end,
        }
    }

    /// A scalar's span starts at its anchor or tag (`&a !!str value`): move past them to the value.
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

    /// The JSON value of a scalar (moving the parser's text when it already owns it: no copy).
    fn scalar_value(
        &self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value, YamlError> {
        let string = |text: Cow<'_, str>| Ok(Value::String(text.into_owned()));
        if let Some(tag) = tag {
            if tag.is_yaml_core_schema() {
                return match tag.suffix.as_str() {
                    "null" | "bool" | "int" | "float" => match plain_value(&text) {
                        Some(value) if core_tag_accepts(&tag.suffix, &value) => Ok(value),
                        _ => Err(self.error(
                            span.start,
                            format!("`{text}` is not a valid !!{}", tag.suffix),
                        )),
                    },
                    // `!!str`, `!!binary`, `!!timestamp`, and others: the text.
                    _ => string(text),
                };
            }
            if tag.handle.is_empty() && tag.suffix == "!" {
                // The non-specific tag `!`: a string.
                return string(text);
            }
        }
        if style != ScalarStyle::Plain {
            return string(text);
        }
        if let Some(placeholder) = envsubst_placeholder(&text) {
            return Err(self.error(
                span.start,
                format!(
                    "unsubstituted template placeholder `{placeholder}`: render the manifest first \
                     (envsubst, `flux build`, …) and check the output"
                ),
            ));
        }
        match plain_value(&text) {
            Some(value) => Ok(value),
            None => string(text),
        }
    }

    /// Places a finished node in its parent (or as the document root).
    fn finish_node(&mut self, value: Value, anchor: usize, mark: Marker) -> Result<(), YamlError> {
        if anchor != 0 {
            let nodes = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping {
                entries,
                key,
                merges,
                ..
            }) => {
                let key = key.take().expect("a value follows its key");
                if key == "<<" {
                    match value {
                        Value::Object(map) => merges.push(map),
                        Value::Array(list) if list.iter().all(Value::is_object) => {
                            merges.extend(list.into_iter().filter_map(|v| match v {
                                Value::Object(map) => Some(map),
                                _ => None,
                            }));
                        }
                        _ => {
                            return Err(self.error(
                                mark,
                                "a merge key `<<` takes a mapping or a list of mappings",
                            ));
                        }
                    }
                } else {
                    entries.insert(key, value);
                }
            }
        }
        Ok(())
    }
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

fn core_tag_accepts(suffix: &str, value: &Value) -> bool {
    match suffix {
        "null" => value.is_null(),
        "bool" => value.is_boolean(),
        "int" => value.is_i64() || value.is_u64(),
        "float" => value.is_number(),
        _ => false,
    }
}

/// A plain scalar's JSON value under the YAML 1.2 core schema, or `None` for a string.
pub fn plain_value(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return integer_from_radix(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return integer_from_radix(hex, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Some(Value::Number(n.into()));
        }
        if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
            return Some(Value::Number(n.into()));
        }
        // Too large for an integer: a float, as sigs.k8s.io/yaml's JSON conversion makes it.
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    if is_core_float(digits) {
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

fn integer_from_radix(digits: &str, radix: u32) -> Option<Value> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .map(|n| Value::Number(n.into()))
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` (sign already stripped).
fn is_core_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let int_digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == bytes.len()
}

/// `${NAME}` in a plain scalar without whitespace (`${IMAGE}`, `${REGISTRY}/app:${TAG}`).
fn envsubst_placeholder(text: &str) -> Option<&str> {
    // Most scalars hold no `$`: a one-byte search settles them before the substring search.
    if !text.contains('$') || !text.contains("${") || text.contains(char::is_whitespace) {
        return None;
    }
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if is_name {
            return Some(&rest[start..start + 2 + end + 1]);
        }
        rest = &after[end..];
    }
    None
}

/// Parses text that must hold at most one YAML (or JSON) document: settings, metadata, digest maps.
/// Empty text is `null`.
pub fn parse_single(text: &str) -> Result<Value, YamlError> {
    let mut documents = parse_all(text, Limits::default())?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0).value),
        _ => Err(YamlError {
            message: "expected one YAML document, found several".to_owned(),
            line: documents[1].line,
            column: 1,
            is_syntax: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Document {
        let mut documents = parse_all(text, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
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
        let doc = document("--- just text\n");
        assert_eq!(pointers(&doc), [""]);
        assert_eq!(doc.scalar_at("").unwrap().column, 5);
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
        let documents = parse_all("a:\n  b: 1\n---\n- x\n- y: 2\n", Limits::default()).unwrap();
        assert_eq!(pointers(&documents[0]), ["/a/b"]);
        assert_eq!(pointers(&documents[1]), ["/0", "/1/y"]);
        assert_eq!(documents[1].scalar_at("/1/y").unwrap().line, 5);
        assert_eq!(documents[1].scalar_at("/a/b"), None);
    }

    #[test]
    fn split_counts_lines_between_markers() {
        let text = "a: 1\r\n---\r\nb: 2\n\n--- x\n---\n---not-a-marker: 1\n";
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
                ("---\n---not-a-marker: 1\n", 6),
            ]
        );
    }
}

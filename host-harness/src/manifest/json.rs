//! JSON manifests → the same [`Document`]s as YAML ones, read as kubectl reads them: with a JSON parser.
//!
//! kubectl (apimachinery's `YAMLOrJSONDecoder`) takes a file whose first non-blank character is `{` for a stream of
//! JSON values and decodes it with Go's JSON decoder, not as YAML. The two differ where it matters to real files:
//! JSON's `\ud83d\ude00` surrogate pairs (what Python's `json.dumps` writes for non-ASCII text) are not YAML
//! escapes, and a YAML reader would refuse the whole file. So the values come from serde_json (duplicate keys: the
//! last wins, as in Go), and this module only walks the text serde_json has already accepted to record where each
//! scalar is, for reports and `pin`. When the JSON stream breaks off early, kubectl reads the rest as YAML
//! ([`super::parse_all`] and [`super::parse_chunk`] do that with what [`JsonStreamError`] says).

use serde_json::Value;

use super::yaml::{Document, Limits, PathId, PathTree, ScalarPosition, Style, YamlError};

/// kubectl looks at the first 4096 bytes for the `{`.
const SNIFF_BYTES: usize = 4096;

/// Whether kubectl would read `text` as JSON: its first non-blank character, within the first 4096 bytes, is `{`.
pub fn looks_like_json(text: &str) -> bool {
    let mut end = text.len().min(SNIFF_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim_start().starts_with('{')
}

/// A JSON stream that is not JSON all through.
#[derive(Debug)]
pub struct JsonStreamError {
    pub error: YamlError,
    /// The documents read before the error, and where the last of them ends.
    pub documents: Vec<Document>,
    pub values_read: usize,
    pub good_end: usize,
}

/// Parses a stream of JSON values (one or more, blank-separated); positions are those of `text`.
pub fn parse_stream(text: &str, limits: Limits) -> Result<Vec<Document>, JsonStreamError> {
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut lines = LineCounter::default();
    let mut values_read = 0;
    loop {
        let start = stream.byte_offset();
        let value = match stream.next() {
            None => return Ok(documents),
            Some(Ok(value)) => value,
            Some(Err(error)) => {
                return Err(JsonStreamError {
                    error: YamlError {
                        message: format!("invalid JSON: {}", strip_position(&error)),
                        line: error.line(),
                        column: error.column(),
                        is_syntax: true,
                    },
                    documents,
                    values_read,
                    good_end: start,
                });
            }
        };
        values_read += 1;
        let mut walker = Walker {
            text,
            position: start,
            lines: &mut lines,
            paths: PathTree::new(),
            scalars: Vec::new(),
            depth: 0,
            max_depth: limits.max_depth,
        };
        walker.skip_blanks();
        let line = walker.lines.line_of(text, walker.position);
        if let Err(error) = walker.node(PathId::ROOT) {
            return Err(JsonStreamError {
                error,
                documents,
                values_read,
                good_end: start,
            });
        }
        // kubectl skips a `null` document, as an empty YAML one.
        if !value.is_null() {
            documents.push(Document {
                value,
                line,
                scalars: walker.scalars,
                paths: walker.paths,
                pointer: String::new(),
            });
        }
    }
}

/// serde_json's message without its own " at line L column C" (the error carries them apart).
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// Line and column of byte offsets visited in increasing order, in time linear in the text (a one-line JSON
/// file of megabytes is common: counting from the line's start for every scalar would be quadratic).
#[derive(Default)]
pub(super) struct LineCounter {
    /// The last offset located, its 1-based line and 0-based column in characters.
    offset: usize,
    line: usize,
    column: usize,
}

impl LineCounter {
    pub(super) fn advance(&mut self, text: &str, offset: usize) -> (usize, usize) {
        if self.line == 0 {
            self.line = 1;
        }
        let passed = &text[self.offset..offset];
        match memchr::memrchr(b'\n', passed.as_bytes()) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', passed.as_bytes()).count();
                self.column = passed[last + 1..].chars().count();
            }
            None => self.column += passed.chars().count(),
        }
        self.offset = offset;
        (self.line, self.column + 1)
    }

    fn line_of(&mut self, text: &str, offset: usize) -> usize {
        self.advance(text, offset).0
    }
}

/// Reads one item of a JSON List on its own (see [`super::lists`]): the value at `range` of `text`, which starts at
/// `line` and `column`, placed at `/items/{index}` of its List.
pub(super) fn parse_list_item(
    text: &str,
    range: std::ops::Range<usize>,
    (line, column): (usize, usize),
    index: usize,
    limits: Limits,
) -> Result<Document, YamlError> {
    let value: Value = serde_json::from_str(&text[range.clone()]).map_err(|error| YamlError {
        message: format!("invalid JSON: {}", strip_position(&error)),
        line,
        column,
        is_syntax: true,
    })?;
    let mut paths = PathTree::new();
    let items = paths.add_key(PathId::ROOT, "items");
    let item = paths.add_index(items, index);
    let mut lines = LineCounter {
        offset: range.start,
        line,
        column: column - 1,
    };
    let mut walker = Walker {
        text,
        position: range.start,
        lines: &mut lines,
        paths,
        scalars: Vec::new(),
        // The List's object and its `items` array hold the item, as in the whole read.
        depth: 2,
        max_depth: limits.max_depth,
    };
    walker.node(item)?;
    Ok(Document {
        value,
        line,
        scalars: walker.scalars,
        paths: walker.paths,
        pointer: format!("/items/{index}"),
    })
}

/// Walks one JSON value that serde_json accepted, recording its scalars' positions and places.
struct Walker<'t, 'l> {
    text: &'t str,
    position: usize,
    lines: &'l mut LineCounter,
    paths: PathTree,
    scalars: Vec<ScalarPosition>,
    depth: usize,
    max_depth: usize,
}

impl Walker<'_, '_> {
    fn peek(&self) -> u8 {
        self.text.as_bytes()[self.position]
    }

    fn skip_blanks(&mut self) {
        while matches!(
            self.text.as_bytes().get(self.position),
            Some(b' ' | b'\t' | b'\r' | b'\n')
        ) {
            self.position += 1;
        }
    }

    fn node(&mut self, path: PathId) -> Result<(), YamlError> {
        match self.peek() {
            b'{' | b'[' => self.collection(path),
            b'"' => {
                let end = self.string_end(self.position);
                self.record(path, end, Style::DoubleQuoted);
                Ok(())
            }
            _ => {
                let end = self.position
                    + self.text.as_bytes()[self.position..]
                        .iter()
                        .take_while(|b| {
                            !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                        })
                        .count();
                self.record(path, end, Style::Plain);
                Ok(())
            }
        }
    }

    fn collection(&mut self, path: PathId) -> Result<(), YamlError> {
        let is_object = self.peek() == b'{';
        self.depth += 1;
        if self.depth > self.max_depth {
            let (line, column) = self.lines.advance(self.text, self.position);
            return Err(YamlError {
                message: format!("nesting deeper than {} levels", self.max_depth),
                line,
                column,
                is_syntax: false,
            });
        }
        self.position += 1;
        self.skip_blanks();
        let mut index = 0;
        while !matches!(self.peek(), b'}' | b']') {
            let child = if is_object {
                let key_end = self.string_end(self.position);
                let key = self.key(self.position, key_end);
                self.position = key_end;
                self.skip_blanks();
                self.position += 1; // ':'
                self.skip_blanks();
                self.paths.add_key(path, &key)
            } else {
                self.paths.add_index(path, index)
            };
            self.node(child)?;
            index += 1;
            self.skip_blanks();
            if self.peek() == b',' {
                self.position += 1;
                self.skip_blanks();
            }
        }
        self.position += 1;
        self.depth -= 1;
        Ok(())
    }

    /// The offset just past the string that starts (with its `"`) at `start`.
    fn string_end(&self, start: usize) -> usize {
        let mut i = start + 1;
        loop {
            match self.text.as_bytes()[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
    }

    fn key(&self, start: usize, end: usize) -> String {
        let written = &self.text[start..end];
        if written.contains('\\') {
            serde_json::from_str(written).expect("serde_json accepted this string")
        } else {
            written[1..written.len() - 1].to_owned()
        }
    }

    fn record(&mut self, path: PathId, end: usize, style: Style) {
        let start = self.position;
        let (line, column) = self.lines.advance(self.text, start);
        self.scalars.push(ScalarPosition {
            path,
            line,
            column,
            span: start..end,
            style,
        });
        self.position = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_pairs_and_positions() {
        let text = "{\"a\": \"\\ud83d\\ude00\",\n \"b\": [1, {\"c\": \"x\"}]}\n{\"d\": null}\n";
        let documents = parse_stream(text, Limits::default()).unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[0].value["a"], "😀");
        let c = documents[0].scalar_at("/b/1/c").unwrap();
        assert_eq!((c.line, c.column), (2, 17));
        assert_eq!(&text[c.span.clone()], "\"x\"");
        assert_eq!(documents[1].line, 3);
        assert_eq!(documents[1].scalar_at("/d").unwrap().line, 3);
    }

    #[test]
    fn a_json_error_has_its_position() {
        let error = parse_stream("{\"a\": 1,\n }", Limits::default())
            .unwrap_err()
            .error;
        assert_eq!(error.line, 2);
        assert!(
            error.message.starts_with("invalid JSON: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn only_a_brace_makes_a_file_json() {
        assert!(looks_like_json("\n  {\"kind\": \"Pod\"}"));
        assert!(!looks_like_json("kind: Pod\n"));
        assert!(!looks_like_json("[1, 2]"));
    }
}

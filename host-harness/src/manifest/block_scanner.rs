//! A fast path for the plain block-style YAML that Kubernetes manifests are nearly always written in.
//!
//! [`events`] gives exactly the events and spans `saphyr-parser` gives for the same text, or declines
//! (`None`) and the caller parses with saphyr. Why: saphyr works character by character through a token
//! queue and was half of `check`'s CPU; this subset is scanned line by line (`check` on the 10 000-document
//! corpus file: 1.25 s → 0.85 s of CPU). The two are compared event for event, spans included, on every
//! document of the repository's fixtures and the benchmark corpus and on tens of thousands of mutations of
//! them (the tests at the end of this file), so a document that takes this path is read exactly as before.
//!
//! Declined, so left to saphyr: non-ASCII text, tabs, carriage returns, anchors, aliases, tags,
//! directives, `...`, explicit (`?`) keys, folded (`>`) scalars and block scalars with an indentation
//! indicator, scalars written over several lines (plain or quoted), flow collections that span lines,
//! nest, or hold anything but simple scalars, empty sequence items, and anything that is not valid YAML.
//! Declining is always safe: it only costs speed.

use std::borrow::Cow;

use saphyr_parser::{Event, Marker, ScalarStyle, Span};

use super::yaml::is_document_marker;

/// The events of `source` (one chunk of a file), or `None` when it is outside the subset scanned here.
pub(crate) fn events(source: &str) -> Option<Vec<(Event<'_>, Span)>> {
    let bytes = source.as_bytes();
    // Columns and indexes are counted in characters by saphyr: bytes only for ASCII.
    if !source.is_ascii() || memchr::memchr2(b'\t', b'\r', bytes).is_some() {
        return None;
    }
    let mut scanner = Scanner {
        src: source,
        bytes,
        pos: 0,
        line: 1,
        line_start: 0,
        indent: None,
        depth: 0,
        events: Vec::with_capacity(bytes.len() / 12),
    };
    scanner.stream()?;
    Some(scanner.events)
}

/// Not in the subset: the caller parses with saphyr instead.
type Scan<T = ()> = Option<T>;

/// Collections nested deeper than this are left to saphyr, which bounds its own recursion: the scanner recurses once
/// per level, and a hostile file can nest thousands of levels. (The builder refuses anything past
/// [`Limits::max_depth`](super::yaml::Limits), 128 levels, whichever parser gave the events.)
const MAX_DEPTH: usize = 128;

struct Scanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    /// The byte (= character) offset of the next token.
    pos: usize,
    /// The 1-based line of `pos`, and the offset that line starts at.
    line: usize,
    line_start: usize,
    /// The column of the token at `pos` when it is the first on its line; `None` at the end of the text.
    indent: Option<usize>,
    /// Open block collections.
    depth: usize,
    events: Vec<(Event<'a>, Span)>,
}

impl<'a> Scanner<'a> {
    fn stream(&mut self) -> Scan {
        let start = Marker::new(0, 1, 0);
        self.events
            .push((Event::StreamStart, Span::new(start, start)));
        self.skip_to_content();
        if self.indent == Some(0) && is_document_marker(&self.bytes[self.pos..]) {
            let marker = self.mark();
            self.pos += 3;
            self.events
                .push((Event::DocumentStart(true), Span::new(marker, self.mark())));
            self.end_line()?;
            if self.indent.is_none() {
                // `---` and nothing else: a document holding one empty (null) scalar.
                let end = self.end_mark()?;
                self.push_at(
                    Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
                    end,
                );
                self.push_at(Event::DocumentEnd, end);
                self.push_at(Event::StreamEnd, end);
                return Some(());
            }
        } else if let Some(indent) = self.indent {
            if indent != 0 {
                return None;
            }
            let here = self.mark();
            self.push_at(Event::DocumentStart(false), here);
        } else {
            let end = self.end_mark()?;
            self.push_at(Event::StreamEnd, end);
            return Some(());
        }
        let indent = self.indent?;
        if self.at_sequence_entry() {
            self.block_sequence(indent, false)?;
        } else {
            self.block_mapping(indent)?;
        }
        // One document per chunk: anything after its root (a second document, `...`) is left to saphyr.
        if self.indent.is_some() {
            return None;
        }
        let end = self.end_mark()?;
        self.push_at(Event::DocumentEnd, end);
        self.push_at(Event::StreamEnd, end);
        Some(())
    }

    /// A block mapping whose keys sit at column `indent`; the first key is at `pos`.
    fn block_mapping(&mut self, indent: usize) -> Scan {
        self.enter()?;
        let start = self.mark();
        self.push_at(Event::MappingStart(0, None), start);
        loop {
            self.key()?;
            self.mapping_value(indent)?;
            match self.indent {
                None => break,
                Some(next) if next < indent => break,
                Some(next) if next > indent => return None,
                Some(_) if self.at_sequence_entry() => return None,
                Some(_) => {}
            }
        }
        let end = self.here_or_end()?;
        self.push_at(Event::MappingEnd, end);
        self.depth -= 1;
        Some(())
    }

    fn enter(&mut self) -> Scan {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// A mapping key at `pos` (plain or quoted, on one line) and its `:`.
    fn key(&mut self) -> Scan {
        let start = self.pos;
        let colon = self.key_colon(start)?;
        let event = match self.bytes[start] {
            b'"' | b'\'' => self.quoted_scalar()?,
            _ => {
                self.pos = colon;
                Event::Scalar(
                    Cow::Borrowed(&self.src[start..colon]),
                    ScalarStyle::Plain,
                    0,
                    None,
                )
            }
        };
        if self.pos != colon {
            return None;
        }
        let span = Span::new(self.mark_at(start), self.mark());
        self.events.push((event, span));
        self.pos = colon + 1;
        Some(())
    }

    /// Where the `:` of the key starting at `start` is, when the line from `start` is a `key: …` entry.
    fn key_colon(&self, start: usize) -> Scan<usize> {
        let bytes = self.bytes;
        // `--- a: b` or `... a: b` at the start of a line: a document marker, not a key.
        if start == self.line_start && is_marker_line(&bytes[start..]) {
            return None;
        }
        match bytes[start] {
            b'"' => {
                let close = start + 1 + closing_double_quote(&bytes[start + 1..])?;
                self.colon_at(close + 1)
            }
            b'\'' => {
                let close = start + 1 + closing_single_quote(&bytes[start + 1..])?;
                self.colon_at(close + 1)
            }
            first if starts_plain_scalar(first, bytes.get(start + 1).copied()) => {
                let mut i = start + 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\n' => return None,
                        b'#' if bytes[i - 1] == b' ' => return None,
                        // `key :` is left to saphyr, as is a key with a `: ` it cannot have.
                        b':' if is_blank_or_end(bytes.get(i + 1).copied()) => {
                            return (bytes[i - 1] != b' ').then_some(i);
                        }
                        _ => i += 1,
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn colon_at(&self, at: usize) -> Scan<usize> {
        (self.bytes.get(at) == Some(&b':') && is_blank_or_end(self.bytes.get(at + 1).copied()))
            .then_some(at)
    }

    /// What follows a key's `:` (at `pos`), for a mapping whose keys are at column `indent`.
    fn mapping_value(&mut self, indent: usize) -> Scan {
        let colon = self.mark_at(self.pos - 1);
        self.skip_spaces();
        if self.at_line_end() {
            self.end_line()?;
            match self.indent {
                Some(next) if next > indent => {
                    if self.at_sequence_entry() {
                        self.block_sequence(next, false)
                    } else {
                        self.block_mapping(next)
                    }
                }
                Some(next) if next == indent && self.at_sequence_entry() => {
                    self.block_sequence(next, true)
                }
                // No value: null, placed at the key's `:`.
                _ => {
                    self.push_at(
                        Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
                        colon,
                    );
                    Some(())
                }
            }
        } else {
            self.inline_node(indent)
        }
    }

    /// A block sequence whose `-` entries sit at column `indent`; the first `-` is at `pos`. An indentless
    /// sequence (`key:` then `- item` at the key's own column) starts where its first item does.
    fn block_sequence(&mut self, indent: usize, indentless: bool) -> Scan {
        self.enter()?;
        let start_index = self.events.len();
        let start = self.mark();
        self.push_at(Event::SequenceStart(0, None), start);
        loop {
            self.pos += 1;
            self.skip_spaces();
            if self.at_line_end() {
                if indentless {
                    return None;
                }
                self.end_line()?;
                match self.indent {
                    Some(next) if next > indent => {
                        if self.at_sequence_entry() {
                            self.block_sequence(next, false)?;
                        } else {
                            self.block_mapping(next)?;
                        }
                    }
                    // An empty item.
                    _ => return None,
                }
            } else {
                if self.events.len() == start_index + 1 && indentless {
                    let first_item = self.mark();
                    self.events[start_index].1 = Span::new(first_item, first_item);
                }
                if self.at_sequence_entry() {
                    return None;
                }
                if self.key_colon(self.pos).is_some() {
                    let column = self.pos - self.line_start;
                    self.block_mapping(column)?;
                } else {
                    self.inline_node(indent)?;
                }
            }
            match self.indent {
                None => break,
                Some(next) if next < indent => break,
                Some(next) if next > indent => return None,
                Some(_) if self.at_sequence_entry() => {}
                // The key after an indentless sequence, or (not valid) a key beside a sequence: the
                // enclosing mapping decides.
                Some(_) => break,
            }
        }
        let end = self.here_or_end()?;
        self.push_at(Event::SequenceEnd, end);
        self.depth -= 1;
        Some(())
    }

    /// A node that starts on the line of its key or `-` (at `pos`), in a block whose entries are at
    /// column `indent`. Ends at the next content line.
    fn inline_node(&mut self, indent: usize) -> Scan {
        match self.bytes[self.pos] {
            b'"' | b'\'' => {
                let start = self.mark();
                let event = self.quoted_scalar()?;
                let end = self.mark_at(self.trailing_end());
                self.events.push((event, Span::new(start, end)));
                self.end_line()
            }
            b'|' => self.literal_scalar(indent),
            b'[' => {
                self.flow_sequence()?;
                self.end_line()
            }
            b'{' => {
                self.empty_flow_mapping()?;
                self.end_line()
            }
            first if starts_plain_scalar(first, self.bytes.get(self.pos + 1).copied()) => {
                self.plain_scalar()?;
                self.end_line()
            }
            _ => None,
        }
    }

    /// A plain scalar that ends on its line (a later, more indented line would continue it: the caller
    /// declines those, as it declines any content indented past its block).
    fn plain_scalar(&mut self) -> Scan {
        let bytes = self.bytes;
        let start = self.pos;
        let mut end = start;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => break,
                b'#' if bytes[i - 1] == b' ' => break,
                b':' if is_blank_or_end(bytes.get(i + 1).copied()) => return None,
                b' ' => i += 1,
                _ => {
                    i += 1;
                    end = i;
                }
            }
        }
        let start_mark = self.mark();
        self.pos = end;
        let event = Event::Scalar(
            Cow::Borrowed(&self.src[start..end]),
            ScalarStyle::Plain,
            0,
            None,
        );
        self.events
            .push((event, Span::new(start_mark, self.mark())));
        Some(())
    }

    /// A quoted scalar on one line, at `pos`; leaves `pos` after its closing quote.
    fn quoted_scalar(&mut self) -> Scan<Event<'a>> {
        let bytes = self.bytes;
        let open = self.pos;
        let body = open + 1;
        let (text, style, close) = if bytes[open] == b'\'' {
            let close = body + closing_single_quote(&bytes[body..])?;
            let raw = &self.src[body..close];
            let text = if raw.contains("''") {
                Cow::Owned(raw.replace("''", "'"))
            } else {
                Cow::Borrowed(raw)
            };
            (text, ScalarStyle::SingleQuoted, close)
        } else {
            let close = body + closing_double_quote(&bytes[body..])?;
            let raw = &self.src[body..close];
            let text = if raw.contains('\\') {
                Cow::Owned(unescape_double_quoted(raw)?)
            } else {
                Cow::Borrowed(raw)
            };
            (text, ScalarStyle::DoubleQuoted, close)
        };
        self.pos = close + 1;
        Some(Event::Scalar(text, style, 0, None))
    }

    /// `|`, `|-` or `|+` and the lines of text under it, more indented than `parent_indent`.
    fn literal_scalar(&mut self, parent_indent: usize) -> Scan {
        let bytes = self.bytes;
        self.pos += 1;
        let chomping = match bytes.get(self.pos) {
            Some(b'-') => {
                self.pos += 1;
                Chomping::Strip
            }
            Some(b'+') => {
                self.pos += 1;
                Chomping::Keep
            }
            _ => Chomping::Clip,
        };
        if !is_blank_or_end(bytes.get(self.pos).copied()) {
            return None;
        }
        self.skip_spaces();
        self.skip_comment()?;
        if bytes.get(self.pos) != Some(&b'\n') {
            return None;
        }
        self.next_line();
        // The first line fixes the indentation; a first line that is blank is left to saphyr, which
        // then looks further for it.
        let content_indent = count_spaces(&bytes[self.pos..]);
        let first = self.pos + content_indent;
        if content_indent <= parent_indent || first >= bytes.len() || bytes[first] == b'\n' {
            return None;
        }
        let start = self.mark_at(first);
        let mut text = String::new();
        let mut pending_newlines = 0;
        loop {
            let spaces = count_spaces(&bytes[self.pos..]);
            let at = self.pos + spaces;
            let line_end = memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i);
            let is_blank = at >= bytes.len() || bytes[at] == b'\n';
            if is_blank {
                if spaces > content_indent {
                    return None;
                }
                match line_end {
                    Some(newline) => {
                        pending_newlines += 1;
                        self.pos = newline;
                        self.next_line();
                        continue;
                    }
                    None => {
                        self.pos = bytes.len();
                        break;
                    }
                }
            }
            if spaces < content_indent {
                self.pos = at;
                break;
            }
            for _ in 0..pending_newlines {
                text.push('\n');
            }
            let end = line_end.unwrap_or(bytes.len());
            text.push_str(&self.src[self.pos + content_indent..end]);
            // A last line without its newline still counts as ending in one.
            pending_newlines = 1;
            match line_end {
                Some(newline) => {
                    self.pos = newline;
                    self.next_line();
                }
                None => {
                    self.pos = bytes.len();
                    break;
                }
            }
        }
        match chomping {
            Chomping::Strip => {}
            Chomping::Clip => text.push('\n'),
            Chomping::Keep => {
                for _ in 0..pending_newlines {
                    text.push('\n');
                }
            }
        }
        let end = if self.pos >= bytes.len() {
            self.end_mark()?
        } else {
            self.mark()
        };
        self.events.push((
            Event::Scalar(Cow::Owned(text), ScalarStyle::Literal, 0, None),
            Span::new(start, end),
        ));
        // `pos` is at the first non-blank of the line after the text, a content line or a comment.
        self.pos = self.line_start;
        self.skip_to_content();
        Some(())
    }

    /// `[a, "b", 'c']` on one line: scalars only, each followed directly by `,` or `]`.
    fn flow_sequence(&mut self) -> Scan {
        let bytes = self.bytes;
        let open = self.mark();
        self.pos += 1;
        self.events
            .push((Event::SequenceStart(0, None), Span::new(open, self.mark())));
        if bytes.get(self.pos) != Some(&b']') {
            loop {
                let start = self.mark();
                let event = match bytes.get(self.pos)? {
                    b'"' | b'\'' => {
                        let event = self.quoted_scalar()?;
                        // Blanks before the `,` or `]` belong to a quoted scalar's span.
                        self.skip_spaces();
                        event
                    }
                    _ => {
                        let begin = self.pos;
                        while self.pos < bytes.len() && is_flow_plain(bytes[self.pos]) {
                            self.pos += 1;
                        }
                        if self.pos == begin
                            || !starts_plain_scalar(bytes[begin], bytes.get(begin + 1).copied())
                        {
                            return None;
                        }
                        Event::Scalar(
                            Cow::Borrowed(&self.src[begin..self.pos]),
                            ScalarStyle::Plain,
                            0,
                            None,
                        )
                    }
                };
                self.events.push((event, Span::new(start, self.mark())));
                match bytes.get(self.pos)? {
                    b']' => break,
                    b',' => {
                        self.pos += 1;
                        if bytes.get(self.pos) != Some(&b' ') {
                            return None;
                        }
                        self.skip_spaces();
                    }
                    _ => return None,
                }
            }
        }
        let close = self.mark();
        self.pos += 1;
        let end = self.mark_at(self.trailing_end());
        self.events
            .push((Event::SequenceEnd, Span::new(close, end)));
        Some(())
    }

    /// saphyr ends the span of a quoted scalar or a closing bracket past the blanks and the comment that
    /// follow it on its line.
    fn trailing_end(&self) -> usize {
        let bytes = self.bytes;
        let mut at = self.pos + count_spaces(&bytes[self.pos..]);
        if bytes.get(at) == Some(&b'#') && bytes[at - 1] == b' ' {
            at = self.line_end_from(at);
        }
        at
    }

    /// `{}`.
    fn empty_flow_mapping(&mut self) -> Scan {
        if self.bytes.get(self.pos + 1) != Some(&b'}') {
            return None;
        }
        let open = self.mark();
        self.pos += 1;
        let close = self.mark();
        self.events
            .push((Event::MappingStart(0, None), Span::new(open, close)));
        self.pos += 1;
        let end = self.mark_at(self.trailing_end());
        self.events.push((Event::MappingEnd, Span::new(close, end)));
        Some(())
    }

    // --- Lines, blanks and comments ---

    /// After a token: blanks, maybe a comment, the end of the line; then on to the next content line.
    fn end_line(&mut self) -> Scan {
        self.skip_spaces();
        self.skip_comment()?;
        if self.pos < self.bytes.len() {
            if self.bytes[self.pos] != b'\n' {
                return None;
            }
            self.next_line();
        }
        self.skip_to_content();
        Some(())
    }

    /// A comment at `pos` (after a blank, as YAML requires) up to its newline.
    fn skip_comment(&mut self) -> Scan {
        if self.bytes.get(self.pos) == Some(&b'#') {
            if self.bytes[self.pos - 1] != b' ' {
                return None;
            }
            self.pos = self.line_end_from(self.pos);
        }
        Some(())
    }

    /// From the start of a line, past blank and comment lines to the first token of the next content
    /// line; sets `indent` (`None` at the end of the text).
    fn skip_to_content(&mut self) {
        let bytes = self.bytes;
        loop {
            let at = self.pos + count_spaces(&bytes[self.pos..]);
            match bytes.get(at) {
                None => {
                    self.pos = bytes.len();
                    self.indent = None;
                    return;
                }
                Some(b'\n' | b'#') => {
                    self.pos = self.line_end_from(at);
                    if self.pos == bytes.len() {
                        self.indent = None;
                        return;
                    }
                    self.next_line();
                }
                Some(_) => {
                    self.pos = at;
                    self.indent = Some(at - self.line_start);
                    return;
                }
            }
        }
    }

    /// The offset of the newline that ends the line holding `at`, or the end of the text.
    fn line_end_from(&self, at: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[at..]).map_or(self.bytes.len(), |i| at + i)
    }

    /// Past the newline at `pos`.
    fn next_line(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_spaces(&mut self) {
        self.pos += count_spaces(&self.bytes[self.pos..]);
    }

    fn at_line_end(&self) -> bool {
        matches!(self.bytes.get(self.pos), None | Some(b'\n' | b'#'))
    }

    fn at_sequence_entry(&self) -> bool {
        self.bytes.get(self.pos) == Some(&b'-')
            && is_blank_or_end(self.bytes.get(self.pos + 1).copied())
    }

    // --- Markers ---

    /// The marker of `pos`, on the current line.
    fn mark(&self) -> Marker {
        self.mark_at(self.pos)
    }

    fn mark_at(&self, pos: usize) -> Marker {
        Marker::new(pos, self.line, pos - self.line_start)
    }

    /// Where the text ends, as saphyr places it: past the last line's end, on the line after.
    fn end_mark(&self) -> Scan<Marker> {
        // Texts that do not end with a newline are left to saphyr.
        if self.bytes.last() != Some(&b'\n') || self.pos != self.bytes.len() {
            return None;
        }
        Some(Marker::new(self.bytes.len(), self.line, 0))
    }

    /// The marker of the next token, or of the end of the text.
    fn here_or_end(&self) -> Scan<Marker> {
        match self.indent {
            Some(_) => Some(self.mark()),
            None => self.end_mark(),
        }
    }

    fn push_at(&mut self, event: Event<'a>, at: Marker) {
        self.events.push((event, Span::new(at, at)));
    }
}

enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// A line (from its first byte) that starts or ends a document: `---` (as the file's split finds them) or `...`.
fn is_marker_line(line: &[u8]) -> bool {
    is_document_marker(line) || (line.starts_with(b"...") && is_blank_or_end(line.get(3).copied()))
}

fn count_spaces(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| b == b' ').count()
}

fn is_blank_or_end(byte: Option<u8>) -> bool {
    matches!(byte, None | Some(b' ' | b'\n'))
}

/// Whether a plain scalar may start with `first` (followed by `next`) here. Indicators that would start
/// something else, and the rarer ones (`?`, `:`, `%`, `@`, `` ` ``), are declined.
fn starts_plain_scalar(first: u8, next: Option<u8>) -> bool {
    match first {
        b'-' => !is_blank_or_end(next),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
        _ => true,
    }
}

/// A character of a plain scalar inside `[…]` as scanned here (no blanks: trailing ones would move the
/// parser's end marker).
fn is_flow_plain(byte: u8) -> bool {
    !matches!(
        byte,
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b':' | b'"' | b'\'' | b' ' | b'\n'
    )
}

/// The offset in `body` (after an opening `'`) of the closing quote, on the same line.
fn closing_single_quote(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => return None,
            b'\'' if body.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The offset in `body` (after an opening `"`) of the closing quote, on the same line.
fn closing_double_quote(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => return None,
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The text of a double-quoted scalar with escapes; the rarer escapes are declined.
fn unescape_double_quoted(raw: &str) -> Option<String> {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let unescaped = match chars.next()? {
            '\\' => '\\',
            '"' => '"',
            '/' => '/',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                if hex.len() != 4 {
                    return None;
                }
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            _ => return None,
        };
        text.push(unescaped);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use saphyr_parser::Parser;

    fn saphyr(source: &str) -> Result<Vec<(Event<'_>, Span)>, String> {
        Parser::new_from_str(source)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())
    }

    /// Whenever the fast path takes a text, saphyr accepts it too, with the same events.
    pub(crate) fn assert_same_as_saphyr(source: &str) -> bool {
        match events(source) {
            None => false,
            Some(fast) => {
                let reference = saphyr(source).unwrap_or_else(|error| {
                    panic!("the fast path took a text saphyr rejects ({error}):\n{source}")
                });
                if let Some(at) =
                    (0..fast.len().max(reference.len())).find(|&i| fast.get(i) != reference.get(i))
                {
                    panic!(
                        "event {at} differs: fast path {:?}, saphyr {:?}, for:\n{source}",
                        fast.get(at),
                        reference.get(at)
                    );
                }
                true
            }
        }
    }

    #[rstest]
    #[case::deployment(
        "---\n# from x\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x # c\n  labels: {}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: \"nginx:1\"\n        args: [\"a\", 'b', c]\n        env:\n          - name: K\n            value:\n      - name: b\n        command:\n        - sh\n        - |\n          echo hi\n\n          x\n        image: 'b:2'\n"
    )]
    #[case::no_document_marker("a: b\nc:\n  - 1\n  - 2\n")]
    #[case::comments_only("# nothing\n\n")]
    #[case::marker_only("---\n# nothing\n")]
    #[case::empty_values("a:   # c\nb:\n\n# x\n  # y\nc: |\n  x\n\n  y\n\n# z\nd: 1\n")]
    #[case::chomping("a: |-\n  x\n\nb: |+\n  y\n\n\nc: 2\n")]
    #[case::quoted_keys_and_escapes("\"a b\": 'it''s'\n'c': \"x\\\"y\\\\z\\n\\u00e9\"\n")]
    #[case::root_sequence("- a\n- b: c\n  d: e\n- [x, y]\n")]
    #[case::compact_mappings(
        "items:\n- name: a\n  value: '1'\n- name: b\n  nested:\n    deep: true\n- name: c\nlast: x\n"
    )]
    #[case::empty_flow_sequence("a: []\nb: 1\n")]
    #[case::literal_at_the_end("a: |\n  x\n  y\n\n")]
    fn fast_path_matches_saphyr(#[case] source: &str) {
        assert!(assert_same_as_saphyr(source), "declined:\n{source}");
    }

    /// `levels` mappings, each indented under the last, around one scalar.
    fn deep_mappings(levels: usize) -> String {
        let mut text = String::new();
        for level in 0..levels {
            text.push_str(&" ".repeat(level));
            text.push_str("k:\n");
        }
        text.push_str(&" ".repeat(levels));
        text.push_str("v: 1\n");
        text
    }

    #[test]
    fn nesting_up_to_the_limit_is_scanned() {
        assert!(assert_same_as_saphyr(&deep_mappings(MAX_DEPTH - 1)));
    }

    #[rstest]
    #[case::anchor("a: &x 1\nb: *x\n")]
    #[case::tag("a: !!str 1\n")]
    #[case::multi_line_plain("a: one\n  two\n")]
    #[case::multi_line_quoted("a: \"one\n  two\"\n")]
    #[case::folded("a: >\n  x\n")]
    #[case::tab("a:\tb\n")]
    #[case::non_ascii("a: é\n")]
    #[case::no_final_newline("a: b")]
    #[case::flow_mapping("a: {b: c}\n")]
    #[case::multi_line_flow("a: [\n  b ]\n")]
    #[case::two_documents("a: 1\n---\nb: 2\n")]
    #[case::bad_indentation("a:\n  b: 1\n c: 2\n")]
    #[case::value_with_colon_space("a: b: c\n")]
    #[case::deeper_than_the_builder_allows(&deep_mappings(MAX_DEPTH + 1))]
    #[case::nested_sequences("a:\n- - x\n")]
    #[case::document_marker_before_a_key("a: 1\n--- b: 2\n")]
    #[case::document_end_before_a_key("a: 1\n... b: 2\n")]
    #[case::blank_flow_sequence("a: [ ]\n")]
    fn fast_path_declines(#[case] source: &str) {
        assert!(events(source).is_none(), "took:\n{source}");
    }

    /// Every YAML file under `dir`, recursively.
    fn yaml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .map(|entry| entry.into_path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
            })
            .collect();
        files.sort();
        files
    }

    /// Small edits of the kind that break YAML (a lost or extra space, newline, colon, dash, quote,
    /// bracket, comment sign; a line lost, repeated or indented differently; the text cut short),
    /// deterministic.
    fn mutations(text: &str, count: usize, seed: u64) -> Vec<String> {
        const INSERTS: &[&str] = &[
            " ", "  ", "\n", ":", ": ", "- ", "-", "#", " #", "'", "\"", "|", "|-", "[", "]", "{",
            "}", ",", "\\", "&a ", "*a", "!", "?", "---\n", "\n  ", "\n- ",
        ];
        let mut state = seed | 1;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        (0..count)
            .map(|_| {
                let mut bytes = text.as_bytes().to_vec();
                for _ in 0..1 + next(2) {
                    let at = next(bytes.len() + 1);
                    let line_start = bytes[..at]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    let line_end = bytes[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |i| at + i + 1);
                    match next(8) {
                        0 if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        1 if at < bytes.len() => {
                            let byte = bytes[at];
                            bytes.insert(at, byte);
                        }
                        2 => {
                            bytes.drain(line_start..line_end);
                        }
                        3 => {
                            let line = bytes[line_start..line_end].to_vec();
                            bytes.splice(line_start..line_start, line);
                        }
                        4 if bytes.get(line_start) == Some(&b' ') => {
                            bytes.remove(line_start);
                        }
                        5 => {
                            bytes.insert(line_start, b' ');
                        }
                        6 => bytes.truncate(at),
                        _ => {
                            let insert = INSERTS[next(INSERTS.len())].as_bytes();
                            bytes.splice(at..at, insert.iter().copied());
                        }
                    }
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
            .collect()
    }

    /// The parity check over real manifests: the repository's fixtures always, and the benchmark corpus
    /// (`../shared/corpus`, see bench/compare.sh) when it is there. Each document as `check` cuts it, and
    /// mutations of it.
    #[test]
    fn fixtures_corpus_and_their_mutations_match_saphyr() {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = yaml_files(&workspace.join("tests/fixtures"));
        files.extend(yaml_files(&workspace.join("e2e")));
        files.extend(yaml_files(&workspace.join("../shared/corpus")));
        let (mut documents, mut taken, mut mutants, mut mutants_taken) = (0, 0, 0, 0);
        let mut seen = std::collections::HashSet::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for chunk in crate::manifest::split_documents(&text) {
                let document = &text[chunk.range];
                // The corpus repeats its documents with new names: mutate each kind of text once.
                if !seen.insert(document.to_owned()) {
                    continue;
                }
                documents += 1;
                taken += usize::from(assert_same_as_saphyr(document));
                for mutant in mutations(document, 40, documents as u64 * 7919) {
                    mutants += 1;
                    mutants_taken += usize::from(assert_same_as_saphyr(&mutant));
                }
            }
        }
        eprintln!(
            "{documents} documents ({taken} on the fast path), {mutants} mutants ({mutants_taken} on the fast path)"
        );
        assert!(
            documents > 20 && taken * 2 > documents,
            "{taken} of {documents}"
        );
        assert!(mutants_taken * 4 > mutants, "{mutants_taken} of {mutants}");
    }

    #[test]
    fn the_fast_path_takes_common_manifests() {
        assert!(assert_same_as_saphyr(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
        ));
    }
}

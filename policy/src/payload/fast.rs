//! The fast path of [`read_json`](super::read_json): one pass over the payload's bytes that builds only the kept
//! fields, as a [`Json`] borrowing the payload's strings, with no serde visitor per value and UTF-8 checked only where
//! it can be wrong, inside strings that are not ASCII.
//!
//! Serde's visitors cost more than the JSON itself: a pruning read through them takes well over twice as long as
//! serde_json skipping the same payload whole (`IgnoredAny`), and this path sits between the two. In policy.wasm, where
//! every function entry and loop back-edge also checks the deadline, the difference is larger still.
//!
//! The scanner's small steps are `#[inline(always)]`: in policy.wasm every call also checks the deadline and the
//! stack, which costs more than the step itself.
//!
//! It answers only where the answer is certainly a whole parse's, pruned, but for the faults in skipped values that
//! `IgnoredAny` does not look for either (see [`super`]); anything else is `None`, and the whole parse reads the
//! payload instead, with its exact values and errors. So it is strict where serde_json is (UTF-8, and every syntax rule
//! `IgnoredAny` checks in a skipped value: literals, number grammar, string escapes and control characters, brackets,
//! commas and colons, trailing characters) and leaves to serde_json what it does not do itself:
//! - a kept number, or a kept string with escapes: serde_json parses exactly its text;
//! - a key with an escape, and a kept value nested deeper than [`MAX_DEPTH`]: the whole payload goes to the whole
//!   parse.

use std::borrow::Cow;

use serde_json::Value;

use super::Shape;
use crate::json::Json;
use crate::swar;

/// Kept values nested past this go to the whole parse, which enforces serde_json's own limit (128 levels) exactly.
/// Below it, that limit cannot be reached: a kept value is the one a whole parse holds.
const MAX_DEPTH: usize = 100;

/// `json` (the whole payload) read with `shape`, or `None` where the whole parse must decide.
pub(super) fn read(json: &[u8], shape: Shape) -> Option<Json<'_>> {
    let mut scanner = Scanner { bytes: json, at: 0 };
    let value = scanner.value(shape, 0)?;
    scanner.skip_whitespace();
    (scanner.at == json.len()).then_some(value)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    /// The next byte to read.
    at: usize,
}

impl<'a> Scanner<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(is_whitespace) {
            self.at += 1;
        }
    }

    /// Whitespace, then `byte`.
    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// One value, inside `depth` containers, kept as `shape` says.
    fn value(&mut self, shape: Shape, depth: usize) -> Option<Json<'a>> {
        self.skip_whitespace();
        // Tested one by one, most frequent first, not as a `match`: see [`opens_a_container`].
        let byte = self.peek()?;
        if byte == b'"' {
            return self.string();
        }
        if !opens_a_container(byte) {
            return self.scalar(byte);
        }
        match (byte == b'{', shape) {
            (true, Shape::Object(fields)) => self.object(Some(fields), depth + 1),
            (true, _) => self.object(None, depth + 1),
            (false, Shape::List(item)) => self.list(*item, depth + 1),
            (false, _) => self.list(Shape::Whole, depth + 1),
        }
    }

    /// A kept literal or number, starting with `byte`: the rare tokens, kept out of line, apart from the tests before
    /// them (see [`opens_a_container`]).
    #[inline(never)]
    fn scalar(&mut self, byte: u8) -> Option<Json<'a>> {
        match byte {
            b't' => self.literal(b"true").map(|()| Json::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Json::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Json::Null),
            _ => self.number(),
        }
    }

    /// An object with only `fields` kept, or all of it; `at` is on its `{`.
    fn object(
        &mut self,
        fields: Option<&[(&'static str, Shape)]>,
        depth: usize,
    ) -> Option<Json<'a>> {
        // Room for every kept field at once: growing the list as they come cost a reallocation (a call, in wasm)
        // per object.
        let mut object = Vec::with_capacity(fields.map_or(0, <[_]>::len));
        self.each_item(b'}', depth, |scanner| {
            let key = scanner.plain_key()?;
            scanner.expect(b':')?;
            // A repeated key is kept as often as it comes: `Json::get` finds its last value, as a `Value` keeps it.
            match fields {
                None => {
                    let value = scanner.value(Shape::Whole, depth)?;
                    object.push((std::str::from_utf8(key).ok()?, value));
                }
                Some(fields) => match fields
                    .iter()
                    .find(|(name, _)| same_key(name.as_bytes(), key))
                {
                    Some(&(name, shape)) => {
                        let value = scanner.value(shape, depth)?;
                        object.push((name, value));
                    }
                    None => scanner.skip_value()?,
                },
            }
            Some(())
        })?;
        Some(Json::Object(object))
    }

    /// A list, each item kept as `item` says; `at` is on its `[`.
    fn list(&mut self, item: Shape, depth: usize) -> Option<Json<'a>> {
        let mut items = Vec::new();
        self.each_item(b']', depth, |scanner| {
            items.push(scanner.value(item, depth)?);
            Some(())
        })?;
        Some(Json::Array(items))
    }

    /// The members of an object or the items of a list, each read by `read_item`, with the commas between them and
    /// the `close` bracket after; `at` is on the opening bracket, the container's nesting is `depth`.
    #[inline(always)]
    fn each_item(
        &mut self,
        close: u8,
        depth: usize,
        mut read_item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.skip_whitespace();
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            self.skip_whitespace();
            read_item(self)?;
            self.skip_whitespace();
            let byte = self.peek()?;
            if byte == b',' {
                self.at += 1;
            } else if byte == close {
                self.at += 1;
                return Some(());
            } else {
                return None;
            }
        }
    }

    /// A key without escapes (compared as written); `None` for one with escapes, which only serde_json decodes.
    #[inline(always)]
    fn plain_key(&mut self) -> Option<&'a [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        match self.skip_string()? {
            Escapes::None => Some(&self.bytes[start..self.at - 1]),
            Escapes::Some => None,
        }
    }

    fn string(&mut self) -> Option<Json<'a>> {
        let start = self.at;
        match self.skip_string()? {
            Escapes::None => {
                let text = std::str::from_utf8(&self.bytes[start + 1..self.at - 1]).ok()?;
                Some(Json::String(Cow::Borrowed(text)))
            }
            Escapes::Some => match self.parsed(start)? {
                Value::String(text) => Some(Json::String(Cow::Owned(text))),
                _ => None,
            },
        }
    }

    /// A kept number: its grammar checked here, its value serde_json's (integer or float, range, `-0`).
    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.at;
        self.skip_number()?;
        match self.parsed(start)? {
            Value::Number(number) => Some(Json::Number(number)),
            _ => None,
        }
    }

    /// The scalar from `start` to here, parsed by serde_json. As a `Value`, whose parse policy.wasm has anyway: as a
    /// `String` or `Number`, serde would bring in its type errors, and with them float formatting.
    #[inline(never)]
    fn parsed(&self, start: usize) -> Option<Value> {
        serde_json::from_slice(&self.bytes[start..self.at]).ok()
    }

    /// Skips one value, checking its syntax as serde_json's `IgnoredAny` does, which sets no depth limit. Iterative,
    /// like serde_json's: one bit per open container says whether it is an object, 128 of them in a word, the words
    /// of outer containers set aside in `outer` (only past 128 levels, so almost never allocated).
    fn skip_value(&mut self) -> Option<()> {
        const BITS: usize = u128::BITS as usize;
        let mut open_objects: u128 = 0;
        let mut outer: Vec<u128> = Vec::new();
        let mut nesting: usize = 0;
        loop {
            self.skip_whitespace();
            // Tested one by one, most frequent first, not as a `match`: see [`opens_a_container`].
            let byte = self.peek()?;
            if byte == b'"' {
                self.skip_string()?;
            } else if !opens_a_container(byte) {
                self.skip_scalar(byte)?;
            } else {
                if nesting > 0 && nesting.is_multiple_of(BITS) {
                    outer.push(open_objects);
                }
                nesting += 1;
                let is_object = byte == b'{';
                open_objects = open_objects << 1 | u128::from(is_object);
                self.at += 1;
                self.skip_whitespace();
                let close = if is_object { b'}' } else { b']' };
                if self.peek()? == close {
                    self.at += 1;
                    close_container(&mut nesting, &mut open_objects, &mut outer)?;
                } else {
                    if is_object {
                        self.skipped_key()?;
                    }
                    continue;
                }
            }
            // A value ended: close what it ends, or move on to the next item.
            loop {
                if nesting == 0 {
                    return Some(());
                }
                self.skip_whitespace();
                let in_object = open_objects & 1 == 1;
                let byte = self.peek()?;
                if byte == b',' {
                    self.at += 1;
                    if in_object {
                        self.skipped_key()?;
                    }
                    break;
                }
                if byte != if in_object { b'}' } else { b']' } {
                    return None;
                }
                self.at += 1;
                close_container(&mut nesting, &mut open_objects, &mut outer)?;
            }
        }
    }

    /// A skipped literal or number, starting with `byte`: out of line, as [`Scanner::scalar`].
    #[inline(never)]
    fn skip_scalar(&mut self, byte: u8) -> Option<()> {
        match byte {
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// A key and its colon in a skipped object.
    #[inline(always)]
    fn skipped_key(&mut self) -> Option<()> {
        self.skip_whitespace();
        if self.peek()? != b'"' {
            return None;
        }
        self.skip_string()?;
        self.expect(b':')
    }

    /// Skips a string; `at` is on its opening quote. Escapes are checked as serde_json's `IgnoredAny` checks them
    /// (a known letter, or `u` and four hex digits); control characters are refused, and so is any character that is
    /// not UTF-8 (the only place a JSON text can hold a byte past ASCII is inside a string).
    #[inline(always)]
    fn skip_string(&mut self) -> Option<Escapes> {
        let bytes = self.bytes;
        let mut escapes = Escapes::None;
        self.at += 1;
        loop {
            // Eight bytes at a time to the next byte that ends the string or needs a look.
            match bytes.get(self.at..self.at + 8) {
                Some(chunk) => {
                    let found = bytes_needing_a_look(swar::word(chunk));
                    if found == 0 {
                        self.at += 8;
                        continue;
                    }
                    self.at += found.trailing_zeros() as usize / 8;
                }
                None => {
                    while bytes.get(self.at).is_some_and(|&byte| !needs_a_look(byte)) {
                        self.at += 1;
                    }
                }
            }
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(escapes);
                }
                b'\\' => {
                    escapes = Escapes::Some;
                    match *bytes.get(self.at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => {
                            let hex = bytes.get(self.at + 2..self.at + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                0x80.. => self.at += utf8_character_length(&bytes[self.at..])?,
                _ => return None,
            }
        }
    }

    /// JSON's number grammar, as serde_json checks a skipped number: no leading zeros, digits after `.` and `e`.
    #[inline(always)]
    fn skip_number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.one_or_more_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.one_or_more_digits()?;
        }
        Some(())
    }

    #[inline(always)]
    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn one_or_more_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.skip_digits();
        (self.at > start).then_some(())
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.bytes.get(self.at..self.at + word.len())? == word).then(|| self.at += word.len())
    }
}

/// Whether `byte` is JSON whitespace, tested with a mask rather than compared four times: see [`opens_a_container`].
#[inline(always)]
fn is_whitespace(byte: u8) -> bool {
    const WHITESPACE: u64 = 1 << b' ' | 1 << b'\n' | 1 << b'\t' | 1 << b'\r';
    byte <= b' ' && WHITESPACE >> byte & 1 == 1
}

/// Closes the innermost container [`Scanner::skip_value`] has open, bringing back the word of outer containers when
/// the current one empties.
#[inline(always)]
fn close_container(
    nesting: &mut usize,
    open_objects: &mut u128,
    outer: &mut Vec<u128>,
) -> Option<()> {
    *open_objects >>= 1;
    *nesting -= 1;
    if *nesting > 0 && nesting.is_multiple_of(u128::BITS as usize) {
        *open_objects = outer.pop()?;
    }
    Some(())
}

/// Whether `byte` is `{` or `[` (0x7B and 0x5B, one bit apart).
///
/// Why the scanner tests bytes this way: LLVM turns a `match` on a byte, or a chain of `==` on it, into a wasm
/// `br_table`, which wasmtime compiles to an indirect jump; jumping to a different token's code each time, the CPU
/// mispredicts it again and again.
#[inline(always)]
fn opens_a_container(byte: u8) -> bool {
    byte | 0x20 == b'{'
}

/// Whether a string had escapes: one without is its own text.
enum Escapes {
    None,
    Some,
}

/// `field == key`, with the first bytes compared before the rest: in wasm `memcmp` is a call (with a deadline
/// check) even for a few bytes, and most keys differ from a field of the same length at once.
#[inline(always)]
fn same_key(field: &[u8], key: &[u8]) -> bool {
    field.len() == key.len() && field.first() == key.first() && field == key
}

/// Whether `byte` may end a string or needs a look: a quote, a backslash, a control character, or past ASCII.
fn needs_a_look(byte: u8) -> bool {
    matches!(byte, b'"' | b'\\' | ..0x20 | 0x80..)
}

/// The high bit of each of the eight bytes of `word` (little-endian) that [`needs_a_look`]; the lowest one set is
/// always right (a higher one may be a false alarm after a borrow), which is all `trailing_zeros` needs.
fn bytes_needing_a_look(word: u64) -> u64 {
    swar::below(word, 0x20)
        | swar::equal(word, b'"')
        | swar::equal(word, b'\\')
        | swar::past_ascii(word)
}

/// The length of the UTF-8 character `bytes` starts with, or `None` if it is not one (overlong, a surrogate, past
/// U+10FFFF, cut short): the leading byte gives the length, `str::from_utf8` judges the sequence.
fn utf8_character_length(bytes: &[u8]) -> Option<usize> {
    let length = match bytes.first()? {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    std::str::from_utf8(bytes.get(..length)?).ok()?;
    Some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_tests_agree_with_json_s_grammar_on_every_byte() {
        for byte in 0..=u8::MAX {
            assert_eq!(
                is_whitespace(byte),
                matches!(byte, b' ' | b'\n' | b'\t' | b'\r'),
                "{byte:#04x}"
            );
            assert_eq!(
                opens_a_container(byte),
                matches!(byte, b'{' | b'['),
                "{byte:#04x}"
            );
        }
    }
}

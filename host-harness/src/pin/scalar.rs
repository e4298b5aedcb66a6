//! Writing a new value into a YAML scalar in the style it was written in.
//!
//! A plain scalar stays plain when the new text still reads back as exactly that string (else it gets double
//! quotes), a single-quoted one stays single-quoted (`'` doubled) unless the value holds characters that style
//! cannot carry, and a double-quoted one stays double-quoted with JSON's escapes, which are also YAML's, so JSON
//! files stay JSON. Block scalars (`|`, `>`) are refused: their text depends on indentation and chomping that a
//! one-line image cannot be fitted into without guessing.

use crate::manifest::{self, Style};

/// Why a scalar cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// `|` or `>`: written over several lines with indentation rules of their own.
    BlockScalar,
}

/// The text to write in place of a scalar that held something else and must now hold `value`, written as close
/// to `style` as `value` allows. Returns the text and the style it is in.
pub fn render(value: &str, style: Style) -> Result<(String, Style), RenderError> {
    match style {
        Style::Literal | Style::Folded => Err(RenderError::BlockScalar),
        Style::Plain if reads_back_as_plain(value) => Ok((value.to_owned(), Style::Plain)),
        Style::SingleQuoted if single_quotable(value) => {
            Ok((single_quoted(value), Style::SingleQuoted))
        }
        Style::Plain | Style::SingleQuoted | Style::DoubleQuoted => {
            Ok((double_quoted(value), Style::DoubleQuoted))
        }
    }
}

/// True when `value` written plain, in block or flow context, is read back as exactly this string.
///
/// The YAML 1.2 rules for a plain scalar, applied for both contexts at once (a scalar inside `{…}` or `[…]`
/// cannot hold `,[]{}`), then a parse of the text on its own as the final word: that catches whatever the
/// core schema would type (`true`, `1.0`, `null`) and anything the rules above might miss.
pub fn reads_back_as_plain(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let indicator_start = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let bad_char = value.chars().any(|c| {
        c.is_control()
            || matches!(
                c,
                ',' | '[' | ']' | '{' | '}' | '\u{feff}' | '\u{2028}' | '\u{2029}'
            )
    });
    let blank_edges =
        value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    if indicator_start
        || bad_char
        || blank_edges
        || value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
    {
        return false;
    }
    matches!(manifest::parse_single(value), Ok(serde_json::Value::String(read)) if read == value)
}

/// A single-quoted scalar folds line breaks and has no escapes: it can carry only printable one-line text.
fn single_quotable(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
}

fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A double-quoted scalar with JSON's escapes (valid YAML escapes too), so the same text serves YAML and JSON.
pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Other control characters, and the characters YAML reads as line breaks or a byte-order mark.
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = "127.0.0.1:5000/demo/app:1.0@sha256:5d8d7176117aa13b25df9b5ff3307745ebdd5b2d0bd56b8a12076c7e41c4636e";

    /// What `text` reads back as, written as the value of a block mapping and inside a flow sequence.
    fn read_back(text: &str) -> (serde_json::Value, serde_json::Value) {
        let block = manifest::parse_single(&format!("image: {text}\n")).unwrap();
        let flow = manifest::parse_single(&format!("[{text}, x]\n")).unwrap();
        (block["image"].clone(), flow[0].clone())
    }

    #[test]
    fn each_style_is_kept_and_reads_back_as_the_value() {
        for (style, expected) in [
            (Style::Plain, PINNED.to_owned()),
            (Style::SingleQuoted, format!("'{PINNED}'")),
            (Style::DoubleQuoted, format!("\"{PINNED}\"")),
        ] {
            let (text, kept) = render(PINNED, style).unwrap();
            assert_eq!((text.as_str(), kept), (expected.as_str(), style));
            assert_eq!(
                read_back(&text),
                (PINNED.into(), PINNED.into()),
                "{style:?}"
            );
        }
    }

    #[test]
    fn plain_text_that_would_read_differently_is_double_quoted() {
        for value in [
            "true",
            "null",
            "1.5",
            "0x1f",
            "",
            "a: b",
            "a #b",
            "-x",
            "*alias",
            "&anchor",
            "!tag",
            "[x]",
            "a,b",
            "{x}",
            "'q",
            "\"q",
            "x:",
            " lead",
            "trail ",
            "%x",
            "@x",
            "`x",
            "tab\there",
            "line\nbreak",
            "|",
            ">",
        ] {
            assert!(
                !reads_back_as_plain(value),
                "{value:?} must not be written plain"
            );
            let (text, style) = render(value, Style::Plain).unwrap();
            assert_eq!(style, Style::DoubleQuoted, "{value:?}");
            assert_eq!(
                read_back(&text),
                (value.into(), value.into()),
                "{value:?} as {text}"
            );
        }
    }

    #[test]
    fn single_quotes_double_their_quotes_and_give_way_to_double_quotes_for_control_characters() {
        let (text, style) = render("it's", Style::SingleQuoted).unwrap();
        assert_eq!((text.as_str(), style), ("'it''s'", Style::SingleQuoted));
        assert_eq!(read_back(&text).0, "it's");

        let (text, style) = render("a\tb\u{7}", Style::SingleQuoted).unwrap();
        assert_eq!(style, Style::DoubleQuoted);
        assert_eq!(read_back(&text).0, "a\tb\u{7}");
    }

    #[test]
    fn double_quotes_escape_what_yaml_and_json_both_read_back() {
        for value in [
            "a\"b\\c",
            "new\nline",
            "bell\u{7} del\u{7f}",
            "sep\u{2028}",
            "bom\u{feff}",
            "ünïcode ✓",
        ] {
            let text = double_quoted(value);
            assert_eq!(read_back(&text).0, value, "YAML: {text}");
            let json: String =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("JSON {text}: {error}"));
            assert_eq!(json, value);
        }
    }

    #[test]
    fn block_scalars_are_refused() {
        assert_eq!(
            render(PINNED, Style::Literal),
            Err(RenderError::BlockScalar)
        );
        assert_eq!(render(PINNED, Style::Folded), Err(RenderError::BlockScalar));
    }
}

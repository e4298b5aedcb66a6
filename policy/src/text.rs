//! Writing the policy's messages without `core::fmt`.
//!
//! Every formatting function `format!` reaches is called through a function pointer, and in a fresh wasm instance
//! the first call through each pointer costs a lazy table initialization in the host: building one rejection's
//! message with `format!` was a third of the guest's call, where natively a rejection costs hardly more than an
//! acceptance. The messages the rule writes on every rejection and warning are therefore appended piece by piece, with
//! these helpers for what `{:?}` and `{}` wrote (the tests hold them to exactly that). Rarer messages (malformed
//! requests, invalid references) keep `format!`, which is smaller.

/// Appends `text` exactly as `format!("{text:?}")` writes it: in double quotes, with Rust's escapes.
pub fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            // `str`'s Debug leaves a single quote as it is, where `char::escape_debug` escapes it; for every other
            // character the two agree.
            '\'' => out.push(c),
            ' '..='~' if c != '"' && c != '\\' => out.push(c),
            _ => out.extend(c.escape_debug()),
        }
    }
    out.push('"');
}

/// Appends `number` in decimal, as `format!("{number}")` writes it.
pub fn push_decimal(out: &mut String, number: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = number;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&digit| char::from(digit)));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{push_decimal, push_quoted};

    fn quoted(text: &str) -> String {
        let mut out = String::new();
        push_quoted(&mut out, text);
        out
    }

    #[test]
    fn every_character_is_quoted_as_debug_quotes_it() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            // Alone, and after a letter: Debug may treat a combining mark differently where it starts the text.
            for text in [c.to_string(), format!("a{c}")] {
                assert_eq!(quoted(&text), format!("{text:?}"), "U+{:04X}", u32::from(c));
            }
        }
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for number in (0..=10_000).chain([99_999, 100_000, u32::MAX as usize, usize::MAX]) {
            let mut out = String::from("[");
            push_decimal(&mut out, number);
            assert_eq!(out, format!("[{number}"));
        }
    }

    proptest! {
        #[test]
        fn strings_are_quoted_as_debug_quotes_them(text in any::<String>()) {
            prop_assert_eq!(quoted(&text), format!("{text:?}"));
        }
    }
}

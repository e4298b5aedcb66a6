//! Writing the policy's messages without `core::fmt`.
//!
//! Every formatting function `format!` reaches is called through a function pointer, and in a fresh wasm instance
//! the first call through each pointer costs a lazy table initialization in the host. A rejection of one unpinned
//! image spent 2.1 µs of its 6.4 µs guest call building its message with `format!` (host-harness bench, against the
//! same module with the message written out); natively the whole rejection costs 0.2 µs more than an acceptance. The
//! messages the rule writes on every rejection and warning are therefore appended piece by piece, with these helpers
//! for what `{:?}` and `{}` wrote (the tests hold them to exactly that): the guest's call went from 6.4 to 5.0 µs,
//! for 4.9 KiB of policy.wasm (2.2 of it for escaping the subject, `Deployment web`, without `format!`: 0.6 µs).
//! Rarer messages (malformed requests, invalid references) keep `format!`.

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

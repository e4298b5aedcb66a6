//! Tests on eight bytes at once in a `u64` ("SIMD within a register"), shared by the payload scanner and the
//! reference parser: wasm32 has no SIMD without a target feature that not every runtime enables, and in wasm every
//! loop iteration also checks the deadline, so a loop that takes eight bytes a turn pays that check an eighth as often.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Eight bytes as a little-endian word (the first byte lowest). `bytes` must be eight long.
pub fn word(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// The high bit of each byte of `word` below `n` (at most 0x80): the classic "has a byte less than n", where such
/// a byte borrows into its high bit. The lowest bit set is always right; a higher one may be a false alarm after a
/// borrow, so the mask answers "is there one" and "where is the first", not "which ones".
pub fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS
}

/// The high bit of each byte of `word` equal to `byte`, as [`below`] marks them (`word ^ byte` has a zero there).
pub fn equal(word: u64, byte: u8) -> u64 {
    below(word ^ (ONES * u64::from(byte)), 1)
}

/// The high bit of each byte of `word` past ASCII.
pub fn past_ascii(word: u64) -> u64 {
    word & HIGH_BITS
}

/// Every byte of `word` is `[0-9a-f]`. For a byte below 0x80, adding `0x80 - low` sets its high bit when it is at
/// least `low`, and adding `0x7f - high` when it is more than `high`; neither sum carries into the next byte.
pub fn is_lowercase_hex(word: u64) -> bool {
    if past_ascii(word) != 0 {
        return false;
    }
    let at_least = |low: u8| word + ONES * u64::from(0x80 - low);
    let more_than = |high: u8| word + ONES * u64::from(0x7f - high);
    let digit = at_least(b'0') & !more_than(b'9');
    let a_to_f = at_least(b'a') & !more_than(b'f');
    (digit | a_to_f) & HIGH_BITS == HIGH_BITS
}

/// `bytes` contains `byte`, eight bytes at a time.
pub fn contains_byte(bytes: &[u8], byte: u8) -> bool {
    let mut words = bytes.chunks_exact(8);
    words.by_ref().any(|chunk| equal(word(chunk), byte) != 0) || words.remainder().contains(&byte)
}

/// `bytes` is `[0-9a-f]*`, eight bytes at a time.
pub fn all_lowercase_hex(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    words.by_ref().all(|chunk| is_lowercase_hex(word(chunk)))
        && words
            .remainder()
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every place in a word, against the byte-at-a-time definitions; fillers that pass
    /// (`'0'`, `'f'`) and fail (`'g'`, `'@'`, 0x80) around it, so a carry or borrow leaking into a neighbour shows.
    #[test]
    fn the_eight_byte_tests_agree_with_byte_at_a_time_ones() {
        for filler in [b'0', b'f', b'g', b'@', 0x80] {
            for place in 0..8 {
                for byte in 0..=u8::MAX {
                    let mut bytes = [filler; 8];
                    bytes[place] = byte;
                    let word = word(&bytes);
                    let hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
                    assert_eq!(is_lowercase_hex(word), bytes.iter().all(hex), "{bytes:?}");
                    for wanted in [b'@', b'/', b'"', 0x80, 0xff, 0] {
                        assert_eq!(
                            equal(word, wanted) != 0,
                            bytes.contains(&wanted),
                            "{bytes:?} has {wanted}"
                        );
                    }
                    for n in [1, 0x20, 0x80] {
                        let first = bytes.iter().position(|&b| b < n);
                        let mask = below(word, n);
                        assert_eq!(
                            (mask != 0).then(|| mask.trailing_zeros() as usize / 8),
                            first,
                            "{bytes:?} below {n}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_slice_tests_look_at_the_bytes_past_the_last_whole_word() {
        let hex = b"0123456789abcdef0";
        for end in 0..=hex.len() {
            assert!(all_lowercase_hex(&hex[..end]));
            let mut spoiled = hex[..end].to_vec();
            spoiled.push(b'@');
            assert!(!all_lowercase_hex(&spoiled));
            assert!(contains_byte(&spoiled, b'@'));
            assert!(!contains_byte(&hex[..end], b'@'));
        }
    }
}

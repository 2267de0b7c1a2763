//! Finding one byte in short byte strings, eight bytes at a time. Words and lines are short,
//! where `memchr`'s setup costs more than the search; used by `split` and the text reader.

/// The index of the first `byte` in `hay`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let pattern = u64::from_le_bytes([byte; 8]);
    let mut words = hay.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let word = [word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]];
        // A zero byte of `x` is a match; the lowest flagged byte is always a true zero.
        let x = u64::from_le_bytes(word) ^ pattern;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words.remainder().iter().position(|&b| b == byte).map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::find_byte;

    /// Fillers next to each pattern byte's neighbours and high-bit variants catch borrow and
    /// carry mistakes in the word-at-a-time test.
    #[test]
    fn agrees_with_a_plain_search() {
        for pattern in [b'\n', b' ', 0x00, 0xff] {
            let fillers = [
                0x00u8,
                0x09,
                0x0b,
                pattern ^ 0x80,
                pattern.wrapping_add(1),
                0xff,
                b'a',
                0x01,
                0x80,
            ];
            let plain = |bytes: &[u8]| bytes.iter().position(|&b| b == pattern);
            for len in 0..40 {
                for (k, &filler) in fillers.iter().enumerate() {
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| fillers[(i * 7 + k) % fillers.len()].max(filler))
                        .collect();
                    assert_eq!(find_byte(&bytes, pattern), plain(&bytes));
                    for at in 0..len {
                        bytes[at] = pattern;
                        assert_eq!(find_byte(&bytes, pattern), plain(&bytes));
                        if at + 1 < len {
                            bytes[at + 1] = pattern;
                            assert_eq!(find_byte(&bytes[at + 1..], pattern), Some(0));
                        }
                    }
                }
            }
        }
    }
}

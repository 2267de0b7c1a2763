//! Finding one byte in short byte strings, sixteen bytes at a time: words and lines are
//! short, where `memchr`'s setup costs more than the search. Used by `split` and the text
//! reader.
//!
//! [`eq_mask`] is the one primitive: on x86-64 a vector compare and a move of the compare's
//! high bits (SSE2, part of every x86-64 CPU), elsewhere the same bits found eight bytes at a
//! time in a word. In the word count the vector form took `split`'s search of a 64-byte block
//! from about 130 instructions to 20 (callgrind, docs/benchmarks.md).

/// Bit `i` set where `chunk[i] == byte`.
#[inline(always)]
pub(crate) fn eq_mask(chunk: &[u8; 16], byte: u8) -> u16 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: `eq_mask_sse2` needs SSE2, and this build enables it (the `cfg` above; it is
        // part of the x86-64 baseline). It reads nothing but its arguments.
        unsafe { eq_mask_sse2(chunk, byte) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let (low, high) = chunk.split_at(8);
        eq_mask_word(low, byte) | eq_mask_word(high, byte) << 8
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn eq_mask_sse2(chunk: &[u8; 16], byte: u8) -> u16 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    let (low, high) = chunk.split_at(8);
    let word = |half: &[u8]| i64::from_le_bytes(half.try_into().unwrap_or_default());
    // The two loads and the set compile to one unaligned 16-byte load.
    let bytes = _mm_set_epi64x(word(high), word(low));
    _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8))) as u16
}

/// Bit `i` set where `word[i] == byte`, for the eight bytes of `word`: a word-at-a-time test
/// where no vector compare is built in.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn eq_mask_word(word: &[u8], byte: u8) -> u16 {
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    let word: [u8; 8] = word.try_into().unwrap_or_default();
    let x = u64::from_le_bytes(word) ^ u64::from_le_bytes([byte; 8]);
    // A byte's high bit is set exactly when the byte of `x` is zero: adding 0x7f to its low
    // seven bits carries into the high bit unless they are zero, and the `| x` keeps a set
    // high bit of its own. (The borrow-based test flags false zeros above a true one.)
    let zero_bytes = !(((x & LOW7).wrapping_add(LOW7)) | x) & !LOW7;
    // The eight high bits, gathered into the low byte by one multiply.
    ((zero_bytes >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u16
}

/// Bit `i` set where `window[i] == byte`, for a window of at most 16 bytes (longer ones are
/// cut to 16).
#[inline]
pub(crate) fn eq_mask_short(window: &[u8], byte: u8) -> u16 {
    let len = window.len().min(16);
    let mut chunk = [0u8; 16];
    chunk[..len].copy_from_slice(&window[..len]);
    // The padding's zeros match a NUL `byte`: kept out by the mask.
    eq_mask(&chunk, byte) & (((1u32 << len) - 1) as u16)
}

/// The index of the first `byte` in `hay`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let mut chunks = hay.chunks_exact(16);
    let mut base = 0;
    for chunk in &mut chunks {
        let found = eq_mask(chunk.try_into().unwrap_or(&[0; 16]), byte);
        if found != 0 {
            return Some(base + found.trailing_zeros() as usize);
        }
        base += 16;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return None;
    }
    // The last 16 bytes, overlapping those searched, if there are so many; else the rest
    // padded.
    let found = match hay.last_chunk::<16>() {
        Some(last) => eq_mask(last, byte) >> (16 - rest.len()),
        None => eq_mask_short(rest, byte),
    };
    (found != 0).then(|| base + found.trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::{eq_mask, eq_mask_short, eq_mask_word, find_byte};

    /// Fillers next to each pattern byte's neighbours and high-bit variants catch borrow and
    /// carry mistakes in the word-at-a-time test (the search's form off x86-64), and lengths
    /// around 16 the overlapping last chunk.
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

    /// The vector, word and short masks agree with a byte-by-byte comparison.
    #[test]
    fn masks_agree_with_a_plain_comparison() {
        let plain = |bytes: &[u8], byte: u8| {
            bytes.iter().enumerate().fold(0u16, |m, (i, &b)| m | (u16::from(b == byte) << i))
        };
        for byte in [b' ', b'\n', 0x00, 0x7f, 0x80, 0xff] {
            for seed in 0..64u32 {
                let chunk: [u8; 16] = std::array::from_fn(|i| {
                    let x = (seed.wrapping_mul(2654435761) >> (i % 24)) as u8 ^ i as u8;
                    if x.is_multiple_of(3) { byte } else { x }
                });
                assert_eq!(eq_mask(&chunk, byte), plain(&chunk, byte));
                let words = eq_mask_word(&chunk[..8], byte) | eq_mask_word(&chunk[8..], byte) << 8;
                assert_eq!(words, plain(&chunk, byte));
                for len in 0..=16 {
                    assert_eq!(eq_mask_short(&chunk[..len], byte), plain(&chunk[..len], byte));
                }
            }
        }
    }
}

//! Modified UTF-8, the string encoding of `DataOutput.writeUTF` and of strings in the stream.
//!
//! It encodes each UTF-16 code unit of a Java string on its own: U+0000 as the two bytes
//! `C0 80`, and a character outside the Basic Multilingual Plane as its two surrogates, three bytes
//! each. Every other character is encoded as in standard UTF-8, so a Rust string without NUL and
//! without four-byte sequences is copied as it is; only strings with those take the slow path.

/// Why bytes are not modified UTF-8 a Rust string can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutf8Error {
    /// A byte sequence `DataInput.readUTF` would reject.
    Malformed,
    /// A lone surrogate: valid in a Java string, not in a Rust `String`.
    UnpairedSurrogate,
}

/// Length in bytes of the modified UTF-8 encoding of `s`.
#[inline]
pub(crate) fn encoded_len(s: &str) -> usize {
    if is_plain(s.as_bytes()) {
        return s.len();
    }
    // NUL grows by one byte (C0 80); a four-byte sequence becomes two three-byte surrogates.
    s.len() + s.bytes().map(|b| usize::from(b == 0) + 2 * usize::from(b >= 0xF0)).sum::<usize>()
}

/// Whether `bytes` hold neither NUL nor a four-byte lead (0xF0..), the only bytes whose encoding
/// differs between UTF-8 and modified UTF-8. Eight bytes at a time: strings are short, so a
/// byte loop never reaches the width where the compiler would vectorize it (measured: about 5%
/// of encoding Person rows).
#[inline]
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const TOP_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // Exact "some byte of `w` is zero" (its false positives only sit above a true zero byte).
    let has_zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH != 0;
    // A byte >= 0xF0 is a zero byte of `!w & TOP_NIBBLES`.
    let plain = |w: u64| !has_zero_byte(w) && !has_zero_byte(!w & TOP_NIBBLES);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if !plain(u64::from_le_bytes(word)) {
            return false;
        }
    }
    // Padding with spaces, which are plain.
    let mut word = [b' '; 8];
    let rest = chunks.remainder();
    word[..rest.len()].copy_from_slice(rest);
    plain(u64::from_le_bytes(word))
}

/// Appends the modified UTF-8 encoding of `s`, `encoded_len` bytes long, to `out`.
#[inline]
pub(crate) fn encode_into(s: &str, encoded_len: usize, out: &mut Vec<u8>) {
    if encoded_len == s.len() {
        out.extend_from_slice(s.as_bytes());
    } else {
        encode_special(s, out);
    }
}

#[cold]
fn encode_special(s: &str, out: &mut Vec<u8>) {
    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let code = u32::from(c);
        if code != 0 && code < 0x1_0000 {
            continue;
        }
        out.extend_from_slice(&s.as_bytes()[run_start..i]);
        run_start = i + c.len_utf8();
        if code == 0 {
            out.extend_from_slice(&[0xC0, 0x80]);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_three_bytes(out, *unit);
            }
        }
    }
    out.extend_from_slice(&s.as_bytes()[run_start..]);
}

#[inline]
fn push_three_bytes(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(&[
        0xE0 | (unit >> 12) as u8,
        0x80 | ((unit >> 6) & 0x3F) as u8,
        0x80 | (unit & 0x3F) as u8,
    ]);
}

/// Decodes modified UTF-8 into a `String`, accepting what `DataInput.readUTF` accepts.
#[inline]
pub(crate) fn decode(bytes: &[u8]) -> Result<String, Mutf8Error> {
    // One vectorized pass finds both facts the fast paths need.
    let (all_bits, special) = bytes.iter().fold((0u8, 0u8), |(all, special), &b| {
        (all | b, special | u8::from(b.wrapping_sub(1) >= 0xEF))
    });
    if special == 0 {
        if all_bits < 0x80 {
            // Skipping the second validation pass is worth about 10% of decoding Person rows.
            // SAFETY: every byte is below 0x80, and a run of ASCII bytes is valid UTF-8.
            return Ok(unsafe { String::from_utf8_unchecked(bytes.to_vec()) });
        }
        // Standard UTF-8 without NUL and four-byte sequences is the same text in both encodings.
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Ok(s.to_owned());
        }
    }
    decode_special(bytes)
}

#[cold]
fn decode_special(bytes: &[u8]) -> Result<String, Mutf8Error> {
    let mut out = String::with_capacity(bytes.len());
    let mut high: Option<u16> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b1 = bytes[i];
        // The same cases as the JDK's `readUTF`: the high nibble decides the sequence length.
        let unit = match b1 >> 4 {
            0..=7 => {
                i += 1;
                u16::from(b1)
            }
            12 | 13 => {
                let b2 = continuation(bytes, i + 1)?;
                i += 2;
                (u16::from(b1 & 0x1F) << 6) | u16::from(b2)
            }
            14 => {
                let b2 = continuation(bytes, i + 1)?;
                let b3 = continuation(bytes, i + 2)?;
                i += 3;
                (u16::from(b1 & 0x0F) << 12) | (u16::from(b2) << 6) | u16::from(b3)
            }
            _ => return Err(Mutf8Error::Malformed),
        };
        match unit {
            0xD800..=0xDBFF => {
                if high.replace(unit).is_some() {
                    return Err(Mutf8Error::UnpairedSurrogate);
                }
            }
            0xDC00..=0xDFFF => {
                let h = high.take().ok_or(Mutf8Error::UnpairedSurrogate)?;
                let code = 0x1_0000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                out.push(char::from_u32(code).ok_or(Mutf8Error::UnpairedSurrogate)?);
            }
            _ => {
                if high.is_some() {
                    return Err(Mutf8Error::UnpairedSurrogate);
                }
                out.push(char::from_u32(u32::from(unit)).ok_or(Mutf8Error::Malformed)?);
            }
        }
    }
    if high.is_some() {
        return Err(Mutf8Error::UnpairedSurrogate);
    }
    Ok(out)
}

/// The low six bits of the continuation byte at `at`.
#[inline]
fn continuation(bytes: &[u8], at: usize) -> Result<u8, Mutf8Error> {
    match bytes.get(at) {
        Some(&b) if b & 0xC0 == 0x80 => Ok(b & 0x3F),
        _ => Err(Mutf8Error::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(s: &str) -> Vec<u8> {
        let len = encoded_len(s);
        let mut out = Vec::new();
        encode_into(s, len, &mut out);
        assert_eq!(out.len(), len);
        out
    }

    #[test]
    fn ascii_and_bmp_are_plain_utf8() {
        for s in ["", "hello", "Zürich", "東京", "naïve straße"] {
            assert_eq!(encode(s), s.as_bytes());
            assert_eq!(decode(s.as_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn nul_is_two_bytes() {
        assert_eq!(encode("a\0b"), [b'a', 0xC0, 0x80, b'b']);
        assert_eq!(decode(&[b'a', 0xC0, 0x80, b'b']).unwrap(), "a\0b");
    }

    #[test]
    fn non_bmp_is_two_surrogates() {
        // U+1F600 is D83D DE00 in UTF-16.
        assert_eq!(encode("x😀"), [b'x', 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
        assert_eq!(decode(&[b'x', 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]).unwrap(), "x😀");
    }

    #[test]
    fn raw_nul_is_accepted_as_the_jdk_does() {
        assert_eq!(decode(&[0, b'a']).unwrap(), "\0a");
    }

    #[test]
    fn rejects_what_read_utf_rejects() {
        assert_eq!(decode(&[0x80]), Err(Mutf8Error::Malformed));
        assert_eq!(decode(&[0xC3]), Err(Mutf8Error::Malformed));
        assert_eq!(decode(&[0xF0, 0x9F, 0x98, 0x80]), Err(Mutf8Error::Malformed));
        assert_eq!(decode(&[0xE0, 0x80, 0x41]), Err(Mutf8Error::Malformed));
    }

    #[test]
    fn lone_surrogates_are_errors() {
        assert_eq!(decode(&[0xED, 0xA0, 0xBD]), Err(Mutf8Error::UnpairedSurrogate));
        assert_eq!(decode(&[0xED, 0xB8, 0x80]), Err(Mutf8Error::UnpairedSurrogate));
        assert_eq!(decode(&[0xED, 0xA0, 0xBD, b'a']), Err(Mutf8Error::UnpairedSurrogate));
    }

    /// Modified UTF-8 by its definition: each UTF-16 code unit on its own, NUL as two bytes.
    fn oracle(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in s.encode_utf16() {
            match unit {
                0x01..=0x7F => out.push(unit as u8),
                0x00 | 0x80..=0x7FF => {
                    out.push(0xC0 | (unit >> 6) as u8);
                    out.push(0x80 | (unit & 0x3F) as u8);
                }
                _ => push_three_bytes(&mut out, unit),
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(7),
            failure_persistence: None,
            ..Default::default()
        })]

        #[test]
        fn encoding_matches_the_definition_and_round_trips(
            chars in proptest::collection::vec(proptest::arbitrary::any::<char>(), 0..40),
        ) {
            let s = String::from_iter(chars);
            let bytes = encode(&s);
            proptest::prop_assert_eq!(&bytes, &oracle(&s));
            proptest::prop_assert_eq!(decode(&bytes).unwrap(), s);
        }

        #[test]
        fn is_plain_finds_every_nul_and_four_byte_lead(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::arbitrary::any::<u8>(),
                    proptest::strategy::Just(0u8),
                    0xF0u8..,
                    1u8..0x80,
                ],
                0..40,
            ),
        ) {
            let expected = bytes.iter().all(|&b| b != 0 && b < 0xF0);
            proptest::prop_assert_eq!(is_plain(&bytes), expected);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..40),
        ) {
            if let Ok(s) = decode(&bytes) {
                // Whatever decodes, re-encodes to a canonical form that decodes the same.
                proptest::prop_assert_eq!(decode(&encode(&s)).unwrap(), s);
            }
        }
    }
}

//! Delta files: the puts and removes one commit made, behind one checksum for all of them.
//!
//! ```text
//! header   48 bytes (see `format`)
//! records  repeated: key_len varint | value_tag varint (0 = remove, n + 1 = n value bytes)
//!          | key | value
//! footer   record_count u64 | body_len u64 | body_crc u32 | end_magic u32
//!          | footer_crc u32 (CRC-32 of 0..24)
//! ```
//!
//! A store's open change layer (`layer.rs`) keeps its updates as these records, as Spark's
//! store writes each update to its delta stream, while the key and value are still in cache; a
//! commit then only checksums the records and writes them. A key put again with a value of the
//! same length is overwritten in its record, so a file holds fewer records than updates when
//! keys recur. Reading a file applies its records in order, so a key
//! updated twice ends as its last record says. One checksum over the whole body rather than one
//! per record: a commit writes thousands of small records, and checksumming each cost more than
//! writing it (a per-record checksum and fixed 4-byte lengths also made the file a fifth
//! larger, and its fsync longer).

use std::io::{self, Write};
use std::path::Path;

use crate::error::{Result, StateError};
use crate::format::{self, FileKind, HEADER_LEN, crc, le_u32, le_u64};
use crate::layer::Layer;

/// Keys and values are shorter than this (a value tag is its length plus one, in a `u32`).
pub(crate) const MAX_LEN: u32 = u32::MAX;
/// The longest varint of a `u32`.
const MAX_VARINT: usize = 5;
pub(crate) const FOOTER_LEN: usize = 28;
const END_MAGIC: u32 = u32::from_le_bytes(*b"DEND");

/// Appends to `buf` the record of a put of `value` (`None`: a remove), whose key and value are
/// shorter than [`MAX_LEN`]; returns where the key starts in `buf`.
#[inline]
pub(crate) fn push_record(buf: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) -> usize {
    let tag = value.map_or(0, |v| v.len() as u32 + 1);
    let value = value.unwrap_or_default();
    buf.reserve(2 * MAX_VARINT + key.len() + value.len());
    push_varint(buf, key.len() as u32);
    push_varint(buf, tag);
    let key_at = buf.len();
    buf.extend_from_slice(key);
    buf.extend_from_slice(value);
    key_at
}

/// Writes the delta file of `version` whose body is `records` (`count` of them).
pub(crate) fn write_file(
    w: &mut dyn Write,
    fingerprint: u64,
    version: u64,
    count: u64,
    records: &[u8],
) -> io::Result<()> {
    w.write_all(&format::encode_header(FileKind::Delta, fingerprint, version))?;
    w.write_all(records)?;
    w.write_all(&encode_footer(count, records))
}

/// The footer of a delta file of `count` records whose bytes are `body`.
fn encode_footer(count: u64, body: &[u8]) -> [u8; FOOTER_LEN] {
    let mut footer = [0u8; FOOTER_LEN];
    footer[0..8].copy_from_slice(&count.to_le_bytes());
    footer[8..16].copy_from_slice(&(body.len() as u64).to_le_bytes());
    footer[16..20].copy_from_slice(&crc(&[body]).to_le_bytes());
    footer[20..24].copy_from_slice(&END_MAGIC.to_le_bytes());
    let c = crc(&[&footer[0..24]]);
    footer[24..28].copy_from_slice(&c.to_le_bytes());
    footer
}

/// Appends `n` as an LEB128 varint: seven bits a byte, low bits first, the high bit set on
/// every byte but the last.
#[inline]
fn push_varint(buf: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        buf.push(n as u8 | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// The varint at `bytes[at..end]` and where the next field starts; `None` if it runs past
/// `end`, has more than five bytes, or overflows a `u32`.
#[inline]
fn read_varint(bytes: &[u8], at: usize, end: usize) -> Option<(u32, usize)> {
    let mut n = 0u32;
    for i in 0..MAX_VARINT {
        let b = *bytes.get(at + i).filter(|_| at + i < end)?;
        let bits = u32::from(b & 0x7f);
        // The fifth byte holds the top four bits only.
        if i == MAX_VARINT - 1 && bits > 0x0f {
            return None;
        }
        n |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, at + i + 1));
        }
    }
    None
}

/// Reads the delta file of `version` and applies its records onto `target`. The whole file is
/// validated; on error `target` holds a partial result and must be discarded.
pub(crate) fn apply_file(
    path: &Path,
    fingerprint: u64,
    version: u64,
    target: &mut Layer,
    base_is_empty: bool,
) -> Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::Missing {
                file: path.to_path_buf(),
                version,
                reason: "the delta file is needed to rebuild the requested version",
            });
        }
        Err(e) => return Err(StateError::io(path, e)),
    };
    apply_bytes(&bytes, path, fingerprint, version, target, base_is_empty)
}

/// [`apply_file`] on bytes already in memory.
pub(crate) fn apply_bytes(
    bytes: &[u8],
    path: &Path,
    fingerprint: u64,
    version: u64,
    target: &mut Layer,
    base_is_empty: bool,
) -> Result<()> {
    let corrupt = |offset: usize, reason: &'static str| StateError::Corrupt {
        file: path.to_path_buf(),
        version,
        offset: offset as u64,
        reason,
    };
    format::check_header(bytes, FileKind::Delta, path, fingerprint, version)?;
    if bytes.len() < HEADER_LEN + FOOTER_LEN {
        return Err(corrupt(bytes.len(), "file ends before its footer"));
    }
    let f = bytes.len() - FOOTER_LEN;
    let footer = &bytes[f..];
    if le_u32(footer, 20) != Some(END_MAGIC) {
        return Err(corrupt(f + 20, "footer magic missing (truncated file?)"));
    }
    if le_u32(footer, 24) != Some(crc(&[&footer[0..24]])) {
        return Err(corrupt(f + 24, "footer checksum mismatch"));
    }
    let count = le_u64(footer, 0).unwrap_or(0);
    if le_u64(footer, 8) != Some((f - HEADER_LEN) as u64) {
        return Err(corrupt(f + 8, "footer body length differs from the file length"));
    }
    if le_u32(footer, 16) != Some(crc(&[&bytes[HEADER_LEN..f]])) {
        return Err(corrupt(HEADER_LEN, "records checksum mismatch"));
    }
    // Every record takes at least two bytes.
    target.reserve(count.min(((f - HEADER_LEN) / 2) as u64) as usize);
    let mut at = HEADER_LEN;
    let mut seen = 0u64;
    while at < f {
        let Some((klen, after_key_len)) = read_varint(bytes, at, f) else {
            return Err(corrupt(at, "record key length is not a varint that fits"));
        };
        let Some((tag, start)) = read_varint(bytes, after_key_len, f) else {
            return Err(corrupt(after_key_len, "record value tag is not a varint that fits"));
        };
        let vlen = tag.saturating_sub(1);
        let end = start as u64 + u64::from(klen) + u64::from(vlen);
        if end > f as u64 {
            return Err(corrupt(at, "record runs past the footer"));
        }
        let key_end = start + klen as usize;
        let key = &bytes[start..key_end];
        if tag == 0 {
            target.remove(key, base_is_empty);
        } else {
            target.put(key, &bytes[key_end..end as usize]);
        }
        seen += 1;
        at = end as usize;
    }
    if seen != count {
        return Err(corrupt(f, "record count differs from the footer"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const FP: u64 = 0xF1;

    /// The file of `entries` made in order, and the layer they leave.
    fn encoded(entries: &[(Vec<u8>, Option<Vec<u8>>)], version: u64) -> (Vec<u8>, Layer) {
        let mut writes = Layer::default();
        for (k, v) in entries {
            match v {
                Some(v) => writes.put(k, v),
                None => writes.remove(k, false),
            }
        }
        let mut file = Vec::new();
        writes.write_delta(&mut file, Path::new("1.delta"), FP, version).unwrap();
        (file, writes)
    }

    /// A delta file of `body` as records, with a footer that vouches for it.
    fn with_valid_footer(body: &[u8], count: u64) -> Vec<u8> {
        let mut out = format::encode_header(FileKind::Delta, FP, 1).to_vec();
        out.extend_from_slice(body);
        out.extend_from_slice(&encode_footer(count, body));
        out
    }

    fn apply(bytes: &[u8]) -> Result<Layer> {
        let mut target = Layer::default();
        apply_bytes(bytes, Path::new("1.delta"), FP, 1, &mut target, false)?;
        Ok(target)
    }

    #[test]
    fn varints_refuse_overlong_and_overflowing_encodings() {
        assert_eq!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f], 0, 5), Some((u32::MAX, 5)));
        assert_eq!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f], 0, 5), None, "overflows");
        assert_eq!(read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 0, 6), None, "6 bytes");
        assert_eq!(read_varint(&[0x80, 0x01], 0, 1), None, "runs past the end");
        assert_eq!(read_varint(&[0x05], 0, 1), Some((5, 1)));
    }

    #[test]
    fn a_record_that_runs_past_the_footer_is_named_by_its_offset() {
        // Key length 9 with three bytes of key: the checksum is right, the record is not.
        let bytes = with_valid_footer(&[9, 1, b'a', b'b', b'c'], 1);
        match apply(&bytes) {
            Err(StateError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, HEADER_LEN as u64);
                assert!(reason.contains("past the footer"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let bytes = with_valid_footer(&[1, 1, b'a', 1, 0, b'b'], 3);
        assert!(matches!(apply(&bytes), Err(StateError::Corrupt { reason, .. })
            if reason.contains("record count")));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn varints_round_trip(n in any::<u32>()) {
            let mut buf = vec![0xAA];
            push_varint(&mut buf, n);
            prop_assert!(buf.len() - 1 <= MAX_VARINT);
            prop_assert_eq!(read_varint(&buf, 1, buf.len()), Some((n, buf.len())));
        }

        /// Puts of keys and values of every length class, and removes, some of one key more
        /// than once, read back as the layer they made.
        #[test]
        fn deltas_round_trip(
            entries in prop::collection::vec(
                (
                    prop_oneof![
                        prop::collection::vec(0u8..2, 0..3),
                        prop::collection::vec(any::<u8>(), 0..200),
                    ],
                    prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
                ),
                0..40,
            )
        ) {
            let (file, writes) = encoded(&entries, 1);
            prop_assert_eq!(apply(&file).unwrap(), writes);
        }

        /// Records of arbitrary bytes behind a footer whose checksum matches them are refused
        /// or applied, never a panic.
        #[test]
        fn arbitrary_records_with_a_matching_checksum_never_panic(
            body in prop::collection::vec(any::<u8>(), 0..64),
            count in 0u64..8,
        ) {
            let _ = apply(&with_valid_footer(&body, count));
        }
    }
}

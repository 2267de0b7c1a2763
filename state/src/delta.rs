//! Delta files: the puts and removes one commit made, each record with its own checksum.
//!
//! ```text
//! header   48 bytes (see `format`)
//! records  repeated: key_len u32 | value_len u32 (u32::MAX = remove) | crc u32 | key | value
//!          crc = CRC-32 of key_len, value_len, key and value
//! footer   record_count u64 | body_len u64 | end_magic u32 | footer_crc u32 (CRC-32 of 0..20)
//! ```

use std::io::{self, Write};
use std::path::Path;

use crate::error::{Result, StateError};
use crate::format::{self, FileKind, HEADER_LEN, crc, le_u32, le_u64};
use crate::layer::{self, Layer};

/// Marks a remove record in the value-length field.
const REMOVE: u32 = u32::MAX;
const RECORD_HEADER: usize = 12;
pub(crate) const FOOTER_LEN: usize = 24;
const END_MAGIC: u32 = u32::from_le_bytes(*b"DEND");

/// Checks that every key and value fits the record format before anything is written.
pub(crate) fn check_sizes(writes: &Layer) -> Result<()> {
    for (k, v) in writes {
        let vlen = v.as_ref().map_or(0, |v| v.len());
        if k.len() >= REMOVE as usize || vlen >= REMOVE as usize {
            return Err(StateError::InvalidArgument(format!(
                "key of {} bytes or value of {vlen} bytes exceeds the 4 GiB record limit",
                k.len()
            )));
        }
    }
    Ok(())
}

/// Writes a whole delta file for `writes` (sizes already checked), in one `write` call.
pub(crate) fn write(
    out: &mut dyn Write,
    writes: &Layer,
    fingerprint: u64,
    version: u64,
) -> io::Result<()> {
    let body: usize = writes
        .iter()
        .map(|(k, v)| RECORD_HEADER + k.len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut buf = Vec::with_capacity(HEADER_LEN + body + FOOTER_LEN);
    buf.extend_from_slice(&format::encode_header(FileKind::Delta, fingerprint, version));
    for (k, v) in writes {
        let klen = k.len() as u32;
        let (vlen, vbytes): (u32, &[u8]) = match v {
            Some(v) => (v.len() as u32, v),
            None => (REMOVE, &[]),
        };
        // The record is written with a zero checksum, which is then computed over the bytes
        // in place: its two lengths, then its key and value, contiguous after the checksum.
        let start = buf.len();
        buf.extend_from_slice(&klen.to_le_bytes());
        buf.extend_from_slice(&vlen.to_le_bytes());
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(k);
        buf.extend_from_slice(vbytes);
        let c = crc(&[&buf[start..start + 8], &buf[start + RECORD_HEADER..]]);
        buf[start + 8..start + RECORD_HEADER].copy_from_slice(&c.to_le_bytes());
    }
    let mut footer = [0u8; FOOTER_LEN];
    footer[0..8].copy_from_slice(&(writes.len() as u64).to_le_bytes());
    footer[8..16].copy_from_slice(&(body as u64).to_le_bytes());
    footer[16..20].copy_from_slice(&END_MAGIC.to_le_bytes());
    let c = crc(&[&footer[0..20]]);
    footer[20..24].copy_from_slice(&c.to_le_bytes());
    buf.extend_from_slice(&footer);
    out.write_all(&buf)
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
    if le_u32(footer, 16) != Some(END_MAGIC) {
        return Err(corrupt(f + 16, "footer magic missing (truncated file?)"));
    }
    if le_u32(footer, 20) != Some(crc(&[&footer[0..20]])) {
        return Err(corrupt(f + 20, "footer checksum mismatch"));
    }
    let count = le_u64(footer, 0).unwrap_or(0);
    if le_u64(footer, 8) != Some((f - HEADER_LEN) as u64) {
        return Err(corrupt(f + 8, "footer body length differs from the file length"));
    }
    target.reserve(count.min((f / RECORD_HEADER) as u64) as usize);
    let mut at = HEADER_LEN;
    let mut seen = 0u64;
    while at < f {
        let (Some(klen), Some(vlen), Some(stored)) =
            (le_u32(bytes, at), le_u32(bytes, at + 4), le_u32(bytes, at + 8))
        else {
            return Err(corrupt(at, "record header runs past the footer"));
        };
        if at + RECORD_HEADER > f {
            return Err(corrupt(at, "record header runs past the footer"));
        }
        let data_len = klen as u64 + if vlen == REMOVE { 0 } else { vlen as u64 };
        let start = at + RECORD_HEADER;
        let end = start as u64 + data_len;
        if end > f as u64 {
            return Err(corrupt(at, "record runs past the footer"));
        }
        let end = end as usize;
        let key = &bytes[start..start + klen as usize];
        let value = &bytes[start + klen as usize..end];
        if crc(&[&bytes[at..at + 8], key, value]) != stored {
            return Err(corrupt(at, "record checksum mismatch"));
        }
        if vlen == REMOVE {
            layer::remove(target, key, base_is_empty);
        } else {
            layer::put(target, key, value);
        }
        seen += 1;
        at = end;
    }
    if seen != count {
        return Err(corrupt(f, "record count differs from the footer"));
    }
    Ok(())
}

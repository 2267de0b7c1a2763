//! Byte-level constants shared by every state file, the common 48-byte header, little-endian field
//! access and file naming. `docs/state-format.md` is the prose version of this module.

use std::path::{Path, PathBuf};

use crate::error::{Result, StateError};

/// The file format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;

/// Magic of a delta file.
pub(crate) const DELTA_MAGIC: [u8; 8] = *b"EMBDELTA";
/// Magic of a snapshot file.
pub(crate) const SNAPSHOT_MAGIC: [u8; 8] = *b"EMBSNAPS";

/// Length of the header every state file starts with.
pub(crate) const HEADER_LEN: usize = 48;

/// What kind of state file a header belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FileKind {
    Delta,
    Snapshot,
}

impl FileKind {
    fn magic(self) -> [u8; 8] {
        match self {
            FileKind::Delta => DELTA_MAGIC,
            FileKind::Snapshot => SNAPSHOT_MAGIC,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileKind::Delta => "delta",
            FileKind::Snapshot => "snapshot",
        }
    }
}

/// `<version>.delta` or `<version>.snapshot`.
pub(crate) fn file_name(kind: FileKind, version: u64) -> String {
    format!("{version}.{}", kind.extension())
}

/// The path of a version file in a store directory.
pub(crate) fn file_path(dir: &Path, kind: FileKind, version: u64) -> PathBuf {
    dir.join(file_name(kind, version))
}

/// Parses a canonical version file name (no sign, no leading zeros); anything else is not ours.
pub(crate) fn parse_file_name(name: &str) -> Option<(FileKind, u64)> {
    let (stem, ext) = name.split_once('.')?;
    let kind = match ext {
        "delta" => FileKind::Delta,
        "snapshot" => FileKind::Snapshot,
        _ => return None,
    };
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: u64 = stem.parse().ok()?;
    (version.to_string() == stem).then_some((kind, version))
}

/// CRC-32 (IEEE, as computed by `crc32fast`) of the concatenation of `parts`.
pub(crate) fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// Reads a little-endian `u32` at `at`; the caller has checked the bounds.
pub(crate) fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian `u64` at `at`.
pub(crate) fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Encodes the common header:
///
/// ```text
/// 0  magic            [u8; 8]
/// 8  format_version   u32
/// 12 flags            u32   (0)
/// 16 schema_fingerprint u64
/// 24 version          u64
/// 32 reserved         u64   (0)
/// 40 reserved         u32   (0)
/// 44 header_crc       u32   CRC-32 of bytes 0..44
/// ```
pub(crate) fn encode_header(kind: FileKind, fingerprint: u64, version: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&kind.magic());
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&fingerprint.to_le_bytes());
    h[24..32].copy_from_slice(&version.to_le_bytes());
    let c = crc(&[&h[0..44]]);
    h[44..48].copy_from_slice(&c.to_le_bytes());
    h
}

/// Checks a header against what the caller expects. The order matters: a file from another
/// format version is reported as such (its header may be laid out differently, so its checksum
/// means nothing to us), and a real fingerprint mismatch is only reported once the checksum
/// shows the fingerprint bytes are intact.
pub(crate) fn check_header(
    bytes: &[u8],
    kind: FileKind,
    file: &Path,
    fingerprint: u64,
    version: u64,
) -> Result<()> {
    let corrupt = |offset: u64, reason: &'static str| StateError::Corrupt {
        file: file.to_path_buf(),
        version,
        offset,
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(bytes.len() as u64, "file is shorter than its header"));
    }
    if bytes[0..8] != kind.magic() {
        return Err(corrupt(0, "bad magic"));
    }
    let found = le_u32(bytes, 8).unwrap_or(0);
    if found != FORMAT_VERSION {
        return Err(StateError::UnsupportedFormat {
            file: file.to_path_buf(),
            found,
            expected: FORMAT_VERSION,
        });
    }
    if le_u32(bytes, 44) != Some(crc(&[&bytes[0..44]])) {
        return Err(corrupt(44, "header checksum mismatch"));
    }
    if bytes[12..16] != [0; 4] || bytes[32..44] != [0; 12] {
        return Err(corrupt(12, "reserved header bytes are not zero"));
    }
    let found_fp = le_u64(bytes, 16).unwrap_or(0);
    if found_fp != fingerprint {
        return Err(StateError::SchemaMismatch {
            file: file.to_path_buf(),
            found: found_fp,
            expected: fingerprint,
        });
    }
    if le_u64(bytes, 24) != Some(version) {
        return Err(corrupt(24, "header version differs from the file name"));
    }
    Ok(())
}

/// Rounds `n` up to a multiple of 8.
pub(crate) fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_canonical() {
        assert_eq!(parse_file_name("12.delta"), Some((FileKind::Delta, 12)));
        assert_eq!(parse_file_name("0.snapshot"), Some((FileKind::Snapshot, 0)));
        assert_eq!(parse_file_name("012.delta"), None);
        assert_eq!(parse_file_name("+1.delta"), None);
        assert_eq!(parse_file_name(".1.delta.tmp"), None);
        assert_eq!(parse_file_name("1.delta.tmp"), None);
        assert_eq!(parse_file_name("99999999999999999999999.delta"), None);
    }

    #[test]
    fn header_round_trips_and_refuses() {
        let h = encode_header(FileKind::Delta, 7, 3);
        let p = Path::new("3.delta");
        check_header(&h, FileKind::Delta, p, 7, 3).unwrap();
        assert!(matches!(
            check_header(&h, FileKind::Delta, p, 8, 3),
            Err(StateError::SchemaMismatch { found: 7, expected: 8, .. })
        ));
        assert!(check_header(&h, FileKind::Snapshot, p, 7, 3).is_err());
        let mut other = h;
        other[8] = 1;
        assert!(matches!(
            check_header(&other, FileKind::Delta, p, 7, 3),
            Err(StateError::UnsupportedFormat { found: 1, expected: 2, .. })
        ));
    }
}

//! The framing every checkpoint log file shares: a version line, then content lines, each ended
//! by `\n`; and the canonical JSON rule that makes decoding strict.
//!
//! Requiring the final `\n` is what turns any truncation inside a line into "incomplete"; the
//! line counts the entries check catch truncation at a line boundary.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{CheckpointError, CheckpointResult};

/// The version line this build writes, and the only one it reads.
pub const LOG_VERSION: &str = "v1";

/// `v1`, then each line, every line ended by `\n`.
pub(crate) fn encode(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + lines.iter().map(|l| l.len() + 1).sum::<usize>());
    out.extend_from_slice(LOG_VERSION.as_bytes());
    out.push(b'\n');
    for l in lines {
        debug_assert!(!l.contains('\n'));
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Splits a file into its content lines (without the version line), checking the framing. The
/// version is checked before completeness: a file of another version may be framed otherwise.
pub(crate) fn decode<'a>(file: &Path, bytes: &'a [u8]) -> CheckpointResult<Vec<&'a str>> {
    let incomplete = |reason| CheckpointError::Incomplete { file: file.to_path_buf(), reason };
    if bytes.is_empty() {
        return Err(incomplete("the file is empty"));
    }
    let Some(first_end) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(incomplete("the version line is not terminated"));
    };
    check_version(file, &bytes[..first_end])?;
    if bytes.last() != Some(&b'\n') {
        return Err(incomplete("the last line is not terminated"));
    }
    if first_end + 1 == bytes.len() {
        return Ok(Vec::new());
    }
    let body = &bytes[first_end + 1..bytes.len() - 1];
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line_no = i + 2;
            let s = std::str::from_utf8(line)
                .map_err(|_| malformed(file, line_no, "not valid UTF-8".into()))?;
            if s.is_empty() {
                return Err(malformed(file, line_no, "empty line".into()));
            }
            Ok(s)
        })
        .collect()
}

fn check_version(file: &Path, line: &[u8]) -> CheckpointResult<()> {
    if line == LOG_VERSION.as_bytes() {
        return Ok(());
    }
    let canonical_number = |d: &[u8]| {
        !d.is_empty() && d.iter().all(u8::is_ascii_digit) && (d[0] != b'0' || d.len() == 1)
    };
    match line.strip_prefix(b"v") {
        Some(d) if canonical_number(d) && d.len() <= 20 => {
            Err(CheckpointError::UnsupportedVersion {
                file: file.to_path_buf(),
                found: String::from_utf8_lossy(line).into_owned(),
                supported: LOG_VERSION,
            })
        }
        _ => Err(malformed(file, 1, format!("expected the version line {LOG_VERSION}"))),
    }
}

pub(crate) fn malformed(file: &Path, line: usize, reason: String) -> CheckpointError {
    CheckpointError::Malformed { file: file.to_path_buf(), line, reason }
}

/// Checks the number of content lines: fewer is a truncated file, more is trailing garbage.
pub(crate) fn expect_lines(file: &Path, lines: &[&str], n: usize) -> CheckpointResult<()> {
    if lines.len() < n {
        return Err(CheckpointError::Incomplete {
            file: file.to_path_buf(),
            reason: "the file ends before its last line",
        });
    }
    if lines.len() > n {
        return Err(malformed(
            file,
            n + 2,
            format!("unexpected line after the last entry line ({} extra)", lines.len() - n),
        ));
    }
    Ok(())
}

/// Serializes compactly; our own types always serialize.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("checkpoint entries serialize to JSON")
}

/// Parses one JSON line and insists it is exactly how `T` serializes, so that no two byte
/// strings decode to the same entry and every accepted file is one this build could write.
pub(crate) fn from_json<T: Serialize + DeserializeOwned>(
    file: &Path,
    line_no: usize,
    line: &str,
) -> CheckpointResult<T> {
    let value: T = serde_json::from_str(line)
        .map_err(|e| malformed(file, line_no, format!("invalid JSON: {e}")))?;
    if to_json(&value) != line {
        return Err(malformed(file, line_no, "JSON is not in canonical (compact) form".into()));
    }
    Ok(value)
}

//! The manifest log: `_ember_metadata/<batch>` lists the data files batch `<batch>` committed
//! (format in the module doc of [`super`]). Encoding is canonical and decoding strict: a file
//! is accepted only if re-encoding what was read gives back its exact bytes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MANIFEST_VERSION;
use crate::error::{EmberError, Result};

/// One data file of a committed batch: one JSON line of a manifest file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileEntry {
    /// The file's name, relative to the output directory.
    pub(super) path: String,
    /// Its length in bytes.
    pub(super) size: u64,
    /// The batch that wrote it (the manifest file's name).
    pub(super) batch: u64,
    /// How many rows it holds.
    pub(super) rows: u64,
}

/// Line 2 of a manifest file: whose files it lists and how many, so that a file cut at a line
/// boundary is told apart from a batch with fewer files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Header {
    batch: u64,
    num_files: u64,
}

/// The bytes of the manifest of batch `batch`, which wrote `entries`.
pub(super) fn encode(batch: u64, entries: &[FileEntry]) -> Vec<u8> {
    let header = Header { batch, num_files: entries.len() as u64 };
    let mut out = format!("{MANIFEST_VERSION}\n");
    out.push_str(&serde_json::to_string(&header).expect("manifest headers serialize"));
    out.push('\n');
    for e in entries {
        out.push_str(&serde_json::to_string(e).expect("manifest entries serialize"));
        out.push('\n');
    }
    out.into_bytes()
}

/// Parses one JSON line, insisting on the exact bytes this build writes for it.
fn canonical<T: Serialize + serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<T, String> {
    let value: T = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if serde_json::to_string(&value).ok().as_deref() != Some(text) {
        return Err("JSON is not in canonical (compact) form".into());
    }
    Ok(value)
}

/// The data file names a manifest may list: `part-` names without a directory part.
fn valid_data_name(name: &str) -> bool {
    name.starts_with("part-")
        && !name.contains(['/', '\\', '\0', '\n', '\r'])
        && name != "."
        && name != ".."
}

/// A canonical batch file name: decimal, no sign, no leading zeros, at most `i64::MAX`.
pub(super) fn parse_batch_name(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: u64 = name.parse().ok()?;
    (id.to_string() == name && id <= i64::MAX as u64).then_some(id)
}

fn bad(sink: &str, file: &Path, reason: impl std::fmt::Display) -> EmberError {
    EmberError::sink(sink, format!("manifest file {}: {reason}", file.display()))
}

/// Parses the manifest `file` of batch `batch`, strictly; every error names the file.
pub(super) fn decode(sink: &str, file: &Path, batch: u64, bytes: &[u8]) -> Result<Vec<FileEntry>> {
    if bytes.is_empty() {
        return Err(bad(sink, file, "incomplete: the file is empty"));
    }
    let Some(first_end) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(bad(sink, file, "incomplete: the version line is not terminated"));
    };
    let version = &bytes[..first_end];
    if version != MANIFEST_VERSION.as_bytes() {
        let found = String::from_utf8_lossy(version);
        let numbered = version.strip_prefix(b"v").is_some_and(|d| {
            !d.is_empty() && d.len() <= 20 && d.iter().all(u8::is_ascii_digit) && d[0] != b'0'
        });
        return Err(if numbered {
            bad(
                sink,
                file,
                format!(
                    "unsupported version {found}: this build of Ember reads only \
                     {MANIFEST_VERSION}; it was written by another version of Ember"
                ),
            )
        } else {
            bad(sink, file, format!("line 1: expected the version line {MANIFEST_VERSION}"))
        });
    }
    if bytes.last() != Some(&b'\n') {
        return Err(bad(sink, file, "incomplete: the last line is not terminated"));
    }
    if first_end + 1 == bytes.len() {
        return Err(bad(sink, file, "incomplete: the file ends after the version line"));
    }
    let body = &bytes[first_end + 1..bytes.len() - 1];
    let mut lines = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 2;
        let text = std::str::from_utf8(line)
            .map_err(|_| bad(sink, file, format!("line {line_no}: not valid UTF-8")))?;
        if text.is_empty() {
            return Err(bad(sink, file, format!("line {line_no}: empty line")));
        }
        lines.push(text);
    }
    let header: Header =
        canonical(lines[0]).map_err(|r| bad(sink, file, format!("line 2: {r}")))?;
    if header.batch != batch {
        return Err(bad(sink, file, format!("line 2: is the manifest of batch {}", header.batch)));
    }
    let files = lines.len() as u64 - 1;
    if files < header.num_files {
        return Err(bad(
            sink,
            file,
            format!("incomplete: {files} of the {} file lines it announces", header.num_files),
        ));
    }
    if files > header.num_files {
        return Err(bad(
            sink,
            file,
            format!(
                "line {}: unexpected line after the {} file lines it announces",
                header.num_files + 3,
                header.num_files
            ),
        ));
    }
    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    for (i, text) in lines[1..].iter().enumerate() {
        let line_no = i + 3;
        let at = |reason: String| bad(sink, file, format!("line {line_no}: {reason}"));
        let entry: FileEntry = canonical(text).map_err(at)?;
        if entry.batch != batch {
            return Err(at(format!("lists a file of batch {}, not of batch {batch}", entry.batch)));
        }
        if !valid_data_name(&entry.path) {
            return Err(at(format!("'{}' is not a data file name", entry.path)));
        }
        if !names.insert(entry.path.clone()) {
            return Err(at(format!("lists '{}' twice", entry.path)));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// The manifest ids in `meta` (canonical decimal names; temporary files, `.lock` and any
/// other names are ignored).
pub(super) fn list_ids(meta: &Path) -> Result<BTreeSet<u64>> {
    let rd = std::fs::read_dir(meta).map_err(|e| EmberError::io(meta, e))?;
    let mut ids = BTreeSet::new();
    for entry in rd {
        let entry = entry.map_err(|e| EmberError::io(meta, e))?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_batch_name) {
            ids.insert(id);
        }
    }
    Ok(ids)
}

/// Reads and parses the manifest of `batch`; `None` if it does not exist.
pub(super) fn read(sink: &str, meta: &Path, batch: u64) -> Result<Option<Vec<FileEntry>>> {
    let file = meta.join(batch.to_string());
    match std::fs::read(&file) {
        Ok(bytes) => decode(sink, &file, batch, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EmberError::io(&file, e)),
    }
}

/// Checks that every file `entries` lists is in `dir` with its recorded size; the error
/// names the manifest and every missing or damaged file.
pub(super) fn check_files(
    sink: &str,
    dir: &Path,
    manifest: &Path,
    entries: &[FileEntry],
) -> Result<Vec<PathBuf>> {
    let mut problems = Vec::new();
    let mut paths = Vec::with_capacity(entries.len());
    for e in entries {
        let path = dir.join(&e.path);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() == e.size => {}
            Ok(m) if m.is_file() => problems.push(format!(
                "{} has {} bytes, the manifest says {}",
                path.display(),
                m.len(),
                e.size
            )),
            Ok(_) => problems.push(format!("{} is not a file", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                problems.push(format!("{} does not exist", path.display()));
            }
            Err(err) => return Err(EmberError::io(&path, err)),
        }
        paths.push(path);
    }
    if problems.is_empty() {
        Ok(paths)
    } else {
        Err(EmberError::sink(
            sink,
            format!(
                "manifest file {} lists data files that are missing or damaged: {} (were they \
                 deleted, or does another query write to this output path?)",
                manifest.display(),
                problems.join("; ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(batch: u64) -> FileEntry {
        FileEntry { path: format!("part-{batch:05}-x.json"), size: 12, batch, rows: 2 }
    }

    #[test]
    fn round_trip_and_strictness() {
        let f = Path::new("/o/_ember_metadata/3");
        let bytes = encode(3, &[entry(3)]);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "v1\n{\"batch\":3,\"numFiles\":1}\n\
             {\"path\":\"part-00003-x.json\",\"size\":12,\"batch\":3,\"rows\":2}\n"
        );
        assert_eq!(decode("s", f, 3, &bytes).unwrap(), vec![entry(3)]);
        let two = [entry(3), FileEntry { path: "part-00003-y.json".into(), ..entry(3) }];
        assert_eq!(decode("s", f, 3, &encode(3, &two)).unwrap(), two);
        let empty = encode(3, &[]);
        assert_eq!(empty, b"v1\n{\"batch\":3,\"numFiles\":0}\n");
        assert_eq!(decode("s", f, 3, &empty).unwrap(), vec![]);
        let err = |b: &[u8], batch| decode("s", f, batch, b).unwrap_err().to_string();
        assert!(err(&bytes, 4).contains("batch 3"));
        // Every truncation, at a line boundary or not, is refused and names the file.
        for cut in 0..bytes.len() {
            let e = err(&bytes[..cut], 3);
            assert!(e.contains("/o/_ember_metadata/3"), "{e}");
        }
        assert!(err(b"v2\n", 3).contains("v2"));
        assert!(err(b"v2\n", 3).contains("v1"));
        assert!(err(b"V1\n", 3).contains("line 1"));
        assert!(err(b"v1\n\n", 3).contains("empty line"));
        let with = |line: &str| format!("v1\n{{\"batch\":3,\"numFiles\":1}}\n{line}\n");
        assert!(
            err(with(r#"{"path":"part-a", "size":1,"batch":3,"rows":0}"#).as_bytes(), 3)
                .contains("canonical")
        );
        assert!(
            err(with(r#"{"path":"../x","size":1,"batch":3,"rows":0}"#).as_bytes(), 3)
                .contains("not a data file name")
        );
        assert!(
            err(with(r#"{"path":"part-a","size":1,"batch":3}"#).as_bytes(), 3)
                .contains("invalid JSON")
        );
        assert!(
            err(with(r#"{"path":"part-a","size":1,"batch":2,"rows":0}"#).as_bytes(), 3)
                .contains("not of batch 3")
        );
        let twice = encode(3, &[entry(3), entry(3)]);
        assert!(err(&twice, 3).contains("twice"));
        let extra = [&bytes[..], b"{}\n"].concat();
        assert!(err(&extra, 3).contains("line 4"));
    }

    #[test]
    fn batch_names_are_canonical() {
        assert_eq!(parse_batch_name("0"), Some(0));
        assert_eq!(parse_batch_name("17"), Some(17));
        for bad in ["", "01", "+1", ".lock", ".3.123.0.tmp", "3 "] {
            assert_eq!(parse_batch_name(bad), None, "{bad:?}");
        }
    }
}

//! The seen-files log of a file source (Spark's `FileStreamSourceLog`): one file per log
//! entry in the source's checkpoint directory, named by the entry number (`sources/0/0`,
//! `sources/0/1`, ...), each written once, atomically, with [`FsLogStore::create_new`].
//!
//! An entry is the line `v1` followed by one JSON line per file it added, in the order the
//! batch reads them: `{"path":"part-1.txt","timestamp":1700000000000,"batchId":3}`, where
//! `path` is the file's name relative to the source directory, `timestamp` its modification
//! time in ms since the epoch when listed, and `batchId` the entry number.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use ember_state::checkpoint::{FsLogStore, LogStore};
use serde::{Deserialize, Serialize};

use crate::error::{EmberError, Result};

/// The version line every entry starts with.
const VERSION: &str = "v1";

/// One file of a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LoggedFile {
    /// The name relative to the source directory.
    pub(crate) path: String,
    /// Modification time when listed, ms since the epoch.
    pub(crate) timestamp: i64,
    /// The entry number.
    pub(crate) batch_id: u64,
}

/// The log, entirely in memory too: entries are small and few compared to the files read.
pub(crate) struct FileLog {
    store: FsLogStore,
    entries: BTreeMap<u64, Vec<LoggedFile>>,
    seen: HashSet<String>,
    /// An entry decided but not yet written (see [`FileLog::stage`]).
    staged: Option<(u64, Vec<LoggedFile>)>,
}

impl FileLog {
    /// Opens (creating if missing) the log in `dir` and reads every entry.
    pub(crate) fn open(dir: &Path) -> Result<FileLog> {
        let store = FsLogStore::open(dir)?;
        let mut log =
            FileLog { store, entries: BTreeMap::new(), seen: HashSet::new(), staged: None };
        for id in log.store.list("")? {
            let name = id.to_string();
            let Some(bytes) = log.store.read(&name)? else {
                return Err(corrupt(&log.store, id, "it vanished while being read".to_owned()));
            };
            let files = decode(&bytes, id).map_err(|reason| corrupt(&log.store, id, reason))?;
            log.seen.extend(files.iter().map(|f| f.path.clone()));
            log.entries.insert(id, files);
        }
        Ok(log)
    }

    /// The number of the last entry, if any.
    pub(crate) fn last(&self) -> Option<u64> {
        self.entries.keys().next_back().copied()
    }

    /// The files of entry `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&[LoggedFile]> {
        self.entries.get(&id).map(Vec::as_slice)
    }

    /// Whether some entry has the file `path`.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.seen.contains(path)
    }

    /// The full path of entry `id`, for messages.
    pub(crate) fn entry_path(&self, id: u64) -> std::path::PathBuf {
        self.store.path(&id.to_string())
    }

    /// Decides entry `id` with `files` without writing it yet: [`persist`](FileLog::persist)
    /// writes it, and until then the log reads as if it had not been added.
    pub(crate) fn stage(&mut self, id: u64, files: Vec<LoggedFile>) {
        debug_assert!(self.staged.is_none(), "an entry is staged already");
        self.staged = Some((id, files));
    }

    /// Writes the staged entry, if any (durably, never overwriting one that exists).
    pub(crate) fn persist(&mut self) -> Result<()> {
        let Some((id, files)) = self.staged.take() else { return Ok(()) };
        self.store.create_new(&id.to_string(), &encode(&files))?;
        self.seen.extend(files.iter().map(|f| f.path.clone()));
        self.entries.insert(id, files);
        Ok(())
    }
}

fn corrupt(store: &FsLogStore, id: u64, reason: String) -> EmberError {
    EmberError::source(
        "FileStreamSource",
        format!(
            "the seen-files log entry {} is unreadable: {reason}",
            store.path(&id.to_string()).display()
        ),
    )
}

/// The bytes of an entry.
fn encode(files: &[LoggedFile]) -> Vec<u8> {
    let mut out = String::from(VERSION);
    out.push('\n');
    for file in files {
        // Serializing a struct of a string and numbers cannot fail.
        out.push_str(&serde_json::to_string(file).unwrap_or_default());
        out.push('\n');
    }
    out.into_bytes()
}

/// The files of an entry's bytes; the error says what is wrong.
fn decode(bytes: &[u8], id: u64) -> Result<Vec<LoggedFile>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut lines = text.lines();
    match lines.next() {
        Some(VERSION) => {}
        Some(other) => {
            return Err(format!("unsupported version line '{other}', expected '{VERSION}'"));
        }
        None => return Err("it is empty".to_owned()),
    }
    let mut files = Vec::new();
    for (i, line) in lines.enumerate() {
        let file: LoggedFile =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 2))?;
        if file.batch_id != id {
            return Err(format!("line {}: batchId {} in entry {id}", i + 2, file.batch_id));
        }
        files.push(file);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_corruption_is_reported() {
        let files = vec![
            LoggedFile { path: "a \"b\".txt".into(), timestamp: 17, batch_id: 4 },
            LoggedFile { path: "c".into(), timestamp: -1, batch_id: 4 },
        ];
        let bytes = encode(&files);
        assert!(std::str::from_utf8(&bytes).unwrap().starts_with("v1\n{\"path\":"));
        assert_eq!(decode(&bytes, 4).unwrap(), files);
        assert!(decode(&bytes, 5).unwrap_err().contains("batchId 4"));
        assert!(decode(b"v2\n", 0).unwrap_err().contains("version"));
        assert!(decode(b"", 0).unwrap_err().contains("empty"));
        assert!(decode(b"v1\n{\"path\":1}\n", 0).unwrap_err().contains("line 2"));
        assert_eq!(decode(b"v1\n", 0).unwrap(), vec![]);
    }
}

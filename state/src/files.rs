//! What a store directory holds: listing its version files, and sweeping temporary files left by
//! processes that died mid-write.

use std::collections::BTreeSet;
use std::path::Path;

use crate::atomic::temp_owner;
use crate::error::{Result, StateError};
use crate::format::{FileKind, parse_file_name};

/// The version files present in a directory.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) deltas: BTreeSet<u64>,
    pub(crate) snapshots: BTreeSet<u64>,
}

impl Listing {
    /// The newest version any file describes, 0 when there is none.
    pub(crate) fn latest(&self) -> u64 {
        let d = self.deltas.last().copied().unwrap_or(0);
        let s = self.snapshots.last().copied().unwrap_or(0);
        d.max(s)
    }

    /// The newest snapshot at or below `version`.
    pub(crate) fn snapshot_at_or_below(&self, version: u64) -> Option<u64> {
        self.snapshots.range(..=version).next_back().copied()
    }
}

/// Lists the version files of `dir`; other names are not ours and are ignored.
pub(crate) fn list(dir: &Path) -> Result<Listing> {
    let mut out = Listing::default();
    let rd = std::fs::read_dir(dir).map_err(|e| StateError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| StateError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        match parse_file_name(name) {
            Some((FileKind::Delta, v)) => {
                out.deltas.insert(v);
            }
            Some((FileKind::Snapshot, v)) => {
                out.snapshots.insert(v);
            }
            None => {}
        }
    }
    Ok(out)
}

/// Deletes temporary files whose writing process no longer runs. A live writer's temporary
/// files are left alone, so that its rename still finds them.
pub(crate) fn sweep_dead_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let rd = std::fs::read_dir(dir).map_err(|e| StateError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| StateError::io(dir, e))?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let p = entry.path();
            match std::fs::remove_file(&p) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::io(p, e)),
            }
        }
    }
    Ok(removed)
}

//! A version held in memory: an optional memory-mapped snapshot plus the overlay of every delta
//! committed after it. Building one costs the deltas, never the snapshot's size.

use std::path::Path;
use std::sync::Arc;

use crate::delta;
use crate::error::Result;
use crate::files::Listing;
use crate::format::{FileKind, file_path};
use crate::layer::Layer;
use crate::snapshot::{Snapshot, SnapshotIter};

/// The state of one version.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub(crate) version: u64,
    pub(crate) snapshot: Option<Arc<Snapshot>>,
    /// Puts and tombstones over `snapshot` (only puts when there is no snapshot).
    pub(crate) overlay: Layer,
}

impl Loaded {
    /// Version 0: the empty state.
    pub(crate) fn empty() -> Loaded {
        Loaded {
            version: 0,
            snapshot: None,
            overlay: Layer::default(),
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<&[u8]>> {
        match self.overlay.get(key) {
            Some(v) => Ok(v.as_deref()),
            None => match &self.snapshot {
                Some(s) => s.get(key),
                None => Ok(None),
            },
        }
    }

    pub(crate) fn snapshot_iter(&self) -> Option<SnapshotIter<'_>> {
        self.snapshot.as_deref().map(Snapshot::iter)
    }

    /// Builds `version` from the files in `dir`, starting from `cached` when that is a closer
    /// starting point than the newest snapshot at or below `version`.
    pub(crate) fn build(
        dir: &Path,
        fingerprint: u64,
        listing: &Listing,
        version: u64,
        cached: Option<&Arc<Loaded>>,
    ) -> Result<Loaded> {
        let snap = listing.snapshot_at_or_below(version);
        let mut base = match cached {
            Some(c) if c.version <= version && c.version > snap.unwrap_or(0) => Loaded::clone(c),
            _ => match snap {
                Some(s) => Loaded {
                    version: s,
                    snapshot: Some(Arc::new(Snapshot::open(
                        &file_path(dir, FileKind::Snapshot, s),
                        fingerprint,
                        s,
                    )?)),
                    overlay: Layer::default(),
                },
                None => Loaded::empty(),
            },
        };
        let no_snapshot = base.snapshot.is_none();
        for v in base.version + 1..=version {
            let path = file_path(dir, FileKind::Delta, v);
            delta::apply_file(&path, fingerprint, v, &mut base.overlay, no_snapshot)?;
        }
        base.version = version;
        Ok(base)
    }
}

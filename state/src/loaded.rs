//! A version held in memory: an optional memory-mapped snapshot plus a stack of change layers,
//! one per commit made through this process (or one for all the deltas read at load). Building
//! one costs the deltas, never the snapshot's size; committing pushes a layer and merges nothing.

use std::path::Path;
use std::sync::Arc;

use crate::delta;
use crate::error::Result;
use crate::files::Listing;
use crate::format::{FileKind, file_path};
use crate::layer::Layer;
use crate::snapshot::{Snapshot, SnapshotIter};

/// Beyond this many layers a commit merges them into one, so lookups stay bounded even when
/// maintenance never runs. Maintenance normally keeps the stack short by rebasing the cached
/// version onto each new snapshot.
pub(crate) const MAX_LAYERS: usize = 32;

/// The changes that turn version `from` into version `to`.
pub(crate) struct Level {
    pub(crate) from: u64,
    pub(crate) to: u64,
    /// Puts, and tombstones over everything below (the bottom layer of a version without a
    /// snapshot holds no tombstones).
    pub(crate) map: Layer,
}

/// The state of one version.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub(crate) version: u64,
    /// The snapshot at the bottom, and its version (0 and `None` for the empty state).
    pub(crate) snapshot: Option<Arc<Snapshot>>,
    pub(crate) snapshot_version: u64,
    /// Oldest first; each `from` is the previous `to`, the first `from` is `snapshot_version`.
    pub(crate) layers: Vec<Arc<Level>>,
}

impl Loaded {
    /// Version 0: the empty state.
    pub(crate) fn empty() -> Loaded {
        Loaded { version: 0, snapshot: None, snapshot_version: 0, layers: Vec::new() }
    }

    /// The newest layer's entry for `key`: `Some(Some(v))` a put, `Some(None)` a remove.
    pub(crate) fn layered(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.layers.iter().rev().find_map(|l| l.map.get(key))
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<&[u8]>> {
        match self.layered(key) {
            Some(v) => Ok(v),
            None => match &self.snapshot {
                Some(s) => s.get(key),
                None => Ok(None),
            },
        }
    }

    pub(crate) fn snapshot_iter(&self) -> Option<SnapshotIter<'_>> {
        self.snapshot.as_deref().map(Snapshot::iter)
    }

    /// The layers merged into one map (tombstones kept only over a snapshot).
    pub(crate) fn merged_layers(&self) -> Layer {
        let mut out = Layer::default();
        let no_snapshot = self.snapshot.is_none();
        for l in &self.layers {
            for (k, v) in l.map.iter() {
                match v {
                    Some(v) => out.put(k, v),
                    None => out.remove(k, no_snapshot),
                }
            }
        }
        out
    }

    /// This version with `writes` committed on top as `version + 1`.
    pub(crate) fn push(&self, writes: Layer) -> Loaded {
        let mut next = self.clone();
        next.layers.push(Arc::new(Level { from: self.version, to: self.version + 1, map: writes }));
        next.version += 1;
        if next.layers.len() > MAX_LAYERS {
            let map = next.merged_layers();
            let from = next.snapshot_version;
            next.layers = vec![Arc::new(Level { from, to: next.version, map })];
        }
        next
    }

    /// The same version on top of `snapshot` (of version `at`), if the layer boundaries allow.
    pub(crate) fn rebased(&self, snapshot: Arc<Snapshot>, at: u64) -> Option<Loaded> {
        if at <= self.snapshot_version || at > self.version {
            return None;
        }
        // Layers are contiguous, so one ending at `at` means none straddles it.
        if !self.layers.iter().any(|l| l.to == at) {
            return None;
        }
        Some(Loaded {
            version: self.version,
            snapshot: Some(snapshot),
            snapshot_version: at,
            layers: self.layers.iter().filter(|l| l.from >= at).cloned().collect(),
        })
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
                    snapshot_version: s,
                    layers: Vec::new(),
                },
                None => Loaded::empty(),
            },
        };
        if base.version == version {
            return Ok(base);
        }
        // A bottom layer over the empty state needs no tombstones.
        let bare = base.snapshot.is_none() && base.layers.is_empty();
        let mut map = Layer::default();
        for v in base.version + 1..=version {
            let path = file_path(dir, FileKind::Delta, v);
            delta::apply_file(&path, fingerprint, v, &mut map, bare)?;
        }
        base.layers.push(Arc::new(Level { from: base.version, to: version, map }));
        base.version = version;
        Ok(base)
    }
}

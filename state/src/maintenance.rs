//! Maintenance, off the commit path: write a snapshot when enough deltas have accumulated, and
//! delete files that no retained version needs. Also the background thread that runs it.

use std::iter::Peekable;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use hashbrown::HashTable;

use crate::atomic;
use crate::error::{Result, StateError};
use crate::files::{self, Listing};
use crate::format::{FileKind, file_path};
use crate::loaded::Loaded;
use crate::provider::{Shared, lock};
use crate::snapshot::{self, Snapshot, SnapshotIter};

/// What one maintenance pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// The version a snapshot was written for, if one was.
    pub snapshot_written: Option<u64>,
    /// Number of files deleted.
    pub files_deleted: usize,
}

/// One pass: snapshot if due, then clean up.
pub(crate) fn run(shared: &Shared) -> Result<MaintenanceReport> {
    let _guard = lock(&shared.maintenance_lock);
    let mut report = MaintenanceReport::default();
    let listing = files::list(&shared.dir)?;
    let latest = listing.latest();
    let newest_snapshot = listing.snapshots.last().copied().unwrap_or(0);
    if latest > 0 && latest - newest_snapshot >= shared.config.snapshot_interval {
        let loaded = shared.loaded(latest)?;
        write_snapshot(shared, &loaded)?;
        report.snapshot_written = Some(latest);
    }
    let listing = files::list(&shared.dir)?;
    rebase_cache(shared, &listing)?;
    report.files_deleted = cleanup(shared, &listing)?;
    Ok(report)
}

/// A key's hash, the key, and its change: `Some(value)` a put, `None` a remove.
type HashedChange<'a> = (u64, &'a [u8], Option<&'a [u8]>);

/// Writes the snapshot file of `loaded.version`.
pub(crate) fn write_snapshot(shared: &Shared, loaded: &Loaded) -> Result<()> {
    // Each key's newest change: the layers newest first, the first of each key kept. Only the
    // distinct keys are sorted, not every layer's entries: a stream's keys recur from batch to
    // batch, so the layers since the last snapshot hold each key about once per batch.
    // The layers keep each key's hash, so this hashes nothing.
    let entries = loaded.layers.iter().map(|l| l.map.len()).max().unwrap_or(0);
    let mut newest: HashTable<HashedChange<'_>> = HashTable::with_capacity(entries);
    for l in loaded.layers.iter().rev() {
        for (hash, k, v) in l.map.iter_hashed() {
            if let hashbrown::hash_table::Entry::Vacant(slot) =
                newest.entry(hash, |e| e.0 == hash && e.1 == k, |e| e.0)
            {
                slot.insert((hash, k, v));
            }
        }
    }
    let mut changes: Vec<(&[u8], Option<&[u8]>)> =
        newest.into_iter().map(|(_, k, v)| (k, v)).collect();
    changes.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let merged = Merge {
        snap: loaded.snapshot_iter().map(Iterator::peekable),
        overlay: changes.into_iter().peekable(),
    };
    let path = file_path(&shared.dir, FileKind::Snapshot, loaded.version);
    let block = shared.config.snapshot_block_size;
    atomic::publish(&path, shared.hook(), |w, temp| {
        snapshot::write(w, temp, merged, shared.fingerprint, loaded.version, block)
    })
}

/// Puts the cached version on top of the newest snapshot, dropping the layers it contains, so
/// memory and lookup depth stay bounded by the deltas since that snapshot.
fn rebase_cache(shared: &Shared, listing: &Listing) -> Result<()> {
    let Some(cached) = lock(&shared.cache).clone() else {
        return Ok(());
    };
    let Some(at) = listing.snapshot_at_or_below(cached.version) else {
        return Ok(());
    };
    if at <= cached.snapshot_version {
        return Ok(());
    }
    let path = file_path(&shared.dir, FileKind::Snapshot, at);
    let snap = Arc::new(Snapshot::open(&path, shared.fingerprint, at)?);
    if let Some(rebased) = cached.rebased(snap, at) {
        let mut cache = lock(&shared.cache);
        // Only if no commit or load replaced it meanwhile.
        if cache.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cached)) {
            *cache = Some(Arc::new(rebased));
        }
    }
    Ok(())
}

/// Merges a snapshot's entries with a key-sorted overlay into the live entries, in key order.
struct Merge<'a, O: Iterator<Item = (&'a [u8], Option<&'a [u8]>)>> {
    snap: Option<Peekable<SnapshotIter<'a>>>,
    overlay: Peekable<O>,
}

impl<'a, O: Iterator<Item = (&'a [u8], Option<&'a [u8]>)>> Iterator for Merge<'a, O> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let s = match self.snap.as_mut().and_then(|s| s.peek()) {
                Some(Ok((k, _))) => Some(*k),
                Some(Err(_)) => return self.snap.as_mut().and_then(|s| s.next()),
                None => None,
            };
            let o = self.overlay.peek().map(|(k, _)| *k);
            match (s, o) {
                (None, None) => return None,
                (Some(sk), Some(ok)) if ok <= sk => {
                    if ok == sk {
                        self.snap.as_mut().and_then(|s| s.next());
                    }
                    if let Some((k, Some(v))) = self.overlay.next() {
                        return Some(Ok((k, v)));
                    }
                }
                (Some(_), _) => return self.snap.as_mut().and_then(|s| s.next()),
                (None, Some(_)) => {
                    if let Some((k, Some(v))) = self.overlay.next() {
                        return Some(Ok((k, v)));
                    }
                }
            }
        }
    }
}

/// Deletes every file older than the oldest one needed to load the retained versions
/// (`latest - min_versions_to_retain + 1 ..= latest`). Oldest first, so a crash part-way
/// leaves a directory that still loads every retained version.
fn cleanup(shared: &Shared, listing: &Listing) -> Result<usize> {
    let latest = listing.latest();
    let keep = shared.config.min_versions_to_retain;
    if latest < keep {
        return Ok(0);
    }
    let earliest = latest + 1 - keep;
    let Some(base) = listing.snapshot_at_or_below(earliest) else {
        return Ok(0);
    };
    let mut doomed: Vec<_> = listing
        .deltas
        .range(..=base)
        .map(|&v| (v, FileKind::Delta))
        .chain(listing.snapshots.range(..base).map(|&v| (v, FileKind::Snapshot)))
        .collect();
    doomed.sort();
    for (v, kind) in &doomed {
        atomic::remove(&file_path(&shared.dir, *kind, *v), shared.hook())?;
    }
    if !doomed.is_empty() {
        atomic::sync_dir(&shared.dir)?;
    }
    Ok(doomed.len())
}

pub(crate) enum Msg {
    Committed,
    Stop,
}

/// The background maintenance thread of one provider.
pub(crate) struct Worker {
    tx: mpsc::Sender<Msg>,
    handle: JoinHandle<()>,
}

impl Worker {
    pub(crate) fn start(shared: Arc<Shared>) -> Result<Worker> {
        let (tx, rx) = mpsc::channel();
        *lock(&shared.notify) = Some(tx.clone());
        let name = format!("ember-state-maintenance {}", shared.dir.display());
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker_loop(&shared, &rx))
            .map_err(|e| StateError::Internal(format!("cannot start maintenance thread: {e}")))?;
        Ok(Worker { tx, handle })
    }

    pub(crate) fn stop(self) {
        let _ = self.tx.send(Msg::Stop);
        let _ = self.handle.join();
    }
}

fn worker_loop(shared: &Shared, rx: &mpsc::Receiver<Msg>) {
    while let Ok(Msg::Committed) = rx.recv() {
        // Commits that arrived while the last pass ran need only one more pass.
        let mut stop = false;
        while let Ok(m) = rx.try_recv() {
            stop |= matches!(m, Msg::Stop);
        }
        if stop {
            break;
        }
        if let Err(e) = run(shared) {
            *lock(&shared.maintenance_error) = Some(e);
        }
    }
    *lock(&shared.notify) = None;
}

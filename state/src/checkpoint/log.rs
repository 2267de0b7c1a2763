//! The two batch-numbered logs, [`OffsetLog`] (`offsets/<batch>`) and [`CommitLog`]
//! (`commits/<batch>`): typed add, get, latest and purge over a [`LogStore`] (Spark's
//! `HDFSMetadataLog`).

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::entry::{CommitEntry, OffsetEntry};
use super::error::CheckpointResult;
use super::store::{LogStore, PreparedFile};

/// An entry type stored one file per batch.
pub trait LogEntry: Sized {
    /// The log's directory under the checkpoint root.
    const DIR: &'static str;
    /// The file's bytes.
    fn encode(&self) -> Vec<u8>;
    /// Parses a file strictly.
    fn decode(file: &Path, bytes: &[u8]) -> CheckpointResult<Self>;
}

impl LogEntry for OffsetEntry {
    const DIR: &'static str = "offsets";
    fn encode(&self) -> Vec<u8> {
        OffsetEntry::encode(self)
    }
    fn decode(file: &Path, bytes: &[u8]) -> CheckpointResult<Self> {
        OffsetEntry::decode(file, bytes)
    }
}

impl LogEntry for CommitEntry {
    const DIR: &'static str = "commits";
    fn encode(&self) -> Vec<u8> {
        CommitEntry::encode(self)
    }
    fn decode(file: &Path, bytes: &[u8]) -> CheckpointResult<Self> {
        CommitEntry::decode(file, bytes)
    }
}

/// A log of one entry per batch id.
pub struct BatchLog<E> {
    store: Arc<dyn LogStore>,
    _entry: PhantomData<fn() -> E>,
}

/// The write-ahead log: `offsets/<batch>`, written before the batch runs.
pub type OffsetLog = BatchLog<OffsetEntry>;
/// The commit log: `commits/<batch>`, written once the batch's output and state are committed.
pub type CommitLog = BatchLog<CommitEntry>;

impl<E: LogEntry> BatchLog<E> {
    /// The log kept in `store`.
    pub fn new(store: Arc<dyn LogStore>) -> Self {
        BatchLog { store, _entry: PhantomData }
    }

    fn name(batch: u64) -> String {
        format!("{}/{batch}", E::DIR)
    }

    /// The path of a batch's file, for messages.
    pub fn path(&self, batch: u64) -> PathBuf {
        self.store.path(&Self::name(batch))
    }

    /// Logs `entry` for `batch`. Fails with
    /// [`CheckpointError::ConcurrentWriter`](super::CheckpointError::ConcurrentWriter) if the
    /// batch is logged already: the file is never replaced.
    pub fn add(&self, batch: u64, entry: &E) -> CheckpointResult<()> {
        self.store.create_new(&Self::name(batch), &entry.encode())
    }

    /// Writes `entry` for `batch` durably but not yet visibly: publishing the result logs it,
    /// failing as [`add`](BatchLog::add) would. (The engine prepares a commit while the state it
    /// commits is still being written.)
    pub fn prepare(&self, batch: u64, entry: &E) -> CheckpointResult<PreparedFile<'_>> {
        self.store.prepare_new(&Self::name(batch), &entry.encode())
    }

    /// The entry of `batch`, if logged.
    pub fn get(&self, batch: u64) -> CheckpointResult<Option<E>> {
        let name = Self::name(batch);
        match self.store.read(&name)? {
            Some(bytes) => E::decode(&self.store.path(&name), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The logged batch ids.
    pub fn batches(&self) -> CheckpointResult<BTreeSet<u64>> {
        self.store.list(E::DIR)
    }

    /// The newest batch and its entry.
    pub fn latest(&self) -> CheckpointResult<Option<(u64, E)>> {
        let Some(batch) = self.batches()?.last().copied() else { return Ok(None) };
        match self.get(batch)? {
            Some(e) => Ok(Some((batch, e))),
            // Listed but gone: deleted concurrently, which only another writer does.
            None => Err(super::CheckpointError::ConcurrentWriter { path: self.path(batch) }),
        }
    }

    /// Deletes the entries of batches below `batch`, oldest first. Returns how many.
    pub fn purge_below(&self, batch: u64) -> CheckpointResult<usize> {
        self.store.purge_below(E::DIR, batch)
    }

    /// Keeps the newest `keep` (at least 1) entries of this log and deletes older ones.
    /// Call it only for batches known committed: the engine should use
    /// [`Checkpoint::purge`](super::Checkpoint::purge), which also keeps the two logs in the
    /// order recovery relies on.
    pub fn purge(&self, keep: u64) -> CheckpointResult<usize> {
        match self.batches()?.last() {
            Some(&latest) => self.purge_below((latest + 1).saturating_sub(keep.max(1))),
            None => Ok(0),
        }
    }
}

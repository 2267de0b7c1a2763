//! A streaming query's checkpoint logs and the recovery decision (Spark's
//! `StreamingQueryCheckpointMetadata`, `OffsetSeqLog`, `CommitLog`).
//!
//! ```text
//! <checkpoint>/
//!   metadata          v1 + {"id":"<uuid>"}: the query id, written once
//!   offsets/<batch>   write-ahead log: what the batch reads, written BEFORE it runs
//!   commits/<batch>   written AFTER the sink accepted the batch and the state committed
//!   sources/<i>/...   private to source i
//!   state/...         the state stores (docs/state-format.md)
//! ```
//!
//! Every file is published atomically and never overwritten ([`FsLogStore`]), starts with a
//! version line and is parsed strictly. Per batch `N` the engine calls, in this order:
//! [`OffsetLog::add`]`(N)`, runs the batch and hands it to the sink, commits the state stores,
//! [`CommitLog::add`]`(N)`, then optionally [`Checkpoint::purge`]. On start,
//! [`Checkpoint::recover`] says which batch runs next and with which offsets; the decision itself
//! is the pure [`decide`] / [`resolve`]. The format and the recovery table are specified in
//! `docs/checkpoint-format.md`.
//!
//! ```
//! # fn main() -> Result<(), ember_state::checkpoint::CheckpointError> {
//! use std::sync::Arc;
//! use ember_state::checkpoint::*;
//! let ckpt = Checkpoint::new(Arc::new(MemLogStore::new()));
//! let conf = PinnedConf::new(4, "xxh3-64/seed=42", 1);
//! let id = ckpt.query_id(None)?;
//! assert_eq!(ckpt.recover(&conf, 1)?.next, NextBatch::Fresh);
//! let entry = OffsetEntry {
//!     batch_watermark_ms: 0,
//!     batch_timestamp_ms: 1_700_000_000_000,
//!     conf: conf.clone(),
//!     offsets: vec![Some(SourceOffset::from_json(r#"{"line":10}"#).unwrap())],
//! };
//! ckpt.offsets().add(0, &entry)?;
//! // A crash here: batch 0 is re-run with the same offsets.
//! assert!(matches!(ckpt.recover(&conf, 1)?.next, NextBatch::Rerun { batch: 0, .. }));
//! ckpt.commits().add(0, &CommitEntry { next_batch_watermark_ms: 0 })?;
//! assert_eq!(ckpt.recover(&conf, 1)?.batch(), 1);
//! assert_eq!(ckpt.query_id(Some(&id))?, id);
//! # Ok(()) }
//! ```

mod entry;
mod error;
mod log;
mod metadata;
mod recovery;
mod store;
mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use entry::{
    CommitEntry, NUM_PARTITIONS_KEY, OffsetEntry, PARTITION_HASH_KEY, PinnedConf,
    ROW_FORMAT_VERSION_KEY, SourceOffset,
};
pub use error::{CheckpointError, CheckpointResult, RecoveryError};
pub use log::{BatchLog, CommitLog, LogEntry, OffsetLog};
pub use metadata::{
    METADATA_FILE, QueryId, decode_metadata, encode_metadata, open_or_create_query_id,
    read_query_id,
};
pub use recovery::{Decision, NextBatch, PinnedSettingKept, Recovery, decide, resolve};
pub use store::{Fault, FsLogStore, LogStore, MemLogStore, PreparedFile};
pub use text::LOG_VERSION;

/// One query's checkpoint: its metadata and both logs over one [`LogStore`].
pub struct Checkpoint {
    store: Arc<dyn LogStore>,
    offsets: OffsetLog,
    commits: CommitLog,
}

impl Checkpoint {
    /// The checkpoint kept in `store`.
    pub fn new(store: Arc<dyn LogStore>) -> Self {
        Checkpoint {
            offsets: OffsetLog::new(store.clone()),
            commits: CommitLog::new(store.clone()),
            store,
        }
    }

    /// The checkpoint in directory `dir` on the local file system, created if missing.
    pub fn open_dir(dir: impl Into<PathBuf>) -> CheckpointResult<Self> {
        Ok(Self::new(Arc::new(FsLogStore::open(dir)?)))
    }

    /// The store the files live in.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// The write-ahead log.
    pub fn offsets(&self) -> &OffsetLog {
        &self.offsets
    }

    /// The commit log.
    pub fn commits(&self) -> &CommitLog {
        &self.commits
    }

    /// The directory private to source `index` (`sources/<index>`), for its own logs; not
    /// created here.
    pub fn source_dir(&self, index: usize) -> PathBuf {
        self.store.path(&format!("sources/{index}"))
    }

    /// The query id: see [`open_or_create_query_id`].
    pub fn query_id(&self, expected: Option<&QueryId>) -> CheckpointResult<QueryId> {
        open_or_create_query_id(&*self.store, expected)
    }

    /// Decides what runs next from the logs (see [`decide`] and [`resolve`]), reading only the
    /// entries the decision needs. `configured` is this start's configuration; pinned settings
    /// in the checkpoint override it and are reported in [`Recovery::notes`].
    pub fn recover(
        &self,
        configured: &PinnedConf,
        num_sources: usize,
    ) -> CheckpointResult<Recovery> {
        let inconsistent =
            |source| CheckpointError::Inconsistent { dir: self.store.root().to_path_buf(), source };
        let decision =
            decide(&self.offsets.batches()?, &self.commits.batches()?).map_err(inconsistent)?;
        let (offset_ids, commit_id) = decision.needs();
        let mut offsets = BTreeMap::new();
        for batch in offset_ids {
            let entry =
                self.offsets.get(batch)?.ok_or_else(|| vanished(self.offsets.path(batch)))?;
            offsets.insert(batch, entry);
        }
        let mut commits = BTreeMap::new();
        if let Some(batch) = commit_id {
            let entry =
                self.commits.get(batch)?.ok_or_else(|| vanished(self.commits.path(batch)))?;
            commits.insert(batch, entry);
        }
        resolve(decision, &offsets, &commits, configured, num_sources).map_err(inconsistent)
    }

    /// Deletes old batches, keeping the newest `keep` (at least 1) committed ones and everything
    /// after them. Commits go first and each log oldest first, so a crash part-way leaves logs
    /// [`decide`] accepts. Returns how many files were deleted.
    pub fn purge(&self, keep: u64) -> CheckpointResult<usize> {
        let Some(&last) = self.commits.batches()?.last() else { return Ok(0) };
        let threshold = (last + 1).saturating_sub(keep.max(1));
        Ok(self.commits.purge_below(threshold)? + self.offsets.purge_below(threshold)?)
    }
}

/// A file listed a moment ago is gone: only another writer deletes log files.
fn vanished(path: PathBuf) -> CheckpointError {
    CheckpointError::ConcurrentWriter { path }
}

//! Errors of the checkpoint logs: [`CheckpointError`] for anything about a file (every variant
//! names it), and [`RecoveryError`] for a set of logs no run of the write protocol can leave.

use std::io;
use std::path::PathBuf;

use crate::error::StateError;

/// Result alias for checkpoint operations.
pub type CheckpointResult<T> = std::result::Result<T, CheckpointError>;

/// Everything that can go wrong reading or writing a checkpoint's logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// An operating-system call failed on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The file is empty or ends before its last line does (Spark: "Incomplete log file").
    #[error("incomplete log file {file}: {reason}")]
    Incomplete {
        /// The file.
        file: PathBuf,
        /// Where it stops.
        reason: &'static str,
    },

    /// The file was written in a log version this build does not read.
    #[error(
        "log file {file} has version {found}, but this build of Ember reads only {supported}; \
         it was written by another version of Ember"
    )]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The version line found, e.g. `v2`.
        found: String,
        /// The version this build reads and writes, `v1`.
        supported: &'static str,
    },

    /// A line of the file is not what the format allows.
    #[error("malformed log file {file}, line {line}: {reason}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A log file to be created exists already: some other query wrote it. Logs are never
    /// overwritten (Spark: `multiStreamingQueriesUsingPathConcurrentlyError`).
    #[error(
        "log file {path} already exists: another query is writing to this checkpoint \
         (two queries cannot share one checkpoint location)"
    )]
    ConcurrentWriter {
        /// The file that was about to be created.
        path: PathBuf,
    },

    /// The checkpoint belongs to another query.
    #[error("checkpoint metadata {file} belongs to query {found}, not to query {expected}")]
    OtherQuery {
        /// The `metadata` file.
        file: PathBuf,
        /// The query id in the file.
        found: String,
        /// The query id the caller expected.
        expected: String,
    },

    /// The logs are in a state the write protocol cannot produce: the checkpoint was edited or
    /// damaged, and guessing could lose or duplicate output.
    #[error("checkpoint {dir} is inconsistent: {source}")]
    Inconsistent {
        /// The checkpoint directory.
        dir: PathBuf,
        /// What is inconsistent.
        #[source]
        source: RecoveryError,
    },
}

impl CheckpointError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CheckpointError::Io { path: path.into(), source }
    }

    /// Maps an error of the shared atomic writer: a clash at the no-overwrite rename is another
    /// writer on this checkpoint.
    pub(crate) fn from_publish(target: &std::path::Path, e: StateError) -> Self {
        match e {
            StateError::AlreadyExists { path } => CheckpointError::ConcurrentWriter { path },
            StateError::Io { path, source } => CheckpointError::Io { path, source },
            other => CheckpointError::io(target, io::Error::other(other)),
        }
    }

    /// The file or directory this error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            CheckpointError::Io { path, .. } | CheckpointError::ConcurrentWriter { path } => path,
            CheckpointError::Incomplete { file, .. }
            | CheckpointError::UnsupportedVersion { file, .. }
            | CheckpointError::Malformed { file, .. }
            | CheckpointError::OtherQuery { file, .. } => file,
            CheckpointError::Inconsistent { dir, .. } => dir,
        }
    }
}

/// Why recovery refuses a pair of logs. Batch files are named relative to the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// A batch was committed but its offsets are not logged.
    #[error("commits/{batch} exists but offsets/{batch} does not")]
    CommitWithoutOffsets {
        /// The batch.
        batch: u64,
    },

    /// A log skips a batch id between two it holds.
    #[error("{log}/{missing} is missing although {log}/{below} and {log}/{above} exist")]
    Gap {
        /// `offsets` or `commits`.
        log: &'static str,
        /// The first missing batch.
        missing: u64,
        /// The batch before the gap.
        below: u64,
        /// The batch after the gap.
        above: u64,
    },

    /// Batches before the latest logged one were never committed: a batch's offsets are only
    /// written once the previous batch committed, so at most the latest may lack a commit.
    #[error(
        "offsets/{first_uncommitted} has no commits/{first_uncommitted}, but the later \
         offsets/{latest} exists: the offset log is ahead of the commit log by more than one batch"
    )]
    UncommittedBatches {
        /// The oldest logged batch after the last commit.
        first_uncommitted: u64,
        /// The latest batch in the offset log.
        latest: u64,
    },

    /// Re-running a batch needs the previous batch's offsets as its start, and they are gone.
    #[error(
        "re-running batch {batch} needs offsets/{} as its start offsets, which is missing",
        batch.saturating_sub(1)
    )]
    MissingStartOffsets {
        /// The batch to re-run.
        batch: u64,
    },

    /// The query reads from another number of sources than the checkpoint recorded.
    #[error(
        "offsets/{batch} records {logged} sources, but the query now has {configured}; \
         a checkpoint cannot be reused by a query with other sources"
    )]
    SourceCountChanged {
        /// The batch whose offsets were compared.
        batch: u64,
        /// Sources in the log.
        logged: usize,
        /// Sources in the query.
        configured: usize,
    },

    /// The caller supplied fewer log entries than the decision needs (a bug in the caller).
    #[error(
        "internal error (this is a bug in Ember): the content of {log}/{batch} was not supplied"
    )]
    EntryNotSupplied {
        /// `offsets` or `commits`.
        log: &'static str,
        /// The batch.
        batch: u64,
    },
}

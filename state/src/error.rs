//! The crate's error type: every failure names the file it concerns, and corruption names the
//! version and the byte offset where the damage was found.

use std::io;
use std::path::PathBuf;

/// Result alias for state-store operations.
pub type Result<T, E = StateError> = std::result::Result<T, E>;

/// Everything that can go wrong in the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// An operating-system call failed on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A file's bytes do not describe a valid state file: damaged or truncated.
    #[error("state file {file} (version {version}) is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// The state version the file belongs to.
        version: u64,
        /// Byte offset in the file where the damage was detected.
        offset: u64,
        /// What was wrong there.
        reason: &'static str,
    },

    /// A file needed to rebuild a version does not exist.
    #[error("state file {file} (version {version}) is missing: {reason}")]
    Missing {
        /// The file that should exist.
        file: PathBuf,
        /// The state version the file belongs to.
        version: u64,
        /// Why it is needed.
        reason: &'static str,
    },

    /// A file was written by another version of the file format.
    #[error(
        "state file {file} has format version {found}, but this build of Ember reads format \
         version {expected}"
    )]
    UnsupportedFormat {
        /// The file.
        file: PathBuf,
        /// The format version found in the file.
        found: u32,
        /// The format version this build reads and writes.
        expected: u32,
    },

    /// A file was written for another key/value schema.
    #[error(
        "state file {file} has schema fingerprint {found:#018x}, but the store was opened with \
         schema fingerprint {expected:#018x}"
    )]
    SchemaMismatch {
        /// The file.
        file: PathBuf,
        /// The fingerprint found in the file.
        found: u64,
        /// The fingerprint the caller opened the store with.
        expected: u64,
    },

    /// A version file already exists: some other writer (another query, or a retried task that
    /// already committed) shares this state directory. Existing versions are never overwritten.
    #[error(
        "state file {path} already exists: another writer committed this version (do two \
         queries share one checkpoint?)"
    )]
    AlreadyExists {
        /// The file that was about to be created.
        path: PathBuf,
    },

    /// A caller asked for something the store cannot do.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An invariant of Ember's own code did not hold.
    #[error("internal error (this is a bug in Ember): {0}")]
    Internal(String),
}

impl StateError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io { path: path.into(), source }
    }

    /// The file this error is about, when it concerns one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            StateError::Io { path, .. } | StateError::AlreadyExists { path } => Some(path),
            StateError::Corrupt { file, .. }
            | StateError::Missing { file, .. }
            | StateError::UnsupportedFormat { file, .. }
            | StateError::SchemaMismatch { file, .. } => Some(file),
            StateError::InvalidArgument(_) | StateError::Internal(_) => None,
        }
    }
}

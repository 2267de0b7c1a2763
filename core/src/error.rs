//! [`EmberError`]: every error the engine reports, by cause, each naming what and where.

use std::path::PathBuf;

use ember_state::StateError;
use ember_state::checkpoint::CheckpointError;

use crate::row::RowError;

/// A result with [`EmberError`].
pub type Result<T, E = EmberError> = std::result::Result<T, E>;

/// Why a query could not be built, started or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmberError {
    /// A wrong option, a missing required option, an unknown format: caught when the query is
    /// defined or started.
    #[error("{0}")]
    Config(String),
    /// The plan cannot run as asked (Spark's `AnalysisException`), e.g. Complete mode without
    /// an aggregation.
    #[error("{0}")]
    Analysis(String),
    /// A source could not be read.
    #[error("source {source_name}: {message}")]
    Source {
        /// The source's description (format and location).
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// A malformed record in FAILFAST mode.
    #[error("malformed record in {file} line {line}: {reason}")]
    Malformed {
        /// The file the record is in.
        file: PathBuf,
        /// The line, counted from 1.
        line: u64,
        /// Why it could not be parsed.
        reason: String,
    },
    /// A sink could not write a batch.
    #[error("sink {sink}: {message}")]
    Sink {
        /// The sink's description.
        sink: String,
        /// What went wrong.
        message: String,
    },
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint logs.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The state store.
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// Rows or their Arrow conversion.
    #[error("rows: {0}")]
    Row(#[from] RowError),
    /// Arrow.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A user function panicked while processing a batch.
    #[error("a user function panicked in batch {batch}: {message}")]
    UserPanic {
        /// The batch.
        batch: u64,
        /// The panic's message.
        message: String,
    },
    /// The error that ended a query, as its handle reports it (the query keeps the original).
    #[error("{0}")]
    Terminated(std::sync::Arc<EmberError>),
}

impl EmberError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EmberError {
        EmberError::Io { path: path.into(), source }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> EmberError {
        EmberError::Config(message.into())
    }

    /// An analysis error.
    pub fn analysis(message: impl Into<String>) -> EmberError {
        EmberError::Analysis(message.into())
    }

    /// A source error.
    pub fn source(source_name: impl Into<String>, message: impl Into<String>) -> EmberError {
        EmberError::Source { source_name: source_name.into(), message: message.into() }
    }

    /// A sink error.
    pub fn sink(sink: impl Into<String>, message: impl Into<String>) -> EmberError {
        EmberError::Sink { sink: sink.into(), message: message.into() }
    }
}

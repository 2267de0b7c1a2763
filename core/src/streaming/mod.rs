//! Streaming queries: the writer that starts them, the handle that controls them, the
//! micro-batch loop that runs them, output modes, triggers and progress reports.

mod clock;
mod execution;
mod progress;
mod query;
mod writer;

use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use progress::{
    DurationMs, SinkProgress, SourceProgress, StateOperatorProgress, StreamingQueryProgress,
};
pub use query::{StreamingQuery, StreamingQueryManager, StreamingQueryStatus};
pub use writer::DataStreamWriter;

/// Which rows a stateful query writes to its sink each batch (Spark's `OutputMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// Only rows that are final and new. Not allowed with an aggregation (no watermarks yet).
    #[default]
    Append,
    /// The rows that changed in this batch.
    Update,
    /// The whole result, every batch. Needs an aggregation.
    Complete,
}

impl OutputMode {
    /// Parses Spark's names (`append`, `update`, `complete`, any case).
    pub fn parse(name: &str) -> crate::Result<OutputMode> {
        match name.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "update" => Ok(OutputMode::Update),
            "complete" => Ok(OutputMode::Complete),
            _ => Err(crate::EmberError::config(format!(
                "Unknown output mode {name}. Accepted output modes are 'append', 'complete', 'update'"
            ))),
        }
    }
}

/// When a query runs its next batch (Spark's `Trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// The next batch as soon as the last one ended and data is available.
    #[default]
    AsFastAsPossible,
    /// A batch every interval (a late batch starts at once; missed intervals are skipped).
    ProcessingTime(Duration),
    /// One batch with whatever is available, then stop.
    Once,
    /// Everything available at start, in as many batches as per-batch limits need, then stop.
    /// Data arriving meanwhile (new files, socket lines, rate or generator rows that become
    /// due, memory-stream additions) waits for the next start, as in Spark.
    AvailableNow,
}

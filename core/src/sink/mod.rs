//! Sinks: where a query's output goes, batch by batch (Spark's `Sink`).
//!
//! The engine hands each batch to [`Sink::add_batch`] with its batch id before it writes the
//! batch's commit. After a crash the last batch may be handed over again with the same id and
//! the same rows; a sink that promises exactly-once output (the file sink) ignores a batch id
//! it already committed, the others (console, foreach) may show it twice, as in Spark.

mod console;
mod file;
mod memory;

use std::sync::Arc;

use arrow_array::RecordBatch;

pub use console::{ConsoleSink, format_timestamp, format_timestamp_iso, format_value, show_string};
pub use file::{MANIFEST_VERSION, METADATA_DIR, read_committed, read_committed_batches};
pub use memory::{MemorySink, MemoryTable, MemoryTables};

use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::streaming::OutputMode;

/// What a sink is given when its query starts.
#[derive(Debug, Clone)]
pub struct SinkContext {
    /// The query's name, if it has one (the memory sink's table name).
    pub query_name: Option<String>,
    /// The query's output mode.
    pub mode: OutputMode,
    /// The session's in-memory tables.
    pub tables: MemoryTables,
}

/// One running sink of one query.
pub trait Sink: Send {
    /// Its description in progress reports and errors.
    fn description(&self) -> String;
    /// Prepares to write; called once when the query starts.
    fn start(&mut self, _ctx: &SinkContext) -> Result<()> {
        Ok(())
    }
    /// Writes the output of batch `batch_id`. Complete mode hands over the whole result,
    /// Update the changed rows, Append the new ones.
    fn add_batch(&mut self, batch_id: u64, data: &[RecordBatch]) -> Result<()>;
}

/// Creates a query's sink when it starts.
pub type SinkFactory = Arc<dyn Fn() -> Result<Box<dyn Sink>> + Send + Sync>;

/// Discards everything (Spark's `noop`), for load tests.
#[derive(Debug, Default)]
pub struct NoopSink;

impl Sink for NoopSink {
    fn description(&self) -> String {
        "NoopSink".to_owned()
    }
    fn add_batch(&mut self, _: u64, _: &[RecordBatch]) -> Result<()> {
        Ok(())
    }
}

/// A closure given every batch's output: `f(batch_id, batches)`.
pub type BatchFn = Arc<dyn Fn(u64, &[RecordBatch]) -> Result<()> + Send + Sync>;

/// Calls a closure with every batch (Spark's `foreachBatch`).
pub struct ForeachBatchSink {
    f: BatchFn,
}

impl ForeachBatchSink {
    /// Calls `f(batch_id, batches)`.
    pub fn new(f: BatchFn) -> Self {
        ForeachBatchSink { f }
    }
}

impl Sink for ForeachBatchSink {
    fn description(&self) -> String {
        "ForeachBatchSink".to_owned()
    }
    fn add_batch(&mut self, batch_id: u64, data: &[RecordBatch]) -> Result<()> {
        (self.f)(batch_id, data)
    }
}

/// Whether `format` promises exactly-once output, and so needs a checkpoint location.
pub fn is_durable(format: &str) -> bool {
    matches!(format.to_ascii_lowercase().as_str(), "json" | "csv")
}

/// The formats [`factory`] knows.
pub const KNOWN_FORMATS: &[&str] = &["console", "memory", "noop", "json", "csv"];

/// The factory of the sink `format` with `options`; fails for an unknown format or option.
pub fn factory(format: &str, options: &Options) -> Result<SinkFactory> {
    match format.to_ascii_lowercase().as_str() {
        "console" => {
            let sink = ConsoleSink::from_options(options)?;
            Ok(Arc::new(move || Ok(Box::new(sink.clone()) as Box<dyn Sink>)))
        }
        "memory" => {
            options.check_known("memory sink", &[])?;
            Ok(Arc::new(|| Ok(Box::new(MemorySink::new()) as Box<dyn Sink>)))
        }
        "json" | "csv" => file::factory(&format.to_ascii_lowercase(), options),
        "noop" => {
            options.check_known("noop sink", &[])?;
            Ok(Arc::new(|| Ok(Box::new(NoopSink) as Box<dyn Sink>)))
        }
        other => Err(EmberError::config(format!(
            "unknown sink format '{other}'; known formats: {}",
            KNOWN_FORMATS.join(", ")
        ))),
    }
}

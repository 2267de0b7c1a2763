//! Sources: where a query's input comes from, batch by batch (Spark's `Source`).
//!
//! A source describes its data with offsets. Each trigger the engine asks for the latest
//! offset (respecting per-batch limits such as `maxFilesPerTrigger`), logs it in the
//! write-ahead log, then asks for the data between the previous batch's offset and this one.
//! A replayable source returns the same data for the same offsets after a restart; that is
//! what makes a query exactly-once.

mod file;
mod generator;
mod memory;
mod rate;
mod socket;

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
pub use ember_state::checkpoint::SourceOffset;

pub use memory::MemoryStream;

use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::Schema;

/// What a source is given when its query starts.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The directory private to this source in the checkpoint (`sources/<i>`), for its own
    /// logs; not created yet.
    pub checkpoint_dir: PathBuf,
}

/// One running source of one query.
pub trait Source: Send {
    /// Its description in progress reports and errors, e.g. `TextSource[/data]`.
    fn description(&self) -> String;
    /// The row schema of its records.
    fn schema(&self) -> Arc<Schema>;
    /// Prepares to read: opens private logs, connects. Called once, before any other call.
    fn start(&mut self, ctx: &SourceContext) -> Result<()>;
    /// The offset the next batch should end at, given where the last one ended (`None`: no
    /// batch yet); `None` or `start` itself when nothing is new.
    fn latest_offset(&mut self, start: Option<&SourceOffset>) -> Result<Option<SourceOffset>>;
    /// Makes durable what the offset `latest_offset` just returned needs in order to be
    /// replayed (the file source's seen-files log entry), if `latest_offset` left that to
    /// this call. The engine calls it before publishing the offset to its offset log, while
    /// it writes that log's file.
    fn persist_offset(&mut self) -> Result<()> {
        Ok(())
    }
    /// The records after `start` up to and including `end`.
    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>>;
    /// The query runs with `Trigger::AvailableNow`: fix the end of the data it processes to
    /// what is available now (Spark's `prepareForTriggerAvailableNow`); data arriving later
    /// waits for the next start. Called once, after [`start`](Self::start). Every built-in
    /// source implements it; the default, for a source whose data does not grow while it
    /// runs, keeps reading until a trigger finds nothing new.
    fn prepare_for_available_now(&mut self) -> Result<()> {
        Ok(())
    }
    /// Batches up to `end` are committed: data before it will never be asked for again.
    fn commit(&mut self, _end: &SourceOffset) -> Result<()> {
        Ok(())
    }
    /// Stops: closes connections and background threads.
    fn stop(&mut self) {}
}

/// Creates a query's source when it starts; each query gets its own.
pub trait SourceFactory: Send + Sync {
    /// The records' row schema.
    fn schema(&self) -> Arc<Schema>;
    /// A description for plans and errors.
    fn description(&self) -> String;
    /// A new source instance for one query.
    fn create(&self) -> Result<Box<dyn Source>>;
}

/// The factory of `format` with `options`; fails for an unknown format or a wrong option.
pub fn factory(format: &str, options: &Options) -> Result<Arc<dyn SourceFactory>> {
    match format.to_ascii_lowercase().as_str() {
        "text" | "csv" | "json" => file::factory(&format.to_ascii_lowercase(), options),
        "socket" => socket::factory(options),
        "rate" => rate::factory(options),
        "generator" => generator::factory(options),
        other => Err(EmberError::config(format!(
            "unknown source format '{other}'; known formats: {}",
            KNOWN_FORMATS.join(", ")
        ))),
    }
}

/// The formats [`factory`] knows.
pub const KNOWN_FORMATS: &[&str] = &["text", "csv", "json", "socket", "rate", "generator"];

//! Physical execution of one micro-batch: the operators (`*Exec`, DataFusion's model), each
//! declaring its partitioning and owning its metrics, and the context a batch runs in.
//!
//! A typed plan compiles to a tree of [`BatchExec`]s. Stateless stages are fused at compile
//! time ([`Stages`]) into one loop that runs per input chunk, in parallel on the session's
//! rayon pool; a
//! stateful operator pre-aggregates per chunk, shuffles by the pinned row hash into the
//! state partitions and merges each partition with its state store in parallel.

mod aggregate;
mod compact;
mod stages;
mod state;
mod stateless;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use ember_state::StateStore;

pub use aggregate::{AggregateExec, Aggregator, Count, CountBuf, ReduceGroups};
pub use stages::{Filtered, FlatMapped, Mapped, Read, Stages};
pub(crate) use state::StateStores;
pub use stateless::{MapExec, ScanExec};

use crate::error::Result;
use crate::streaming::OutputMode;

/// Rows per chunk of input that one task processes.
const MIN_CHUNK_ROWS: usize = 4096;

/// What a batch runs with.
pub struct ExecContext<'a> {
    /// The batch id.
    pub batch_id: u64,
    /// The rayon pool of the session.
    pub pool: &'a rayon::ThreadPool,
    /// The output mode of the query.
    pub mode: OutputMode,
    /// The state stores of this query.
    pub(crate) state: &'a StateStores,
    /// Stores updated by this batch, committed after the sink accepted its output.
    pub(crate) pending: Vec<StateStore>,
    /// Per stateful operator: rows in state, rows updated, bytes in memory.
    pub(crate) state_metrics: Vec<StateOperatorMetrics>,
}

/// A stateful operator's figures for one batch (progress's `stateOperators`).
#[derive(Debug, Clone, Default)]
pub struct StateOperatorMetrics {
    /// The operator's name.
    pub operator_name: String,
    /// Keys in state after the batch.
    pub num_rows_total: u64,
    /// Keys the batch updated.
    pub num_rows_updated: u64,
    /// Bytes of state keys and values.
    pub memory_used_bytes: u64,
    /// Number of state partitions.
    pub num_partitions: u64,
}

/// Rows an operator produced, summed over batches.
#[derive(Debug, Default)]
pub struct ExecMetrics {
    output_rows: AtomicU64,
}

impl ExecMetrics {
    /// Adds `n` output rows.
    pub fn add_output(&self, n: usize) {
        self.output_rows.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Rows produced so far.
    pub fn output_rows(&self) -> u64 {
        self.output_rows.load(Ordering::Relaxed)
    }
}

/// How an operator's output is partitioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// As the input chunks came (round-robin over the pool's tasks).
    InputChunks,
    /// By the pinned row hash of the grouping key into the query's state partitions.
    HashByKey,
    /// One partition.
    Single,
}

/// A stateful operator's needs, for opening its stores when the query starts.
#[derive(Debug, Clone)]
pub struct StateOperatorSpec {
    /// The operator id (its directory under `state/`).
    pub operator_id: u64,
    /// The fingerprint its state files carry (key and value schemas).
    pub fingerprint: u64,
}

/// One physical operator producing typed elements of a batch.
pub trait BatchExec<T>: Send + Sync {
    /// Runs the operator over the batch's input.
    fn execute(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<T>>;
    /// Appends the operator (and its children, indented) to a plan description.
    fn explain(&self, depth: usize, out: &mut String);
    /// How the output is partitioned.
    fn partitioning(&self) -> Partitioning;
    /// Stateful operators in this tree.
    fn state_operators(&self) -> Vec<StateOperatorSpec>;
}

/// Shared handle to an operator tree.
pub type ExecRef<T> = Arc<dyn BatchExec<T>>;

/// Writes one line of a plan description.
pub(crate) fn explain_line(depth: usize, out: &mut String, line: &str) {
    if depth > 0 {
        out.push_str(&"   ".repeat(depth - 1));
        out.push_str("+- ");
    }
    out.push_str(line);
    out.push('\n');
}

/// The input's rows as zero-copy slices of at least [`MIN_CHUNK_ROWS`] rows, about four per
/// worker thread so the pool stays busy.
pub(crate) fn chunks(input: &[RecordBatch], threads: usize) -> Vec<RecordBatch> {
    let total: usize = input.iter().map(RecordBatch::num_rows).sum();
    let target = (total / (threads.max(1) * 4)).max(MIN_CHUNK_ROWS);
    let mut out = Vec::new();
    for batch in input {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = target.min(batch.num_rows() - offset);
            out.push(batch.slice(offset, len));
            offset += len;
        }
    }
    out
}

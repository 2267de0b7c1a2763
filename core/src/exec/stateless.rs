//! Stateless operators: [`ScanExec`] reads the batch's input and runs the fused typed stages
//! (map, flat_map, filter) on every chunk in parallel; [`MapExec`] applies typed stages to
//! the output of a stateful operator.

use std::sync::Arc;

use arrow_array::RecordBatch;
use rayon::prelude::*;

use super::{BatchExec, ExecContext, ExecMetrics, Partitioning, StateOperatorSpec, explain_line};
use crate::error::Result;

/// The fused stateless stages from a source's Arrow chunk to typed elements. Called once per
/// chunk; the stages inside are monomorphised loops, so nothing is dispatched per element.
pub type Pipeline<T> = Arc<dyn Fn(&RecordBatch) -> Result<Vec<T>> + Send + Sync>;

/// Reads the input and runs the fused stages on every chunk, in parallel.
pub struct ScanExec<T> {
    pub(crate) source: String,
    pub(crate) stages: Vec<String>,
    pub(crate) pipeline: Pipeline<T>,
    pub(crate) metrics: ExecMetrics,
}

/// Rows of input the pipeline runs on at a time: small enough that the stages' intermediate
/// vectors stay in cache and in the allocator's small-object pages (a stage's vector of
/// 1024 lines' words is a large allocation, paged in afresh each time: measured 15x slower
/// per element than at 128 rows), large enough that the per-stage dynamic call does not matter.
const PIPELINE_ROWS: usize = 128;

impl<T: Send> ScanExec<T> {
    /// Runs the pipeline over every chunk of `input`, in parallel: each task folds the
    /// elements of its chunk, [`PIPELINE_ROWS`] input rows at a time, into an accumulator
    /// made by `init`. Returns the accumulators in chunk order.
    pub(crate) fn fold_chunks<A: Send>(
        &self,
        ctx: &ExecContext<'_>,
        input: &[RecordBatch],
        init: impl Fn() -> A + Sync + Send,
        fold: impl Fn(&mut A, Vec<T>) + Sync + Send,
    ) -> Result<Vec<A>> {
        let chunks = super::chunks(input, ctx.pool.current_num_threads());
        ctx.pool.install(|| {
            chunks
                .par_iter()
                .map(|chunk| {
                    let mut acc = init();
                    let mut offset = 0;
                    while offset < chunk.num_rows() {
                        let len = PIPELINE_ROWS.min(chunk.num_rows() - offset);
                        let items = (self.pipeline)(&chunk.slice(offset, len))?;
                        self.metrics.add_output(items.len());
                        fold(&mut acc, items);
                        offset += len;
                    }
                    Ok(acc)
                })
                .collect()
        })
    }
}

impl<T: Send + Sync> BatchExec<T> for ScanExec<T> {
    fn execute(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<T>> {
        let parts = self.fold_chunks(ctx, input, Vec::new, |acc, items| acc.extend(items))?;
        Ok(parts.into_iter().flatten().collect())
    }

    fn explain(&self, depth: usize, out: &mut String) {
        let stages = if self.stages.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.stages.join(" -> "))
        };
        let line = format!(
            "ScanExec: {}{stages}, partitioning=input chunks, output_rows={}",
            self.source,
            self.metrics.output_rows()
        );
        explain_line(depth, out, &line);
    }

    fn partitioning(&self) -> Partitioning {
        Partitioning::InputChunks
    }

    fn state_operators(&self) -> Vec<StateOperatorSpec> {
        Vec::new()
    }
}

/// Typed stages applied to the whole output of its child (after a stateful operator).
pub struct MapExec<T, U> {
    pub(crate) input: Arc<dyn BatchExec<T>>,
    pub(crate) name: String,
    pub(crate) f: Arc<dyn Fn(Vec<T>) -> Vec<U> + Send + Sync>,
    pub(crate) metrics: ExecMetrics,
}

impl<T: Send + Sync, U: Send + Sync> BatchExec<U> for MapExec<T, U> {
    fn execute(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<U>> {
        let items = self.input.execute(ctx, input)?;
        let out = (self.f)(items);
        self.metrics.add_output(out.len());
        Ok(out)
    }

    fn explain(&self, depth: usize, out: &mut String) {
        let line = format!("MapExec: {}, output_rows={}", self.name, self.metrics.output_rows());
        explain_line(depth, out, &line);
        self.input.explain(depth + 1, out);
    }

    fn partitioning(&self) -> Partitioning {
        self.input.partitioning()
    }

    fn state_operators(&self) -> Vec<StateOperatorSpec> {
        self.input.state_operators()
    }
}

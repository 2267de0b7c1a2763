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

impl<T: Send> ScanExec<T> {
    /// Runs the pipeline on every chunk of `input` and calls `consume` with each chunk's
    /// output, in parallel; returns the consumers' results in chunk order.
    pub(crate) fn for_each_chunk<R: Send>(
        &self,
        ctx: &ExecContext<'_>,
        input: &[RecordBatch],
        consume: impl Fn(Vec<T>) -> R + Sync + Send,
    ) -> Result<Vec<R>> {
        let chunks = super::chunks(input, ctx.pool.current_num_threads());
        ctx.pool.install(|| {
            chunks
                .par_iter()
                .map(|chunk| {
                    let items = (self.pipeline)(chunk)?;
                    self.metrics.add_output(items.len());
                    Ok(consume(items))
                })
                .collect()
        })
    }
}

impl<T: Send + Sync> BatchExec<T> for ScanExec<T> {
    fn execute(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<T>> {
        let parts = self.for_each_chunk(ctx, input, |items| items)?;
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

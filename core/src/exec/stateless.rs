//! Stateless operators: [`ScanExec`] reads the batch's input and runs the fused typed stages
//! (map, flat_map, filter: [`Stages`]) on every chunk in parallel; [`MapExec`] applies typed
//! stages to the output of a stateful operator.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::RecordBatch;
use rayon::prelude::*;

use super::stages::Stages;
use super::{BatchExec, ExecContext, ExecMetrics, Partitioning, StateOperatorSpec, explain_line};
use crate::error::Result;

/// Reads the input and runs the fused stages on every chunk, in parallel.
pub struct ScanExec<T, S> {
    pub(crate) source: String,
    pub(crate) names: Vec<String>,
    pub(crate) stages: S,
    pub(crate) metrics: ExecMetrics,
    pub(crate) element: PhantomData<fn() -> T>,
}

/// One chunk of a batch's input, to be run through a scan's stages.
pub(crate) struct Chunk<'a, T, S> {
    scan: &'a ScanExec<T, S>,
    rows: &'a RecordBatch,
}

impl<T, S: Stages<T>> Chunk<'_, T, S> {
    /// Runs the stages over the chunk, handing each element to `out`.
    #[inline]
    pub(crate) fn each(self, mut out: impl FnMut(T)) -> Result<()> {
        let elements = self.scan.stages.run(self.rows, &mut out)?;
        self.scan.metrics.add_output(elements);
        Ok(())
    }
}

impl<T: Send, S: Stages<T>> ScanExec<T, S> {
    /// Runs `task` on every chunk of `input`, in parallel; returns what it returned, in chunk
    /// order.
    pub(crate) fn par_chunks<R: Send>(
        &self,
        ctx: &ExecContext<'_>,
        input: &[RecordBatch],
        task: impl Fn(Chunk<'_, T, S>) -> Result<R> + Sync + Send,
    ) -> Result<Vec<R>> {
        let chunks = super::chunks(input, ctx.pool.current_num_threads());
        ctx.pool
            .install(|| chunks.par_iter().map(|rows| task(Chunk { scan: self, rows })).collect())
    }
}

impl<T: Send + Sync, S: Stages<T>> BatchExec<T> for ScanExec<T, S> {
    fn execute(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<T>> {
        let parts = self.par_chunks(ctx, input, |chunk| {
            let mut items = Vec::new();
            chunk.each(|t| items.push(t))?;
            Ok(items)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    fn explain(&self, depth: usize, out: &mut String) {
        let stages = if self.names.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.names.join(" -> "))
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

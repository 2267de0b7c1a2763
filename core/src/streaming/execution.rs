//! The micro-batch loop (Spark's `MicroBatchExecution`): one thread per query runs triggers;
//! each batch is logged before it runs and committed after its sink write, so a query killed
//! at any moment restarts where it stopped and produces exactly what an uninterrupted run
//! would have. The order of writes is specified in `docs/checkpoint-format.md` §4.

use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use ember_state::checkpoint::{
    Checkpoint, CommitEntry, NextBatch, OffsetEntry, PinnedConf, QueryId, SourceOffset,
};
use rayon::prelude::*;

use super::progress::{
    DurationMs, SinkProgress, SourceProgress, StateOperatorProgress, StreamingQueryProgress,
};
use super::query::{QueryShared, StreamingQuery};
use super::{OutputMode, Trigger};
use crate::data::{Data, items_to_batch};
use crate::error::{EmberError, Result};
use crate::exec::{ExecContext, ExecRef, StateOperatorSpec, StateStores};
use crate::row::{ROW_FORMAT_VERSION, Schema};
use crate::sink::{Sink, SinkContext};
use crate::source::{Source, SourceContext};

/// The status message of an idle query.
pub(crate) const WAITING_FOR_DATA: &str = "Waiting for data to arrive";
/// The pinned partitioning hash: XXH3-64 of the key row, seed 42 (`row::hash_row`).
pub(crate) const PARTITION_HASH: &str = "xxh3-64/seed=42";
/// How long an idle query waits before asking its source again (Spark's polling delay).
const POLL_DELAY: Duration = Duration::from_millis(10);
/// Committed batches whose logs are kept (Spark's `minBatchesToRetain`).
const BATCHES_TO_RETAIN: u64 = 100;

/// A typed operator tree seen by the untyped loop: runs a batch and returns Arrow output.
pub(crate) trait ErasedPlan: Send + Sync {
    fn run(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<RecordBatch>>;
    fn physical(&self) -> String;
    fn state_operators(&self) -> Vec<StateOperatorSpec>;
}

/// An operator tree producing `T`s, converted to one record batch per micro-batch.
pub(crate) struct TypedPlan<T> {
    pub(crate) exec: ExecRef<T>,
    pub(crate) schema: Arc<Schema>,
}

impl<T: Data> ErasedPlan for TypedPlan<T> {
    fn run(&self, ctx: &mut ExecContext<'_>, input: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
        let items = self.exec.execute(ctx, input)?;
        Ok(vec![items_to_batch(&self.schema, &items)?])
    }
    fn physical(&self) -> String {
        let mut out = String::new();
        self.exec.explain(0, &mut out);
        out
    }
    fn state_operators(&self) -> Vec<StateOperatorSpec> {
        self.exec.state_operators()
    }
}

/// Everything `start()` gathered for a query.
pub(crate) struct QuerySpec {
    pub(crate) name: Option<String>,
    pub(crate) plan: Arc<dyn ErasedPlan>,
    pub(crate) logical: String,
    pub(crate) source: Box<dyn Source>,
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) checkpoint: PathBuf,
    pub(crate) delete_checkpoint_on_stop: bool,
    pub(crate) mode: OutputMode,
    pub(crate) trigger: Trigger,
    pub(crate) pool: Arc<rayon::ThreadPool>,
    pub(crate) num_partitions: usize,
    pub(crate) tables: crate::sink::MemoryTables,
    pub(crate) clock: Arc<dyn super::Clock>,
}

/// Where the loop goes on from.
struct Position {
    batch: u64,
    /// Where the next batch starts reading.
    start: Option<SourceOffset>,
    /// A logged batch to re-run with exactly these offsets.
    rerun: Option<SourceOffset>,
    watermark_ms: i64,
}

struct QueryRun {
    shared: Arc<QueryShared>,
    spec: QuerySpec,
    ckpt: Checkpoint,
    state: StateStores,
    conf: PinnedConf,
    pos: Position,
    last_trigger_start: Option<Instant>,
    _lock: File,
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Opens the checkpoint, recovers, starts source and sink, and spawns the loop. Every
/// problem found here is an error of `start()`.
pub(crate) fn start(mut spec: QuerySpec) -> Result<StreamingQuery> {
    std::fs::create_dir_all(&spec.checkpoint).map_err(|e| EmberError::io(&spec.checkpoint, e))?;
    let checkpoint = spec.checkpoint.clone();
    let lock = crate::dirlock::lock_dir(&checkpoint, || {
        format!(
            "another query is running with checkpoint {}: two queries cannot share a \
             checkpoint location",
            checkpoint.display()
        )
    })?;
    let ckpt = Checkpoint::open_dir(&spec.checkpoint)?;
    let id: QueryId = ckpt.query_id(None)?;
    let configured =
        PinnedConf::new(spec.num_partitions as u32, PARTITION_HASH, ROW_FORMAT_VERSION);
    let recovery = ckpt.recover(&configured, 1)?;
    for note in &recovery.notes {
        tracing::warn!(checkpoint = %spec.checkpoint.display(), "{note}");
        eprintln!("ember: {note}");
    }
    let conf = recovery.conf.clone();
    let partitions = conf.num_partitions() as usize;
    // The source starts (a file source creates its log's directory) while the state stores
    // open: on a fresh checkpoint each creates and fsyncs directories.
    let state_root = spec.checkpoint.join("state");
    let operators = spec.plan.state_operators();
    let source_context = SourceContext { checkpoint_dir: ckpt.source_dir(0) };
    let available_now = spec.trigger == Trigger::AvailableNow;
    let pool = spec.pool.clone();
    let source = &mut spec.source;
    let (state, started) = pool.install(|| {
        rayon::join(
            || StateStores::open(&state_root, partitions, &operators, &pool),
            || {
                source.start(&source_context)?;
                if available_now {
                    source.prepare_for_available_now()?;
                }
                Ok::<_, EmberError>(())
            },
        )
    });
    let state = match (state, started) {
        (Ok(state), Ok(())) => state,
        (Err(e), started) => {
            if started.is_ok() {
                spec.source.stop();
            }
            return Err(e);
        }
        (Ok(_), Err(e)) => return Err(e),
    };
    let first_offset = |entry: &OffsetEntry| entry.offsets.first().cloned().flatten();
    let pos = match &recovery.next {
        NextBatch::Fresh => Position { batch: 0, start: None, rerun: None, watermark_ms: 0 },
        NextBatch::Rerun { batch, start, end } => {
            // A crashed run may have committed this batch's state before dying.
            state.discard_after(*batch)?;
            Position {
                batch: *batch,
                start: start.as_ref().and_then(first_offset),
                rerun: first_offset(end),
                watermark_ms: recovery.watermark_ms,
            }
        }
        NextBatch::Next { batch, start } => {
            state.discard_after(*batch)?;
            Position {
                batch: *batch,
                start: first_offset(start),
                rerun: None,
                watermark_ms: recovery.watermark_ms,
            }
        }
    };
    spec.sink.start(&SinkContext {
        query_name: spec.name.clone(),
        mode: spec.mode,
        tables: spec.tables.clone(),
    })?;

    let explain = format!(
        "== Logical Plan ==\n{}\n== Physical Plan ==\n{}",
        spec.logical,
        spec.plan.physical()
    );
    let shared = Arc::new(QueryShared::new(
        id.to_string(),
        QueryId::random().to_string(),
        spec.name.clone(),
        explain,
    ));
    let mut run = QueryRun {
        shared: shared.clone(),
        spec,
        ckpt,
        state,
        conf,
        pos,
        last_trigger_start: None,
        _lock: lock,
    };
    let thread_name = format!("ember-query-{}", shared.name.as_deref().unwrap_or(&shared.id));
    let handle = std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            let result = run.run_loop();
            run.spec.source.stop();
            let checkpoint = run.spec.checkpoint.clone();
            let delete = run.spec.delete_checkpoint_on_stop && result.is_ok();
            let shared = run.shared.clone();
            drop(run);
            if delete {
                let _ = std::fs::remove_dir_all(&checkpoint);
            }
            if let Err(e) = &result {
                tracing::error!(query = %shared.id, "query terminated: {e}");
            }
            shared.terminate(result.err());
        })
        .map_err(|e| EmberError::config(format!("cannot spawn the query thread: {e}")))?;
    shared.set_thread(handle);
    Ok(StreamingQuery { shared })
}

impl QueryRun {
    fn run_loop(&mut self) -> Result<()> {
        let mut next_tick = self.spec.clock.now_ms();
        loop {
            if self.shared.stop_requested() {
                return Ok(());
            }
            if let Trigger::ProcessingTime(interval) = self.spec.trigger {
                let now = self.spec.clock.now_ms();
                if now < next_tick {
                    // Wake at least every poll delay to see a stop request.
                    self.spec.clock.wait_until(next_tick, POLL_DELAY);
                    continue;
                }
                // Skip the ticks a long batch missed.
                let interval = (interval.as_millis() as i64).max(1);
                while next_tick <= now {
                    next_tick += interval;
                }
            }
            let ran = self.trigger()?;
            if let Some(e) = self.state.take_maintenance_error() {
                tracing::warn!(query = %self.shared.id, "state maintenance: {e}");
            }
            match self.spec.trigger {
                Trigger::Once => return Ok(()),
                Trigger::AvailableNow if !ran => return Ok(()),
                Trigger::AsFastAsPossible if !ran => self.shared.sleep(POLL_DELAY),
                _ => {}
            }
        }
    }

    /// One trigger: runs a batch if there is data (or a logged batch to re-run).
    fn trigger(&mut self) -> Result<bool> {
        let trigger_start = Instant::now();
        let timestamp_ms = self.spec.clock.now_ms();
        self.shared.set_status("Getting offsets from sources", false, true);
        let mut durations = DurationMs::default();
        let (end, logged) = match self.pos.rerun.take() {
            Some(end) => (end, true),
            None => {
                let t = Instant::now();
                let latest = self.spec.source.latest_offset(self.pos.start.as_ref())?;
                durations.latest_offset = elapsed_ms(t);
                match latest {
                    Some(end) if Some(&end) != self.pos.start.as_ref() => (end, false),
                    _ => {
                        self.shared.idle();
                        return Ok(false);
                    }
                }
            }
        };
        let batch = self.pos.batch;
        self.shared.set_status("Processing new data", true, true);
        if !logged {
            let t = Instant::now();
            let entry = OffsetEntry {
                batch_watermark_ms: self.pos.watermark_ms,
                batch_timestamp_ms: timestamp_ms,
                conf: self.conf.clone(),
                offsets: vec![Some(end.clone())],
            };
            // A worker writes and fsyncs the offset log entry while this thread has the source
            // make its offset replayable (the longer of the two: it publishes too); the entry
            // is published only after the source's.
            let offsets = self.ckpt.offsets();
            let mut prepared = None;
            let persisted = self.spec.pool.in_place_scope(|scope| {
                scope.spawn(|_| prepared = Some(offsets.prepare(batch, &entry)));
                self.spec.source.persist_offset()
            });
            persisted?;
            prepared.expect("a scope waits for the jobs it spawned")?.publish()?;
            durations.wal_commit = elapsed_ms(t);
        }

        let t = Instant::now();
        let input = self.spec.source.get_batch(self.pos.start.as_ref(), &end)?;
        durations.get_batch = elapsed_ms(t);
        let num_input_rows: u64 = input.iter().map(|b| b.num_rows() as u64).sum();

        let t = Instant::now();
        let mut ctx = ExecContext {
            batch_id: batch,
            pool: &self.spec.pool,
            mode: self.spec.mode,
            state: &self.state,
            pending: Vec::new(),
            state_metrics: Vec::new(),
        };
        let plan = self.spec.plan.clone();
        let output =
            std::panic::catch_unwind(AssertUnwindSafe(|| plan.run(&mut ctx, &input))).map_err(
                |panic| EmberError::UserPanic { batch, message: panic_message(&panic) },
            )??;
        let pending = std::mem::take(&mut ctx.pending);
        let state_metrics = std::mem::take(&mut ctx.state_metrics);
        drop(ctx);
        let num_output_rows: u64 = output.iter().map(|b| b.num_rows() as u64).sum();
        self.spec.sink.add_batch(batch, &output)?;
        durations.add_batch = elapsed_ms(t);

        let t = Instant::now();
        // The commit log entry is written and fsynced on this thread while the workers commit
        // the state; it is only published (renamed into place) once every store is durable.
        let commit = CommitEntry { next_batch_watermark_ms: self.pos.watermark_ms };
        let mut state_committed = Vec::new();
        let prepared = self.spec.pool.in_place_scope(|scope| {
            scope.spawn(|_| {
                state_committed =
                    pending.into_par_iter().map(|store| store.commit().map(drop)).collect();
            });
            self.ckpt.commits().prepare(batch, &commit)
        });
        state_committed.into_iter().collect::<Result<(), _>>()?;
        prepared?.publish()?;
        self.spec.source.commit(&end)?;
        durations.commit_offsets = elapsed_ms(t);
        if batch % 10 == 9 {
            self.ckpt.purge(BATCHES_TO_RETAIN)?;
        }

        durations.trigger_execution = elapsed_ms(trigger_start);
        let processing = trigger_start.elapsed().as_secs_f64();
        let since_last =
            self.last_trigger_start.map_or(processing, |s| (trigger_start - s).as_secs_f64());
        self.last_trigger_start = Some(trigger_start);
        let rate = |secs: f64| if secs > 0.0 { num_input_rows as f64 / secs } else { 0.0 };
        let progress = StreamingQueryProgress {
            id: self.shared.id.clone(),
            run_id: self.shared.run_id.clone(),
            name: self.shared.name.clone(),
            timestamp: crate::sink::format_timestamp_iso(timestamp_ms.saturating_mul(1000)),
            batch_id: batch,
            num_input_rows,
            input_rows_per_second: rate(since_last),
            processed_rows_per_second: rate(processing),
            duration_ms: durations,
            state_operators: state_metrics
                .into_iter()
                .map(|m| StateOperatorProgress {
                    operator_name: m.operator_name,
                    num_rows_total: m.num_rows_total,
                    num_rows_updated: m.num_rows_updated,
                    memory_used_bytes: m.memory_used_bytes,
                    num_shuffle_partitions: m.num_partitions,
                    custom_metrics: Default::default(),
                })
                .collect(),
            sources: vec![SourceProgress {
                description: self.spec.source.description(),
                start_offset: self.pos.start.as_ref().map(SourceOffset::to_value),
                end_offset: Some(end.to_value()),
                num_input_rows,
                input_rows_per_second: rate(since_last),
                processed_rows_per_second: rate(processing),
            }],
            sink: SinkProgress { description: self.spec.sink.description(), num_output_rows },
        };
        tracing::info!(
            query = %self.shared.id,
            batch,
            rows = num_input_rows,
            ms = format!("{:.3}", progress.duration_ms.trigger_execution),
            "batch committed"
        );
        self.shared.push_progress(progress);
        self.pos.start = Some(end);
        self.pos.batch = batch + 1;
        self.shared.set_status("Waiting for next trigger", true, false);
        Ok(true)
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

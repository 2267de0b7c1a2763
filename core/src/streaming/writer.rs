//! [`DataStreamWriter`] (`dataset.write_stream()`): the sink, output mode, trigger, name and
//! checkpoint of a query; `start()` checks them all and starts it.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;

use super::execution::{self, QuerySpec, TypedPlan};
use super::{Clock, OutputMode, StreamingQuery, SystemClock, Trigger};
use crate::data::Data;
use crate::dataset::QueryPlan;
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::session::CHECKPOINT_LOCATION;
use crate::sink::{self, BatchFn, ForeachBatchSink, Sink, SinkFactory};

/// Describes how a dataset is written and starts the query.
pub struct DataStreamWriter<T> {
    ds: QueryPlan<T>,
    mode: OutputMode,
    format: Option<String>,
    options: Options,
    trigger: Trigger,
    query_name: Option<String>,
    foreach: Option<BatchFn>,
    clock: Arc<dyn Clock>,
}

impl<T: Data> DataStreamWriter<T> {
    pub(crate) fn new(ds: QueryPlan<T>) -> Self {
        DataStreamWriter {
            ds,
            mode: OutputMode::Append,
            format: None,
            options: Options::new(),
            trigger: Trigger::default(),
            query_name: None,
            foreach: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The output mode (default Append).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.mode = mode;
        self
    }

    /// The sink format: `console`, `memory`, `noop`, `json`, `csv`.
    pub fn format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }

    /// A sink option, or `checkpointLocation`.
    pub fn option(mut self, key: &str, value: impl ToString) -> Self {
        self.options.set(key, value.to_string());
        self
    }

    /// When batches run (default: as fast as possible).
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// The query's name: the memory sink's table, and unique among active queries.
    pub fn query_name(mut self, name: &str) -> Self {
        self.query_name = Some(name.to_owned());
        self
    }

    /// The clock processing-time triggers and batch timestamps follow (default: the system
    /// clock); tests pass a [`ManualClock`](super::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Hands every batch's output to `f(batch_id, batches)` instead of a sink format.
    pub fn foreach_batch(
        mut self,
        f: impl Fn(u64, &[RecordBatch]) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.foreach = Some(Arc::new(f));
        self
    }

    fn check_mode(&self) -> Result<()> {
        let stateful = !self.ds.exec.state_operators().is_empty();
        match self.mode {
            OutputMode::Complete if !stateful => Err(EmberError::analysis(
                "Complete output mode not supported when there are no streaming aggregations on \
                 streaming DataFrames/Datasets",
            )),
            OutputMode::Append if stateful => Err(EmberError::analysis(
                "Append output mode not supported when there are streaming aggregations on \
                 streaming DataFrames/DataSets without watermark",
            )),
            _ => Ok(()),
        }
    }

    /// Checks everything and starts the query.
    pub fn start(self) -> Result<StreamingQuery> {
        if let Some(error) = &self.ds.error {
            return Err(EmberError::analysis(error.clone()));
        }
        self.check_mode()?;
        let session = self.ds.session.clone();
        if let Some(name) = &self.query_name
            && session.streams().active().iter().any(|q| q.name() == Some(name.as_str()))
        {
            return Err(EmberError::config(format!(
                "Cannot start query with name {name} as a query with that name is already active"
            )));
        }
        let mut sink_options = Options::new();
        let mut checkpoint: Option<PathBuf> = None;
        for (k, v) in self.options.iter() {
            if k.eq_ignore_ascii_case("checkpointLocation") {
                checkpoint = Some(PathBuf::from(v));
            } else {
                sink_options.set(k, v);
            }
        }
        let (factory, durable): (SinkFactory, bool) = match (&self.foreach, &self.format) {
            (Some(f), None) => {
                let f = f.clone();
                let factory: SinkFactory = Arc::new(move || {
                    Ok(Box::new(ForeachBatchSink::new(f.clone())) as Box<dyn Sink>)
                });
                (factory, false)
            }
            (Some(_), Some(format)) => {
                return Err(EmberError::config(format!(
                    "foreach_batch and format('{format}') cannot both be set"
                )));
            }
            (None, format) => {
                let format = format.as_deref().unwrap_or("console");
                let durable = sink::is_durable(format);
                (sink::factory(format, &sink_options)?, durable)
            }
        };
        if checkpoint.is_none()
            && let (Some(root), Some(name)) = (session.conf(CHECKPOINT_LOCATION), &self.query_name)
        {
            checkpoint = Some(PathBuf::from(root).join(name));
        }
        let (checkpoint, delete_checkpoint_on_stop) = match checkpoint {
            Some(dir) => (dir, false),
            None if durable => {
                return Err(EmberError::config(
                    "checkpointLocation must be specified either through \
                     option(\"checkpointLocation\", ...) or \
                     Session::builder().config(\"spark.sql.streaming.checkpointLocation\", ...)",
                ));
            }
            None => {
                let id = ember_state::checkpoint::QueryId::random();
                (std::env::temp_dir().join(format!("ember-checkpoint-{id}")), true)
            }
        };
        let sink = factory()?;
        let source = self.ds.source.create()?;
        let plan = TypedPlan { exec: self.ds.exec.clone(), schema: self.ds.schema.clone() };
        let spec = QuerySpec {
            name: self.query_name.clone(),
            plan: Arc::new(plan),
            logical: self.ds.logical.clone(),
            source,
            sink,
            checkpoint,
            delete_checkpoint_on_stop,
            mode: self.mode,
            trigger: self.trigger,
            pool: session.pool().clone(),
            num_partitions: session.shuffle_partitions(),
            tables: session.tables().clone(),
            clock: self.clock.clone(),
        };
        let query = execution::start(spec)?;
        session.streams().add(query.clone());
        Ok(query)
    }
}

//! [`MemorySink`]: keeps the output in memory as a table named after the query (Spark's
//! `memory` sink), readable with [`Session::table`](crate::Session::table). Complete mode
//! replaces the table each batch; the other modes append.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;

use super::{Sink, SinkContext};
use crate::data::Data;
use crate::error::{EmberError, Result};
use crate::streaming::OutputMode;

/// One in-memory table: the batches a memory sink wrote.
#[derive(Debug, Clone, Default)]
pub struct MemoryTable {
    batches: Arc<Mutex<Vec<RecordBatch>>>,
}

impl MemoryTable {
    /// The table's batches.
    pub fn batches(&self) -> Vec<RecordBatch> {
        self.batches.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The table's rows as typed elements.
    pub fn collect<T: Data>(&self) -> Result<Vec<T>> {
        let schema = T::schema();
        let mut out = Vec::new();
        for batch in self.batches() {
            out.extend(T::from_batch(&schema, &batch)?);
        }
        Ok(out)
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches().iter().map(RecordBatch::num_rows).sum()
    }
}

/// The session's in-memory tables by name.
#[derive(Debug, Clone, Default)]
pub struct MemoryTables {
    tables: Arc<Mutex<BTreeMap<String, MemoryTable>>>,
}

impl MemoryTables {
    /// The table `name`, created empty if new.
    pub fn get_or_create(&self, name: &str) -> MemoryTable {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.entry(name.to_owned()).or_default().clone()
    }

    /// The table `name`, if a memory sink created it.
    pub fn get(&self, name: &str) -> Option<MemoryTable> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

/// Writes batches into a [`MemoryTable`].
#[derive(Default)]
pub struct MemorySink {
    table: Option<MemoryTable>,
    mode: OutputMode,
    last_batch: Option<u64>,
}

impl MemorySink {
    /// A sink writing into the session's table named after the query, at start.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }
}

impl Sink for MemorySink {
    fn description(&self) -> String {
        "MemorySink".to_owned()
    }

    fn start(&mut self, ctx: &SinkContext) -> Result<()> {
        let name = ctx
            .query_name
            .as_deref()
            .ok_or_else(|| EmberError::config("queryName must be specified for memory sink"))?;
        self.table = Some(ctx.tables.get_or_create(name));
        self.mode = ctx.mode;
        Ok(())
    }

    fn add_batch(&mut self, batch_id: u64, data: &[RecordBatch]) -> Result<()> {
        let table = self
            .table
            .as_ref()
            .ok_or_else(|| EmberError::sink("MemorySink", "add_batch called before start"))?;
        // A batch handed over again after a restart was already added.
        if self.last_batch.is_some_and(|last| batch_id <= last) {
            return Ok(());
        }
        let mut batches = table.batches.lock().unwrap_or_else(|e| e.into_inner());
        if self.mode == OutputMode::Complete {
            batches.clear();
        }
        batches.extend(data.iter().filter(|b| b.num_rows() > 0).cloned());
        self.last_batch = Some(batch_id);
        Ok(())
    }
}

//! [`MemoryStream`]: a source fed from the program itself (Spark's `MemoryStream`), for tests
//! and examples. Everything added is kept, so it replays within one process.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;

use super::{Source, SourceContext, SourceFactory, SourceOffset};
use crate::data::{Data, items_to_batch};
use crate::error::{EmberError, Result};
use crate::row::Schema;

struct Shared {
    schema: Arc<Schema>,
    batches: Mutex<Vec<RecordBatch>>,
}

/// A stream of `T`s added by the program. Offsets count the calls to
/// [`add_data`](Self::add_data): `{"batches":n}`.
pub struct MemoryStream<T> {
    shared: Arc<Shared>,
    item: PhantomData<fn(T)>,
}

impl<T> Clone for MemoryStream<T> {
    fn clone(&self) -> Self {
        MemoryStream { shared: self.shared.clone(), item: PhantomData }
    }
}

impl<T: Data> Default for MemoryStream<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Data> MemoryStream<T> {
    /// An empty stream.
    pub fn new() -> Self {
        MemoryStream {
            shared: Arc::new(Shared { schema: T::schema(), batches: Mutex::new(Vec::new()) }),
            item: PhantomData,
        }
    }

    /// Appends `items` as the next unit of input; returns the offset that includes them.
    pub fn add_data(&self, items: impl IntoIterator<Item = T>) -> Result<u64> {
        let items: Vec<T> = items.into_iter().collect();
        let batch = items_to_batch(&self.shared.schema, &items)?;
        let mut batches = self.shared.batches.lock().unwrap_or_else(|e| e.into_inner());
        batches.push(batch);
        Ok(batches.len() as u64)
    }

    /// The factory a [`Dataset`](crate::Dataset) reads this stream through.
    pub fn factory(&self) -> Arc<dyn SourceFactory> {
        Arc::new(MemoryFactory { shared: self.shared.clone() })
    }
}

struct MemoryFactory {
    shared: Arc<Shared>,
}

impl SourceFactory for MemoryFactory {
    fn schema(&self) -> Arc<Schema> {
        self.shared.schema.clone()
    }
    fn description(&self) -> String {
        "MemoryStream".to_owned()
    }
    fn create(&self) -> Result<Box<dyn Source>> {
        Ok(Box::new(MemorySource { shared: self.shared.clone(), available_now: None }))
    }
}

struct MemorySource {
    shared: Arc<Shared>,
    /// Under available-now, the units added when the query started: later ones wait.
    available_now: Option<usize>,
}

impl MemorySource {
    fn added(&self) -> usize {
        self.shared.batches.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn batches_of(offset: &SourceOffset) -> Result<usize> {
    offset
        .to_value()
        .get("batches")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .ok_or_else(|| {
            EmberError::source(
                "MemoryStream",
                format!("offset {} is not {{\"batches\":n}}", offset.json()),
            )
        })
}

impl Source for MemorySource {
    fn description(&self) -> String {
        "MemoryStream".to_owned()
    }
    fn schema(&self) -> Arc<Schema> {
        self.shared.schema.clone()
    }
    fn start(&mut self, _: &SourceContext) -> Result<()> {
        Ok(())
    }
    fn latest_offset(&mut self, _: Option<&SourceOffset>) -> Result<Option<SourceOffset>> {
        let n = self.added().min(self.available_now.unwrap_or(usize::MAX));
        Ok((n > 0).then(|| SourceOffset::from_value(&serde_json::json!({ "batches": n }))))
    }
    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.available_now = Some(self.added());
        Ok(())
    }
    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>> {
        let from = start.map(batches_of).transpose()?.unwrap_or(0);
        let to = batches_of(end)?;
        let batches = self.shared.batches.lock().unwrap_or_else(|e| e.into_inner());
        if from > to || to > batches.len() {
            return Err(EmberError::source(
                "MemoryStream",
                format!("batches {from}..{to} asked for, {} added", batches.len()),
            ));
        }
        Ok(batches[from..to].to_vec())
    }
}

//! The `Codec` trait every serialization contender implements, and its error type.
//!
//! A codec turns a batch of records into one serialized stream and back. A batch is the unit Spark
//! serializes too (a shuffle block, a cached partition). The three operations on the serialized
//! form have default implementations that decode first, which is what an object serializer must
//! do; a row codec overrides them to work on the bytes in place, and must return the same results
//! as the defaults.

use crate::java::JavaError;
use crate::kryo::KryoError;
use crate::ops::{self, GroupSums};
use crate::record::Record;
use crate::rows::RowStreamError;

/// Why a codec could not encode or decode a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("Java serialization stream: {0}")]
    Java(#[from] JavaError),
    #[error("Kryo-style stream: {0}")]
    Kryo(#[from] KryoError),
    #[error("Ember row stream: {0}")]
    RowStream(#[from] RowStreamError),
    #[error("Ember rows: {0}")]
    Row(#[from] ember::row::RowError),
    #[error("Arrow IPC: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("Arrow IPC reader panicked on malformed input: {0}")]
    ArrowPanic(String),
}

/// A serialization format for batches of records of type `R`.
///
/// Methods take `&mut self` so that a codec can keep scratch state (handle tables, buffers)
/// between batches instead of allocating it per call.
pub trait Codec<R: Record> {
    /// A short stable name for reports, e.g. `"java"`.
    fn name(&self) -> &'static str;

    /// Serializes `rows` into `out` as one stream. `out` is cleared first; its capacity is reused.
    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Deserializes a whole stream written by [`Codec::encode`] into `out`, which is cleared
    /// first. Arbitrary bytes give an error, never a panic.
    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError>;

    /// "Read one field from the serialized form": [`ops::field_sum`] over the stream's records.
    fn field_sum(&mut self, bytes: &[u8]) -> Result<i64, CodecError> {
        let mut rows = Vec::new();
        self.decode(bytes, &mut rows)?;
        Ok(ops::field_sum(&rows))
    }

    /// "Hash group-by on a serialized key with a sum": [`ops::group_sum`] over the stream.
    fn group_sum(&mut self, bytes: &[u8]) -> Result<GroupSums, CodecError> {
        let mut rows = Vec::new();
        self.decode(bytes, &mut rows)?;
        Ok(ops::group_sum(&rows))
    }

    /// "Sort by a field of the serialized form": [`ops::sort_order`] over the stream.
    fn sort_order(&mut self, bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
        let mut rows = Vec::new();
        self.decode(bytes, &mut rows)?;
        Ok(ops::sort_order(&rows))
    }
}

//! The Java analogue: a writer and a reader of the Java Object Serialization Stream Protocol,
//! byte for byte what JDK 17's `ObjectOutputStream` writes through Spark's `JavaSerializer`.
//!
//! A batch is one stream: the header `AC ED 00 05`, then one `writeObject` per record, with
//! `TC_RESET` after every 100 records (Spark's default `spark.serializer.objectStreamReset`), so
//! each window of 100 records starts with the class descriptors again. Within a window, repeated
//! class descriptors and type strings are back-references by handle (`TC_REFERENCE`, handles from
//! `0x7E0000`); nullable fields are `java.lang.Integer`/`Long`/`Double` boxes or `TC_NULL`; strings
//! are modified UTF-8.
//!
//! - [`class_desc`]: descriptors and their precomputed bytes;
//! - `classes`: the record classes ([`JavaRecord`]);
//! - `writer` and `reader`: the two directions; `mutf8` and `wire`: the encodings.

pub mod class_desc;
mod classes;
pub mod constants;
mod error;
mod mutf8;
mod reader;
mod wire;
mod writer;

pub use classes::JavaRecord;
pub use error::JavaError;
pub use reader::ObjectReader;
pub use writer::ObjectWriter;

use crate::codec::{Codec, CodecError};
use constants::SPARK_OBJECT_STREAM_RESET;

/// The Java-serialization contender: [`Codec`] over [`JavaRecord`]s.
#[derive(Debug)]
pub struct JavaSerializer {
    reset_interval: usize,
    writer: writer::WriterState,
    handles: Vec<reader::Entry>,
}

impl JavaSerializer {
    /// Spark's default: a reset after every 100 records.
    pub fn new() -> Self {
        Self::with_reset_interval(SPARK_OBJECT_STREAM_RESET)
    }

    /// A reset after every `records` records; `0` never resets (`objectStreamReset <= 0`).
    pub fn with_reset_interval(records: usize) -> Self {
        Self { reset_interval: records, writer: writer::WriterState::new(), handles: Vec::new() }
    }
}

impl Default for JavaSerializer {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: JavaRecord> Codec<R> for JavaSerializer {
    fn name(&self) -> &'static str {
        "java"
    }

    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError> {
        writer::write_stream(rows, out, &mut self.writer, self.reset_interval);
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError> {
        reader::read_stream(bytes, &mut self.handles, out)?;
        Ok(())
    }
}

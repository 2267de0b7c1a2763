//! The Arrow IPC contender: the batch as a columnar engine would ship it.
//!
//! Encode writes the records as rows ([`RowArena`]), converts them to one Arrow record batch
//! ([`arena_to_batch`]) and writes an Arrow IPC stream (schema message, one record batch, end
//! marker). Decode reads the stream (the reader checks every buffer), turns the batches back into
//! rows ([`append_batch`]) and decodes those. The operations read the stream into rows the same
//! way and then work on the rows in place, without building records.

use std::io::Cursor;

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use ember::row::RowArena;
use ember::row::arrow::{append_batch, arena_to_batch};

use crate::codec::{Codec, CodecError};
use crate::ops::GroupSums;
use crate::rows::{RowRecord, field_sum_rows, group_sum_rows, sort_order_rows};

/// Arrow IPC stream of one record batch per encoded slice of records.
#[derive(Debug, Default)]
pub struct ArrowIpc;

impl ArrowIpc {
    pub fn new() -> Self {
        ArrowIpc
    }
}

/// Reads an IPC stream of `R`'s schema into a row arena; any malformed input is an error.
///
/// arrow-ipc 60's reader still panics on some damaged streams (a buffer sliced past its end
/// while building arrays, before validation runs); such a panic is caught here and returned as
/// [`CodecError::ArrowPanic`], so this codec keeps the "error, never a panic" contract as long
/// as panics unwind (the workspace's profiles do).
fn read_rows<R: RowRecord>(bytes: &[u8]) -> Result<RowArena, CodecError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_rows_unguarded::<R>(bytes)))
    {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(CodecError::ArrowPanic(message))
        }
    }
}

fn read_rows_unguarded<R: RowRecord>(bytes: &[u8]) -> Result<RowArena, CodecError> {
    let mut arena = RowArena::of::<R>();
    let reader = StreamReader::try_new(Cursor::new(bytes), None)?;
    for batch in reader {
        append_batch(&mut arena, &batch?)?;
    }
    Ok(arena)
}

impl<R: RowRecord> Codec<R> for ArrowIpc {
    fn name(&self) -> &'static str {
        "arrow-ipc"
    }

    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut arena = RowArena::of::<R>();
        for r in rows {
            arena.push_encoded(r);
        }
        let batch = arena_to_batch(&arena)?;
        out.clear();
        let mut writer = StreamWriter::try_new(&mut *out, &batch.schema())?;
        writer.write(&batch)?;
        writer.finish()?;
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError> {
        out.clear();
        let arena = read_rows::<R>(bytes)?;
        out.extend(arena.iter().map(R::decode));
        Ok(())
    }

    fn field_sum(&mut self, bytes: &[u8]) -> Result<i64, CodecError> {
        let arena = read_rows::<R>(bytes)?;
        Ok(field_sum_rows(arena.iter(), R::probe_in_place))
    }

    fn group_sum(&mut self, bytes: &[u8]) -> Result<GroupSums, CodecError> {
        let arena = read_rows::<R>(bytes)?;
        Ok(group_sum_rows(arena.iter(), R::group_key_in_place, R::group_value_in_place))
    }

    fn sort_order(&mut self, bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
        let arena = read_rows::<R>(bytes)?;
        Ok(sort_order_rows(arena.iter(), R::sort_key_in_place))
    }
}

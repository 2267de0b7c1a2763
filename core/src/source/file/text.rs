//! The `text` format: a file's lines as record batches of one string column, parsed in place.
//!
//! A file read whole is a `Vec<u8>` that becomes the values buffer of its string arrays: each
//! line is moved left over the line ends before it, and the arrays' offsets point into the
//! file's own buffer. So a batch holds one copy of its file, not two (a `StringBuilder` copy
//! doubled the bytes resident per batch and paged in a fresh buffer per file).
//!
//! This works because a line end is one ASCII byte (`\n`, with a `\r` before it dropped):
//! the lines of valid UTF-8 are valid UTF-8, and squeezing never lengthens a line. A part
//! of a file that is not all valid UTF-8 is instead copied through a builder, each invalid
//! sequence replaced by U+FFFD as Spark does, which can lengthen the line.
//!
//! A file of [`PARALLEL_TEXT_BYTES`] or more is cut after the line end nearest its middle,
//! and the two halves are parsed at once, on the query thread and one helper thread; line
//! numbers in errors still count from the file's start. The arrays of the two halves, which
//! check their offsets and UTF-8 as they are made, are made at once too (word count:
//! `getBatch` 5.5 -> 4.7 ms).

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::builder::StringBuilder;
use arrow_array::{RecordBatch, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};

use super::columns::{BYTES_PER_BATCH, ROWS_PER_BATCH};
use super::{Config, Lines, MAX_LINE_BYTES, first_line, too_long};
use crate::byte_search::find_byte;
use crate::error::{EmberError, Result};

/// Text files at least this large are parsed in two halves at once.
pub(super) const PARALLEL_TEXT_BYTES: usize = 1 << 20;

/// Why the lines of a part of a text file could not become record batches.
pub(super) enum TextError {
    /// Line `n` (counted from 1 in the part parsed) is longer than [`MAX_LINE_BYTES`].
    TooLong(u64),
    Other(EmberError),
}

impl TextError {
    /// The error, with line numbers counted after `lines_before` lines of the file.
    fn into_error(self, path: &Path, lines_before: u64) -> EmberError {
        match self {
            TextError::TooLong(line) => too_long(path, lines_before + line),
            TextError::Other(e) => e,
        }
    }
}

/// The lines of the text file `path`, whose bytes are `bytes`, as record batches.
pub(super) fn read_text(config: &Config, path: &Path, bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    read_text_from(config, path, bytes, PARALLEL_TEXT_BYTES)
}

/// [`read_text`], parsing in two halves a file of at least `parallel_from` bytes.
pub(super) fn read_text_from(
    config: &Config,
    path: &Path,
    mut bytes: Vec<u8>,
    parallel_from: usize,
) -> Result<Vec<RecordBatch>> {
    let middle = bytes.len() / 2;
    let cut = (bytes.len() >= parallel_from)
        .then(|| find_byte(&bytes[middle..], b'\n').map(|i| middle + i + 1))
        .flatten();
    let (first, second) = match cut {
        None => (parse_part(config, &mut bytes, 0), Ok(Part::Squeezed(Vec::new()))),
        Some(cut) => {
            // Cut after a line end, so each half holds whole lines.
            let (first, second) = bytes.split_at_mut(cut);
            // The helper takes the second half from here; if it cannot be started, this
            // thread takes it back and parses it too.
            let second = Mutex::new(Some(second));
            let parse_second = || {
                let part = second.lock().unwrap_or_else(PoisonError::into_inner).take();
                part.map(|part| parse_part(config, part, cut))
            };
            std::thread::scope(|scope| {
                let helper = std::thread::Builder::new()
                    .name("ember-text-parse".to_owned())
                    .spawn_scoped(scope, parse_second);
                let first = parse_part(config, first, 0);
                let second = match helper {
                    Ok(thread) => {
                        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    }
                    Err(_) => parse_second(),
                };
                (first, second.unwrap_or(Ok(Part::Squeezed(Vec::new()))))
            })
        }
    };
    let first = first.map_err(|e| e.into_error(path, 0))?;
    let second = second.map_err(|e| e.into_error(path, first.lines()))?;
    let buffer = Buffer::from_vec(bytes);
    // The arrays check their UTF-8 again as they are made: the second half's on a helper
    // thread, as in the parse.
    let (first, second) = if second.is_empty() {
        (first.into_batches(config, &buffer), Ok(Vec::new()))
    } else {
        let second = Mutex::new(Some(second));
        let build_second = || {
            let part = second.lock().unwrap_or_else(PoisonError::into_inner).take();
            part.map_or(Ok(Vec::new()), |part| part.into_batches(config, &buffer))
        };
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("ember-text-arrays".to_owned())
                .spawn_scoped(scope, build_second);
            let first = first.into_batches(config, &buffer);
            let second = match helper {
                Ok(thread) => {
                    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }
                Err(_) => build_second(),
            };
            (first, second)
        })
    };
    let mut batches = first?;
    batches.extend(second?);
    Ok(batches)
}

/// One part of a file, parsed.
enum Part {
    /// Squeezed in place: the arrays, still to be made over the file's buffer.
    Squeezed(Vec<SqueezedArray>),
    /// Copied through a builder: not all valid UTF-8.
    Copied(Vec<RecordBatch>),
}

/// One string array of squeezed lines: its values are `offsets.last()` bytes of the file's
/// buffer from `start`, and `offsets` (from 0) are relative to `start`.
struct SqueezedArray {
    start: usize,
    offsets: Vec<i32>,
}

impl Part {
    fn is_empty(&self) -> bool {
        match self {
            Part::Squeezed(arrays) => arrays.is_empty(),
            Part::Copied(batches) => batches.is_empty(),
        }
    }

    fn lines(&self) -> u64 {
        let rows: usize = match self {
            Part::Squeezed(arrays) => arrays.iter().map(|a| a.offsets.len() - 1).sum(),
            Part::Copied(batches) => batches.iter().map(RecordBatch::num_rows).sum(),
        };
        rows as u64
    }

    fn into_batches(self, config: &Config, buffer: &Buffer) -> Result<Vec<RecordBatch>> {
        let arrays = match self {
            Part::Copied(batches) => return Ok(batches),
            Part::Squeezed(arrays) => arrays,
        };
        arrays
            .into_iter()
            .map(|array| {
                let len = array.offsets.last().map_or(0, |&end| end as usize);
                let values = buffer.slice_with_length(array.start, len);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(array.offsets));
                // Checks the offsets and the UTF-8 again: cheap beside the parse, and what
                // keeps the arrays sound whatever a bug in the squeeze might do.
                let strings = StringArray::try_new(offsets, values, None)?;
                Ok(RecordBatch::try_new(config.arrow.clone(), vec![Arc::new(strings)])?)
            })
            .collect()
    }
}

/// Parses `part`, the bytes of the file from `base`: in place if it is valid UTF-8.
fn parse_part(config: &Config, part: &mut [u8], base: usize) -> Result<Part, TextError> {
    if std::str::from_utf8(part).is_ok() {
        squeeze(part, base).map(Part::Squeezed)
    } else {
        text_batches(config, part).map(Part::Copied)
    }
}

/// Moves the lines of `part` (valid UTF-8, the file's bytes from `base`) left over the line
/// ends, and returns the arrays they form: at most [`ROWS_PER_BATCH`] rows and, unless one
/// line is longer, [`BYTES_PER_BATCH`] bytes each.
fn squeeze(part: &mut [u8], base: usize) -> Result<Vec<SqueezedArray>, TextError> {
    let mut arrays = Vec::new();
    let rows_hint = (part.len() / 64).clamp(1, ROWS_PER_BATCH);
    let mut array = SqueezedArray { start: base, offsets: Vec::with_capacity(rows_hint + 1) };
    array.offsets.push(0);
    // `read` is where the next line starts, `write` where it goes; `write <= read` always.
    let (mut read, mut write, mut number) = (0usize, 0usize, 0u64);
    while read < part.len() {
        let (len, used) = first_line(&part[read..]);
        let (end, next) = (read + len, read + used);
        number += 1;
        if len > MAX_LINE_BYTES {
            return Err(TextError::TooLong(number));
        }
        let filled = write - (array.start - base);
        let rows = array.offsets.len() - 1;
        if rows > 0 && (rows == ROWS_PER_BATCH || filled + len > BYTES_PER_BATCH) {
            let full = std::mem::replace(
                &mut array,
                SqueezedArray { start: base + write, offsets: Vec::with_capacity(rows_hint + 1) },
            );
            arrays.push(full);
            array.offsets.push(0);
        }
        if write != read {
            part.copy_within(read..end, write);
        }
        write += len;
        // At most BYTES_PER_BATCH plus one line of at most MAX_LINE_BYTES: within i32.
        array.offsets.push((write - (array.start - base)) as i32);
        read = next;
    }
    if array.offsets.len() > 1 {
        arrays.push(array);
    }
    Ok(arrays)
}

/// The lines of `bytes` (whole lines of a text file) as record batches of its one column,
/// copied through a builder: invalid UTF-8 becomes U+FFFD.
pub(super) fn text_batches(
    config: &Config,
    bytes: &[u8],
) -> std::result::Result<Vec<RecordBatch>, TextError> {
    let batch = |builder: &mut StringBuilder| {
        RecordBatch::try_new(config.arrow.clone(), vec![Arc::new(builder.finish())])
            .map_err(|e| TextError::Other(e.into()))
    };
    let mut batches = Vec::new();
    let mut lines = Lines::new(bytes);
    let mut builder: Option<StringBuilder> = None;
    let (mut rows, mut data, mut number) = (0usize, 0usize, 0u64);
    loop {
        let remaining = lines.remaining();
        let Some(line) = lines.next() else { break };
        number += 1;
        let line = match line {
            Ok(text) => Cow::Borrowed(text),
            Err(raw) => String::from_utf8_lossy(raw),
        };
        if line.len() > MAX_LINE_BYTES {
            return Err(TextError::TooLong(number));
        }
        if rows == ROWS_PER_BATCH || data + line.len() > BYTES_PER_BATCH {
            if let Some(mut full) = builder.take() {
                batches.push(batch(&mut full)?);
            }
            (rows, data) = (0, 0);
        }
        // Room for the rest of the part (lines take at least a byte each): one allocation.
        let builder = builder.get_or_insert_with(|| {
            let capacity = remaining.max(line.len());
            StringBuilder::with_capacity(
                ROWS_PER_BATCH.min(capacity + 1),
                capacity.min(BYTES_PER_BATCH),
            )
        });
        builder.append_value(&line);
        rows += 1;
        data += line.len();
    }
    if let Some(mut last) = builder {
        batches.push(batch(&mut last)?);
    }
    Ok(batches)
}

//! [`Data`]: the element types of a typed [`Dataset`](crate::Dataset) (Spark's `Encoder`s), and
//! their conversion to and from binary rows and Arrow batches.
//!
//! A primitive, a string or an `Option` of one is a one-column dataset named `value`; a tuple
//! has columns `_1`, `_2`, ...; a `#[derive(Row)]` struct has a column per field. Every
//! element is written as one binary row of [`Data::fields`], so keys, aggregation buffers and
//! state are the same bytes whatever the element type.
//!
//! [`Str`] is the string type for hot paths: up to 22 bytes it lives inline (no allocation),
//! which covers words, keys and most identifiers.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};

use crate::byte_search::{eq_mask, eq_mask_short};
use crate::error::Result;
use crate::row::arrow::{append_batch, arena_to_batch};
use crate::row::{
    DataType, Field, FieldSink, FieldSource, Kind, Row, RowArena, RowBuilder, RowField, RowType,
    Schema, round8,
};

pub use crate::small_str::{INLINE_CAPACITY, Str};

/// A type that can be an element of a typed dataset.
pub trait Data: Sized + Send + Sync + 'static {
    /// The columns one element occupies.
    fn fields() -> Vec<Field>;
    /// Bytes the element takes in a row's variable-length region.
    fn var_size(&self) -> usize;
    /// Writes the element as the fields of the row `builder` is writing.
    fn write(&self, builder: &mut RowBuilder<'_>);
    /// Reads an element back from a row of [`Data::fields`].
    fn read(row: &Row<'_>) -> Self;

    /// The row schema of one element.
    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(Self::fields()))
    }

    /// The elements of `batch`, whose columns match `schema` (`Self::schema()`). Through rows;
    /// string types read their Arrow buffers directly.
    fn from_batch(schema: &Arc<Schema>, batch: &RecordBatch) -> Result<Vec<Self>> {
        items_from_rows(schema, batch)
    }

    /// Hands every element of `batch` (as [`from_batch`](Self::from_batch) reads them) to
    /// `f`, in order: the first stage of a dataset's fused stages. By default
    /// [`PIPELINE_ROWS`] rows at a time through `from_batch`; [`Str`] reads its Arrow array
    /// as it goes, with no vector of elements.
    #[inline]
    fn for_each_in(schema: &Arc<Schema>, batch: &RecordBatch, f: impl FnMut(Self)) -> Result<()> {
        for_each_by_slices(batch, f, |slice| Self::from_batch(schema, slice))
    }
}

/// Hands every element `read` makes of `batch`, [`PIPELINE_ROWS`] rows at a time, to `f`.
#[inline]
fn for_each_by_slices<T>(
    batch: &RecordBatch,
    mut f: impl FnMut(T),
    read: impl Fn(&RecordBatch) -> Result<Vec<T>>,
) -> Result<()> {
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = PIPELINE_ROWS.min(batch.num_rows() - offset);
        read(&batch.slice(offset, len))?.into_iter().for_each(&mut f);
        offset += len;
    }
    Ok(())
}

/// Rows of a batch that [`Data::for_each_in`] reads into a vector at a time, by default:
/// small enough that the vector stays in cache and in the allocator's small-object pages (a
/// vector of 1024 rows' elements is a large allocation, paged in afresh each time: measured
/// 15x slower per element than at 128 rows).
pub const PIPELINE_ROWS: usize = 128;

/// The elements of `batch` (columns matching `schema`), read through binary rows.
pub fn items_from_rows<T: Data>(schema: &Arc<Schema>, batch: &RecordBatch) -> Result<Vec<T>> {
    let mut arena = RowArena::new(schema.clone());
    append_batch(&mut arena, batch)?;
    Ok(arena.iter().map(|row| T::read(&row)).collect())
}

impl RowField for Str {
    type Ref<'a> = &'a str;
    const KIND: Kind = Kind::Utf8;
    #[inline]
    fn write_key_row(&self, buf: &mut Vec<u8>, _: &Schema) {
        crate::row::write_var_key_row(buf, self.as_bytes());
    }
    /// A string of up to 16 bytes held inline: its zero-padded storage is the row's
    /// variable-length region as it stands.
    #[inline]
    fn write_short_key_row(&self, out: &mut [u8; crate::row::SHORT_KEY_ROW]) -> Option<usize> {
        let (padded, len) = self.padded16()?;
        out[8..16].copy_from_slice(&crate::row::pack_slot(16, len).to_le_bytes());
        out[16..32].copy_from_slice(padded);
        Some(16 + round8(len))
    }
    /// The same zero-padded storage, as words.
    #[inline]
    fn short_string_key(&self) -> Option<([u64; 2], usize)> {
        let (padded, len) = self.padded16()?;
        let low = u64::from_le_bytes(*padded.first_chunk::<8>()?);
        let high = u64::from_le_bytes(*padded.last_chunk::<8>()?);
        Some(([low, high], len))
    }
    #[inline]
    fn var_size(&self) -> usize {
        round8(self.len())
    }
    fn data_type() -> DataType {
        DataType::Utf8
    }
    #[inline]
    fn write(&self, sink: &mut impl FieldSink, i: usize) {
        sink.write_str(i, self);
    }
    #[inline]
    fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
        Str::new(source.get_str(i))
    }
    #[inline]
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> &'a str {
        source.get_str(i)
    }
}

/// The pieces of `text` between the occurrences of `sep`, as [`Str`]s, like `str::split`
/// (empty pieces included). The iterator owns `text`, so a `flat_map` closure can return it
/// without collecting the pieces first: `.flat_map(|line: Str| split(line, ' '))`.
#[inline]
pub fn split(text: Str, sep: char) -> Split {
    let ascii = AsciiSep::new(sep);
    let seps = ascii.map_or(0, |sep| sep.positions(text.as_bytes(), 0));
    Split { text, sep, ascii, cursor: Cursor { at: 0, block: 0, seps, done: false } }
}

/// The iterator [`split`] returns.
///
/// For an ASCII separator, the common case, it finds the separators of 64 bytes of the text
/// at a time, as a bit mask, and each piece is the next set bit: no loop over the piece's
/// bytes, and no branch on its length, which mispredicts on words of mixed lengths. A piece of
/// up to 16 bytes is cut from one 16-byte load of the text, masked to its length.
#[derive(Debug, Clone)]
pub struct Split {
    text: Str,
    sep: char,
    /// `sep` when it is ASCII.
    ascii: Option<AsciiSep>,
    cursor: Cursor,
}

/// Where a [`Split`] is.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Where the next piece starts.
    at: usize,
    /// The offset of the 64 bytes that `seps` covers.
    block: usize,
    /// Bit `i` is set if `text[block + i]` is an ASCII separator not yet passed.
    seps: u64,
    done: bool,
}

impl Cursor {
    /// The bounds of the next piece of `bytes` split at the ASCII `sep`.
    #[inline(always)]
    fn next_ascii(&mut self, bytes: &[u8], sep: AsciiSep) -> Option<(usize, usize)> {
        if self.done {
            return None;
        }
        loop {
            if self.seps != 0 {
                let end = self.block + self.seps.trailing_zeros() as usize;
                self.seps &= self.seps - 1;
                return Some((std::mem::replace(&mut self.at, end + 1), end));
            }
            self.block += 64;
            if self.block >= bytes.len() {
                self.done = true;
                return Some((self.at, bytes.len()));
            }
            self.seps = sep.positions(bytes, self.block);
        }
    }
}

impl Iterator for Split {
    type Item = Str;

    #[inline]
    fn next(&mut self) -> Option<Str> {
        let Some(sep) = self.ascii else {
            return self.next_at_char();
        };
        let bytes = self.text.as_bytes();
        let (at, end) = self.cursor.next_ascii(bytes, sep)?;
        Some(ascii_piece(&self.text, bytes, at, end))
    }

    /// The pieces with the cursor in locals (`flat_map` takes a closure's pieces through
    /// `for_each`, which folds): 7% fewer instructions in the word count than through `next`,
    /// and 4% fewer than a loop over `Cursor::next_ascii` on a copy of the cursor.
    #[inline]
    fn fold<B, F: FnMut(B, Str) -> B>(mut self, init: B, mut f: F) -> B {
        let mut acc = init;
        let Some(sep) = self.ascii else {
            while let Some(piece) = self.next_at_char() {
                acc = f(acc, piece);
            }
            return acc;
        };
        let Cursor { mut at, mut block, mut seps, done } = self.cursor;
        if done {
            return acc;
        }
        let text = &self.text;
        let bytes = text.as_bytes();
        loop {
            while seps != 0 {
                let end = block + seps.trailing_zeros() as usize;
                seps &= seps - 1;
                acc = f(acc, ascii_piece(text, bytes, at, end));
                at = end + 1;
            }
            block += 64;
            if block >= bytes.len() {
                return f(acc, ascii_piece(text, bytes, at, bytes.len()));
            }
            seps = sep.positions(bytes, block);
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        // The separators left in this block, each ending a piece, and the last piece.
        let cursor = &self.cursor;
        let known = if cursor.done { 0 } else { cursor.seps.count_ones() as usize + 1 };
        (known, None)
    }
}

impl Split {
    /// The next piece for a separator of more than one byte.
    fn next_at_char(&mut self) -> Option<Str> {
        let cursor = &mut self.cursor;
        if cursor.done {
            return None;
        }
        let at = cursor.at;
        Some(match self.text[at..].find(self.sep) {
            Some(i) => {
                cursor.at += i + self.sep.len_utf8();
                self.text.substring(at, at + i)
            }
            None => {
                cursor.done = true;
                self.text.substring(at, self.text.len())
            }
        })
    }
}

/// The ASCII separator of a [`Split`].
#[derive(Debug, Clone, Copy)]
struct AsciiSep {
    byte: u8,
}

impl AsciiSep {
    fn new(sep: char) -> Option<AsciiSep> {
        // An ASCII char's code point is its one UTF-8 byte.
        sep.is_ascii().then_some(AsciiSep { byte: sep as u8 })
    }

    /// Bit `i` set for every separator `bytes[block + i]`, over the up to 64 bytes from
    /// `block`.
    #[inline]
    fn positions(self, bytes: &[u8], block: usize) -> u64 {
        let rest = bytes.len().saturating_sub(block);
        if let Some(full) = bytes.get(block..).and_then(|b| b.first_chunk::<64>()) {
            return self.in_64(full);
        }
        // Fewer than 64 bytes left: the text's last 64 bytes, overlapping the bytes already
        // searched, shifted down to start at `block`. Fixed-size work either way, so the
        // branches do not follow the line's length.
        if let Some(last) = bytes.last_chunk::<64>() {
            return self.in_64(last) >> (64 - rest);
        }
        // A text shorter than 64 bytes (so `block` is 0): its 16-byte chunks, then the last
        // 16 bytes, overlapping, or all of a text shorter than that.
        let window = bytes.get(block..).unwrap_or_default();
        let mut chunks = window.chunks_exact(16);
        let mut found = 0;
        for (i, chunk) in (&mut chunks).enumerate() {
            found |=
                u64::from(eq_mask(chunk.try_into().unwrap_or(&[0; 16]), self.byte)) << (16 * i);
        }
        let tail = chunks.remainder().len();
        if tail > 0 {
            let bits = match window.last_chunk::<16>() {
                Some(last) => eq_mask(last, self.byte) >> (16 - tail),
                None => eq_mask_short(window, self.byte),
            };
            found |= u64::from(bits) << (window.len() - tail);
        }
        found
    }

    /// Bit `i` set for every separator `bytes[i]`.
    #[inline]
    fn in_64(self, bytes: &[u8; 64]) -> u64 {
        let mut found = 0;
        for (i, chunk) in bytes.chunks_exact(16).enumerate() {
            found |=
                u64::from(eq_mask(chunk.try_into().unwrap_or(&[0; 16]), self.byte)) << (16 * i);
        }
        found
    }
}

/// `PIECE_MASKS[n]` keeps the low `n` bytes of a 16-byte window.
const PIECE_MASKS: [u128; 17] = {
    let mut masks = [u128::MAX; 17];
    let mut n = 0;
    while n < 16 {
        masks[n] = (1 << (8 * n)) - 1;
        n += 1;
    }
    masks
};

/// `text[at..end]` (`bytes` is `text.as_bytes()`), where `at` is 0 or follows an ASCII
/// separator and `end` is at one or at the end of `text`. Up to 16 bytes, it is cut from a 16-byte window of `text` without a copy
/// of the bytes one by one. (Always inlined: as a call, it took 56 instructions a piece.)
#[inline(always)]
fn ascii_piece(text: &Str, bytes: &[u8], at: usize, end: usize) -> Str {
    let len = end - at;
    if len <= 16 {
        // The 16 bytes from `at`; near the end, the last 16 shifted down to start at `at`. A
        // text shorter than 16 bytes is inline, zero-padded to 16.
        let window = match bytes.len().checked_sub(16) {
            Some(last) => {
                let start = at.min(last);
                bytes.get(start..start + 16).and_then(|w| <[u8; 16]>::try_from(w).ok()).map(|w| {
                    // (A shift of 128, for the empty piece at the very end, is masked away.)
                    u128::from_le_bytes(w).wrapping_shr(8 * (at - start) as u32)
                })
            }
            None => text.padded16().map(|(padded, _)| u128::from_le_bytes(*padded) >> (8 * at)),
        };
        if let Some(window) = window {
            let piece = window & PIECE_MASKS[len];
            // SAFETY: `piece` is `text[at..end]` (at most 16 bytes), zero-padded. `text` is a
            // `str`, and both ends are char boundaries: an ASCII byte is never inside a
            // multi-byte character, and `at` is 0 or follows one, `end` is at one or the end.
            return unsafe { Str::from_utf8_words(piece as u64, (piece >> 64) as u64, len) };
        }
    }
    text.substring(at, end)
}

/// A timestamp: microseconds since 1970-01-01T00:00:00Z (Spark's `TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A date: days since 1970-01-01 (Spark's `DateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Date(pub i32);

macro_rules! newtype_field {
    ($t:ident, $kind:ident, $write:ident, $get:ident) => {
        impl RowField for $t {
            type Ref<'a> = $t;
            const KIND: Kind = Kind::$kind;
            fn data_type() -> DataType {
                DataType::$kind
            }
            #[inline]
            fn write(&self, sink: &mut impl FieldSink, i: usize) {
                sink.$write(i, self.0);
            }
            #[inline]
            fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
                $t(source.$get(i))
            }
            #[inline]
            fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
                $t(source.$get(i))
            }
        }
    };
}

newtype_field!(Timestamp, Timestamp, write_timestamp, get_timestamp);
newtype_field!(Date, Date, write_date, get_date);

macro_rules! single_column {
    ($($t:ty $({ $($fast:tt)* })?),*) => {$(
        impl Data for $t {
            $($($fast)*)?
            fn fields() -> Vec<Field> {
                vec![Field::new("value", <$t as RowField>::data_type(), <$t as RowField>::NULLABLE)]
            }
            #[inline]
            fn var_size(&self) -> usize {
                RowField::var_size(self)
            }
            #[inline]
            fn write(&self, builder: &mut RowBuilder<'_>) {
                RowField::write(self, builder, 0);
            }
            #[inline]
            fn read(row: &Row<'_>) -> Self {
                <$t as RowField>::read(row, 0)
            }
        }
        impl Data for Option<$t> {
            fn fields() -> Vec<Field> {
                vec![Field::new("value", <$t as RowField>::data_type(), true)]
            }
            #[inline]
            fn var_size(&self) -> usize {
                RowField::var_size(self)
            }
            #[inline]
            fn write(&self, builder: &mut RowBuilder<'_>) {
                RowField::write(self, builder, 0);
            }
            #[inline]
            fn read(row: &Row<'_>) -> Self {
                <Option<$t> as RowField>::read(row, 0)
            }
        }
    )*};
}

/// The elements of a one-column, non-null `Utf8` batch, made by `make` straight from its
/// string array; through rows for any other batch.
fn strings_from_batch<T: Data>(
    schema: &Arc<Schema>,
    batch: &RecordBatch,
    make: impl FnOnce(&arrow_array::StringArray) -> Vec<T>,
) -> Result<Vec<T>> {
    match string_column(batch) {
        Some(strings) if strings.null_count() == 0 => Ok(make(strings)),
        _ => items_from_rows(schema, batch),
    }
}

single_column!(
    bool, i8, i16, i32, i64, f32, f64, Vec<u8>, Timestamp, Date,
    String {
        fn from_batch(schema: &Arc<Schema>, batch: &RecordBatch) -> Result<Vec<Self>> {
            strings_from_batch(schema, batch, |strings| {
                strings.iter().map(|s| s.unwrap_or_default().to_owned()).collect()
            })
        }
    },
    Str {
        /// A string longer than [`INLINE_CAPACITY`] bytes shares the column's values buffer,
        /// so the batch's strings take one allocation, not one each.
        fn from_batch(schema: &Arc<Schema>, batch: &RecordBatch) -> Result<Vec<Self>> {
            let mut items = Vec::with_capacity(batch.num_rows());
            Self::for_each_in(schema, batch, |s| items.push(s))?;
            Ok(items)
        }

        /// Each string made as it is handed on, all of them sharing one handle to the values;
        /// a batch of another shape through rows.
        #[inline]
        fn for_each_in(
            schema: &Arc<Schema>,
            batch: &RecordBatch,
            mut f: impl FnMut(Self),
        ) -> Result<()> {
            match string_column(batch) {
                Some(strings) if strings.null_count() == 0 => {
                    let owner = crate::small_str::SharedText::new(strings.values().clone());
                    (0..strings.len()).for_each(|i| f(Str::shared(&owner, strings.value(i))));
                    Ok(())
                }
                _ => for_each_by_slices(batch, f, |slice| items_from_rows(schema, slice)),
            }
        }
    }
);

macro_rules! tuple_columns {
    ($(($($name:ident $idx:tt),+)),*) => {$(
        impl<$($name: RowField + Send + Sync + 'static),+> Data for ($($name,)+) {
            fn fields() -> Vec<Field> {
                vec![$(Field::new(
                    concat!("_", stringify!($name)).replace('T', ""),
                    $name::data_type(),
                    $name::NULLABLE,
                )),+]
            }
            #[inline]
            fn var_size(&self) -> usize {
                0 $(+ self.$idx.var_size())+
            }
            #[inline]
            fn write(&self, builder: &mut RowBuilder<'_>) {
                $(self.$idx.write(builder, $idx);)+
            }
            #[inline]
            fn read(row: &Row<'_>) -> Self {
                ($($name::read(row, $idx),)+)
            }
        }
    )*};
}

tuple_columns!((T1 0, T2 1), (T1 0, T2 1, T3 2), (T1 0, T2 1, T3 2, T4 3));

impl<T: RowType + Send + Sync + 'static> Data for T {
    fn fields() -> Vec<Field> {
        T::schema().fields().to_vec()
    }
    #[inline]
    fn var_size(&self) -> usize {
        RowType::var_size(self)
    }
    #[inline]
    fn write(&self, builder: &mut RowBuilder<'_>) {
        self.encode(builder);
    }
    #[inline]
    fn read(row: &Row<'_>) -> Self {
        T::decode(*row)
    }
}

/// Appends `item` as one row of `arena` (whose schema is `T::schema()`).
#[inline]
pub fn push_item<T: Data>(arena: &mut RowArena, item: &T) -> usize {
    arena.push_with(|b| {
        b.reserve_var(item.var_size());
        item.write(b);
    })
}

/// `items` as one record batch of `schema` (`T::schema()`).
pub fn items_to_batch<T: Data>(schema: &Arc<Schema>, items: &[T]) -> Result<RecordBatch> {
    let mut arena = RowArena::new(schema.clone());
    let bytes: usize = items.iter().map(|i| schema.fixed_size() + i.var_size()).sum();
    arena.reserve(items.len(), bytes);
    for item in items {
        push_item(&mut arena, item);
    }
    Ok(arena_to_batch(&arena)?)
}

/// The strings of a one-column `Utf8` batch, or `None` if it is not one.
pub fn string_column(batch: &RecordBatch) -> Option<&arrow_array::StringArray> {
    (batch.num_columns() == 1).then(|| batch.column(0).as_string_opt::<i32>()).flatten()
}

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

use crate::error::Result;
use crate::row::arrow::{append_batch, arena_to_batch};
use crate::row::{
    DataType, Field, FieldSink, FieldSource, Kind, Row, RowArena, RowBuilder, RowField, RowType,
    Schema, round8,
};

pub use crate::small_str::Str;

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
}

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
pub fn split(text: Str, sep: char) -> Split {
    Split { text, sep, ascii: AsciiSep::new(sep), at: 0, done: false }
}

/// Sixteen bytes of 0x01 and of 0x80: the constants of the bytewise zero test.
const ONES: u128 = u128::from_le_bytes([0x01; 16]);
const HIGHS: u128 = u128::from_le_bytes([0x80; 16]);

/// An ASCII separator, its one UTF-8 byte repeated over the 16 bytes of a window.
#[derive(Debug, Clone, Copy)]
struct AsciiSep {
    pattern: u128,
}

impl AsciiSep {
    fn new(sep: char) -> Option<AsciiSep> {
        // An ASCII char's code point is its one UTF-8 byte.
        sep.is_ascii().then(|| AsciiSep { pattern: ONES * u128::from(sep as u8) })
    }

    fn byte(self) -> u8 {
        self.pattern as u8
    }
}

/// The iterator [`split`] returns.
#[derive(Debug, Clone)]
pub struct Split {
    text: Str,
    sep: char,
    /// `sep` when it is ASCII, the common case, searched for a window of bytes at a time.
    ascii: Option<AsciiSep>,
    at: usize,
    done: bool,
}

impl Iterator for Split {
    type Item = Str;

    #[inline]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        if let Some(sep) = self.ascii
            && let Some((piece, len, found)) = short_piece(&self.text, self.at, sep)
        {
            if found {
                self.at += len + 1;
            } else {
                self.done = true;
            }
            return Some(piece);
        }
        let rest = &self.text[self.at..];
        let (found, sep_len) = match self.ascii {
            Some(sep) => (crate::byte_search::find_byte(rest.as_bytes(), sep.byte()), 1),
            None => (rest.find(self.sep), self.sep.len_utf8()),
        };
        match found {
            Some(i) => {
                let piece = Str::new(&rest[..i]);
                self.at += i + sep_len;
                Some(piece)
            }
            None => {
                self.done = true;
                Some(Str::new(rest))
            }
        }
    }
}

/// The piece of `text` that starts at `at` and ends before the next `sep` or at the end, if it
/// is at most 16 bytes long and a 16-byte window of `text` covers it: the piece, its length
/// and whether a `sep` ends it. One window load and a bit search replace a byte loop and a
/// copy whose branches follow the piece's length, which mispredict on words of mixed lengths.
#[inline]
fn short_piece(text: &str, at: usize, sep: AsciiSep) -> Option<(Str, usize, bool)> {
    if !text.is_char_boundary(at) {
        return None;
    }
    let rest = text.len().checked_sub(at).filter(|&r| r > 0)?;
    let text = text.as_bytes();
    // The 16 bytes from `at`, or, near the end, the last 16 shifted down to start at `at`
    // (zeros past the end). Both are one load and a shift: a branch between them would
    // follow where the line's words end.
    let start = at.min(text.len().checked_sub(16)?);
    let loaded = u128::from_le_bytes(text.get(start..start + 16)?.try_into().ok()?);
    let window = loaded >> (8 * (at - start));
    let x = window ^ sep.pattern;
    // A zero byte of `x` is a `sep`; the lowest flagged byte is always a true one.
    let seps = x.wrapping_sub(ONES) & !x & HIGHS;
    // `u128::trailing_zeros` branches on which half is zero, a branch that follows the
    // piece's length; a select of the high half's count is a conditional move.
    let (low, high) = (seps as u64, (seps >> 64) as u64);
    let high_zeros = if low == 0 { high.trailing_zeros() } else { 0 };
    let first = ((low.trailing_zeros() + high_zeros) / 8) as usize;
    let (len, found) = if first < rest.min(16) {
        (first, true)
    } else if rest <= 16 {
        (rest, false)
    } else {
        return None;
    };
    // The bytes before the first `sep`, all 16 if there is none: past `rest` the window is
    // zero already.
    let lowest = seps & seps.wrapping_neg();
    let piece = window & (lowest >> 7).wrapping_sub(1);
    // SAFETY: the piece is `text[at..at + len]` (at most 16 bytes), zero-padded. `text` is a
    // `str`, and both ends of the piece are char boundaries: `at` was checked, and `at + len`
    // is at an ASCII `sep` or the end.
    Some((unsafe { Str::from_utf8_words(piece as u64, (piece >> 64) as u64, len) }, len, found))
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

/// Reads a one-column, non-null `Utf8` batch without going through rows.
macro_rules! strings_from_batch {
    ($make:expr) => {
        fn from_batch(schema: &Arc<Schema>, batch: &RecordBatch) -> Result<Vec<Self>> {
            match string_column(batch) {
                Some(strings) if strings.null_count() == 0 => {
                    Ok(strings.iter().map(|s| $make(s.unwrap_or_default())).collect())
                }
                _ => items_from_rows(schema, batch),
            }
        }
    };
}

single_column!(
    bool, i8, i16, i32, i64, f32, f64, Vec<u8>, Timestamp, Date,
    String { strings_from_batch!(str::to_owned); },
    Str { strings_from_batch!(Str::new); }
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

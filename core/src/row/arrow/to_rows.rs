//! Arrow columns → rows, in two passes.
//!
//! Pass 1 sums each row's size: the fixed part plus, for every variable-length column, the
//! padded size of its value, read from the column's offsets (nested structs and lists sum
//! their children the same way, a column at a time). The arena grows once, zeroed, so
//! padding, null slots and unused slot bytes are already zero. Pass 2 writes one column at a
//! time into every row through a [`Dest`], which says where value `i` of the column goes: a
//! field of the top-level rows, a field of nested rows, or an element of lists. Writers are
//! generic over the `Dest` and the Arrow type, so each loop is monomorphised.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float32Type, Float64Type, Int8Type, Int16Type};
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_buffer::NullBuffer;

use super::schema::matches;
use crate::row::layout::{SLOT_BYTES, bitset_bytes, pack_slot, round8};
use crate::row::writer::list_header_bytes;
use crate::row::{DataType, Field, FloatMode, RowArena, RowError, normalize_f32, normalize_f64};

/// Appends one row per batch row to `arena`; the batch's columns must match the arena's schema.
/// On error the arena is left as it was.
pub fn append_batch(arena: &mut RowArena, batch: &RecordBatch) -> Result<(), RowError> {
    append(arena, batch.columns(), batch.num_rows())
}

/// Appends one row per index of `columns` (one column per field of the arena's schema, all of
/// one length) to `arena`. With no columns there are no rows: a schema without fields takes
/// its row count from [`append_batch`]. On error the arena is left as it was.
pub fn append_columns(arena: &mut RowArena, columns: &[ArrayRef]) -> Result<(), RowError> {
    append(arena, columns, columns.first().map_or(0, |c| c.len()))
}

fn append(arena: &mut RowArena, columns: &[ArrayRef], num_rows: usize) -> Result<(), RowError> {
    let schema = arena.schema().clone();
    if columns.len() != schema.len() {
        return Err(RowError::FieldCount { expected: schema.len(), found: columns.len() });
    }
    for (column, field) in columns.iter().zip(schema.fields()) {
        if !matches(column.data_type(), &field.data_type) {
            return Err(RowError::ArrowType {
                field: field.name.clone(),
                arrow_type: column.data_type().to_string(),
                reason: "does not match the row schema",
            });
        }
        if column.len() != num_rows {
            return Err(RowError::ArrowType {
                field: field.name.clone(),
                arrow_type: column.data_type().to_string(),
                reason: "column length differs from the batch's row count",
            });
        }
    }

    // Pass 1: every row's size.
    let mut sizes = vec![schema.fixed_size(); num_rows];
    for (column, field) in columns.iter().zip(schema.fields()) {
        add_var_sizes(column.as_ref(), &field.data_type, &mut sizes);
    }
    if let Some(&size) = sizes.iter().find(|&&s| s > u32::MAX as usize) {
        return Err(RowError::TooLarge { size });
    }

    // Pass 2: one column at a time into every row.
    let floats = arena.float_mode();
    let rows_before = arena.len();
    let (region, starts) = arena.append_zeroed_rows(&sizes);
    let mut cursors: Vec<usize> = starts.iter().map(|s| s + schema.fixed_size()).collect();
    let result =
        columns.iter().zip(schema.fields()).enumerate().try_for_each(|(j, (column, f))| {
            let mut dest = RowFields {
                starts: &starts,
                cursors: &mut cursors,
                slot_offset: schema.bitset_bytes() + SLOT_BYTES * j,
                field: j,
                present: None,
            };
            write_column(column.as_ref(), f, &f.name, region, &mut dest, floats)
        });
    if let Err(error) = result {
        arena.truncate(rows_before);
        return Err(error);
    }
    for (r, cursor) in cursors.iter().enumerate() {
        assert_eq!(
            *cursor,
            starts[r] + sizes[r],
            "row {r}: pass 2 wrote a different size than pass 1"
        );
    }
    Ok(())
}

fn is_valid(nulls: Option<&NullBuffer>, i: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(i))
}

/// Adds to `out[i]` the padded variable-length size of value `i` of `array`.
fn add_var_sizes(array: &dyn Array, data_type: &DataType, out: &mut [usize]) {
    let nulls = array.nulls();
    match data_type {
        DataType::Utf8 => add_byte_sizes(array.as_string::<i32>().value_offsets(), nulls, out),
        DataType::Binary => add_byte_sizes(array.as_binary::<i32>().value_offsets(), nulls, out),
        DataType::Struct(_) | DataType::List(_) => {
            for (i, size) in nested_sizes(array, data_type).into_iter().enumerate() {
                if is_valid(nulls, i) {
                    out[i] += size;
                }
            }
        }
        _ => {}
    }
}

/// The size of every nested row or list of a struct or list column (nulls included: the
/// caller skips them).
fn nested_sizes(array: &dyn Array, data_type: &DataType) -> Vec<usize> {
    match data_type {
        DataType::Struct(schema) => {
            let array = array.as_struct();
            let mut sizes = vec![schema.fixed_size(); array.len()];
            for (child, field) in array.columns().iter().zip(schema.fields()) {
                add_var_sizes(child.as_ref(), &field.data_type, &mut sizes);
            }
            sizes
        }
        DataType::List(element) => {
            let array = array.as_list::<i32>();
            let kind = element.data_type.kind();
            let mut elements = vec![0; array.values().len()];
            add_var_sizes(array.values().as_ref(), &element.data_type, &mut elements);
            let offsets = array.value_offsets();
            let sizes = offsets.windows(2).map(|w| {
                let (a, b) = (w[0] as usize, w[1] as usize);
                list_header_bytes(b - a, kind) + elements[a..b].iter().sum::<usize>()
            });
            sizes.collect()
        }
        _ => unreachable!("only structs and lists nest"),
    }
}

/// Reserves each present nested value's extent at its container's cursor (values that share
/// a cursor, the elements of one list, must not overlap) and returns where each starts.
fn reserve_nested<D: Dest>(dest: &mut D, present: &[bool], sizes: &[usize]) -> Vec<usize> {
    let mut starts = vec![0; present.len()];
    for i in (0..present.len()).filter(|&i| present[i]) {
        let cursor = dest.cursor(i);
        starts[i] = *cursor;
        *cursor += sizes[i];
    }
    starts
}

fn add_byte_sizes(offsets: &[i32], nulls: Option<&NullBuffer>, out: &mut [usize]) {
    for (i, w) in offsets.windows(2).enumerate() {
        if is_valid(nulls, i) {
            out[i] += round8((w[1] - w[0]) as usize);
        }
    }
}

/// Where value `i` of a column goes. Positions are indices into the region being written.
trait Dest {
    /// Whether value `i` is written at all (false under a null struct or outside any list).
    fn present(&self, i: usize) -> bool;
    /// Whether every value is present (lets the loops skip the check).
    fn all_present(&self) -> bool;
    /// Position of value `i`'s slot.
    fn slot(&self, i: usize) -> usize;
    /// Bit index (from the region's start) of value `i`'s null bit.
    fn null_bit(&self, i: usize) -> usize;
    /// Position that value `i`'s variable-length offset is relative to.
    fn base(&self, i: usize) -> usize;
    /// The variable-region cursor value `i` appends at.
    fn cursor(&mut self, i: usize) -> &mut usize;
}

/// Field `field` of rows starting at `starts`.
struct RowFields<'d> {
    starts: &'d [usize],
    cursors: &'d mut [usize],
    slot_offset: usize,
    field: usize,
    present: Option<&'d [bool]>,
}

impl Dest for RowFields<'_> {
    #[inline]
    fn present(&self, i: usize) -> bool {
        self.present.is_none_or(|p| p[i])
    }
    #[inline]
    fn all_present(&self) -> bool {
        self.present.is_none()
    }
    #[inline]
    fn slot(&self, i: usize) -> usize {
        self.starts[i] + self.slot_offset
    }
    #[inline]
    fn null_bit(&self, i: usize) -> usize {
        self.starts[i] * 8 + self.field
    }
    #[inline]
    fn base(&self, i: usize) -> usize {
        self.starts[i]
    }
    #[inline]
    fn cursor(&mut self, i: usize) -> &mut usize {
        &mut self.cursors[i]
    }
}

const NO_LIST: u32 = u32::MAX;

/// Elements of lists: element `e` of the child array belongs to list `owner[e]`.
struct ListElements<'d> {
    owner: &'d [u32],
    offsets: &'d [i32],
    starts: &'d [usize],
    cursors: &'d mut [usize],
    width: usize,
}

impl ListElements<'_> {
    #[inline]
    fn list_and_index(&self, e: usize) -> (usize, usize) {
        let list = self.owner[e] as usize;
        (list, e - self.offsets[list] as usize)
    }
}

impl Dest for ListElements<'_> {
    #[inline]
    fn present(&self, e: usize) -> bool {
        self.owner[e] != NO_LIST
    }
    #[inline]
    fn all_present(&self) -> bool {
        false
    }
    #[inline]
    fn slot(&self, e: usize) -> usize {
        let (list, k) = self.list_and_index(e);
        let count = (self.offsets[list + 1] - self.offsets[list]) as usize;
        self.starts[list] + 8 + bitset_bytes(count) + k * self.width
    }
    #[inline]
    fn null_bit(&self, e: usize) -> usize {
        let (list, k) = self.list_and_index(e);
        (self.starts[list] + 8) * 8 + k
    }
    #[inline]
    fn base(&self, e: usize) -> usize {
        self.starts[self.owner[e] as usize]
    }
    #[inline]
    fn cursor(&mut self, e: usize) -> &mut usize {
        &mut self.cursors[self.owner[e] as usize]
    }
}

/// Writes every present value of `array` into `out` at the places `dest` gives.
fn write_column<D: Dest>(
    array: &dyn Array,
    field: &Field,
    path: &str,
    out: &mut [u8],
    dest: &mut D,
    floats: FloatMode,
) -> Result<(), RowError> {
    let nulls = array.nulls();
    if let Some(nulls) = nulls.filter(|n| n.null_count() > 0) {
        for i in nulls.iter().enumerate().filter(|(_, valid)| !valid).map(|(i, _)| i) {
            if dest.present(i) {
                if !field.nullable {
                    return Err(RowError::NullNotAllowed { field: path.to_string() });
                }
                let bit = dest.null_bit(i);
                out[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    let normalize = floats == FloatMode::Normalized;
    match &field.data_type {
        DataType::Boolean => {
            let values = array.as_boolean().values();
            for i in 0..array.len() {
                if dest.present(i) && is_valid(nulls, i) {
                    out[dest.slot(i)] = u8::from(values.value(i));
                }
            }
        }
        DataType::Int8 => write_fixed::<Int8Type, D>(array, out, dest, |v| v),
        DataType::Int16 => write_fixed::<Int16Type, D>(array, out, dest, |v| v),
        DataType::Int32 => write_fixed::<Int32Type, D>(array, out, dest, |v| v),
        DataType::Int64 => write_fixed::<Int64Type, D>(array, out, dest, |v| v),
        DataType::Date => write_fixed::<Date32Type, D>(array, out, dest, |v| v),
        DataType::Timestamp => write_fixed::<TimestampMicrosecondType, D>(array, out, dest, |v| v),
        DataType::Float32 if normalize => {
            write_fixed::<Float32Type, D>(array, out, dest, normalize_f32)
        }
        DataType::Float32 => write_fixed::<Float32Type, D>(array, out, dest, |v| v),
        DataType::Float64 if normalize => {
            write_fixed::<Float64Type, D>(array, out, dest, normalize_f64)
        }
        DataType::Float64 => write_fixed::<Float64Type, D>(array, out, dest, |v| v),
        DataType::Utf8 => {
            let array = array.as_string::<i32>();
            write_bytes(array.value_offsets(), array.value_data(), nulls, out, dest);
        }
        DataType::Binary => {
            let array = array.as_binary::<i32>();
            write_bytes(array.value_offsets(), array.value_data(), nulls, out, dest);
        }
        DataType::Struct(schema) => {
            let array = array.as_struct();
            let n = array.len();
            let present: Vec<bool> =
                (0..n).map(|i| dest.present(i) && is_valid(nulls, i)).collect();
            let sizes = nested_sizes(array, &field.data_type);
            let starts = reserve_nested(dest, &present, &sizes);
            let mut cursors: Vec<usize> = starts.iter().map(|s| s + schema.fixed_size()).collect();
            for (k, (child, child_field)) in array.columns().iter().zip(schema.fields()).enumerate()
            {
                let mut nested = RowFields {
                    starts: &starts,
                    cursors: &mut cursors,
                    slot_offset: schema.bitset_bytes() + SLOT_BYTES * k,
                    field: k,
                    present: Some(&present),
                };
                let child_path = format!("{path}.{}", child_field.name);
                write_column(child.as_ref(), child_field, &child_path, out, &mut nested, floats)?;
            }
            close_nested(out, dest, &present, &starts, &cursors, &sizes);
        }
        DataType::List(element) => {
            let array = array.as_list::<i32>();
            let offsets = array.value_offsets();
            let kind = element.data_type.kind();
            let n = array.len();
            let mut owner = vec![NO_LIST; array.values().len()];
            let present: Vec<bool> =
                (0..n).map(|i| dest.present(i) && is_valid(nulls, i)).collect();
            let sizes = nested_sizes(array, &field.data_type);
            let starts = reserve_nested(dest, &present, &sizes);
            let mut cursors = vec![0; n];
            for i in (0..n).filter(|&i| present[i]) {
                let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
                out[starts[i]..starts[i] + 8].copy_from_slice(&((b - a) as u64).to_le_bytes());
                cursors[i] = starts[i] + list_header_bytes(b - a, kind);
                owner[a..b].fill(i as u32);
            }
            let mut elements = ListElements {
                owner: &owner,
                offsets,
                starts: &starts,
                cursors: &mut cursors,
                width: kind.element_width(),
            };
            let element_path = format!("{path}[]");
            write_column(
                array.values().as_ref(),
                element,
                &element_path,
                out,
                &mut elements,
                floats,
            )?;
            close_nested(out, dest, &present, &starts, &cursors, &sizes);
        }
    }
    Ok(())
}

/// Points each present value's slot at the nested row or list written at
/// `starts[i]..cursors[i]`, which must fill exactly the extent reserved for it.
fn close_nested<D: Dest>(
    out: &mut [u8],
    dest: &D,
    present: &[bool],
    starts: &[usize],
    cursors: &[usize],
    sizes: &[usize],
) {
    for i in (0..present.len()).filter(|&i| present[i]) {
        assert_eq!(
            cursors[i] - starts[i],
            sizes[i],
            "nested value {i}: sizes of the two passes differ"
        );
        let slot = pack_slot(starts[i] - dest.base(i), sizes[i]);
        let pos = dest.slot(i);
        out[pos..pos + SLOT_BYTES].copy_from_slice(&slot.to_le_bytes());
    }
}

/// A fixed-width Arrow native value written little-endian into a slot.
trait SlotValue: Copy {
    const WIDTH: usize;
    fn put(self, out: &mut [u8]);
}

macro_rules! slot_value {
    ($($t:ty),*) => {$(
        impl SlotValue for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
slot_value!(i8, i16, i32, i64, f32, f64);

fn write_fixed<T, D>(
    array: &dyn Array,
    out: &mut [u8],
    dest: &D,
    map: impl Fn(T::Native) -> T::Native,
) where
    T: ArrowPrimitiveType,
    T::Native: SlotValue,
    D: Dest,
{
    let array = array.as_primitive::<T>();
    let values = array.values();
    let width = T::Native::WIDTH;
    if array.null_count() == 0 && dest.all_present() {
        for (i, &v) in values.iter().enumerate() {
            let pos = dest.slot(i);
            map(v).put(&mut out[pos..pos + width]);
        }
    } else {
        let nulls = array.nulls();
        for (i, &v) in values.iter().enumerate() {
            if dest.present(i) && is_valid(nulls, i) {
                let pos = dest.slot(i);
                map(v).put(&mut out[pos..pos + width]);
            }
        }
    }
}

fn write_bytes<D: Dest>(
    offsets: &[i32],
    data: &[u8],
    nulls: Option<&NullBuffer>,
    out: &mut [u8],
    dest: &mut D,
) {
    for (i, w) in offsets.windows(2).enumerate() {
        if !(dest.present(i) && is_valid(nulls, i)) {
            continue;
        }
        let (a, b) = (w[0] as usize, w[1] as usize);
        let slot_pos = dest.slot(i);
        let base = dest.base(i);
        let cursor = dest.cursor(i);
        let pos = *cursor;
        out[pos..pos + (b - a)].copy_from_slice(&data[a..b]);
        *cursor = pos + round8(b - a);
        out[slot_pos..slot_pos + SLOT_BYTES]
            .copy_from_slice(&pack_slot(pos - base, b - a).to_le_bytes());
    }
}

//! Rows → Arrow columns, a column at a time.
//!
//! A column is first located in every row as a list of [`Cell`]s (the bytes holding the
//! value's slot, the slot's position, and whether the value is there), then read by a loop
//! monomorphised for its type. A nested struct's fields and a list's elements become cells
//! of their own and recurse, so the cost per value is a slot read, never a dispatch.

use std::sync::Arc;

use arrow_array::types::{Date32Type, Float32Type, Float64Type, Int8Type, Int16Type};
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, ListArray, PrimitiveArray,
    RecordBatch, StringArray, StructArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};

use super::schema::{to_arrow_field, to_arrow_schema};
use crate::row::layout::{self, SLOT_BYTES, bitset_bytes, unpack_slot};
use crate::row::{DataType, Field, Row, RowArena, RowError, Schema};

/// Every row of `arena` as one record batch.
pub fn arena_to_batch(arena: &RowArena) -> Result<RecordBatch, RowError> {
    let rows: Vec<Row<'_>> = arena.iter().collect();
    let columns = rows_to_columns(arena.schema(), &rows)?;
    let schema = Arc::new(to_arrow_schema(arena.schema()));
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| RowError::Arrow { field: "<batch>".into(), message: e.to_string() })
}

/// One Arrow column per field of `schema` from `rows`, which must all be of `schema`.
pub fn rows_to_columns(schema: &Schema, rows: &[Row<'_>]) -> Result<Vec<ArrayRef>, RowError> {
    for row in rows {
        assert!(
            std::ptr::eq(row.schema(), schema) || row.schema() == schema,
            "row of schema {} converted as {schema}",
            row.schema()
        );
    }
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(j, field)| {
            let cells: Vec<Cell<'_>> = rows
                .iter()
                .map(|row| Cell {
                    container: row.bytes(),
                    slot: schema.bitset_bytes() + SLOT_BYTES * j,
                    valid: !layout::bit_is_set(row.bytes(), j),
                })
                .collect();
            build_column(&cells, field, &field.name)
        })
        .collect()
}

/// Where one value's slot is: `container[slot..]`, offsets in it relative to `container`.
#[derive(Clone, Copy)]
struct Cell<'a> {
    container: &'a [u8],
    slot: usize,
    valid: bool,
}

const ABSENT: Cell<'static> = Cell { container: &[], slot: 0, valid: false };

impl<'a> Cell<'a> {
    #[inline]
    fn var(&self) -> &'a [u8] {
        let (offset, len) = unpack_slot(layout::read_u64(self.container, self.slot));
        &self.container[offset..offset + len]
    }
}

fn null_buffer(cells: &[Cell<'_>]) -> Option<NullBuffer> {
    if cells.iter().all(|c| c.valid) {
        None
    } else {
        Some(NullBuffer::from(cells.iter().map(|c| c.valid).collect::<Vec<_>>()))
    }
}

fn arrow_error(path: &str, error: arrow_schema::ArrowError) -> RowError {
    RowError::Arrow { field: path.to_string(), message: error.to_string() }
}

fn build_column(cells: &[Cell<'_>], field: &Field, path: &str) -> Result<ArrayRef, RowError> {
    let nulls = null_buffer(cells);
    Ok(match &field.data_type {
        DataType::Boolean => {
            let values =
                BooleanBuffer::from_iter(cells.iter().map(|c| c.valid && c.container[c.slot] != 0));
            Arc::new(BooleanArray::new(values, nulls))
        }
        DataType::Int8 => fixed::<Int8Type>(cells, nulls, |b| i8::from_le_bytes([b[0]])),
        DataType::Int16 => fixed::<Int16Type>(cells, nulls, |b| i16::from_le_bytes([b[0], b[1]])),
        DataType::Int32 => fixed::<Int32Type>(cells, nulls, read4(i32::from_le_bytes)),
        DataType::Date => fixed::<Date32Type>(cells, nulls, read4(i32::from_le_bytes)),
        DataType::Float32 => fixed::<Float32Type>(cells, nulls, read4(f32::from_le_bytes)),
        DataType::Int64 => fixed::<Int64Type>(cells, nulls, read8(i64::from_le_bytes)),
        DataType::Timestamp => {
            fixed::<TimestampMicrosecondType>(cells, nulls, read8(i64::from_le_bytes))
        }
        DataType::Float64 => fixed::<Float64Type>(cells, nulls, read8(f64::from_le_bytes)),
        DataType::Utf8 => {
            let (offsets, values) = concat_var(cells, path)?;
            Arc::new(
                StringArray::try_new(offsets, values, nulls).map_err(|e| arrow_error(path, e))?,
            )
        }
        DataType::Binary => {
            let (offsets, values) = concat_var(cells, path)?;
            Arc::new(
                BinaryArray::try_new(offsets, values, nulls).map_err(|e| arrow_error(path, e))?,
            )
        }
        DataType::Struct(schema) => {
            let nested: Vec<&[u8]> =
                cells.iter().map(|c| if c.valid { c.var() } else { &[][..] }).collect();
            let children = schema
                .fields()
                .iter()
                .enumerate()
                .map(|(k, child)| {
                    let child_cells: Vec<Cell<'_>> = nested
                        .iter()
                        .zip(cells)
                        .map(|(bytes, cell)| match cell.valid {
                            true => Cell {
                                container: bytes,
                                slot: schema.bitset_bytes() + SLOT_BYTES * k,
                                valid: !layout::bit_is_set(bytes, k),
                            },
                            false => ABSENT,
                        })
                        .collect();
                    build_column(&child_cells, child, &format!("{path}.{}", child.name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let fields = schema.fields().iter().map(to_arrow_field).collect();
            let array = StructArray::try_new_with_length(fields, children, nulls, cells.len());
            Arc::new(array.map_err(|e| arrow_error(path, e))?)
        }
        DataType::List(element) => {
            let width = element.data_type.kind().element_width();
            let mut offsets = Vec::with_capacity(cells.len() + 1);
            offsets.push(0i32);
            let mut element_cells = Vec::new();
            for cell in cells.iter().filter(|c| c.valid) {
                let list = cell.var();
                let count = layout::read_u64(list, 0) as usize;
                let bitset = &list[8..8 + bitset_bytes(count)];
                element_cells.extend((0..count).map(|k| Cell {
                    container: list,
                    slot: 8 + bitset.len() + k * width,
                    valid: !layout::bit_is_set(bitset, k),
                }));
            }
            let mut total = 0usize;
            for cell in cells {
                if cell.valid {
                    total += layout::read_u64(cell.var(), 0) as usize;
                }
                offsets.push(i32::try_from(total).map_err(|_| RowError::Arrow {
                    field: path.to_string(),
                    message: "more than 2^31 list elements in one column".into(),
                })?);
            }
            let values = build_column(&element_cells, element, &format!("{path}[]"))?;
            let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
            let field = Arc::new(to_arrow_field(element));
            Arc::new(
                ListArray::try_new(field, offsets, values, nulls)
                    .map_err(|e| arrow_error(path, e))?,
            )
        }
    })
}

fn read4<T>(from: fn([u8; 4]) -> T) -> impl Fn(&[u8]) -> T {
    move |b| from([b[0], b[1], b[2], b[3]])
}

fn read8<T>(from: fn([u8; 8]) -> T) -> impl Fn(&[u8]) -> T {
    move |b| from(b[..8].try_into().expect("8 bytes"))
}

fn fixed<T: ArrowPrimitiveType>(
    cells: &[Cell<'_>],
    nulls: Option<NullBuffer>,
    read: impl Fn(&[u8]) -> T::Native,
) -> ArrayRef {
    let values: Vec<T::Native> = cells
        .iter()
        .map(|c| if c.valid { read(&c.container[c.slot..]) } else { T::Native::default() })
        .collect();
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls))
}

fn concat_var(cells: &[Cell<'_>], path: &str) -> Result<(OffsetBuffer<i32>, Buffer), RowError> {
    let total: usize = cells.iter().filter(|c| c.valid).map(|c| c.var().len()).sum();
    if i32::try_from(total).is_err() {
        return Err(RowError::Arrow {
            field: path.to_string(),
            message: format!("{total} bytes exceed an Arrow Utf8/Binary column's 2 GiB"),
        });
    }
    let mut offsets = Vec::with_capacity(cells.len() + 1);
    let mut values = Vec::with_capacity(total);
    offsets.push(0i32);
    for cell in cells {
        if cell.valid {
            values.extend_from_slice(cell.var());
        }
        offsets.push(values.len() as i32);
    }
    Ok((OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(values)))
}

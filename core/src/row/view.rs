//! Reading rows in place: [`Row`] is a borrowed view of one row's bytes, [`ListView`] of one
//! list, and [`FieldSource`] the getters both share. Getters are O(1): a slot read, and for
//! variable-length values a slice of the row's bytes, never a copy.
//!
//! # The invariant
//! A `Row` exists only for bytes that are a valid row of its schema: checked by
//! [`Row::try_new`], produced by a [`RowBuilder`](super::RowBuilder) of that schema, or
//! promised by the caller of the `unsafe` [`Row::new_unchecked`]. The one property memory
//! safety rests on is that every non-null UTF-8 field or element holds valid UTF-8 at
//! in-bounds offsets; getters slice with bounds checks, so everything else a broken
//! promise could cause is a panic, not undefined behaviour.

use std::fmt;

use super::layout::{self, SLOT_BYTES, read_u64, unpack_slot};
use super::types::{DataType, Field, Kind, Schema};
use super::validate;
use super::{RowError, hash};

/// A borrowed, read-in-place view of one row.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    bytes: &'a [u8],
    schema: &'a Schema,
}

impl<'a> Row<'a> {
    /// Checks that `bytes` are a valid, canonical row of `schema` (every length, offset,
    /// alignment, padding byte, null rule and UTF-8 string) and returns a view of them.
    /// This is the way in for bytes from files, the network, or anything not written by a
    /// [`RowBuilder`](super::RowBuilder). It never panics.
    pub fn try_new(bytes: &'a [u8], schema: &'a Schema) -> Result<Row<'a>, RowError> {
        validate::validate_row(bytes, schema)?;
        Ok(Row { bytes, schema })
    }

    /// A view of `bytes` without checking them.
    ///
    /// # Safety
    /// `bytes` must be a valid row of `schema`: either they passed [`Row::try_new`] against an
    /// equal schema, or they were produced by a `RowBuilder` of an equal schema and not
    /// changed since. In particular every non-null UTF-8 value must be valid UTF-8.
    pub unsafe fn new_unchecked(bytes: &'a [u8], schema: &'a Schema) -> Row<'a> {
        Row { bytes, schema }
    }

    /// A view of bytes a builder of `schema` just wrote.
    pub(crate) fn from_builder(bytes: &'a [u8], schema: &'a Schema) -> Row<'a> {
        Row { bytes, schema }
    }

    /// The row's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The row's schema.
    pub fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// The number of fields.
    pub fn num_fields(&self) -> usize {
        self.schema.len()
    }

    /// The pinned row hash of the bytes (see [`hash::hash_row`]).
    pub fn hash(&self) -> u64 {
        hash::hash_row(self.bytes)
    }

    #[inline]
    fn slot(&self, i: usize) -> u64 {
        read_u64(self.bytes, self.schema.bitset_bytes() + SLOT_BYTES * i)
    }

    #[inline]
    fn fixed(&self, i: usize, kind: Kind) -> u64 {
        debug_assert_eq!(self.schema.kind(i), kind, "field {i} read as {kind:?}");
        assert!(i < self.schema.len(), "field {i} of a row of {}", self.schema.len());
        self.slot(i)
    }

    #[inline]
    fn var(&self, i: usize, kind: Kind) -> &'a [u8] {
        let found = self.schema.kind(i);
        assert!(found == kind, "field {i} is {found:?}, read as {kind:?}");
        let (offset, len) = unpack_slot(self.slot(i));
        &self.bytes[offset..offset + len]
    }

    fn nested_type(&self, i: usize) -> &'a DataType {
        &self.schema.field(i).data_type
    }
}

impl PartialEq for Row<'_> {
    /// Rows are equal when their bytes are: the format gives equal values equal bytes.
    fn eq(&self, other: &Row<'_>) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Row<'_> {}

impl fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for i in 0..self.num_fields() {
            list.entry(&self.get_value(i));
        }
        list.finish()
    }
}

/// A borrowed view of one list inside a row.
#[derive(Clone, Copy)]
pub struct ListView<'a> {
    bytes: &'a [u8],
    element: &'a Field,
    len: usize,
}

impl<'a> ListView<'a> {
    fn new(bytes: &'a [u8], element: &'a Field) -> ListView<'a> {
        let len = read_u64(bytes, 0) as usize;
        ListView { bytes, element, len }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element field (type and nullability).
    pub fn element(&self) -> &'a Field {
        self.element
    }

    /// The list's bytes, from its count word to the end of its variable region.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    fn slot_bytes(&self, j: usize, kind: Kind) -> &'a [u8] {
        let found = self.element.data_type.kind();
        assert!(found == kind || !kind.is_variable(), "elements are {found:?}, read as {kind:?}");
        debug_assert_eq!(found, kind, "elements read as {kind:?}");
        assert!(j < self.len, "element {j} of a list of {}", self.len);
        let width = kind.element_width();
        let pos = 8 + layout::bitset_bytes(self.len) + j * width;
        &self.bytes[pos..pos + width]
    }

    #[inline]
    fn var(&self, j: usize, kind: Kind) -> &'a [u8] {
        let slot = u64::from_le_bytes(self.slot_bytes(j, kind).try_into().expect("8 bytes"));
        let (offset, len) = unpack_slot(slot);
        &self.bytes[offset..offset + len]
    }
}

impl fmt::Debug for ListView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries((0..self.len).map(|j| self.get_value(j))).finish()
    }
}

/// In-place getters shared by rows (index = field) and lists (index = element).
pub trait FieldSource<'a> {
    /// Whether value `i` is null.
    fn is_null(&self, i: usize) -> bool;
    /// A boolean.
    fn get_bool(&self, i: usize) -> bool;
    /// An `i8`.
    fn get_i8(&self, i: usize) -> i8;
    /// An `i16`.
    fn get_i16(&self, i: usize) -> i16;
    /// An `i32`.
    fn get_i32(&self, i: usize) -> i32;
    /// An `i64`.
    fn get_i64(&self, i: usize) -> i64;
    /// An `f32`.
    fn get_f32(&self, i: usize) -> f32;
    /// An `f64`.
    fn get_f64(&self, i: usize) -> f64;
    /// A date, in days since the epoch.
    fn get_date(&self, i: usize) -> i32;
    /// A timestamp, in microseconds since the epoch.
    fn get_timestamp(&self, i: usize) -> i64;
    /// A string, borrowed from the row's bytes (`""` when null).
    fn get_str(&self, i: usize) -> &'a str;
    /// Bytes, borrowed from the row's bytes (empty when null).
    fn get_binary(&self, i: usize) -> &'a [u8];
    /// A nested row, borrowed. Panics if the value is null.
    fn get_struct(&self, i: usize) -> Row<'a>;
    /// A nested list, borrowed. Panics if the value is null.
    fn get_list(&self, i: usize) -> ListView<'a>;
    /// Any value as a dynamic [`Value`](super::Value) (allocates; for tests and debugging).
    fn get_value(&self, i: usize) -> super::Value;
}

fn str_of(bytes: &[u8]) -> &str {
    // SAFETY: a `Row`/`ListView` exists only over bytes that passed validation (which checks
    // UTF-8 of every string) or that a builder wrote from a `&str`; `var` returned exactly
    // the bytes of a field or element whose kind it checked to be Utf8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl<'a> FieldSource<'a> for Row<'a> {
    #[inline]
    fn is_null(&self, i: usize) -> bool {
        assert!(i < self.schema.len(), "field {i} of a row of {}", self.schema.len());
        layout::bit_is_set(self.bytes, i)
    }
    #[inline]
    fn get_bool(&self, i: usize) -> bool {
        self.fixed(i, Kind::Boolean) != 0
    }
    #[inline]
    fn get_i8(&self, i: usize) -> i8 {
        self.fixed(i, Kind::Int8) as i8
    }
    #[inline]
    fn get_i16(&self, i: usize) -> i16 {
        self.fixed(i, Kind::Int16) as i16
    }
    #[inline]
    fn get_i32(&self, i: usize) -> i32 {
        self.fixed(i, Kind::Int32) as i32
    }
    #[inline]
    fn get_i64(&self, i: usize) -> i64 {
        self.fixed(i, Kind::Int64) as i64
    }
    #[inline]
    fn get_f32(&self, i: usize) -> f32 {
        f32::from_bits(self.fixed(i, Kind::Float32) as u32)
    }
    #[inline]
    fn get_f64(&self, i: usize) -> f64 {
        f64::from_bits(self.fixed(i, Kind::Float64))
    }
    #[inline]
    fn get_date(&self, i: usize) -> i32 {
        self.fixed(i, Kind::Date) as i32
    }
    #[inline]
    fn get_timestamp(&self, i: usize) -> i64 {
        self.fixed(i, Kind::Timestamp) as i64
    }
    #[inline]
    fn get_str(&self, i: usize) -> &'a str {
        str_of(self.var(i, Kind::Utf8))
    }
    #[inline]
    fn get_binary(&self, i: usize) -> &'a [u8] {
        self.var(i, Kind::Binary)
    }
    fn get_struct(&self, i: usize) -> Row<'a> {
        let bytes = self.var(i, Kind::Struct);
        let DataType::Struct(schema) = self.nested_type(i) else { unreachable!("kind Struct") };
        Row { bytes, schema }
    }
    fn get_list(&self, i: usize) -> ListView<'a> {
        let bytes = self.var(i, Kind::List);
        let DataType::List(element) = self.nested_type(i) else { unreachable!("kind List") };
        ListView::new(bytes, element)
    }
    fn get_value(&self, i: usize) -> super::Value {
        if self.is_null(i) {
            return super::Value::Null;
        }
        super::value::read_value(self, i, self.schema.kind(i))
    }
}

impl<'a> FieldSource<'a> for ListView<'a> {
    #[inline]
    fn is_null(&self, j: usize) -> bool {
        assert!(j < self.len, "element {j} of a list of {}", self.len);
        layout::bit_is_set(&self.bytes[8..], j)
    }
    fn get_bool(&self, j: usize) -> bool {
        self.slot_bytes(j, Kind::Boolean)[0] != 0
    }
    fn get_i8(&self, j: usize) -> i8 {
        self.slot_bytes(j, Kind::Int8)[0] as i8
    }
    fn get_i16(&self, j: usize) -> i16 {
        i16::from_le_bytes(self.slot_bytes(j, Kind::Int16).try_into().expect("2 bytes"))
    }
    fn get_i32(&self, j: usize) -> i32 {
        i32::from_le_bytes(self.slot_bytes(j, Kind::Int32).try_into().expect("4 bytes"))
    }
    fn get_i64(&self, j: usize) -> i64 {
        i64::from_le_bytes(self.slot_bytes(j, Kind::Int64).try_into().expect("8 bytes"))
    }
    fn get_f32(&self, j: usize) -> f32 {
        f32::from_le_bytes(self.slot_bytes(j, Kind::Float32).try_into().expect("4 bytes"))
    }
    fn get_f64(&self, j: usize) -> f64 {
        f64::from_le_bytes(self.slot_bytes(j, Kind::Float64).try_into().expect("8 bytes"))
    }
    fn get_date(&self, j: usize) -> i32 {
        i32::from_le_bytes(self.slot_bytes(j, Kind::Date).try_into().expect("4 bytes"))
    }
    fn get_timestamp(&self, j: usize) -> i64 {
        i64::from_le_bytes(self.slot_bytes(j, Kind::Timestamp).try_into().expect("8 bytes"))
    }
    fn get_str(&self, j: usize) -> &'a str {
        str_of(self.var(j, Kind::Utf8))
    }
    fn get_binary(&self, j: usize) -> &'a [u8] {
        self.var(j, Kind::Binary)
    }
    fn get_struct(&self, j: usize) -> Row<'a> {
        let bytes = self.var(j, Kind::Struct);
        let DataType::Struct(schema) = &self.element.data_type else { unreachable!("kind Struct") };
        Row { bytes, schema }
    }
    fn get_list(&self, j: usize) -> ListView<'a> {
        let bytes = self.var(j, Kind::List);
        let DataType::List(element) = &self.element.data_type else { unreachable!("kind List") };
        ListView::new(bytes, element)
    }
    fn get_value(&self, j: usize) -> super::Value {
        if self.is_null(j) {
            return super::Value::Null;
        }
        super::value::read_value(self, j, self.element.data_type.kind())
    }
}

//! Writing rows: [`RowBuilder`] writes one row at the end of any byte buffer (an arena's, a
//! reused writer's, a parent row's variable region), [`ListBuilder`] writes one list, and
//! [`RowWriter`] owns a buffer reused from row to row.
//!
//! Builders check each write against the schema's type for that field (one byte compare) and
//! panic on a mismatch: that is a bug in the calling code, and the check is what lets every
//! row a builder produces be read in place without validation. The canonical byte form (the
//! one [`Row::try_new`](super::Row::try_new) accepts and equal values share) also needs every
//! variable-length value written in field order, each field written once; the derived and
//! interpreted encoders do so.

use super::layout::{self, SLOT_BYTES, pack_slot};
use super::types::{Field, Kind, Schema};
use super::view::Row;

/// How floats are written. Keys compare and hash as bytes, so they need one byte form per
/// value: [`FloatMode::Normalized`] writes every NaN as the canonical quiet NaN and -0.0 as
/// 0.0 (Spark's `NormalizeFloatingNumbers`, applied where keys are written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FloatMode {
    /// Floats keep their exact bits.
    #[default]
    Exact,
    /// NaN → canonical NaN, -0.0 → 0.0.
    Normalized,
}

impl FloatMode {
    #[inline]
    fn f64_bits(self, v: f64) -> u64 {
        match self {
            FloatMode::Exact => v.to_bits(),
            FloatMode::Normalized => normalize_f64(v).to_bits(),
        }
    }

    #[inline]
    fn f32_bits(self, v: f32) -> u32 {
        match self {
            FloatMode::Exact => v.to_bits(),
            FloatMode::Normalized => normalize_f32(v).to_bits(),
        }
    }
}

/// NaN → `f64::NAN` (0x7FF8_0000_0000_0000), -0.0 → 0.0, everything else unchanged.
#[inline]
pub fn normalize_f64(v: f64) -> f64 {
    if v.is_nan() {
        f64::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    }
}

/// NaN → `f32::NAN` (0x7FC0_0000), -0.0 → 0.0, everything else unchanged.
#[inline]
pub fn normalize_f32(v: f32) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    }
}

/// Copies `value` to `*cursor` in `buf` (growing it, zeroed, if the space was not reserved)
/// and moves the cursor past its padding; returns the slot for a container starting at
/// `start`. The bytes from the cursor on are always zero, so the padding needs no write.
#[inline(always)]
fn put_var_at(buf: &mut Vec<u8>, start: usize, cursor: &mut usize, value: &[u8]) -> u64 {
    let offset = *cursor - start;
    check_addressable(offset, value.len());
    let end = *cursor + layout::round8(value.len());
    if buf.len() < end {
        grow_zeroed_cold(buf, end);
    }
    buf[*cursor..*cursor + value.len()].copy_from_slice(value);
    *cursor = end;
    pack_slot(offset, value.len())
}

/// Makes `buf[at..at + len]` available, zeroed: it is either past the end (grown with zeros)
/// or reserved space a builder grew with zeros and has not written yet.
#[inline(always)]
fn zeroed_space(buf: &mut Vec<u8>, at: usize, len: usize) {
    if buf.len() < at + len {
        grow_zeroed(buf, at + len);
    }
}

/// Out of line: encoders that size the row first never come here, and keeping the growth
/// code out of their loop keeps it short.
#[cold]
#[inline(never)]
fn grow_zeroed_cold(buf: &mut Vec<u8>, new_len: usize) {
    grow_zeroed(buf, new_len);
}

/// Zeros to copy from: `Vec::resize` fills byte by byte, a copy from here is one `memcpy`.
static ZERO_BLOCK: [u8; 256] = [0; 256];

#[inline(always)]
pub(crate) fn grow_zeroed(buf: &mut Vec<u8>, new_len: usize) {
    let mut missing = new_len - buf.len();
    while missing > 0 {
        let chunk = missing.min(ZERO_BLOCK.len());
        buf.extend_from_slice(&ZERO_BLOCK[..chunk]);
        missing -= chunk;
    }
}

#[inline(always)]
fn check_addressable(offset: usize, len: usize) {
    assert!(
        offset <= u32::MAX as usize && len <= u32::MAX as usize,
        "row too large: a value at offset {offset} of length {len} exceeds 32-bit addressing"
    );
}

/// What a row builder and a list builder share: the buffer, where the container (row or list)
/// starts, since variable-length offsets count from there, the cursor its variable-length
/// values are appended at, and the float mode.
struct Container<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
    cursor: usize,
    floats: FloatMode,
}

impl Container<'_> {
    /// Appends `value` at the cursor and points the slot at `slot_pos` to it.
    #[inline(always)]
    fn put_var(&mut self, slot_pos: usize, value: &[u8]) {
        let slot = put_var_at(self.buf, self.start, &mut self.cursor, value);
        self.buf[slot_pos..slot_pos + SLOT_BYTES].copy_from_slice(&slot.to_le_bytes());
    }

    /// Writes a nested row of `schema` at the cursor and points the slot at `slot_pos` to it.
    fn put_struct(
        &mut self,
        slot_pos: usize,
        schema: &Schema,
        fill: impl FnOnce(&mut RowBuilder<'_>),
    ) {
        let mut child = RowBuilder::begin_at(self.buf, self.cursor, schema, self.floats);
        fill(&mut child);
        let (start, end) = (child.c.start, child.c.cursor);
        self.close_nested(slot_pos, start, end);
    }

    /// Writes a nested list at the cursor and points the slot at `slot_pos` to it.
    fn put_list(
        &mut self,
        slot_pos: usize,
        element: &Field,
        len: usize,
        fill: impl FnOnce(&mut ListBuilder<'_>),
    ) {
        let mut list = ListBuilder::begin_at(self.buf, self.cursor, element, len, self.floats);
        fill(&mut list);
        let (start, end) = (list.c.start, list.c.cursor);
        self.close_nested(slot_pos, start, end);
    }

    /// Points the slot at `slot_pos` to the nested value written at `start..end` and moves the
    /// cursor past it.
    fn close_nested(&mut self, slot_pos: usize, start: usize, end: usize) {
        let offset = start - self.start;
        check_addressable(offset, end - start);
        let slot = pack_slot(offset, end - start);
        self.buf[slot_pos..slot_pos + SLOT_BYTES].copy_from_slice(&slot.to_le_bytes());
        self.cursor = end;
    }
}

/// Writes one value into a field of a row or an element of a list. Implemented by
/// [`RowBuilder`] and [`ListBuilder`], so one encoder serves fields and list elements.
pub trait FieldSink {
    /// Marks field `i` null. Panics if the field is not nullable.
    fn set_null(&mut self, i: usize);
    /// Writes a boolean.
    fn write_bool(&mut self, i: usize, v: bool);
    /// Writes an `i8`.
    fn write_i8(&mut self, i: usize, v: i8);
    /// Writes an `i16`.
    fn write_i16(&mut self, i: usize, v: i16);
    /// Writes an `i32`.
    fn write_i32(&mut self, i: usize, v: i32);
    /// Writes an `i64`.
    fn write_i64(&mut self, i: usize, v: i64);
    /// Writes an `f32` (normalised if the builder writes keys).
    fn write_f32(&mut self, i: usize, v: f32);
    /// Writes an `f64` (normalised if the builder writes keys).
    fn write_f64(&mut self, i: usize, v: f64);
    /// Writes a date, in days since the epoch.
    fn write_date(&mut self, i: usize, days: i32);
    /// Writes a timestamp, in microseconds since the epoch.
    fn write_timestamp(&mut self, i: usize, micros: i64);
    /// Writes a string.
    fn write_str(&mut self, i: usize, v: &str);
    /// Writes bytes.
    fn write_binary(&mut self, i: usize, v: &[u8]);
    /// Writes a nested row: `fill` writes its fields.
    fn write_struct(&mut self, i: usize, fill: impl FnOnce(&mut RowBuilder<'_>));
    /// Writes a list of `len` elements: `fill` writes them.
    fn write_list(&mut self, i: usize, len: usize, fill: impl FnOnce(&mut ListBuilder<'_>));
}

/// Writes one row at the end of a byte buffer. Create it with [`RowBuilder::begin`], write
/// each field once (variable-length ones in field order), then [`finish`](Self::finish).
///
/// The builder appends variable-length values at its own cursor. Bytes of the buffer past
/// the cursor are always zero: [`reserve_var`](Self::reserve_var) grows the buffer with zeros
/// so that an encoder which knows the row's size sizes it once and then only copies.
pub struct RowBuilder<'b> {
    c: Container<'b>,
    schema: &'b Schema,
}

impl<'b> RowBuilder<'b> {
    /// Starts a row at the end of `buf`: appends a zeroed bitset and fixed part.
    #[inline]
    pub fn begin(buf: &'b mut Vec<u8>, schema: &'b Schema, floats: FloatMode) -> RowBuilder<'b> {
        let at = buf.len();
        RowBuilder::begin_at(buf, at, schema, floats)
    }

    /// Starts a row at the end of `buf` with room for `var_bytes` of variable-length data
    /// (padded sizes, as [`RowType::var_size`](super::RowType::var_size) gives): one zeroed
    /// growth of the buffer for the whole row, so the writes that follow only copy.
    #[inline]
    pub fn begin_sized(
        buf: &'b mut Vec<u8>,
        schema: &'b Schema,
        floats: FloatMode,
        var_bytes: usize,
    ) -> RowBuilder<'b> {
        let at = buf.len();
        zeroed_space(buf, at, schema.fixed_size() + var_bytes);
        let c = Container { buf, start: at, cursor: at + schema.fixed_size(), floats };
        RowBuilder { c, schema }
    }

    /// Starts a row at `at`, where `buf` is either at its end or zeroed reserved space.
    #[inline]
    fn begin_at(
        buf: &'b mut Vec<u8>,
        at: usize,
        schema: &'b Schema,
        floats: FloatMode,
    ) -> RowBuilder<'b> {
        zeroed_space(buf, at, schema.fixed_size());
        let cursor = at + schema.fixed_size();
        RowBuilder { c: Container { buf, start: at, cursor, floats }, schema }
    }

    /// The schema being written.
    pub fn schema(&self) -> &'b Schema {
        self.schema
    }

    /// The float mode of this builder.
    pub fn float_mode(&self) -> FloatMode {
        self.c.floats
    }

    /// Grows the buffer, zeroed, to hold `bytes` more bytes of variable-length data (padded
    /// sizes), so the writes that follow only copy.
    #[inline]
    pub fn reserve_var(&mut self, bytes: usize) {
        zeroed_space(self.c.buf, self.c.cursor, bytes);
    }

    /// Ends the row and returns its length in bytes; reserved space left unused is released.
    #[inline]
    pub fn finish(self) -> usize {
        self.c.buf.truncate(self.c.cursor);
        let len = self.c.cursor - self.c.start;
        check_addressable(0, len);
        len
    }

    #[inline(always)]
    fn slot_pos(&self, i: usize, kind: Kind) -> usize {
        let found = self.schema.kind(i);
        assert!(found == kind, "field {i} is {found:?}, written as {kind:?}");
        self.c.start + self.schema.bitset_bytes() + SLOT_BYTES * i
    }

    #[inline(always)]
    fn put_slot(&mut self, i: usize, kind: Kind, word: u64) {
        let pos = self.slot_pos(i, kind);
        self.c.buf[pos..pos + SLOT_BYTES].copy_from_slice(&word.to_le_bytes());
    }

    #[inline(always)]
    fn put_var(&mut self, i: usize, kind: Kind, value: &[u8]) {
        let pos = self.slot_pos(i, kind);
        self.c.put_var(pos, value);
    }
}

impl FieldSink for RowBuilder<'_> {
    #[inline]
    fn set_null(&mut self, i: usize) {
        assert!(self.schema.field(i).nullable, "field {i} is not nullable");
        let pos = self.c.start + self.schema.bitset_bytes() + SLOT_BYTES * i;
        self.c.buf[pos..pos + SLOT_BYTES].fill(0);
        layout::set_bit(&mut self.c.buf[self.c.start..], i);
    }
    #[inline]
    fn write_bool(&mut self, i: usize, v: bool) {
        self.put_slot(i, Kind::Boolean, u64::from(v));
    }
    #[inline]
    fn write_i8(&mut self, i: usize, v: i8) {
        self.put_slot(i, Kind::Int8, u64::from(v as u8));
    }
    #[inline]
    fn write_i16(&mut self, i: usize, v: i16) {
        self.put_slot(i, Kind::Int16, u64::from(v as u16));
    }
    #[inline]
    fn write_i32(&mut self, i: usize, v: i32) {
        self.put_slot(i, Kind::Int32, u64::from(v as u32));
    }
    #[inline]
    fn write_i64(&mut self, i: usize, v: i64) {
        self.put_slot(i, Kind::Int64, v as u64);
    }
    #[inline]
    fn write_f32(&mut self, i: usize, v: f32) {
        self.put_slot(i, Kind::Float32, u64::from(self.c.floats.f32_bits(v)));
    }
    #[inline]
    fn write_f64(&mut self, i: usize, v: f64) {
        self.put_slot(i, Kind::Float64, self.c.floats.f64_bits(v));
    }
    #[inline]
    fn write_date(&mut self, i: usize, days: i32) {
        self.put_slot(i, Kind::Date, u64::from(days as u32));
    }
    #[inline]
    fn write_timestamp(&mut self, i: usize, micros: i64) {
        self.put_slot(i, Kind::Timestamp, micros as u64);
    }
    #[inline]
    fn write_str(&mut self, i: usize, v: &str) {
        self.put_var(i, Kind::Utf8, v.as_bytes());
    }
    #[inline]
    fn write_binary(&mut self, i: usize, v: &[u8]) {
        self.put_var(i, Kind::Binary, v);
    }
    fn write_struct(&mut self, i: usize, fill: impl FnOnce(&mut RowBuilder<'_>)) {
        let pos = self.slot_pos(i, Kind::Struct);
        let schema = self.schema;
        let super::types::DataType::Struct(nested) = &schema.field(i).data_type else {
            unreachable!("kind Struct has a struct type")
        };
        self.c.put_struct(pos, nested, fill);
    }
    fn write_list(&mut self, i: usize, len: usize, fill: impl FnOnce(&mut ListBuilder<'_>)) {
        let pos = self.slot_pos(i, Kind::List);
        let schema = self.schema;
        let super::types::DataType::List(element) = &schema.field(i).data_type else {
            unreachable!("kind List has a list type")
        };
        self.c.put_list(pos, element, len, fill);
    }
}

/// Writes one list at the end of a byte buffer:
/// `[count: u64][null bitset][element slots, padded to 8][variable-length region]`.
pub struct ListBuilder<'b> {
    c: Container<'b>,
    element: &'b Field,
    kind: Kind,
    len: usize,
}

impl<'b> ListBuilder<'b> {
    /// Starts a list of `len` elements at the end of `buf`.
    pub fn begin(
        buf: &'b mut Vec<u8>,
        element: &'b Field,
        len: usize,
        floats: FloatMode,
    ) -> ListBuilder<'b> {
        let at = buf.len();
        ListBuilder::begin_at(buf, at, element, len, floats)
    }

    /// Starts a list at `at`, where `buf` is either at its end or zeroed reserved space.
    fn begin_at(
        buf: &'b mut Vec<u8>,
        at: usize,
        element: &'b Field,
        len: usize,
        floats: FloatMode,
    ) -> ListBuilder<'b> {
        let kind = element.data_type.kind();
        let header = list_header_bytes(len, kind);
        zeroed_space(buf, at, header);
        buf[at..at + 8].copy_from_slice(&(len as u64).to_le_bytes());
        let cursor = at + header;
        ListBuilder { c: Container { buf, start: at, cursor, floats }, element, kind, len }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends the list and returns its size in bytes; reserved space left unused is released.
    pub fn finish(self) -> usize {
        self.c.buf.truncate(self.c.cursor);
        self.c.cursor - self.c.start
    }

    #[inline]
    fn slot_pos(&self, j: usize, kind: Kind) -> usize {
        assert!(self.kind == kind, "list elements are {:?}, written as {kind:?}", self.kind);
        assert!(j < self.len, "element {j} of a list of {}", self.len);
        self.c.start + 8 + layout::bitset_bytes(self.len) + j * kind.element_width()
    }

    #[inline]
    fn put(&mut self, j: usize, kind: Kind, bytes: &[u8]) {
        let pos = self.slot_pos(j, kind);
        self.c.buf[pos..pos + bytes.len()].copy_from_slice(bytes);
    }

    #[inline]
    fn put_var(&mut self, j: usize, kind: Kind, value: &[u8]) {
        let pos = self.slot_pos(j, kind);
        self.c.put_var(pos, value);
    }
}

/// Bytes before a list's variable region: count, bitset, and element slots padded to 8.
pub fn list_header_bytes(len: usize, kind: Kind) -> usize {
    8 + layout::bitset_bytes(len) + layout::round8(len * kind.element_width())
}

impl FieldSink for ListBuilder<'_> {
    fn set_null(&mut self, j: usize) {
        assert!(self.element.nullable, "list elements are not nullable");
        assert!(j < self.len, "element {j} of a list of {}", self.len);
        let width = self.kind.element_width();
        let pos = self.c.start + 8 + layout::bitset_bytes(self.len) + j * width;
        self.c.buf[pos..pos + width].fill(0);
        layout::set_bit(&mut self.c.buf[self.c.start + 8..], j);
    }
    fn write_bool(&mut self, j: usize, v: bool) {
        self.put(j, Kind::Boolean, &[u8::from(v)]);
    }
    fn write_i8(&mut self, j: usize, v: i8) {
        self.put(j, Kind::Int8, &v.to_le_bytes());
    }
    fn write_i16(&mut self, j: usize, v: i16) {
        self.put(j, Kind::Int16, &v.to_le_bytes());
    }
    fn write_i32(&mut self, j: usize, v: i32) {
        self.put(j, Kind::Int32, &v.to_le_bytes());
    }
    fn write_i64(&mut self, j: usize, v: i64) {
        self.put(j, Kind::Int64, &v.to_le_bytes());
    }
    fn write_f32(&mut self, j: usize, v: f32) {
        let bits = self.c.floats.f32_bits(v);
        self.put(j, Kind::Float32, &bits.to_le_bytes());
    }
    fn write_f64(&mut self, j: usize, v: f64) {
        let bits = self.c.floats.f64_bits(v);
        self.put(j, Kind::Float64, &bits.to_le_bytes());
    }
    fn write_date(&mut self, j: usize, days: i32) {
        self.put(j, Kind::Date, &days.to_le_bytes());
    }
    fn write_timestamp(&mut self, j: usize, micros: i64) {
        self.put(j, Kind::Timestamp, &micros.to_le_bytes());
    }
    fn write_str(&mut self, j: usize, v: &str) {
        self.put_var(j, Kind::Utf8, v.as_bytes());
    }
    fn write_binary(&mut self, j: usize, v: &[u8]) {
        self.put_var(j, Kind::Binary, v);
    }
    fn write_struct(&mut self, j: usize, fill: impl FnOnce(&mut RowBuilder<'_>)) {
        let pos = self.slot_pos(j, Kind::Struct);
        let element = self.element;
        let super::types::DataType::Struct(nested) = &element.data_type else {
            unreachable!("kind Struct has a struct type")
        };
        self.c.put_struct(pos, nested, fill);
    }
    fn write_list(&mut self, j: usize, len: usize, fill: impl FnOnce(&mut ListBuilder<'_>)) {
        let pos = self.slot_pos(j, Kind::List);
        let outer = self.element;
        let super::types::DataType::List(element) = &outer.data_type else {
            unreachable!("kind List has a list type")
        };
        self.c.put_list(pos, element, len, fill);
    }
}

/// Owns one buffer and writes one row at a time into it, reusing the allocation.
#[derive(Debug, Default)]
pub struct RowWriter {
    buf: Vec<u8>,
    floats: FloatMode,
}

impl RowWriter {
    /// A writer that keeps floats exact (value rows).
    pub fn new() -> RowWriter {
        RowWriter::default()
    }

    /// A writer for key rows: floats normalised, so equal keys are equal bytes.
    pub fn for_keys() -> RowWriter {
        RowWriter { buf: Vec::new(), floats: FloatMode::Normalized }
    }

    /// Writes one row of `schema`, replacing the previous one, and returns it.
    #[inline]
    pub fn write<'s>(
        &'s mut self,
        schema: &'s Schema,
        fill: impl FnOnce(&mut RowBuilder<'_>),
    ) -> Row<'s> {
        self.buf.clear();
        let mut builder = RowBuilder::begin(&mut self.buf, schema, self.floats);
        fill(&mut builder);
        builder.finish();
        Row::from_builder(&self.buf, schema)
    }

    /// Encodes `value` with its generated encoder, replacing the previous row.
    #[inline]
    pub fn encode<T: super::RowType>(&mut self, value: &T) -> Row<'_> {
        self.buf.clear();
        let schema = T::schema();
        let mut builder =
            RowBuilder::begin_sized(&mut self.buf, schema, self.floats, value.var_size());
        value.encode(&mut builder);
        builder.finish();
        Row::from_builder(&self.buf, schema)
    }

    /// The bytes of the last row written.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

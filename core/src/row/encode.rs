//! The traits `#[derive(Row)]` implements: [`RowType`] for a struct encoded as a whole row,
//! [`RowField`] for every type that can be a field (primitives, `String`, `Vec<u8>`,
//! `Option<T>`, `Vec<T>`, and derived structs, which nest). Generated code calls these with
//! constant field indices, so the compiler sees straight-line writes and reads.

use std::sync::Arc;

use super::layout::round8;
use super::types::{DataType, Field, Kind, Schema};
use super::view::{FieldSource, ListView, Row};
use super::writer::{FieldSink, FloatMode, RowBuilder, list_header_bytes};

/// A Rust type with a binary-row encoding. Implement it with `#[derive(Row)]`.
///
/// # Safety
/// [`encode_into`](Self::encode_into) must append exactly one valid row of
/// [`schema`](Self::schema) (see [`Row::new_unchecked`]) and return its length: writers and
/// arenas read what it wrote without validating it. The provided `encode_into`, which writes
/// through a checked [`RowBuilder`], always does; the derive overrides it for flat structs with
/// straight-line code generated from the same field types as the schema.
pub unsafe trait RowType: Sized {
    /// The zero-copy view: getters that read the row's bytes in place.
    type View<'a>: RowView<'a, Owned = Self>;

    /// The row schema, built once.
    fn schema() -> &'static Arc<Schema>;

    /// Bytes this value's fields take in the variable-length region.
    fn var_size(&self) -> usize;

    /// Writes every field into the row `builder` is writing (of [`Self::schema`]).
    fn encode(&self, builder: &mut RowBuilder<'_>);

    /// Appends this value as one row of [`Self::schema`] at the end of `buf`, floats written
    /// per `floats`; returns the row's length.
    #[inline]
    fn encode_into(&self, buf: &mut Vec<u8>, floats: FloatMode) -> usize {
        let mut builder = RowBuilder::begin_sized(buf, Self::schema(), floats, self.var_size());
        self.encode(&mut builder);
        builder.finish()
    }

    /// Reads an owned value back. Panics if `row`'s schema is not [`Self::schema`].
    fn decode(row: Row<'_>) -> Self;

    /// The zero-copy view of `row`. Panics if `row`'s schema is not [`Self::schema`].
    fn view(row: Row<'_>) -> Self::View<'_>;
}

/// What every generated view offers besides its getters. A trait, not inherent methods, so
/// that a struct may have fields called `row` or `decode`: the getter then wins in method
/// calls, and `RowView::row(&view)` still reaches this.
pub trait RowView<'a>: Copy {
    /// The owned type the view reads.
    type Owned;
    /// The underlying row.
    fn row(&self) -> Row<'a>;
    /// Decodes the whole value.
    fn decode(&self) -> Self::Owned;
}

/// Panics unless `row` has `T`'s schema: the generated getters rely on field types.
#[inline]
pub fn check_schema<T: RowType>(row: &Row<'_>) {
    let expected: &Schema = T::schema();
    assert!(
        std::ptr::eq(row.schema(), expected) || row.schema() == expected,
        "row of schema {} read as {}",
        row.schema(),
        expected
    );
}

/// A type that can be a field of a derived row or an element of a list field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a `#[derive(Row)]` struct",
    label = "unsupported field type",
    note = "supported: bool, i8, i16, i32, i64, f32, f64, String, Vec<u8>, Option<T>, Vec<T>, \
            and structs that derive Row"
)]
pub trait RowField: Sized {
    /// What a view's getter returns: the value itself, or a borrow of the row's bytes.
    type Ref<'a>;
    /// Whether this type may be null (only `Option<T>`).
    const NULLABLE: bool = false;
    /// The storage class of [`data_type`](Self::data_type).
    const KIND: Kind;
    /// Bytes this value takes in the variable-length region (0 for fixed-width values), so
    /// an encoder can size a row once before writing it.
    #[inline]
    fn var_size(&self) -> usize {
        0
    }
    /// The row type of this field.
    fn data_type() -> DataType;
    /// Writes the value as value `i` of a row or list.
    fn write(&self, sink: &mut impl FieldSink, i: usize);
    /// Reads value `i` as an owned value.
    fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self;
    /// Reads value `i` in place.
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> Self::Ref<'a>;

    /// Appends this value as the only field of a key row of `schema` (floats normalised) to
    /// `buf`: the bytes [`RowBuilder`] writes for it. Types whose one-field row is simple
    /// write it directly; a test checks each against the builder.
    #[inline]
    fn write_key_row(&self, buf: &mut Vec<u8>, schema: &Schema) {
        let mut builder =
            RowBuilder::begin_sized(buf, schema, FloatMode::Normalized, self.var_size());
        self.write(&mut builder, 0);
        builder.finish();
    }

    /// The bytes [`write_key_row`](Self::write_key_row) appends, written into `out` (all
    /// zeros when called), and their length, when this value's key row fits in
    /// [`SHORT_KEY_ROW`] bytes and the type writes it with a few fixed-size stores; else
    /// `None`. Hash aggregation probes with such a row on the stack instead of a vector.
    #[inline]
    fn write_short_key_row(&self, _out: &mut [u8; SHORT_KEY_ROW]) -> Option<usize> {
        None
    }

    /// When this value's key row is one non-null string of up to 16 bytes
    /// (`[0][pack_slot(16, n)][the bytes, zero-padded to 8]`), the string's bytes zero-padded
    /// to 16 as two little-endian words, and its length; else `None`. Hash aggregation keeps
    /// such keys as those words alone, and a type that answers here is not asked for the row.
    /// A type may answer `None` for every value: its rows are then written and their shape
    /// checked.
    #[inline]
    fn short_string_key(&self) -> Option<([u64; 2], usize)> {
        None
    }
}

/// The longest key row [`RowField::write_short_key_row`] writes.
pub const SHORT_KEY_ROW: usize = 32;

/// Appends the one-field row holding the string or bytes `value`: a zero null bitset, a slot
/// pointing at offset 16, and the value padded with zeros to a multiple of 8.
///
/// Written eight bytes at a time: keys are short, where the `memset` and `memcpy` calls of a
/// resize and a slice copy cost more than the row (this runs once per element aggregated).
#[inline]
pub(crate) fn write_var_key_row(buf: &mut Vec<u8>, value: &[u8]) {
    buf.reserve(16 + round8(value.len()));
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&super::layout::pack_slot(16, value.len()).to_le_bytes());
    let mut words = value.chunks_exact(8);
    for word in &mut words {
        buf.extend_from_slice(&[
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        for (to, from) in last.iter_mut().zip(tail) {
            *to = *from;
        }
        buf.extend_from_slice(&last);
    }
}

/// Appends the one-field row holding the fixed-width slot value `slot`.
#[inline]
pub(crate) fn write_fixed_key_row(buf: &mut Vec<u8>, slot: u64) {
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&slot.to_le_bytes());
}

macro_rules! fixed_field {
    ($t:ty, $dt:ident, $write:ident, $get:ident $(; $slot:expr)?) => {
        impl RowField for $t {
            type Ref<'a> = $t;
            const KIND: Kind = Kind::$dt;
            $(
                #[inline]
                fn write_key_row(&self, buf: &mut Vec<u8>, _: &Schema) {
                    write_fixed_key_row(buf, ($slot)(*self));
                }
                #[inline]
                fn write_short_key_row(&self, out: &mut [u8; SHORT_KEY_ROW]) -> Option<usize> {
                    out[8..16].copy_from_slice(&($slot)(*self).to_le_bytes());
                    Some(16)
                }
            )?
            fn data_type() -> DataType {
                DataType::$dt
            }
            #[inline]
            fn write(&self, sink: &mut impl FieldSink, i: usize) {
                sink.$write(i, *self);
            }
            #[inline]
            fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
                source.$get(i)
            }
            #[inline]
            fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
                source.$get(i)
            }
        }
    };
}

fixed_field!(bool, Boolean, write_bool, get_bool);
fixed_field!(i8, Int8, write_i8, get_i8);
fixed_field!(i16, Int16, write_i16, get_i16);
fixed_field!(i32, Int32, write_i32, get_i32 ; |v: i32| u64::from(v as u32));
fixed_field!(i64, Int64, write_i64, get_i64 ; |v: i64| v as u64);
fixed_field!(f32, Float32, write_f32, get_f32);
fixed_field!(f64, Float64, write_f64, get_f64);

impl RowField for String {
    type Ref<'a> = &'a str;
    const KIND: Kind = Kind::Utf8;
    #[inline]
    fn write_key_row(&self, buf: &mut Vec<u8>, _: &Schema) {
        write_var_key_row(buf, self.as_bytes());
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
        source.get_str(i).to_owned()
    }
    #[inline]
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> &'a str {
        source.get_str(i)
    }
}

impl RowField for Vec<u8> {
    type Ref<'a> = &'a [u8];
    const KIND: Kind = Kind::Binary;
    #[inline]
    fn var_size(&self) -> usize {
        round8(self.len())
    }
    fn data_type() -> DataType {
        DataType::Binary
    }
    #[inline]
    fn write(&self, sink: &mut impl FieldSink, i: usize) {
        sink.write_binary(i, self);
    }
    #[inline]
    fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
        source.get_binary(i).to_vec()
    }
    #[inline]
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> &'a [u8] {
        source.get_binary(i)
    }
}

impl<T: RowField> RowField for Option<T> {
    type Ref<'a> = Option<T::Ref<'a>>;
    const NULLABLE: bool = true;
    const KIND: Kind = T::KIND;
    #[inline]
    fn var_size(&self) -> usize {
        self.as_ref().map_or(0, T::var_size)
    }
    fn data_type() -> DataType {
        T::data_type()
    }
    #[inline]
    fn write(&self, sink: &mut impl FieldSink, i: usize) {
        match self {
            Some(value) => value.write(sink, i),
            None => sink.set_null(i),
        }
    }
    #[inline]
    fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
        if source.is_null(i) { None } else { Some(T::read(source, i)) }
    }
    #[inline]
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> Self::Ref<'a> {
        if source.is_null(i) { None } else { Some(T::read_ref(source, i)) }
    }
}

/// Lists of any field type (`u8` is not one, so `Vec<u8>` stays binary).
impl<T: RowField> RowField for Vec<T> {
    type Ref<'a> = TypedList<'a, T>;
    const KIND: Kind = Kind::List;
    fn var_size(&self) -> usize {
        list_header_bytes(self.len(), T::KIND) + self.iter().map(T::var_size).sum::<usize>()
    }
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", T::data_type(), T::NULLABLE)))
    }
    fn write(&self, sink: &mut impl FieldSink, i: usize) {
        sink.write_list(i, self.len(), |list| {
            for (j, item) in self.iter().enumerate() {
                item.write(list, j);
            }
        });
    }
    fn read<'a>(source: &impl FieldSource<'a>, i: usize) -> Self {
        let list = source.get_list(i);
        (0..list.len()).map(|j| T::read(&list, j)).collect()
    }
    fn read_ref<'a>(source: &impl FieldSource<'a>, i: usize) -> TypedList<'a, T> {
        TypedList { list: source.get_list(i), element: std::marker::PhantomData }
    }
}

/// A list field read in place, its elements typed.
pub struct TypedList<'a, T> {
    list: ListView<'a>,
    element: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for TypedList<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TypedList<'_, T> {}

impl<'a, T: RowField> TypedList<'a, T> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Element `j`, read in place.
    pub fn get(&self, j: usize) -> T::Ref<'a> {
        T::read_ref(&self.list, j)
    }

    /// Every element, read in place.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T::Ref<'a>> + '_ {
        (0..self.len()).map(move |j| self.get(j))
    }

    /// The untyped view.
    pub fn view(&self) -> ListView<'a> {
        self.list
    }
}

impl<'a, T: RowField> std::fmt::Debug for TypedList<'a, T>
where
    T::Ref<'a>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

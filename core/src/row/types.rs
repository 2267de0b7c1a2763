//! Row schemas: the logical types a binary row can hold, and the schema fingerprint.

use std::fmt;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::layout;

/// The logical type of a row field or list element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `true`/`false`, stored as 0 or 1.
    Boolean,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer.
    Int32,
    /// Signed 64-bit integer.
    Int64,
    /// IEEE 754 single precision.
    Float32,
    /// IEEE 754 double precision.
    Float64,
    /// Days since 1970-01-01, as `i32`.
    Date,
    /// Microseconds since 1970-01-01T00:00:00Z, as `i64`.
    Timestamp,
    /// UTF-8 text.
    Utf8,
    /// Arbitrary bytes.
    Binary,
    /// A nested row with its own schema.
    Struct(Arc<Schema>),
    /// A list of elements of one type; the field says whether elements may be null.
    List(Arc<Field>),
}

/// The storage class of a type: which reader and which validation rule apply. Kept as a
/// one-byte enum so getters can check a field's type with one load and compare. The numbers
/// are part of the schema fingerprint's encoding: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// [`DataType::Boolean`]
    Boolean = 1,
    /// [`DataType::Int8`]
    Int8 = 2,
    /// [`DataType::Int16`]
    Int16 = 3,
    /// [`DataType::Int32`]
    Int32 = 4,
    /// [`DataType::Int64`]
    Int64 = 5,
    /// [`DataType::Float32`]
    Float32 = 6,
    /// [`DataType::Float64`]
    Float64 = 7,
    /// [`DataType::Date`]
    Date = 8,
    /// [`DataType::Timestamp`]
    Timestamp = 9,
    /// [`DataType::Utf8`]
    Utf8 = 10,
    /// [`DataType::Binary`]
    Binary = 11,
    /// [`DataType::Struct`]
    Struct = 12,
    /// [`DataType::List`]
    List = 13,
}

impl Kind {
    /// Whether values of this kind live in the variable-length region.
    pub const fn is_variable(self) -> bool {
        matches!(self, Kind::Utf8 | Kind::Binary | Kind::Struct | Kind::List)
    }

    /// Width in bytes of one element slot when a value of this kind is a list element.
    pub const fn element_width(self) -> usize {
        match self {
            Kind::Boolean | Kind::Int8 => 1,
            Kind::Int16 => 2,
            Kind::Int32 | Kind::Float32 | Kind::Date => 4,
            _ => 8,
        }
    }
}

impl DataType {
    /// The storage class of this type.
    pub fn kind(&self) -> Kind {
        match self {
            DataType::Boolean => Kind::Boolean,
            DataType::Int8 => Kind::Int8,
            DataType::Int16 => Kind::Int16,
            DataType::Int32 => Kind::Int32,
            DataType::Int64 => Kind::Int64,
            DataType::Float32 => Kind::Float32,
            DataType::Float64 => Kind::Float64,
            DataType::Date => Kind::Date,
            DataType::Timestamp => Kind::Timestamp,
            DataType::Utf8 => Kind::Utf8,
            DataType::Binary => Kind::Binary,
            DataType::Struct(_) => Kind::Struct,
            DataType::List(_) => Kind::List,
        }
    }

    /// A list of `element` values, elements nullable or not.
    pub fn list(element: DataType, nullable: bool) -> DataType {
        DataType::List(Arc::new(Field::new("item", element, nullable)))
    }

    /// A nested struct of the given fields.
    pub fn struct_of(fields: Vec<Field>) -> DataType {
        DataType::Struct(Arc::new(Schema::new(fields)))
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("boolean"),
            DataType::Int8 => f.write_str("int8"),
            DataType::Int16 => f.write_str("int16"),
            DataType::Int32 => f.write_str("int32"),
            DataType::Int64 => f.write_str("int64"),
            DataType::Float32 => f.write_str("float32"),
            DataType::Float64 => f.write_str("float64"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::Utf8 => f.write_str("utf8"),
            DataType::Binary => f.write_str("binary"),
            DataType::Struct(schema) => write!(f, "{schema}"),
            DataType::List(element) => {
                write!(f, "list<{}", element.data_type)?;
                if !element.nullable {
                    f.write_str(" not null")?;
                }
                f.write_str(">")
            }
        }
    }
}

/// A named, typed field of a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// The field's type.
    pub data_type: DataType,
    /// Whether the field may be null.
    pub nullable: bool,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Field {
        Field { name: name.into(), data_type, nullable }
    }
}

/// The ordered fields of a row, with the layout facts every reader and writer needs
/// precomputed: the bitset width, the fixed-part size, each field's kind and the fingerprint.
#[derive(Debug, Clone)]
pub struct Schema {
    fields: Vec<Field>,
    kinds: Vec<Kind>,
    bitset_bytes: usize,
    fixed_size: usize,
    fingerprint: u64,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.fields == other.fields
    }
}

impl Eq for Schema {}

impl std::hash::Hash for Schema {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.fields.hash(state);
    }
}

/// Seed of the schema fingerprint's XXH3-64 (ASCII "EMBRSCHM" read little-endian).
pub const FINGERPRINT_SEED: u64 = u64::from_le_bytes(*b"EMBRSCHM");

impl Schema {
    /// A schema of the given fields, in order.
    pub fn new(fields: Vec<Field>) -> Schema {
        let kinds = fields.iter().map(|f| f.data_type.kind()).collect();
        let bitset_bytes = layout::bitset_bytes(fields.len());
        let fixed_size = bitset_bytes + layout::SLOT_BYTES * fields.len();
        let mut canonical = Vec::new();
        write_canonical(&fields, &mut canonical);
        let fingerprint = xxh3_64_with_seed(&canonical, FINGERPRINT_SEED);
        Schema { fields, kinds, bitset_bytes, fixed_size, fingerprint }
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Field `i`.
    pub fn field(&self, i: usize) -> &Field {
        &self.fields[i]
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the schema has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The storage class of field `i`.
    #[inline]
    pub fn kind(&self, i: usize) -> Kind {
        self.kinds[i]
    }

    /// Bytes of the null bitset: `ceil(n / 64) * 8`.
    #[inline]
    pub fn bitset_bytes(&self) -> usize {
        self.bitset_bytes
    }

    /// Bytes of the bitset plus the fixed slots: the size of a row with no variable-length data.
    #[inline]
    pub fn fixed_size(&self) -> usize {
        self.fixed_size
    }

    /// XXH3-64, seeded with [`FINGERPRINT_SEED`], of the schema's canonical encoding (see
    /// `docs/row-format.md`, "Schema fingerprint"). Persisted files carry it; a reader refuses
    /// a file whose fingerprint differs from its own schema's.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The index of the field called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// The canonical encoding the fingerprint hashes: per field, its name's length (u32 LE) and
/// UTF-8 bytes, a nullability byte, and its type; a type is a one-byte tag (the `Kind`'s
/// number), followed for a struct by its field count (u32 LE) and fields, for a list by its
/// element field. Lengths make every encoding unambiguous, whatever the names contain.
fn write_canonical(fields: &[Field], out: &mut Vec<u8>) {
    for field in fields {
        write_canonical_field(field, out);
    }
}

fn write_canonical_field(field: &Field, out: &mut Vec<u8>) {
    out.extend_from_slice(&(field.name.len() as u32).to_le_bytes());
    out.extend_from_slice(field.name.as_bytes());
    out.push(u8::from(field.nullable));
    out.push(field.data_type.kind() as u8);
    match &field.data_type {
        DataType::Struct(schema) => {
            out.extend_from_slice(&(schema.len() as u32).to_le_bytes());
            write_canonical(schema.fields(), out);
        }
        DataType::List(element) => write_canonical_field(element, out),
        _ => {}
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct<")?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", field.name, field.data_type)?;
            if !field.nullable {
                f.write_str(" not null")?;
            }
        }
        f.write_str(">")
    }
}

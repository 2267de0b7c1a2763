//! The interpreted encoder: rows from dynamic [`Value`]s, driven by a schema known only at run
//! time (DataFrames). It writes exactly the bytes the generated encoders write for the same
//! values, and reads any field back as a `Value`.

use super::RowError;
use super::types::{DataType, Field, Kind, Schema};
use super::view::FieldSource;
use super::writer::{FieldSink, RowBuilder};

/// One value of any row type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null, for any nullable field.
    Null,
    /// A boolean.
    Boolean(bool),
    /// An `i8`.
    Int8(i8),
    /// An `i16`.
    Int16(i16),
    /// An `i32`.
    Int32(i32),
    /// An `i64`.
    Int64(i64),
    /// An `f32`.
    Float32(f32),
    /// An `f64`.
    Float64(f64),
    /// Days since the epoch.
    Date(i32),
    /// Microseconds since the epoch.
    Timestamp(i64),
    /// A string.
    Utf8(String),
    /// Bytes.
    Binary(Vec<u8>),
    /// A nested row's values.
    Struct(Vec<Value>),
    /// A list's elements.
    List(Vec<Value>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::Date(_) => "date",
            Value::Timestamp(_) => "timestamp",
            Value::Utf8(_) => "utf8",
            Value::Binary(_) => "binary",
            Value::Struct(_) => "struct",
            Value::List(_) => "list",
        }
    }
}

/// Writes `values` as the fields of the row `builder` is writing, checking each against the
/// schema first: a mismatch is an error naming the field, and nothing panics.
pub fn encode_values(values: &[Value], builder: &mut RowBuilder<'_>) -> Result<(), RowError> {
    check_row(values, builder.schema(), "")?;
    write_row(values, builder);
    Ok(())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn check_row(values: &[Value], schema: &Schema, path: &str) -> Result<(), RowError> {
    if values.len() != schema.len() {
        return Err(RowError::FieldCount { expected: schema.len(), found: values.len() });
    }
    for (value, field) in values.iter().zip(schema.fields()) {
        check_value(value, field, &join(path, &field.name))?;
    }
    Ok(())
}

fn check_value(value: &Value, field: &Field, path: &str) -> Result<(), RowError> {
    let mismatch = || RowError::ValueType {
        field: path.to_string(),
        expected: field.data_type.to_string(),
        found: value.type_name().to_string(),
    };
    match (value, &field.data_type) {
        (Value::Null, _) if field.nullable => Ok(()),
        (Value::Null, _) => Err(RowError::NullNotAllowed { field: path.to_string() }),
        (Value::Struct(values), DataType::Struct(schema)) => check_row(values, schema, path),
        (Value::List(items), DataType::List(element)) => items
            .iter()
            .enumerate()
            .try_for_each(|(j, item)| check_value(item, element, &format!("{path}[{j}]"))),
        (Value::Boolean(_), DataType::Boolean)
        | (Value::Int8(_), DataType::Int8)
        | (Value::Int16(_), DataType::Int16)
        | (Value::Int32(_), DataType::Int32)
        | (Value::Int64(_), DataType::Int64)
        | (Value::Float32(_), DataType::Float32)
        | (Value::Float64(_), DataType::Float64)
        | (Value::Date(_), DataType::Date)
        | (Value::Timestamp(_), DataType::Timestamp)
        | (Value::Utf8(_), DataType::Utf8)
        | (Value::Binary(_), DataType::Binary) => Ok(()),
        _ => Err(mismatch()),
    }
}

/// Writes values already checked against the schema.
fn write_row(values: &[Value], builder: &mut RowBuilder<'_>) {
    for (i, value) in values.iter().enumerate() {
        write_value(value, builder, i);
    }
}

fn write_value(value: &Value, sink: &mut impl FieldSink, i: usize) {
    match value {
        Value::Null => sink.set_null(i),
        Value::Boolean(v) => sink.write_bool(i, *v),
        Value::Int8(v) => sink.write_i8(i, *v),
        Value::Int16(v) => sink.write_i16(i, *v),
        Value::Int32(v) => sink.write_i32(i, *v),
        Value::Int64(v) => sink.write_i64(i, *v),
        Value::Float32(v) => sink.write_f32(i, *v),
        Value::Float64(v) => sink.write_f64(i, *v),
        Value::Date(v) => sink.write_date(i, *v),
        Value::Timestamp(v) => sink.write_timestamp(i, *v),
        Value::Utf8(v) => sink.write_str(i, v),
        Value::Binary(v) => sink.write_binary(i, v),
        Value::Struct(values) => sink.write_struct(i, |b| write_row(values, b)),
        Value::List(items) => sink.write_list(i, items.len(), |list| {
            for (j, item) in items.iter().enumerate() {
                write_value(item, list, j);
            }
        }),
    }
}

/// Reads non-null value `i` of `kind` from a row or list.
pub(crate) fn read_value<'a>(source: &impl FieldSource<'a>, i: usize, kind: Kind) -> Value {
    match kind {
        Kind::Boolean => Value::Boolean(source.get_bool(i)),
        Kind::Int8 => Value::Int8(source.get_i8(i)),
        Kind::Int16 => Value::Int16(source.get_i16(i)),
        Kind::Int32 => Value::Int32(source.get_i32(i)),
        Kind::Int64 => Value::Int64(source.get_i64(i)),
        Kind::Float32 => Value::Float32(source.get_f32(i)),
        Kind::Float64 => Value::Float64(source.get_f64(i)),
        Kind::Date => Value::Date(source.get_date(i)),
        Kind::Timestamp => Value::Timestamp(source.get_timestamp(i)),
        Kind::Utf8 => Value::Utf8(source.get_str(i).to_string()),
        Kind::Binary => Value::Binary(source.get_binary(i).to_vec()),
        Kind::Struct => {
            let row = source.get_struct(i);
            Value::Struct((0..row.num_fields()).map(|k| row.get_value(k)).collect())
        }
        Kind::List => {
            let list = source.get_list(i);
            Value::List((0..list.len()).map(|j| list.get_value(j)).collect())
        }
    }
}

impl super::Row<'_> {
    /// Every field as a [`Value`].
    pub fn to_values(&self) -> Vec<Value> {
        (0..self.num_fields()).map(|i| self.get_value(i)).collect()
    }
}

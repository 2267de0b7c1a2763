//! Row types ↔ Arrow types. Each row type has one Arrow type: `Date` is `Date32`,
//! `Timestamp` is `Timestamp(Microsecond, None)`, strings `Utf8`, lists `List` of a field
//! named `item`. Arrow types with no row counterpart are refused with an error naming the
//! column.

use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};

use crate::row::{DataType, Field, RowError, Schema};

/// The row schema of an Arrow schema.
pub fn schema_from_arrow(schema: &ArrowSchema) -> Result<Schema, RowError> {
    let fields = schema.fields().iter().map(|f| field_from_arrow(f, ""));
    Ok(Schema::new(fields.collect::<Result<_, _>>()?))
}

/// The row field of an Arrow field; `path` prefixes the name in errors.
pub fn field_from_arrow(field: &ArrowField, path: &str) -> Result<Field, RowError> {
    let name =
        if path.is_empty() { field.name().clone() } else { format!("{path}.{}", field.name()) };
    let data_type = match field.data_type() {
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Int8 => DataType::Int8,
        ArrowType::Int16 => DataType::Int16,
        ArrowType::Int32 => DataType::Int32,
        ArrowType::Int64 => DataType::Int64,
        ArrowType::Float32 => DataType::Float32,
        ArrowType::Float64 => DataType::Float64,
        ArrowType::Date32 => DataType::Date,
        ArrowType::Timestamp(TimeUnit::Microsecond, None) => DataType::Timestamp,
        ArrowType::Utf8 => DataType::Utf8,
        ArrowType::Binary => DataType::Binary,
        ArrowType::Struct(fields) => {
            let fields = fields.iter().map(|f| field_from_arrow(f, &name));
            DataType::Struct(Arc::new(Schema::new(fields.collect::<Result<_, _>>()?)))
        }
        ArrowType::List(element) => {
            let element = field_from_arrow(element, &name)?;
            DataType::list(element.data_type, element.nullable)
        }
        other => {
            return Err(RowError::ArrowType {
                field: name,
                arrow_type: other.to_string(),
                reason: "has no binary-row representation",
            });
        }
    };
    Ok(Field::new(field.name().clone(), data_type, field.is_nullable()))
}

/// The Arrow schema of a row schema.
pub fn to_arrow_schema(schema: &Schema) -> ArrowSchema {
    ArrowSchema::new(schema.fields().iter().map(to_arrow_field).collect::<Vec<_>>())
}

/// The Arrow field of a row field.
pub fn to_arrow_field(field: &Field) -> ArrowField {
    ArrowField::new(&field.name, to_arrow_type(&field.data_type), field.nullable)
}

fn to_arrow_type(data_type: &DataType) -> ArrowType {
    match data_type {
        DataType::Boolean => ArrowType::Boolean,
        DataType::Int8 => ArrowType::Int8,
        DataType::Int16 => ArrowType::Int16,
        DataType::Int32 => ArrowType::Int32,
        DataType::Int64 => ArrowType::Int64,
        DataType::Float32 => ArrowType::Float32,
        DataType::Float64 => ArrowType::Float64,
        DataType::Date => ArrowType::Date32,
        DataType::Timestamp => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Utf8 => ArrowType::Utf8,
        DataType::Binary => ArrowType::Binary,
        DataType::Struct(schema) => {
            ArrowType::Struct(schema.fields().iter().map(to_arrow_field).collect())
        }
        DataType::List(element) => ArrowType::List(Arc::new(to_arrow_field(element))),
    }
}

/// Whether an Arrow type is the one `data_type` maps to (names of nested fields aside).
pub(super) fn matches(arrow: &ArrowType, data_type: &DataType) -> bool {
    match (arrow, data_type) {
        (ArrowType::Struct(fields), DataType::Struct(schema)) => {
            fields.len() == schema.len()
                && fields
                    .iter()
                    .zip(schema.fields())
                    .all(|(a, f)| matches(a.data_type(), &f.data_type))
        }
        (ArrowType::List(element), DataType::List(field)) => {
            matches(element.data_type(), &field.data_type)
        }
        _ => *arrow == to_arrow_type(data_type),
    }
}

//! JSON Lines records: each line is one JSON object. Columns are looked up by name
//! (case-sensitive); a missing key or `null` is null, other keys are ignored. A line that is
//! not a JSON object, or a value of the wrong JSON type for its column, makes the record
//! malformed.
//!
//! Conversions, as Spark's JSON reader: a STRING column takes a JSON string as is and any
//! other value as its compact JSON text; integer columns take integral numbers in range;
//! DOUBLE/FLOAT take any number and the strings `NaN`, `Infinity`, `-Infinity` (and `Inf`
//! spellings); BOOLEAN takes `true`/`false`; DATE takes a `yyyy-MM-dd` string; TIMESTAMP a
//! timestamp string or an integral number of seconds since the epoch.

use std::borrow::Cow;

use serde_json::Value;

use super::columns::{Cell, excerpt, parse_date, parse_float, parse_timestamp, type_name};
use crate::row::{DataType, Schema};

/// Parses `line` into one cell per column of `schema` (null at `corrupt`), or says why the
/// record is malformed.
pub(crate) fn parse<'a>(
    line: &str,
    schema: &Schema,
    corrupt: Option<usize>,
    cells: &mut Vec<Cell<'a>>,
) -> Result<(), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_owned());
    };
    for (i, field) in schema.fields().iter().enumerate() {
        if Some(i) == corrupt {
            cells.push(Cell::Null);
            continue;
        }
        let cell = match object.get_mut(&field.name) {
            None | Some(Value::Null) => Cell::Null,
            Some(value) => convert(value, &field.data_type).ok_or_else(|| {
                let text = value.to_string();
                format!(
                    "column '{}': cannot convert {} to {}",
                    field.name,
                    excerpt(&text),
                    type_name(&field.data_type)
                )
            })?,
        };
        cells.push(cell);
    }
    Ok(())
}

/// The cell of `value` (a string is taken out of it), or `None` if it has the wrong type.
fn convert<'a>(value: &mut Value, data_type: &DataType) -> Option<Cell<'a>> {
    let int = |v: &Value| v.as_i64();
    match data_type {
        DataType::Utf8 => Some(Cell::Str(Cow::Owned(match value {
            Value::String(s) => std::mem::take(s),
            other => other.to_string(),
        }))),
        DataType::Boolean => value.as_bool().map(Cell::Bool),
        DataType::Int8 => int(value).and_then(|v| v.try_into().ok()).map(Cell::I8),
        DataType::Int16 => int(value).and_then(|v| v.try_into().ok()).map(Cell::I16),
        DataType::Int32 => int(value).and_then(|v| v.try_into().ok()).map(Cell::I32),
        DataType::Int64 => int(value).map(Cell::I64),
        DataType::Float64 => float(value).map(Cell::F64),
        DataType::Float32 => float(value).map(|v| Cell::F32(v as f32)),
        DataType::Date => value.as_str().and_then(parse_date).map(Cell::Date),
        DataType::Timestamp => match &*value {
            Value::String(s) => parse_timestamp(s),
            Value::Number(n) => n.as_i64().and_then(|s| s.checked_mul(1_000_000)),
            _ => None,
        }
        .map(Cell::Timestamp),
        _ => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" | "Infinity" | "+Infinity" | "-Infinity" | "Inf" | "+Inf" | "-Inf" | "INF"
            | "+INF" | "-INF" => parse_float(s),
            _ => None,
        },
        _ => None,
    }
}

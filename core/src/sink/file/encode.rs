//! The text of one row in each output format: JSON Lines and CSV (module doc of
//! [`super`] gives the rules).

use crate::error::{EmberError, Result};
use crate::row::{DataType, Field, Value};
use crate::sink::console::{format_date, format_timestamp_iso};

/// A date as Spark writes it (`dateFormat` `yyyy-MM-dd`).
pub(super) fn date_text(days: i32) -> String {
    format_date(days)
}

/// A timestamp as Spark writes it by default: `2024-01-01T00:00:00.000Z`.
pub(super) fn timestamp_text(micros: i64) -> String {
    format_timestamp_iso(micros)
}

/// A finite float's shortest round-trip text (`1.0`, `0.1`, `1e-7`), a valid JSON number;
/// `NaN`, `Infinity` and `-Infinity` for the others.
fn float_text(v: f64, single: bool) -> (String, bool) {
    if v.is_nan() {
        ("NaN".to_owned(), false)
    } else if v.is_infinite() {
        ((if v > 0.0 { "Infinity" } else { "-Infinity" }).to_owned(), false)
    } else if single {
        (format!("{:?}", v as f32), true)
    } else {
        (format!("{v:?}"), true)
    }
}

/// Standard base64 with padding (how Spark's JSON writer, Jackson, writes binary).
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Appends `s` as a JSON string literal.
pub(super) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a row (or nested struct) of `fields` with `values` as a compact JSON object; null
/// fields are left out, as Spark's `ignoreNullFields` (default true) does.
pub(super) fn json_object(out: &mut String, fields: &[Field], values: &[Value]) {
    out.push('{');
    let mut first = true;
    for (field, value) in fields.iter().zip(values) {
        if matches!(value, Value::Null) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        json_string(out, &field.name);
        out.push(':');
        json_value(out, &field.data_type, value);
    }
    out.push('}');
}

fn json_value(out: &mut String, data_type: &DataType, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => json_float(out, f64::from(*v), true),
        Value::Float64(v) => json_float(out, *v, false),
        Value::Date(days) => json_string(out, &date_text(*days)),
        Value::Timestamp(micros) => json_string(out, &timestamp_text(*micros)),
        Value::Utf8(s) => json_string(out, s),
        Value::Binary(b) => json_string(out, &base64(b)),
        Value::Struct(values) => match data_type {
            DataType::Struct(schema) => json_object(out, schema.fields(), values),
            // Rows built from a schema always pair a struct value with a struct type.
            _ => json_object(out, &[], &[]),
        },
        Value::List(values) => {
            let element = match data_type {
                DataType::List(element) => element.data_type.clone(),
                _ => DataType::Utf8,
            };
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, &element, v);
            }
            out.push(']');
        }
    }
}

fn json_float(out: &mut String, v: f64, single: bool) {
    let (text, number) = float_text(v, single);
    if number {
        out.push_str(&text);
    } else {
        json_string(out, &text);
    }
}

/// How CSV cells are separated and quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CsvStyle {
    /// Between cells (option `sep`).
    pub(super) sep: String,
    /// Around cells that need it (option `quote`); doubled inside them.
    pub(super) quote: char,
    /// Whether each file starts with the column names (option `header`).
    pub(super) header: bool,
}

impl CsvStyle {
    /// Fails for a column CSV cannot hold (a struct or a list), as Spark does.
    pub(super) fn check_fields(&self, sink: &str, fields: &[Field]) -> Result<()> {
        for f in fields {
            if matches!(f.data_type, DataType::Struct(_) | DataType::List(_)) {
                return Err(EmberError::sink(
                    sink,
                    format!(
                        "CSV data source does not support {} data type (column '{}')",
                        f.data_type, f.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Appends `text` as one cell, quoted if it holds the separator, the quote, CR or LF, or
    /// if `force` (the empty string, told apart from null that way).
    fn cell(&self, out: &mut String, text: &str, force: bool) {
        let needs = force
            || text.contains(self.sep.as_str())
            || text.contains(self.quote)
            || text.contains(['\r', '\n']);
        if !needs {
            out.push_str(text);
            return;
        }
        out.push(self.quote);
        for c in text.chars() {
            if c == self.quote {
                out.push(c);
            }
            out.push(c);
        }
        out.push(self.quote);
    }

    /// Appends the header line (column names), ended by `\n`.
    pub(super) fn header_line(&self, out: &mut String, fields: &[Field]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.sep);
            }
            self.cell(out, &f.name, false);
        }
        out.push('\n');
    }

    /// Appends one row's line, ended by `\n`: null is an empty cell, the empty string `""`.
    pub(super) fn row_line(&self, out: &mut String, values: &[Value]) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.sep);
            }
            match v {
                Value::Null => {}
                Value::Utf8(s) => self.cell(out, s, s.is_empty()),
                Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int8(x) => out.push_str(&x.to_string()),
                Value::Int16(x) => out.push_str(&x.to_string()),
                Value::Int32(x) => out.push_str(&x.to_string()),
                Value::Int64(x) => out.push_str(&x.to_string()),
                Value::Float32(x) => self.cell(out, &float_text(f64::from(*x), true).0, false),
                Value::Float64(x) => self.cell(out, &float_text(*x, false).0, false),
                Value::Date(d) => self.cell(out, &date_text(*d), false),
                Value::Timestamp(t) => self.cell(out, &timestamp_text(*t), false),
                Value::Binary(b) => self.cell(out, &base64(b), false),
                // Refused by `check_fields` before any row is written.
                Value::Struct(_) | Value::List(_) => {}
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_millis_utc() {
        assert_eq!(timestamp_text(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp_text(1_704_067_200_000_000), "2024-01-01T00:00:00.000Z");
        assert_eq!(timestamp_text(1_500_999), "1970-01-01T00:00:01.500Z");
        assert_eq!(timestamp_text(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(date_text(19_723), "2024-01-01");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn json_escapes_and_floats() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
        let fields = vec![
            Field::new("f", DataType::Float64, true),
            Field::new("g", DataType::Float32, true),
            Field::new("n", DataType::Int32, true),
            Field::new("nan", DataType::Float64, true),
        ];
        let mut s = String::new();
        json_object(
            &mut s,
            &fields,
            &[Value::Float64(1.0), Value::Float32(0.1), Value::Null, Value::Float64(f64::NAN)],
        );
        assert_eq!(s, r#"{"f":1.0,"g":0.1,"nan":"NaN"}"#);
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let style = CsvStyle { sep: ",".into(), quote: '"', header: false };
        let mut s = String::new();
        style.row_line(
            &mut s,
            &[
                Value::Utf8("plain".into()),
                Value::Utf8("a,b".into()),
                Value::Utf8("say \"hi\"".into()),
                Value::Utf8("two\nlines".into()),
                Value::Utf8(String::new()),
                Value::Null,
                Value::Float64(f64::INFINITY),
            ],
        );
        assert_eq!(s, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\",,Infinity\n");
    }
}

//! The `schema` option: a DDL-like column list such as `name STRING, age INT`.
//!
//! Each column is `name TYPE`, columns separated by commas. Names are case-sensitive and may
//! be quoted with backticks (`` `a b` INT ``, a doubled backtick inside is one backtick).
//! Types are case-insensitive: `STRING`, `INT`/`INTEGER`, `BIGINT`/`LONG`, `DOUBLE`,
//! `FLOAT`/`REAL`, `BOOLEAN`, `SMALLINT`/`SHORT`, `TINYINT`/`BYTE`, `DATE`, `TIMESTAMP`. A
//! trailing `NOT NULL` is accepted and, as in Spark's file sources (which make a user schema
//! nullable), ignored: every column is nullable, since a malformed record's fields are null.

use crate::row::{DataType, Field, Schema};

/// Parses `ddl` into a schema of nullable columns; the error says what is wrong and where.
pub(crate) fn parse_ddl(ddl: &str) -> Result<Schema, String> {
    let mut fields: Vec<Field> = Vec::new();
    for (i, column) in split_columns(ddl)?.into_iter().enumerate() {
        let (name, rest) = column_name(column.trim())
            .ok_or_else(|| format!("column {} ('{}') has no name", i + 1, column.trim()))?;
        let words: Vec<String> = rest.split_whitespace().map(str::to_ascii_uppercase).collect();
        let (type_word, tail) = match words.split_first() {
            Some((t, tail)) => (t.as_str(), tail),
            None => return Err(format!("column '{name}' has no type")),
        };
        let data_type = match type_word {
            "STRING" => DataType::Utf8,
            "INT" | "INTEGER" => DataType::Int32,
            "BIGINT" | "LONG" => DataType::Int64,
            "DOUBLE" => DataType::Float64,
            "FLOAT" | "REAL" => DataType::Float32,
            "BOOLEAN" => DataType::Boolean,
            "SMALLINT" | "SHORT" => DataType::Int16,
            "TINYINT" | "BYTE" => DataType::Int8,
            "DATE" => DataType::Date,
            "TIMESTAMP" => DataType::Timestamp,
            other => {
                return Err(format!(
                    "column '{name}' has unknown type '{other}'; known types: STRING, INT, \
                     BIGINT, DOUBLE, FLOAT, BOOLEAN, SMALLINT, TINYINT, DATE, TIMESTAMP"
                ));
            }
        };
        match tail {
            [] => {}
            [not, null] if not == "NOT" && null == "NULL" => {}
            _ => {
                return Err(format!(
                    "column '{name}': unexpected '{}' after the type",
                    tail.join(" ")
                ));
            }
        }
        if fields.iter().any(|f| f.name == name) {
            return Err(format!("duplicate column '{name}'"));
        }
        fields.push(Field::new(name, data_type, true));
    }
    Ok(Schema::new(fields))
}

/// The column definitions of `ddl`, split at the commas outside backticks.
fn split_columns(ddl: &str) -> Result<Vec<&str>, String> {
    if ddl.trim().is_empty() {
        return Err("it has no columns".to_owned());
    }
    let mut columns = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in ddl.char_indices() {
        match c {
            '`' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                columns.push(&ddl[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err("a backtick-quoted name is not closed".to_owned());
    }
    columns.push(&ddl[start..]);
    if let Some(i) = columns.iter().position(|c| c.trim().is_empty()) {
        return Err(format!("column {} is empty", i + 1));
    }
    Ok(columns)
}

/// Splits a column definition into its (unquoted) name and the rest.
fn column_name(column: &str) -> Option<(String, &str)> {
    if let Some(quoted) = column.strip_prefix('`') {
        let mut name = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '`' {
                if chars.peek().is_some_and(|&(_, next)| next == '`') {
                    chars.next();
                    name.push('`');
                } else {
                    let rest = &quoted[i + 1..];
                    let separated = rest.is_empty() || rest.starts_with(char::is_whitespace);
                    return (!name.is_empty() && separated).then_some((name, rest));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = column.find(char::is_whitespace).unwrap_or(column.len());
        let name = &column[..end];
        let plain = !name.is_empty() && !name.contains('`');
        plain.then(|| (name.to_owned(), &column[end..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type_and_quoted_names() {
        let s = parse_ddl(
            "name STRING, age int, score DOUBLE, ok BOOLEAN, id BIGINT, f FLOAT, s SMALLINT, \
             t TINYINT, d DATE, ts TIMESTAMP, `a b` Integer NOT NULL, `x``y` long",
        )
        .unwrap();
        let types: Vec<_> = s.fields().iter().map(|f| f.data_type.clone()).collect();
        use DataType::*;
        assert_eq!(
            types,
            vec![
                Utf8, Int32, Float64, Boolean, Int64, Float32, Int16, Int8, Date, Timestamp, Int32,
                Int64
            ]
        );
        assert_eq!(s.field(10).name, "a b");
        assert_eq!(s.field(11).name, "x`y");
        assert!(s.fields().iter().all(|f| f.nullable));
    }

    #[test]
    fn rejects_bad_schemas() {
        for (ddl, needle) in [
            ("", "no columns"),
            ("a", "no type"),
            ("a FOO", "unknown type 'FOO'"),
            ("a INT,", "column 2 is empty"),
            ("a INT, a STRING", "duplicate column 'a'"),
            ("a INT NULL", "unexpected 'NULL'"),
            ("`a INT", "not closed"),
            ("a INT b STRING", "unexpected 'B STRING'"),
            ("a ARRAY<INT>", "unknown type"),
        ] {
            let err = parse_ddl(ddl).unwrap_err();
            assert!(err.contains(needle), "{ddl:?}: {err}");
        }
    }
}

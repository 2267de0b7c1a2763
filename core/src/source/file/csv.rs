//! CSV records: one line is one record, fields split at the separator, RFC 4180 quoting with
//! the quote character (`""` inside a quoted field is one quote; no escape character, no
//! records spanning lines).
//!
//! An unquoted empty field is null; a quoted empty field is the empty string for a STRING
//! column and null otherwise. Other values are parsed by [`parse_value`]. A record whose field
//! count differs from the schema's (not counting the corrupt-record column), or with a value
//! that does not parse, is malformed.

use std::borrow::Cow;

use super::columns::{Cell, excerpt, parse_value};
use crate::row::{DataType, Schema};

/// The dialect: `sep` and `quote` (none: quoting off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) sep: char,
    pub(crate) quote: Option<char>,
}

/// Splits lines into fields and parses them; keeps its field buffer between lines.
pub(crate) struct CsvParser<'a> {
    dialect: Dialect,
    fields: Vec<(Cow<'a, str>, bool)>,
}

impl<'a> CsvParser<'a> {
    /// A parser of `dialect`.
    pub(crate) fn new(dialect: Dialect) -> Self {
        CsvParser { dialect, fields: Vec::new() }
    }

    /// Parses `line` into one cell per column of `schema` (null at `corrupt`), or says why the
    /// record is malformed.
    pub(crate) fn parse(
        &mut self,
        line: &'a str,
        schema: &Schema,
        corrupt: Option<usize>,
        cells: &mut Vec<Cell<'a>>,
    ) -> Result<(), String> {
        self.fields.clear();
        split(line, self.dialect, &mut self.fields)?;
        let expected = schema.len() - usize::from(corrupt.is_some());
        if self.fields.len() != expected {
            return Err(format!("{} fields, expected {expected}", self.fields.len()));
        }
        let mut fields = self.fields.drain(..);
        for (i, field) in schema.fields().iter().enumerate() {
            if Some(i) == corrupt {
                cells.push(Cell::Null);
                continue;
            }
            let Some((text, quoted)) = fields.next() else { break };
            let cell = match &field.data_type {
                DataType::Utf8 if text.is_empty() && !quoted => Cell::Null,
                DataType::Utf8 => Cell::Str(text),
                _ if text.is_empty() => Cell::Null,
                other => parse_value(&text, other)
                    .map_err(|e| format!("column '{}': {e}", field.name))?,
            };
            cells.push(cell);
        }
        Ok(())
    }
}

/// The fields of `line`, each with whether it was quoted.
pub(crate) fn split<'a>(
    line: &'a str,
    dialect: Dialect,
    out: &mut Vec<(Cow<'a, str>, bool)>,
) -> Result<(), String> {
    let Dialect { sep, quote } = dialect;
    let mut i = 0;
    loop {
        let rest = &line[i..];
        if let Some(q) = quote.filter(|&q| rest.starts_with(q)) {
            let qlen = q.len_utf8();
            let mut owned: Option<String> = None;
            let mut segment = i + qlen;
            let mut at = segment;
            let end = loop {
                let Some(k) = line[at..].find(q) else {
                    return Err(format!(
                        "field {} has an unclosed quote: {}",
                        out.len() + 1,
                        excerpt(&line[i..])
                    ));
                };
                let qpos = at + k;
                if line[qpos + qlen..].starts_with(q) {
                    owned.get_or_insert_with(String::new).push_str(&line[segment..qpos + qlen]);
                    at = qpos + 2 * qlen;
                    segment = at;
                } else {
                    let value = match owned {
                        None => Cow::Borrowed(&line[segment..qpos]),
                        Some(mut s) => {
                            s.push_str(&line[segment..qpos]);
                            Cow::Owned(s)
                        }
                    };
                    out.push((value, true));
                    break qpos + qlen;
                }
            };
            let after = &line[end..];
            if after.is_empty() {
                return Ok(());
            }
            if !after.starts_with(sep) {
                return Err(format!(
                    "field {}: unexpected '{}' after the closing quote",
                    out.len(),
                    excerpt(after)
                ));
            }
            i = end + sep.len_utf8();
        } else {
            match rest.find(sep) {
                Some(k) => {
                    out.push((Cow::Borrowed(&rest[..k]), false));
                    i += k + sep.len_utf8();
                }
                None => {
                    out.push((Cow::Borrowed(rest), false));
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str, sep: char, quote: Option<char>) -> Result<Vec<(String, bool)>, String> {
        let mut out = Vec::new();
        split(line, Dialect { sep, quote }, &mut out)?;
        Ok(out.into_iter().map(|(s, q)| (s.into_owned(), q)).collect())
    }

    fn plain(line: &str) -> Vec<String> {
        fields(line, ',', Some('"')).unwrap().into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn splits_rfc4180() {
        assert_eq!(plain("a,b,c"), ["a", "b", "c"]);
        assert_eq!(plain(""), [""]);
        assert_eq!(plain(","), ["", ""]);
        assert_eq!(plain("a,"), ["a", ""]);
        assert_eq!(plain("\"a,b\",c"), ["a,b", "c"]);
        assert_eq!(plain("\"say \"\"hi\"\"\",x"), ["say \"hi\"", "x"]);
        assert_eq!(plain("\"\"\"\""), ["\""]);
        assert_eq!(plain("a\"b,c"), ["a\"b", "c"]);
        assert_eq!(plain("\"\",x,\"é\""), ["", "x", "é"]);
        assert_eq!(
            fields("\"\",", ',', Some('"')).unwrap(),
            [("".into(), true), ("".into(), false)]
        );
        assert_eq!(
            fields("'a;b';c", ';', Some('\'')).unwrap(),
            [("a;b".into(), true), ("c".into(), false)]
        );
        assert_eq!(
            fields("\"a\"|b", '|', None).unwrap(),
            [("\"a\"".into(), false), ("b".into(), false)]
        );
        assert_eq!(plain("α→β→γ"), ["α→β→γ"]);
        assert_eq!(
            fields("α→β→\"γ→\"", '→', Some('"')).unwrap(),
            [("α".into(), false), ("β".into(), false), ("γ→".into(), true)]
        );
    }

    #[test]
    fn refuses_broken_quotes() {
        assert!(fields("\"abc", ',', Some('"')).unwrap_err().contains("unclosed quote"));
        assert!(
            fields("a,\"b\"c", ',', Some('"')).unwrap_err().contains("after the closing quote")
        );
        assert!(fields("\"a\"\"", ',', Some('"')).unwrap_err().contains("unclosed"));
    }
}

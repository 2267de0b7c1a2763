//! [`ConsoleSink`]: prints every batch as Spark's console sink does — a `Batch: N` banner and
//! a table of at most `numRows` rows, cells cut to 20 characters unless `truncate` is false.

use std::io::Write as _;

use arrow_array::RecordBatch;

use super::Sink;
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::arrow::{append_batch, schema_from_arrow};
use crate::row::{FieldSource, RowArena, Value};

/// Prints batches to standard output.
#[derive(Debug, Clone)]
pub struct ConsoleSink {
    num_rows: usize,
    truncate: bool,
}

impl ConsoleSink {
    /// From the options `numRows` (default 20) and `truncate` (default true).
    pub fn from_options(options: &Options) -> Result<ConsoleSink> {
        options.check_known("console sink", &["numRows", "truncate"])?;
        Ok(ConsoleSink {
            num_rows: options.parse_or("console sink", "numRows", 20usize)?,
            truncate: options.flag("console sink", "truncate", true)?,
        })
    }
}

impl Sink for ConsoleSink {
    fn description(&self) -> String {
        format!("ConsoleSink[numRows={}, truncate={}]", self.num_rows, self.truncate)
    }

    fn add_batch(&mut self, batch_id: u64, data: &[RecordBatch]) -> Result<()> {
        let mut text = String::new();
        text.push_str("-------------------------------------------\n");
        text.push_str(&format!("Batch: {batch_id}\n"));
        text.push_str("-------------------------------------------\n");
        text.push_str(&show_string(data, self.num_rows, self.truncate)?);
        text.push('\n');
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| EmberError::sink(self.description(), format!("writing to stdout: {e}")))
    }
}

/// `batches` as Spark's `Dataset.show` prints them: a header, at most `num_rows` rows, and
/// `only showing top N rows` when there are more.
pub fn show_string(batches: &[RecordBatch], num_rows: usize, truncate: bool) -> Result<String> {
    let Some(first) = batches.first() else {
        return Ok("++\n||\n++\n++\n".to_owned());
    };
    let arrow_schema = first.schema();
    let schema = std::sync::Arc::new(schema_from_arrow(&arrow_schema)?);
    let header: Vec<String> = schema.fields().iter().map(|f| f.name.clone()).collect();
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut cells: Vec<Vec<String>> = Vec::new();
    for batch in batches {
        if cells.len() >= num_rows {
            break;
        }
        let take = (num_rows - cells.len()).min(batch.num_rows());
        let mut arena = RowArena::new(schema.clone());
        append_batch(&mut arena, &batch.slice(0, take))?;
        for row in arena.iter() {
            cells.push((0..schema.len()).map(|i| format_value(&row.get_value(i))).collect());
        }
    }
    let cut = |s: &str| -> String {
        if truncate && s.chars().count() > 20 {
            format!("{}...", s.chars().take(17).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let header: Vec<String> = header.iter().map(|h| cut(h)).collect();
    let cells: Vec<Vec<String>> =
        cells.iter().map(|r| r.iter().map(|c| cut(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count().max(3)).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let sep: String = {
        let mut s = String::from("+");
        for w in &widths {
            s.push_str(&"-".repeat(*w));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let line = |values: &[String]| -> String {
        let mut s = String::from("|");
        for (v, w) in values.iter().zip(&widths) {
            let pad = w - v.chars().count();
            if truncate {
                s.push_str(&" ".repeat(pad));
                s.push_str(v);
            } else {
                s.push_str(v);
                s.push_str(&" ".repeat(pad));
            }
            s.push('|');
        }
        s.push('\n');
        s
    };
    let mut out = String::new();
    out.push_str(&sep);
    out.push_str(&line(&header));
    out.push_str(&sep);
    for row in &cells {
        out.push_str(&line(row));
    }
    out.push_str(&sep);
    if total > num_rows {
        out.push_str(&format!("only showing top {num_rows} rows\n"));
    }
    Ok(out)
}

/// A value as Spark prints it.
pub fn format_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) => format_float(f64::from(*v)),
        Value::Float64(v) => format_float(*v),
        Value::Date(days) => format_date(*days),
        Value::Timestamp(micros) => format_timestamp(*micros),
        Value::Utf8(s) => s.clone(),
        Value::Binary(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("[{}]", hex.join(" "))
        }
        Value::Struct(values) => {
            let inner: Vec<String> = values.iter().map(format_value).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::List(values) => {
            let inner: Vec<String> = values.iter().map(format_value).collect();
            format!("[{}]", inner.join(", "))
        }
    }
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() }
    } else if v == v.trunc() && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian).
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC).
pub fn format_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let base =
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", tod / 3600, tod / 60 % 60, tod % 60);
    if frac == 0 {
        base
    } else {
        let f = format!("{frac:06}");
        format!("{base}.{}", f.trim_end_matches('0'))
    }
}

/// Microseconds since the epoch as Spark's default `timestampFormat` writes them
/// (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in UTC): `2024-01-01T00:00:00.000Z`, microseconds cut to
/// milliseconds towards the past.
pub fn format_timestamp_iso(micros: i64) -> String {
    let millis = micros.div_euclid(1000);
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    // |i64::MAX µs| is about 1.07e8 days: always an i32.
    let days = secs.div_euclid(86_400) as i32;
    let tod = secs.rem_euclid(86_400);
    format!("{}T{:02}:{:02}:{:02}.{ms:03}Z", format_date(days), tod / 3600, tod / 60 % 60, tod % 60)
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_print_as_spark_does() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_timestamp(1_500_000), "1970-01-01 00:00:01.5");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn floats_print_as_spark_does() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(2.5), "2.5");
        assert_eq!(format_float(f64::NAN), "NaN");
    }
}

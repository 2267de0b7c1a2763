//! Typed values and the Arrow column builders the csv and json readers fill: [`Cell`] (one
//! parsed value), the text-to-value rules shared by both formats, and [`Batcher`], which
//! collects rows into record batches of at most [`ROWS_PER_BATCH`] rows.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float32Builder, Float64Builder, Int8Builder, Int16Builder,
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::Schema as ArrowSchema;

use crate::error::Result;
use crate::row::{DataType, Schema};

/// Rows per record batch: a file with more rows is split.
pub(crate) const ROWS_PER_BATCH: usize = 64 * 1024;
/// String bytes per record batch (all columns) before it is split, far from Arrow's 2 GiB
/// limit on one string column.
pub(crate) const BYTES_PER_BATCH: usize = 512 << 20;

/// One parsed value, of the type of its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    Str(Cow<'a, str>),
}

impl Cell<'_> {
    fn str_len(&self) -> usize {
        match self {
            Cell::Str(s) => s.len(),
            _ => 0,
        }
    }
}

/// The name of a type in messages, as the `schema` option spells it.
pub(crate) fn type_name(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "BOOLEAN",
        DataType::Int8 => "TINYINT",
        DataType::Int16 => "SMALLINT",
        DataType::Int32 => "INT",
        DataType::Int64 => "BIGINT",
        DataType::Float32 => "FLOAT",
        DataType::Float64 => "DOUBLE",
        DataType::Date => "DATE",
        DataType::Timestamp => "TIMESTAMP",
        _ => "STRING",
    }
}

/// `text` shortened for an error message.
pub(crate) fn excerpt(text: &str) -> Cow<'_, str> {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        None => Cow::Borrowed(text),
        Some((i, _)) => Cow::Owned(format!("{}...", &text[..i])),
    }
}

/// Parses non-empty `text` as a value of `data_type` (not `Utf8`), or says why not.
/// Integers and booleans are strict (no surrounding spaces; `true`/`false` in any case);
/// floating point also takes `NaN`, `Inf`, `Infinity` with optional sign.
pub(crate) fn parse_value<'a>(text: &str, data_type: &DataType) -> Result<Cell<'a>, String> {
    let cell = match data_type {
        DataType::Boolean => {
            if text.eq_ignore_ascii_case("true") {
                Some(Cell::Bool(true))
            } else if text.eq_ignore_ascii_case("false") {
                Some(Cell::Bool(false))
            } else {
                None
            }
        }
        DataType::Int8 => text.parse().ok().map(Cell::I8),
        DataType::Int16 => text.parse().ok().map(Cell::I16),
        DataType::Int32 => text.parse().ok().map(Cell::I32),
        DataType::Int64 => text.parse().ok().map(Cell::I64),
        DataType::Float32 => parse_float(text).map(|v| Cell::F32(v as f32)),
        DataType::Float64 => parse_float(text).map(Cell::F64),
        DataType::Date => parse_date(text).map(Cell::Date),
        DataType::Timestamp => parse_timestamp(text).map(Cell::Timestamp),
        _ => Some(Cell::Str(Cow::Owned(text.to_owned()))),
    };
    cell.ok_or_else(|| format!("cannot parse '{}' as {}", excerpt(text), type_name(data_type)))
}

/// A double, with Spark's spellings of the special values.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Inf" | "+Inf" | "Infinity" | "+Infinity" | "INF" | "+INF" => Some(f64::INFINITY),
        "-Inf" | "-Infinity" | "-INF" => Some(f64::NEG_INFINITY),
        _ => text.trim().parse().ok(),
    }
}

fn digits(text: &str, min: usize, max: usize) -> Option<u32> {
    let ok = (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

/// Days since 1970-01-01 of `yyyy-M[M]-d[d]` (a four-digit year).
pub(crate) fn parse_date(text: &str) -> Option<i32> {
    let mut parts = text.split('-');
    let year = digits(parts.next()?, 4, 4)? as i64;
    let month = digits(parts.next()?, 1, 2)?;
    let day = digits(parts.next()?, 1, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day == 0 || day > month_days[month as usize - 1] {
        return None;
    }
    i32::try_from(days_from_civil(year, month as i64, day as i64)).ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch of `yyyy-MM-dd[( |T)HH:mm:ss[.f{1,6}]][Z]`, read as UTC.
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let days = parse_date(date)? as i64;
    let mut micros = 0i64;
    if let Some(time) = time {
        let (hms, fraction) = match time.split_once('.') {
            Some((hms, f)) => (hms, Some(f)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let h = digits(parts.next()?, 2, 2)?;
        let m = digits(parts.next()?, 2, 2)?;
        let s = digits(parts.next()?, 2, 2)?;
        if parts.next().is_some() || h > 23 || m > 59 || s > 59 {
            return None;
        }
        micros = (h as i64 * 3600 + m as i64 * 60 + s as i64) * 1_000_000;
        if let Some(fraction) = fraction {
            let f = digits(fraction, 1, 6)? as i64;
            micros += f * 10i64.pow(6 - fraction.len() as u32);
        }
    }
    Some(days * 86_400_000_000 + micros)
}

/// The builder of one column.
enum Column {
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Utf8(StringBuilder),
}

impl Column {
    fn new(data_type: &DataType, rows: usize) -> Column {
        match data_type {
            DataType::Boolean => Column::Boolean(BooleanBuilder::with_capacity(rows)),
            DataType::Int8 => Column::Int8(Int8Builder::with_capacity(rows)),
            DataType::Int16 => Column::Int16(Int16Builder::with_capacity(rows)),
            DataType::Int32 => Column::Int32(Int32Builder::with_capacity(rows)),
            DataType::Int64 => Column::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float32 => Column::Float32(Float32Builder::with_capacity(rows)),
            DataType::Float64 => Column::Float64(Float64Builder::with_capacity(rows)),
            DataType::Date => Column::Date(Date32Builder::with_capacity(rows)),
            DataType::Timestamp => {
                Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            _ => Column::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
        }
    }

    /// Appends `cell`; a cell of another type (never made by the readers) appends a null.
    fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (Column::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (Column::Int8(b), Cell::I8(v)) => b.append_value(v),
            (Column::Int16(b), Cell::I16(v)) => b.append_value(v),
            (Column::Int32(b), Cell::I32(v)) => b.append_value(v),
            (Column::Int64(b), Cell::I64(v)) => b.append_value(v),
            (Column::Float32(b), Cell::F32(v)) => b.append_value(v),
            (Column::Float64(b), Cell::F64(v)) => b.append_value(v),
            (Column::Date(b), Cell::Date(v)) => b.append_value(v),
            (Column::Timestamp(b), Cell::Timestamp(v)) => b.append_value(v),
            (Column::Utf8(b), Cell::Str(v)) => b.append_value(v),
            (column, _) => column.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Boolean(b) => b.append_null(),
            Column::Int8(b) => b.append_null(),
            Column::Int16(b) => b.append_null(),
            Column::Int32(b) => b.append_null(),
            Column::Int64(b) => b.append_null(),
            Column::Float32(b) => b.append_null(),
            Column::Float64(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Utf8(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Boolean(b) => Arc::new(b.finish()),
            Column::Int8(b) => Arc::new(b.finish()),
            Column::Int16(b) => Arc::new(b.finish()),
            Column::Int32(b) => Arc::new(b.finish()),
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Float32(b) => Arc::new(b.finish()),
            Column::Float64(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Timestamp(b) => Arc::new(b.finish()),
            Column::Utf8(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows into record batches of the source's schema.
pub(crate) struct Batcher {
    arrow: Arc<ArrowSchema>,
    columns: Vec<Column>,
    rows: usize,
    bytes: usize,
    batches: Vec<RecordBatch>,
}

impl Batcher {
    /// An empty batcher for rows of `schema`, whose Arrow schema is `arrow`.
    pub(crate) fn new(schema: &Schema, arrow: Arc<ArrowSchema>, rows_hint: usize) -> Batcher {
        let rows = rows_hint.min(ROWS_PER_BATCH);
        let columns = schema.fields().iter().map(|f| Column::new(&f.data_type, rows)).collect();
        Batcher { arrow, columns, rows: 0, bytes: 0, batches: Vec::new() }
    }

    /// Appends one row: a cell per column, in schema order (`cells` is left empty).
    pub(crate) fn push(&mut self, cells: &mut Vec<Cell<'_>>) -> Result<()> {
        let bytes: usize = cells.iter().map(Cell::str_len).sum();
        if self.rows > 0 && (self.rows >= ROWS_PER_BATCH || self.bytes + bytes > BYTES_PER_BATCH) {
            self.flush()?;
        }
        for (column, cell) in self.columns.iter_mut().zip(cells.drain(..)) {
            column.append(cell);
        }
        self.rows += 1;
        self.bytes += bytes;
        Ok(())
    }

    /// Appends a row of nulls, with `raw` in column `corrupt` if given.
    pub(crate) fn push_malformed(&mut self, corrupt: Option<usize>, raw: &str) -> Result<()> {
        let mut cells: Vec<Cell<'_>> = vec![Cell::Null; self.columns.len()];
        if let Some(cell) = corrupt.and_then(|i| cells.get_mut(i)) {
            *cell = Cell::Str(Cow::Borrowed(raw));
        }
        self.push(&mut cells)
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns = self.columns.iter_mut().map(Column::finish).collect();
        self.batches.push(RecordBatch::try_new(self.arrow.clone(), columns)?);
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// The batches of every row pushed.
    pub(crate) fn finish(mut self) -> Result<Vec<RecordBatch>> {
        self.flush()?;
        Ok(self.batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2024-2-9"), Some(19_762));
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "24-01-01",
            "2024-01-01-",
            "2024/01/01",
            "",
            "2024-01-0x",
            "+024-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("1970-01-02T00:00:01Z"), Some(86_401_000_000));
        assert_eq!(parse_timestamp("2021-06-15 12:34:56.5"), Some(1_623_760_496_500_000));
        assert_eq!(parse_timestamp("2021-06-15 12:34:56.000123"), Some(1_623_760_496_000_123));
        assert_eq!(parse_timestamp("1969-12-31 23:59:59"), Some(-1_000_000));
        for bad in [
            "2021-06-15 24:00:00",
            "2021-06-15 12:60:00",
            "2021-06-15 12:00",
            "2021-06-15 12:00:00.1234567",
            "2021-06-15 12:00:00.",
            "2021-06-15 1:00:00",
            "x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("TRUE", &DataType::Boolean), Ok(Cell::Bool(true)));
        assert_eq!(parse_value("127", &DataType::Int8), Ok(Cell::I8(127)));
        assert!(parse_value("128", &DataType::Int8).unwrap_err().contains("as TINYINT"));
        assert!(parse_value(" 1", &DataType::Int32).is_err());
        assert_eq!(parse_value("-Inf", &DataType::Float64), Ok(Cell::F64(f64::NEG_INFINITY)));
        assert_eq!(parse_value("1.5e2", &DataType::Float32), Ok(Cell::F32(150.0)));
        assert!(parse_value("yes", &DataType::Boolean).is_err());
        let long = "x".repeat(200);
        let err = parse_value(&long, &DataType::Int64).unwrap_err();
        assert!(err.len() < 120, "{err}");
    }
}

//! The Ember row contenders: rows written by the generated encoder (`#[derive(Row)]`) and by
//! the interpreted one ([`encode_values`] over a schema known at run time), in one stream
//! format, plus the in-place operations on that stream.
//!
//! # The stream
//! All integers little-endian:
//!
//! ```text
//! offset 0   4 bytes   magic "EMRW"
//! offset 4   u32       row-format version (ROW_FORMAT_VERSION)
//! offset 8   u64       schema fingerprint (Schema::fingerprint)
//! offset 16  u64       row count n
//! offset 24  n × u32   byte length of each row (each a multiple of 8)
//!            0–4 zero bytes, so the rows start 8-byte aligned
//!            the n rows, back to back
//! ```
//!
//! A reader trusts nothing: the header, every length and every row are checked
//! ([`Row::try_new`]) before any field is read, once per batch; malformed input is an error,
//! never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use ember::row::{
    DataType, Field, FieldSource, Kind, ROW_FORMAT_VERSION, Row, RowArena, RowError, RowType,
    Schema, Value, encode_values, round8,
};

use crate::codec::{Codec, CodecError};
use crate::data::{Person, Wide, WordCount};
use crate::ops::{FastHash, GroupSums, f64_order_key};
use crate::record::Record;

/// The stream's first four bytes.
pub const MAGIC: [u8; 4] = *b"EMRW";
/// Bytes before the row-length index.
pub const HEADER_BYTES: usize = 24;

/// Why a row stream could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowStreamError {
    #[error("row stream of {0} bytes is shorter than its header")]
    Truncated(usize),
    #[error("not a row stream (magic {0:02x?})")]
    Magic([u8; 4]),
    #[error("row-format version {found}, this reader reads {expected}")]
    Version { found: u32, expected: u32 },
    #[error("schema fingerprint {found:#018x}, expected {expected:#018x}")]
    Fingerprint { found: u64, expected: u64 },
    #[error("row stream layout: {0}")]
    Layout(&'static str),
    #[error("row {index}: {source}")]
    Row {
        index: usize,
        #[source]
        source: RowError,
    },
    #[error("row values do not fit the record: {0}")]
    Values(String),
}

/// A record type with a binary-row encoding, and the names of the fields its operations use
/// (read at run time by the interpreted codec), plus the same operations on a generated view.
pub trait RowRecord: Record + RowType {
    /// The field [`Record::probe`] reads.
    const PROBE_FIELD: &'static str;
    /// The field [`Record::group_key`] reads.
    const GROUP_KEY_FIELD: &'static str;
    /// The field [`Record::group_value`] reads.
    const GROUP_VALUE_FIELD: &'static str;
    /// The field [`Record::sort_key`] reads.
    const SORT_FIELD: &'static str;

    /// [`Record::probe`] read in place from a row of [`RowType::schema`].
    fn probe_in_place(row: Row<'_>) -> i64;
    /// [`Record::group_key`] borrowed from a row's bytes.
    fn group_key_in_place(row: Row<'_>) -> &str;
    /// [`Record::group_value`] read in place.
    fn group_value_in_place(row: Row<'_>) -> i64;
    /// [`Record::sort_key`] read in place.
    fn sort_key_in_place(row: Row<'_>) -> i64;

    /// The schema, built at run time from field names and types (equal to
    /// [`RowType::schema`]; a test checks it).
    fn runtime_schema() -> Schema;
    /// The record's fields as dynamic values, in schema order.
    fn to_values(&self) -> Vec<Value>;
    /// A record from dynamic values in schema order; `None` if they do not fit.
    fn from_values(values: Vec<Value>) -> Option<Self>;
}

/// Writes the stream header, index and rows of `arena` into `out` (cleared first).
pub fn write_stream(arena: &RowArena, out: &mut Vec<u8>) {
    let (buf, offsets) = arena.as_parts();
    let n = arena.len();
    let index_end = round8(HEADER_BYTES + 4 * n);
    out.clear();
    out.reserve(index_end + buf.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&ROW_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&arena.schema().fingerprint().to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for pair in offsets.windows(2) {
        out.extend_from_slice(&((pair[1] - pair[0]) as u32).to_le_bytes());
    }
    out.resize(index_end, 0);
    out.extend_from_slice(buf);
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Checks a whole stream against `schema` and returns a view of every row. Every row is
/// validated by [`Row::try_new`]; this is the once-per-batch cost of untrusted bytes.
pub fn validated_rows<'a>(
    bytes: &'a [u8],
    schema: &'a Schema,
) -> Result<Vec<Row<'a>>, RowStreamError> {
    if bytes.len() < HEADER_BYTES {
        return Err(RowStreamError::Truncated(bytes.len()));
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(RowStreamError::Magic(magic));
    }
    let version = u32_at(bytes, 4);
    if version != ROW_FORMAT_VERSION {
        return Err(RowStreamError::Version { found: version, expected: ROW_FORMAT_VERSION });
    }
    let fingerprint = u64_at(bytes, 8);
    if fingerprint != schema.fingerprint() {
        return Err(RowStreamError::Fingerprint {
            found: fingerprint,
            expected: schema.fingerprint(),
        });
    }
    let count = u64_at(bytes, 16);
    let max_rows = ((bytes.len() - HEADER_BYTES) / 4) as u64;
    if count > max_rows {
        return Err(RowStreamError::Layout("row count exceeds the stream's size"));
    }
    let n = count as usize;
    let index_end = round8(HEADER_BYTES + 4 * n);
    if index_end > bytes.len() {
        return Err(RowStreamError::Layout("row index passes the stream's end"));
    }
    if bytes[HEADER_BYTES + 4 * n..index_end].iter().any(|&b| b != 0) {
        return Err(RowStreamError::Layout("non-zero padding after the row index"));
    }
    let mut rows = Vec::with_capacity(n);
    let mut pos = index_end;
    for index in 0..n {
        let len = u32_at(bytes, HEADER_BYTES + 4 * index) as usize;
        let end = pos
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or(RowStreamError::Layout("a row passes the stream's end"))?;
        let row = Row::try_new(&bytes[pos..end], schema)
            .map_err(|source| RowStreamError::Row { index, source })?;
        rows.push(row);
        pos = end;
    }
    if pos != bytes.len() {
        return Err(RowStreamError::Layout("bytes after the last row"));
    }
    Ok(rows)
}

/// The wrapping sum of `probe` over `rows`.
pub fn field_sum_rows<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    probe: impl Fn(Row<'a>) -> i64,
) -> i64 {
    rows.into_iter().fold(0i64, |acc, r| acc.wrapping_add(probe(r)))
}

/// Hash group-by with a sum over rows, keys borrowed from the rows' bytes: the same result
/// (groups in order of first appearance) as [`crate::ops::group_sum`].
pub fn group_sum_rows<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    key: impl Fn(Row<'a>) -> &'a str,
    value: impl Fn(Row<'a>) -> i64,
) -> GroupSums {
    let mut index: HashMap<&'a str, usize, FastHash> = HashMap::default();
    let mut keys = Vec::new();
    let mut sums = Vec::new();
    for row in rows {
        let k = key(row);
        let next = sums.len();
        let slot = *index.entry(k).or_insert(next);
        if slot == next {
            sums.push(0i64);
            keys.push(k);
        }
        sums[slot] = sums[slot].wrapping_add(value(row));
    }
    GroupSums { keys: keys.into_iter().map(str::to_owned).collect(), sums }
}

/// Row indices in stable ascending order of `sort_key`, as [`crate::ops::sort_order`].
pub fn sort_order_rows<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    sort_key: impl Fn(Row<'a>) -> i64,
) -> Vec<u32> {
    let mut keyed: Vec<(i64, u32)> =
        rows.into_iter().enumerate().map(|(i, r)| (sort_key(r), i as u32)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Ember rows from the generated encoder; operations read fields in place through the
/// generated view after validating the batch once.
#[derive(Debug)]
pub struct EmberRow {
    arena: Option<RowArena>,
}

impl EmberRow {
    pub fn new() -> Self {
        EmberRow { arena: None }
    }
}

impl Default for EmberRow {
    fn default() -> Self {
        Self::new()
    }
}

fn arena_for<'s>(slot: &'s mut Option<RowArena>, schema: &Arc<Schema>) -> &'s mut RowArena {
    let arena = slot.get_or_insert_with(|| RowArena::new(schema.clone()));
    if !Arc::ptr_eq(arena.schema(), schema) {
        *arena = RowArena::new(schema.clone());
    }
    arena.clear();
    arena
}

impl<R: RowRecord> Codec<R> for EmberRow {
    fn name(&self) -> &'static str {
        "ember-row"
    }

    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let arena = arena_for(&mut self.arena, R::schema());
        for r in rows {
            arena.push_encoded(r);
        }
        write_stream(arena, out);
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError> {
        out.clear();
        let rows = validated_rows(bytes, R::schema())?;
        out.extend(rows.into_iter().map(R::decode));
        Ok(())
    }

    fn field_sum(&mut self, bytes: &[u8]) -> Result<i64, CodecError> {
        let rows = validated_rows(bytes, R::schema())?;
        Ok(field_sum_rows(rows, R::probe_in_place))
    }

    fn group_sum(&mut self, bytes: &[u8]) -> Result<GroupSums, CodecError> {
        let rows = validated_rows(bytes, R::schema())?;
        Ok(group_sum_rows(rows, R::group_key_in_place, R::group_value_in_place))
    }

    fn sort_order(&mut self, bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
        let rows = validated_rows(bytes, R::schema())?;
        Ok(sort_order_rows(rows, R::sort_key_in_place))
    }
}

/// Ember rows from the interpreted encoder: records become dynamic [`Value`]s, written by
/// [`encode_values`] against a schema built at run time. The bytes equal [`EmberRow`]'s.
/// Operations find their fields by name in that schema and read them by index and kind.
#[derive(Debug)]
pub struct EmberRowInterpreted {
    schema: Option<Arc<Schema>>,
    arena: Option<RowArena>,
}

impl EmberRowInterpreted {
    pub fn new() -> Self {
        EmberRowInterpreted { schema: None, arena: None }
    }

    fn schema<R: RowRecord>(&mut self) -> Arc<Schema> {
        match &self.schema {
            Some(s) if s.fingerprint() == R::schema().fingerprint() => s.clone(),
            _ => {
                let s = Arc::new(R::runtime_schema());
                self.schema = Some(s.clone());
                s
            }
        }
    }
}

impl Default for EmberRowInterpreted {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads an integer or floating-point field as an order-preserving `i64`, by its kind.
fn read_i64(row: Row<'_>, i: usize) -> i64 {
    match row.schema().kind(i) {
        Kind::Int8 => i64::from(row.get_i8(i)),
        Kind::Int16 => i64::from(row.get_i16(i)),
        Kind::Int32 | Kind::Date => i64::from(row.get_i32(i)),
        Kind::Float32 => f64_order_key(f64::from(row.get_f32(i))),
        Kind::Float64 => f64_order_key(row.get_f64(i)),
        Kind::Boolean => i64::from(row.get_bool(i)),
        _ => row.get_i64(i),
    }
}

fn field_index(schema: &Schema, name: &str) -> Result<usize, CodecError> {
    schema.index_of(name).ok_or_else(|| RowStreamError::Values(format!("no field `{name}`")).into())
}

impl<R: RowRecord> Codec<R> for EmberRowInterpreted {
    fn name(&self) -> &'static str {
        "ember-row-interpreted"
    }

    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let schema = self.schema::<R>();
        let arena = arena_for(&mut self.arena, &schema);
        let mut failed = None;
        for r in rows {
            let values = r.to_values();
            arena.push_with(|b| {
                if let Err(e) = encode_values(&values, b) {
                    failed = Some(e);
                }
            });
            if let Some(source) = failed.take() {
                return Err(RowStreamError::Row { index: arena.len() - 1, source }.into());
            }
        }
        write_stream(arena, out);
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError> {
        out.clear();
        let schema = self.schema::<R>();
        let rows = validated_rows(bytes, &schema)?;
        out.reserve(rows.len());
        for row in rows {
            let record = R::from_values(row.to_values())
                .ok_or_else(|| RowStreamError::Values(format!("{row:?}")))?;
            out.push(record);
        }
        Ok(())
    }

    fn field_sum(&mut self, bytes: &[u8]) -> Result<i64, CodecError> {
        let schema = self.schema::<R>();
        let probe = field_index(&schema, R::PROBE_FIELD)?;
        let rows = validated_rows(bytes, &schema)?;
        Ok(field_sum_rows(rows, |r| read_i64(r, probe)))
    }

    fn group_sum(&mut self, bytes: &[u8]) -> Result<GroupSums, CodecError> {
        let schema = self.schema::<R>();
        let key = field_index(&schema, R::GROUP_KEY_FIELD)?;
        let value = field_index(&schema, R::GROUP_VALUE_FIELD)?;
        let rows = validated_rows(bytes, &schema)?;
        Ok(group_sum_rows(rows, |r| r.get_str(key), |r| read_i64(r, value)))
    }

    fn sort_order(&mut self, bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
        let schema = self.schema::<R>();
        let sort = field_index(&schema, R::SORT_FIELD)?;
        let rows = validated_rows(bytes, &schema)?;
        Ok(sort_order_rows(rows, |r| read_i64(r, sort)))
    }
}

/// Takes typed values off a row's dynamic values.
struct Take(std::vec::IntoIter<Value>);

fn as_i64(v: Value) -> Option<i64> {
    if let Value::Int64(x) = v { Some(x) } else { None }
}
fn as_i32(v: Value) -> Option<i32> {
    if let Value::Int32(x) = v { Some(x) } else { None }
}
fn as_f64(v: Value) -> Option<f64> {
    if let Value::Float64(x) = v { Some(x) } else { None }
}
fn as_bool(v: Value) -> Option<bool> {
    if let Value::Boolean(x) = v { Some(x) } else { None }
}
fn as_string(v: Value) -> Option<String> {
    if let Value::Utf8(x) = v { Some(x) } else { None }
}

impl Take {
    fn new(values: Vec<Value>, expected: usize) -> Option<Take> {
        (values.len() == expected).then(|| Take(values.into_iter()))
    }
    fn get<T>(&mut self, f: fn(Value) -> Option<T>) -> Option<T> {
        f(self.0.next()?)
    }
    fn opt<T>(&mut self, f: fn(Value) -> Option<T>) -> Option<Option<T>> {
        match self.0.next()? {
            Value::Null => Some(None),
            v => f(v).map(Some),
        }
    }
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn opt_value<T>(v: &Option<T>, f: impl FnOnce(&T) -> Value) -> Value {
    v.as_ref().map_or(Value::Null, f)
}

impl RowRecord for Person {
    const PROBE_FIELD: &'static str = "age";
    const GROUP_KEY_FIELD: &'static str = "city";
    const GROUP_VALUE_FIELD: &'static str = "age";
    const SORT_FIELD: &'static str = "score";

    fn probe_in_place(row: Row<'_>) -> i64 {
        i64::from(Person::view(row).age())
    }
    fn group_key_in_place(row: Row<'_>) -> &str {
        Person::view(row).city()
    }
    fn group_value_in_place(row: Row<'_>) -> i64 {
        i64::from(Person::view(row).age())
    }
    fn sort_key_in_place(row: Row<'_>) -> i64 {
        f64_order_key(Person::view(row).score())
    }

    fn runtime_schema() -> Schema {
        Schema::new(vec![
            field("id", DataType::Int64, false),
            field("name", DataType::Utf8, false),
            field("age", DataType::Int32, false),
            field("city", DataType::Utf8, false),
            field("score", DataType::Float64, false),
        ])
    }

    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::Int64(self.id),
            Value::Utf8(self.name.clone()),
            Value::Int32(self.age),
            Value::Utf8(self.city.clone()),
            Value::Float64(self.score),
        ]
    }

    fn from_values(values: Vec<Value>) -> Option<Self> {
        let mut t = Take::new(values, 5)?;
        Some(Person {
            id: t.get(as_i64)?,
            name: t.get(as_string)?,
            age: t.get(as_i32)?,
            city: t.get(as_string)?,
            score: t.get(as_f64)?,
        })
    }
}

impl RowRecord for WordCount {
    const PROBE_FIELD: &'static str = "count";
    const GROUP_KEY_FIELD: &'static str = "word";
    const GROUP_VALUE_FIELD: &'static str = "count";
    const SORT_FIELD: &'static str = "count";

    fn probe_in_place(row: Row<'_>) -> i64 {
        WordCount::view(row).count()
    }
    fn group_key_in_place(row: Row<'_>) -> &str {
        WordCount::view(row).word()
    }
    fn group_value_in_place(row: Row<'_>) -> i64 {
        WordCount::view(row).count()
    }
    fn sort_key_in_place(row: Row<'_>) -> i64 {
        WordCount::view(row).count()
    }

    fn runtime_schema() -> Schema {
        Schema::new(vec![
            field("word", DataType::Utf8, false),
            field("count", DataType::Int64, false),
        ])
    }

    fn to_values(&self) -> Vec<Value> {
        vec![Value::Utf8(self.word.clone()), Value::Int64(self.count)]
    }

    fn from_values(values: Vec<Value>) -> Option<Self> {
        let mut t = Take::new(values, 2)?;
        Some(WordCount { word: t.get(as_string)?, count: t.get(as_i64)? })
    }
}

impl RowRecord for Wide {
    const PROBE_FIELD: &'static str = "amount";
    const GROUP_KEY_FIELD: &'static str = "category";
    const GROUP_VALUE_FIELD: &'static str = "amount";
    const SORT_FIELD: &'static str = "created_ms";

    fn probe_in_place(row: Row<'_>) -> i64 {
        Wide::view(row).amount()
    }
    fn group_key_in_place(row: Row<'_>) -> &str {
        Wide::view(row).category()
    }
    fn group_value_in_place(row: Row<'_>) -> i64 {
        Wide::view(row).amount()
    }
    fn sort_key_in_place(row: Row<'_>) -> i64 {
        Wide::view(row).created_ms()
    }

    fn runtime_schema() -> Schema {
        use DataType::{Boolean, Float64, Int32, Int64, Utf8};
        Schema::new(vec![
            field("id", Int64, false),
            field("category", Utf8, false),
            field("quantity", Int32, false),
            field("price", Float64, false),
            field("in_stock", Boolean, false),
            field("label", Utf8, false),
            field("created_ms", Int64, false),
            field("rating", Int32, false),
            field("ratio", Float64, false),
            field("flagged", Boolean, false),
            field("comment", Utf8, true),
            field("parent_id", Int64, true),
            field("level", Int32, true),
            field("discount", Float64, true),
            field("region", Utf8, true),
            field("amount", Int64, false),
            field("visits", Int32, false),
            field("weight", Float64, false),
            field("code", Utf8, false),
            field("priority", Int32, true),
        ])
    }

    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::Int64(self.id),
            Value::Utf8(self.category.clone()),
            Value::Int32(self.quantity),
            Value::Float64(self.price),
            Value::Boolean(self.in_stock),
            Value::Utf8(self.label.clone()),
            Value::Int64(self.created_ms),
            Value::Int32(self.rating),
            Value::Float64(self.ratio),
            Value::Boolean(self.flagged),
            opt_value(&self.comment, |s| Value::Utf8(s.clone())),
            opt_value(&self.parent_id, |&x| Value::Int64(x)),
            opt_value(&self.level, |&x| Value::Int32(x)),
            opt_value(&self.discount, |&x| Value::Float64(x)),
            opt_value(&self.region, |s| Value::Utf8(s.clone())),
            Value::Int64(self.amount),
            Value::Int32(self.visits),
            Value::Float64(self.weight),
            Value::Utf8(self.code.clone()),
            opt_value(&self.priority, |&x| Value::Int32(x)),
        ]
    }

    fn from_values(values: Vec<Value>) -> Option<Self> {
        let mut t = Take::new(values, 20)?;
        Some(Wide {
            id: t.get(as_i64)?,
            category: t.get(as_string)?,
            quantity: t.get(as_i32)?,
            price: t.get(as_f64)?,
            in_stock: t.get(as_bool)?,
            label: t.get(as_string)?,
            created_ms: t.get(as_i64)?,
            rating: t.get(as_i32)?,
            ratio: t.get(as_f64)?,
            flagged: t.get(as_bool)?,
            comment: t.opt(as_string)?,
            parent_id: t.opt(as_i64)?,
            level: t.opt(as_i32)?,
            discount: t.opt(as_f64)?,
            region: t.opt(as_string)?,
            amount: t.get(as_i64)?,
            visits: t.get(as_i32)?,
            weight: t.get(as_f64)?,
            code: t.get(as_string)?,
            priority: t.opt(as_i32)?,
        })
    }
}

/// The operations on rows Ember wrote itself and kept in memory (a [`RowArena`]): what the
/// engine does with its own batches, where no validation is needed. The reproduction reports
/// these as `ember-row-trusted`, beside the validated figures of [`EmberRow`].
pub mod trusted {
    use super::*;

    /// Encodes `rows` into `arena` (cleared first): the generated encoder, no stream framing.
    pub fn encode<R: RowRecord>(rows: &[R], arena: &mut RowArena) {
        arena.clear();
        for r in rows {
            arena.push_encoded(r);
        }
    }

    /// Every row of `arena` decoded to a record.
    pub fn decode<R: RowRecord>(arena: &RowArena, out: &mut Vec<R>) {
        out.clear();
        out.extend(arena.iter().map(R::decode));
    }

    /// [`Record::probe`] summed in place.
    pub fn field_sum<R: RowRecord>(arena: &RowArena) -> i64 {
        field_sum_rows(arena.iter(), R::probe_in_place)
    }

    /// Group-by with a sum in place, keys borrowed from the arena.
    pub fn group_sum<R: RowRecord>(arena: &RowArena) -> GroupSums {
        group_sum_rows(arena.iter(), R::group_key_in_place, R::group_value_in_place)
    }

    /// Sort order by the record's sort key read in place.
    pub fn sort_order<R: RowRecord>(arena: &RowArena) -> Vec<u32> {
        sort_order_rows(arena.iter(), R::sort_key_in_place)
    }
}

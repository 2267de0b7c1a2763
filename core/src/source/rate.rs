//! The `rate` source (Spark's `RateStreamSource`): `rowsPerSecond` rows a second of
//! `(timestamp, value)`, `value` counting from 0, for tests and benchmarks.
//!
//! The source's start time is kept in its checkpoint directory (file `start`, written once with
//! the checkpoint log store), so a restarted query sees the same start. Row `i` is a pure
//! function of `i` and that start time: its value is `i`, its timestamp `start + i /
//! rowsPerSecond` seconds (during a ramp-up, the rows of second `s` are spread evenly over that
//! second). The offset `{"value":n}` is the number of rows due so far, from the time elapsed
//! since the start; a batch from `start` to `end` holds the values `start..end`. The source is
//! therefore replayable: the same offsets give the same rows, before and after a restart. One
//! batch holds at most [`MAX_ROWS_PER_BATCH`] rows, so a query restarted after a long stop
//! catches up in several batches.
//!
//! Options: `rowsPerSecond` (default 1, positive), `rampUpTime` (default 0: seconds, or a time
//! such as `5s`, `2m`; the rate grows linearly to `rowsPerSecond` over that time, as in Spark),
//! `numPartitions` (accepted and validated, but batches are not split: the engine partitions
//! them itself).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::builder::{Int64Builder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use ember_state::checkpoint::{FsLogStore, LogStore};

use super::{Source, SourceContext, SourceFactory, SourceOffset};
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::{DataType, Field, Schema};

/// The most rows one batch of a rate source holds.
pub const MAX_ROWS_PER_BATCH: u64 = 10_000_000;
/// Rows per record batch within one batch.
const ROWS_PER_RECORD_BATCH: u64 = 1 << 20;
const MICROS: u128 = 1_000_000;

const WHAT: &str = "rate source";
const KNOWN: &[&str] = &["rowsPerSecond", "rampUpTime", "numPartitions"];
/// The checkpoint file holding the start time.
const START_FILE: &str = "start";

/// The validated options of a rate source, and the arithmetic of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rate {
    rows_per_second: u64,
    ramp_up_seconds: u64,
}

fn positive(options: &Options, key: &str, default: i64) -> Result<u64> {
    let value: i64 = options.parse_or(WHAT, key, default)?;
    if value <= 0 {
        return Err(EmberError::config(format!(
            "{WHAT}: option '{key}' = '{value}' is invalid: it must be positive"
        )));
    }
    Ok(value as u64)
}

/// Seconds of a time such as `10`, `10s`, `2m`, `1h` (Spark's `timeStringAsSec`: a bare number
/// is seconds; `us`, `ms`, `s`, `m`/`min`, `h`, `d`; fractions of a second are dropped).
fn parse_seconds(raw: &str) -> Option<u64> {
    let text = raw.trim().to_ascii_lowercase();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let (multiply, divide) = match unit.trim() {
        "" | "s" | "sec" | "secs" => (1, 1),
        "us" => (1, 1_000_000),
        "ms" => (1, 1_000),
        "m" | "min" | "mins" => (60, 1),
        "h" => (3_600, 1),
        "d" => (86_400, 1),
        _ => return None,
    };
    number.checked_mul(multiply).map(|s| s / divide)
}

impl Rate {
    fn parse(options: &Options) -> Result<Rate> {
        options.check_known(WHAT, KNOWN)?;
        let rows_per_second = positive(options, "rowsPerSecond", 1)?;
        let ramp_up_seconds = match options.get("rampUpTime") {
            None => 0,
            Some(raw) => parse_seconds(raw).ok_or_else(|| {
                EmberError::config(format!(
                    "{WHAT}: option 'rampUpTime' = '{raw}' is invalid: expected a non-negative \
                     number of seconds, or a time such as 10s, 2m, 1h"
                ))
            })?,
        };
        positive(options, "numPartitions", 1)?;
        Ok(Rate { rows_per_second, ramp_up_seconds })
    }

    /// How much faster each ramp-up second is than the one before.
    fn speed_delta(&self) -> u128 {
        u128::from(self.rows_per_second) / (u128::from(self.ramp_up_seconds) + 1)
    }

    /// The rows due in the first `seconds` seconds (Spark's `valueAtSecond`).
    fn value_at_second(&self, seconds: u64) -> u128 {
        let ramp = u128::from(self.ramp_up_seconds);
        let s = u128::from(seconds);
        if s <= ramp {
            self.speed_delta() * s * (s + 1) / 2
        } else {
            self.value_at_second(self.ramp_up_seconds)
                + (s - ramp) * u128::from(self.rows_per_second)
        }
    }

    /// The rows due `elapsed_us` microseconds after the start: those of the whole seconds, and
    /// the share of the current second's rows.
    fn rows_at(&self, elapsed_us: u64) -> u64 {
        let second = elapsed_us / 1_000_000;
        let within = u128::from(elapsed_us % 1_000_000);
        let at = self.value_at_second(second);
        let next = self.value_at_second(second + 1);
        let rows = at + (next - at) * within / MICROS;
        rows.min(i64::MAX as u128) as u64
    }

    /// The timestamp of row `i`, in microseconds after the start.
    fn offset_micros(&self, i: u64) -> i64 {
        let i = u128::from(i);
        let ramped = self.value_at_second(self.ramp_up_seconds);
        let (second, within, width) = if i >= ramped {
            let rps = u128::from(self.rows_per_second);
            let after = i - ramped;
            (u128::from(self.ramp_up_seconds) + after / rps, after % rps, rps)
        } else {
            // The last ramp-up second starting at or before row i; its width is positive as
            // it holds row i.
            let (mut lo, mut hi) = (0u64, self.ramp_up_seconds);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if self.value_at_second(mid) <= i { lo = mid } else { hi = mid }
            }
            let start = self.value_at_second(lo);
            let width = self.value_at_second(lo + 1) - start;
            (u128::from(lo), i - start, width.max(1))
        };
        let micros = second * MICROS + within * MICROS / width;
        micros.min(i64::MAX as u128) as i64
    }

    fn description(&self) -> String {
        format!("RateStreamSource[rowsPerSecond={}]", self.rows_per_second)
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Timestamp, false),
        Field::new("value", DataType::Int64, false),
    ]))
}

/// The factory of `format("rate")`: validates the options.
pub(crate) fn factory(options: &Options) -> Result<Arc<dyn SourceFactory>> {
    Ok(Arc::new(RateFactory { rate: Rate::parse(options)?, schema: schema() }))
}

struct RateFactory {
    rate: Rate,
    schema: Arc<Schema>,
}

impl SourceFactory for RateFactory {
    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }
    fn description(&self) -> String {
        self.rate.description()
    }
    fn create(&self) -> Result<Box<dyn Source>> {
        Ok(Box::new(RateSource {
            rate: self.rate,
            schema: self.schema.clone(),
            start_us: None,
            available_now_us: None,
        }))
    }
}

/// One running rate source.
struct RateSource {
    rate: Rate,
    schema: Arc<Schema>,
    /// The start time, µs since the epoch: set by `start()`.
    start_us: Option<i64>,
    /// Under available-now, the time (µs since the epoch) the query started: rows due after
    /// it wait for the next run.
    available_now_us: Option<i64>,
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

fn parse_start(bytes: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    value.get("startTimeUs")?.as_i64()
}

impl RateSource {
    fn error(&self, message: impl Into<String>) -> EmberError {
        EmberError::source(self.rate.description(), message)
    }

    fn started(&self) -> Result<i64> {
        self.start_us.ok_or_else(|| self.error("used before start()"))
    }

    fn value_of(&self, offset: &SourceOffset) -> Result<u64> {
        offset
            .to_value()
            .get("value")
            .and_then(serde_json::Value::as_u64)
            .filter(|&v| v <= i64::MAX as u64)
            .ok_or_else(|| self.error(format!("offset {} is not {{\"value\":n}}", offset.json())))
    }

    /// The start time kept in `store`, written now if the checkpoint has none.
    fn load_start(&self, store: &FsLogStore) -> Result<i64> {
        let corrupt = |bytes: &[u8]| {
            self.error(format!(
                "{} holds '{}', not {{\"startTimeUs\":n}}",
                store.path(START_FILE).display(),
                String::from_utf8_lossy(bytes)
            ))
        };
        if let Some(bytes) = store.read(START_FILE)? {
            return parse_start(&bytes).ok_or_else(|| corrupt(&bytes));
        }
        let now = now_micros();
        let json = serde_json::json!({ "startTimeUs": now }).to_string();
        match store.create_new(START_FILE, json.as_bytes()) {
            Ok(()) => Ok(now),
            // Written meanwhile by someone else: theirs stands.
            Err(e) => match store.read(START_FILE)? {
                Some(bytes) => parse_start(&bytes).ok_or_else(|| corrupt(&bytes)),
                None => Err(e.into()),
            },
        }
    }
}

impl Source for RateSource {
    fn description(&self) -> String {
        self.rate.description()
    }

    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    fn start(&mut self, ctx: &SourceContext) -> Result<()> {
        let store = FsLogStore::open(&ctx.checkpoint_dir)?;
        self.start_us = Some(self.load_start(&store)?);
        Ok(())
    }

    fn latest_offset(&mut self, start: Option<&SourceOffset>) -> Result<Option<SourceOffset>> {
        let start_us = self.started()?;
        let from = start.map(|s| self.value_of(s)).transpose()?.unwrap_or(0);
        let now = self.available_now_us.map_or_else(now_micros, |cap| cap.min(now_micros()));
        let elapsed = u64::try_from(now.saturating_sub(start_us)).unwrap_or(0);
        let due = self.rate.rows_at(elapsed);
        let end = due.min(from.saturating_add(MAX_ROWS_PER_BATCH)).max(from);
        Ok((end > 0).then(|| SourceOffset::from_value(&serde_json::json!({ "value": end }))))
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.started()?;
        self.available_now_us = Some(now_micros());
        Ok(())
    }

    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>> {
        let start_us = self.started()?;
        let from = start.map(|s| self.value_of(s)).transpose()?.unwrap_or(0);
        let to = self.value_of(end)?;
        if to < from {
            return Err(self.error(format!("batch end {} is before its start {from}", end.json())));
        }
        let arrow_schema = Arc::new(crate::row::arrow::to_arrow_schema(&self.schema));
        let mut batches = Vec::new();
        let mut chunk_start = from;
        loop {
            let chunk_end = to.min(chunk_start.saturating_add(ROWS_PER_RECORD_BATCH));
            let rows = (chunk_end - chunk_start) as usize;
            let mut times = TimestampMicrosecondBuilder::with_capacity(rows);
            let mut values = Int64Builder::with_capacity(rows);
            for i in chunk_start..chunk_end {
                times.append_value(start_us.saturating_add(self.rate.offset_micros(i)));
                values.append_value(i as i64);
            }
            let columns: Vec<ArrayRef> = vec![Arc::new(times.finish()), Arc::new(values.finish())];
            batches.push(RecordBatch::try_new(arrow_schema.clone(), columns)?);
            chunk_start = chunk_end;
            if chunk_start >= to {
                return Ok(batches);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType};

    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(pairs)
    }

    fn temp_dir(name: &str) -> PathBuf {
        let id = ember_state::checkpoint::QueryId::random();
        std::env::temp_dir().join(format!("ember-rate-{name}-{id}"))
    }

    fn rate(rps: u64, ramp: u64) -> Rate {
        Rate { rows_per_second: rps, ramp_up_seconds: ramp }
    }

    fn columns(batches: &[RecordBatch]) -> (Vec<i64>, Vec<i64>) {
        let mut times = Vec::new();
        let mut values = Vec::new();
        for b in batches {
            times.extend(b.column(0).as_primitive::<TimestampMicrosecondType>().values());
            values.extend(b.column(1).as_primitive::<Int64Type>().values());
        }
        (times, values)
    }

    #[test]
    fn options_are_validated() {
        let err = |pairs: &[(&str, &str)]| factory(&options(pairs)).err().unwrap().to_string();
        for bad in ["0", "-3", "abc", "1.5"] {
            let e = err(&[("rowsPerSecond", bad)]);
            assert!(e.contains("rowsPerSecond") && e.contains("invalid"), "{e}");
        }
        let e = err(&[("rampUpTime", "soon")]);
        assert!(e.contains("'rampUpTime' = 'soon' is invalid"), "{e}");
        assert!(err(&[("rampUpTime", "-1")]).contains("rampUpTime"));
        assert!(err(&[("numPartitions", "0")]).contains("numPartitions"));
        let e = err(&[("rowsPerSec", "5")]);
        assert!(e.contains("unknown option 'rowspersec'") && e.contains("rowsPerSecond"), "{e}");
        let f = factory(&options(&[("rowsPerSecond", "250"), ("numPartitions", "4")])).unwrap();
        assert_eq!(f.description(), "RateStreamSource[rowsPerSecond=250]");
        assert_eq!(f.schema().to_string(), schema().to_string());
        assert_eq!(
            factory(&Options::new()).unwrap().description(),
            "RateStreamSource[rowsPerSecond=1]"
        );
        assert_eq!(parse_seconds("7"), Some(7));
        assert_eq!(parse_seconds("2m"), Some(120));
        assert_eq!(parse_seconds("1500ms"), Some(1));
        assert_eq!(parse_seconds(" 3 S "), Some(3));
        assert_eq!(parse_seconds("99999999999999999999d"), None);
    }

    #[test]
    fn ramp_up_follows_spark() {
        let r = rate(10, 4);
        let ends: Vec<u128> = (0..=6).map(|s| r.value_at_second(s)).collect();
        assert_eq!(ends, [0, 2, 6, 12, 20, 30, 40]);
        // Rows due and timestamps agree: row i is due once its second has passed its share.
        for r in [rate(10, 4), rate(3, 5), rate(7, 0), rate(1, 0), rate(1_000_000, 2)] {
            let mut last = 0;
            for i in 0..200u64 {
                let t = r.offset_micros(i);
                assert!(t >= last, "{r:?} row {i}");
                last = t;
            }
            for us in (0..20_000_000u64).step_by(77_777) {
                let due = r.rows_at(us);
                if due > 0 {
                    assert!(r.offset_micros(due - 1) as u64 <= us, "{r:?} at {us}");
                }
            }
        }
        assert_eq!(rate(4, 0).rows_at(2_500_000), 10);
        assert_eq!(rate(4, 0).offset_micros(10), 2_500_000);
        assert_eq!(rate(u64::MAX >> 1, 0).rows_at(u64::MAX), i64::MAX as u64);
    }

    #[test]
    fn batches_are_consecutive_and_replay_after_restart() {
        let dir = temp_dir("replay");
        let f = factory(&options(&[("rowsPerSecond", "1000")])).unwrap();
        let mut source = f.create().unwrap();
        assert!(source.latest_offset(None).is_err(), "not started");
        let ctx = SourceContext { checkpoint_dir: dir.clone() };
        source.start(&ctx).unwrap();
        let start_us = source_start(&dir);
        let end = SourceOffset::from_value(&serde_json::json!({ "value": 2500 }));
        let mid = SourceOffset::from_value(&serde_json::json!({ "value": 1000 }));
        let (times, values) = columns(&source.get_batch(Some(&mid), &end).unwrap());
        assert_eq!(values, (1000..2500).collect::<Vec<i64>>());
        assert!(times.iter().zip(&values).all(|(&t, &v)| t == start_us + v * 1000));
        // A restarted source reads the same start time and gives the same rows.
        let mut again = f.create().unwrap();
        again.start(&ctx).unwrap();
        assert_eq!(
            again.get_batch(Some(&mid), &end).unwrap(),
            source.get_batch(Some(&mid), &end).unwrap()
        );
        assert!(source.get_batch(Some(&end), &mid).is_err());
        assert_eq!(source.get_batch(Some(&end), &end).unwrap()[0].num_rows(), 0);
        let big = SourceOffset::from_value(&serde_json::json!({ "value": (1u64 << 20) + 5 }));
        let batches = source.get_batch(None, &big).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(columns(&batches).1.len(), (1 << 20) + 5);
        // Offsets grow with time, from the persisted start; the rows due since long ago are capped.
        if let Some(latest) = source.latest_offset(None).unwrap() {
            assert!(latest.to_value()["value"].as_u64().unwrap() <= MAX_ROWS_PER_BATCH);
        }
        let bad = SourceOffset::from_value(&serde_json::json!({ "offset": 1 }));
        assert!(source.get_batch(None, &bad).is_err());
        std::fs::write(dir.join(START_FILE), b"garbage").unwrap();
        let e = f.create().unwrap().start(&ctx).unwrap_err().to_string();
        assert!(e.contains("garbage"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn source_start(dir: &std::path::Path) -> i64 {
        parse_start(&std::fs::read(dir.join(START_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn a_long_stop_is_caught_up_in_capped_batches() {
        let dir = temp_dir("catchup");
        let store = FsLogStore::open(&dir).unwrap();
        let hour_ago = now_micros() - 3_600_000_000;
        let json = serde_json::json!({ "startTimeUs": hour_ago }).to_string();
        store.create_new(START_FILE, json.as_bytes()).unwrap();
        let f = factory(&options(&[("rowsPerSecond", "100000")])).unwrap();
        let mut source = f.create().unwrap();
        source.start(&SourceContext { checkpoint_dir: dir.clone() }).unwrap();
        let first = source.latest_offset(None).unwrap().unwrap();
        assert_eq!(first.to_value()["value"], MAX_ROWS_PER_BATCH);
        let second = source.latest_offset(Some(&first)).unwrap().unwrap();
        assert_eq!(second.to_value()["value"], 2 * MAX_ROWS_PER_BATCH);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

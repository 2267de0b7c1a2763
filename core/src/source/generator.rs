//! The `generator` source: Ember's built-in input, an endless deterministic stream of text
//! lines (one `value: Utf8` column) that needs no server, for the README's word count, demos
//! and benchmarks.
//!
//! Each line is `wordsPerLine` lowercase words separated by single spaces, drawn from a
//! vocabulary of `vocabulary` distinct pronounceable words with a Zipf-like skew (the word of
//! rank `k` has weight `1 / (k + 1)^1.125`; shorter words rank first, as in natural text). The
//! vocabulary, the sampling table and every line are pure functions of `seed` (and line `i` of
//! `(seed, i)`): only integer arithmetic, IEEE `+ * / sqrt` and a splitmix64 generator are
//! used, so a line is the same on every run and every machine.
//!
//! The offset `{"lines":n}` counts the lines produced; a batch from `start` to `end` holds lines
//! `start..end`. The source is therefore replayable: the same offsets give the same lines, before
//! and after a restart. Lines become due at `linesPerSecond` from the time the source started
//! (counting on from the checkpoint's offset after a restart; `0`: every line is due at once),
//! and one batch ends at most `maxLinesPerTrigger` lines after its start and never beyond
//! `totalLines`, if set, after which the stream has no more data. With `Trigger::AvailableNow`,
//! which ends at the first trigger finding nothing new, set `linesPerSecond` to `0` to get all
//! `totalLines` lines.
//!
//! Options: `linesPerSecond` (default 1000), `maxLinesPerTrigger` (default 100000),
//! `wordsPerLine` (default 8), `seed` (default 42), `vocabulary` (default 1000), `totalLines`
//! (default unbounded).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};

use super::{Source, SourceContext, SourceFactory, SourceOffset};
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::{DataType, Field, Schema};

const WHAT: &str = "generator source";
const KNOWN: &[&str] =
    &["linesPerSecond", "maxLinesPerTrigger", "wordsPerLine", "seed", "vocabulary", "totalLines"];
/// The most words a line may have.
const MAX_WORDS_PER_LINE: u64 = 10_000;
/// The largest vocabulary.
const MAX_VOCABULARY: u64 = 1_000_000;
/// The most lines, and string bytes, of one record batch (Arrow `Utf8` offsets are `i32`).
const MAX_LINES_PER_RECORD_BATCH: u64 = 1 << 20;
const MAX_BYTES_PER_RECORD_BATCH: u64 = 1 << 30;
/// Bits of a sample: draws are uniform in `0..2^SAMPLE_BITS`.
const SAMPLE_BITS: u32 = 53;
/// Bits of the guide table that starts each search in the cumulative table.
const GUIDE_BITS: u32 = 12;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
const VOWELS: &[u8] = b"aeiou";

/// The splitmix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The splitmix64 generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The validated options of a generator source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Config {
    lines_per_second: u64,
    max_lines_per_trigger: u64,
    words_per_line: u64,
    seed: u64,
    vocabulary: u64,
    total_lines: Option<u64>,
}

/// `key` as an integer in `range`, or `default` when unset.
fn integer(
    options: &Options,
    key: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64> {
    let value = integer_opt(options, key, range)?;
    Ok(value.unwrap_or(default))
}

fn integer_opt(
    options: &Options,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>> {
    let Some(raw) = options.get(key) else { return Ok(None) };
    match raw.trim().parse::<u64>() {
        Ok(v) if range.contains(&v) => Ok(Some(v)),
        _ => Err(EmberError::config(format!(
            "{WHAT}: option '{key}' = '{raw}' is invalid: expected an integer {}",
            if *range.end() == u64::MAX {
                format!("of at least {}", range.start())
            } else {
                format!("between {} and {}", range.start(), range.end())
            }
        ))),
    }
}

impl Config {
    fn parse(options: &Options) -> Result<Config> {
        options.check_known(WHAT, KNOWN)?;
        Ok(Config {
            lines_per_second: integer(options, "linesPerSecond", 1000, 0..=u64::MAX)?,
            max_lines_per_trigger: integer(options, "maxLinesPerTrigger", 100_000, 1..=u64::MAX)?,
            words_per_line: integer(options, "wordsPerLine", 8, 1..=MAX_WORDS_PER_LINE)?,
            seed: integer(options, "seed", 42, 0..=u64::MAX)?,
            vocabulary: integer(options, "vocabulary", 1000, 1..=MAX_VOCABULARY)?,
            total_lines: integer_opt(options, "totalLines", 0..=u64::MAX)?,
        })
    }

    fn description(&self) -> String {
        format!("GeneratorSource[linesPerSecond={}]", self.lines_per_second)
    }
}

/// The words and the table to draw them from: everything a line needs besides its index.
struct Vocabulary {
    /// The words, most frequent first.
    words: Vec<Box<str>>,
    /// `cdf[k]`: the draws below which word `k` or a more frequent one is chosen; the last is
    /// `2^SAMPLE_BITS`.
    cdf: Vec<u64>,
    /// `guide[b]`: the first word whose `cdf` exceeds `b << (SAMPLE_BITS - GUIDE_BITS)`, and a
    /// last entry for the last word.
    guide: Vec<u32>,
    /// The expected bytes of a word and the space after it, to size buffers.
    mean_word_bytes: f64,
    /// The longest word.
    max_word_bytes: usize,
}

/// One pronounceable word: 1 to 4 consonant-vowel syllables, maybe a final consonant.
fn random_word(rng: &mut SplitMix64, out: &mut String) {
    out.clear();
    let syllables = 1 + rng.below(4);
    for _ in 0..syllables {
        out.push(CONSONANTS[rng.below(CONSONANTS.len())] as char);
        out.push(VOWELS[rng.below(VOWELS.len())] as char);
    }
    if rng.below(3) == 0 {
        out.push(CONSONANTS[rng.below(CONSONANTS.len())] as char);
    }
}

impl Vocabulary {
    fn new(seed: u64, size: usize) -> Vocabulary {
        let mut rng = SplitMix64(mix64(seed ^ 0x766f_6361_6275_6c61));
        let mut seen = HashSet::with_capacity(size);
        let mut words: Vec<Box<str>> = Vec::with_capacity(size);
        let mut word = String::new();
        while words.len() < size {
            random_word(&mut rng, &mut word);
            if seen.insert(word.clone()) {
                words.push(word.as_str().into());
            }
        }
        // Short words are the frequent ones; the sort is stable, so still a function of seed.
        words.sort_by_key(|w| w.len());

        // Weight of rank k: 1 / (k+1)^(9/8), with the eighth root from correctly rounded sqrt.
        let weights: Vec<f64> = (1..=size)
            .map(|r| {
                let r = r as f64;
                1.0 / (r * r.sqrt().sqrt().sqrt())
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let scale = (1u64 << SAMPLE_BITS) as f64;
        let mut cdf = Vec::with_capacity(size);
        let mut cumulative = 0.0;
        let mut mean_word_bytes = 0.0;
        for (w, word) in weights.iter().zip(&words) {
            cumulative += w;
            cdf.push(((cumulative / total) * scale).min(scale) as u64);
            mean_word_bytes += w / total * (word.len() + 1) as f64;
        }
        if let Some(last) = cdf.last_mut() {
            *last = 1u64 << SAMPLE_BITS;
        }
        let shift = SAMPLE_BITS - GUIDE_BITS;
        let mut guide = Vec::with_capacity((1 << GUIDE_BITS) + 1);
        let mut k = 0usize;
        for b in 0..(1u64 << GUIDE_BITS) {
            while cdf[k] <= b << shift {
                k += 1;
            }
            guide.push(k as u32);
        }
        guide.push((size - 1) as u32);
        let max_word_bytes = words.iter().map(|w| w.len()).max().unwrap_or(0);
        Vocabulary { words, cdf, guide, mean_word_bytes, max_word_bytes }
    }

    /// The word a draw `r` in `0..2^SAMPLE_BITS` picks: the first with `cdf > r`.
    fn pick(&self, r: u64) -> &str {
        let b = (r >> (SAMPLE_BITS - GUIDE_BITS)) as usize;
        let lo = self.guide[b] as usize;
        let hi = self.guide[b + 1] as usize;
        let k = lo + self.cdf[lo..=hi].partition_point(|&c| c <= r);
        &self.words[k.min(self.words.len() - 1)]
    }
}

/// Everything that decides the lines: the vocabulary and the words per line.
struct Lines {
    seed: u64,
    words_per_line: usize,
    vocabulary: Vocabulary,
}

impl Lines {
    /// Appends line `i` to `out`.
    fn write_line(&self, i: u64, out: &mut String) {
        let mut rng = SplitMix64(mix64(self.seed.wrapping_mul(0xd605_bbb5_8c8a_bd1d) ^ mix64(i)));
        for w in 0..self.words_per_line {
            if w > 0 {
                out.push(' ');
            }
            out.push_str(self.vocabulary.pick(rng.next_u64() >> (64 - SAMPLE_BITS)));
        }
    }

    /// The most lines one record batch holds, so that its strings stay far below 2 GiB.
    fn lines_per_record_batch(&self) -> u64 {
        let max_line = (self.vocabulary.max_word_bytes as u64 + 1) * self.words_per_line as u64;
        (MAX_BYTES_PER_RECORD_BATCH / max_line.max(1)).clamp(1, MAX_LINES_PER_RECORD_BATCH)
    }

    /// Lines `from..to` as one or more record batches of `schema`.
    fn batches(
        &self,
        schema: &Arc<arrow_schema::Schema>,
        from: u64,
        to: u64,
    ) -> Result<Vec<RecordBatch>> {
        let per_batch = self.lines_per_record_batch();
        let mean_line = self.vocabulary.mean_word_bytes * self.words_per_line as f64;
        let mut batches = Vec::new();
        let mut line = String::new();
        let mut chunk_start = from;
        loop {
            let chunk_end = to.min(chunk_start.saturating_add(per_batch));
            let rows = (chunk_end - chunk_start) as usize;
            let mut values =
                StringBuilder::with_capacity(rows, (rows as f64 * mean_line * 1.05) as usize + 64);
            for i in chunk_start..chunk_end {
                line.clear();
                self.write_line(i, &mut line);
                values.append_value(&line);
            }
            let columns: Vec<ArrayRef> = vec![Arc::new(values.finish())];
            batches.push(RecordBatch::try_new(schema.clone(), columns)?);
            chunk_start = chunk_end;
            if chunk_start >= to {
                return Ok(batches);
            }
        }
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Utf8, false)]))
}

/// The factory of `format("generator")`: validates the options and builds the vocabulary,
/// which its sources share.
pub(crate) fn factory(options: &Options) -> Result<Arc<dyn SourceFactory>> {
    let config = Config::parse(options)?;
    let lines = Arc::new(Lines {
        seed: config.seed,
        words_per_line: config.words_per_line as usize,
        vocabulary: Vocabulary::new(config.seed, config.vocabulary as usize),
    });
    Ok(Arc::new(GeneratorFactory { config, lines, schema: schema() }))
}

struct GeneratorFactory {
    config: Config,
    lines: Arc<Lines>,
    schema: Arc<Schema>,
}

impl SourceFactory for GeneratorFactory {
    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }
    fn description(&self) -> String {
        self.config.description()
    }
    fn create(&self) -> Result<Box<dyn Source>> {
        Ok(Box::new(GeneratorSource {
            config: self.config,
            lines: self.lines.clone(),
            arrow_schema: Arc::new(crate::row::arrow::to_arrow_schema(&self.schema)),
            schema: self.schema.clone(),
            started: None,
            origin_lines: None,
            available_now: None,
        }))
    }
}

/// One running generator source.
struct GeneratorSource {
    config: Config,
    lines: Arc<Lines>,
    schema: Arc<Schema>,
    arrow_schema: Arc<arrow_schema::Schema>,
    /// When `start()` was called: lines become due from then.
    started: Option<Instant>,
    /// The offset this run began at (the checkpoint's, after a restart).
    origin_lines: Option<u64>,
    /// Under available-now, the time after `start()` at which the query started: lines due
    /// later wait for the next run.
    available_now: Option<std::time::Duration>,
}

impl GeneratorSource {
    fn lines_of(&self, offset: &SourceOffset) -> Result<u64> {
        offset.to_value().get("lines").and_then(serde_json::Value::as_u64).ok_or_else(|| {
            EmberError::source(
                self.config.description(),
                format!("offset {} is not {{\"lines\":n}}", offset.json()),
            )
        })
    }

    /// The lines due `elapsed_ns` nanoseconds after the start, from `origin`.
    fn due(&self, origin: u64, elapsed_ns: u128) -> u64 {
        match self.config.lines_per_second {
            0 => u64::MAX,
            rate => {
                let produced = elapsed_ns * u128::from(rate) / 1_000_000_000;
                origin.saturating_add(u64::try_from(produced).unwrap_or(u64::MAX))
            }
        }
    }
}

impl Source for GeneratorSource {
    fn description(&self) -> String {
        self.config.description()
    }

    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    fn start(&mut self, _: &SourceContext) -> Result<()> {
        self.started.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn latest_offset(&mut self, start: Option<&SourceOffset>) -> Result<Option<SourceOffset>> {
        let from = start.map(|s| self.lines_of(s)).transpose()?.unwrap_or(0);
        let origin = *self.origin_lines.get_or_insert(from);
        let mut elapsed = self.started.get_or_insert_with(Instant::now).elapsed();
        if let Some(cap) = self.available_now {
            elapsed = elapsed.min(cap);
        }
        let elapsed = elapsed.as_nanos();
        let end = self
            .due(origin, elapsed)
            .min(from.saturating_add(self.config.max_lines_per_trigger))
            .min(self.config.total_lines.unwrap_or(u64::MAX))
            .max(from);
        Ok((end > 0).then(|| SourceOffset::from_value(&serde_json::json!({ "lines": end }))))
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        if self.config.lines_per_second == 0 && self.config.total_lines.is_none() {
            return Err(EmberError::source(
                self.config.description(),
                "with linesPerSecond=0 and no totalLines every line is available at once, so an \
                 available-now trigger would never end: set totalLines or a linesPerSecond",
            ));
        }
        self.available_now = Some(self.started.get_or_insert_with(Instant::now).elapsed());
        Ok(())
    }

    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>> {
        let from = start.map(|s| self.lines_of(s)).transpose()?.unwrap_or(0);
        let to = self.lines_of(end)?;
        if to < from {
            return Err(EmberError::source(
                self.config.description(),
                format!("batch end {} is before its start {from}", end.json()),
            ));
        }
        self.lines.batches(&self.arrow_schema, from, to)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use arrow_array::cast::AsArray;

    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(pairs)
    }

    fn source(pairs: &[(&str, &str)]) -> Box<dyn Source> {
        let mut source = factory(&options(pairs)).unwrap().create().unwrap();
        source.start(&SourceContext { checkpoint_dir: "unused".into() }).unwrap();
        source
    }

    fn offset(n: u64) -> SourceOffset {
        SourceOffset::from_value(&serde_json::json!({ "lines": n }))
    }

    fn text(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0).as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_owned())
            })
            .collect()
    }

    #[test]
    fn options_are_validated() {
        let err = |pairs: &[(&str, &str)]| factory(&options(pairs)).err().unwrap().to_string();
        for (key, bad) in [
            ("linesPerSecond", "-1"),
            ("maxLinesPerTrigger", "0"),
            ("wordsPerLine", "0"),
            ("wordsPerLine", "10001"),
            ("seed", "x"),
            ("vocabulary", "0"),
            ("vocabulary", "1000001"),
            ("totalLines", "1e3"),
        ] {
            let e = err(&[(key, bad)]);
            assert!(e.contains(&format!("option '{key}' = '{bad}' is invalid")), "{e}");
        }
        let e = err(&[("lines", "1")]);
        assert!(e.contains("unknown option 'lines'") && e.contains("maxLinesPerTrigger"), "{e}");
        let f = factory(&Options::new()).unwrap();
        assert_eq!(f.description(), "GeneratorSource[linesPerSecond=1000]");
        assert_eq!(f.schema().to_string(), schema().to_string());
    }

    #[test]
    fn vocabulary_is_distinct_lowercase_and_seeded() {
        let v = Vocabulary::new(42, 5000);
        assert_eq!(v.words.len(), 5000);
        assert_eq!(v.words.iter().collect::<HashSet<_>>().len(), 5000);
        assert!(v.words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())));
        assert!(v.words.windows(2).all(|p| p[0].len() <= p[1].len()));
        assert_eq!(v.words, Vocabulary::new(42, 5000).words);
        assert_ne!(v.words, Vocabulary::new(43, 5000).words);
        assert_eq!(v.pick(0), &*v.words[0]);
        assert_eq!(v.pick((1 << SAMPLE_BITS) - 1), &*v.words[4999]);
        let one = Vocabulary::new(7, 1);
        assert_eq!(one.pick(12345), &*one.words[0]);
        // Every draw lands on the first word whose cumulative bound exceeds it.
        let mut rng = SplitMix64(1);
        for _ in 0..10_000 {
            let r = rng.next_u64() >> (64 - SAMPLE_BITS);
            let k = v.cdf.partition_point(|&c| c <= r);
            assert_eq!(v.pick(r), &*v.words[k]);
        }
    }

    #[test]
    fn lines_are_pure_functions_of_seed_and_index() {
        let mut a = source(&[("linesPerSecond", "0"), ("wordsPerLine", "5")]);
        let all = text(&a.get_batch(None, &offset(300)).unwrap());
        assert_eq!(all.len(), 300);
        assert!(all.iter().all(|l| l.split(' ').count() == 5));
        let mut b = source(&[("linesPerSecond", "0"), ("wordsPerLine", "5")]);
        assert_eq!(
            text(&b.get_batch(Some(&offset(120)), &offset(121)).unwrap()),
            [all[120].clone()]
        );
        assert_eq!(text(&b.get_batch(Some(&offset(100)), &offset(300)).unwrap()), all[100..]);
        let mut c = source(&[("linesPerSecond", "0"), ("wordsPerLine", "5"), ("seed", "7")]);
        assert_ne!(text(&c.get_batch(None, &offset(300)).unwrap()), all);
        assert!(a.get_batch(Some(&offset(5)), &offset(4)).is_err());
        assert!(
            a.get_batch(None, &SourceOffset::from_value(&serde_json::json!({"value": 1}))).is_err()
        );
        assert_eq!(a.get_batch(Some(&offset(5)), &offset(5)).unwrap()[0].num_rows(), 0);
    }

    #[test]
    fn words_follow_a_zipf_like_skew() {
        let mut s = source(&[("linesPerSecond", "0")]);
        let lines = text(&s.get_batch(None, &offset(20_000)).unwrap());
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for word in lines.iter().flat_map(|l| l.split(' ')) {
            *counts.entry(word).or_default() += 1;
        }
        let vocabulary = Vocabulary::new(42, 1000);
        let first = counts[&*vocabulary.words[0]] as f64;
        let tenth = counts[&*vocabulary.words[9]] as f64;
        // Expected ratio 10^1.125 = 13.3; 160k words make it precise to a few percent.
        assert!((10.0..17.0).contains(&(first / tenth)), "{first} / {tenth}");
        assert!(counts.len() > 900, "{} distinct words", counts.len());
        assert_eq!(counts.values().sum::<u64>(), 160_000);
    }

    #[test]
    fn offsets_follow_rate_limit_and_total() {
        let mut s = source(&[
            ("linesPerSecond", "0"),
            ("maxLinesPerTrigger", "400"),
            ("totalLines", "1000"),
        ]);
        let mut ends = Vec::new();
        let mut start = None;
        while let Some(end) = s.latest_offset(start.as_ref()).unwrap() {
            if Some(&end) == start.as_ref() {
                break;
            }
            ends.push(end.to_value()["lines"].as_u64().unwrap());
            start = Some(end);
        }
        assert_eq!(ends, [400, 800, 1000]);
        let mut empty = source(&[("totalLines", "0")]);
        assert_eq!(empty.latest_offset(None).unwrap(), None);
        // Rate-limited: lines become due with time, counted on from the run's first offset.
        let mut slow = source(&[("linesPerSecond", "1000")]);
        let first = slow.latest_offset(Some(&offset(5000))).unwrap().unwrap();
        let first = first.to_value()["lines"].as_u64().unwrap();
        assert!(first >= 5000);
        std::thread::sleep(Duration::from_millis(50));
        let later = slow.latest_offset(Some(&offset(5000))).unwrap().unwrap();
        let later = later.to_value()["lines"].as_u64().unwrap();
        assert!(later >= 5040, "{later}");
        // A restart with a smaller total than the checkpoint's offset has nothing new.
        let mut capped = source(&[("linesPerSecond", "0"), ("totalLines", "10")]);
        assert_eq!(capped.latest_offset(Some(&offset(20))).unwrap(), Some(offset(20)));
    }

    #[test]
    fn a_hundred_thousand_lines_build_quickly() {
        let mut s = source(&[("linesPerSecond", "0")]);
        let t = Instant::now();
        let batches = s.get_batch(None, &offset(100_000)).unwrap();
        let took = t.elapsed();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 100_000);
        // A few ms in release; generous for a loaded machine and a test build.
        assert!(took < Duration::from_secs(5), "{took:?}");
        let long = Lines { seed: 1, words_per_line: 10_000, vocabulary: Vocabulary::new(1, 1000) };
        assert!(long.lines_per_record_batch() * 10_000 * 10 <= MAX_BYTES_PER_RECORD_BATCH);
    }
}

//! The content of `offsets/<batch>` and `commits/<batch>` files: typed entries, their encoding,
//! and their strict decoding. `docs/checkpoint-format.md` shows both files byte for byte.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{CheckpointError, CheckpointResult};
use super::text::{self, from_json, malformed, to_json};

/// Conf key of the number of state partitions S. Pinned: state files are laid out per partition.
pub const NUM_PARTITIONS_KEY: &str = "ember.stateful.numPartitions";
/// Conf key of the hash that routes a key to its state partition, e.g. `xxh3-64/seed=42`.
/// Pinned: another hash would look keys up in the wrong partition.
pub const PARTITION_HASH_KEY: &str = "ember.stateful.partitionHash";
/// Conf key of the binary row format version of state keys and values. Pinned: state files hold
/// rows in this format.
pub const ROW_FORMAT_VERSION_KEY: &str = "ember.rowFormatVersion";

/// Settings that must not change over a checkpoint's life, logged with every batch's offsets
/// (Spark's `OffsetSeqMetadata.conf`). Always holds the three keys above, validated; the engine
/// may pin more with [`PinnedConf::with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedConf {
    settings: BTreeMap<String, String>,
}

impl PinnedConf {
    /// The required settings.
    ///
    /// # Panics
    /// If `num_partitions` is 0 or `partition_hash` is empty: both are programming errors.
    pub fn new(num_partitions: u32, partition_hash: &str, row_format_version: u32) -> Self {
        assert!(num_partitions >= 1, "a stateful query needs at least one state partition");
        assert!(!partition_hash.is_empty(), "the partition hash needs a name");
        let mut settings = BTreeMap::new();
        settings.insert(NUM_PARTITIONS_KEY.to_owned(), num_partitions.to_string());
        settings.insert(PARTITION_HASH_KEY.to_owned(), partition_hash.to_owned());
        settings.insert(ROW_FORMAT_VERSION_KEY.to_owned(), row_format_version.to_string());
        PinnedConf { settings }
    }

    /// Pins one more setting.
    ///
    /// # Panics
    /// If `key` is one of the required keys, which only [`PinnedConf::new`] sets (so they stay
    /// validated).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        assert!(
            ![NUM_PARTITIONS_KEY, PARTITION_HASH_KEY, ROW_FORMAT_VERSION_KEY].contains(&&*key),
            "{key} is set by PinnedConf::new"
        );
        self.settings.insert(key, value.into());
        self
    }

    /// Validates a conf read from a log.
    pub fn from_settings(settings: BTreeMap<String, String>) -> Result<Self, String> {
        let number = |key: &str| -> Result<u32, String> {
            let v = settings.get(key).ok_or_else(|| format!("conf lacks {key}"))?;
            v.parse::<u32>()
                .ok()
                .filter(|n| n.to_string() == *v)
                .ok_or_else(|| format!("conf {key} = {v:?} is not a canonical u32"))
        };
        if number(NUM_PARTITIONS_KEY)? == 0 {
            return Err(format!("conf {NUM_PARTITIONS_KEY} is 0"));
        }
        number(ROW_FORMAT_VERSION_KEY)?;
        match settings.get(PARTITION_HASH_KEY) {
            Some(h) if !h.is_empty() => {}
            Some(_) => return Err(format!("conf {PARTITION_HASH_KEY} is empty")),
            None => return Err(format!("conf lacks {PARTITION_HASH_KEY}")),
        }
        Ok(PinnedConf { settings })
    }

    /// The number of state partitions S.
    pub fn num_partitions(&self) -> u32 {
        self.settings[NUM_PARTITIONS_KEY].parse().expect("validated")
    }

    /// The name of the partitioning hash.
    pub fn partition_hash(&self) -> &str {
        &self.settings[PARTITION_HASH_KEY]
    }

    /// The row format version of state keys and values.
    pub fn row_format_version(&self) -> u32 {
        self.settings[ROW_FORMAT_VERSION_KEY].parse().expect("validated")
    }

    /// One setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// Every setting, in key order.
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.settings
    }
}

/// One source's offset: an opaque JSON value that only its source interprets; the engine
/// compares offsets for equality only. Kept in canonical compact form, so equal offsets are equal
/// strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceOffset(String);

impl SourceOffset {
    /// From a JSON value.
    pub fn from_value(value: &serde_json::Value) -> Self {
        SourceOffset(to_json(value))
    }

    /// From JSON text, which is re-encoded compactly.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(json)?;
        Ok(Self::from_value(&value))
    }

    /// The JSON text, as logged.
    pub fn json(&self) -> &str {
        &self.0
    }

    /// The parsed JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).expect("a SourceOffset holds valid JSON")
    }
}

impl fmt::Display for SourceOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The write-ahead entry of one batch, `offsets/<batch>`: what the batch reads, logged before it
/// runs, so that a re-run reads exactly the same data (Spark's `OffsetSeq`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    /// The event-time watermark the batch runs with.
    pub batch_watermark_ms: i64,
    /// The batch's processing time; `current_timestamp()` in the batch, so a re-run sees it too.
    pub batch_timestamp_ms: i64,
    /// Settings pinned for the checkpoint's life.
    pub conf: PinnedConf,
    /// The end offset of every source, in source order; `None` for a source with no data yet.
    pub offsets: Vec<Option<SourceOffset>>,
}

/// The metadata line. `numSources` is Ember's addition to Spark's fields: with it a file cut at
/// a line boundary is still recognised as incomplete.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetadataLine {
    batch_watermark_ms: i64,
    batch_timestamp_ms: i64,
    conf: BTreeMap<String, String>,
    num_sources: usize,
}

/// How a source with no offset is logged.
const NO_OFFSET: &str = "-";

impl OffsetEntry {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let meta = MetadataLine {
            batch_watermark_ms: self.batch_watermark_ms,
            batch_timestamp_ms: self.batch_timestamp_ms,
            conf: self.conf.settings.clone(),
            num_sources: self.offsets.len(),
        };
        let mut lines = Vec::with_capacity(1 + self.offsets.len());
        lines.push(to_json(&meta));
        lines.extend(
            self.offsets.iter().map(|o| o.as_ref().map_or(NO_OFFSET, |o| o.json()).to_owned()),
        );
        text::encode(&lines)
    }

    /// Parses a file's bytes strictly; `file` names it in errors.
    pub fn decode(file: &Path, bytes: &[u8]) -> CheckpointResult<Self> {
        let lines = text::decode(file, bytes)?;
        let Some(first) = lines.first() else {
            return Err(CheckpointError::Incomplete {
                file: file.to_path_buf(),
                reason: "the metadata line is missing",
            });
        };
        let meta: MetadataLine = from_json(file, 2, first)?;
        let conf = PinnedConf::from_settings(meta.conf).map_err(|e| malformed(file, 2, e))?;
        text::expect_lines(file, &lines, meta.num_sources.saturating_add(1))?;
        let offsets = lines[1..]
            .iter()
            .enumerate()
            .map(|(i, line)| {
                if *line == NO_OFFSET {
                    return Ok(None);
                }
                let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                    malformed(file, i + 3, format!("source {i}: invalid JSON offset: {e}"))
                })?;
                let offset = SourceOffset::from_value(&value);
                if offset.json() != *line {
                    let reason = format!("source {i}: offset is not in canonical (compact) form");
                    return Err(malformed(file, i + 3, reason));
                }
                Ok(Some(offset))
            })
            .collect::<CheckpointResult<Vec<_>>>()?;
        Ok(OffsetEntry {
            batch_watermark_ms: meta.batch_watermark_ms,
            batch_timestamp_ms: meta.batch_timestamp_ms,
            conf,
            offsets,
        })
    }
}

/// The entry of a finished batch, `commits/<batch>`, written after the sink accepted the batch
/// and the state was committed (Spark's `CommitMetadata`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommitEntry {
    /// The watermark the next batch starts from.
    pub next_batch_watermark_ms: i64,
}

impl CommitEntry {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        text::encode(&[to_json(self)])
    }

    /// Parses a file's bytes strictly; `file` names it in errors.
    pub fn decode(file: &Path, bytes: &[u8]) -> CheckpointResult<Self> {
        let lines = text::decode(file, bytes)?;
        text::expect_lines(file, &lines, 1)?;
        from_json(file, 2, lines[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> OffsetEntry {
        OffsetEntry {
            batch_watermark_ms: 5,
            batch_timestamp_ms: 1_700_000_000_000,
            conf: PinnedConf::new(4, "xxh3-64/seed=42", 1),
            offsets: vec![
                Some(SourceOffset::from_json(r#"{"logOffset": 3}"#).unwrap()),
                None,
                Some(SourceOffset::from_json("17").unwrap()),
            ],
        }
    }

    #[test]
    fn offset_entry_has_the_documented_bytes() {
        let text = String::from_utf8(entry().encode()).unwrap();
        assert_eq!(
            text,
            "v1\n{\"batchWatermarkMs\":5,\"batchTimestampMs\":1700000000000,\"conf\":{\
             \"ember.rowFormatVersion\":\"1\",\"ember.stateful.numPartitions\":\"4\",\
             \"ember.stateful.partitionHash\":\"xxh3-64/seed=42\"},\"numSources\":3}\n\
             {\"logOffset\":3}\n-\n17\n"
        );
        assert_eq!(OffsetEntry::decode(Path::new("offsets/0"), text.as_bytes()).unwrap(), entry());
    }

    #[test]
    fn commit_entry_has_the_documented_bytes() {
        let e = CommitEntry { next_batch_watermark_ms: 0 };
        assert_eq!(e.encode(), b"v1\n{\"nextBatchWatermarkMs\":0}\n");
        assert_eq!(CommitEntry::decode(Path::new("commits/0"), &e.encode()).unwrap(), e);
    }

    #[test]
    fn conf_is_validated() {
        let mut s = PinnedConf::new(2, "h", 1).settings().clone();
        s.insert(NUM_PARTITIONS_KEY.into(), "02".into());
        assert!(PinnedConf::from_settings(s.clone()).is_err());
        s.insert(NUM_PARTITIONS_KEY.into(), "0".into());
        assert!(PinnedConf::from_settings(s.clone()).is_err());
        s.remove(NUM_PARTITIONS_KEY);
        assert!(PinnedConf::from_settings(s).is_err());
    }
}

//! [`StreamingQueryProgress`]: what a query reports after each batch, with Spark's field names,
//! as a struct and as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

/// Progress of one batch (Spark's `StreamingQueryProgress`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamingQueryProgress {
    /// The query id (stable across restarts).
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// The query name, if any.
    pub name: Option<String>,
    /// When the trigger started, ISO-8601 UTC.
    pub timestamp: String,
    /// The batch id.
    pub batch_id: u64,
    /// Input rows in this batch.
    pub num_input_rows: u64,
    /// Input rows per second since the previous trigger started.
    pub input_rows_per_second: f64,
    /// Input rows per second of this batch's processing time.
    pub processed_rows_per_second: f64,
    /// Milliseconds spent per phase.
    pub duration_ms: DurationMs,
    /// The stateful operators.
    pub state_operators: Vec<StateOperatorProgress>,
    /// The sources.
    pub sources: Vec<SourceProgress>,
    /// The sink.
    pub sink: SinkProgress,
}

impl StreamingQueryProgress {
    /// The progress as compact JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The progress as indented JSON (Spark's `prettyJson`).
    pub fn pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Milliseconds per phase of a batch (Spark's `durationMs` map), to the microsecond.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DurationMs {
    /// Asking the sources for their latest offsets.
    pub latest_offset: f64,
    /// Reading the batch's data from the sources.
    pub get_batch: f64,
    /// Planning the batch.
    pub query_planning: f64,
    /// Writing the offsets to the write-ahead log.
    pub wal_commit: f64,
    /// Running the plan and handing the output to the sink.
    pub add_batch: f64,
    /// Committing state and writing the commit log.
    pub commit_offsets: f64,
    /// The whole trigger.
    pub trigger_execution: f64,
}

/// One stateful operator's figures (Spark's `StateOperatorProgress`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StateOperatorProgress {
    /// The operator's name.
    pub operator_name: String,
    /// Keys in state.
    pub num_rows_total: u64,
    /// Keys this batch updated.
    pub num_rows_updated: u64,
    /// Bytes of state keys and values.
    pub memory_used_bytes: u64,
    /// State partitions.
    pub num_shuffle_partitions: u64,
    /// Further figures.
    pub custom_metrics: BTreeMap<String, u64>,
}

/// One source's figures (Spark's `SourceProgress`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceProgress {
    /// The source's description.
    pub description: String,
    /// Offset the batch started after (JSON), if any.
    pub start_offset: Option<serde_json::Value>,
    /// Offset the batch ended at (JSON).
    pub end_offset: Option<serde_json::Value>,
    /// Rows it read.
    pub num_input_rows: u64,
    /// As in the query's progress.
    pub input_rows_per_second: f64,
    /// As in the query's progress.
    pub processed_rows_per_second: f64,
}

/// The sink's figures (Spark's `SinkProgress`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SinkProgress {
    /// The sink's description.
    pub description: String,
    /// Rows written this batch.
    pub num_output_rows: u64,
}

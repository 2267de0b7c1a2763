//! [`Session`]: the entry point (Spark's `SparkSession`): the worker pool every query's batches
//! run on, the session's settings, its in-memory tables and its active queries.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{EmberError, Result};
use crate::reader::DataStreamReader;
use crate::sink::{MemoryTable, MemoryTables};
use crate::streaming::StreamingQueryManager;

/// The setting that fixes the number of state partitions of new checkpoints (Spark's name).
pub const SHUFFLE_PARTITIONS: &str = "spark.sql.shuffle.partitions";
/// The setting of a default checkpoint root; a query's checkpoint is `<root>/<query name>`.
pub const CHECKPOINT_LOCATION: &str = "spark.sql.streaming.checkpointLocation";

/// Builds a [`Session`].
#[derive(Debug, Clone, Default)]
pub struct SessionBuilder {
    master: Option<String>,
    app_name: Option<String>,
    config: BTreeMap<String, String>,
}

impl SessionBuilder {
    /// `local` (one thread), `local[N]` or `local[*]` (every core).
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = Some(master.into());
        self
    }

    /// The application's name, shown in logs.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// A session setting, e.g. [`SHUFFLE_PARTITIONS`].
    pub fn config(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.config.insert(key.into(), value.to_string());
        self
    }

    /// The session; fails for a malformed master or setting.
    pub fn get_or_create(self) -> Result<Session> {
        let master = self.master.unwrap_or_else(|| "local[*]".to_owned());
        let threads = parse_master(&master)?;
        let shuffle_partitions = match self.config.get(SHUFFLE_PARTITIONS) {
            None => threads,
            Some(v) => v.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                EmberError::config(format!(
                    "{SHUFFLE_PARTITIONS} = '{v}' is invalid: expected a positive integer"
                ))
            })?,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ember-worker-{i}"))
            .build()
            .map_err(|e| {
                EmberError::config(format!("cannot start {threads} worker threads: {e}"))
            })?;
        Ok(Session {
            inner: Arc::new(SessionInner {
                app_name: self.app_name.unwrap_or_else(|| "ember".to_owned()),
                master,
                threads,
                shuffle_partitions,
                config: self.config,
                pool: Arc::new(pool),
                tables: MemoryTables::default(),
                streams: StreamingQueryManager::default(),
            }),
        })
    }
}

/// The number of worker threads `master` asks for.
pub fn parse_master(master: &str) -> Result<usize> {
    let bad = || {
        EmberError::config(format!(
            "invalid master '{master}': expected local, local[N] with N >= 1, or local[*]"
        ))
    };
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    match master.trim() {
        "local" => Ok(1),
        m => {
            let inner =
                m.strip_prefix("local[").and_then(|r| r.strip_suffix(']')).ok_or_else(bad)?;
            if inner == "*" {
                Ok(cores())
            } else {
                inner.parse::<usize>().ok().filter(|&n| n >= 1).ok_or_else(bad)
            }
        }
    }
}

struct SessionInner {
    app_name: String,
    master: String,
    threads: usize,
    shuffle_partitions: usize,
    config: BTreeMap<String, String>,
    pool: Arc<rayon::ThreadPool>,
    tables: MemoryTables,
    streams: StreamingQueryManager,
}

/// An Ember session. Clones share everything.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("app_name", &self.inner.app_name)
            .field("master", &self.inner.master)
            .field("threads", &self.inner.threads)
            .finish()
    }
}

impl Session {
    /// A builder.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// Reads a stream: `read_stream().format("socket").option("port", 9999).load()`.
    pub fn read_stream(&self) -> DataStreamReader {
        DataStreamReader::new(self.clone())
    }

    /// The active queries.
    pub fn streams(&self) -> &StreamingQueryManager {
        &self.inner.streams
    }

    /// The in-memory table a `memory` sink writes under the query name `name`.
    pub fn table(&self, name: &str) -> Option<MemoryTable> {
        self.inner.tables.get(name)
    }

    /// The application's name.
    pub fn app_name(&self) -> &str {
        &self.inner.app_name
    }

    /// Worker threads of the pool.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// State partitions of new checkpoints ([`SHUFFLE_PARTITIONS`]; default: the thread count).
    pub fn shuffle_partitions(&self) -> usize {
        self.inner.shuffle_partitions
    }

    /// A session setting.
    pub fn conf(&self, key: &str) -> Option<&str> {
        self.inner.config.get(key).map(String::as_str)
    }

    pub(crate) fn pool(&self) -> &Arc<rayon::ThreadPool> {
        &self.inner.pool
    }

    pub(crate) fn tables(&self) -> &MemoryTables {
        &self.inner.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_parse_as_spark_reads_them() {
        assert_eq!(parse_master("local").unwrap(), 1);
        assert_eq!(parse_master("local[3]").unwrap(), 3);
        assert!(parse_master("local[*]").unwrap() >= 1);
        for bad in ["local[0]", "local[x]", "yarn", "local[2", ""] {
            let e = parse_master(bad).unwrap_err().to_string();
            assert!(e.contains("invalid master"), "{bad}: {e}");
        }
    }
}

//! Tuning knobs of a state store directory.

use std::fmt;
use std::sync::Arc;

use crate::atomic::WriteHook;
use crate::error::{Result, StateError};
use crate::snapshot::{MAX_BLOCK, MIN_BLOCK};

/// Configuration of a [`StateStoreProvider`](crate::StateStoreProvider).
#[derive(Clone)]
pub struct StoreConfig {
    /// Maintenance writes a snapshot once this many deltas have accumulated since the newest
    /// snapshot (Spark's `minDeltasForSnapshot`, whose default is 10). At least 1.
    pub snapshot_interval: u64,
    /// Maintenance keeps at least this many of the most recent versions loadable (Spark's
    /// `minBatchesToRetain`, default 100). At least 1.
    pub min_versions_to_retain: u64,
    /// Size of a snapshot checksum block, a power of two from 64 bytes to 16 MiB. Readers verify
    /// one block the first time they touch it; the default is the page size.
    pub snapshot_block_size: u32,
    /// Run maintenance on a background thread after commits. Without it, call
    /// [`StateStoreProvider::do_maintenance`](crate::StateStoreProvider::do_maintenance).
    pub background_maintenance: bool,
    /// Observer of every write step, for fault injection in tests.
    pub write_hook: Option<Arc<dyn WriteHook>>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            snapshot_interval: 10,
            min_versions_to_retain: 100,
            snapshot_block_size: 4096,
            background_maintenance: true,
            write_hook: None,
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("snapshot_interval", &self.snapshot_interval)
            .field("min_versions_to_retain", &self.min_versions_to_retain)
            .field("snapshot_block_size", &self.snapshot_block_size)
            .field("background_maintenance", &self.background_maintenance)
            .field("write_hook", &self.write_hook.is_some())
            .finish()
    }
}

impl StoreConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(StateError::InvalidArgument(m.to_string()));
        if self.snapshot_interval == 0 {
            return bad("snapshot_interval must be at least 1");
        }
        if self.min_versions_to_retain == 0 {
            return bad("min_versions_to_retain must be at least 1");
        }
        let b = self.snapshot_block_size;
        if !b.is_power_of_two() || !(MIN_BLOCK..=MAX_BLOCK).contains(&b) {
            return bad("snapshot_block_size must be a power of two from 64 to 16 MiB");
        }
        Ok(())
    }
}

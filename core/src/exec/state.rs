//! [`StateStores`]: a query's open state store providers, one per (stateful operator,
//! partition), kept for the query's life so a batch never reloads what the last one committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ember_state::{StateStore, StateStoreProvider, StoreConfig};
use rayon::prelude::*;

use super::StateOperatorSpec;
use crate::error::Result;

/// The state store providers of one query.
pub(crate) struct StateStores {
    /// Unique in the process: what operators' in-memory copies of state are tied to.
    id: u64,
    root: PathBuf,
    num_partitions: usize,
    providers: BTreeMap<u64, Vec<StateStoreProvider>>,
    /// Per (operator, partition): live keys and their bytes, once known.
    totals: Mutex<BTreeMap<(u64, usize), (u64, u64)>>,
}

impl StateStores {
    /// Opens every partition of every operator in `specs` under `root` (`<checkpoint>/state`).
    ///
    /// The partitions open in parallel on `pool`: a fresh checkpoint creates and fsyncs a
    /// directory for each, and those fsyncs need not wait for each other.
    pub(crate) fn open(
        root: &Path,
        num_partitions: usize,
        specs: &[StateOperatorSpec],
        pool: &rayon::ThreadPool,
    ) -> Result<StateStores> {
        let mut providers = BTreeMap::new();
        for spec in specs {
            let parts = pool.install(|| {
                (0..num_partitions)
                    .into_par_iter()
                    .map(|p| {
                        StateStoreProvider::open_partition(
                            root,
                            spec.operator_id,
                            p as u32,
                            spec.fingerprint,
                            StoreConfig::default(),
                        )
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
            })?;
            providers.insert(spec.operator_id, parts);
        }
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(StateStores {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root: root.to_path_buf(),
            num_partitions,
            providers,
            totals: Mutex::new(BTreeMap::new()),
        })
    }

    /// This set of stores' id, unique in the process (a restarted query opens a new set).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of state partitions (pinned in the checkpoint).
    pub(crate) fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    /// The provider of `operator`'s `partition`.
    pub(crate) fn provider(&self, operator: u64, partition: usize) -> &StateStoreProvider {
        &self.providers.get(&operator).unwrap_or_else(|| {
            panic!("state operator {operator} was not opened under {}", self.root.display())
        })[partition]
    }

    /// Deletes every version after `version` in every store: a crashed run may have committed
    /// the state of the batch that re-runs now.
    pub(crate) fn discard_after(&self, version: u64) -> Result<()> {
        for parts in self.providers.values() {
            for provider in parts {
                provider.discard_after(version)?;
            }
        }
        Ok(())
    }

    /// The first maintenance error any store's background thread hit, if one did.
    pub(crate) fn take_maintenance_error(&self) -> Option<ember_state::StateError> {
        self.providers.values().flatten().find_map(StateStoreProvider::take_maintenance_error)
    }

    /// Adds a batch's new keys to a partition's totals and returns them; the first time, counts
    /// `store` (which already holds the batch's updates) instead.
    pub(crate) fn add_totals(
        &self,
        operator: u64,
        partition: usize,
        store: &StateStore,
        added_rows: u64,
        added_bytes: u64,
    ) -> Result<(u64, u64)> {
        let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match totals.get_mut(&(operator, partition)) {
            Some(t) => {
                t.0 += added_rows;
                t.1 += added_bytes;
                *t
            }
            None => {
                let mut counted = (0u64, 0u64);
                for entry in store.iter() {
                    let (k, v) = entry?;
                    counted.0 += 1;
                    counted.1 += (k.len() + v.len()) as u64;
                }
                totals.insert((operator, partition), counted);
                counted
            }
        };
        Ok(entry)
    }
}

//! [`StateStoreProvider`]: owns one (operator, partition) directory, opens stores at a version,
//! keeps the latest version in memory so the next batch opens it without reading files, runs
//! the commit path, and drives maintenance.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use crate::atomic::{self, WriteHook};
use crate::config::StoreConfig;
use crate::error::{Result, StateError};
use crate::files;
use crate::format::{FileKind, file_path};
use crate::layer::Layer;
use crate::loaded::Loaded;
use crate::maintenance::{self, MaintenanceReport, Worker};
use crate::store::StateStore;

/// State shared by a provider, its stores and its maintenance thread.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) fingerprint: u64,
    pub(crate) config: StoreConfig,
    /// The latest version loaded or committed.
    pub(crate) cache: Mutex<Option<Arc<Loaded>>>,
    /// Serialises maintenance with [`StateStoreProvider::discard_after`].
    pub(crate) maintenance_lock: Mutex<()>,
    pub(crate) maintenance_error: Mutex<Option<StateError>>,
    pub(crate) notify: Mutex<Option<mpsc::Sender<maintenance::Msg>>>,
    /// The records' length and the number of keys of the last delta committed: what the next
    /// store reserves.
    pub(crate) last_delta_len: AtomicUsize,
    pub(crate) last_updates: AtomicUsize,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves its data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn hook(&self) -> Option<&dyn WriteHook> {
        self.config.write_hook.as_deref()
    }

    /// The in-memory state of `version`, from the cache or from the files.
    pub(crate) fn loaded(&self, version: u64) -> Result<Arc<Loaded>> {
        let cached = lock(&self.cache).clone();
        if let Some(c) = &cached
            && c.version == version
        {
            return Ok(c.clone());
        }
        if version == 0 {
            return Ok(Arc::new(Loaded::empty()));
        }
        let listing = files::list(&self.dir)?;
        let loaded = Arc::new(Loaded::build(
            &self.dir,
            self.fingerprint,
            &listing,
            version,
            cached.as_ref(),
        )?);
        let mut cache = lock(&self.cache);
        if cache.as_ref().is_none_or(|c| c.version <= version) {
            *cache = Some(loaded.clone());
        }
        Ok(loaded)
    }
}

/// Opens and caches the versions of one state store directory.
///
/// Dropping the provider stops its maintenance thread (waiting for a running pass to finish).
pub struct StateStoreProvider {
    shared: Arc<Shared>,
    worker: Option<Worker>,
}

impl std::fmt::Debug for StateStoreProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStoreProvider")
            .field("dir", &self.shared.dir)
            .field("fingerprint", &self.shared.fingerprint)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl StateStoreProvider {
    /// Opens (creating it if needed) the store directory `dir`. Every file read or written
    /// carries `schema_fingerprint`; files with another one are refused.
    pub fn open(
        dir: impl Into<PathBuf>,
        schema_fingerprint: u64,
        config: StoreConfig,
    ) -> Result<StateStoreProvider> {
        config.validate()?;
        let dir = dir.into();
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| StateError::io(&dir, e))?;
            if let Some(parent) = dir.parent() {
                atomic::sync_dir(parent)?;
            }
        }
        files::sweep_dead_temps(&dir)?;
        let background = config.background_maintenance;
        let shared = Arc::new(Shared {
            dir,
            fingerprint: schema_fingerprint,
            config,
            cache: Mutex::new(None),
            maintenance_lock: Mutex::new(()),
            maintenance_error: Mutex::new(None),
            notify: Mutex::new(None),
            last_delta_len: AtomicUsize::new(0),
            last_updates: AtomicUsize::new(0),
        });
        let worker = if background { Some(Worker::start(shared.clone())?) } else { None };
        Ok(StateStoreProvider { shared, worker })
    }

    /// Opens the store of `operator`'s `partition` under a checkpoint's state root, in
    /// `<state_root>/<operator>/<partition>`, Spark's layout.
    pub fn open_partition(
        state_root: &Path,
        operator: u64,
        partition: u32,
        schema_fingerprint: u64,
        config: StoreConfig,
    ) -> Result<StateStoreProvider> {
        let dir = state_root.join(operator.to_string()).join(partition.to_string());
        Self::open(dir, schema_fingerprint, config)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Opens version `version` for a batch: reads nothing when it is the version last loaded or
    /// committed through this provider; otherwise maps the newest snapshot at or below it and
    /// replays the deltas after that snapshot. Version 0 is the empty state.
    pub fn load(&self, version: u64) -> Result<StateStore> {
        // Sized as the last commit was: the next batch usually updates about as much.
        let records = self.shared.last_delta_len.load(Ordering::Relaxed);
        let updates = self.shared.last_updates.load(Ordering::Relaxed);
        Ok(StateStore {
            shared: self.shared.clone(),
            base: self.shared.loaded(version)?,
            writes: Layer::with_capacity(updates, records),
        })
    }

    /// The newest version that has a file in the directory, 0 when there is none.
    pub fn latest_version(&self) -> Result<u64> {
        Ok(files::list(&self.shared.dir)?.latest())
    }

    /// Writes a snapshot if one is due and deletes files no longer needed to load the retained
    /// versions. Runs on the calling thread; the background thread calls the same.
    pub fn do_maintenance(&self) -> Result<MaintenanceReport> {
        maintenance::run(&self.shared)
    }

    /// Deletes every file of versions newer than `version`, so that the batch that opens
    /// `version` can commit `version + 1` again. An engine calls this on recovery, when its
    /// commit log says `version` is the last committed one and a crash left files of a batch
    /// whose commit was never recorded. Returns how many files were deleted.
    pub fn discard_after(&self, version: u64) -> Result<usize> {
        let _guard = lock(&self.shared.maintenance_lock);
        {
            let mut cache = lock(&self.shared.cache);
            if cache.as_ref().is_some_and(|c| c.version > version) {
                *cache = None;
            }
        }
        let listing = files::list(&self.shared.dir)?;
        let mut doomed: Vec<_> = listing
            .deltas
            .range(version + 1..)
            .map(|&v| (v, FileKind::Delta))
            .chain(listing.snapshots.range(version + 1..).map(|&v| (v, FileKind::Snapshot)))
            .collect();
        // Newest first: a crash part-way leaves a directory that still loads every version kept.
        doomed.sort_by(|a, b| b.cmp(a));
        for (v, kind) in &doomed {
            atomic::remove(&file_path(&self.shared.dir, *kind, *v), self.shared.hook())?;
        }
        if !doomed.is_empty() {
            atomic::sync_dir(&self.shared.dir)?;
        }
        Ok(doomed.len())
    }

    /// The error of the last failed background maintenance pass, if any, clearing it.
    /// Maintenance failures never affect commits; they are reported here.
    pub fn take_maintenance_error(&self) -> Option<StateError> {
        lock(&self.shared.maintenance_error).take()
    }

    /// Stops maintenance and releases the cached version; returns the last maintenance error.
    pub fn close(mut self) -> Result<()> {
        if let Some(w) = self.worker.take() {
            w.stop();
        }
        *lock(&self.shared.cache) = None;
        match self.take_maintenance_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for StateStoreProvider {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.stop();
        }
    }
}

/// The commit path: publish the delta, then push the updates as a layer on the opened version
/// and make the result the cached version.
pub(crate) fn commit(store: StateStore) -> Result<u64> {
    let StateStore { shared, base, writes } = store;
    let version = base.version + 1;
    shared.last_delta_len.store(writes.records_len(), Ordering::Relaxed);
    shared.last_updates.store(writes.len(), Ordering::Relaxed);
    let path = file_path(&shared.dir, FileKind::Delta, version);
    atomic::publish(&path, shared.hook(), |w, temp| {
        writes.write_delta(w, temp, shared.fingerprint, version)
    })?;
    let next = base.push(writes);
    {
        let mut cache = lock(&shared.cache);
        if cache.as_ref().is_none_or(|c| c.version <= version) {
            *cache = Some(Arc::new(next));
        }
    }
    if let Some(tx) = lock(&shared.notify).as_ref() {
        let _ = tx.send(maintenance::Msg::Committed);
    }
    Ok(version)
}

//! [`StateStore`]: one open version of one (operator, partition), read and updated by one batch,
//! then committed as the next version or aborted.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::error::Result;
use crate::layer::{KeyHasher, Layer};
use crate::loaded::Loaded;
use crate::provider::Shared;

/// The state of one version, open for a batch's reads and updates. Batch `b` opens version `b`
/// and [`commit`](StateStore::commit)s version `b + 1`. Updates are held in memory, as a change
/// layer that is also the delta file's records, until commit.
pub struct StateStore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) base: Arc<Loaded>,
    pub(crate) writes: Layer,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.shared.dir)
            .field("version", &self.base.version)
            .field("updates", &self.writes.len())
            .finish()
    }
}

impl StateStore {
    /// The version this store was opened at.
    pub fn version(&self) -> u64 {
        self.base.version
    }

    /// The value of `key`, or `None` when it has none. Fails, naming the file, when the bytes it
    /// would return come from a damaged part of a snapshot.
    pub fn get(&self, key: &[u8]) -> Result<Option<&[u8]>> {
        match self.writes.get(key) {
            Some(v) => Ok(v),
            None => self.base.get(key),
        }
    }

    /// Sets the value of `key`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.writes.put(key, value);
    }

    /// Sets many values at once: the update table grows once for the whole batch.
    pub fn put_batch<'a, I>(&mut self, entries: I)
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let entries = entries.into_iter();
        self.writes.reserve(entries.size_hint().0);
        for (k, v) in entries {
            self.writes.put(k, v);
        }
    }

    /// Removes `key` (a no-op in effect if it has no value).
    pub fn remove(&mut self, key: &[u8]) {
        self.writes.remove(key, false);
    }

    /// Number of keys put or removed since the store was opened.
    pub fn num_updates(&self) -> usize {
        self.writes.len()
    }

    /// Every live entry, in no particular order. Items are errors when a snapshot part they
    /// come from is damaged; iteration stops after the first error.
    ///
    /// The change layers are read newest first, each key counting where it first appears, so
    /// the cost is one set lookup per layer entry however many layers cover a key.
    pub fn iter(&self) -> Iter<'_> {
        let base = &*self.base;
        let layers = std::iter::once(&self.writes).chain(base.layers.iter().rev().map(|l| &l.map));
        let entries: usize = layers.clone().map(|l| l.len()).sum();
        let mut seen: HashSet<&[u8], BuildHasherDefault<KeyHasher>> =
            HashSet::with_capacity_and_hasher(entries, Default::default());
        let mut live = Vec::with_capacity(self.writes.len());
        for layer in layers {
            for (k, v) in layer.iter() {
                if seen.insert(k)
                    && let Some(v) = v
                {
                    live.push(Ok((k, v)));
                }
            }
        }
        let snap = base.snapshot_iter().into_iter().flatten().filter(move |e| match e {
            Ok((k, _)) => !seen.contains(k),
            Err(_) => true,
        });
        Iter(Box::new(live.into_iter().chain(snap)))
    }

    /// Writes this store's updates as version `version() + 1`, durably, and returns that version.
    /// Fails with [`StateError::AlreadyExists`](crate::StateError::AlreadyExists) if that version
    /// was already committed; nothing is overwritten.
    pub fn commit(self) -> Result<u64> {
        crate::provider::commit(self)
    }

    /// Drops this store's updates; nothing is written.
    pub fn abort(self) {}
}

/// One live entry, `(key, value)`.
pub type Entry<'a> = (&'a [u8], &'a [u8]);

/// Iterator over a [`StateStore`]'s live entries.
pub struct Iter<'a>(Box<dyn Iterator<Item = Result<Entry<'a>>> + 'a>);

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

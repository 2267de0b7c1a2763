//! A change layer in memory: puts and removes over whatever lies below (older layers, a
//! snapshot, or the empty state).
//!
//! A layer keeps its changes as delta-file records (`delta.rs`: key length, value tag, key,
//! value) in one buffer, and indexes each key's newest record by the key's XXH3 hash. A store's
//! open layer is therefore its delta file's body as it stands: a commit writes the buffer as it
//! is, and the layer, unchanged, becomes the committed version's top layer. An update costs one
//! append (or an overwrite in place) and no allocation of its own; a layer is freed as one
//! buffer and one table, however many keys it holds.

use std::fmt;
use std::io::Write;
use std::path::Path;

use hashbrown::HashTable;

use crate::delta::{self, MAX_LEN};
use crate::error::{Result, StateError};

/// Hasher for byte keys in the store's other hash maps: XXH3 over the bytes, chained through
/// the length prefix `Hash` adds.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The hash a layer indexes `key` by.
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

/// Where a key's newest record is: its key bytes at `buf[key_at..key_at + key_len]`, followed
/// by `tag - 1` value bytes (tag 0: a remove). The hash is kept so the table grows, and a
/// snapshot merges layers, without hashing any key again.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    key_at: usize,
    key_len: u32,
    tag: u32,
}

impl Slot {
    #[inline]
    fn key<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.key_at..self.key_at + self.key_len as usize]
    }

    /// `Some(value)` for a put, `None` for a remove.
    #[inline]
    fn value<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        let at = self.key_at + self.key_len as usize;
        (self.tag > 0).then(|| &buf[at..at + (self.tag - 1) as usize])
    }
}

/// Puts and removes keyed by the key bytes: `Some(value)` is a put, `None` a remove (a
/// tombstone over what lies below).
#[derive(Default)]
pub(crate) struct Layer {
    /// Delta records, oldest first; a key put again with a value of the same length is
    /// overwritten in place, any other update of it appended.
    buf: Vec<u8>,
    /// Records in `buf`.
    records: u64,
    /// Each key's newest record.
    index: HashTable<Slot>,
    /// The sizes of the first key and value too long for a record: writing the layer fails.
    oversized: Option<(usize, usize)>,
}

impl Layer {
    /// An empty layer with room for about `keys` keys and `bytes` bytes of records.
    pub(crate) fn with_capacity(keys: usize, bytes: usize) -> Layer {
        Layer {
            buf: Vec::with_capacity(bytes),
            records: 0,
            index: HashTable::with_capacity(keys),
            oversized: None,
        }
    }

    /// Number of keys put or removed.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Bytes of the records, superseded ones included: the size of the delta file's body.
    pub(crate) fn records_len(&self) -> usize {
        self.buf.len()
    }

    /// Makes room for `keys` more keys.
    pub(crate) fn reserve(&mut self, keys: usize) {
        self.index.reserve(keys, |s| s.hash);
    }

    /// The newest change of `key`: `Some(Some(v))` a put, `Some(None)` a remove.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        let hash = key_hash(key);
        let buf = &self.buf;
        self.index.find(hash, |s| s.hash == hash && s.key(buf) == key).map(|s| s.value(buf))
    }

    /// Records a put.
    #[inline]
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) {
        self.update(key, Some(value), false);
    }

    /// Records a remove. Over an empty base nothing can be shadowed, so the key simply goes;
    /// its tombstone record is appended all the same, so that the records replay to this
    /// layer.
    pub(crate) fn remove(&mut self, key: &[u8], base_is_empty: bool) {
        self.update(key, None, base_is_empty);
    }

    #[inline]
    fn update(&mut self, key: &[u8], value: Option<&[u8]>, drop_key: bool) {
        let value_len = value.map_or(0, <[u8]>::len);
        if key.len() >= MAX_LEN as usize || value_len >= MAX_LEN as usize {
            self.oversized.get_or_insert((key.len(), value_len));
            return;
        }
        let tag = value.map_or(0, |v| v.len() as u32 + 1);
        let hash = key_hash(key);
        let buf = &self.buf;
        let found = self.index.find_entry(hash, |s| s.hash == hash && s.key(buf) == key);
        let (buf, records) = (&mut self.buf, &mut self.records);
        match found {
            Ok(entry) if drop_key => {
                entry.remove();
                append(buf, records, key, value);
            }
            Ok(mut entry) => {
                let slot = entry.get_mut();
                match value {
                    Some(v) if slot.tag == tag => {
                        let at = slot.key_at + slot.key_len as usize;
                        buf[at..at + v.len()].copy_from_slice(v);
                    }
                    _ => {
                        slot.key_at = append(buf, records, key, value);
                        slot.tag = tag;
                    }
                }
            }
            Err(_) if drop_key => {
                append(buf, records, key, value);
            }
            Err(absent) => {
                let key_at = append(buf, records, key, value);
                let slot = Slot { hash, key_at, key_len: key.len() as u32, tag };
                absent.into_table().insert_unique(hash, slot, |s| s.hash);
            }
        }
    }

    /// Every key's newest change, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.iter_hashed().map(|(_, k, v)| (k, v))
    }

    /// [`iter`](Self::iter) with each key's hash ([`key_hash`]).
    pub(crate) fn iter_hashed(&self) -> impl Iterator<Item = (u64, &[u8], Option<&[u8]>)> + '_ {
        let buf = &self.buf;
        self.index.iter().map(move |s| (s.hash, s.key(buf), s.value(buf)))
    }

    /// Writes the layer as the delta file of `version`: header, records, footer. Fails if a
    /// key or value did not fit a record; I/O errors name `path`, the file being written.
    pub(crate) fn write_delta(
        &self,
        w: &mut dyn Write,
        path: &Path,
        fingerprint: u64,
        version: u64,
    ) -> Result<()> {
        if let Some((key, value)) = self.oversized {
            return Err(StateError::InvalidArgument(format!(
                "key of {key} bytes or value of {value} bytes exceeds the 4 GiB record limit"
            )));
        }
        delta::write_file(w, fingerprint, version, self.records, &self.buf)
            .map_err(|e| StateError::io(path, e))
    }
}

/// Appends the record of an update to `buf`, counting it; returns where its key starts.
#[inline]
fn append(buf: &mut Vec<u8>, records: &mut u64, key: &[u8], value: Option<&[u8]>) -> usize {
    *records += 1;
    delta::push_record(buf, key, value)
}

impl PartialEq for Layer {
    /// The same changes, however their records lie.
    fn eq(&self, other: &Layer) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// A layer reads as a map given the same puts and removes does, whether keys are
        /// overwritten in place or appended again.
        #[test]
        fn a_layer_reads_as_a_map(
            ops in prop::collection::vec(
                (0u8..12, prop::option::of(prop::collection::vec(any::<u8>(), 0..4)), any::<bool>()),
                0..80,
            )
        ) {
            let mut layer = Layer::default();
            let mut model: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
            for (k, v, empty_base) in &ops {
                let key = vec![*k; usize::from(*k % 4)];
                match v {
                    Some(v) => {
                        layer.put(&key, v);
                        model.insert(key, Some(v.clone()));
                    }
                    None => {
                        layer.remove(&key, *empty_base);
                        if *empty_base {
                            model.remove(&key);
                        } else {
                            model.insert(key, None);
                        }
                    }
                }
            }
            prop_assert_eq!(layer.len(), model.len());
            for (k, v) in &model {
                prop_assert_eq!(layer.get(k), Some(v.as_deref()));
            }
            prop_assert_eq!(layer.iter().count(), model.len());
            prop_assert_eq!(layer.get(b"absent key"), None);
        }
    }
}

//! A change layer in memory: puts and removes over whatever lies below (older layers, a
//! snapshot, or the empty state), keyed by the key bytes, hashed with XXH3.

use std::hash::{BuildHasherDefault, Hasher};

use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

/// Hasher for byte keys: XXH3 over the bytes, chained through the length prefix `Hash` adds.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
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

/// `Some(value)` is a put, `None` a remove (a tombstone over the snapshot below).
pub(crate) type Layer = HashMap<Box<[u8]>, Option<Box<[u8]>>, BuildHasherDefault<KeyHasher>>;

/// Records a put, reusing the old value's allocation when the length matches. The key is
/// hashed and looked up once, and copied only if it is new.
pub(crate) fn put(layer: &mut Layer, key: &[u8], value: &[u8]) {
    match layer.entry_ref(key) {
        EntryRef::Occupied(mut entry) => match entry.get_mut() {
            Some(old) if old.len() == value.len() => old.copy_from_slice(value),
            slot => *slot = Some(value.into()),
        },
        EntryRef::Vacant(entry) => {
            entry.insert_with_key(key.into(), Some(value.into()));
        }
    }
}

/// Records a remove. Over an empty base nothing can be shadowed, so the entry simply goes.
pub(crate) fn remove(layer: &mut Layer, key: &[u8], base_is_empty: bool) {
    if base_is_empty {
        layer.remove(key);
    } else {
        match layer.get_mut(key) {
            Some(slot) => *slot = None,
            None => {
                layer.insert(key.into(), None);
            }
        }
    }
}

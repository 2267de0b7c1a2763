//! [`CompactTable`]: pre-aggregation groups for the commonest key row, one non-null string of
//! up to 16 bytes, in groups of 32 bytes for `count()` (40 with another 8-byte buffer) instead
//! of the general table's 64.
//!
//! Such a row is `[0][slot(16, n)][n bytes, zero-padded to 8]`: its null word is zero, its one
//! slot points at offset 16 with a length n of at most 16, and the row is 16 + round8(n)
//! bytes long. Given that shape, n and the two data words determine the row, so a group keeps
//! those three, its buffer and the row's position in the arena, and a probe compares the
//! group without reading the arena. The probe is bound by memory latency, and groups of 40
//! bytes rather than 64 keep more of the table in cache (word count: about 3.5% less time a
//! batch, measured). The shape is checked on the row's bytes, whatever the key type; a row of
//! another shape goes to the general table, and as a key's row always has one shape, each key
//! lives in exactly one of the two tables. A key type that knows its row has this shape
//! ([`RowField::short_string_key`](crate::row::RowField::short_string_key), as [`Str`] does)
//! gives the words directly: no row is written to probe, and the pinned hash is computed from
//! the words ([`hash_short_var_row`]).
//!
//! [`Str`]: crate::Str

use hashbrown::HashTable;

use super::aggregate::{HEAD_WORDS, head_of};
use crate::row::{Row, RowArena, hash_row, hash_short_var_row, pack_slot};

/// A key row of the compact shape, as its data words and field length.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct CompactKey {
    data: [u64; 2],
    len: u32,
}

impl CompactKey {
    /// The compact form of a string of `len` bytes (at most 16) whose zero-padded bytes are the
    /// little-endian words `data`, as [`RowField::short_string_key`](crate::row::RowField)
    /// gives it.
    #[inline]
    pub(super) fn new(data: [u64; 2], len: usize) -> CompactKey {
        debug_assert!(len <= 16);
        CompactKey { data, len: len as u32 }
    }

    /// The pinned hash of the key's row, without writing the row.
    #[inline]
    pub(super) fn hash(&self) -> u64 {
        match self.len {
            // The empty string's row: a zero null word and its slot, 16 bytes on the stack.
            0 => hash_row(&(u128::from(pack_slot(16, 0)) << 64).to_le_bytes()),
            len => hash_short_var_row(self.data, len as usize),
        }
    }

    /// The compact form of the key row `row`, whose head (`head_of`) is `head`; `None` if the
    /// row has another shape.
    #[inline]
    pub(super) fn of(row: &[u8], head: &[u64; HEAD_WORDS]) -> Option<CompactKey> {
        // The slot word is `pack_slot(16, len)` with `len <= 16` exactly when it is at most 16
        // past `pack_slot(16, 0)`: one comparison.
        let len = head[1].wrapping_sub(pack_slot(16, 0));
        let compact =
            (head[0] == 0) & (len <= 16) & (row.len() as u64 == 16 + (len.wrapping_add(7) & !7));
        compact.then_some(CompactKey { data: [head[2], head[3]], len: len as u32 })
    }
}

/// One group of a [`CompactTable`]: the key, the position of its row in the arena (read only
/// to hand the row on), and its buffer (`None` once taken).
struct CompactGroup<B> {
    data: [u64; 2],
    len: u32,
    pos: u32,
    buf: Option<B>,
}

// `count()`'s groups: two to a cache line.
const _: () = assert!(std::mem::size_of::<CompactGroup<super::aggregate::CountBuf>>() == 32);

/// Pre-aggregation groups of compact keys. The rows are kept in an arena too, written once per
/// new key, for the merge that takes the groups on.
pub(super) struct CompactTable<B> {
    keys: RowArena,
    index: HashTable<CompactGroup<B>>,
}

impl<B> CompactTable<B> {
    pub(super) fn new(keys: RowArena) -> Self {
        CompactTable { keys, index: HashTable::new() }
    }

    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// Empties the table, keeping its memory unless it holds more than `keep` keys.
    pub(super) fn clear(&mut self, keep: usize) {
        if self.len() > keep {
            self.index = HashTable::new();
            self.keys = RowArena::for_keys(self.keys.schema().clone());
        }
        self.index.clear();
        self.keys.clear();
    }

    /// Folds into the group of `key` (pinned row hash `hash`): sets its buffer to `fold` of
    /// the current one, or of `None` for a new key, whose row `push` adds to the arena.
    /// Always inlined: as a call of its own (the compiler's choice once the probe no longer
    /// wrote a row), the word count's batches took 10% longer.
    #[inline(always)]
    pub(super) fn fold(
        &mut self,
        key: CompactKey,
        hash: u64,
        fold: impl FnOnce(Option<B>) -> B,
        push: impl FnOnce(&mut RowArena) -> usize,
    ) {
        let found = self.index.find_mut(hash, |g| g.data == key.data && g.len == key.len);
        if let Some(group) = found {
            let old = group.buf.take();
            group.buf = Some(fold(old));
            return;
        }
        let pos = push(&mut self.keys);
        debug_assert!(
            CompactKey::of(self.keys.bytes(pos), &head_of(self.keys.bytes(pos))) == Some(key),
            "key row encodings differ"
        );
        let group = CompactGroup {
            data: key.data,
            len: key.len,
            pos: u32::try_from(pos).unwrap_or(u32::MAX),
            buf: Some(fold(None)),
        };
        self.index.insert_unique(hash, group, |g| CompactKey { data: g.data, len: g.len }.hash());
    }

    /// Merges every group of `other` into this table with `merge` (older buffer first),
    /// taking `other`'s buffers.
    pub(super) fn merge_from(&mut self, other: &mut CompactTable<B>, merge: impl Fn(B, B) -> B) {
        for (row, hash, key, buf) in other.take_all() {
            let fold = |old: Option<B>| match old {
                Some(old) => merge(old, buf),
                None => buf,
            };
            self.fold(key, hash, fold, |keys| keys.push(row));
        }
    }

    /// Every key's row, pinned hash and buffer, taking the buffers.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (Row<'_>, u64, B)> {
        self.take_all().map(|(row, hash, _, buf)| (row, hash, buf))
    }

    /// Every key's row, pinned hash, compact form and buffer, taking the buffers. A group does
    /// not keep its hash (with it, it would be 48 bytes), so the hash is computed again here
    /// from the compact form, once per key and batch.
    fn take_all(&mut self) -> impl Iterator<Item = (Row<'_>, u64, CompactKey, B)> {
        let keys = &self.keys;
        self.index.iter_mut().filter_map(|g| {
            let key = CompactKey { data: g.data, len: g.len };
            Some((keys.get(g.pos as usize), key.hash(), key, g.buf.take()?))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Str;
    use crate::row::{DataType, Field, RowField, SHORT_KEY_ROW, Schema};

    fn string_keys() -> Arc<Schema> {
        Arc::new(Schema::new(vec![Field::new("key", DataType::Utf8, false)]))
    }

    fn short_row<K: RowField>(key: &K) -> Option<Vec<u8>> {
        let mut short = [0u8; SHORT_KEY_ROW];
        key.write_short_key_row(&mut short).map(|len| short[..len].to_vec())
    }

    /// Strings of up to 16 bytes are compact, longer ones and other shapes are not; the empty
    /// string, strings ending in NUL and strings of one rounded length are told apart.
    #[test]
    fn compact_keys_are_the_short_strings_and_tell_them_apart() {
        let words =
            ["", "a", "a\0", "ab", "abcdefgh", "abcdefgh\0", "abcdefghi", "0123456789abcdef"];
        let mut seen = Vec::new();
        for w in words {
            let row = short_row(&Str::from(w)).expect("a short row");
            let key = CompactKey::of(&row, &head_of(&row)).expect("compact");
            let (data, len) = Str::from(w).short_string_key().expect("a short string key");
            assert!(CompactKey::new(data, len) == key, "{w:?}: the string's words are its row's");
            assert_eq!(key.hash(), hash_row(&row), "{w:?}: the compact hash is the row hash");
            assert!(!seen.contains(&key), "{w:?} collides");
            seen.push(key);
        }
        let long = Str::from("0123456789abcdefg");
        assert!(short_row(&long).is_none_or(|r| CompactKey::of(&r, &head_of(&r)).is_none()));
        assert!(long.short_string_key().is_none());
        // (16 << 32 would be compact: its row is the empty string's, bytes for bytes.)
        for int in [0i64, 5, (16 << 32) | 5, -1] {
            let row = short_row(&int).expect("a short row");
            assert!(CompactKey::of(&row, &head_of(&row)).is_none(), "i64 {int} is not compact");
        }
    }

    /// Folds count per key, a drained table hands on every key once with its pinned hash, and a
    /// cleared table is empty.
    #[test]
    fn folds_drains_and_clears() {
        let schema = string_keys();
        let mut table = CompactTable::<i64>::new(RowArena::for_keys(schema.clone()));
        let words = ["x", "y", "x", "longer-word", "x", "y"];
        for w in words {
            let key = Str::from(w);
            let row = short_row(&key).unwrap();
            let compact = CompactKey::of(&row, &head_of(&row)).unwrap();
            table.fold(
                compact,
                hash_row(&row),
                |n| n.unwrap_or(0) + 1,
                |keys| {
                    keys.push_with(|b| {
                        b.reserve_var(key.var_size());
                        key.write(b, 0);
                    })
                },
            );
        }
        let mut drained: Vec<(String, u64, i64)> =
            table.drain().map(|(row, hash, n)| (Str::read(&row, 0).to_string(), hash, n)).collect();
        drained.sort();
        let expected: Vec<(String, u64, i64)> = [("longer-word", 1), ("x", 3), ("y", 2)]
            .into_iter()
            .map(|(w, n)| (w.to_owned(), hash_row(&short_row(&Str::from(w)).unwrap()), n))
            .collect();
        assert_eq!(drained, expected);
        assert_eq!(table.drain().count(), 0, "the buffers were taken");
        table.clear(1 << 20);
        assert_eq!(table.len(), 0);
    }
}

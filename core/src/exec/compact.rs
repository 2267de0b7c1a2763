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
//! gives the words directly: no row is written to probe.
//!
//! The table indexes its groups by a hash of its own, one folded multiply of the words keyed
//! per table, not by the pinned row hash: a worker thread's table holds the keys of every
//! state partition, and the pinned hash, which picks a key's partition, is computed once per
//! key and batch when the groups are routed to their partitions ([`CompactTable::route`]),
//! not once per value ([`hash_short_var_row`] from the words).
//!
//! [`Str`]: crate::Str

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::aggregate::{HEAD_WORDS, head_of};
use crate::row::{Row, RowArena, hash_row, hash_short_var_row, pack_slot, partition_of};

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

    /// The table's own hash of the key (not the pinned one): the words and the length, each
    /// xored with a key of the table, multiplied as 128-bit numbers and the halves folded.
    #[inline]
    fn local_hash(&self, keys: [u64; 2]) -> u64 {
        let product = u128::from(self.data[0] ^ keys[0])
            * u128::from(self.data[1] ^ keys[1] ^ u64::from(self.len));
        (product as u64) ^ ((product >> 64) as u64)
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

/// A group taken from a [`CompactTable`] for its state partition: the key, the position of its
/// row in the table's arena, and its buffer.
pub(super) struct Routed<B> {
    key: CompactKey,
    pos: u32,
    buf: B,
}

/// Pre-aggregation groups of compact keys. The rows are kept in an arena too, written once per
/// new key, for the merge that takes the groups on.
pub(super) struct CompactTable<B> {
    keys: RowArena,
    index: HashTable<CompactGroup<B>>,
    /// The keys of [`CompactKey::local_hash`], random per table so that no input can be made
    /// to collide in every run.
    hash_keys: [u64; 2],
}

impl<B> CompactTable<B> {
    pub(super) fn new(keys: RowArena) -> Self {
        let random = std::collections::hash_map::RandomState::new();
        let hash_keys = [random.hash_one(0u8), random.hash_one(1u8)];
        CompactTable { keys, index: HashTable::new(), hash_keys }
    }

    /// The arena holding the rows of the keys.
    pub(super) fn rows(&self) -> &RowArena {
        &self.keys
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

    /// Folds into the group of `key`: sets its buffer to `fold` of the current one, or of
    /// `None` for a new key, whose row `push` adds to the arena. Always inlined: as a call of
    /// its own (the compiler's choice once the probe no longer wrote a row), the word count's
    /// batches took 10% longer.
    #[inline(always)]
    pub(super) fn fold(
        &mut self,
        key: CompactKey,
        fold: impl FnOnce(Option<B>) -> B,
        push: impl FnOnce(&mut RowArena) -> usize,
    ) {
        let hash_keys = self.hash_keys;
        let hash = key.local_hash(hash_keys);
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
        let key_of = |g: &CompactGroup<B>| CompactKey { data: g.data, len: g.len };
        self.index.insert_unique(hash, group, |g| key_of(g).local_hash(hash_keys));
    }

    /// Takes every group's buffer, sorted by the state partition of the key's pinned hash:
    /// `out[p]` receives partition `p`'s groups, whose rows stay in this table's arena.
    pub(super) fn route(&mut self, out: &mut [Vec<Routed<B>>]) {
        let partitions = out.len();
        for g in self.index.iter_mut() {
            let Some(buf) = g.buf.take() else { continue };
            let key = CompactKey { data: g.data, len: g.len };
            out[partition_of(key.hash(), partitions)].push(Routed { key, pos: g.pos, buf });
        }
    }

    /// Merges the groups `routed`, taken from a table whose arena is `rows`, into this table:
    /// a key's buffer becomes `merge` of the buffer already here (`None` for a new key) and
    /// the routed one.
    pub(super) fn merge_routed<R>(
        &mut self,
        rows: &RowArena,
        routed: Vec<Routed<R>>,
        merge: impl Fn(Option<B>, R) -> B,
    ) {
        for Routed { key, pos, buf } in routed {
            self.fold(key, |old| merge(old, buf), |keys| keys.push(rows.get(pos as usize)));
        }
    }

    /// Every key's row and buffer, the buffers in place.
    pub(super) fn entries_mut(&mut self) -> impl Iterator<Item = (Row<'_>, &mut B)> {
        let keys = &self.keys;
        self.index.iter_mut().filter_map(|g| Some((keys.get(g.pos as usize), g.buf.as_mut()?)))
    }

    /// Every key's row, pinned hash and buffer, taking the buffers. A group does not keep the
    /// pinned hash (with it, it would be 40 bytes), so it is computed here from the words,
    /// once per key and batch.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (Row<'_>, u64, B)> {
        let keys = &self.keys;
        self.index.iter_mut().filter_map(|g| {
            let key = CompactKey { data: g.data, len: g.len };
            Some((keys.get(g.pos as usize), key.hash(), g.buf.take()?))
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

    /// Routing sends each key to the partition of its pinned hash, once, and merging routed
    /// groups of two tables adds the buffers of a key both hold.
    #[test]
    fn routes_by_pinned_hash_and_merges() {
        let schema = string_keys();
        let fill = |words: &[&str]| {
            let mut table = CompactTable::<i64>::new(RowArena::for_keys(schema.clone()));
            for w in words {
                let key = Str::from(*w);
                let (data, len) = key.short_string_key().unwrap();
                table.fold(
                    CompactKey::new(data, len),
                    |n| n.unwrap_or(0) + 1,
                    |keys| {
                        keys.push_with(|b| {
                            b.reserve_var(key.var_size());
                            key.write(b, 0);
                        })
                    },
                );
            }
            table
        };
        let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut first = fill(&words);
        let mut second = fill(&words[100..]);
        let partitions = 3;
        let mut merged: Vec<_> = (0..partitions)
            .map(|_| CompactTable::new(RowArena::for_keys(schema.clone())))
            .collect();
        for table in [&mut first, &mut second] {
            let mut routed: Vec<Vec<Routed<i64>>> = (0..partitions).map(|_| Vec::new()).collect();
            table.route(&mut routed);
            for (p, groups) in routed.into_iter().enumerate() {
                merged[p].merge_routed(table.rows(), groups, |a, b| a.unwrap_or(0) + b);
            }
            assert_eq!(table.drain().count(), 0, "routing took the buffers");
        }
        let mut seen = Vec::new();
        for (p, table) in merged.iter_mut().enumerate() {
            for (row, hash, n) in table.drain() {
                let word = Str::read(&row, 0).to_string();
                assert_eq!(hash, hash_row(row.bytes()), "{word}: the pinned hash");
                assert_eq!(partition_of(hash, partitions), p, "{word}: its partition");
                let index: usize = word[1..].parse().unwrap();
                assert_eq!(n, if index >= 100 { 2 } else { 1 }, "{word}: its count");
                seen.push(word);
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), words.len(), "every key once");
    }
}

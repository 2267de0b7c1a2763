//! [`AggregateExec`]: a streaming aggregation by key (`group_by_key(..).count()`,
//! `reduce_groups`, `agg`), Spark's `HashAggregateExec` + `StateStoreSaveExec` in one operator.
//!
//! Per batch: every input chunk runs the fused stateless stages and pre-aggregates its
//! elements into its worker thread's hash tables, keys as binary rows in a row arena (the
//! table stores indices, so each key is stored once). A key row of one short string goes to
//! the thread's [`CompactTable`] of smaller groups, any other to the thread's [`GroupTable`]
//! of its state partition, chosen by the pinned row hash (XXH3-64, seed 42; `partition_of`
//! uses the hash's high bits). The compact table holds every partition's keys; once the
//! chunks are folded, its groups are routed to their partitions by the same pinned hash, once
//! per key. Then, one task per state partition, in parallel: the threads' groups for that
//! partition are merged, the partition's state store (version = batch id) is read and
//! updated, and the output rows for the mode are produced. The updated stores are committed
//! by the engine after the sink took the batch.

use std::marker::PhantomData;
use std::num::NonZeroI64;
use std::sync::{Arc, Mutex, PoisonError};

use hashbrown::HashTable;
use rayon::prelude::*;

use super::compact::{CompactKey, CompactTable, Routed};
use super::stages::Stages;
use super::stateless::ScanExec;
use super::{
    BatchExec, ExecContext, ExecMetrics, Partitioning, StateOperatorMetrics, StateOperatorSpec,
    explain_line,
};
use crate::data::Data;
use crate::error::{EmberError, Result};
use crate::row::{
    Field, Row, RowArena, RowBuilder, RowField, RowWriter, SHORT_KEY_ROW, Schema, hash_row,
    partition_of, read_u64,
};
use crate::streaming::OutputMode;

/// A typed aggregate function over the values of one group (Spark's `Aggregator`). The buffer
/// is what the state store keeps per key, as a binary row of `Buf`'s fields.
pub trait Aggregator<V>: Send + Sync + 'static {
    /// The per-key buffer.
    type Buf: Data;
    /// The result per key.
    type Out: RowField + Send + Sync + 'static;
    /// The output column's name, e.g. `count(1)`.
    fn name(&self) -> String;
    /// The buffer of a group whose first value is `value`.
    fn init(&self, value: V) -> Self::Buf;
    /// Folds `value` into `buf`.
    fn reduce(&self, buf: Self::Buf, value: V) -> Self::Buf;
    /// Combines two buffers of one key (`older` from state or an earlier chunk).
    fn merge(&self, older: Self::Buf, newer: Self::Buf) -> Self::Buf;
    /// The result of a buffer.
    fn finish(&self, buf: &Self::Buf) -> Self::Out;
}

/// `count()`: the number of values per key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Count;

impl<V> Aggregator<V> for Count {
    type Buf = CountBuf;
    type Out = i64;
    fn name(&self) -> String {
        "count(1)".to_owned()
    }
    #[inline]
    fn init(&self, _: V) -> CountBuf {
        CountBuf::ONE
    }
    #[inline]
    fn reduce(&self, buf: CountBuf, _: V) -> CountBuf {
        buf.plus(1)
    }
    #[inline]
    fn merge(&self, older: CountBuf, newer: CountBuf) -> CountBuf {
        older.plus(newer.get())
    }
    #[inline]
    fn finish(&self, buf: &CountBuf) -> i64 {
        buf.get()
    }
}

/// [`Count`]'s buffer: a group's count, which is never 0 (the group holds at least the value
/// that made it). As a `NonZeroI64`, an `Option` of it is 8 bytes, and a compact
/// pre-aggregation group 32 rather than 40 (word count: 2.6% less time a batch, measured).
/// Its row is an `i64` column named `value`, as a plain count's. Counts saturate at
/// `i64::MAX`; a row holding 0, which no count writes, reads as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountBuf(NonZeroI64);

impl CountBuf {
    const ONE: CountBuf = CountBuf(NonZeroI64::new(1).unwrap());

    /// The count.
    #[inline]
    pub fn get(self) -> i64 {
        self.0.get()
    }

    /// This count plus `n`, saturating at `i64::MAX`.
    #[inline]
    fn plus(self, n: i64) -> CountBuf {
        CountBuf::of(self.get().saturating_add(n))
    }

    #[inline]
    fn of(count: i64) -> CountBuf {
        NonZeroI64::new(count).map_or(CountBuf::ONE, CountBuf)
    }
}

impl Data for CountBuf {
    fn fields() -> Vec<Field> {
        <i64 as Data>::fields()
    }
    #[inline]
    fn var_size(&self) -> usize {
        0
    }
    #[inline]
    fn write(&self, builder: &mut RowBuilder<'_>) {
        RowField::write(&self.get(), builder, 0);
    }
    #[inline]
    fn read(row: &Row<'_>) -> Self {
        CountBuf::of(<i64 as RowField>::read(row, 0))
    }
}

/// `reduce_groups(f)`: the values of a key folded with `f`.
pub struct ReduceGroups<V, F> {
    f: F,
    value: PhantomData<fn(V) -> V>,
}

impl<V, F> ReduceGroups<V, F> {
    /// Folds with `f`.
    pub fn new(f: F) -> Self {
        ReduceGroups { f, value: PhantomData }
    }
}

impl<V, F> Aggregator<V> for ReduceGroups<V, F>
where
    V: Data + RowField + Clone,
    F: Fn(V, V) -> V + Send + Sync + 'static,
{
    type Buf = V;
    type Out = V;
    fn name(&self) -> String {
        "reduceGroups".to_owned()
    }
    fn init(&self, value: V) -> V {
        value
    }
    fn reduce(&self, buf: V, value: V) -> V {
        (self.f)(buf, value)
    }
    fn merge(&self, older: V, newer: V) -> V {
        (self.f)(older, newer)
    }
    fn finish(&self, buf: &V) -> V {
        buf.clone()
    }
}

/// Words of a key row kept in its group entry, so a probe of a key row of up to 32 bytes (a
/// string of up to 16 bytes) compares without reading the row arena. With 4 a group is 64
/// bytes; with 3, the word count's 9- and 10-letter words read the arena on every probe
/// (1% more instructions, measured).
pub(super) const HEAD_WORDS: usize = 4;
const _: () = assert!(HEAD_WORDS * 8 == SHORT_KEY_ROW, "a short row is compared in its head");

/// The first [`HEAD_WORDS`] words of a key row, zero-padded. Rows are a multiple of 8 bytes
/// long, so two rows of one length are equal exactly when their heads and the rest are. Each
/// word is loaded on its own: a copy of the row's first bytes into an array becomes a `memcpy`
/// call whose stores the comparison then stalls on.
#[inline]
pub(super) fn head_of(row: &[u8]) -> [u64; HEAD_WORDS] {
    std::array::from_fn(|i| word_at(row, i))
}

/// Word `i` of `row`, or 0 past its end.
#[inline]
fn word_at(row: &[u8], i: usize) -> u64 {
    if row.len() >= i * 8 + 8 { read_u64(row, i * 8) } else { 0 }
}

/// One group: the key's pinned hash, row length, position in the arena and head, and its
/// buffer (`None` once taken by a merge).
struct Group<B> {
    hash: u64,
    len: u32,
    pos: u32,
    head: [u64; HEAD_WORDS],
    buf: Option<B>,
}

impl<B> Group<B> {
    /// Replaces the buffer with `f` of it; a buffer already taken by a merge stays taken.
    #[inline]
    fn update(&mut self, f: impl FnOnce(B) -> B) {
        if let Some(buf) = self.buf.take() {
            self.buf = Some(f(buf));
        }
    }
}

/// Groups of one partition: keys as binary rows in a row arena, and a `hashbrown` table of
/// [`Group`]s holding each key's hash, head and buffer inline. A probe reads the table's
/// control bytes and one group, and touches the arena only for a key longer than the head:
/// the probe is bound by memory latency, so each dependent load it saves counts.
struct GroupTable<B> {
    keys: RowArena,
    index: HashTable<Group<B>>,
}

impl<B> GroupTable<B> {
    fn new(schema: Arc<Schema>) -> Self {
        GroupTable { keys: RowArena::for_keys(schema), index: HashTable::new() }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    /// Empties the table, keeping its memory unless it grew past [`KEEP_TABLE_KEYS`].
    fn clear(&mut self) {
        if self.len() > KEEP_TABLE_KEYS {
            *self = GroupTable::new(self.keys.schema().clone());
            return;
        }
        self.keys.clear();
        self.index.clear();
    }

    /// The group of the key whose row is `key` (with pinned hash `hash`).
    #[inline]
    fn find_mut(&mut self, key: &[u8], hash: u64) -> Option<&mut Group<B>> {
        self.find_mut_with_head(key, head_of(key), hash)
    }

    /// [`find_mut`](Self::find_mut) given the key's head.
    #[inline]
    fn find_mut_with_head(
        &mut self,
        key: &[u8],
        head: [u64; HEAD_WORDS],
        hash: u64,
    ) -> Option<&mut Group<B>> {
        let len = key.len();
        let keys = &self.keys;
        self.index.find_mut(hash, |g| {
            g.hash == hash
                && g.len as usize == len
                && g.head == head
                && (len <= HEAD_WORDS * 8 || rest_equal(keys.bytes(g.pos as usize), key))
        })
    }

    #[inline]
    fn insert(&mut self, key: Row<'_>, hash: u64, buf: B) {
        let pos = self.keys.push(key);
        self.register(pos, hash, buf);
    }

    /// Adds a key whose row `fill` writes; returns its position in the arena.
    #[inline]
    fn insert_with(&mut self, hash: u64, buf: B, fill: impl FnOnce(&mut RowBuilder<'_>)) -> usize {
        let pos = self.keys.push_with(fill);
        self.register(pos, hash, buf);
        pos
    }

    /// Indexes the key at arena position `pos`.
    #[inline]
    fn register(&mut self, pos: usize, hash: u64, buf: B) {
        let row = self.keys.bytes(pos);
        let group = Group {
            hash,
            len: u32::try_from(row.len()).unwrap_or(u32::MAX),
            pos: u32::try_from(pos).unwrap_or(u32::MAX),
            head: head_of(row),
            buf: Some(buf),
        };
        self.index.insert_unique(hash, group, |g| g.hash);
    }

    /// Adds `key` with `buf`, or merges `buf` into the key's buffer with `merge`.
    fn upsert(&mut self, key: Row<'_>, hash: u64, buf: B, merge: impl FnOnce(B, B) -> B) {
        match self.find_mut(key.bytes(), hash) {
            Some(g) => g.update(|old| merge(old, buf)),
            None => self.insert(key, hash, buf),
        }
    }

    /// Every key's row, hash and buffer, taking the buffers.
    fn drain(&mut self) -> impl Iterator<Item = (Row<'_>, u64, B)> {
        let keys = &self.keys;
        self.index
            .iter_mut()
            .filter_map(|g| Some((keys.get(g.pos as usize), g.hash, g.buf.take()?)))
    }

    /// Every key's row and buffer, the buffers in place.
    fn entries_mut(&mut self) -> impl Iterator<Item = (Row<'_>, &mut B)> {
        let keys = &self.keys;
        self.index.iter_mut().filter_map(|g| Some((keys.get(g.pos as usize), g.buf.as_mut()?)))
    }
}

/// Whether two key rows of one length, equal in their heads, are equal past them; a word at a
/// time, as the rest of a key is short, where a call to `memcmp` costs more.
#[inline]
fn rest_equal(stored: &[u8], key: &[u8]) -> bool {
    stored.len() == key.len()
        && (HEAD_WORDS..key.len() / 8).all(|w| word_at(stored, w) == word_at(key, w))
}

/// Complete mode's copy of one state partition in memory, as of store version `version` of
/// the query run whose stores have id `owner`. Complete mode emits every key every batch, so
/// the copy costs no more memory than the output, and it spares reading the store through all
/// of its change layers each batch. It is used only while owner and version match, so it
/// equals the store's content; anything else rebuilds it from the store.
///
/// Its keys are split as pre-aggregation splits them, compact keys in a [`CompactTable`] and
/// the others in a [`GroupTable`], so the batch's groups merge straight into it: a key seen
/// in earlier batches costs one probe, with no row written and no intermediate table.
struct StateCopy<B> {
    owner: u64,
    version: u64,
    compact: CompactTable<CachedBuf<B>>,
    general: GroupTable<CachedBuf<B>>,
    /// Bytes of all keys and value rows, as the store holds them.
    bytes: u64,
}

/// A buffer in a [`StateCopy`], with the length of its value row in the store (0 for a key
/// not yet stored) and whether this batch changed it.
struct CachedBuf<B> {
    buf: B,
    row_len: u32,
    updated: bool,
}

impl<B> CachedBuf<B> {
    /// The buffer as stored, unchanged by this batch.
    fn stored(buf: B, row_len: usize) -> CachedBuf<B> {
        CachedBuf { buf, row_len: u32::try_from(row_len).unwrap_or(u32::MAX), updated: false }
    }

    /// `old` (if any) merged with this batch's `buf` by `merge`.
    #[inline]
    fn merged(old: Option<CachedBuf<B>>, buf: B, merge: impl FnOnce(B, B) -> B) -> CachedBuf<B> {
        match old {
            Some(old) => {
                CachedBuf { buf: merge(old.buf, buf), row_len: old.row_len, updated: true }
            }
            None => CachedBuf { buf, row_len: 0, updated: true },
        }
    }
}

/// One worker thread's pre-aggregation tables: compact keys (short strings) of every state
/// partition in one table, every other key in a table per state partition.
struct ThreadTables<B> {
    compact: CompactTable<B>,
    general: Vec<GroupTable<B>>,
}

impl<B> ThreadTables<B> {
    fn new(schema: &Arc<Schema>, partitions: usize) -> Self {
        ThreadTables {
            compact: CompactTable::new(RowArena::for_keys(schema.clone())),
            general: (0..partitions).map(|_| GroupTable::new(schema.clone())).collect(),
        }
    }

    /// Empties the tables for a batch with `partitions` state partitions.
    fn clear(&mut self, schema: &Arc<Schema>, partitions: usize) {
        self.compact.clear(KEEP_TABLE_KEYS);
        self.general.resize_with(partitions, || GroupTable::new(schema.clone()));
        self.general.iter_mut().for_each(GroupTable::clear);
    }
}

/// One state partition's share of the pre-aggregated groups: its general table from each
/// thread, and its compact groups from each thread with the arena holding their rows.
struct PartitionGroups<'t, B> {
    general: Vec<&'t mut GroupTable<B>>,
    compact: Vec<(&'t RowArena, Vec<Routed<B>>)>,
}

/// One state partition after a batch: its output rows, its updated store, its figures.
type MergedPartition<K, O> = (Vec<(K, O)>, ember_state::StateStore, StateOperatorMetrics);

/// A streaming aggregation of the values `V` of a scan by the key `K` that `key_fn` computes.
pub struct AggregateExec<K, V, KF, A: Aggregator<V>, S> {
    scan: ScanExec<V, S>,
    key_fn: KF,
    agg: A,
    operator_id: u64,
    key_schema: Arc<Schema>,
    buf_schema: Arc<Schema>,
    metrics: ExecMetrics,
    /// Pre-aggregation tables, one set per worker thread, and the compact tables that merge
    /// them, one per state partition: kept from batch to batch so their memory is allocated
    /// and paged in once.
    tables: Mutex<Vec<Mutex<ThreadTables<A::Buf>>>>,
    merged_compact: Mutex<Vec<CompactTable<A::Buf>>>,
    /// Per state partition, Complete mode's copy of its state.
    state_copies: Mutex<Vec<Option<StateCopy<A::Buf>>>>,
    key: PhantomData<fn() -> K>,
}

/// Tables larger than this many keys are freed after a batch rather than kept for the next.
const KEEP_TABLE_KEYS: usize = 1 << 20;

impl<K, V, KF, A, S> AggregateExec<K, V, KF, A, S>
where
    K: RowField + Send + Sync + 'static,
    V: Send + Sync + 'static,
    KF: Fn(&V) -> K + Send + Sync + 'static,
    A: Aggregator<V>,
    S: Stages<V>,
{
    /// The aggregation `agg` of `scan`'s values grouped by `key_fn`, as stateful operator
    /// `operator_id`.
    pub(crate) fn new(scan: ScanExec<V, S>, key_fn: KF, agg: A, operator_id: u64) -> Self {
        let key_schema =
            Arc::new(Schema::new(vec![Field::new("key", K::data_type(), K::NULLABLE)]));
        AggregateExec {
            scan,
            key_fn,
            agg,
            operator_id,
            key_schema,
            buf_schema: A::Buf::schema(),
            metrics: ExecMetrics::default(),
            tables: Mutex::new(Vec::new()),
            merged_compact: Mutex::new(Vec::new()),
            state_copies: Mutex::new(Vec::new()),
            key: PhantomData,
        }
    }

    /// The fingerprint of the state files: the key and buffer schemas together.
    fn fingerprint(&self) -> u64 {
        self.key_schema.fingerprint().rotate_left(1) ^ self.buf_schema.fingerprint()
    }

    /// A key or value row read from `partition`'s store, checked against `schema`; a row that
    /// does not fit names the operator, partition and version it came from.
    fn state_row<'a>(
        &self,
        ctx: &ExecContext<'_>,
        partition: usize,
        what: &str,
        bytes: &'a [u8],
        schema: &'a Schema,
    ) -> Result<Row<'a>> {
        Row::try_new(bytes, schema).map_err(|e| {
            EmberError::State(ember_state::StateError::InvalidArgument(format!(
                "state {what} of operator {} partition {partition} at version {}: {e}",
                self.operator_id, ctx.batch_id
            )))
        })
    }

    /// `buf` as a value row, written into `writer`.
    fn buf_row<'w>(&'w self, writer: &'w mut RowWriter, buf: &A::Buf) -> Row<'w> {
        writer.write(&self.buf_schema, |b| {
            b.reserve_var(buf.var_size());
            buf.write(b);
        })
    }

    /// Pre-aggregates a value into a thread's `tables`. A key's row is written into `scratch`
    /// for hashing and probing; only a new key goes through the checked row builder into the
    /// table's arena. Inlined into the fused stages' loop, as their last stage.
    #[inline(always)]
    fn pre_aggregate(&self, tables: &mut ThreadTables<A::Buf>, scratch: &mut Vec<u8>, value: V) {
        let partitions = tables.general.len();
        let key = (self.key_fn)(&value);
        let write_key = |b: &mut RowBuilder<'_>| {
            b.reserve_var(key.var_size());
            key.write(b, 0);
        };
        let push_key = |keys: &mut RowArena| keys.push_with(write_key);
        let fold = |buf: Option<A::Buf>| match buf {
            Some(buf) => self.agg.reduce(buf, value),
            None => self.agg.init(value),
        };
        if let Some((data, len)) = key.short_string_key() {
            tables.compact.fold(CompactKey::new(data, len), fold, push_key);
            return;
        }
        let mut short = [0u8; SHORT_KEY_ROW];
        // A short row is zero past its end, so its head is its first words as they stand.
        let (row, head): (&[u8], _) = match key.write_short_key_row(&mut short) {
            Some(len) => (&short[..len], head_of(&short)),
            None => {
                scratch.clear();
                key.write_key_row(scratch, &self.key_schema);
                (scratch, head_of(scratch))
            }
        };
        if let Some(compact) = CompactKey::of(row, &head) {
            tables.compact.fold(compact, fold, push_key);
            return;
        }
        let hash = hash_row(row);
        let table = &mut tables.general[partition_of(hash, partitions)];
        match table.find_mut_with_head(row, head, hash) {
            Some(group) => group.update(|buf| fold(Some(buf))),
            None => {
                let pos = table.insert_with(hash, fold(None), write_key);
                debug_assert_eq!(table.keys.bytes(pos), row, "key row encodings differ");
            }
        }
    }

    /// Merges one partition's pre-aggregated groups (into `compact` for the compact keys) with
    /// its state; returns the output rows for `mode`, the updated store and the partition's
    /// figures.
    fn merge_partition(
        &self,
        ctx: &ExecContext<'_>,
        partition: usize,
        groups: PartitionGroups<'_, A::Buf>,
        compact: &mut CompactTable<A::Buf>,
    ) -> Result<MergedPartition<K, A::Out>> {
        let provider = ctx.state.provider(self.operator_id, partition);
        let mut store = provider.load(ctx.batch_id)?;
        if ctx.mode == OutputMode::Complete {
            return self.merge_complete(ctx, partition, groups, store);
        }
        let PartitionGroups { general: mut tables, compact: routed } = groups;
        let mut empty = GroupTable::new(self.key_schema.clone());
        let general = if tables.is_empty() { &mut empty } else { tables.swap_remove(0) };
        for table in tables {
            for (key, hash, buf) in table.drain() {
                general.upsert(key, hash, buf, |a, b| self.agg.merge(a, b));
            }
        }
        for (rows, groups) in routed {
            compact.merge_routed(rows, groups, |old, new| match old {
                Some(old) => self.agg.merge(old, new),
                None => new,
            });
        }
        // Every group of the merged tables holds this batch's buffer.
        let updated = (general.len() + compact.len()) as u64;
        let groups = general.drain().chain(compact.drain());

        let mut out = Vec::new();
        let mut value = RowWriter::new();
        let mut added_keys = 0u64;
        let mut added_bytes = 0u64;
        for (key_row, _, buf) in groups {
            let key = key_row.bytes();
            let (buf, is_new) = match store.get(key)? {
                Some(old) => {
                    let row = self.state_row(ctx, partition, "value", old, &self.buf_schema)?;
                    (self.agg.merge(A::Buf::read(&row), buf), false)
                }
                None => (buf, true),
            };
            let row = self.buf_row(&mut value, &buf);
            if is_new {
                added_keys += 1;
                added_bytes += (key.len() + row.bytes().len()) as u64;
            }
            store.put(key, row.bytes());
            if ctx.mode == OutputMode::Update {
                out.push((K::read(&key_row, 0), self.agg.finish(&buf)));
            }
        }

        let (rows, bytes) =
            ctx.state.add_totals(self.operator_id, partition, &store, added_keys, added_bytes)?;
        let figures = StateOperatorMetrics {
            operator_name: "stateStoreSave".to_owned(),
            num_rows_total: rows,
            num_rows_updated: updated,
            memory_used_bytes: bytes,
            num_partitions: 1,
        };
        Ok((out, store, figures))
    }

    /// Complete mode: merges the batch's groups straight into the partition's [`StateCopy`],
    /// then, in one pass over the copy, puts each key the batch changed into the store and
    /// emits every key.
    fn merge_complete(
        &self,
        ctx: &ExecContext<'_>,
        partition: usize,
        groups: PartitionGroups<'_, A::Buf>,
        mut store: ember_state::StateStore,
    ) -> Result<MergedPartition<K, A::Out>> {
        let mut copy = self.take_state_copy(ctx, partition, &store)?;
        let merge = |a, b| self.agg.merge(a, b);
        for table in groups.general {
            for (key, hash, buf) in table.drain() {
                match copy.general.find_mut(key.bytes(), hash) {
                    Some(group) => group.update(|old| CachedBuf::merged(Some(old), buf, merge)),
                    None => copy.general.insert(key, hash, CachedBuf::merged(None, buf, merge)),
                }
            }
        }
        for (rows, routed) in groups.compact {
            copy.compact.merge_routed(rows, routed, |old, buf| CachedBuf::merged(old, buf, merge));
        }

        let mut value = RowWriter::new();
        let mut updated = 0u64;
        let mut bytes = copy.bytes;
        let mut out = Vec::with_capacity(copy.general.len() + copy.compact.len());
        let entries = copy.general.entries_mut().chain(copy.compact.entries_mut());
        for (key, cached) in entries {
            if cached.updated {
                let row = self.buf_row(&mut value, &cached.buf);
                store.put(key.bytes(), row.bytes());
                let row_len = row.bytes().len() as u64;
                bytes = match cached.row_len {
                    0 => bytes + key.bytes().len() as u64 + row_len,
                    old => bytes + row_len - u64::from(old),
                };
                cached.row_len = u32::try_from(row_len).unwrap_or(u32::MAX);
                cached.updated = false;
                updated += 1;
            }
            out.push((K::read(&key, 0), self.agg.finish(&cached.buf)));
        }
        copy.bytes = bytes;
        let figures = StateOperatorMetrics {
            operator_name: "stateStoreSave".to_owned(),
            num_rows_total: out.len() as u64,
            num_rows_updated: updated,
            memory_used_bytes: copy.bytes,
            num_partitions: 1,
        };
        copy.version = ctx.batch_id + 1;
        let mut copies = self.state_copies.lock().unwrap_or_else(PoisonError::into_inner);
        copies[partition] = Some(copy);
        Ok((out, store, figures))
    }

    /// The partition's [`StateCopy`] for the store version this batch reads, built from
    /// `store` unless the last batch of this query run left it.
    fn take_state_copy(
        &self,
        ctx: &ExecContext<'_>,
        partition: usize,
        store: &ember_state::StateStore,
    ) -> Result<StateCopy<A::Buf>> {
        let owner = ctx.state.id();
        {
            let mut copies = self.state_copies.lock().unwrap_or_else(PoisonError::into_inner);
            if copies.len() <= partition {
                copies.resize_with(partition + 1, || None);
            }
            if let Some(copy) = copies[partition].take()
                && copy.owner == owner
                && copy.version == ctx.batch_id
            {
                return Ok(copy);
            }
        }
        let mut copy = StateCopy {
            owner,
            version: ctx.batch_id,
            compact: CompactTable::new(RowArena::for_keys(self.key_schema.clone())),
            general: GroupTable::new(self.key_schema.clone()),
            bytes: 0,
        };
        for entry in store.iter() {
            let (k, v) = entry?;
            let key = self.state_row(ctx, partition, "key", k, &self.key_schema)?;
            let buf =
                A::Buf::read(&self.state_row(ctx, partition, "value", v, &self.buf_schema)?);
            let cached = CachedBuf::stored(buf, v.len());
            // Split as pre-aggregation splits keys, so a batch's groups find theirs.
            match CompactKey::of(k, &head_of(k)) {
                Some(compact) => copy.compact.fold(compact, |_| cached, |keys| keys.push(key)),
                None => copy.general.insert(key, hash_row(k), cached),
            }
            copy.bytes += (k.len() + v.len()) as u64;
        }
        Ok(copy)
    }
}

impl<K, V, KF, A, S> BatchExec<(K, A::Out)> for AggregateExec<K, V, KF, A, S>
where
    K: RowField + Send + Sync + 'static,
    V: Send + Sync + 'static,
    KF: Fn(&V) -> K + Send + Sync + 'static,
    A: Aggregator<V>,
    S: Stages<V>,
{
    fn execute(
        &self,
        ctx: &mut ExecContext<'_>,
        input: &[crate::RecordBatch],
    ) -> Result<Vec<(K, A::Out)>> {
        let partitions = ctx.state.num_partitions();
        let threads = ctx.pool.current_num_threads();
        let schema = &self.key_schema;
        let mut slots = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        slots.resize_with(threads, || Mutex::new(ThreadTables::new(schema, partitions)));
        for slot in slots.iter_mut() {
            let tables = slot.get_mut().unwrap_or_else(PoisonError::into_inner);
            tables.clear(schema, partitions);
        }
        // Each task folds into its worker thread's tables. A task that finds them in use (a
        // user closure that itself ran rayon tasks on this thread) folds into tables of its own.
        let spare = self.scan.par_chunks(ctx, input, |chunk| {
            let slot = rayon::current_thread_index().and_then(|t| slots.get(t));
            let mut guard = slot.and_then(|slot| slot.try_lock().ok());
            let mut own = None;
            let tables = match guard.as_deref_mut() {
                Some(tables) => tables,
                None => own.insert(ThreadTables::new(schema, partitions)),
            };
            let mut scratch = Vec::new();
            chunk.each(
                #[inline(always)]
                |value| self.pre_aggregate(tables, &mut scratch, value),
            )?;
            drop(guard);
            Ok(own)
        })?;
        // Shuffle: partition p's general table and compact groups from every thread.
        let mut spare: Vec<ThreadTables<A::Buf>> = spare.into_iter().flatten().collect();
        let mut all: Vec<&mut ThreadTables<A::Buf>> = slots
            .iter_mut()
            .map(|slot| slot.get_mut().unwrap_or_else(PoisonError::into_inner))
            .chain(spare.iter_mut())
            .collect();
        let routed: Vec<Vec<Vec<Routed<A::Buf>>>> = ctx.pool.install(|| {
            all.par_iter_mut()
                .map(|tables| {
                    let mut routed: Vec<_> = (0..partitions).map(|_| Vec::new()).collect();
                    tables.compact.route(&mut routed);
                    routed
                })
                .collect()
        });
        let mut per_partition: Vec<PartitionGroups<'_, A::Buf>> = (0..partitions)
            .map(|_| PartitionGroups {
                general: Vec::with_capacity(all.len()),
                compact: Vec::with_capacity(all.len()),
            })
            .collect();
        for (tables, routed) in all.into_iter().zip(routed) {
            let ThreadTables { compact, general } = tables;
            for (p, (table, groups)) in general.iter_mut().zip(routed).enumerate() {
                if table.len() > 0 {
                    per_partition[p].general.push(table);
                }
                if !groups.is_empty() {
                    per_partition[p].compact.push((compact.rows(), groups));
                }
            }
        }
        let mut merged = self.merged_compact.lock().unwrap_or_else(PoisonError::into_inner);
        merged.resize_with(partitions, || CompactTable::new(RowArena::for_keys(schema.clone())));
        merged.iter_mut().for_each(|table| table.clear(KEEP_TABLE_KEYS));
        let merged: &mut [CompactTable<A::Buf>] = &mut merged;
        let shared: &ExecContext<'_> = ctx;
        let results: Vec<Result<_>> = shared.pool.install(|| {
            per_partition
                .into_par_iter()
                .zip(merged.par_iter_mut())
                .enumerate()
                .map(|(p, (groups, compact))| self.merge_partition(shared, p, groups, compact))
                .collect()
        });
        let mut out = Vec::new();
        let mut figures = StateOperatorMetrics {
            operator_name: "stateStoreSave".to_owned(),
            ..Default::default()
        };
        for result in results {
            let (rows, store, part) = result?;
            out.extend(rows);
            ctx.pending.push(store);
            figures.num_rows_total += part.num_rows_total;
            figures.num_rows_updated += part.num_rows_updated;
            figures.memory_used_bytes += part.memory_used_bytes;
            figures.num_partitions += 1;
        }
        ctx.state_metrics.push(figures);
        self.metrics.add_output(out.len());
        Ok(out)
    }

    fn explain(&self, depth: usize, out: &mut String) {
        let line = format!(
            "AggregateExec: {} by key, state operator {}, partitioning=hash(key, S), output_rows={}",
            self.agg.name(),
            self.operator_id,
            self.metrics.output_rows()
        );
        explain_line(depth, out, &line);
        self.scan.explain(depth + 1, out);
    }

    fn partitioning(&self) -> Partitioning {
        Partitioning::HashByKey
    }

    fn state_operators(&self) -> Vec<StateOperatorSpec> {
        vec![StateOperatorSpec { operator_id: self.operator_id, fingerprint: self.fingerprint() }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Str;
    use crate::row::DataType;

    fn key_row(schema: &Schema, key: &str) -> Vec<u8> {
        let mut row = Vec::new();
        Str::from(key).write_key_row(&mut row, schema);
        row
    }

    /// Hashes are chosen equal on purpose: only the byte comparison can tell the keys apart.
    #[test]
    fn keys_with_one_hash_are_told_apart_by_their_bytes() {
        let schema = Arc::new(Schema::new(vec![Field::new("key", DataType::Utf8, false)]));
        let mut table = GroupTable::<i64>::new(schema.clone());
        let long_a = "a-long-key-whose-tail-differs-1";
        let long_b = "a-long-key-whose-tail-differs-2";
        let (short_a, short_b) = ("abc", "abd");
        for (i, key) in [long_a, short_a].into_iter().enumerate() {
            let row = key_row(&schema, key);
            table.insert(Row::try_new(&row, &schema).unwrap(), 7, i as i64);
        }
        let mut find =
            |key: &str, hash| table.find_mut(&key_row(&schema, key), hash).and_then(|g| g.buf);
        assert_eq!(find(long_a, 7), Some(0));
        assert_eq!(find(short_a, 7), Some(1));
        assert_eq!(find(long_b, 7), None, "differs past the head");
        assert_eq!(find(short_b, 7), None, "differs in the head");
        assert_eq!(find(long_a, 8), None, "another hash");
        table.clear();
        assert_eq!(table.len(), 0);
        assert!(table.find_mut(&key_row(&schema, long_a), 7).is_none(), "cleared");
    }

    /// A count's buffer is an `i64` row, adds and saturates, and reads a 0 it never writes
    /// as 1.
    #[test]
    fn count_buffers_round_trip_add_and_saturate() {
        let schema = CountBuf::schema();
        assert_eq!(schema, <i64 as Data>::schema(), "a count's row is an i64's");
        let count = |n: i64| {
            let mut arena = RowArena::new(schema.clone());
            let pos = crate::data::push_item(&mut arena, &n);
            CountBuf::read(&arena.get(pos))
        };
        for n in [1, 2, 41, i64::MAX, -3] {
            assert_eq!(count(n).get(), n);
        }
        assert_eq!(count(0).get(), 1);
        let counted = (0..5).fold(Aggregator::<()>::init(&Count, ()), |b, _| Count.reduce(b, ()));
        assert_eq!(Aggregator::<()>::finish(&Count, &counted), 6);
        let merged = Aggregator::<()>::merge(&Count, counted, count(i64::MAX - 2));
        assert_eq!(merged.get(), i64::MAX, "saturates");
    }
}

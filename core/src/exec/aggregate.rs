//! [`AggregateExec`]: a streaming aggregation by key (`group_by_key(..).count()`,
//! `reduce_groups`, `agg`), Spark's `HashAggregateExec` + `StateStoreSaveExec` in one operator.
//!
//! Per batch: every input chunk runs the fused stateless stages and pre-aggregates its
//! elements into one hash table per state partition, keys as binary rows in a row arena
//! (the table stores indices, so each key is stored once), partitioned by the pinned row hash
//! (XXH3-64, seed 42; `partition_of` uses the hash's high bits). Then, one task per state
//! partition, in parallel: the chunks' tables for that partition are merged, the partition's
//! state store (version = batch id) is read and updated, and the output rows for the mode are
//! produced. The updated stores are committed by the engine after the sink took the batch.

use std::marker::PhantomData;
use std::sync::Arc;

use hashbrown::HashTable;
use rayon::prelude::*;

use super::stateless::ScanExec;
use super::{
    BatchExec, ExecContext, ExecMetrics, Partitioning, StateOperatorMetrics, StateOperatorSpec,
    explain_line,
};
use crate::data::Data;
use crate::error::{EmberError, Result};
use crate::row::{
    Field, Row, RowArena, RowBuilder, RowField, RowWriter, Schema, hash_row, partition_of,
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
    type Buf = i64;
    type Out = i64;
    fn name(&self) -> String {
        "count(1)".to_owned()
    }
    #[inline]
    fn init(&self, _: V) -> i64 {
        1
    }
    #[inline]
    fn reduce(&self, buf: i64, _: V) -> i64 {
        buf + 1
    }
    #[inline]
    fn merge(&self, older: i64, newer: i64) -> i64 {
        older + newer
    }
    #[inline]
    fn finish(&self, buf: &i64) -> i64 {
        *buf
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

/// Byte equality of two rows, a word at a time: rows are a multiple of 8 bytes long and keys
/// are short, where a call to `memcmp` costs more than the comparison.
#[inline]
fn same_row(a: &[u8], b: &[u8]) -> bool {
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    a.len() == b.len()
        && a.chunks_exact(8).zip(b.chunks_exact(8)).all(|(x, y)| word(x) == word(y))
        && a.chunks_exact(8).remainder() == b.chunks_exact(8).remainder()
}

/// Groups of one partition: keys in a row arena, their hashes, their buffers, and an index of
/// (hash, position, byte offset in the arena); a probe compares the hash in the index entry
/// and reads the key's bytes straight from the arena only when the hashes are equal. Rows of
/// one schema with equal fixed parts have equal lengths, so comparing the probe's length of
/// bytes at the offset is exact.
struct GroupTable<B> {
    keys: RowArena,
    hashes: Vec<u64>,
    bufs: Vec<Option<B>>,
    index: HashTable<(u64, u32, u32)>,
}

impl<B> GroupTable<B> {
    fn new(schema: Arc<Schema>) -> Self {
        GroupTable {
            keys: RowArena::for_keys(schema),
            hashes: Vec::new(),
            bufs: Vec::new(),
            index: HashTable::new(),
        }
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    #[inline]
    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        let (bytes, _) = self.keys.as_parts();
        self.index
            .find(hash, |&(h, i, at)| {
                h == hash
                    && if at == u32::MAX {
                        same_row(self.keys.bytes(i as usize), key)
                    } else {
                        let at = at as usize;
                        bytes.get(at..at + key.len()).is_some_and(|k| same_row(k, key))
                    }
            })
            .map(|&(_, i, _)| i as usize)
    }

    #[inline]
    fn insert(&mut self, key: Row<'_>, hash: u64, buf: B) {
        let at = self.keys.data_len();
        let i = self.keys.push(key);
        self.register(i, at, hash, buf);
    }

    /// Adds a key whose row `fill` writes; returns its position.
    #[inline]
    fn insert_with(&mut self, hash: u64, buf: B, fill: impl FnOnce(&mut RowBuilder<'_>)) -> usize {
        let at = self.keys.data_len();
        let i = self.keys.push_with(fill);
        self.register(i, at, hash, buf);
        i
    }

    /// Indexes the key at position `i`, whose row starts at byte `at` of the arena.
    #[inline]
    fn register(&mut self, i: usize, at: usize, hash: u64, buf: B) {
        self.hashes.push(hash);
        self.bufs.push(Some(buf));
        // Past 4 GiB of keys the offset does not fit: such entries are compared the slow way.
        let at = u32::try_from(at).unwrap_or(u32::MAX);
        self.index.insert_unique(hash, (hash, i as u32, at), |&(h, _, _)| h);
    }

    #[inline]
    fn update(&mut self, i: usize, f: impl FnOnce(B) -> B) {
        let slot = &mut self.bufs[i];
        if let Some(buf) = slot.take() {
            *slot = Some(f(buf));
        }
    }

    /// Adds `key` with `buf`, or merges `buf` into the key's buffer with `merge`.
    fn upsert(&mut self, key: Row<'_>, hash: u64, buf: B, merge: impl FnOnce(B, B) -> B) {
        match self.find(key.bytes(), hash) {
            Some(i) => self.update(i, |old| merge(old, buf)),
            None => self.insert(key, hash, buf),
        }
    }
}

/// One state partition after a batch: its output rows, its updated store, its figures.
type MergedPartition<K, O> = (Vec<(K, O)>, ember_state::StateStore, StateOperatorMetrics);

/// A streaming aggregation of the values `V` of a scan by the key `K` that `key_fn` computes.
pub struct AggregateExec<K, V, KF, A> {
    scan: Arc<ScanExec<V>>,
    key_fn: KF,
    agg: A,
    operator_id: u64,
    key_schema: Arc<Schema>,
    buf_schema: Arc<Schema>,
    metrics: ExecMetrics,
    key: PhantomData<fn() -> K>,
}

impl<K, V, KF, A> AggregateExec<K, V, KF, A>
where
    K: RowField + Send + Sync + 'static,
    V: Send + Sync + 'static,
    KF: Fn(&V) -> K + Send + Sync + 'static,
    A: Aggregator<V>,
{
    /// The aggregation `agg` of `scan`'s values grouped by `key_fn`, as stateful operator
    /// `operator_id`.
    pub(crate) fn new(scan: Arc<ScanExec<V>>, key_fn: KF, agg: A, operator_id: u64) -> Self {
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
            key: PhantomData,
        }
    }

    /// The fingerprint of the state files: the key and buffer schemas together.
    fn fingerprint(&self) -> u64 {
        self.key_schema.fingerprint().rotate_left(1) ^ self.buf_schema.fingerprint()
    }

    /// Pre-aggregates values into `tables`, one per state partition. A key's row is written
    /// into `scratch` for hashing and probing; only a new key goes through the checked row
    /// builder into the table's arena.
    fn pre_aggregate(
        &self,
        tables: &mut [GroupTable<A::Buf>],
        scratch: &mut Vec<u8>,
        items: Vec<V>,
    ) {
        let partitions = tables.len();
        for value in items {
            let key = (self.key_fn)(&value);
            scratch.clear();
            key.write_key_row(scratch, &self.key_schema);
            let hash = hash_row(scratch);
            let table = &mut tables[partition_of(hash, partitions)];
            match table.find(scratch, hash) {
                Some(i) => table.update(i, |buf| self.agg.reduce(buf, value)),
                None => {
                    let i = table.insert_with(hash, self.agg.init(value), |b| {
                        b.reserve_var(key.var_size());
                        key.write(b, 0);
                    });
                    debug_assert_eq!(table.keys.bytes(i), &scratch[..], "key row encodings differ");
                }
            }
        }
    }

    /// Merges one partition's pre-aggregated tables with its state; returns the output rows
    /// for `mode`, the updated store and the partition's figures.
    fn merge_partition(
        &self,
        ctx: &ExecContext<'_>,
        partition: usize,
        mut tables: Vec<GroupTable<A::Buf>>,
    ) -> Result<MergedPartition<K, A::Out>> {
        let mut merged = if tables.is_empty() {
            GroupTable::new(self.key_schema.clone())
        } else {
            tables.swap_remove(0)
        };
        for mut table in tables {
            for i in 0..table.len() {
                if let Some(buf) = table.bufs[i].take() {
                    let key = table.keys.get(i);
                    merged.upsert(key, table.hashes[i], buf, |a, b| self.agg.merge(a, b));
                }
            }
        }

        let provider = ctx.state.provider(self.operator_id, partition);
        let mut store = provider.load(ctx.batch_id)?;
        let mut out = Vec::new();
        let mut value = RowWriter::new();
        let mut added_keys = 0u64;
        let mut added_bytes = 0u64;
        for i in 0..merged.len() {
            let Some(buf) = merged.bufs[i].take() else { continue };
            let key = merged.keys.bytes(i);
            let (buf, is_new) = match store.get(key)? {
                Some(old) => {
                    let row = Row::try_new(old, &self.buf_schema).map_err(|e| {
                        EmberError::State(ember_state::StateError::InvalidArgument(format!(
                            "state value of operator {} partition {partition} at version {}: {e}",
                            self.operator_id, ctx.batch_id
                        )))
                    })?;
                    (self.agg.merge(A::Buf::read(&row), buf), false)
                }
                None => (buf, true),
            };
            let row = value.write(&self.buf_schema, |b| {
                b.reserve_var(buf.var_size());
                buf.write(b);
            });
            if is_new {
                added_keys += 1;
                added_bytes += (key.len() + row.bytes().len()) as u64;
            }
            store.put(key, row.bytes());
            if ctx.mode == OutputMode::Update {
                out.push((K::read(&merged.keys.get(i), 0), self.agg.finish(&buf)));
            }
        }

        let mut figures = StateOperatorMetrics {
            operator_name: "stateStoreSave".to_owned(),
            num_rows_updated: merged.len() as u64,
            num_partitions: 1,
            ..Default::default()
        };
        match ctx.mode {
            OutputMode::Complete => {
                for entry in store.iter() {
                    let (k, v) = entry?;
                    let key = Row::try_new(k, &self.key_schema)?;
                    let buf = A::Buf::read(&Row::try_new(v, &self.buf_schema)?);
                    out.push((K::read(&key, 0), self.agg.finish(&buf)));
                    figures.num_rows_total += 1;
                    figures.memory_used_bytes += (k.len() + v.len()) as u64;
                }
                ctx.state.set_totals(
                    self.operator_id,
                    partition,
                    figures.num_rows_total,
                    figures.memory_used_bytes,
                );
            }
            _ => {
                let (rows, bytes) = ctx.state.add_totals(
                    self.operator_id,
                    partition,
                    &store,
                    added_keys,
                    added_bytes,
                )?;
                figures.num_rows_total = rows;
                figures.memory_used_bytes = bytes;
            }
        }
        Ok((out, store, figures))
    }
}

impl<K, V, KF, A> BatchExec<(K, A::Out)> for AggregateExec<K, V, KF, A>
where
    K: RowField + Send + Sync + 'static,
    V: Send + Sync + 'static,
    KF: Fn(&V) -> K + Send + Sync + 'static,
    A: Aggregator<V>,
{
    fn execute(
        &self,
        ctx: &mut ExecContext<'_>,
        input: &[crate::RecordBatch],
    ) -> Result<Vec<(K, A::Out)>> {
        let partitions = ctx.state.num_partitions();
        let per_chunk = self.scan.fold_chunks(
            ctx,
            input,
            || {
                let tables: Vec<GroupTable<A::Buf>> =
                    (0..partitions).map(|_| GroupTable::new(self.key_schema.clone())).collect();
                (tables, Vec::new())
            },
            |(tables, writer), items| self.pre_aggregate(tables, writer, items),
        )?;
        // Shuffle: partition p's tables from every chunk.
        let mut per_partition: Vec<Vec<GroupTable<A::Buf>>> =
            (0..partitions).map(|_| Vec::with_capacity(per_chunk.len())).collect();
        for (tables, _) in per_chunk {
            for (p, table) in tables.into_iter().enumerate() {
                if table.len() > 0 {
                    per_partition[p].push(table);
                }
            }
        }
        let shared: &ExecContext<'_> = ctx;
        let results: Vec<Result<_>> = shared.pool.install(|| {
            per_partition
                .into_par_iter()
                .enumerate()
                .map(|(p, tables)| self.merge_partition(shared, p, tables))
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

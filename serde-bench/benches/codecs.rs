//! Every operation (encode, decode, field read, group-by, sort) of every contender on every data
//! set, per batch of rows. The row codecs' operations on the serialized form validate the batch
//! once and then read in place; validation is part of every number.
//!
//! Criterion reports time per batch and rows per second; ns/row is the batch time divided by the
//! batch size. Bytes per row are printed once per contender before its measurements.
//! `EMBER_BENCH_ROWS` sets the batch size (default 10 000).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ember::row::RowArena;
use ember_serde_bench::contenders::BenchRecord;
use ember_serde_bench::contenders::contenders;
use ember_serde_bench::rows::trusted;
use ember_serde_bench::{Person, Wide, WordCount};

const SEED: u64 = 42;

fn rows() -> usize {
    std::env::var("EMBER_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn bench_data_set<R: BenchRecord>(c: &mut Criterion) {
    let n = rows();
    let data = R::generate(SEED, n);
    let mut group = c.benchmark_group(R::DATASET);
    group.throughput(Throughput::Elements(n as u64));
    for mut codec in contenders::<R>() {
        let name = codec.name();
        let mut bytes = Vec::new();
        codec.encode(&data, &mut bytes).expect("encode");
        eprintln!(
            "{}/{name}: {:.2} bytes/row ({} rows)",
            R::DATASET,
            bytes.len() as f64 / n as f64,
            n
        );
        let mut buffer = Vec::with_capacity(bytes.len());
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| codec.encode(black_box(&data), &mut buffer).expect("encode"));
        });
        let mut decoded: Vec<R> = Vec::with_capacity(n);
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| codec.decode(black_box(&bytes), &mut decoded).expect("decode"));
        });
        group.bench_function(BenchmarkId::new("field_read", name), |b| {
            b.iter(|| codec.field_sum(black_box(&bytes)).expect("field read"));
        });
        group.bench_function(BenchmarkId::new("group_by", name), |b| {
            b.iter(|| codec.group_sum(black_box(&bytes)).expect("group-by"));
        });
        group.bench_function(BenchmarkId::new("sort", name), |b| {
            b.iter(|| codec.sort_order(black_box(&bytes)).expect("sort"));
        });
    }
    bench_trusted(&mut group, &data);
    group.finish();
}

/// The same operations on rows Ember wrote itself and keeps in memory: no framing, no
/// validation (`ember-row-trusted` in the report).
fn bench_trusted<R: BenchRecord>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    data: &[R],
) {
    let name = "ember-row-trusted";
    let mut arena = RowArena::of::<R>();
    trusted::encode(data, &mut arena);
    let mut scratch = RowArena::of::<R>();
    group.bench_function(BenchmarkId::new("encode", name), |b| {
        b.iter(|| trusted::encode(black_box(data), &mut scratch));
    });
    let mut decoded: Vec<R> = Vec::with_capacity(data.len());
    group.bench_function(BenchmarkId::new("decode", name), |b| {
        b.iter(|| trusted::decode(black_box(&arena), &mut decoded));
    });
    group.bench_function(BenchmarkId::new("field_read", name), |b| {
        b.iter(|| trusted::field_sum::<R>(black_box(&arena)));
    });
    group.bench_function(BenchmarkId::new("group_by", name), |b| {
        b.iter(|| trusted::group_sum::<R>(black_box(&arena)));
    });
    group.bench_function(BenchmarkId::new("sort", name), |b| {
        b.iter(|| trusted::sort_order::<R>(black_box(&arena)));
    });
}

fn codecs(c: &mut Criterion) {
    bench_data_set::<Person>(c);
    bench_data_set::<Wide>(c);
    bench_data_set::<WordCount>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = codecs
}
criterion_main!(benches);

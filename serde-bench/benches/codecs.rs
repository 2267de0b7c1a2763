//! Encode and decode of every contender on every data set, per batch of rows.
//!
//! Criterion reports time per batch and rows per second; ns/row is the batch time divided by the
//! batch size. Bytes per row are printed once per contender before its measurements.
//! `EMBER_BENCH_ROWS` sets the batch size (default 10 000).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ember_serde_bench::contenders::contenders;
use ember_serde_bench::java::JavaRecord;
use ember_serde_bench::{Person, Wide, WordCount};
use serde::Serialize;
use serde::de::DeserializeOwned;

const SEED: u64 = 42;

fn rows() -> usize {
    std::env::var("EMBER_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn bench_data_set<R>(c: &mut Criterion)
where
    R: JavaRecord + Serialize + DeserializeOwned,
{
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
    }
    group.finish();
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

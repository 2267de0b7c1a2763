//! Row-format benchmarks on `Person` rows: generated vs interpreted encode, fresh vs reused
//! writer, decode to owned, validated vs trusted in-place field reads, and Arrow ↔ rows.
//! Every group measures a batch of `ROWS` rows and reports throughput in rows, so
//! ns/row = 1 / throughput.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ember::row::arrow::{append_batch, arena_to_batch};
use ember::row::{FieldSource, Row, RowArena, RowType, RowWriter, Value, encode_values};
use ember_benches::{Person, people};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 4096;

fn person_values(p: &Person) -> Vec<Value> {
    vec![
        Value::Int64(p.id),
        Value::Utf8(p.name.clone()),
        Value::Int32(p.age),
        Value::Utf8(p.city.clone()),
        Value::Float64(p.score),
    ]
}

fn encode(c: &mut Criterion) {
    let data = people(ROWS, 1);
    let values: Vec<Vec<Value>> = data.iter().map(person_values).collect();
    let schema = Person::schema();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(ROWS as u64));

    group.bench_function("generated/reused_writer", |b| {
        let mut writer = RowWriter::new();
        b.iter(|| {
            for p in &data {
                black_box(writer.encode(p).bytes().len());
            }
        })
    });
    group.bench_function("generated/fresh_writer", |b| {
        b.iter(|| {
            for p in &data {
                let mut writer = RowWriter::new();
                black_box(writer.encode(p).bytes().len());
            }
        })
    });
    group.bench_function("generated/arena", |b| {
        let mut arena = RowArena::of::<Person>();
        b.iter(|| {
            arena.clear();
            for p in &data {
                arena.push_encoded(p);
            }
            black_box(arena.data_len());
        })
    });
    group.bench_function("interpreted/reused_writer", |b| {
        let mut writer = RowWriter::new();
        b.iter(|| {
            for v in &values {
                let row = writer.write(schema, |builder| encode_values(v, builder).expect("fits"));
                black_box(row.bytes().len());
            }
        })
    });
    group.finish();
}

fn decode_and_read(c: &mut Criterion) {
    let data = people(ROWS, 2);
    let mut arena = RowArena::of::<Person>();
    for p in &data {
        arena.push_encoded(p);
    }
    let schema: &Arc<_> = Person::schema();
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(ROWS as u64));

    group.bench_function("decode_to_owned", |b| {
        b.iter_batched(
            || Vec::with_capacity(ROWS),
            |mut out: Vec<Person>| {
                for row in arena.iter() {
                    out.push(Person::decode(row));
                }
                out
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("field/trusted_view_name", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for row in arena.iter() {
                total += Person::view(row).name().len();
            }
            black_box(total)
        })
    });
    group.bench_function("field/trusted_get_i64", |b| {
        b.iter(|| {
            let mut total = 0i64;
            for row in arena.iter() {
                total = total.wrapping_add(row.get_i64(0));
            }
            black_box(total)
        })
    });
    group.bench_function("field/trusted_get_str", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for row in arena.iter() {
                total += row.get_str(1).len();
            }
            black_box(total)
        })
    });
    group.bench_function("field/validated_then_read", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for i in 0..arena.len() {
                let row = Row::try_new(arena.bytes(i), schema).expect("valid");
                total += row.get_str(1).len();
            }
            black_box(total)
        })
    });
    group.finish();
}

fn arrow(c: &mut Criterion) {
    let data = people(ROWS, 3);
    let mut arena = RowArena::of::<Person>();
    for p in &data {
        arena.push_encoded(p);
    }
    let batch = arena_to_batch(&arena).expect("batch");
    let mut group = c.benchmark_group("arrow");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("arrow_to_rows", |b| {
        let mut out = RowArena::of::<Person>();
        b.iter(|| {
            out.clear();
            append_batch(&mut out, &batch).expect("converts");
            black_box(out.data_len());
        })
    });
    group.bench_function("rows_to_arrow", |b| {
        b.iter(|| black_box(arena_to_batch(&arena).expect("converts").num_rows()))
    });
    group.finish();
}

criterion_group!(benches, encode, decode_and_read, arrow);
criterion_main!(benches);

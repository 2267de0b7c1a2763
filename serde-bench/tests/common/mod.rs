//! Shared by the test binaries: proptest strategies for the records, a seeded configuration, and
//! every contender boxed behind `Codec`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use ember_serde_bench::arrow_ipc::ArrowIpc;
use ember_serde_bench::java::JavaSerializer;
use ember_serde_bench::kryo::{FIRST_USER_CLASS_ID, KryoStyle};
use ember_serde_bench::rows::{EmberRow, EmberRowInterpreted};
use ember_serde_bench::{Codec, Person, Record, Wide, WordCount};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Fixed seed and no persistence files: the same cases on every machine, CI included.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0045_4D42_4552),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every contender, with short Java reset windows as well so small batches cross resets.
pub fn codecs<R>() -> Vec<Box<dyn Codec<R>>>
where
    R: ember_serde_bench::contenders::BenchRecord,
{
    vec![
        Box::new(JavaSerializer::new()),
        Box::new(JavaSerializer::with_reset_interval(3)),
        Box::new(JavaSerializer::with_reset_interval(0)),
        Box::new(KryoStyle::registered(FIRST_USER_CLASS_ID)),
        Box::new(KryoStyle::registered(1000)),
        Box::new(KryoStyle::unregistered()),
        Box::new(EmberRow::new()),
        Box::new(EmberRowInterpreted::new()),
        Box::new(ArrowIpc::new()),
    ]
}

/// Any string, NUL and characters outside the BMP included.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// Any `f64` but NaN, which no record equality could compare.
pub fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN", |x| !x.is_nan())
}

/// Integers that often fall in the JVM's box cache (-128..=127) and often just outside it.
pub fn small_or_any_i32() -> impl Strategy<Value = i32> {
    prop_oneof![-130i32..130, any::<i32>()]
}

pub fn small_or_any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![-130i64..130, any::<i64>()]
}

pub fn person() -> impl Strategy<Value = Person> {
    (any::<i64>(), text(), any::<i32>(), text(), float())
        .prop_map(|(id, name, age, city, score)| Person { id, name, age, city, score })
}

pub fn word_count() -> impl Strategy<Value = WordCount> {
    (text(), any::<i64>()).prop_map(|(word, count)| WordCount { word, count })
}

pub fn wide() -> impl Strategy<Value = Wide> {
    let head = (
        any::<i64>(),
        text(),
        any::<i32>(),
        float(),
        any::<bool>(),
        text(),
        any::<i64>(),
        any::<i32>(),
        float(),
        any::<bool>(),
    );
    let tail = (
        prop::option::of(text()),
        prop::option::of(small_or_any_i64()),
        prop::option::of(small_or_any_i32()),
        prop::option::of(float()),
        prop::option::of(text()),
        any::<i64>(),
        any::<i32>(),
        float(),
        text(),
        prop::option::of(small_or_any_i32()),
    );
    (head, tail).prop_map(
        |(
            (id, category, quantity, price, in_stock, label, created_ms, rating, ratio, flagged),
            (comment, parent_id, level, discount, region, amount, visits, weight, code, priority),
        )| Wide {
            id,
            category,
            quantity,
            price,
            in_stock,
            label,
            created_ms,
            rating,
            ratio,
            flagged,
            comment,
            parent_id,
            level,
            discount,
            region,
            amount,
            visits,
            weight,
            code,
            priority,
        },
    )
}

/// A generated batch of `R`, for tests that want realistic rather than arbitrary records.
pub fn generated<R: Record>(seed: u64, rows: usize) -> Vec<R> {
    R::generate(seed, rows)
}

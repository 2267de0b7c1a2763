//! The Ember row contenders: both encoders write the same bytes, the runtime schema equals the
//! derived one, and damaged row streams give errors, never panics.

mod common;

use common::{config, generated};
use ember::row::RowType;
use ember_serde_bench::contenders::BenchRecord;
use ember_serde_bench::rows::{EmberRow, EmberRowInterpreted, HEADER_BYTES, RowRecord};
use ember_serde_bench::{Codec, Person, Record, Wide, WordCount, ops};
use proptest::prelude::*;

fn same_bytes<R: BenchRecord>(rows: &[R]) {
    let mut generated_bytes = Vec::new();
    let mut interpreted_bytes = Vec::new();
    Codec::<R>::encode(&mut EmberRow::new(), rows, &mut generated_bytes).unwrap();
    Codec::<R>::encode(&mut EmberRowInterpreted::new(), rows, &mut interpreted_bytes).unwrap();
    assert_eq!(generated_bytes, interpreted_bytes, "{}", R::DATASET);
}

#[test]
fn generated_and_interpreted_encoders_write_identical_bytes() {
    for n in [0, 1, 7, 300] {
        same_bytes(&Person::generate(5, n));
        same_bytes(&Wide::generate(5, n));
        same_bytes(&WordCount::generate(5, n));
    }
}

#[test]
fn runtime_schemas_equal_the_derived_ones() {
    assert_eq!(&Person::runtime_schema(), &**Person::schema());
    assert_eq!(&Wide::runtime_schema(), &**Wide::schema());
    assert_eq!(&WordCount::runtime_schema(), &**WordCount::schema());
}

#[test]
fn in_place_operations_equal_the_reference_on_generated_data() {
    fn check<R: BenchRecord>() {
        let rows = R::generate(11, 2_000);
        for mut codec in ember_serde_bench::contenders::contenders::<R>() {
            let mut bytes = Vec::new();
            codec.encode(&rows, &mut bytes).unwrap();
            assert_eq!(codec.field_sum(&bytes).unwrap(), ops::field_sum(&rows), "{}", codec.name());
            assert_eq!(codec.group_sum(&bytes).unwrap(), ops::group_sum(&rows), "{}", codec.name());
            assert_eq!(
                codec.sort_order(&bytes).unwrap(),
                ops::sort_order(&rows),
                "{}",
                codec.name()
            );
        }
    }
    check::<Person>();
    check::<Wide>();
    check::<WordCount>();
}

#[test]
fn a_stream_of_another_schema_is_refused() {
    let mut bytes = Vec::new();
    Codec::<Person>::encode(&mut EmberRow::new(), &Person::generate(1, 3), &mut bytes).unwrap();
    let mut out: Vec<WordCount> = Vec::new();
    assert!(Codec::<WordCount>::decode(&mut EmberRow::new(), &bytes, &mut out).is_err());
}

fn try_everything<R: BenchRecord>(bytes: &[u8]) {
    let mut out: Vec<R> = Vec::new();
    for codec in [&mut EmberRow::new() as &mut dyn Codec<R>, &mut EmberRowInterpreted::new()] {
        let _ = codec.decode(bytes, &mut out);
        let _ = codec.field_sum(bytes);
        let _ = codec.group_sum(bytes);
        let _ = codec.sort_order(bytes);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A valid header (so the fingerprint check passes) followed by anything.
    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        seed in any::<u64>(),
        rows in 0usize..4,
        tail in prop::collection::vec(any::<u8>(), 0..400),
        keep_index in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        Codec::<Wide>::encode(&mut EmberRow::new(), &generated::<Wide>(seed, rows), &mut bytes)
            .unwrap();
        let keep = if keep_index { bytes.len().min(HEADER_BYTES + 8 * rows) } else { HEADER_BYTES };
        bytes.truncate(keep);
        bytes.extend_from_slice(&tail);
        try_everything::<Wide>(&bytes);
    }

    /// Rows whose bytes are overwritten at random positions after the index.
    #[test]
    fn damaged_rows_never_panic(
        seed in any::<u64>(),
        rows in 1usize..6,
        hits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = Vec::new();
        Codec::<Person>::encode(&mut EmberRow::new(), &generated::<Person>(seed, rows), &mut bytes)
            .unwrap();
        let start = HEADER_BYTES + 4 * rows;
        for (at, value) in hits {
            let span = bytes.len() - start;
            bytes[start + at % span] = value;
        }
        try_everything::<Person>(&bytes);
    }
}

#[test]
fn trusted_operations_equal_the_reference() {
    use ember::row::RowArena;
    use ember_serde_bench::rows::trusted;
    fn check<R: BenchRecord>() {
        let rows = R::generate(13, 1_000);
        let mut arena = RowArena::of::<R>();
        trusted::encode(&rows, &mut arena);
        let mut decoded = Vec::new();
        trusted::decode::<R>(&arena, &mut decoded);
        assert_eq!(decoded, rows);
        assert_eq!(trusted::field_sum::<R>(&arena), ops::field_sum(&rows));
        assert_eq!(trusted::group_sum::<R>(&arena), ops::group_sum(&rows));
        assert_eq!(trusted::sort_order::<R>(&arena), ops::sort_order(&rows));
    }
    check::<Person>();
    check::<Wide>();
    check::<WordCount>();
}

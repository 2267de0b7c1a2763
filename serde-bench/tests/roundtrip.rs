//! Every codec over every data set: decode(encode(rows)) == rows, and the operations on the
//! serialized form agree with the reference operations on the records.

mod common;

use common::{codecs, config, person, wide, word_count};
use ember_serde_bench::contenders::BenchRecord;
use ember_serde_bench::{Person, Record, Wide, WordCount, ops};
use proptest::prelude::*;

fn round_trip_all<R>(rows: &[R]) -> Result<(), TestCaseError>
where
    R: BenchRecord,
{
    let mut bytes = Vec::new();
    let mut decoded = Vec::new();
    for mut codec in codecs::<R>() {
        let name = codec.name();
        codec.encode(rows, &mut bytes).unwrap();
        codec.decode(&bytes, &mut decoded).unwrap();
        prop_assert_eq!(&decoded[..], rows, "{}", name);
        prop_assert_eq!(codec.field_sum(&bytes).unwrap(), ops::field_sum(rows));
        prop_assert_eq!(codec.group_sum(&bytes).unwrap(), ops::group_sum(rows));
        prop_assert_eq!(codec.sort_order(&bytes).unwrap(), ops::sort_order(rows));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn person_round_trips_through_every_codec(rows in prop::collection::vec(person(), 0..230)) {
        round_trip_all(&rows)?;
    }

    #[test]
    fn wide_round_trips_through_every_codec(rows in prop::collection::vec(wide(), 0..230)) {
        round_trip_all(&rows)?;
    }

    #[test]
    fn word_count_round_trips_through_every_codec(
        rows in prop::collection::vec(word_count(), 0..230),
    ) {
        round_trip_all(&rows)?;
    }

    #[test]
    fn generated_data_sets_round_trip(seed in any::<u64>(), n in 0usize..600) {
        round_trip_all(&Person::generate(seed, n))?;
        round_trip_all(&Wide::generate(seed, n))?;
        round_trip_all(&WordCount::generate(seed, n))?;
    }
}

#[test]
fn encode_reuses_and_replaces_the_buffer() {
    let rows = Person::generate(1, 50);
    for mut codec in codecs::<Person>() {
        let mut bytes = vec![0xAB; 3];
        codec.encode(&rows, &mut bytes).unwrap();
        let first = bytes.clone();
        codec.encode(&rows, &mut bytes).unwrap();
        assert_eq!(first, bytes, "{}", codec.name());
        let mut decoded = vec![Person::generate(2, 1).remove(0)];
        codec.decode(&bytes, &mut decoded).unwrap();
        assert_eq!(decoded, rows, "{}", codec.name());
    }
}

#[test]
fn java_stream_of_a_reset_window_boundary_ends_with_reset() {
    let mut bytes = Vec::new();
    let mut codec = ember_serde_bench::java::JavaSerializer::new();
    ember_serde_bench::Codec::<Person>::encode(&mut codec, &Person::generate(3, 100), &mut bytes)
        .unwrap();
    assert_eq!(bytes.last(), Some(&0x79));
    ember_serde_bench::Codec::<Person>::encode(&mut codec, &Person::generate(3, 99), &mut bytes)
        .unwrap();
    assert_ne!(bytes.last(), Some(&0x79));
}

//! Typed elements through rows and Arrow and back: every supported element type round-trips,
//! and the string fast path reads what the row path reads.

use ember::data::{Data, items_to_batch};
use ember::{Row, Str};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config { cases: 128, rng_seed: RngSeed::Fixed(0xE4BE), failure_persistence: None, ..Config::default() }
}

#[derive(Row, Debug, Clone, PartialEq)]
struct Reading {
    sensor: String,
    value: Option<f64>,
    tags: Vec<String>,
}

fn round_trip<T: Data + Clone + PartialEq + std::fmt::Debug>(items: Vec<T>) -> Result<(), TestCaseError> {
    let schema = T::schema();
    let batch = items_to_batch(&schema, &items).unwrap();
    prop_assert_eq!(batch.num_rows(), items.len());
    let back = T::from_batch(&schema, &batch).unwrap();
    prop_assert_eq!(back, items);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn strings_round_trip(items in prop::collection::vec(".{0,40}", 0..50)) {
        round_trip(items.clone())?;
        round_trip(items.iter().map(|s| Str::from(s.as_str())).collect::<Vec<_>>())?;
    }

    #[test]
    fn optional_primitives_round_trip(items in prop::collection::vec(prop::option::of(any::<i64>()), 0..50)) {
        round_trip(items)?;
    }

    #[test]
    fn tuples_round_trip(items in prop::collection::vec((".{0,12}", any::<i32>(), prop::option::of(any::<bool>())), 0..50)) {
        round_trip(items.into_iter().map(|(s, i, b)| (Str::from(s), i, b)).collect::<Vec<_>>())?;
    }

    #[test]
    fn derived_structs_round_trip(items in prop::collection::vec(
        (".{0,10}", prop::option::of(-1e9f64..1e9), prop::collection::vec(".{0,5}", 0..4)), 0..30)) {
        round_trip(items.into_iter().map(|(sensor, value, tags)| Reading { sensor, value, tags }).collect::<Vec<_>>())?;
    }
}

#[test]
fn tuple_columns_are_named_as_in_spark() {
    let names: Vec<String> = <(i64, Str, bool)>::fields().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["_1", "_2", "_3"]);
    let names: Vec<String> = <i64>::fields().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["value"]);
}

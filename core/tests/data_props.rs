//! Typed elements through rows and Arrow and back: every supported element type round-trips,
//! and the string fast path reads what the row path reads.

use ember::data::{Data, items_to_batch};
use ember::{Row, Str};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 128,
        rng_seed: RngSeed::Fixed(0xE4BE),
        failure_persistence: None,
        ..Config::default()
    }
}

#[derive(Row, Debug, Clone, PartialEq)]
struct Reading {
    sensor: String,
    value: Option<f64>,
    tags: Vec<String>,
}

fn round_trip<T: Data + Clone + PartialEq + std::fmt::Debug>(
    items: Vec<T>,
) -> Result<(), TestCaseError> {
    let schema = T::schema();
    let batch = items_to_batch(&schema, &items).unwrap();
    prop_assert_eq!(batch.num_rows(), items.len());
    let back = T::from_batch(&schema, &batch).unwrap();
    prop_assert_eq!(&back, &items);
    // The fused stages' first stage reads the same elements, in order.
    let mut streamed = Vec::new();
    T::for_each_in(&schema, &batch, |item| streamed.push(item)).unwrap();
    prop_assert_eq!(streamed, items);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn strings_round_trip(items in prop::collection::vec(".{0,40}", 0..50)) {
        round_trip(items.clone())?;
        round_trip(items.iter().map(|s| Str::from(s.as_str())).collect::<Vec<_>>())?;
    }

    /// Strings read from any slice of a batch are its strings; the long ones share the batch's
    /// buffer, stay right after the batch is dropped, and split as `str::split` does.
    #[test]
    fn strings_read_from_a_batch_slice_share_its_buffer(
        items in prop::collection::vec("[a-z é]{0,60}", 1..40),
        cut in any::<prop::sample::Index>(),
        take in any::<prop::sample::Index>(),
    ) {
        let schema = <Str as Data>::schema();
        let batch = items_to_batch(&schema, &items).unwrap();
        let offset = cut.index(items.len());
        let len = take.index(items.len() - offset + 1);
        let strings = Str::from_batch(&schema, &batch.slice(offset, len)).unwrap();
        drop(batch);
        prop_assert_eq!(strings.len(), len);
        for (s, item) in strings.iter().zip(&items[offset..]) {
            prop_assert_eq!(s.as_str(), item.as_str());
            prop_assert_eq!(s.is_shared(), item.len() > ember::data::INLINE_CAPACITY);
            let pieces: Vec<Str> = ember::split(s.clone(), ' ').collect();
            prop_assert_eq!(pieces, item.split(' ').collect::<Vec<_>>());
        }
    }

    #[test]
    fn optional_primitives_round_trip(items in prop::collection::vec(prop::option::of(any::<i64>()), 0..300)) {
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

proptest! {
    #![proptest_config(config())]

    /// The direct key-row writers of strings and integers, on a vector and on the stack,
    /// write exactly what the checked row builder writes.
    #[test]
    fn direct_key_rows_equal_builder_rows(s in ".{0,40}", i in any::<i64>(), j in any::<i32>()) {
        fn both<K: ember::row::RowField>(k: &K) -> (Vec<u8>, Vec<u8>) {
            let schema = ember::row::Schema::new(vec![ember::row::Field::new("key", K::data_type(), K::NULLABLE)]);
            let mut direct = Vec::new();
            k.write_key_row(&mut direct, &schema);
            let mut built = Vec::new();
            let mut b = ember::row::RowBuilder::begin_sized(&mut built, &schema, ember::row::FloatMode::Normalized, k.var_size());
            k.write(&mut b, 0);
            b.finish();
            ember::row::Row::try_new(&direct, &schema).unwrap();
            let mut short = [0u8; ember::row::SHORT_KEY_ROW];
            if let Some(len) = k.write_short_key_row(&mut short) {
                assert_eq!(&short[..len], &direct[..], "the short key row differs");
            }
            (direct, built)
        }
        let (a, b) = both(&s);
        prop_assert_eq!(a, b);
        let key = Str::from(s.as_str());
        let mut short = [0u8; ember::row::SHORT_KEY_ROW];
        prop_assert_eq!(
            ember::row::RowField::write_short_key_row(&key, &mut short).is_some(),
            key.len() <= 16
        );
        let (a, b) = both(&key);
        prop_assert_eq!(a, b);
        let (a, b) = both(&i);
        prop_assert_eq!(a, b);
        let (a, b) = both(&j);
        prop_assert_eq!(a, b);
    }
}

proptest! {
    #![proptest_config(config())]

    /// `split` gives the pieces `str::split` gives: pieces of every length around the 16-byte
    /// window, at the start, middle and end of texts shorter and longer than it and than the
    /// 64-byte blocks searched at once, and a NUL separator, which the zeros past a text's end
    /// must not match.
    #[test]
    fn split_matches_str_split(
        text in "([a b,é\\x00]|[a-z]{15,18}|é{8}){0,30}",
        sep in prop::sample::select(vec![' ', ',', 'é', '\0']),
        skip in 0usize..12,
    ) {
        let std: Vec<String> = text.split(sep).map(str::to_owned).collect();
        // Through `next`, through `fold`, and `fold` after `skip` pieces taken by `next`.
        let mut pieces = ember::split(Str::from(text.as_str()), sep);
        let by_next: Vec<String> = pieces.by_ref().map(|s| s.to_string()).collect();
        prop_assert_eq!(&by_next, &std);
        prop_assert!(pieces.next().is_none(), "a finished split stays finished");
        let mut by_fold = Vec::new();
        ember::split(Str::from(text.as_str()), sep).for_each(|s| by_fold.push(s.to_string()));
        prop_assert_eq!(&by_fold, &std);
        let mut pieces = ember::split(Str::from(text.as_str()), sep);
        let mut mixed: Vec<String> = pieces.by_ref().take(skip).map(|s| s.to_string()).collect();
        pieces.for_each(|s| mixed.push(s.to_string()));
        prop_assert_eq!(&mixed, &std);
    }

    /// A `Str` holds, orders and compares as the `str` it was built from, inline or not.
    #[test]
    fn str_behaves_as_its_str(a in "\\PC{0,30}", b in "\\PC{0,30}") {
        let (x, y) = (Str::new(&a), Str::from(b.clone()));
        prop_assert_eq!(x.as_str(), a.as_str());
        prop_assert_eq!(y.as_str(), b.as_str());
        prop_assert_eq!(x.is_inline(), a.len() <= ember::small_str::INLINE_CAPACITY);
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(x == y, a == b);
        prop_assert_eq!(String::from(x.clone()), a);
    }
}

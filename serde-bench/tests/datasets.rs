//! The data sets are deterministic, configurable in size, and shaped as documented.

use std::collections::HashMap;

use ember_serde_bench::data::{ZIPF_EXPONENT, vocabulary};
use ember_serde_bench::{Person, Record, Wide, WordCount};

fn deterministic_and_prefix_stable<R: Record>() {
    let a = R::generate(42, 500);
    assert_eq!(a.len(), 500);
    assert_eq!(a, R::generate(42, 500), "{}", R::DATASET);
    assert_eq!(R::generate(42, 120)[..], a[..120], "{}", R::DATASET);
    assert_ne!(R::generate(43, 500), a, "{}", R::DATASET);
    assert!(R::generate(42, 0).is_empty());
}

#[test]
fn data_sets_are_a_function_of_seed_and_rows() {
    deterministic_and_prefix_stable::<Person>();
    deterministic_and_prefix_stable::<Wide>();
    deterministic_and_prefix_stable::<WordCount>();
}

#[test]
fn person_values_stay_in_their_documented_ranges() {
    for (i, p) in Person::generate(7, 2000).iter().enumerate() {
        assert_eq!(p.id, i as i64);
        assert!((18..=90).contains(&p.age));
        assert!((0.0..100.0).contains(&p.score));
        assert!(p.name.contains(' '));
        assert!(!p.city.is_empty());
    }
}

#[test]
fn wide_has_about_ten_percent_nulls_in_each_nullable_field() {
    let rows = Wide::generate(11, 20_000);
    let nulls = [
        rows.iter().filter(|w| w.comment.is_none()).count(),
        rows.iter().filter(|w| w.parent_id.is_none()).count(),
        rows.iter().filter(|w| w.level.is_none()).count(),
        rows.iter().filter(|w| w.discount.is_none()).count(),
        rows.iter().filter(|w| w.region.is_none()).count(),
        rows.iter().filter(|w| w.priority.is_none()).count(),
    ];
    for n in nulls {
        let share = n as f64 / rows.len() as f64;
        assert!((0.08..0.12).contains(&share), "null share {share}");
    }
}

#[test]
fn words_follow_a_zipf_law() {
    assert_eq!(ZIPF_EXPONENT, 1.0);
    let rows = WordCount::generate(5, 200_000);
    let mut freq: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *freq.entry(r.word.as_str()).or_default() += 1;
        assert!((1..=9).contains(&r.count));
    }
    let vocab = vocabulary(5);
    // Rank 1 is about twice rank 2 and ten times rank 10 under s = 1.
    let f = |rank: usize| freq[vocab[rank - 1].as_str()] as f64;
    assert!((1.7..2.3).contains(&(f(1) / f(2))), "{}", f(1) / f(2));
    assert!((8.0..12.0).contains(&(f(1) / f(10))), "{}", f(1) / f(10));
    assert_eq!(vocab[0], "the");
}

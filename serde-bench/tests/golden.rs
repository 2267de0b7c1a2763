//! Ember's Java analogue against streams the JDK wrote: the records of
//! `jvm/src/ember/bench/GoldenWriter.java`, built here again, must encode to exactly the golden
//! bytes, and the golden bytes must decode to exactly these records.
//!
//! Regenerate the files with `serde-bench/jvm/generate.sh` (needs a JDK 17).

use ember_serde_bench::java::{JavaRecord, JavaSerializer};
use ember_serde_bench::{Codec, Person, Wide, WordCount};

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Asserts byte equality, reporting the first differing offset instead of two huge dumps.
fn assert_same_bytes(name: &str, ours: &[u8], jdk: &[u8]) {
    if ours == jdk {
        return;
    }
    let at = ours.iter().zip(jdk).position(|(a, b)| a != b).unwrap_or(ours.len().min(jdk.len()));
    let window = |b: &[u8]| b[at.saturating_sub(8)..(at + 16).min(b.len())].to_vec();
    panic!(
        "{name}: Ember wrote {} bytes, the JDK {}; first difference at byte {at}\n ours: {:02x?}\n  jdk: {:02x?}",
        ours.len(),
        jdk.len(),
        window(ours),
        window(jdk)
    );
}

fn check<R: JavaRecord>(name: &str, rows: &[R]) {
    let jdk = golden(name);
    let mut codec = JavaSerializer::new();
    let mut ours = Vec::new();
    codec.encode(rows, &mut ours).unwrap();
    assert_same_bytes(name, &ours, &jdk);
    let mut decoded: Vec<R> = Vec::new();
    codec.decode(&jdk, &mut decoded).unwrap();
    assert_eq!(decoded, rows, "{name}: decoded records differ");
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn person(id: i64, name: &str, age: i32, city: &str, score: f64) -> Person {
    Person { id, name: s(name), age, city: s(city), score }
}

#[test]
fn person_edge_cases_match_the_jdk() {
    let rows = [
        person(1, "Ada Lovelace", 36, "London", 99.5),
        person(2, "", 0, "", 0.0),
        person(3, "Zoë Ångström", -1, "Zürich", -1.5),
        person(4, "東京の花子", 29, "東京", 1e300),
        person(5, "emoji 😀 and 𝄞", 40, "Nul\0City", f64::MIN_POSITIVE),
        person(i64::MIN, "max", i32::MAX, "x", f64::INFINITY),
        person(i64::MAX, "min", i32::MIN, "y", -0.0),
        person(1, "Ada Lovelace", 36, "London", 99.5),
    ];
    check("person_edge.ser", &rows);
}

const CITIES: [&str; 4] = ["Paris", "Zürich", "東京", "São Paulo"];

#[test]
fn person_stream_resets_every_100_objects_as_spark_does() {
    let rows: Vec<Person> = (0..250)
        .map(|i| {
            person(
                i,
                &format!("person-{i}"),
                (i % 100 - 10) as i32,
                CITIES[i as usize % 4],
                i as f64 * 0.25,
            )
        })
        .collect();
    check("person_reset.ser", &rows);
    // Two resets, each followed by the class descriptor in full again.
    let jdk = golden("person_reset.ser");
    let descriptors = jdk.windows(21).filter(|w| *w == b"\x72\x00\x12ember.bench.Person").count();
    assert_eq!(descriptors, 3);
}

#[test]
fn nan_is_written_canonical_as_the_jdk_does() {
    let row = person(1, "nan", 2, "x", f64::from_bits(0xFFF0_0000_0000_0001));
    let jdk = golden("person_nan.ser");
    let mut codec = JavaSerializer::new();
    let mut ours = Vec::new();
    codec.encode(std::slice::from_ref(&row), &mut ours).unwrap();
    assert_same_bytes("person_nan.ser", &ours, &jdk);
    let mut decoded: Vec<Person> = Vec::new();
    codec.decode(&jdk, &mut decoded).unwrap();
    assert_eq!(decoded.len(), 1);
    assert_eq!(decoded[0].score.to_bits(), 0x7FF8_0000_0000_0000);
}

#[test]
fn strings_over_65535_bytes_are_long_strings() {
    check("person_longstring.ser", &[person(7, &"é".repeat(32768), 1, "x", 0.5)]);
}

const CATEGORIES: [&str; 3] = ["books", "garden", "électronique"];
const REGIONS: [&str; 3] = ["north", "south", "𝔬𝔳"];

/// `GoldenWriter.wide(i)`.
fn wide(i: i32) -> Wide {
    let i64v = i64::from(i);
    let f = f64::from(i);
    Wide {
        id: i64v,
        category: s(CATEGORIES[i as usize % 3]),
        quantity: i * 7,
        price: f * 0.5,
        in_stock: i % 2 == 0,
        label: format!("label-{i}"),
        created_ms: 1_700_000_000_000 + i64v,
        rating: i % 5,
        ratio: f / 8.0,
        flagged: i % 7 == 0,
        comment: (i % 10 != 0).then(|| format!("comment {i}")),
        parent_id: (i % 11 != 3).then_some(i64v - 60),
        level: (i % 9 != 0).then_some(i % 10),
        discount: (i % 13 != 0).then_some(f * 0.125),
        region: (i % 6 != 0).then(|| s(REGIONS[i as usize % 3])),
        amount: i64v * i64v - 1000,
        visits: i,
        weight: f * 2.5,
        code: format!("SKU-{i}"),
        priority: (i % 8 != 0).then_some(i * 3),
    }
}

#[test]
fn wide_boxes_nulls_and_integer_cache_match_the_jdk() {
    let mut rows = Vec::new();
    rows.push(Wide {
        comment: None,
        parent_id: None,
        level: None,
        discount: None,
        region: None,
        priority: None,
        ..wide(1)
    });
    for _ in 0..2 {
        rows.push(Wide {
            comment: Some(s("c")),
            parent_id: Some(5),
            level: Some(3),
            discount: Some(0.25),
            region: Some(s("north")),
            priority: Some(1000),
            ..wide(2)
        });
    }
    rows.push(Wide {
        level: Some(-128),
        priority: Some(127),
        parent_id: Some(-129),
        quantity: i32::MIN,
        ..wide(3)
    });
    rows.push(Wide {
        level: Some(128),
        priority: Some(-129),
        parent_id: Some(127),
        discount: Some(f64::NEG_INFINITY),
        ..wide(4)
    });
    rows.push(Wide { comment: Some(s("a\0b 😀")), region: Some(s("")), label: s(""), ..wide(5) });
    rows.extend((0..225).map(wide));
    check("wide_edge.ser", &rows);
}

#[test]
fn word_counts_ending_on_a_reset_match_the_jdk() {
    const WORDS: [&str; 6] = ["the", "naïve", "straße", "𝔘𝔫", "nul\0byte", ""];
    let rows: Vec<WordCount> = (0..200i64)
        .map(|i| WordCount { word: s(WORDS[i as usize % 6]), count: i * 1_000_003 - 77 })
        .collect();
    check("wordcount_200.ser", &rows);
    assert_eq!(golden("wordcount_200.ser").last(), Some(&0x79));
}

#[test]
fn shared_objects_written_by_the_jdk_are_resolved() {
    let jdk = golden("person_shared.ser");
    let mut decoded: Vec<Person> = Vec::new();
    JavaSerializer::new().decode(&jdk, &mut decoded).unwrap();
    let p = person(1, "Ada", 36, "Shared City", 1.5);
    let q = person(2, "Grace", 45, "Shared City", 2.5);
    let r = person(3, "Grace", 50, "Shared City", 3.5);
    assert_eq!(decoded, [p.clone(), p, q, r]);
    // The JDK shared them: a record reference (71 00 7e 00 02) and string references.
    assert!(jdk.windows(5).any(|w| w == [0x71, 0x00, 0x7E, 0x00, 0x02]));
}

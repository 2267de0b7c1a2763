//! Strict parsing of the checkpoint log files: empty, every truncation, every single-byte flip,
//! other versions, extra lines and non-canonical JSON are refused, naming the file; and seeded
//! round trips of random entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ember_state::checkpoint::{
    CheckpointError, CommitEntry, OffsetEntry, PinnedConf, QueryId, SourceOffset, decode_metadata,
    encode_metadata,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn offset_entry() -> OffsetEntry {
    OffsetEntry {
        batch_watermark_ms: 1_000,
        batch_timestamp_ms: 1_700_000_000_000,
        conf: PinnedConf::new(2, "xxh3-64/seed=42", 1),
        offsets: vec![
            Some(SourceOffset::from_json(r#"{"logOffset":7,"files":["a b","c\nd"]}"#).unwrap()),
            None,
            Some(SourceOffset::from_json("-3").unwrap()),
        ],
    }
}

/// One decoder per file kind, returning the re-encoded entry when it accepts.
type Decoder = fn(&Path, &[u8]) -> Result<Vec<u8>, CheckpointError>;

fn samples() -> Vec<(&'static str, Vec<u8>, Decoder)> {
    let id = QueryId::parse("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9").unwrap();
    vec![
        ("offsets/3", offset_entry().encode(), |f, b| {
            OffsetEntry::decode(f, b).map(|e| e.encode())
        }),
        ("commits/3", CommitEntry { next_batch_watermark_ms: 1_500 }.encode(), |f, b| {
            CommitEntry::decode(f, b).map(|e| e.encode())
        }),
        ("metadata", encode_metadata(&id), |f, b| {
            decode_metadata(f, b).map(|i| encode_metadata(&i))
        }),
    ]
}

fn file(name: &str) -> PathBuf {
    Path::new("/ckpt").join(name)
}

#[test]
fn samples_decode() {
    for (name, bytes, decode) in samples() {
        assert_eq!(decode(&file(name), &bytes).unwrap(), bytes, "{name}");
    }
}

#[test]
fn empty_and_every_truncation_is_incomplete() {
    for (name, bytes, decode) in samples() {
        for len in 0..bytes.len() {
            match decode(&file(name), &bytes[..len]) {
                Err(e @ CheckpointError::Incomplete { .. }) => {
                    assert_eq!(e.path(), file(name));
                    assert!(e.to_string().starts_with("incomplete log file /ckpt/"), "{e}");
                }
                other => panic!("{name} cut to {len} bytes: {other:?}"),
            }
        }
    }
}

#[test]
fn every_single_byte_flip_is_refused_or_canonical() {
    // Without a checksum (as in Spark) a flip inside a value can give another valid entry; what
    // strictness guarantees is that an accepted file is exactly how that entry encodes.
    let mut refused = 0;
    let mut total = 0;
    for (name, bytes, decode) in samples() {
        for at in 0..bytes.len() {
            for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[at] ^= mask;
                total += 1;
                match decode(&file(name), &b) {
                    Ok(again) => assert_eq!(again, b, "{name}: flip {mask:#x} at {at} accepted"),
                    Err(e) => {
                        assert_eq!(e.path(), file(name));
                        refused += 1;
                    }
                }
            }
        }
    }
    // Most flips break the framing or the JSON; the rest land inside a number or a string.
    assert!(refused * 5 > total * 4, "only {refused} of {total} flips refused");
}

#[test]
fn other_versions_are_refused_naming_both() {
    for (name, bytes, decode) in samples() {
        for v in ["v2", "v0", "v10"] {
            let mut b = v.as_bytes().to_vec();
            b.extend_from_slice(&bytes[2..]);
            let e = decode(&file(name), &b).unwrap_err();
            match &e {
                CheckpointError::UnsupportedVersion { file: f, found, supported } => {
                    assert_eq!((f.as_path(), found.as_str(), *supported), (&*file(name), v, "v1"));
                }
                other => panic!("{name} {v}: {other:?}"),
            }
            let msg = e.to_string();
            assert!(msg.contains(name) && msg.contains(v) && msg.contains("v1"), "{msg}");
        }
        // A future version is recognised even if its framing differs.
        assert!(matches!(
            decode(&file(name), b"v2\nsomething else"),
            Err(CheckpointError::UnsupportedVersion { .. })
        ));
        for bad in ["V1", "v01", "v", "1", "v1 ", "\u{feff}v1", "v-1"] {
            let mut b = bad.as_bytes().to_vec();
            b.extend_from_slice(&bytes[2..]);
            assert!(
                matches!(decode(&file(name), &b), Err(CheckpointError::Malformed { line: 1, .. })),
                "{name}: version line {bad:?}"
            );
        }
    }
}

fn malformed_line(r: Result<Vec<u8>, CheckpointError>) -> usize {
    match r {
        Err(CheckpointError::Malformed { line, .. }) => line,
        other => panic!("expected a malformed-file error, got {other:?}"),
    }
}

#[test]
fn extra_lines_and_trailing_garbage_are_refused() {
    for (name, bytes, decode) in samples() {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        for extra in ["{}\n", "-\n", "\n", "x\n", "v1\n"] {
            let mut b = bytes.clone();
            b.extend_from_slice(extra.as_bytes());
            assert_eq!(malformed_line(decode(&file(name), &b)), lines + 1, "{name} + {extra:?}");
        }
        let mut b = bytes.clone();
        b.extend_from_slice(b"garbage");
        assert!(matches!(decode(&file(name), &b), Err(CheckpointError::Incomplete { .. })));
        let mut b = bytes.clone();
        b.insert(3, b'\n');
        assert_eq!(malformed_line(decode(&file(name), &b)), 2, "{name}: blank line");
    }
}

#[test]
fn non_canonical_json_and_unknown_fields_are_refused() {
    let f = file("commits/0");
    for text in [
        "v1\n{\"nextBatchWatermarkMs\": 0}\n",
        "v1\n{\"nextBatchWatermarkMs\":0}\r\n",
        "v1\n {\"nextBatchWatermarkMs\":0}\n",
        "v1\n{\"nextBatchWatermarkMs\":0,\"x\":1}\n",
        "v1\n{\"nextBatchWatermarkMs\":0.0}\n",
        "v1\n{}\n",
        "v1\n[0]\n",
    ] {
        assert_eq!(
            malformed_line(CommitEntry::decode(&f, text.as_bytes()).map(|e| e.encode())),
            2,
            "{text:?}"
        );
    }
    let good = String::from_utf8(offset_entry().encode()).unwrap();
    let f = file("offsets/3");
    let dec = |t: &str| OffsetEntry::decode(&f, t.as_bytes()).map(|e| e.encode());
    for (from, to, line) in [
        (r#"numPartitions":"2""#, r#"numPartitions":"02""#, 2),
        (r#"numPartitions":"2""#, r#"numPartitions":"0""#, 2),
        (r#""ember.rowFormatVersion":"1","#, "", 2),
        (r#""numSources":3"#, r#""numSources":3,"x":1"#, 2),
        (r#"{"files""#, r#"{ "files""#, 3),
        ("\n-\n", "\n- \n", 4),
        ("\n-\n", "\n-1x\n", 4),
    ] {
        assert!(good.contains(from), "{from}");
        assert_eq!(malformed_line(dec(&good.replacen(from, to, 1))), line, "{from} -> {to}");
    }
    // One source line too few is a truncated file, one too many is garbage.
    let fewer = good.replacen(r#""numSources":3"#, r#""numSources":4"#, 1);
    assert!(matches!(dec(&fewer), Err(CheckpointError::Incomplete { .. })));
    let more = good.replacen(r#""numSources":3"#, r#""numSources":2"#, 1);
    assert_eq!(malformed_line(dec(&more)), 5);
    let meta = file("metadata");
    let m = |t: &str| decode_metadata(&meta, t.as_bytes()).map(|i| encode_metadata(&i));
    assert_eq!(malformed_line(m("v1\n{\"id\":\"not-a-uuid\"}\n")), 2);
    assert_eq!(malformed_line(m("v1\n{\"id\":\"0f1e2d3c-4b5a-4978-8695-A4B3C2D1E0F9\"}\n")), 2);
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn offset_entries() -> impl Strategy<Value = OffsetEntry> {
    (
        any::<i64>(),
        any::<i64>(),
        1u32..=u32::MAX,
        "[ -~]{1,20}",
        any::<u32>(),
        prop::collection::btree_map("[a-z.]{1,12}", ".{0,8}", 0..3),
        prop::collection::vec(prop::option::of(json_value()), 0..5),
    )
        .prop_map(|(wm, ts, parts, hash, rfv, extra, offsets)| {
            let mut conf = PinnedConf::new(parts, &hash, rfv);
            for (k, v) in extra {
                if conf.get(&k).is_none() {
                    conf = conf.with(k, v);
                }
            }
            OffsetEntry {
                batch_watermark_ms: wm,
                batch_timestamp_ms: ts,
                conf,
                offsets: offsets.iter().map(|o| o.as_ref().map(SourceOffset::from_value)).collect(),
            }
        })
}

proptest! {
    #![proptest_config(Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(0xC4EC_0001),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn offset_entries_round_trip(e in offset_entries()) {
        let bytes = e.encode();
        let back = OffsetEntry::decode(&file("offsets/9"), &bytes).unwrap();
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(back.encode(), bytes);
        for (o, back) in e.offsets.iter().zip(&back.offsets) {
            if let (Some(o), Some(b)) = (o, back) {
                prop_assert_eq!(SourceOffset::from_value(&b.to_value()), o.clone());
            }
        }
    }

    #[test]
    fn commit_entries_round_trip(wm in any::<i64>()) {
        let e = CommitEntry { next_batch_watermark_ms: wm };
        prop_assert_eq!(CommitEntry::decode(&file("commits/9"), &e.encode()).unwrap(), e);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let f = file("x");
        let _ = OffsetEntry::decode(&f, &bytes);
        let _ = CommitEntry::decode(&f, &bytes);
        let _ = decode_metadata(&f, &bytes);
        let mut v = b"v1\n".to_vec();
        v.extend_from_slice(&bytes);
        let _ = OffsetEntry::decode(&f, &v);
        let _ = CommitEntry::decode(&f, &v);
    }
}

#[test]
fn query_ids_round_trip() {
    let mut seen = BTreeMap::new();
    for _ in 0..100 {
        let id = QueryId::random();
        assert_eq!(decode_metadata(&file("metadata"), &encode_metadata(&id)).unwrap(), id);
        assert!(seen.insert(id.to_string(), ()).is_none());
    }
}

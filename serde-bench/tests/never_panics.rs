//! Decoding arbitrary or damaged bytes returns an error or records, never a panic.

mod common;

use common::{codecs, config, generated};
use ember_serde_bench::contenders::BenchRecord;
use ember_serde_bench::{Person, Wide, WordCount};
use proptest::prelude::*;

/// Runs every decoding entry point of every codec on `bytes`; only a panic fails.
fn decode_everything<R>(bytes: &[u8])
where
    R: BenchRecord,
{
    let mut out = Vec::new();
    for mut codec in codecs::<R>() {
        let _ = codec.decode(bytes, &mut out);
        let _ = codec.field_sum(bytes);
        let _ = codec.group_sum(bytes);
        let _ = codec.sort_order(bytes);
    }
}

fn decode_all_types(bytes: &[u8]) {
    decode_everything::<Person>(bytes);
    decode_everything::<Wide>(bytes);
    decode_everything::<WordCount>(bytes);
}

/// A damage done to a valid stream.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Set { at: usize, value: u8 },
    Truncate { at: usize },
    Insert { at: usize, value: u8 },
    Remove { at: usize },
    Duplicate { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (at, any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, any::<u8>()).prop_map(|(at, value)| Mutation::Insert { at, value }),
        at.prop_map(|at| Mutation::Remove { at }),
        (at, 1usize..40).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Flip { at, mask } => bytes[at % n] ^= mask,
        Mutation::Set { at, value } => bytes[at % n] = value,
        Mutation::Truncate { at } => bytes.truncate(at % n),
        Mutation::Insert { at, value } => bytes.insert(at % (n + 1), value),
        Mutation::Remove { at } => {
            bytes.remove(at % n);
        }
        Mutation::Duplicate { at, len } => {
            let start = at % n;
            let end = (start + len).min(n);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
    }
}

/// Valid streams of each codec for each record type, to damage.
fn valid_streams(seed: u64, rows: usize) -> Vec<Vec<u8>> {
    fn streams_of<R>(rows: &[R], out: &mut Vec<Vec<u8>>)
    where
        R: BenchRecord,
    {
        for mut codec in codecs::<R>() {
            let mut bytes = Vec::new();
            codec.encode(rows, &mut bytes).unwrap();
            out.push(bytes);
        }
    }
    let mut out = Vec::new();
    streams_of(&generated::<Person>(seed, rows), &mut out);
    streams_of(&generated::<Wide>(seed, rows), &mut out);
    streams_of(&generated::<WordCount>(seed, rows), &mut out);
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        decode_all_types(&bytes);
    }

    #[test]
    fn random_bytes_after_a_java_header_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = vec![0xAC, 0xED, 0x00, 0x05];
        bytes.extend_from_slice(&tail);
        decode_all_types(&bytes);
    }

    #[test]
    fn damaged_streams_never_panic(
        seed in any::<u64>(),
        rows in 0usize..8,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        for mut bytes in valid_streams(seed, rows) {
            for m in &mutations {
                apply(&mut bytes, m);
            }
            decode_all_types(&bytes);
        }
    }
}

#[test]
fn every_truncation_of_a_stream_is_an_error_or_a_prefix() {
    use ember_serde_bench::Codec;
    use ember_serde_bench::java::JavaSerializer;
    let rows = generated::<Wide>(9, 120);
    let mut codec = JavaSerializer::new();
    let mut bytes = Vec::new();
    codec.encode(&rows, &mut bytes).unwrap();
    let mut out: Vec<Wide> = Vec::new();
    for cut in 0..bytes.len() {
        if codec.decode(&bytes[..cut], &mut out).is_ok() {
            assert_eq!(out[..], rows[..out.len()]);
        }
    }
}

//! The operations the report measures beyond encode and decode, over decoded records.
//!
//! These are the reference semantics: an object codec runs them after decoding, and a row codec
//! that works in place must return exactly the same results (tests compare them).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::record::Record;

/// Per-group sums of a hash group-by, groups in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSums {
    pub keys: Vec<String>,
    pub sums: Vec<i64>,
}

/// "Read one field": the wrapping sum of every record's [`Record::probe`].
pub fn field_sum<R: Record>(rows: &[R]) -> i64 {
    rows.iter().fold(0i64, |acc, r| acc.wrapping_add(r.probe()))
}

/// "Hash group-by with a sum": [`Record::group_value`] summed (wrapping) per [`Record::group_key`].
pub fn group_sum<R: Record>(rows: &[R]) -> GroupSums {
    let mut index: HashMap<&str, usize, FastHash> = HashMap::default();
    let mut sums = Vec::new();
    for r in rows {
        let next = sums.len();
        let slot = *index.entry(r.group_key()).or_insert(next);
        if slot == next {
            sums.push(0i64);
        }
        sums[slot] = sums[slot].wrapping_add(r.group_value());
    }
    let mut keys = vec![String::new(); sums.len()];
    for (key, slot) in index {
        keys[slot] = key.to_owned();
    }
    GroupSums { keys, sums }
}

/// "Sort by a field": the row indices in stable ascending order of [`Record::sort_key`].
pub fn sort_order<R: Record>(rows: &[R]) -> Vec<u32> {
    let mut keyed: Vec<(i64, u32)> =
        rows.iter().enumerate().map(|(i, r)| (r.sort_key(), i as u32)).collect();
    // Index as tie-breaker makes the unstable sort stable, and it is faster than a stable one.
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// An `i64` whose order is the IEEE 754 total order of `x` (`-NaN < -inf < ... < -0.0 < 0.0 <
/// ... < inf < NaN`), so floating-point fields sort as integers.
pub fn f64_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    // Negative floats order backwards by their bits: flip all but the sign bit.
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The hasher of the group-by tables: the keys are not attacker-controlled, and SipHash would tax
/// the object codecs for a cost the JVM's `String.hashCode` does not have.
pub type FastHash = BuildHasherDefault<FxHasher>;

/// The multiply-rotate hash of rustc's `FxHasher`, eight bytes at a time.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::WordCount;

    fn wc(word: &str, count: i64) -> WordCount {
        WordCount { word: word.to_owned(), count }
    }

    #[test]
    fn group_sum_keeps_first_appearance_order() {
        let rows = [wc("b", 1), wc("a", 2), wc("b", 3), wc("c", 4), wc("a", 5)];
        let g = group_sum(&rows);
        assert_eq!(g.keys, ["b", "a", "c"]);
        assert_eq!(g.sums, [4, 7, 4]);
        assert_eq!(field_sum(&rows), 15);
    }

    #[test]
    fn sort_order_is_stable() {
        let rows = [wc("x", 3), wc("y", 1), wc("z", 3), wc("w", 1)];
        assert_eq!(sort_order(&rows), [1, 3, 0, 2]);
    }

    #[test]
    fn f64_order_key_follows_total_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for pair in xs.windows(2) {
            assert!(f64_order_key(pair[0]) < f64_order_key(pair[1]), "{pair:?}");
            assert_eq!(pair[0].total_cmp(&pair[1]), std::cmp::Ordering::Less);
        }
    }
}

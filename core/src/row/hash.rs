//! The pinned row hash and the format version.
//!
//! Hash tables, the shuffle into state partitions and state files all hash the same row
//! bytes the same way, on every machine and in every release of this format version:
//! XXH3-64 with seed [`ROW_HASH_SEED`]. Changing either is a new format version.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::layout::pack_slot;

/// Version of the binary row format. Persisted files record it; readers refuse others.
pub const ROW_FORMAT_VERSION: u32 = 1;

/// Seed of the row hash (Spark's row hash seed, kept for familiarity).
pub const ROW_HASH_SEED: u64 = 42;

/// XXH3-64 of `bytes` with seed [`ROW_HASH_SEED`].
#[inline]
pub fn hash_row(bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, ROW_HASH_SEED)
}

/// [`hash_row`] of the one-field row holding a string of `len` bytes, 1 to 16, whose bytes
/// zero-padded to 16 are the little-endian words `data`: the row
/// `[0][pack_slot(16, len)][data, 8 or 16 bytes]` (24 or 32 bytes long), without the row.
///
/// XXH3-64 of 17 to 32 bytes is `avalanche(n * P1 + mix16(bytes[..16], secret[..16]) +
/// mix16(bytes[n - 16..], secret[16..32]))`. The first 16 bytes of such a row, its null word and
/// slot, depend on `len` alone, so that term is a table lookup and one 128-bit multiply is
/// left (pre-aggregation: 29 to 9 instructions a key, measured). A test checks it against
/// [`hash_row`] for every length.
#[inline]
pub fn hash_short_var_row(data: [u64; 2], len: usize) -> u64 {
    debug_assert!((1..=16).contains(&len));
    // The last 16 bytes: the slot and the one data word, or both data words.
    let (lo, hi) = if len <= 8 { (pack_slot(16, len), data[0]) } else { (data[0], data[1]) };
    let acc = SHORT_VAR_ROW_BASE[len].wrapping_add(mix16(lo, hi, XXH3_SECRET[2], XXH3_SECRET[3]));
    xxh3_avalanche(acc)
}

/// The first four words of XXH3's default secret (little-endian), XXH64's first prime and
/// XXH3's avalanche multiplier: the constants of its 17-to-32-byte hash.
const XXH3_SECRET: [u64; 4] =
    [0xbe4b_a423_396c_feb8, 0x1cad_21f7_2c81_017c, 0xdb97_9083_e96d_d4de, 0x1f67_b3b7_a4a4_4072];
const XXH_PRIME64_1: u64 = 0x9e37_79b1_85eb_ca87;
const XXH3_AVALANCHE: u64 = 0x1656_6791_9e37_79f9;

/// XXH3's 16-byte mix of the words `lo`, `hi` with the secret words `s0`, `s1` and the seed.
#[inline]
const fn mix16(lo: u64, hi: u64, s0: u64, s1: u64) -> u64 {
    let product = (lo ^ s0.wrapping_add(ROW_HASH_SEED)) as u128
        * (hi ^ s1.wrapping_sub(ROW_HASH_SEED)) as u128;
    (product as u64) ^ ((product >> 64) as u64)
}

#[inline]
const fn xxh3_avalanche(mut h: u64) -> u64 {
    h ^= h >> 37;
    h = h.wrapping_mul(XXH3_AVALANCHE);
    h ^ (h >> 32)
}

/// Per string length 1 to 16: the row length times the prime plus the mix of the row's
/// first 16 bytes (its zero null word and its slot).
const SHORT_VAR_ROW_BASE: [u64; 17] = {
    let mut base = [0; 17];
    let mut len: usize = 1;
    while len <= 16 {
        let row_len = 16 + len.div_ceil(8) * 8;
        base[len] = (row_len as u64).wrapping_mul(XXH_PRIME64_1).wrapping_add(mix16(
            0,
            pack_slot(16, len),
            XXH3_SECRET[0],
            XXH3_SECRET[1],
        ));
        len += 1;
    }
    base
};

/// The partition (of `partitions`) a row with hash `hash` belongs to. Uses the high bits via
/// a multiply-shift, so it is uniform for any partition count and independent of the low
/// bits that hash tables use for their buckets.
#[inline]
pub fn partition_of(hash: u64, partitions: usize) -> usize {
    ((u128::from(hash) * partitions as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn short_var_row(data: [u64; 2], len: usize) -> Vec<u8> {
        let mut row = vec![0; 8];
        row.extend_from_slice(&pack_slot(16, len).to_le_bytes());
        row.extend_from_slice(&data[0].to_le_bytes());
        if len > 8 {
            row.extend_from_slice(&data[1].to_le_bytes());
        }
        row
    }

    /// Every length, with every byte of the string set.
    #[test]
    fn short_var_row_hash_covers_every_length() {
        for len in 1..=16usize {
            let mut padded = [0u8; 16];
            padded[..len].iter_mut().enumerate().for_each(|(i, b)| *b = 0xa0 ^ i as u8);
            let data = [
                u64::from_le_bytes(padded[..8].try_into().unwrap()),
                u64::from_le_bytes(padded[8..].try_into().unwrap()),
            ];
            assert_eq!(hash_short_var_row(data, len), hash_row(&short_var_row(data, len)), "{len}");
        }
    }

    proptest! {
        /// The short-row hash is `hash_row` of the row, for every length and any bytes.
        #[test]
        fn short_var_row_hash_is_the_row_hash(bytes in any::<[u8; 16]>(), len in 1usize..=16) {
            let mut padded = [0u8; 16];
            padded[..len].copy_from_slice(&bytes[..len]);
            let data = [
                u64::from_le_bytes(padded[..8].try_into().unwrap()),
                u64::from_le_bytes(padded[8..].try_into().unwrap()),
            ];
            prop_assert_eq!(hash_short_var_row(data, len), hash_row(&short_var_row(data, len)));
        }
    }
}

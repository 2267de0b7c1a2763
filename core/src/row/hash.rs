//! The pinned row hash and the format version.
//!
//! Hash tables, the shuffle into state partitions and state files all hash the same row
//! bytes the same way, on every machine and in every release of this format version:
//! XXH3-64 with seed [`ROW_HASH_SEED`]. Changing either is a new format version.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Version of the binary row format. Persisted files record it; readers refuse others.
pub const ROW_FORMAT_VERSION: u32 = 1;

/// Seed of the row hash (Spark's row hash seed, kept for familiarity).
pub const ROW_HASH_SEED: u64 = 42;

/// XXH3-64 of `bytes` with seed [`ROW_HASH_SEED`].
#[inline]
pub fn hash_row(bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, ROW_HASH_SEED)
}

/// The partition (of `partitions`) a row with hash `hash` belongs to. Uses the high bits via
/// a multiply-shift, so it is uniform for any partition count and independent of the low
/// bits that hash tables use for their buckets.
#[inline]
pub fn partition_of(hash: u64, partitions: usize) -> usize {
    ((u128::from(hash) * partitions as u128) >> 64) as usize
}

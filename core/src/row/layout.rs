//! Layout arithmetic shared by the writer, the readers and the validator: bitset widths,
//! slot positions, padding, and the little-endian word helpers.

/// Bytes per fixed slot and the alignment of every variable-length value.
pub const SLOT_BYTES: usize = 8;

/// Bytes of a null bitset covering `n` bits: whole 64-bit words.
#[inline]
pub const fn bitset_bytes(n: usize) -> usize {
    n.div_ceil(64) * 8
}

/// `len` rounded up to a multiple of 8.
#[inline]
pub const fn round8(len: usize) -> usize {
    (len + 7) & !7
}

/// A variable-length slot: offset in the high 32 bits, length in the low 32.
#[inline]
pub const fn pack_slot(offset: usize, len: usize) -> u64 {
    ((offset as u64) << 32) | len as u64
}

/// The `(offset, length)` packed in a variable-length slot.
#[inline]
pub const fn unpack_slot(slot: u64) -> (usize, usize) {
    ((slot >> 32) as usize, (slot & 0xFFFF_FFFF) as usize)
}

/// Reads a little-endian `u64` at `pos`. Panics if out of bounds (callers pass positions
/// inside the fixed part, which every readable row has).
#[inline]
pub fn read_u64(bytes: &[u8], pos: usize) -> u64 {
    let word: [u8; 8] = bytes[pos..pos + 8].try_into().expect("8 bytes");
    u64::from_le_bytes(word)
}

/// Whether bit `i` of the bitset starting at `bytes[0]` is set.
#[inline]
pub fn bit_is_set(bytes: &[u8], i: usize) -> bool {
    bytes[i / 8] & (1 << (i % 8)) != 0
}

/// Sets bit `i` of the bitset starting at `bytes[0]`.
#[inline]
pub fn set_bit(bytes: &mut [u8], i: usize) {
    bytes[i / 8] |= 1 << (i % 8);
}

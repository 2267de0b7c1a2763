//! The straight-line encoder generated for flat structs: every field a primitive, `String`,
//! `Vec<u8>`, or an `Option` of one of those. Their layout is known at compile time, so the
//! generated `RowType::encode_into` sizes the row, zero-fills it once, and writes each slot at a
//! constant offset of a fixed-size array, with none of the builder's per-write checks.
//!
//! Used only by code `#[derive(Row)]` generates; not a public API. The layout it writes is the
//! one the builder writes (tests compare the two byte for byte).

use super::layout::{SLOT_BYTES, pack_slot, round8};
use super::writer::{FloatMode, normalize_f32, normalize_f64};

/// A field a flat struct can hold.
pub trait FlatField {
    /// Padded bytes this value takes in the variable-length region.
    fn flat_var_size(&self) -> usize;

    /// Writes field `index` (slot at `slot` in `fixed`, variable-length bytes at `*cursor` in
    /// `vars`, which starts `F` bytes into the row). `fixed` and `vars` are zeroed.
    fn write_flat<const F: usize>(
        &self,
        fixed: &mut [u8; F],
        vars: &mut [u8],
        cursor: &mut usize,
        index: usize,
        slot: usize,
        floats: FloatMode,
    );
}

macro_rules! fixed_flat {
    ($($t:ty => |$v:ident, $floats:ident| $word:expr),* $(,)?) => {$(
        impl FlatField for $t {
            #[inline(always)]
            fn flat_var_size(&self) -> usize {
                0
            }
            #[inline(always)]
            fn write_flat<const F: usize>(
                &self,
                fixed: &mut [u8; F],
                _vars: &mut [u8],
                _cursor: &mut usize,
                _index: usize,
                slot: usize,
                $floats: FloatMode,
            ) {
                let $v = *self;
                let word: u64 = $word;
                fixed[slot..slot + SLOT_BYTES].copy_from_slice(&word.to_le_bytes());
            }
        }
    )*};
}

fixed_flat!(
    bool => |v, _f| u64::from(v),
    i8 => |v, _f| u64::from(v as u8),
    i16 => |v, _f| u64::from(v as u16),
    i32 => |v, _f| u64::from(v as u32),
    i64 => |v, _f| v as u64,
    f32 => |v, floats| u64::from(match floats {
        FloatMode::Exact => v.to_bits(),
        FloatMode::Normalized => normalize_f32(v).to_bits(),
    }),
    f64 => |v, floats| match floats {
        FloatMode::Exact => v.to_bits(),
        FloatMode::Normalized => normalize_f64(v).to_bits(),
    },
);

#[inline(always)]
fn write_bytes<const F: usize>(
    value: &[u8],
    fixed: &mut [u8; F],
    vars: &mut [u8],
    cursor: &mut usize,
    slot: usize,
) {
    vars[*cursor..*cursor + value.len()].copy_from_slice(value);
    let word = pack_slot(F + *cursor, value.len());
    fixed[slot..slot + SLOT_BYTES].copy_from_slice(&word.to_le_bytes());
    *cursor += round8(value.len());
}

macro_rules! bytes_flat {
    ($($t:ty => $bytes:ident),* $(,)?) => {$(
        impl FlatField for $t {
            #[inline(always)]
            fn flat_var_size(&self) -> usize {
                round8(self.len())
            }
            #[inline(always)]
            fn write_flat<const F: usize>(
                &self,
                fixed: &mut [u8; F],
                vars: &mut [u8],
                cursor: &mut usize,
                _index: usize,
                slot: usize,
                _floats: FloatMode,
            ) {
                write_bytes(self.$bytes(), fixed, vars, cursor, slot);
            }
        }
    )*};
}

bytes_flat!(String => as_bytes, Vec<u8> => as_slice);

impl<T: FlatField> FlatField for Option<T> {
    #[inline(always)]
    fn flat_var_size(&self) -> usize {
        self.as_ref().map_or(0, T::flat_var_size)
    }
    #[inline(always)]
    fn write_flat<const F: usize>(
        &self,
        fixed: &mut [u8; F],
        vars: &mut [u8],
        cursor: &mut usize,
        index: usize,
        slot: usize,
        floats: FloatMode,
    ) {
        match self {
            Some(value) => value.write_flat(fixed, vars, cursor, index, slot, floats),
            // The slot is already zero; only the null bit is set.
            None => fixed[index / 8] |= 1 << (index % 8),
        }
    }
}

/// Appends `len` zero bytes to `buf` and returns the new region, for a row of that length.
/// Panics if the row would exceed the format's 4 GiB.
#[inline(always)]
pub fn append_zeroed(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    assert!(len <= u32::MAX as usize, "row too large: {len} bytes exceed 32-bit addressing");
    let start = buf.len();
    super::writer::grow_zeroed(buf, start + len);
    &mut buf[start..]
}

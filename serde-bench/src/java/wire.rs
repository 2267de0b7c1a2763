//! Big-endian primitives of the stream, written to a `Vec<u8>` and read from a bounds-checked
//! cursor that reports a truncated stream as an error instead of panicking.

// The protocol is big-endian by definition (`java.io.DataOutput`), so big-endian conversions are
// the point of this module, not an accident the workspace lint should catch.
#![allow(clippy::big_endian_bytes)]

use super::error::JavaError;

/// The bit pattern `Double.doubleToLongBits` gives every NaN, which is what `ObjectOutputStream`
/// writes for a NaN `double` field.
const CANONICAL_NAN: u64 = 0x7FF8_0000_0000_0000;

#[inline]
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    let bits = if v.is_nan() { CANONICAL_NAN } else { v.to_bits() };
    put_u64(out, bits);
}

/// A read position in a stream.
#[derive(Debug, Clone)]
pub(crate) struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Offset of the next byte, for error messages and handle entries.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The whole stream, to re-read a string a back-reference points at.
    #[inline]
    pub(crate) fn all(&self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], JavaError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(JavaError::Truncated { offset: self.pos })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], JavaError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, JavaError> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(JavaError::Truncated { offset: self.pos }),
        }
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, JavaError> {
        self.array().map(u16::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, JavaError> {
        self.array().map(u32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn i32(&mut self) -> Result<i32, JavaError> {
        self.array().map(i32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn i64(&mut self) -> Result<i64, JavaError> {
        self.array().map(i64::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, JavaError> {
        self.array().map(u64::from_be_bytes)
    }

    #[inline]
    pub(crate) fn f64(&mut self) -> Result<f64, JavaError> {
        self.u64().map(f64::from_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_big_endian() {
        let mut out = Vec::new();
        put_u16(&mut out, 0xACED);
        put_i32(&mut out, -2);
        put_i64(&mut out, 0x0102_0304_0506_0708);
        assert_eq!(out, [0xAC, 0xED, 0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut input = Input::new(&out);
        assert_eq!(input.u16().unwrap(), 0xACED);
        assert_eq!(input.i32().unwrap(), -2);
        assert_eq!(input.i64().unwrap(), 0x0102_0304_0506_0708);
        assert!(input.is_empty());
        assert!(matches!(input.u8(), Err(JavaError::Truncated { offset: 14 })));
    }

    #[test]
    fn nan_is_written_as_double_to_long_bits_does() {
        let mut out = Vec::new();
        put_f64(&mut out, f64::from_bits(0xFFF0_0000_0000_0001));
        assert_eq!(out, [0x7F, 0xF8, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn take_past_the_end_is_an_error() {
        let mut input = Input::new(&[1, 2, 3]);
        assert!(input.take(usize::MAX).is_err());
        assert!(input.take(4).is_err());
        assert_eq!(input.take(3).unwrap(), [1, 2, 3]);
    }
}

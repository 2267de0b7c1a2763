//! The Kryo analogue: bincode 1.3.3 with variable-length integers, each record preceded by the
//! class header Kryo's `writeClassAndObject` writes.
//!
//! Spark's `KryoSerializationStream` calls `writeClassAndObject` per record, and Kryo resets its
//! class-name table after every top-level object, so:
//!
//! - registered: the header is the class id + 2 as a positive varint (0 is null, 1 announces a
//!   name), one byte for ids below 126;
//! - unregistered: the header is `01` (a name follows), the name id `00`, and the class name in
//!   Kryo's ASCII form (the last byte's high bit set) for every record.
//!
//! The record itself is bincode (zigzag varints for integers, a length-prefixed UTF-8 string, one
//! tag byte per `Option`), close to Kryo's `FieldSerializer` output.

use std::io;

use bincode::Options;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, CodecError};
use crate::record::Record;

/// The id Spark's registrator would give the first user class: Kryo registers its own primitive
/// and wrapper classes below it.
pub const FIRST_USER_CLASS_ID: u32 = 10;

/// Why a Kryo-style stream could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KryoError {
    #[error("record at byte {offset}: expected the class header of {class}")]
    WrongClass { offset: usize, class: &'static str },
    #[error("record at byte {offset}: {source}")]
    Record {
        offset: usize,
        #[source]
        source: bincode::Error,
    },
    #[error("class name {class:?} is not 2 to 32 ASCII characters, the form Kryo writes inline")]
    UnsupportedClassName { class: &'static str },
}

/// Whether records carry a registered class id or their class name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Registered { class_id: u32 },
    Unregistered,
}

/// The Kryo-style contender: [`Codec`] over any serde record.
#[derive(Debug)]
pub struct KryoStyle {
    registration: Registration,
    header: Vec<u8>,
}

impl KryoStyle {
    /// Records prefixed by a registered class id.
    pub fn registered(class_id: u32) -> Self {
        Self { registration: Registration::Registered { class_id }, header: Vec::new() }
    }

    /// Records prefixed by their class name.
    pub fn unregistered() -> Self {
        Self { registration: Registration::Unregistered, header: Vec::new() }
    }

    fn options() -> impl Options + Copy {
        bincode::DefaultOptions::new().with_varint_encoding()
    }

    /// Builds the per-record class header for `R` into `self.header`.
    fn prepare<R: Record>(&mut self) -> Result<(), KryoError> {
        self.header.clear();
        match self.registration {
            Registration::Registered { class_id } => {
                put_positive_varint(&mut self.header, class_id.saturating_add(2));
            }
            Registration::Unregistered => {
                let name = R::JAVA_CLASS;
                if !(2..=32).contains(&name.len()) || !name.is_ascii() {
                    return Err(KryoError::UnsupportedClassName { class: name });
                }
                // NAME + 2, then the name id the class gets in the fresh name table.
                self.header.extend_from_slice(&[1, 0]);
                self.header.extend_from_slice(name.as_bytes());
                if let Some(last) = self.header.last_mut() {
                    *last |= 0x80;
                }
            }
        }
        Ok(())
    }
}

/// Kryo's `writeVarInt(value, true)`: seven bits per byte, low bits first.
fn put_positive_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl<R: Record + Serialize + DeserializeOwned> Codec<R> for KryoStyle {
    fn name(&self) -> &'static str {
        match self.registration {
            Registration::Registered { .. } => "kryo-registered",
            Registration::Unregistered => "kryo-unregistered",
        }
    }

    fn encode(&mut self, rows: &[R], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.prepare::<R>()?;
        out.clear();
        let options = Self::options();
        for row in rows {
            let offset = out.len();
            out.extend_from_slice(&self.header);
            options
                .serialize_into(&mut *out, row)
                .map_err(|source| KryoError::Record { offset, source })?;
        }
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<R>) -> Result<(), CodecError> {
        self.prepare::<R>()?;
        out.clear();
        let options = Self::options();
        let mut rest = bytes;
        while !rest.is_empty() {
            let offset = bytes.len() - rest.len();
            match rest.strip_prefix(self.header.as_slice()) {
                Some(after) => rest = after,
                None => {
                    return Err(KryoError::WrongClass { offset, class: R::JAVA_CLASS }.into());
                }
            }
            let row = options
                .deserialize_from_custom(SliceCursor { rest: &mut rest })
                .map_err(|source| KryoError::Record { offset, source })?;
            out.push(row);
        }
        Ok(())
    }
}

/// A bincode reader over a slice that leaves the unread rest visible to the caller between
/// records (bincode's own slice reader hides it).
struct SliceCursor<'a, 'b> {
    rest: &'b mut &'a [u8],
}

impl SliceCursor<'_, '_> {
    #[inline]
    fn eof() -> bincode::Error {
        Box::new(bincode::ErrorKind::Io(io::ErrorKind::UnexpectedEof.into()))
    }
}

impl<'a> SliceCursor<'a, '_> {
    /// The next `n` bytes; checked before anything is allocated for them, so a corrupt length
    /// cannot ask for more memory than the input holds.
    #[inline]
    fn take(&mut self, n: usize) -> bincode::Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Self::eof());
        }
        let (head, tail) = self.rest.split_at(n);
        *self.rest = tail;
        Ok(head)
    }
}

impl io::Read for SliceCursor<'_, '_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_exact(buf).map(|()| buf.len())
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if buf.len() > self.rest.len() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (head, tail) = self.rest.split_at(buf.len());
        buf.copy_from_slice(head);
        *self.rest = tail;
        Ok(())
    }
}

impl<'a> bincode::BincodeRead<'a> for SliceCursor<'a, '_> {
    #[inline]
    fn forward_read_str<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        let bytes = self.take(length)?;
        let s = std::str::from_utf8(bytes).map_err(bincode::ErrorKind::InvalidUtf8Encoding)?;
        visitor.visit_borrowed_str(s)
    }

    #[inline]
    fn get_byte_buffer(&mut self, length: usize) -> bincode::Result<Vec<u8>> {
        self.take(length).map(<[u8]>::to_vec)
    }

    #[inline]
    fn forward_read_bytes<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        visitor.visit_borrowed_bytes(self.take(length)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Person;

    fn person() -> Person {
        Person { id: 1, name: "Ada".to_owned(), age: 36, city: "London".to_owned(), score: 0.5 }
    }

    #[test]
    fn registered_header_is_id_plus_two() {
        let mut out = Vec::new();
        KryoStyle::registered(10).encode(&[person()], &mut out).unwrap();
        assert_eq!(out[0], 12);
        let mut big = Vec::new();
        put_positive_varint(&mut big, 300);
        assert_eq!(big, [0xAC, 0x02]);
    }

    #[test]
    fn unregistered_header_is_kryo_ascii_name() {
        let mut out = Vec::new();
        KryoStyle::unregistered().encode(&[person()], &mut out).unwrap();
        assert_eq!(&out[..2], [1, 0]);
        assert_eq!(&out[2..19], b"ember.bench.Perso");
        assert_eq!(out[19], b'n' | 0x80);
    }

    #[test]
    fn record_body_is_varint_bincode() {
        let mut out = Vec::new();
        KryoStyle::registered(10).encode(&[person()], &mut out).unwrap();
        // id 1 -> zigzag 2; "Ada" -> 3 + bytes; age 36 -> zigzag 72; "London"; score 8 bytes.
        let mut expected = vec![12, 2, 3, b'A', b'd', b'a', 72, 6];
        expected.extend_from_slice(b"London");
        expected.extend_from_slice(&0.5f64.to_le_bytes());
        assert_eq!(out, expected);
    }
}

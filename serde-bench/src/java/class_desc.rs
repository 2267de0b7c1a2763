//! Class descriptors: the static description of a serializable Java class, and the bytes
//! `ObjectOutputStream` writes for it, computed once per class.
//!
//! A descriptor on the wire is `TC_CLASSDESC`, the class name, its `serialVersionUID`, flags, the
//! field descriptors (type code, name, and for object fields a type string such as
//! `Ljava/lang/String;`), `TC_ENDBLOCKDATA` (no class annotations) and the superclass descriptor.
//! Fields are listed as the JDK sorts them: primitive fields first, then object fields, each group
//! by name.

use std::sync::OnceLock;

use super::constants::{
    BASE_WIRE_HANDLE, SC_SERIALIZABLE, TC_CLASSDESC, TC_ENDBLOCKDATA, TC_NULL, TC_REFERENCE,
    TC_STRING,
};
use super::mutf8;
use super::wire::{put_i64, put_u16, put_u32};

/// The Java type of a field, as the Rust record maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Boolean,
    Int,
    Long,
    Double,
    /// `java.lang.String` (nullable only where the Rust field is an `Option`).
    String,
    /// `java.lang.Integer`, for `Option<i32>`.
    BoxedInt,
    /// `java.lang.Long`, for `Option<i64>`.
    BoxedLong,
    /// `java.lang.Double`, for `Option<f64>`.
    BoxedDouble,
}

impl FieldType {
    /// The type code of the field descriptor.
    pub const fn type_code(self) -> u8 {
        match self {
            FieldType::Boolean => b'Z',
            FieldType::Int => b'I',
            FieldType::Long => b'J',
            FieldType::Double => b'D',
            FieldType::String
            | FieldType::BoxedInt
            | FieldType::BoxedLong
            | FieldType::BoxedDouble => b'L',
        }
    }

    /// The JVM type signature of an object field (`None` for a primitive).
    pub const fn type_string(self) -> Option<&'static str> {
        match self {
            FieldType::Boolean | FieldType::Int | FieldType::Long | FieldType::Double => None,
            FieldType::String => Some("Ljava/lang/String;"),
            FieldType::BoxedInt => Some("Ljava/lang/Integer;"),
            FieldType::BoxedLong => Some("Ljava/lang/Long;"),
            FieldType::BoxedDouble => Some("Ljava/lang/Double;"),
        }
    }

    pub const fn is_primitive(self) -> bool {
        self.type_string().is_none()
    }
}

/// One serializable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JavaField {
    pub name: &'static str,
    pub ty: FieldType,
}

impl JavaField {
    pub const fn new(name: &'static str, ty: FieldType) -> Self {
        Self { name, ty }
    }
}

/// A `Serializable` class without `writeObject`, whose superclass is `java.lang.Object` or, for the
/// boxes, `java.lang.Number`.
#[derive(Debug)]
pub struct JavaClass {
    /// Binary class name, e.g. `ember.bench.Person`.
    pub name: &'static str,
    /// The pinned `serialVersionUID`.
    pub serial_version_uid: i64,
    /// Fields in the JDK's order (see [`is_jdk_field_order`]).
    pub fields: &'static [JavaField],
    encoded: OnceLock<Vec<u8>>,
}

impl JavaClass {
    pub const fn new(
        name: &'static str,
        serial_version_uid: i64,
        fields: &'static [JavaField],
    ) -> Self {
        Self { name, serial_version_uid, fields, encoded: OnceLock::new() }
    }

    /// Bytes of the fields' primitive values, written before the object fields.
    pub fn primitive_data_len(&self) -> usize {
        self.fields
            .iter()
            .map(|f| match f.ty {
                FieldType::Boolean => 1,
                FieldType::Int => 4,
                FieldType::Long | FieldType::Double => 8,
                _ => 0,
            })
            .sum()
    }

    /// The descriptor as written first thing in a stream (or after a reset), superclass
    /// `TC_NULL` included: the descriptor takes handle 0 and its new type strings the handles
    /// after it, so the bytes never change and are computed once.
    pub(crate) fn leading_descriptor(&self) -> &[u8] {
        self.encoded.get_or_init(|| {
            let mut out = Vec::new();
            let mut type_strings: Vec<&'static str> = Vec::new();
            write_head(self, &mut out, |out, ts| {
                if let Some(i) = type_strings.iter().position(|&t| t == ts) {
                    out.push(TC_REFERENCE);
                    put_u32(out, BASE_WIRE_HANDLE + 1 + i as u32);
                } else {
                    out.push(TC_STRING);
                    put_utf(out, ts);
                    type_strings.push(ts);
                }
            });
            out.push(TC_NULL);
            out
        })
    }

    /// Handles the leading descriptor assigns: itself and each distinct type string.
    pub(crate) fn leading_descriptor_handles(&self) -> u32 {
        let mut seen: Vec<&str> = Vec::new();
        for ts in self.fields.iter().filter_map(|f| f.ty.type_string()) {
            if !seen.contains(&ts) {
                seen.push(ts);
            }
        }
        1 + seen.len() as u32
    }

    /// The descriptor up to `TC_ENDBLOCKDATA`, for a class without object fields (the boxes and
    /// `Number`), whose bytes do not depend on any handle.
    pub(crate) fn head_without_type_strings(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_head(self, &mut out, |_, _| unreachable!("boxed classes have no object fields"));
        out
    }
}

/// Writes `TC_CLASSDESC` through `TC_ENDBLOCKDATA`; `type_string` writes each object field's type.
fn write_head(
    class: &JavaClass,
    out: &mut Vec<u8>,
    mut type_string: impl FnMut(&mut Vec<u8>, &'static str),
) {
    out.push(TC_CLASSDESC);
    put_utf(out, class.name);
    put_i64(out, class.serial_version_uid);
    out.push(SC_SERIALIZABLE);
    put_u16(out, class.fields.len() as u16);
    for field in class.fields {
        out.push(field.ty.type_code());
        put_utf(out, field.name);
        if let Some(ts) = field.ty.type_string() {
            type_string(out, ts);
        }
    }
    out.push(TC_ENDBLOCKDATA);
}

/// `DataOutput.writeUTF` of a name: two-byte length, then modified UTF-8.
pub(crate) fn put_utf(out: &mut Vec<u8>, s: &str) {
    let len = mutf8::encoded_len(s);
    put_u16(out, len as u16);
    mutf8::encode_into(s, len, out);
}

/// Whether `fields` are in the order `ObjectStreamClass` sorts them (`ObjectStreamField.compareTo`):
/// primitives before objects, then by name in UTF-16 order.
pub fn is_jdk_field_order(fields: &[JavaField]) -> bool {
    fields.windows(2).all(|pair| {
        let (a, b) = (pair[0], pair[1]);
        match (a.ty.is_primitive(), b.ty.is_primitive()) {
            (true, false) => true,
            (false, true) => false,
            _ => a.name.encode_utf16().lt(b.name.encode_utf16()),
        }
    })
}

/// `java.lang.Number`, the superclass of the boxes: serializable, no fields.
pub static NUMBER: JavaClass = JavaClass::new("java.lang.Number", -8_742_448_824_652_078_965, &[]);

/// `java.lang.Integer`.
pub static INTEGER: JavaClass = JavaClass::new(
    "java.lang.Integer",
    1_360_826_667_806_852_920,
    &[JavaField::new("value", FieldType::Int)],
);

/// `java.lang.Long`.
pub static LONG: JavaClass = JavaClass::new(
    "java.lang.Long",
    4_290_774_380_558_885_855,
    &[JavaField::new("value", FieldType::Long)],
);

/// `java.lang.Double`.
pub static DOUBLE: JavaClass = JavaClass::new(
    "java.lang.Double",
    -9_172_774_392_245_257_468,
    &[JavaField::new("value", FieldType::Double)],
);

#[cfg(test)]
mod tests {
    use super::*;

    static SAMPLE: JavaClass = JavaClass::new(
        "a.B",
        1,
        &[
            JavaField::new("x", FieldType::Int),
            JavaField::new("s", FieldType::String),
            JavaField::new("t", FieldType::String),
        ],
    );

    #[test]
    fn leading_descriptor_back_references_repeated_type_strings() {
        let mut expected = vec![TC_CLASSDESC, 0, 3, b'a', b'.', b'B', 0, 0, 0, 0, 0, 0, 0, 1];
        expected.extend_from_slice(&[SC_SERIALIZABLE, 0, 3]);
        expected.extend_from_slice(&[b'I', 0, 1, b'x']);
        expected.extend_from_slice(&[b'L', 0, 1, b's', TC_STRING, 0, 18]);
        expected.extend_from_slice(b"Ljava/lang/String;");
        expected.extend_from_slice(&[b'L', 0, 1, b't', TC_REFERENCE, 0x00, 0x7E, 0x00, 0x01]);
        expected.extend_from_slice(&[TC_ENDBLOCKDATA, TC_NULL]);
        assert_eq!(SAMPLE.leading_descriptor(), expected);
        assert_eq!(SAMPLE.leading_descriptor_handles(), 2);
        assert_eq!(SAMPLE.primitive_data_len(), 4);
    }

    #[test]
    fn jdk_order_is_primitives_then_objects_by_name() {
        use FieldType::*;
        assert!(is_jdk_field_order(&[
            JavaField::new("b", Int),
            JavaField::new("c", Boolean),
            JavaField::new("a", String),
        ]));
        assert!(!is_jdk_field_order(&[JavaField::new("a", String), JavaField::new("b", Int),]));
        assert!(!is_jdk_field_order(&[JavaField::new("b", Int), JavaField::new("a", Int),]));
        // Upper case sorts before lower case, '_' between them.
        assert!(is_jdk_field_order(&[
            JavaField::new("Z", Int),
            JavaField::new("_", Int),
            JavaField::new("a", Int),
        ]));
    }
}

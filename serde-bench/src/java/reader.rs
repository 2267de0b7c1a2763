//! The stream reader: decodes what `ObjectOutputStream` wrote for records of one class, resolving
//! back-references by handle, and returns an error for anything else.
//!
//! It reads every back-reference a JDK stream of these classes may hold, including the ones
//! Ember's writer never emits (a record or a string written twice by identity). Class descriptors
//! are parsed and checked against the expected class without allocating; strings a handle names
//! are kept as byte ranges of the input and decoded again when referenced.

use super::class_desc::{DOUBLE, INTEGER, JavaClass, LONG, NUMBER};
use super::classes::JavaRecord;
use super::constants::{
    BASE_WIRE_HANDLE, SC_SERIALIZABLE, STREAM_MAGIC, STREAM_VERSION, TC_CLASSDESC, TC_ENDBLOCKDATA,
    TC_LONGSTRING, TC_NULL, TC_OBJECT, TC_REFERENCE, TC_RESET, TC_STRING,
};
use super::error::JavaError;
use super::mutf8::{self, Mutf8Error};
use super::wire::Input;

/// What a handle names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    RecordClass,
    IntegerClass,
    LongClass,
    DoubleClass,
    NumberClass,
    /// A string: the range of its modified UTF-8 bytes in the input.
    Str {
        start: usize,
        end: usize,
    },
    /// A record: its index in the output.
    Record(usize),
    Int(i32),
    Long(i64),
    Double(f64),
}

impl Entry {
    fn describe(self) -> &'static str {
        match self {
            Entry::RecordClass => "the record class descriptor",
            Entry::IntegerClass => "the Integer class descriptor",
            Entry::LongClass => "the Long class descriptor",
            Entry::DoubleClass => "the Double class descriptor",
            Entry::NumberClass => "the Number class descriptor",
            Entry::Str { .. } => "a string",
            Entry::Record(_) => "a record",
            Entry::Int(_) => "an Integer",
            Entry::Long(_) => "a Long",
            Entry::Double(_) => "a Double",
        }
    }
}

/// The classes a descriptor in these streams may describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Record,
    Integer,
    Long,
    Double,
    Number,
}

/// Reads a whole stream of `R` records into `out`.
pub(crate) fn read_stream<R: JavaRecord>(
    bytes: &[u8],
    handles: &mut Vec<Entry>,
    out: &mut Vec<R>,
) -> Result<(), JavaError> {
    out.clear();
    handles.clear();
    let mut reader = ObjectReader { input: Input::new(bytes), handles, class: R::class() };
    let header = reader.input.u32()?;
    if header != (u32::from(STREAM_MAGIC) << 16 | u32::from(STREAM_VERSION)) {
        return Err(JavaError::BadHeader { found: header });
    }
    while !reader.input.is_empty() {
        let offset = reader.input.pos();
        match reader.input.u8()? {
            TC_OBJECT => {
                reader.class_desc(Expect::Record)?;
                reader.handles.push(Entry::Record(out.len()));
                let row = R::read_fields(&mut reader)?;
                out.push(row);
            }
            TC_REFERENCE => match reader.reference()? {
                (_, Entry::Record(i)) => match out.get(i) {
                    Some(row) => out.push(row.clone()),
                    None => {
                        return Err(JavaError::UnexpectedTypeCode {
                            code: TC_REFERENCE,
                            offset,
                            expected: "a reference to a complete record",
                        });
                    }
                },
                (handle, found) => return Err(mismatch(handle, offset, found, "a record")),
            },
            TC_RESET => reader.handles.clear(),
            TC_NULL => {
                return Err(JavaError::UnexpectedNull { what: "record", offset });
            }
            code => {
                return Err(JavaError::UnexpectedTypeCode {
                    code,
                    offset,
                    expected: "a record, a reference or a reset",
                });
            }
        }
    }
    Ok(())
}

fn mismatch(handle: u32, offset: usize, found: Entry, expected: &'static str) -> JavaError {
    JavaError::HandleType { handle, offset, found: found.describe(), expected }
}

fn utf_error(e: Mutf8Error, offset: usize) -> JavaError {
    match e {
        Mutf8Error::Malformed => JavaError::InvalidModifiedUtf8 { offset },
        Mutf8Error::UnpairedSurrogate => JavaError::UnpairedSurrogate { offset },
    }
}

/// Reads one record's field values, in the order of its class's fields.
#[derive(Debug)]
pub struct ObjectReader<'a, 'h> {
    input: Input<'a>,
    handles: &'h mut Vec<Entry>,
    class: &'static JavaClass,
}

impl ObjectReader<'_, '_> {
    #[inline]
    pub fn boolean(&mut self) -> Result<bool, JavaError> {
        // `ObjectInputStream` takes any non-zero byte as true.
        self.input.u8().map(|b| b != 0)
    }

    #[inline]
    pub fn int(&mut self) -> Result<i32, JavaError> {
        self.input.i32()
    }

    #[inline]
    pub fn long(&mut self) -> Result<i64, JavaError> {
        self.input.i64()
    }

    #[inline]
    pub fn double(&mut self) -> Result<f64, JavaError> {
        self.input.f64()
    }

    /// A non-null `String` field.
    #[inline]
    pub fn string(&mut self) -> Result<String, JavaError> {
        let offset = self.input.pos();
        match self.string_range()? {
            Some((start, end)) => self.decode_string(start, end, offset),
            None => Err(JavaError::UnexpectedNull { what: "string", offset }),
        }
    }

    /// A nullable `String` field.
    #[inline]
    pub fn opt_string(&mut self) -> Result<Option<String>, JavaError> {
        let offset = self.input.pos();
        match self.string_range()? {
            Some((start, end)) => Ok(Some(self.decode_string(start, end, offset)?)),
            None => Ok(None),
        }
    }

    #[inline]
    fn decode_string(&self, start: usize, end: usize, offset: usize) -> Result<String, JavaError> {
        match mutf8::decode(&self.input.all()[start..end]) {
            Ok(s) => Ok(s),
            Err(e) => Err(utf_error(e, offset)),
        }
    }

    /// The byte range of the next string object (new or back-referenced), `None` for null.
    #[inline]
    fn string_range(&mut self) -> Result<Option<(usize, usize)>, JavaError> {
        let offset = self.input.pos();
        match self.input.u8()? {
            TC_STRING => {
                let len = usize::from(self.input.u16()?);
                self.new_string(len).map(Some)
            }
            TC_NULL => Ok(None),
            TC_LONGSTRING => {
                let len = self.input.u64()?;
                let len = usize::try_from(len)
                    .map_err(|_| JavaError::Truncated { offset: self.input.pos() })?;
                self.new_string(len).map(Some)
            }
            TC_REFERENCE => match self.reference()? {
                (_, Entry::Str { start, end }) => Ok(Some((start, end))),
                (handle, found) => Err(mismatch(handle, offset, found, "a string")),
            },
            code => Err(JavaError::UnexpectedTypeCode { code, offset, expected: "a string" }),
        }
    }

    /// A `java.lang.Integer` field.
    #[inline]
    pub fn boxed_int(&mut self) -> Result<Option<i32>, JavaError> {
        let offset = self.input.pos();
        match self.input.u8()? {
            TC_NULL => Ok(None),
            TC_OBJECT => {
                self.class_desc(Expect::Integer)?;
                let v = self.input.i32()?;
                self.handles.push(Entry::Int(v));
                Ok(Some(v))
            }
            TC_REFERENCE => match self.reference()? {
                (_, Entry::Int(v)) => Ok(Some(v)),
                (handle, found) => Err(mismatch(handle, offset, found, "an Integer")),
            },
            code => {
                Err(JavaError::UnexpectedTypeCode { code, offset, expected: "an Integer or null" })
            }
        }
    }

    /// A `java.lang.Long` field.
    #[inline]
    pub fn boxed_long(&mut self) -> Result<Option<i64>, JavaError> {
        let offset = self.input.pos();
        match self.input.u8()? {
            TC_NULL => Ok(None),
            TC_OBJECT => {
                self.class_desc(Expect::Long)?;
                let v = self.input.i64()?;
                self.handles.push(Entry::Long(v));
                Ok(Some(v))
            }
            TC_REFERENCE => match self.reference()? {
                (_, Entry::Long(v)) => Ok(Some(v)),
                (handle, found) => Err(mismatch(handle, offset, found, "a Long")),
            },
            code => Err(JavaError::UnexpectedTypeCode { code, offset, expected: "a Long or null" }),
        }
    }

    /// A `java.lang.Double` field.
    #[inline]
    pub fn boxed_double(&mut self) -> Result<Option<f64>, JavaError> {
        let offset = self.input.pos();
        match self.input.u8()? {
            TC_NULL => Ok(None),
            TC_OBJECT => {
                self.class_desc(Expect::Double)?;
                let v = self.input.f64()?;
                self.handles.push(Entry::Double(v));
                Ok(Some(v))
            }
            TC_REFERENCE => match self.reference()? {
                (_, Entry::Double(v)) => Ok(Some(v)),
                (handle, found) => Err(mismatch(handle, offset, found, "a Double")),
            },
            code => {
                Err(JavaError::UnexpectedTypeCode { code, offset, expected: "a Double or null" })
            }
        }
    }

    /// Takes `len` string bytes and gives them a handle.
    #[inline]
    fn new_string(&mut self, len: usize) -> Result<(usize, usize), JavaError> {
        let start = self.input.pos();
        self.input.take(len)?;
        let end = start + len;
        self.handles.push(Entry::Str { start, end });
        Ok((start, end))
    }

    /// The handle after `TC_REFERENCE` and what it names.
    #[inline]
    fn reference(&mut self) -> Result<(u32, Entry), JavaError> {
        let offset = self.input.pos();
        let handle = self.input.u32()?;
        let entry = handle
            .checked_sub(BASE_WIRE_HANDLE)
            .and_then(|i| self.handles.get(i as usize))
            .copied()
            .ok_or(JavaError::UnknownHandle { handle, offset })?;
        Ok((handle, entry))
    }

    /// A class descriptor (new or a back-reference) that must describe `expect`.
    fn class_desc(&mut self, expect: Expect) -> Result<(), JavaError> {
        let offset = self.input.pos();
        let (class, entry, superclass) = match expect {
            Expect::Record => (self.class, Entry::RecordClass, None),
            Expect::Integer => (&INTEGER, Entry::IntegerClass, Some(Expect::Number)),
            Expect::Long => (&LONG, Entry::LongClass, Some(Expect::Number)),
            Expect::Double => (&DOUBLE, Entry::DoubleClass, Some(Expect::Number)),
            Expect::Number => (&NUMBER, Entry::NumberClass, None),
        };
        match self.input.u8()? {
            TC_REFERENCE => {
                let (handle, found) = self.reference()?;
                if std::mem::discriminant(&found) != std::mem::discriminant(&entry) {
                    return Err(mismatch(handle, offset, found, class.name));
                }
                Ok(())
            }
            TC_CLASSDESC => {
                self.handles.push(entry);
                self.class_body(class, offset)?;
                match superclass {
                    Some(sup) => self.class_desc(sup),
                    None => {
                        let at = self.input.pos();
                        match self.input.u8()? {
                            TC_NULL => Ok(()),
                            _ => Err(JavaError::ClassMismatch {
                                offset: at,
                                class: class.name,
                                detail: "superclass is not java.lang.Object",
                            }),
                        }
                    }
                }
            }
            code => {
                Err(JavaError::UnexpectedTypeCode { code, offset, expected: "a class descriptor" })
            }
        }
    }

    /// Name through `TC_ENDBLOCKDATA` of a new descriptor, checked against `class`.
    fn class_body(&mut self, class: &'static JavaClass, offset: usize) -> Result<(), JavaError> {
        let fail = |detail| JavaError::ClassMismatch { offset, class: class.name, detail };
        if !self.utf_equals(class.name)? {
            return Err(fail("class name differs"));
        }
        if self.input.i64()? != class.serial_version_uid {
            return Err(fail("serialVersionUID differs"));
        }
        if self.input.u8()? != SC_SERIALIZABLE {
            return Err(fail("flags are not SC_SERIALIZABLE alone"));
        }
        if usize::from(self.input.u16()?) != class.fields.len() {
            return Err(fail("number of fields differs"));
        }
        for field in class.fields {
            if self.input.u8()? != field.ty.type_code() {
                return Err(fail("a field's type code differs"));
            }
            if !self.utf_equals(field.name)? {
                return Err(fail("a field's name differs"));
            }
            if let Some(ts) = field.ty.type_string() {
                self.type_string(ts, class, offset)?;
            }
        }
        let at = self.input.pos();
        match self.input.u8()? {
            TC_ENDBLOCKDATA => Ok(()),
            code => Err(JavaError::UnexpectedTypeCode {
                code,
                offset: at,
                expected: "TC_ENDBLOCKDATA (class annotations are not supported)",
            }),
        }
    }

    /// An object field's type string, new or a back-reference, which must equal `expected`.
    fn type_string(
        &mut self,
        expected: &str,
        class: &'static JavaClass,
        offset: usize,
    ) -> Result<(), JavaError> {
        let at = self.input.pos();
        let (start, end) = match self.input.u8()? {
            TC_STRING => {
                let len = usize::from(self.input.u16()?);
                self.new_string(len)?
            }
            TC_REFERENCE => match self.reference()? {
                (_, Entry::Str { start, end }) => (start, end),
                (handle, found) => return Err(mismatch(handle, at, found, "a type string")),
            },
            code => {
                return Err(JavaError::UnexpectedTypeCode {
                    code,
                    offset: at,
                    expected: "a type string",
                });
            }
        };
        // Type strings are ASCII, where modified UTF-8 is the bytes themselves.
        if &self.input.all()[start..end] != expected.as_bytes() {
            return Err(JavaError::ClassMismatch {
                offset,
                class: class.name,
                detail: "a field's type differs",
            });
        }
        Ok(())
    }

    /// Reads a `writeUTF` string and compares it with an ASCII name.
    fn utf_equals(&mut self, name: &str) -> Result<bool, JavaError> {
        let len = usize::from(self.input.u16()?);
        Ok(self.input.take(len)? == name.as_bytes())
    }
}

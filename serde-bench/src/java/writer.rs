//! The stream writer: what `ObjectOutputStream.writeObject` emits for each record, with
//! `reset()` every N objects as Spark's `JavaSerializationStream` calls it.
//!
//! The writer keeps no handle table. Handles are only counted: the record's descriptor is always
//! handle 0 of its window (it is the first thing written after the header or a reset), and every
//! other handle a back-reference may name (the boxes' descriptors, cached boxes) is remembered in
//! a few fixed slots.
//!
//! Which objects the JVM would share decides where back-references appear. Ember's records own
//! their strings, the way a JVM record holds strings parsed from its input, so each string is a
//! distinct object and is written in full. Boxes are shared where the JVM shares them by itself:
//! `Integer.valueOf` and `Long.valueOf` return one cached object per value in -128..=127, so such
//! a box is written once per window and back-referenced afterwards; `Double.valueOf` caches nothing.

use super::class_desc::{DOUBLE, INTEGER, JavaClass, LONG, NUMBER};
use super::classes::JavaRecord;
use super::constants::{
    BASE_WIRE_HANDLE, MAX_SHORT_UTF_LEN, STREAM_MAGIC, STREAM_VERSION, TC_LONGSTRING, TC_NULL,
    TC_OBJECT, TC_REFERENCE, TC_RESET, TC_STRING,
};
use super::mutf8;
use super::wire::{put_f64, put_i32, put_i64, put_u16, put_u32, put_u64};

/// Range of values `Integer.valueOf` and `Long.valueOf` return cached objects for.
const BOX_CACHE_LOW: i64 = -128;
const BOX_CACHE_LEN: usize = 256;

/// Precomputed descriptor bytes of the boxes, which hold no handles and never change.
#[derive(Debug)]
struct BoxHeads {
    integer: Vec<u8>,
    long: Vec<u8>,
    double: Vec<u8>,
    /// `Number`'s descriptor with its `TC_NULL` superclass.
    number: Vec<u8>,
}

impl BoxHeads {
    fn new() -> Self {
        let mut number = NUMBER.head_without_type_strings();
        number.push(TC_NULL);
        Self {
            integer: INTEGER.head_without_type_strings(),
            long: LONG.head_without_type_strings(),
            double: DOUBLE.head_without_type_strings(),
            number,
        }
    }
}

/// Per-window handles of the shared objects; `0` means "not written since the last reset".
#[derive(Debug)]
pub(crate) struct WriterState {
    heads: BoxHeads,
    integer_desc: u32,
    long_desc: u32,
    double_desc: u32,
    number_desc: u32,
    integer_cache: [u32; BOX_CACHE_LEN],
    long_cache: [u32; BOX_CACHE_LEN],
    cache_dirty: bool,
}

impl WriterState {
    pub(crate) fn new() -> Self {
        Self {
            heads: BoxHeads::new(),
            integer_desc: 0,
            long_desc: 0,
            double_desc: 0,
            number_desc: 0,
            integer_cache: [0; BOX_CACHE_LEN],
            long_cache: [0; BOX_CACHE_LEN],
            cache_dirty: false,
        }
    }

    fn reset(&mut self) {
        self.integer_desc = 0;
        self.long_desc = 0;
        self.double_desc = 0;
        self.number_desc = 0;
        if self.cache_dirty {
            self.integer_cache = [0; BOX_CACHE_LEN];
            self.long_cache = [0; BOX_CACHE_LEN];
            self.cache_dirty = false;
        }
    }
}

/// Writes `rows` as one stream: header, then one `writeObject` per record, with `TC_RESET`
/// after every `reset_interval` records (`0`: never, like `objectStreamReset <= 0`).
pub(crate) fn write_stream<R: JavaRecord>(
    rows: &[R],
    out: &mut Vec<u8>,
    state: &mut WriterState,
    reset_interval: usize,
) {
    let class: &JavaClass = R::class();
    let leading = class.leading_descriptor();
    let leading_handles = class.leading_descriptor_handles();
    out.clear();
    put_u16(out, STREAM_MAGIC);
    put_u16(out, STREAM_VERSION);
    state.reset();
    let mut writer = ObjectWriter { out, next_handle: BASE_WIRE_HANDLE, state };
    let mut since_reset = 0usize;
    for row in rows {
        writer.out.push(TC_OBJECT);
        if writer.next_handle == BASE_WIRE_HANDLE {
            writer.out.extend_from_slice(leading);
            writer.next_handle += leading_handles;
        } else {
            writer.out.push(TC_REFERENCE);
            put_u32(writer.out, BASE_WIRE_HANDLE);
        }
        writer.next_handle += 1;
        row.write_fields(&mut writer);
        since_reset += 1;
        if since_reset == reset_interval {
            writer.out.push(TC_RESET);
            writer.next_handle = BASE_WIRE_HANDLE;
            writer.state.reset();
            since_reset = 0;
        }
    }
}

/// Writes one record's field values, in the order of its class's fields.
#[derive(Debug)]
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    next_handle: u32,
    state: &'a mut WriterState,
}

impl ObjectWriter<'_> {
    #[inline]
    pub fn boolean(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }

    #[inline]
    pub fn int(&mut self, v: i32) {
        put_i32(self.out, v);
    }

    #[inline]
    pub fn long(&mut self, v: i64) {
        put_i64(self.out, v);
    }

    #[inline]
    pub fn double(&mut self, v: f64) {
        put_f64(self.out, v);
    }

    /// A non-null `String` field.
    #[inline]
    pub fn string(&mut self, s: &str) {
        self.next_handle += 1;
        let len = mutf8::encoded_len(s);
        if len <= MAX_SHORT_UTF_LEN {
            self.out.reserve(3 + len);
            self.out.push(TC_STRING);
            put_u16(self.out, len as u16);
        } else {
            self.out.reserve(9 + len);
            self.out.push(TC_LONGSTRING);
            put_u64(self.out, len as u64);
        }
        mutf8::encode_into(s, len, self.out);
    }

    /// A nullable `String` field.
    #[inline]
    pub fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.out.push(TC_NULL),
        }
    }

    /// A `java.lang.Integer` field.
    #[inline]
    pub fn boxed_int(&mut self, v: Option<i32>) {
        let Some(v) = v else {
            self.out.push(TC_NULL);
            return;
        };
        let slot = cache_slot(i64::from(v));
        if let Some(slot) = slot
            && self.state.integer_cache[slot] != 0
        {
            self.reference(self.state.integer_cache[slot]);
            return;
        }
        let handle = self.box_object(BoxKind::Integer);
        put_i32(self.out, v);
        if let Some(slot) = slot {
            self.state.integer_cache[slot] = handle;
            self.state.cache_dirty = true;
        }
    }

    /// A `java.lang.Long` field.
    #[inline]
    pub fn boxed_long(&mut self, v: Option<i64>) {
        let Some(v) = v else {
            self.out.push(TC_NULL);
            return;
        };
        let slot = cache_slot(v);
        if let Some(slot) = slot
            && self.state.long_cache[slot] != 0
        {
            self.reference(self.state.long_cache[slot]);
            return;
        }
        let handle = self.box_object(BoxKind::Long);
        put_i64(self.out, v);
        if let Some(slot) = slot {
            self.state.long_cache[slot] = handle;
            self.state.cache_dirty = true;
        }
    }

    /// A `java.lang.Double` field.
    #[inline]
    pub fn boxed_double(&mut self, v: Option<f64>) {
        match v {
            Some(v) => {
                self.box_object(BoxKind::Double);
                put_f64(self.out, v);
            }
            None => self.out.push(TC_NULL),
        }
    }

    #[inline]
    fn reference(&mut self, handle: u32) {
        self.out.push(TC_REFERENCE);
        put_u32(self.out, handle);
    }

    /// `TC_OBJECT` and the box's class descriptor (in full the first time in the window, else a
    /// back-reference); returns the new object's handle. The value follows.
    #[inline]
    fn box_object(&mut self, kind: BoxKind) -> u32 {
        self.out.push(TC_OBJECT);
        let state = &mut *self.state;
        let (desc, head) = match kind {
            BoxKind::Integer => (&mut state.integer_desc, &state.heads.integer),
            BoxKind::Long => (&mut state.long_desc, &state.heads.long),
            BoxKind::Double => (&mut state.double_desc, &state.heads.double),
        };
        if *desc != 0 {
            self.out.push(TC_REFERENCE);
            put_u32(self.out, *desc);
        } else {
            *desc = self.next_handle;
            self.next_handle += 1;
            self.out.extend_from_slice(head);
            if state.number_desc != 0 {
                self.out.push(TC_REFERENCE);
                put_u32(self.out, state.number_desc);
            } else {
                state.number_desc = self.next_handle;
                self.next_handle += 1;
                self.out.extend_from_slice(&state.heads.number);
            }
        }
        let handle = self.next_handle;
        self.next_handle += 1;
        handle
    }
}

#[derive(Debug, Clone, Copy)]
enum BoxKind {
    Integer,
    Long,
    Double,
}

#[inline]
fn cache_slot(v: i64) -> Option<usize> {
    let slot = v.wrapping_sub(BOX_CACHE_LOW) as u64;
    (slot < BOX_CACHE_LEN as u64).then_some(slot as usize)
}

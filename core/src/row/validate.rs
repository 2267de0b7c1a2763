//! The validator: the only way from untrusted bytes to a readable [`Row`](super::Row).
//!
//! It accepts exactly the canonical rows a builder writes: every slot, offset, length,
//! padding byte and null bit is checked, every variable-length value must start where the
//! previous one ended (so a valid row has one byte form), and every string is UTF-8. It never
//! panics: all arithmetic on lengths read from the bytes is checked.

use super::RowError;
use super::layout::{self, SLOT_BYTES, round8, unpack_slot};
use super::types::{DataType, Field, Kind, Schema};
use super::writer::list_header_bytes;

/// A rule broken at `offset` (relative to the value being checked); `path` holds the
/// field names from the innermost outwards.
struct Invalid {
    path: Vec<String>,
    offset: usize,
    reason: &'static str,
}

type Check = Result<(), Invalid>;

fn fail(offset: usize, reason: &'static str) -> Check {
    Err(Invalid { path: Vec::new(), offset, reason })
}

/// Names the field an error happened in.
fn in_field(result: Check, name: impl FnOnce() -> String) -> Check {
    result.map_err(|mut e| {
        e.path.push(name());
        e
    })
}

/// Checks that `bytes` are a canonical row of `schema`.
pub fn validate_row(bytes: &[u8], schema: &Schema) -> Result<(), RowError> {
    check_row(bytes, schema).map_err(|e| {
        let mut field = String::new();
        for segment in e.path.iter().rev() {
            if !field.is_empty() && !segment.starts_with('[') {
                field.push('.');
            }
            field.push_str(segment);
        }
        if field.is_empty() {
            field.push_str("<row>");
        }
        RowError::Invalid { field, offset: e.offset, reason: e.reason }
    })
}

fn check_row(bytes: &[u8], schema: &Schema) -> Check {
    if !bytes.len().is_multiple_of(8) {
        return fail(bytes.len(), "row length is not a multiple of 8");
    }
    if bytes.len() < schema.fixed_size() {
        return fail(bytes.len(), "row is shorter than its null bitset and fixed slots");
    }
    let bitset = &bytes[..schema.bitset_bytes()];
    check_bitset(
        bitset,
        schema.len(),
        0,
        |i| schema.field(i).nullable,
        |i| schema.field(i).name.clone(),
    )?;

    let mut cursor = schema.fixed_size();
    for (i, field) in schema.fields().iter().enumerate() {
        let slot_pos = schema.bitset_bytes() + SLOT_BYTES * i;
        let slot = layout::read_u64(bytes, slot_pos);
        let kind = schema.kind(i);
        let result = if layout::bit_is_set(bitset, i) {
            if slot == 0 { Ok(()) } else { fail(slot_pos, "a null field's slot is not zero") }
        } else if kind.is_variable() {
            check_var(bytes, slot_pos, slot, &mut cursor, &field.data_type)
        } else {
            check_fixed_slot(slot, kind, slot_pos)
        };
        in_field(result, || field.name.clone())?;
    }
    if cursor != bytes.len() {
        return fail(cursor, "bytes after the last variable-length value");
    }
    Ok(())
}

/// Checks a bitset of `n` bits at `bitset_pos`: no bit beyond `n`, nulls only where allowed.
fn check_bitset(
    bitset: &[u8],
    n: usize,
    bitset_pos: usize,
    nullable: impl Fn(usize) -> bool,
    name: impl Fn(usize) -> String,
) -> Check {
    for (byte_index, &byte) in bitset.iter().enumerate() {
        for bit in (0..8).filter(|bit| byte & (1 << bit) != 0) {
            let i = byte_index * 8 + bit;
            if i >= n {
                return fail(bitset_pos + byte_index, "null bit set beyond the last value");
            }
            if !nullable(i) {
                let result = fail(bitset_pos + byte_index, "null in a value that is not nullable");
                return in_field(result, || name(i));
            }
        }
    }
    Ok(())
}

/// A fixed-width value in an 8-byte row slot: the bytes above its width must be zero.
fn check_fixed_slot(slot: u64, kind: Kind, slot_pos: usize) -> Check {
    let ok = match kind {
        Kind::Boolean => slot <= 1,
        Kind::Int8 => slot >> 8 == 0,
        Kind::Int16 => slot >> 16 == 0,
        Kind::Int32 | Kind::Float32 | Kind::Date => slot >> 32 == 0,
        _ => true,
    };
    match (ok, kind) {
        (true, _) => Ok(()),
        (false, Kind::Boolean) => fail(slot_pos, "boolean is neither 0 nor 1"),
        (false, _) => fail(slot_pos, "unused high bytes of a narrow slot are not zero"),
    }
}

/// A variable-length value: its slot must point exactly at `cursor`, its padded extent must
/// be inside `container`, its padding zero, and its content valid for its type. Advances
/// `cursor` past it.
fn check_var(
    container: &[u8],
    slot_pos: usize,
    slot: u64,
    cursor: &mut usize,
    data_type: &DataType,
) -> Check {
    let (offset, len) = unpack_slot(slot);
    if offset != *cursor {
        return fail(slot_pos, "variable-length value does not start where the previous ended");
    }
    let Some(end) = offset.checked_add(round8(len)).filter(|&end| end <= container.len()) else {
        return fail(slot_pos, "variable-length value extends past the end");
    };
    if container[offset + len..end].iter().any(|&b| b != 0) {
        return fail(offset + len, "padding after a variable-length value is not zero");
    }
    *cursor = end;
    let value = &container[offset..offset + len];
    let result = match data_type {
        DataType::Utf8 => match std::str::from_utf8(value) {
            Ok(_) => Ok(()),
            Err(e) => fail(e.valid_up_to(), "string is not valid UTF-8"),
        },
        DataType::Binary => Ok(()),
        DataType::Struct(schema) => check_row(value, schema),
        DataType::List(element) => check_list(value, element),
        _ => unreachable!("only variable-length kinds reach here"),
    };
    result.map_err(|mut e| {
        e.offset += offset;
        e
    })
}

fn check_list(bytes: &[u8], element: &Field) -> Check {
    if bytes.len() < 8 {
        return fail(0, "list is shorter than its element count");
    }
    let count = layout::read_u64(bytes, 0);
    let kind = element.data_type.kind();
    // Every element takes at least one byte of slot, so a count above the list's size is
    // impossible; checking it first keeps the header arithmetic below from overflowing.
    if count > bytes.len() as u64 {
        return fail(0, "list element count exceeds the list's size");
    }
    let count = count as usize;
    let header = list_header_bytes(count, kind);
    if header > bytes.len() {
        return fail(0, "list is shorter than its bitset and element slots");
    }
    let bitset = &bytes[8..8 + layout::bitset_bytes(count)];
    check_bitset(bitset, count, 8, |_| element.nullable, |j| format!("[{j}]"))?;

    let width = kind.element_width();
    let slots_start = 8 + bitset.len();
    let slots_end = slots_start + count * width;
    if bytes[slots_end..header].iter().any(|&b| b != 0) {
        return fail(slots_end, "padding after list element slots is not zero");
    }
    let mut cursor = header;
    for j in 0..count {
        let pos = slots_start + j * width;
        let slot_bytes = &bytes[pos..pos + width];
        let result = if layout::bit_is_set(bitset, j) {
            if slot_bytes.iter().all(|&b| b == 0) {
                Ok(())
            } else {
                fail(pos, "a null element's slot is not zero")
            }
        } else if kind.is_variable() {
            let slot = layout::read_u64(bytes, pos);
            check_var(bytes, pos, slot, &mut cursor, &element.data_type)
        } else if kind == Kind::Boolean && slot_bytes[0] > 1 {
            fail(pos, "boolean is neither 0 nor 1")
        } else {
            Ok(())
        };
        in_field(result, || format!("[{j}]"))?;
    }
    if cursor != bytes.len() {
        return fail(cursor, "bytes after the list's last variable-length value");
    }
    Ok(())
}

//! Property tests of the binary row format: random schemas (every type, nested structs, lists
//! of anything, nullable or not) with matching random values, checked against an independent
//! reference encoder written from the layout rules, the validator, the key-mode float rules,
//! null handling and the arena. Every run is seeded, so CI sees the same cases every time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ember::row::{
    DataType, FieldSink, FieldSource, FloatMode, Row, RowArena, RowBuilder, RowError, RowWriter,
    Schema, Value, bitset_bytes, encode_values, hash_row, normalize_f32, normalize_f64, round8,
};
use proptest::prelude::*;

mod common;

use common::generate;

use generate::{Domain, same, same_all, schema_and_values};

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x0045_4d42_4552)
}

/// Encodes with the interpreted encoder through a fresh writer.
fn encode(schema: &Schema, values: &[Value], mode: FloatMode) -> Vec<u8> {
    let mut writer = match mode {
        FloatMode::Exact => RowWriter::new(),
        FloatMode::Normalized => RowWriter::for_keys(),
    };
    let mut result = Ok(());
    let row = writer.write(schema, |b| result = encode_values(values, b));
    result.expect("values match the schema");
    row.bytes().to_vec()
}

/// NaN → canonical NaN and -0.0 → 0.0, everywhere in a value.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Float32(v) => Value::Float32(normalize_f32(*v)),
        Value::Float64(v) => Value::Float64(normalize_f64(*v)),
        Value::Struct(vs) => Value::Struct(vs.iter().map(normalize).collect()),
        Value::List(vs) => Value::List(vs.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn normalize_all(values: &[Value]) -> Vec<Value> {
    values.iter().map(normalize).collect()
}

/// The same values spelled differently where keys do not care: each float that is zero or
/// NaN is, depending on the next bit of `seed`, swapped for its other zero or another NaN.
fn respell(value: &Value, seed: &mut u64) -> Value {
    let mut flip = || {
        *seed = seed.rotate_left(1);
        *seed & 1 == 1
    };
    match value {
        Value::Float32(v) if v.is_nan() && flip() => Value::Float32(f32::from_bits(0xffc0_1234)),
        Value::Float32(v) if *v == 0.0 && flip() => Value::Float32(-*v),
        Value::Float64(v) if v.is_nan() && flip() => {
            Value::Float64(f64::from_bits(0x7ff0_0000_0000_00ff))
        }
        Value::Float64(v) if *v == 0.0 && flip() => Value::Float64(-*v),
        Value::Struct(vs) => Value::Struct(vs.iter().map(|v| respell(v, seed)).collect()),
        Value::List(vs) => Value::List(vs.iter().map(|v| respell(v, seed)).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// An independent encoder, written from the layout rules alone.
// ---------------------------------------------------------------------------------------------

/// A non-null fixed-width value as little-endian bytes of its list-element width.
fn fixed_le(value: &Value) -> Vec<u8> {
    match value {
        Value::Boolean(v) => vec![u8::from(*v)],
        Value::Int8(v) => v.to_le_bytes().to_vec(),
        Value::Int16(v) => v.to_le_bytes().to_vec(),
        Value::Int32(v) | Value::Date(v) => v.to_le_bytes().to_vec(),
        Value::Int64(v) | Value::Timestamp(v) => v.to_le_bytes().to_vec(),
        Value::Float32(v) => v.to_bits().to_le_bytes().to_vec(),
        Value::Float64(v) => v.to_bits().to_le_bytes().to_vec(),
        other => panic!("not a fixed-width value: {other:?}"),
    }
}

fn is_variable(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::Binary | DataType::Struct(_) | DataType::List(_))
}

fn element_width(data_type: &DataType) -> usize {
    match data_type {
        DataType::Boolean | DataType::Int8 => 1,
        DataType::Int16 => 2,
        DataType::Int32 | DataType::Float32 | DataType::Date => 4,
        _ => 8,
    }
}

/// The bytes of a non-null variable-length value (without padding).
fn ref_var(value: &Value, data_type: &DataType) -> Vec<u8> {
    match (value, data_type) {
        (Value::Utf8(s), DataType::Utf8) => s.as_bytes().to_vec(),
        (Value::Binary(b), DataType::Binary) => b.clone(),
        (Value::Struct(vs), DataType::Struct(schema)) => ref_row(vs, schema),
        (Value::List(items), DataType::List(element)) => {
            let n = items.len();
            let width = element_width(&element.data_type);
            let header = 8 + n.div_ceil(64) * 8 + (n * width).div_ceil(8) * 8;
            let mut out = vec![0u8; header];
            out[..8].copy_from_slice(&(n as u64).to_le_bytes());
            for (j, item) in items.iter().enumerate() {
                let pos = 8 + n.div_ceil(64) * 8 + j * width;
                if *item == Value::Null {
                    out[8 + j / 8] |= 1 << (j % 8);
                } else if is_variable(&element.data_type) {
                    let slot = append_padded(&mut out, &ref_var(item, &element.data_type));
                    out[pos..pos + 8].copy_from_slice(&slot.to_le_bytes());
                } else {
                    out[pos..pos + width].copy_from_slice(&fixed_le(item));
                }
            }
            out
        }
        _ => panic!("{value:?} is not a {data_type}"),
    }
}

fn append_padded(out: &mut Vec<u8>, bytes: &[u8]) -> u64 {
    let offset = out.len() as u64;
    out.extend_from_slice(bytes);
    out.resize(out.len().div_ceil(8) * 8, 0);
    (offset << 32) | bytes.len() as u64
}

/// The canonical bytes of a row, from the layout rules.
fn ref_row(values: &[Value], schema: &Schema) -> Vec<u8> {
    let n = schema.len();
    let bitset = n.div_ceil(64) * 8;
    let mut out = vec![0u8; bitset + 8 * n];
    for (i, (value, field)) in values.iter().zip(schema.fields()).enumerate() {
        let pos = bitset + 8 * i;
        let slot = if *value == Value::Null {
            out[i / 8] |= 1 << (i % 8);
            0
        } else if is_variable(&field.data_type) {
            append_padded(&mut out, &ref_var(value, &field.data_type))
        } else {
            let mut word = [0u8; 8];
            let le = fixed_le(value);
            word[..le.len()].copy_from_slice(&le);
            u64::from_le_bytes(word)
        };
        out[pos..pos + 8].copy_from_slice(&slot.to_le_bytes());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// An encoder through the FieldSink API that writes a junk value before every null.
// ---------------------------------------------------------------------------------------------

fn write_present(sink: &mut impl FieldSink, i: usize, value: &Value) {
    match value {
        Value::Boolean(v) => sink.write_bool(i, *v),
        Value::Int8(v) => sink.write_i8(i, *v),
        Value::Int16(v) => sink.write_i16(i, *v),
        Value::Int32(v) => sink.write_i32(i, *v),
        Value::Int64(v) => sink.write_i64(i, *v),
        Value::Float32(v) => sink.write_f32(i, *v),
        Value::Float64(v) => sink.write_f64(i, *v),
        Value::Date(v) => sink.write_date(i, *v),
        Value::Timestamp(v) => sink.write_timestamp(i, *v),
        Value::Utf8(v) => sink.write_str(i, v),
        Value::Binary(v) => sink.write_binary(i, v),
        other => panic!("not a leaf value: {other:?}"),
    }
}

/// Writes some value of `data_type` at `i`; returns whether it appended variable-length bytes.
fn write_junk(sink: &mut impl FieldSink, i: usize, data_type: &DataType, seed: u64) -> bool {
    let small = seed as u32;
    match data_type {
        DataType::Boolean => sink.write_bool(i, seed & 1 == 1),
        DataType::Int8 => sink.write_i8(i, seed as i8 | 1),
        DataType::Int16 => sink.write_i16(i, seed as i16 | 1),
        DataType::Int32 => sink.write_i32(i, -(small as i32).abs() - 1),
        DataType::Int64 => sink.write_i64(i, seed as i64 | 1),
        DataType::Float32 => sink.write_f32(i, f32::from_bits(small | 0x8000_0000)),
        DataType::Float64 => sink.write_f64(i, f64::from_bits(seed | 1 << 63)),
        DataType::Date => sink.write_date(i, small as i32 | 1),
        DataType::Timestamp => sink.write_timestamp(i, seed as i64 | 1),
        DataType::Utf8 => {
            sink.write_str(i, "junk");
            return true;
        }
        DataType::Binary => {
            sink.write_binary(i, &[0xAA; 3]);
            return true;
        }
        DataType::Struct(schema) => {
            sink.write_struct(i, |_| {});
            return schema.fixed_size() > 0;
        }
        DataType::List(_) => {
            sink.write_list(i, 0, |_| {});
            return true;
        }
    }
    false
}

/// Writes `value` at `i`; every null is preceded by a junk write of the same field.
fn write_junk_then(
    sink: &mut impl FieldSink,
    i: usize,
    value: &Value,
    data_type: &DataType,
    seed: u64,
    left_behind: &mut bool,
) {
    match (value, data_type) {
        (Value::Null, _) => {
            *left_behind |= write_junk(sink, i, data_type, seed);
            sink.set_null(i);
        }
        (Value::Struct(vs), DataType::Struct(schema)) => sink.write_struct(i, |b| {
            for (k, (v, f)) in vs.iter().zip(schema.fields()).enumerate() {
                write_junk_then(b, k, v, &f.data_type, seed, left_behind);
            }
        }),
        (Value::List(items), DataType::List(element)) => sink.write_list(i, items.len(), |list| {
            for (j, item) in items.iter().enumerate() {
                write_junk_then(list, j, item, &element.data_type, seed, left_behind);
            }
        }),
        _ => write_present(sink, i, value),
    }
}

/// Checks that a row, read in place, gives back `values`, through `to_values` and through the
/// per-field getters.
fn check_readback(row: &Row<'_>, values: &[Value]) -> Result<(), TestCaseError> {
    let read = row.to_values();
    prop_assert!(same_all(&read, values), "read {read:?}\nwrote {values:?}");
    for (i, value) in values.iter().enumerate() {
        prop_assert_eq!(row.is_null(i), *value == Value::Null);
        prop_assert!(same(&row.get_value(i), value));
    }
    let _ = format!("{row:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config(2048))]

    /// The interpreted encoder writes exactly the reference bytes; the validator accepts
    /// them; reading gives the values back, bit for bit; keys get normalised floats.
    #[test]
    fn encode_validate_decode_roundtrip((schema, values) in schema_and_values(7, Domain::Wide)) {
        let bytes = encode(&schema, &values, FloatMode::Exact);
        let expected = ref_row(&values, &schema);
        prop_assert_eq!(&bytes, &expected, "schema {}", schema);
        prop_assert!(bytes.len().is_multiple_of(8));
        let row = Row::try_new(&bytes, &schema).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_readback(&row, &values)?;
        prop_assert_eq!(row.hash(), hash_row(&bytes));

        // A row written after other bytes in the same buffer: offsets count from its start.
        let mut buf = vec![0xEE; 24];
        let mut builder = RowBuilder::begin(&mut buf, &schema, FloatMode::Exact);
        encode_values(&values, &mut builder).unwrap();
        let len = builder.finish();
        prop_assert_eq!(len, bytes.len());
        prop_assert_eq!(&buf[..24], &[0xEE; 24][..]);
        prop_assert_eq!(&buf[24..], &bytes[..]);

        // A reused writer leaves nothing of the previous row behind.
        let mut writer = RowWriter::new();
        let _ = writer.write(&schema, |b| encode_values(&values, b).unwrap());
        let _ = writer.write(&schema, |b| encode_values(&values, b).unwrap());
        prop_assert_eq!(writer.bytes(), &bytes[..]);

        // Key rows: the reference bytes of the normalised values.
        let normalized = normalize_all(&values);
        let key = encode(&schema, &values, FloatMode::Normalized);
        prop_assert_eq!(&key, &ref_row(&normalized, &schema));
        let key_row = Row::try_new(&key, &schema).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_readback(&key_row, &normalized)?;
    }

    /// Key rows are equal bytes exactly when the values are equal after float normalisation,
    /// value rows exactly when they are equal bit for bit; equal bytes hash equal.
    #[test]
    fn bytes_equal_iff_values_equal(
        (schema, a, b, seed, respelled) in schema_and_values(4, Domain::Small)
            .prop_flat_map(|(schema, a)| {
                let b = generate::values(&schema, Domain::Small);
                (Just(schema), Just(a), b, any::<u64>(), any::<bool>())
            })
    ) {
        let b = if respelled {
            let mut seed = seed;
            a.iter().map(|v| respell(v, &mut seed)).collect()
        } else {
            b
        };
        for mode in [FloatMode::Exact, FloatMode::Normalized] {
            let (x, y) = (encode(&schema, &a, mode), encode(&schema, &b, mode));
            let equal = match mode {
                FloatMode::Exact => same_all(&a, &b),
                FloatMode::Normalized => same_all(&normalize_all(&a), &normalize_all(&b)),
            };
            prop_assert_eq!(x == y, equal, "{:?}: {:?} vs {:?}", mode, a, b);
            prop_assert_eq!(hash_row(&x) == hash_row(&y), equal);
            let (rx, ry) = (Row::try_new(&x, &schema).unwrap(), Row::try_new(&y, &schema).unwrap());
            prop_assert_eq!(rx == ry, equal);
        }
    }

    /// Writing a value and then nulling the field gives the bytes of the null alone, whatever
    /// the value was, for fixed-width fields and list elements at any depth. A nulled
    /// variable-length value leaves bytes behind, and the validator rejects that row.
    #[test]
    fn set_null_hides_the_overwritten_value(
        (schema, values) in schema_and_values(7, Domain::Wide),
        seed in any::<u64>(),
    ) {
        let canonical = encode(&schema, &values, FloatMode::Exact);
        let mut left_behind = false;
        let mut writer = RowWriter::new();
        let row = writer.write(&schema, |b| {
            for (i, (v, f)) in values.iter().zip(schema.fields()).enumerate() {
                write_junk_then(b, i, v, &f.data_type, seed, &mut left_behind);
            }
        });
        let bytes = row.bytes().to_vec();
        if left_behind {
            prop_assert!(
                Row::try_new(&bytes, &schema).is_err(),
                "a row with the bytes of a nulled value left behind was accepted"
            );
        } else {
            prop_assert_eq!(&bytes, &canonical);
        }
    }

    /// Arena rows are the bytes a writer writes; get/iter/hash agree; `as_parts` and
    /// `from_parts` round-trip; `push` copies; `sort_by` is a stable permutation.
    #[test]
    fn arena_roundtrip(
        (schema, rows) in generate::schema(6).prop_flat_map(|schema| {
            let rows = proptest::collection::vec(generate::values(&schema, Domain::Small), 0..12);
            (Just(schema), rows)
        })
    ) {
        let mut arena = RowArena::new(schema.clone());
        prop_assert!(arena.is_empty());
        for (i, values) in rows.iter().enumerate() {
            let mut result = Ok(());
            prop_assert_eq!(arena.push_with(|b| result = encode_values(values, b)), i);
            result.unwrap();
        }
        prop_assert_eq!(arena.len(), rows.len());
        let encoded: Vec<Vec<u8>> = rows.iter().map(|v| encode(&schema, v, FloatMode::Exact)).collect();
        prop_assert_eq!(arena.data_len(), encoded.iter().map(Vec::len).sum::<usize>());
        for (i, bytes) in encoded.iter().enumerate() {
            prop_assert_eq!(arena.bytes(i), &bytes[..]);
            prop_assert_eq!(arena.get(i).bytes(), &bytes[..]);
            prop_assert_eq!(arena.hash(i), hash_row(bytes));
            check_readback(&arena.get(i), &rows[i])?;
        }
        prop_assert_eq!(arena.iter().len(), rows.len());
        for (row, bytes) in arena.iter().zip(&encoded) {
            prop_assert_eq!(row.bytes(), &bytes[..]);
        }

        let (buf, offsets) = arena.as_parts();
        let mut expected_offsets = vec![0];
        for bytes in &encoded {
            expected_offsets.push(expected_offsets.last().unwrap() + bytes.len());
        }
        prop_assert_eq!(offsets, &expected_offsets[..]);
        let restored = RowArena::from_parts(schema.clone(), buf.to_vec(), offsets.to_vec())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(restored.as_parts(), arena.as_parts());

        let mut copy = RowArena::new(schema.clone());
        for row in arena.iter() {
            copy.push(row);
        }
        prop_assert_eq!(copy.as_parts(), arena.as_parts());

        // Sort on a coarse key (many ties) and check against a stable sort of the indices.
        let key = |bytes: &[u8]| hash_row(bytes) % 3;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| key(&encoded[i]));
        let mut sorted = arena.clone();
        sorted.sort_by(|a, b| key(a.bytes()).cmp(&key(b.bytes())));
        prop_assert_eq!(sorted.len(), rows.len());
        for (k, &i) in order.iter().enumerate() {
            prop_assert_eq!(sorted.bytes(k), &encoded[i][..]);
        }
        let (sbuf, soffsets) = sorted.as_parts();
        prop_assert!(RowArena::from_parts(schema.clone(), sbuf.to_vec(), soffsets.to_vec()).is_ok());

        arena.clear();
        prop_assert!(arena.is_empty());
        prop_assert_eq!(arena.data_len(), 0);
        if let Some(values) = rows.first() {
            arena.push_with(|b| encode_values(values, b).unwrap());
            prop_assert_eq!(arena.bytes(0), &encoded[0][..]);
        }
    }

    /// `from_parts` of a damaged buffer never panics, and any arena it accepts holds only
    /// canonical rows.
    #[test]
    fn arena_from_parts_of_damaged_buffer(
        (schema, rows) in generate::schema(5).prop_flat_map(|schema| {
            let rows = proptest::collection::vec(generate::values(&schema, Domain::Wide), 1..6);
            (Just(schema), rows)
        }),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut arena = RowArena::new(schema.clone());
        for values in &rows {
            arena.push_with(|b| encode_values(values, b).unwrap());
        }
        let (buf, offsets) = arena.as_parts();
        let mut buf = buf.to_vec();
        for (at, byte) in &damage {
            if !buf.is_empty() {
                let i = at.index(buf.len());
                buf[i] ^= byte | 1;
            }
        }
        check_from_parts(&schema, buf, offsets.to_vec())?;
    }

    /// `from_parts` with a damaged offset index never panics either.
    #[test]
    fn arena_from_parts_of_damaged_offsets(
        (schema, rows) in generate::schema(5).prop_flat_map(|schema| {
            let rows = proptest::collection::vec(generate::values(&schema, Domain::Wide), 1..6);
            (Just(schema), rows)
        }),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4096), 1..3),
    ) {
        let mut arena = RowArena::new(schema.clone());
        for values in &rows {
            arena.push_with(|b| encode_values(values, b).unwrap());
        }
        let (buf, offsets) = arena.as_parts();
        let mut offsets = offsets.to_vec();
        for (at, value) in &damage {
            let i = at.index(offsets.len());
            offsets[i] = *value;
        }
        check_from_parts(&schema, buf.to_vec(), offsets)?;
    }
}

fn check_from_parts(
    schema: &Arc<Schema>,
    buf: Vec<u8>,
    offsets: Vec<usize>,
) -> Result<(), TestCaseError> {
    let outcome =
        catch_unwind(AssertUnwindSafe(|| RowArena::from_parts(schema.clone(), buf, offsets)));
    let Ok(result) = outcome else {
        return Err(TestCaseError::fail("RowArena::from_parts panicked"));
    };
    if let Ok(arena) = result {
        for row in arena.iter() {
            let again = encode(schema, &row.to_values(), FloatMode::Exact);
            prop_assert_eq!(row.bytes(), &again[..]);
        }
    } else if let Err(e) = result {
        prop_assert!(matches!(e, RowError::Invalid { .. }), "{e:?}");
    }
    Ok(())
}

/// Layout pinned byte for byte for one small row: bitset, zero-extended narrow slots, a
/// null's zero slot, `offset << 32 | len` slots, zero padding, and a list of 2-byte elements.
#[test]
fn golden_bytes() {
    let schema = Schema::new(vec![
        ember::row::Field::new("a", DataType::Int32, false),
        ember::row::Field::new("b", DataType::Utf8, true),
        ember::row::Field::new("c", DataType::Utf8, false),
        ember::row::Field::new("d", DataType::list(DataType::Int16, true), false),
        ember::row::Field::new("e", DataType::Boolean, false),
    ]);
    let values = vec![
        Value::Int32(-2),
        Value::Null,
        Value::Utf8("hé".into()),
        Value::List(vec![Value::Int16(1), Value::Null, Value::Int16(-1)]),
        Value::Boolean(true),
    ];
    let bytes = encode(&schema, &values, FloatMode::Exact);
    #[rustfmt::skip]
    let expected: Vec<u8> = [
        &[0b0000_0010, 0, 0, 0, 0, 0, 0, 0][..],     // bitset: b is null
        &[0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0],        // a = -2, zero-extended
        &[0; 8],                                      // b: null, zero slot
        &[3, 0, 0, 0, 48, 0, 0, 0],                   // c: len 3 at offset 48
        &[24, 0, 0, 0, 56, 0, 0, 0],                  // d: len 24 at offset 56
        &[1, 0, 0, 0, 0, 0, 0, 0],                    // e = true
        &[b'h', 0xC3, 0xA9, 0, 0, 0, 0, 0],           // "hé" + padding
        &[3, 0, 0, 0, 0, 0, 0, 0],                    // list count
        &[0b0000_0010, 0, 0, 0, 0, 0, 0, 0],          // list bitset: element 1 null
        &[1, 0, 0, 0, 0xFF, 0xFF, 0, 0],              // elements 1, null, -1, padding
    ]
    .concat();
    assert_eq!(bytes, expected);
    assert_eq!(bytes, ref_row(&values, &schema));
    assert_eq!(bitset_bytes(64), 8);
    assert_eq!(bitset_bytes(65), 16);
    assert_eq!(round8(9), 16);
}

/// A key arena restored from its parts must go on writing key rows (normalised floats).
#[test]
fn key_arena_from_parts_keeps_normalising() {
    let schema = Arc::new(Schema::new(vec![ember::row::Field::new("k", DataType::Float64, false)]));
    let mut keys = RowArena::for_keys(schema.clone());
    keys.push_with(|b| b.write_f64(0, 0.0));
    let (buf, offsets) = keys.as_parts();
    let mut restored =
        RowArena::keys_from_parts(schema.clone(), buf.to_vec(), offsets.to_vec()).unwrap();
    restored.push_with(|b| b.write_f64(0, -0.0));
    assert_eq!(restored.bytes(0), restored.bytes(1), "-0.0 and 0.0 are the same key");
}

/// Reproducer of the `from_parts` panic found by `arena_from_parts_of_damaged_offsets`.
#[test]
fn arena_from_parts_offset_past_the_end_is_an_error() {
    let schema = Arc::new(Schema::new(vec![ember::row::Field::new("x", DataType::Int64, false)]));
    let result = catch_unwind(|| RowArena::from_parts(schema, vec![0; 8], vec![0, 16, 8]));
    assert!(
        matches!(result, Ok(Err(RowError::Invalid { .. }))),
        "expected an error, got {result:?}"
    );
}

/// Key-mode arenas and writers write the same normalised bytes.
#[test]
fn key_arena_normalises_like_key_writer() {
    let schema = Arc::new(Schema::new(vec![
        ember::row::Field::new("f", DataType::Float32, false),
        ember::row::Field::new(
            "l",
            DataType::list(
                DataType::struct_of(vec![ember::row::Field::new("d", DataType::Float64, true)]),
                false,
            ),
            false,
        ),
    ]));
    let weird = vec![
        Value::Float32(f32::from_bits(0xffc0_0001)),
        Value::List(vec![
            Value::Struct(vec![Value::Float64(-0.0)]),
            Value::Struct(vec![Value::Float64(f64::from_bits(0xfff0_0000_0000_0001))]),
        ]),
    ];
    let plain = vec![
        Value::Float32(f32::NAN),
        Value::List(vec![
            Value::Struct(vec![Value::Float64(0.0)]),
            Value::Struct(vec![Value::Float64(f64::NAN)]),
        ]),
    ];
    let mut keys = RowArena::for_keys(schema.clone());
    keys.push_with(|b| encode_values(&weird, b).unwrap());
    keys.push_with(|b| encode_values(&plain, b).unwrap());
    assert_eq!(keys.bytes(0), keys.bytes(1));
    assert_eq!(keys.bytes(0), &encode(&schema, &weird, FloatMode::Normalized)[..]);
    let mut values = RowArena::new(schema);
    values.push_with(|b| encode_values(&weird, b).unwrap());
    values.push_with(|b| encode_values(&plain, b).unwrap());
    assert_ne!(values.bytes(0), values.bytes(1));
}

/// The interpreted encoder refuses values that do not fit the schema, naming the field, and
/// writes nothing readable as a valid row in that case.
#[test]
fn encode_values_rejects_mismatches_by_path() {
    use ember::row::Field;
    let schema = Schema::new(vec![
        Field::new("a", DataType::struct_of(vec![Field::new("b", DataType::Int32, false)]), false),
        Field::new("tags", DataType::list(DataType::Utf8, false), true),
    ]);
    let try_encode = |values: &[Value]| {
        let mut buf = Vec::new();
        let mut builder = RowBuilder::begin(&mut buf, &schema, FloatMode::Exact);
        encode_values(values, &mut builder)
    };
    assert_eq!(
        try_encode(&[Value::Struct(vec![Value::Int64(1)]), Value::Null]),
        Err(RowError::ValueType {
            field: "a.b".into(),
            expected: "int32".into(),
            found: "int64".into(),
        })
    );
    let tags = Value::List(vec![Value::Utf8("x".into()), Value::Utf8("y".into()), Value::Null]);
    assert_eq!(
        try_encode(&[Value::Struct(vec![Value::Int32(1)]), tags]),
        Err(RowError::NullNotAllowed { field: "tags[2]".into() })
    );
    assert_eq!(
        try_encode(&[Value::Null, Value::Null]),
        Err(RowError::NullNotAllowed { field: "a".into() })
    );
    assert_eq!(try_encode(&[Value::Null]), Err(RowError::FieldCount { expected: 2, found: 1 }));
    assert!(try_encode(&[Value::Struct(vec![Value::Int32(1)]), Value::Null]).is_ok());
}

/// The fingerprint guards persisted files against a schema change: different schemas must
/// have different fingerprints, whatever their field names.
#[test]
fn fingerprint_distinguishes_field_names_that_look_like_syntax() {
    use ember::row::Field;
    let two = Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
    ]);
    let one = Schema::new(vec![Field::new("a:int64 not null,b", DataType::Int64, false)]);
    assert_ne!(one, two);
    assert_eq!(one.to_string(), two.to_string());
    assert_ne!(
        one.fingerprint(),
        two.fingerprint(),
        "a 1-field and a 2-field schema share a fingerprint"
    );
}

proptest! {
    #![proptest_config(config(512))]

    /// Fingerprints of generated schemas differ exactly when the schemas do.
    #[test]
    fn fingerprint_follows_schema_equality(a in generate::schema(5), b in generate::schema(5)) {
        prop_assert_eq!(a.fingerprint() == b.fingerprint(), a == b);
        prop_assert_eq!(Schema::new(a.fields().to_vec()).fingerprint(), a.fingerprint());
    }

    /// Partitions are in range and spread over all of them.
    #[test]
    fn partition_of_is_in_range(hash in any::<u64>(), partitions in 1usize..10_000) {
        let p = ember::row::partition_of(hash, partitions);
        prop_assert!(p < partitions);
        prop_assert_eq!(ember::row::partition_of(0, partitions), 0);
        prop_assert_eq!(ember::row::partition_of(u64::MAX, partitions), partitions - 1);
    }
}

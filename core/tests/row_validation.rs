//! Validation of untrusted bytes: `Row::try_new` never panics, on random bytes or on damaged
//! valid rows, and accepts only canonical rows (decoding an accepted row and encoding it again
//! gives back exactly its bytes, and every getter reads it without panicking). Specific
//! rejections are pinned with their exact field path, byte offset and reason.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ember::row::{
    DataType, Field, FieldSource, FloatMode, Kind, ListView, Row, RowError, RowWriter, Schema,
    Value, encode_values,
};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;

use common::generate;

use generate::{Domain, schema_and_values};

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x5641_4c49_4441_5445)
}

fn encode(schema: &Schema, values: &[Value]) -> Vec<u8> {
    let mut writer = RowWriter::new();
    let mut result = Ok(());
    let row = writer.write(schema, |b| result = encode_values(values, b));
    result.expect("values match the schema");
    row.bytes().to_vec()
}

/// Reads every value of a row through its typed getter, returning a checksum.
fn read_row(row: &Row<'_>) -> u64 {
    let schema = row.schema();
    let mut sum = 0u64;
    for i in 0..schema.len() {
        sum = sum.wrapping_add(1);
        if !row.is_null(i) {
            sum = sum.wrapping_add(read_one(row, i, schema.kind(i)));
        }
    }
    sum
}

fn read_list(list: &ListView<'_>) -> u64 {
    let kind = list.element().data_type.kind();
    let mut sum = list.len() as u64;
    for j in 0..list.len() {
        if !list.is_null(j) {
            sum = sum.wrapping_add(read_one(list, j, kind));
        }
    }
    sum
}

fn read_one<'a>(source: &impl FieldSource<'a>, i: usize, kind: Kind) -> u64 {
    match kind {
        Kind::Boolean => u64::from(source.get_bool(i)),
        Kind::Int8 => source.get_i8(i) as u64,
        Kind::Int16 => source.get_i16(i) as u64,
        Kind::Int32 => source.get_i32(i) as u64,
        Kind::Int64 => source.get_i64(i) as u64,
        Kind::Float32 => u64::from(source.get_f32(i).to_bits()),
        Kind::Float64 => source.get_f64(i).to_bits(),
        Kind::Date => source.get_date(i) as u64,
        Kind::Timestamp => source.get_timestamp(i) as u64,
        Kind::Utf8 => source.get_str(i).chars().count() as u64,
        Kind::Binary => source.get_binary(i).len() as u64,
        Kind::Struct => read_row(&source.get_struct(i)),
        Kind::List => read_list(&source.get_list(i)),
    }
}

/// The oracle: validation does not panic; an accepted row reads through every getter and is
/// canonical; a rejection is an `Invalid` error pointing inside the bytes.
fn check_untrusted(bytes: &[u8], schema: &Schema) -> Result<bool, TestCaseError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let row = match Row::try_new(bytes, schema) {
            Ok(row) => row,
            Err(e) => return Err(e),
        };
        let sum = read_row(&row);
        let _ = format!("{row:?}");
        Ok((sum, row.to_values()))
    }));
    match outcome {
        Err(_) => {
            Err(TestCaseError::fail(format!("panicked on {} bytes of {schema}", bytes.len())))
        }
        Ok(Err(RowError::Invalid { offset, .. })) => {
            prop_assert!(offset <= bytes.len(), "offset {offset} past {}", bytes.len());
            Ok(false)
        }
        Ok(Err(other)) => Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
        Ok(Ok((_, values))) => {
            let again = encode(schema, &values);
            prop_assert_eq!(again, bytes, "accepted a non-canonical row of {}", schema);
            Ok(true)
        }
    }
}

/// One way of damaging a row.
#[derive(Debug, Clone)]
enum Damage {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    /// Overwrites an aligned word (a slot, a count, a bitset word) with a chosen value.
    SetWord(Index, u64),
    /// Adds to an aligned word: nudges an offset, a length or a count.
    AddToWord(Index, i64),
    SwapWords(Index, Index),
    Truncate(Index),
    Extend(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    let word = prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        (0u64..256, 0u64..64).prop_map(|(offset, len)| (offset << 32) | len),
        any::<u64>(),
    ];
    let delta = prop_oneof![
        Just(1i64),
        Just(-1),
        Just(8),
        Just(-8),
        Just(1 << 32),
        Just(-(1 << 32)),
        Just(8 << 32),
        Just(-(8 << 32)),
    ];
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Damage::FlipBit(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Damage::SetByte(i, v)),
        (any::<Index>(), word).prop_map(|(i, w)| Damage::SetWord(i, w)),
        (any::<Index>(), delta).prop_map(|(i, d)| Damage::AddToWord(i, d)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Damage::SwapWords(a, b)),
        any::<Index>().prop_map(Damage::Truncate),
        prop_oneof![
            proptest::collection::vec(Just(0u8), 1..17),
            proptest::collection::vec(any::<u8>(), 1..17),
        ]
        .prop_map(Damage::Extend),
    ]
}

fn word_at(bytes: &[u8], i: &Index) -> Option<usize> {
    let words = bytes.len() / 8;
    (words > 0).then(|| i.index(words) * 8)
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    match damage {
        Damage::FlipBit(i, bit) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        Damage::SetByte(i, v) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] = *v;
        }
        Damage::SetWord(i, w) => {
            if let Some(at) = word_at(bytes, i) {
                bytes[at..at + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
        Damage::AddToWord(i, d) => {
            if let Some(at) = word_at(bytes, i) {
                let old = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                let new = old.wrapping_add_signed(*d);
                bytes[at..at + 8].copy_from_slice(&new.to_le_bytes());
            }
        }
        Damage::SwapWords(a, b) => {
            if let (Some(x), Some(y)) = (word_at(bytes, a), word_at(bytes, b)) {
                for k in 0..8 {
                    bytes.swap(x + k, y + k);
                }
            }
        }
        Damage::Truncate(i) => {
            let len = i.index(bytes.len() + 1);
            bytes.truncate(len);
        }
        Damage::Extend(tail) => bytes.extend_from_slice(tail),
        _ => {}
    }
}

/// Bytes that look a little like rows: words of small numbers, offsets and lengths.
fn plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        4 => Just(0u64),
        2 => 0u64..4,
        2 => (0u64..128, 0u64..24).prop_map(|(offset, len)| (offset << 32) | len),
        1 => any::<u64>(),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(word, 0..24)
            .prop_map(|words| words.iter().flat_map(|w| w.to_le_bytes()).collect()),
    ]
}

proptest! {
    #![proptest_config(config(2048))]

    /// Random bytes against random schemas: never a panic, and nothing non-canonical accepted.
    #[test]
    fn arbitrary_bytes_never_panic(
        schema in generate::schema(6),
        bytes in plausible_bytes(),
    ) {
        check_untrusted(&bytes, &schema)?;
    }

    /// Valid rows damaged in one to three ways: never a panic; accepted only if canonical.
    #[test]
    fn damaged_rows_are_rejected_or_canonical(
        (schema, values) in schema_and_values(6, Domain::Wide),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut bytes = encode(&schema, &values);
        prop_assert!(check_untrusted(&bytes, &schema)?, "a valid row was rejected");
        for d in &damages {
            apply(&mut bytes, d);
        }
        check_untrusted(&bytes, &schema)?;
    }

    /// Every single-byte change of a valid row (each byte set to a few values), exhaustively.
    #[test]
    fn every_byte_of_a_row_checked(
        (schema, values) in schema_and_values(5, Domain::Small),
    ) {
        let bytes = encode(&schema, &values);
        for at in 0..bytes.len().min(512) {
            for v in [0u8, 1, 2, 0x80, 0xFF, bytes[at] ^ 8] {
                let mut damaged = bytes.clone();
                damaged[at] = v;
                check_untrusted(&damaged, &schema)?;
            }
        }
        for len in 0..bytes.len() {
            check_untrusted(&bytes[..len], &schema)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Specific rejections.
// ---------------------------------------------------------------------------------------------

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn invalid(field: &str, offset: usize, reason: &'static str) -> RowError {
    RowError::Invalid { field: field.to_string(), offset, reason }
}

/// Validates `bytes` and returns the error (panicking if they were accepted).
fn rejection(bytes: &[u8], schema: &Schema) -> RowError {
    match Row::try_new(bytes, schema) {
        Ok(row) => panic!("accepted {bytes:?} as {row:?}"),
        Err(e) => e,
    }
}

fn set_word(bytes: &mut [u8], at: usize, word: u64) {
    bytes[at..at + 8].copy_from_slice(&word.to_le_bytes());
}

#[test]
fn bad_utf8_in_nested_struct_field() {
    let schema = Schema::new(vec![
        field("id", DataType::Int64, false),
        field(
            "a",
            DataType::struct_of(vec![
                field("c", DataType::Int32, false),
                field("b", DataType::Utf8, false),
            ]),
            true,
        ),
    ]);
    let values =
        vec![Value::Int64(7), Value::Struct(vec![Value::Int32(1), Value::Utf8("xyz".into())])];
    let mut bytes = encode(&schema, &values);
    // Row: bitset 8 + 2 slots = 24; `a` at 24: bitset 8 + 2 slots = 24, so `b` at 24 + 24.
    assert_eq!(&bytes[48..51], b"xyz");
    bytes[49] = 0xFF;
    assert_eq!(rejection(&bytes, &schema), invalid("a.b", 49, "string is not valid UTF-8"));
}

#[test]
fn bad_utf8_in_list_element() {
    let schema = Schema::new(vec![field("tags", DataType::list(DataType::Utf8, false), false)]);
    let values = vec![Value::List(vec![
        Value::Utf8("a".into()),
        Value::Utf8("b".into()),
        Value::Utf8("cd".into()),
    ])];
    let mut bytes = encode(&schema, &values);
    // List at 16: count 8, bitset 8, 3 slots 24, then "a" at +40, "b" at +48, "cd" at +56.
    assert_eq!(&bytes[72..74], b"cd");
    bytes[73] = 0xC3;
    let error = rejection(&bytes, &schema);
    assert_eq!(error, invalid("tags[2]", 73, "string is not valid UTF-8"));
    assert_eq!(
        error.to_string(),
        "invalid row: string is not valid UTF-8 (field `tags[2]`, byte offset 73)"
    );
}

#[test]
fn bad_utf8_deep_in_a_list_of_structs() {
    let person = DataType::struct_of(vec![field("name", DataType::Utf8, true)]);
    let schema = Schema::new(vec![field("people", DataType::list(person, false), false)]);
    let values = vec![Value::List(vec![
        Value::Struct(vec![Value::Null]),
        Value::Struct(vec![Value::Utf8("é".into())]),
    ])];
    let mut bytes = encode(&schema, &values);
    // List at 16: header 8 + 8 + 16 = 32; element 0 at +32 (16 bytes), element 1 at +48,
    // whose string is at +16 within it: 16 + 48 + 16 = 80.
    assert_eq!(&bytes[80..82], "é".as_bytes());
    bytes[81] = b'x';
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("people[1].name", 80, "string is not valid UTF-8")
    );
}

#[test]
fn nonzero_padding_after_a_string() {
    let schema = Schema::new(vec![field("s", DataType::Utf8, false)]);
    let mut bytes = encode(&schema, &[Value::Utf8("abc".into())]);
    assert_eq!(bytes.len(), 24);
    bytes[21] = 1;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("s", 19, "padding after a variable-length value is not zero")
    );
}

#[test]
fn nonzero_padding_after_list_slots() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Int16, false), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![Value::Int16(5)])]);
    // List at 16: count, bitset, one 2-byte slot at +16, padding from +18 to +24.
    assert_eq!(bytes.len(), 40);
    bytes[16 + 20] = 9;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l", 34, "padding after list element slots is not zero")
    );
}

#[test]
fn nonzero_slot_of_a_null_field() {
    let schema =
        Schema::new(vec![field("a", DataType::Int8, false), field("x", DataType::Int64, true)]);
    let mut bytes = encode(&schema, &[Value::Int8(1), Value::Null]);
    bytes[8 + 8 + 3] = 1;
    assert_eq!(rejection(&bytes, &schema), invalid("x", 16, "a null field's slot is not zero"));
}

#[test]
fn nonzero_slot_of_a_null_list_element() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Int32, true), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![Value::Int32(3), Value::Null])]);
    // List at 16: slots at +16; element 1 at +20.
    bytes[16 + 20] = 1;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l[1]", 36, "a null element's slot is not zero")
    );
}

#[test]
fn null_in_a_non_nullable_field() {
    let schema =
        Schema::new(vec![field("x", DataType::Int64, true), field("y", DataType::Int32, false)]);
    let mut bytes = encode(&schema, &[Value::Null, Value::Int32(0)]);
    bytes[0] |= 0b10;
    assert_eq!(rejection(&bytes, &schema), invalid("y", 0, "null in a value that is not nullable"));
}

#[test]
fn null_in_a_non_nullable_list_element() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Int32, false), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![Value::Int32(0); 10])]);
    // The list's bitset starts at 16 + 8; element 9 is bit 1 of its second byte.
    bytes[16 + 8 + 1] |= 0b10;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l[9]", 25, "null in a value that is not nullable")
    );
}

#[test]
fn null_bits_beyond_the_last_field() {
    let schema =
        Schema::new(vec![field("a", DataType::Int64, true), field("b", DataType::Int64, true)]);
    let good = encode(&schema, &[Value::Null, Value::Int64(1)]);
    let mut bytes = good.clone();
    bytes[0] |= 1 << 2;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("<row>", 0, "null bit set beyond the last value")
    );
    let mut bytes = good;
    bytes[7] = 0x80;
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("<row>", 7, "null bit set beyond the last value")
    );
}

#[test]
fn null_bits_beyond_the_last_list_element() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Boolean, true), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![Value::Boolean(true); 3])]);
    bytes[16 + 8] |= 1 << 3;
    assert_eq!(rejection(&bytes, &schema), invalid("l", 24, "null bit set beyond the last value"));
}

#[test]
fn boolean_two() {
    let schema = Schema::new(vec![
        field("a", DataType::Int8, false),
        field("flag", DataType::Boolean, false),
    ]);
    let mut bytes = encode(&schema, &[Value::Int8(-1), Value::Boolean(true)]);
    bytes[16] = 2;
    assert_eq!(rejection(&bytes, &schema), invalid("flag", 16, "boolean is neither 0 nor 1"));
    let list = Schema::new(vec![field("l", DataType::list(DataType::Boolean, false), false)]);
    let mut bytes = encode(&list, &[Value::List(vec![Value::Boolean(false); 2])]);
    bytes[16 + 16 + 1] = 2;
    assert_eq!(rejection(&bytes, &list), invalid("l[1]", 33, "boolean is neither 0 nor 1"));
}

#[test]
fn high_bytes_of_narrow_slots() {
    for (data_type, value, width) in [
        (DataType::Int8, Value::Int8(-1), 1),
        (DataType::Int16, Value::Int16(-1), 2),
        (DataType::Int32, Value::Int32(-1), 4),
        (DataType::Date, Value::Date(-1), 4),
        (DataType::Float32, Value::Float32(-1.0), 4),
    ] {
        let schema = Schema::new(vec![field("n", data_type, false)]);
        let good = encode(&schema, &[value]);
        for at in width..8 {
            let mut bytes = good.clone();
            bytes[8 + at] = 1;
            assert_eq!(
                rejection(&bytes, &schema),
                invalid("n", 8, "unused high bytes of a narrow slot are not zero"),
                "{schema} byte {at}"
            );
        }
    }
}

#[test]
fn offset_not_at_the_cursor() {
    let schema =
        Schema::new(vec![field("a", DataType::Utf8, false), field("b", DataType::Utf8, false)]);
    let good = encode(&schema, &[Value::Utf8("ab".into()), Value::Utf8("cd".into())]);
    // `b` pointing at `a`'s bytes (a shared value) is not canonical.
    let mut bytes = good.clone();
    set_word(&mut bytes, 16, (24 << 32) | 2);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("b", 16, "variable-length value does not start where the previous ended")
    );
    // Neither is a gap before the first value.
    let mut bytes = good;
    set_word(&mut bytes, 8, (32 << 32) | 2);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("a", 8, "variable-length value does not start where the previous ended")
    );
}

#[test]
fn length_past_the_end() {
    let schema = Schema::new(vec![field("s", DataType::Utf8, false)]);
    let mut bytes = encode(&schema, &[Value::Utf8("abc".into())]);
    set_word(&mut bytes, 8, (16 << 32) | 9);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("s", 8, "variable-length value extends past the end")
    );
    set_word(&mut bytes, 8, (16 << 32) | 0xFFFF_FFFF);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("s", 8, "variable-length value extends past the end")
    );
}

#[test]
fn trailing_bytes() {
    let schema = Schema::new(vec![field("s", DataType::Utf8, false)]);
    let mut bytes = encode(&schema, &[Value::Utf8("abc".into())]);
    bytes.extend_from_slice(&[0; 8]);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("<row>", 24, "bytes after the last variable-length value")
    );
    let fixed = Schema::new(vec![field("x", DataType::Int64, false)]);
    let mut bytes = encode(&fixed, &[Value::Int64(1)]);
    bytes.extend_from_slice(&[0; 8]);
    assert_eq!(
        rejection(&bytes, &fixed),
        invalid("<row>", 16, "bytes after the last variable-length value")
    );
}

#[test]
fn trailing_bytes_inside_a_list() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Int64, false), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![Value::Int64(1)])]);
    // Grow the list by 8 bytes (its slot's length and the row with it).
    bytes.extend_from_slice(&[0; 8]);
    set_word(&mut bytes, 8, (16 << 32) | 32);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l", 40, "bytes after the list's last variable-length value")
    );
}

#[test]
fn list_count_of_u64_max() {
    let schema = Schema::new(vec![field("l", DataType::list(DataType::Int64, true), false)]);
    let mut bytes = encode(&schema, &[Value::List(vec![])]);
    assert_eq!(bytes.len(), 24);
    set_word(&mut bytes, 16, u64::MAX);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l", 16, "list element count exceeds the list's size")
    );
    // A count that fits the bound but not the slots it needs.
    set_word(&mut bytes, 16, 8);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("l", 16, "list is shorter than its bitset and element slots")
    );
}

#[test]
fn lengths_of_the_row_itself() {
    let schema =
        Schema::new(vec![field("a", DataType::Int64, false), field("b", DataType::Int64, false)]);
    let bytes = encode(&schema, &[Value::Int64(1), Value::Int64(2)]);
    assert_eq!(
        rejection(&bytes[..23], &schema),
        invalid("<row>", 23, "row length is not a multiple of 8")
    );
    assert_eq!(
        rejection(&bytes[..16], &schema),
        invalid("<row>", 16, "row is shorter than its null bitset and fixed slots")
    );
    assert!(Row::try_new(&[], &Schema::new(vec![])).is_ok());
    assert!(Row::try_new(&[0; 8], &Schema::new(vec![])).is_err());
}

#[test]
fn nested_row_and_list_shorter_than_their_headers() {
    let schema = Schema::new(vec![field(
        "s",
        DataType::struct_of(vec![field("x", DataType::Int64, false)]),
        false,
    )]);
    let mut bytes = encode(&schema, &[Value::Struct(vec![Value::Int64(5)])]);
    set_word(&mut bytes, 8, (16 << 32) | 8);
    assert_eq!(
        rejection(&bytes, &schema),
        invalid("s", 24, "row is shorter than its null bitset and fixed slots")
    );
    let list = Schema::new(vec![field("l", DataType::list(DataType::Int8, false), false)]);
    let bytes = [0u8; 16];
    let mut bytes = bytes.to_vec();
    set_word(&mut bytes, 8, 16 << 32);
    assert_eq!(
        rejection(&bytes, &list),
        invalid("l", 16, "list is shorter than its element count")
    );
}

#[test]
fn more_than_64_fields() {
    let fields: Vec<Field> =
        (0..70).map(|i| field(&format!("f{i}"), DataType::Int8, i != 66)).collect();
    let schema = Arc::new(Schema::new(fields));
    let values: Vec<Value> =
        (0..70).map(|i| if i % 2 == 0 { Value::Null } else { Value::Int8(i) }).collect::<Vec<_>>();
    let mut values = values;
    values[66] = Value::Int8(0);
    let bytes = encode(&schema, &values);
    assert_eq!(bytes.len(), 16 + 70 * 8);
    assert_eq!(Row::try_new(&bytes, &schema).unwrap().to_values(), values);
    let mut bad = bytes.clone();
    bad[8] |= 1 << 2;
    assert_eq!(rejection(&bad, &schema), invalid("f66", 8, "null in a value that is not nullable"));
    let mut bad = bytes;
    bad[8] |= 1 << 6;
    assert_eq!(rejection(&bad, &schema), invalid("<row>", 8, "null bit set beyond the last value"));
}

#[test]
fn key_rows_validate_like_value_rows() {
    let schema = Schema::new(vec![field("f", DataType::Float64, false)]);
    let mut writer = RowWriter::for_keys();
    let row = writer.write(&schema, |b| {
        encode_values(&[Value::Float64(-0.0)], b).unwrap();
    });
    let bytes = row.bytes().to_vec();
    assert_eq!(bytes[8..16], [0; 8]);
    assert!(Row::try_new(&bytes, &schema).is_ok());
    assert_eq!(FloatMode::default(), FloatMode::Exact);
}

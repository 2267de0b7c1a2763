//! The worked example of `docs/row-format.md`, checked byte for byte: the spec cannot drift
//! from the code.

use ember::Row as DeriveRow;
use ember::row::{Row, RowType, RowWriter, hash_row};

#[derive(DeriveRow, Debug, PartialEq)]
struct Person {
    id: i64,
    name: String,
    age: i32,
    city: Option<String>,
    score: f64,
}

const SPEC: &str = include_str!("../../docs/row-format.md");

/// The bytes of the ```text block after `<!-- worked-example:{name} -->`: each line is
/// `OFFSET: hex bytes   comment`.
fn example_bytes(name: &str) -> Vec<u8> {
    let marker = format!("<!-- worked-example:{name} -->");
    let after = &SPEC[SPEC.find(&marker).unwrap_or_else(|| panic!("no {marker} in the spec"))..];
    let block = after.split("```text\n").nth(1).expect("a text block follows the marker");
    let block = block.split("```").next().expect("the block ends");
    let mut bytes = Vec::new();
    for (i, line) in block.lines().enumerate() {
        let (offset, rest) = line.split_once(": ").expect("OFFSET: bytes");
        assert_eq!(usize::from_str_radix(offset, 16).unwrap(), i * 8, "offset column of {line}");
        let hex = rest.split("   ").next().unwrap();
        let word: Vec<u8> =
            hex.split(' ').map(|b| u8::from_str_radix(b, 16).expect("hex byte")).collect();
        assert_eq!(word.len(), 8, "eight bytes a line: {line}");
        bytes.extend(word);
    }
    bytes
}

/// The `0x…` number right after `<!-- worked-example:{name} -->`.
fn example_number(name: &str) -> u64 {
    let marker = format!("<!-- worked-example:{name} -->`0x");
    let at = SPEC.find(&marker).unwrap_or_else(|| panic!("no {marker} in the spec")) + marker.len();
    u64::from_str_radix(&SPEC[at..at + 16], 16).expect("16 hex digits")
}

fn ada(city: Option<&str>) -> Person {
    Person { id: 7, name: "Ada".into(), age: 36, city: city.map(str::to_string), score: 1.5 }
}

#[test]
fn worked_example_bytes_are_what_the_encoder_writes() {
    let mut writer = RowWriter::new();
    for (name, person) in [("city-present", ada(Some("Zürich"))), ("city-null", ada(None))] {
        let expected = example_bytes(name);
        let row = writer.encode(&person);
        assert_eq!(row.bytes(), &expected[..], "example {name}");
        let read = Row::try_new(&expected, Person::schema()).expect("the example is valid");
        assert_eq!(Person::decode(read), person);
    }
}

#[test]
fn worked_example_fingerprint_and_hash_are_pinned() {
    let schema = Person::schema();
    assert_eq!(
        schema.to_string(),
        "struct<id:int64 not null,name:utf8 not null,age:int32 not null,city:utf8,\
         score:float64 not null>"
    );
    assert_eq!(schema.fingerprint(), example_number("fingerprint"), "fingerprint");
    let bytes = example_bytes("city-present");
    assert_eq!(hash_row(&bytes), example_number("hash"), "row hash");
}

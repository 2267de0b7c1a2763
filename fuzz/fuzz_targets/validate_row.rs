//! Fuzzes the row validator: the first input byte picks a schema from a fixed menu, the rest
//! is offered to `Row::try_new`. Validation must never panic, and any row it accepts must be
//! readable through every getter and canonical: decoding it and encoding the values again
//! with the interpreted encoder gives back exactly the same bytes.
#![no_main]

use std::sync::OnceLock;

use ember::row::{
    DataType, Field, FieldSource, Kind, ListView, Row, RowWriter, Schema, encode_values, hash_row,
};
use libfuzzer_sys::fuzz_target;

fn f(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn menu() -> &'static [Schema] {
    static MENU: OnceLock<Vec<Schema>> = OnceLock::new();
    MENU.get_or_init(|| {
        use DataType::*;
        let inner = DataType::struct_of(vec![
            f("b", Utf8, false),
            f("c", Int32, true),
            f("d", Binary, true),
        ]);
        let point = DataType::struct_of(vec![f("x", Int64, false), f("s", Utf8, true)]);
        let wide: Vec<Field> = (0..70)
            .map(|i| {
                let t = match i % 5 {
                    0 => Boolean,
                    1 => Int16,
                    2 => Utf8,
                    3 => Float32,
                    _ => Int64,
                };
                f(&format!("w{i}"), t, i % 3 != 0)
            })
            .collect();
        vec![
            // Every primitive, nullable and not.
            Schema::new(vec![
                f("bool", Boolean, false),
                f("i8", Int8, true),
                f("i16", Int16, false),
                f("i32", Int32, true),
                f("i64", Int64, false),
                f("f32", Float32, true),
                f("f64", Float64, false),
                f("date", Date, true),
                f("ts", Timestamp, false),
                f("s", Utf8, true),
                f("bin", Binary, false),
            ]),
            // A nested struct between fixed and variable fields.
            Schema::new(vec![
                f("id", Int64, false),
                f("a", inner.clone(), true),
                f("tags", DataType::list(Utf8, true), false),
                f("name", Utf8, false),
            ]),
            // Lists of every element width.
            Schema::new(vec![
                f("bools", DataType::list(Boolean, true), false),
                f("bytes", DataType::list(Int8, false), true),
                f("shorts", DataType::list(Int16, false), false),
                f("ints", DataType::list(Int32, true), true),
                f("floats", DataType::list(Float32, true), false),
                f("dates", DataType::list(Date, false), false),
                f("longs", DataType::list(Int64, true), true),
                f("doubles", DataType::list(Float64, false), false),
                f("blobs", DataType::list(Binary, true), false),
            ]),
            // Lists of structs and lists of lists.
            Schema::new(vec![
                f("points", DataType::list(point.clone(), true), false),
                f("matrix", DataType::list(DataType::list(Int32, true), false), true),
                f("words", DataType::list(DataType::list(Utf8, false), true), false),
            ]),
            // No fields at all.
            Schema::new(vec![]),
            // More than 64 fields: a two-word bitset.
            Schema::new(wide),
            // Deep nesting.
            Schema::new(vec![
                f("k", Int8, false),
                f(
                    "outer",
                    DataType::struct_of(vec![
                        f("inner", inner, false),
                        f("pts", DataType::list(point, false), true),
                        f("empty", DataType::struct_of(vec![]), true),
                    ]),
                    true,
                ),
                f("lists", DataType::list(DataType::struct_of(vec![]), false), false),
            ]),
            // One string: the simplest variable-length layout.
            Schema::new(vec![f("s", Utf8, false)]),
        ]
    })
}

/// Reads every value of a row through its typed getter; returns a checksum of what it read.
fn read_row(row: &Row<'_>) -> usize {
    let schema = row.schema();
    let mut n: usize = 0;
    for i in 0..schema.len() {
        n = n.wrapping_add(1);
        if row.is_null(i) {
            continue;
        }
        n = n.wrapping_add(read_one(row, i, &schema.field(i).data_type));
    }
    n
}

fn read_list(list: &ListView<'_>) -> usize {
    let element = list.element();
    let mut n: usize = 0;
    for j in 0..list.len() {
        n = n.wrapping_add(1);
        if list.is_null(j) {
            continue;
        }
        n = n.wrapping_add(read_one(list, j, &element.data_type));
    }
    n
}

fn read_one<'a>(source: &impl FieldSource<'a>, i: usize, data_type: &DataType) -> usize {
    match data_type.kind() {
        Kind::Boolean => usize::from(source.get_bool(i)),
        Kind::Int8 => source.get_i8(i) as usize,
        Kind::Int16 => source.get_i16(i) as usize,
        Kind::Int32 => source.get_i32(i) as usize,
        Kind::Int64 => source.get_i64(i) as usize,
        Kind::Float32 => source.get_f32(i).to_bits() as usize,
        Kind::Float64 => source.get_f64(i).to_bits() as usize,
        Kind::Date => source.get_date(i) as usize,
        Kind::Timestamp => source.get_timestamp(i) as usize,
        Kind::Utf8 => source.get_str(i).chars().count(),
        Kind::Binary => source.get_binary(i).len(),
        Kind::Struct => read_row(&source.get_struct(i)),
        Kind::List => read_list(&source.get_list(i)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let schemas = menu();
    let schema = &schemas[usize::from(pick) % schemas.len()];
    let Ok(row) = Row::try_new(bytes, schema) else {
        return;
    };
    std::hint::black_box(read_row(&row));
    std::hint::black_box(format!("{row:?}"));
    assert_eq!(row.hash(), hash_row(bytes));
    let values = row.to_values();
    let mut writer = RowWriter::new();
    let mut result = Ok(());
    let again = writer.write(schema, |b| result = encode_values(&values, b));
    result.expect("decoded values fit their own schema");
    assert_eq!(again.bytes(), bytes, "an accepted row is not canonical: {values:?}");
});

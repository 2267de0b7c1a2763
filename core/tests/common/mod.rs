//! Shared by the row-format test suites: seeded proptest configuration and random schemas and
//! values of every row type (nested structs, lists of structs and lists, nulls, empty and
//! non-ASCII strings, NaN payloads and signed zeros).
#![allow(dead_code)] // each test binary uses its own part

use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// A deterministic configuration: `cases` cases from a fixed seed, so CI sees the same cases
/// every run, and no failure files written into the tree.
pub fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

/// Random schemas and values.
pub mod generate {
    use std::sync::Arc;

    use ember::row::{DataType, Field, Schema, Value};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// How varied the values are: `Small` draws from a few values per type so that two
    /// independent draws are often equal.
    #[derive(Debug, Clone, Copy)]
    pub enum Domain {
        Wide,
        Small,
    }

    pub fn leaf_type() -> impl Strategy<Value = DataType> + Clone {
        select(vec![
            DataType::Boolean,
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Date,
            DataType::Timestamp,
            DataType::Utf8,
            DataType::Binary,
        ])
    }

    fn named(fields: Vec<(DataType, bool)>) -> Vec<Field> {
        fields
            .into_iter()
            .enumerate()
            .map(|(i, (t, nullable))| Field::new(format!("f{i}"), t, nullable))
            .collect()
    }

    /// Any type: primitives, and structs and lists of anything up to three levels deep.
    pub fn data_type() -> impl Strategy<Value = DataType> {
        leaf_type().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (inner.clone(), any::<bool>()).prop_map(|(t, n)| DataType::list(t, n)),
                vec((inner, any::<bool>()), 0..4)
                    .prop_map(|fields| DataType::struct_of(named(fields))),
            ]
        })
    }

    /// A schema of up to `max_fields` fields of any type; now and then one of more than 64
    /// primitive fields, so the null bitset has two words.
    pub fn schema(max_fields: usize) -> impl Strategy<Value = Arc<Schema>> {
        prop_oneof![
            12 => vec((data_type(), any::<bool>()), 0..max_fields),
            1 => vec((leaf_type(), any::<bool>()), 60..80),
        ]
        .prop_map(|fields| Arc::new(Schema::new(named(fields))))
    }

    pub fn f32s() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => any::<f32>(),
            2 => any::<u32>().prop_map(f32::from_bits),
            1 => Just(0.0f32),
            1 => Just(-0.0f32),
            1 => Just(f32::NAN),
            1 => any::<u32>().prop_map(|b| f32::from_bits(b | 0x7f80_0001)),
            1 => select(vec![f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE, f32::MAX]),
        ]
    }

    pub fn f64s() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => any::<f64>(),
            2 => any::<u64>().prop_map(f64::from_bits),
            1 => Just(0.0f64),
            1 => Just(-0.0f64),
            1 => Just(f64::NAN),
            1 => any::<u64>().prop_map(|b| f64::from_bits(b | 0x7ff0_0000_0000_0001)),
            1 => select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, f64::MAX]),
        ]
    }

    /// Strings: empty, ASCII, and any Unicode scalar, including NUL and non-BMP characters.
    pub fn strings() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => any::<char>(),
            1 => select(vec!['\0', 'é', '€', '\u{FFFF}', '😀', '\u{10FFFF}', '𝄞']),
        ];
        prop_oneof![
            1 => Just(String::new()),
            6 => vec(chars, 0..14).prop_map(|cs| cs.into_iter().collect()),
        ]
    }

    fn small_f32() -> impl Strategy<Value = f32> {
        select(vec![
            0.0f32,
            -0.0,
            1.0,
            f32::NAN,
            f32::from_bits(0xffc0_0001),
            f32::from_bits(0x7f80_0002),
        ])
    }

    fn small_f64() -> impl Strategy<Value = f64> {
        select(vec![
            0.0f64,
            -0.0,
            1.0,
            f64::NAN,
            f64::from_bits(0xfff8_0000_0000_0001),
            f64::from_bits(0x7ff0_0000_0000_0002),
        ])
    }

    /// A value of `data_type`; null about a quarter of the time when `nullable`.
    pub fn value(data_type: &DataType, nullable: bool, domain: Domain) -> BoxedStrategy<Value> {
        let present = present_value(data_type, domain);
        if nullable { prop_oneof![1 => Just(Value::Null), 3 => present].boxed() } else { present }
    }

    fn present_value(data_type: &DataType, domain: Domain) -> BoxedStrategy<Value> {
        use Domain::{Small, Wide};
        match (data_type, domain) {
            (DataType::Boolean, _) => any::<bool>().prop_map(Value::Boolean).boxed(),
            (DataType::Int8, Wide) => any::<i8>().prop_map(Value::Int8).boxed(),
            (DataType::Int8, Small) => (-1i8..=1).prop_map(Value::Int8).boxed(),
            (DataType::Int16, Wide) => any::<i16>().prop_map(Value::Int16).boxed(),
            (DataType::Int16, Small) => (-1i16..=1).prop_map(Value::Int16).boxed(),
            (DataType::Int32, Wide) => any::<i32>().prop_map(Value::Int32).boxed(),
            (DataType::Int32, Small) => (-1i32..=1).prop_map(Value::Int32).boxed(),
            (DataType::Int64, Wide) => any::<i64>().prop_map(Value::Int64).boxed(),
            (DataType::Int64, Small) => (-1i64..=1).prop_map(Value::Int64).boxed(),
            (DataType::Float32, Wide) => f32s().prop_map(Value::Float32).boxed(),
            (DataType::Float32, Small) => small_f32().prop_map(Value::Float32).boxed(),
            (DataType::Float64, Wide) => f64s().prop_map(Value::Float64).boxed(),
            (DataType::Float64, Small) => small_f64().prop_map(Value::Float64).boxed(),
            (DataType::Date, Wide) => any::<i32>().prop_map(Value::Date).boxed(),
            (DataType::Date, Small) => (-1i32..=1).prop_map(Value::Date).boxed(),
            (DataType::Timestamp, Wide) => any::<i64>().prop_map(Value::Timestamp).boxed(),
            (DataType::Timestamp, Small) => (-1i64..=1).prop_map(Value::Timestamp).boxed(),
            (DataType::Utf8, Wide) => strings().prop_map(Value::Utf8).boxed(),
            (DataType::Utf8, Small) => select(vec!["", "a", "ab", "é", "😀", "\0"])
                .prop_map(|s| Value::Utf8(s.to_string()))
                .boxed(),
            (DataType::Binary, Wide) => vec(any::<u8>(), 0..20).prop_map(Value::Binary).boxed(),
            (DataType::Binary, Small) => {
                select(vec![vec![], vec![0u8], vec![0, 0], vec![1], vec![0; 8]])
                    .prop_map(Value::Binary)
                    .boxed()
            }
            (DataType::Struct(schema), _) => values(schema, domain).prop_map(Value::Struct).boxed(),
            (DataType::List(element), _) => {
                let max = match domain {
                    Wide => 6,
                    Small => 3,
                };
                vec(value(&element.data_type, element.nullable, domain), 0..max)
                    .prop_map(Value::List)
                    .boxed()
            }
        }
    }

    /// One value per field of `schema`.
    pub fn values(schema: &Schema, domain: Domain) -> BoxedStrategy<Vec<Value>> {
        schema
            .fields()
            .iter()
            .map(|f| value(&f.data_type, f.nullable, domain))
            .collect::<Vec<_>>()
            .boxed()
    }

    /// A random schema and values for it.
    pub fn schema_and_values(
        max_fields: usize,
        domain: Domain,
    ) -> impl Strategy<Value = (Arc<Schema>, Vec<Value>)> {
        schema(max_fields).prop_flat_map(move |schema| {
            let values = values(&schema, domain);
            (Just(schema), values)
        })
    }

    /// Values compared with floats by their bits (so NaN equals itself, -0.0 differs from 0.0).
    pub fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float32(x), Value::Float32(y)) => x.to_bits() == y.to_bits(),
            (Value::Float64(x), Value::Float64(y)) => x.to_bits() == y.to_bits(),
            (Value::Struct(x), Value::Struct(y)) | (Value::List(x), Value::List(y)) => {
                same_all(x, y)
            }
            _ => a == b,
        }
    }

    pub fn same_all(a: &[Value], b: &[Value]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
    }
}

//! Arrow conversion over random schemas and values: rows → Arrow gives arrays holding exactly
//! the rows' values (checked against an independent reading of the arrays), Arrow → rows gives
//! back exactly the same bytes, for whole, sliced and empty batches, value and key arenas.
//! Columns that do not fit the schema are errors that leave the arena as it was.

mod common;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use common::generate::{self, Domain, same_all};
use ember::row::arrow::{append_batch, append_columns, arena_to_batch, schema_from_arrow};
use ember::row::{
    DataType, Field, RowArena, RowError, RowWriter, Schema, Value, encode_values, normalize_f32,
    normalize_f64,
};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x0041_5252_4f57)
}

/// What the Arrow array holds at `i`, read with Arrow's own accessors.
fn arrow_value(array: &dyn Array, data_type: &DataType, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match data_type {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(i)),
        DataType::Int8 => Value::Int8(array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::Int16(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::Int32(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::Int64(array.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => Value::Float32(array.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => Value::Float64(array.as_primitive::<Float64Type>().value(i)),
        DataType::Date => Value::Date(array.as_primitive::<Date32Type>().value(i)),
        DataType::Timestamp => {
            Value::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Utf8 => Value::Utf8(array.as_string::<i32>().value(i).to_string()),
        DataType::Binary => Value::Binary(array.as_binary::<i32>().value(i).to_vec()),
        DataType::Struct(schema) => {
            let array = array.as_struct();
            let fields = schema.fields().iter().zip(array.columns());
            Value::Struct(fields.map(|(f, c)| arrow_value(c.as_ref(), &f.data_type, i)).collect())
        }
        DataType::List(element) => {
            let list = array.as_list::<i32>().value(i);
            Value::List(
                (0..list.len()).map(|j| arrow_value(&list, &element.data_type, j)).collect(),
            )
        }
    }
}

fn normalized(value: &Value) -> Value {
    match value {
        Value::Float32(v) => Value::Float32(normalize_f32(*v)),
        Value::Float64(v) => Value::Float64(normalize_f64(*v)),
        Value::Struct(values) => Value::Struct(values.iter().map(normalized).collect()),
        Value::List(values) => Value::List(values.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

fn arena_of(schema: &Arc<Schema>, rows: &[Vec<Value>], keys: bool) -> RowArena {
    let mut arena =
        if keys { RowArena::for_keys(schema.clone()) } else { RowArena::new(schema.clone()) };
    for row in rows {
        arena.push_with(|b| encode_values(row, b).expect("values fit the schema"));
    }
    arena
}

fn rows_strategy(max_rows: usize) -> impl Strategy<Value = (Arc<Schema>, Vec<Vec<Value>>)> {
    generate::schema(6).prop_flat_map(move |schema| {
        let rows = proptest::collection::vec(generate::values(&schema, Domain::Wide), 0..max_rows);
        (Just(schema), rows)
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn rows_to_arrow_holds_the_values_and_converts_back_to_the_same_bytes(
        (schema, rows) in rows_strategy(12),
        keys in any::<bool>(),
    ) {
        let arena = arena_of(&schema, &rows, keys);
        let batch = arena_to_batch(&arena).expect("rows convert to Arrow");
        prop_assert_eq!(batch.num_rows(), rows.len());
        prop_assert_eq!(schema_from_arrow(&batch.schema()).expect("schema maps back"), (*schema).clone());
        for (r, row) in rows.iter().enumerate() {
            let expected: Vec<Value> =
                if keys { row.iter().map(normalized).collect() } else { row.clone() };
            let got: Vec<Value> = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| arrow_value(c.as_ref(), &f.data_type, r))
                .collect();
            prop_assert!(same_all(&got, &expected), "row {r}: {got:?} != {expected:?}");
        }

        let mut back =
            if keys { RowArena::for_keys(schema.clone()) } else { RowArena::new(schema.clone()) };
        append_batch(&mut back, &batch).expect("Arrow converts to rows");
        prop_assert_eq!(back.as_parts(), arena.as_parts());
    }

    #[test]
    fn a_sliced_batch_converts_to_the_rows_it_covers(
        (schema, rows) in rows_strategy(16),
        cut in any::<(prop::sample::Index, prop::sample::Index)>(),
    ) {
        let arena = arena_of(&schema, &rows, false);
        let batch = arena_to_batch(&arena).expect("rows convert to Arrow");
        let start = if rows.is_empty() { 0 } else { cut.0.index(rows.len()) };
        let len = if rows.len() == start { 0 } else { cut.1.index(rows.len() - start + 1) };
        let mut back = RowArena::new(schema.clone());
        // An arena that already holds rows: appended rows go after them, untouched.
        append_batch(&mut back, &batch).expect("converts");
        append_batch(&mut back, &batch.slice(start, len)).expect("a slice converts");
        prop_assert_eq!(back.len(), rows.len() + len);
        for i in 0..rows.len() {
            prop_assert_eq!(back.bytes(i), arena.bytes(i));
        }
        for i in 0..len {
            prop_assert_eq!(back.bytes(rows.len() + i), arena.bytes(start + i));
        }
    }
}

#[test]
fn an_empty_batch_converts_both_ways() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("tags", DataType::list(DataType::Utf8, true), true),
    ]));
    let arena = RowArena::new(schema.clone());
    let batch = arena_to_batch(&arena).unwrap();
    assert_eq!(batch.num_rows(), 0);
    let mut back = RowArena::new(schema);
    append_batch(&mut back, &batch).unwrap();
    assert!(back.is_empty());
}

#[test]
fn a_null_in_a_not_nullable_column_is_an_error_and_changes_nothing() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
    ]));
    let mut arena = RowArena::new(schema.clone());
    let mut writer = RowWriter::new();
    let first = writer.write(&schema, |b| {
        encode_values(&[Value::Int64(1), Value::Utf8("one".into())], b).unwrap()
    });
    arena.push(first);
    let before = arena.as_parts().0.to_vec();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![2, 3])),
        Arc::new(StringArray::from(vec![Some("two"), None])),
    ];
    let error = append_columns(&mut arena, &columns).unwrap_err();
    assert_eq!(error, RowError::NullNotAllowed { field: "name".into() });
    assert_eq!(arena.len(), 1);
    assert_eq!(arena.as_parts().0, &before[..]);
}

#[test]
fn columns_that_do_not_fit_the_schema_are_errors_naming_the_column() {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let mut arena = RowArena::new(schema);
    let strings: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec!["x"]))];
    match append_columns(&mut arena, &strings).unwrap_err() {
        RowError::ArrowType { field, arrow_type, .. } => {
            assert_eq!((field.as_str(), arrow_type.as_str()), ("id", "Utf8"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        append_columns(&mut arena, &[]).unwrap_err(),
        RowError::FieldCount { expected: 1, found: 0 }
    );
    let unsupported = arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "when",
        arrow_schema::DataType::Time64(arrow_schema::TimeUnit::Nanosecond),
        false,
    )]);
    let error = schema_from_arrow(&unsupported).unwrap_err();
    assert!(matches!(&error, RowError::ArrowType { field, .. } if field == "when"), "{error}");
    let batch = RecordBatch::new_empty(Arc::new(unsupported));
    assert_eq!(batch.num_rows(), 0);
}

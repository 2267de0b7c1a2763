//! `#[derive(Row)]`: generated encoders round-trip, write exactly the bytes of the interpreted
//! encoder for the same values, views read what decoding reads, and schemas are as declared.

mod common;

use ember::Row as DeriveRow;
use ember::row::{Row, RowArena, RowType, RowView, RowWriter, Schema, Value, encode_values};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

#[derive(DeriveRow, Debug, Clone, PartialEq)]
pub struct Person {
    id: i64,
    name: String,
    age: i32,
    city: String,
    score: f64,
}

#[derive(DeriveRow, Debug, Clone, PartialEq)]
pub struct Inner {
    x: i16,
    label: Option<String>,
    flags: Vec<bool>,
}

#[derive(DeriveRow, Debug, Clone, PartialEq)]
pub struct Everything {
    b: bool,
    tiny: i8,
    small: i16,
    int: i32,
    long: i64,
    single: f32,
    double: f64,
    text: String,
    bytes: Vec<u8>,
    maybe_int: Option<i32>,
    maybe_text: Option<String>,
    maybe_bytes: Option<Vec<u8>>,
    maybe_double: Option<f64>,
    strings: Vec<String>,
    maybe_longs: Vec<Option<i64>>,
    matrix: Vec<Vec<i32>>,
    inner: Inner,
    maybe_inner: Option<Inner>,
    inners: Vec<Inner>,
    maybe_inners: Vec<Option<Inner>>,
    maybe_list: Option<Vec<Option<String>>>,
    blobs: Vec<Vec<u8>>,
    floats: Vec<f32>,
    shorts: Vec<i16>,
    tinies: Vec<i8>,
    r#type: i8,
}

// ---------------------------------------------------------------------------------------------
// The same values by hand, for the interpreted encoder.
// ---------------------------------------------------------------------------------------------

fn opt<T>(v: &Option<T>, f: impl FnOnce(&T) -> Value) -> Value {
    v.as_ref().map_or(Value::Null, f)
}

fn list<T>(items: &[T], f: impl Fn(&T) -> Value) -> Value {
    Value::List(items.iter().map(f).collect())
}

fn person_values(p: &Person) -> Vec<Value> {
    vec![
        Value::Int64(p.id),
        Value::Utf8(p.name.clone()),
        Value::Int32(p.age),
        Value::Utf8(p.city.clone()),
        Value::Float64(p.score),
    ]
}

fn inner_value(v: &Inner) -> Value {
    Value::Struct(vec![
        Value::Int16(v.x),
        opt(&v.label, |s| Value::Utf8(s.clone())),
        list(&v.flags, |b| Value::Boolean(*b)),
    ])
}

fn everything_values(e: &Everything) -> Vec<Value> {
    vec![
        Value::Boolean(e.b),
        Value::Int8(e.tiny),
        Value::Int16(e.small),
        Value::Int32(e.int),
        Value::Int64(e.long),
        Value::Float32(e.single),
        Value::Float64(e.double),
        Value::Utf8(e.text.clone()),
        Value::Binary(e.bytes.clone()),
        opt(&e.maybe_int, |v| Value::Int32(*v)),
        opt(&e.maybe_text, |v| Value::Utf8(v.clone())),
        opt(&e.maybe_bytes, |v| Value::Binary(v.clone())),
        opt(&e.maybe_double, |v| Value::Float64(*v)),
        list(&e.strings, |s| Value::Utf8(s.clone())),
        list(&e.maybe_longs, |v| opt(v, |v| Value::Int64(*v))),
        list(&e.matrix, |row| list(row, |v| Value::Int32(*v))),
        inner_value(&e.inner),
        opt(&e.maybe_inner, inner_value),
        list(&e.inners, inner_value),
        list(&e.maybe_inners, |v| opt(v, inner_value)),
        opt(&e.maybe_list, |l| list(l, |v| opt(v, |s| Value::Utf8(s.clone())))),
        list(&e.blobs, |b| Value::Binary(b.clone())),
        list(&e.floats, |v| Value::Float32(*v)),
        list(&e.shorts, |v| Value::Int16(*v)),
        list(&e.tinies, |v| Value::Int8(*v)),
        Value::Int8(e.r#type),
    ]
}

/// Values compared with floats by their bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float32(x), Value::Float32(y)) => x.to_bits() == y.to_bits(),
        (Value::Float64(x), Value::Float64(y)) => x.to_bits() == y.to_bits(),
        (Value::Struct(x), Value::Struct(y)) | (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

fn same_all(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

fn interpreted(schema: &Schema, values: &[Value]) -> Vec<u8> {
    let mut writer = RowWriter::new();
    let mut result = Ok(());
    let row = writer.write(schema, |b| result = encode_values(values, b));
    result.expect("values fit the derived schema");
    row.bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => any::<char>(),
        1 => prop::sample::select(vec!['é', '😀', '\0', '\u{10FFFF}']),
    ];
    vec(chars, 0..10).prop_map(|cs| cs.into_iter().collect())
}

fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        1 => any::<u64>().prop_map(f64::from_bits),
        1 => prop::sample::select(vec![0.0, -0.0, f64::NAN, f64::INFINITY]),
    ]
}

fn f32s() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => any::<f32>(),
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => prop::sample::select(vec![0.0, -0.0, f32::NAN, f32::NEG_INFINITY]),
    ]
}

fn person() -> impl Strategy<Value = Person> {
    (any::<i64>(), text(), any::<i32>(), text(), f64s())
        .prop_map(|(id, name, age, city, score)| Person { id, name, age, city, score })
}

fn inner() -> impl Strategy<Value = Inner> {
    (any::<i16>(), option::of(text()), vec(any::<bool>(), 0..70))
        .prop_map(|(x, label, flags)| Inner { x, label, flags })
}

fn everything() -> impl Strategy<Value = Everything> {
    let scalars = (
        any::<bool>(),
        any::<i8>(),
        any::<i16>(),
        any::<i32>(),
        any::<i64>(),
        f32s(),
        f64s(),
        (
            text(),
            vec(any::<u8>(), 0..20),
            option::of(any::<i32>()),
            option::of(text()),
            option::of(vec(any::<u8>(), 0..9)),
            option::of(f64s()),
        ),
    );
    let lists = (
        vec(text(), 0..5),
        vec(option::of(any::<i64>()), 0..5),
        vec(vec(any::<i32>(), 0..4), 0..4),
        inner(),
        option::of(inner()),
        vec(inner(), 0..3),
        vec(option::of(inner()), 0..3),
        option::of(vec(option::of(text()), 0..4)),
        vec(vec(any::<u8>(), 0..10), 0..4),
        vec(f32s(), 0..5),
        vec(any::<i16>(), 0..6),
        (vec(any::<i8>(), 0..10), any::<i8>()),
    );
    (scalars, lists).prop_map(|(s, l)| Everything {
        b: s.0,
        tiny: s.1,
        small: s.2,
        int: s.3,
        long: s.4,
        single: s.5,
        double: s.6,
        text: s.7.0,
        bytes: s.7.1,
        maybe_int: s.7.2,
        maybe_text: s.7.3,
        maybe_bytes: s.7.4,
        maybe_double: s.7.5,
        strings: l.0,
        maybe_longs: l.1,
        matrix: l.2,
        inner: l.3,
        maybe_inner: l.4,
        inners: l.5,
        maybe_inners: l.6,
        maybe_list: l.7,
        blobs: l.8,
        floats: l.9,
        shorts: l.10,
        tinies: l.11.0,
        r#type: l.11.1,
    })
}

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x4445_5249_5645)
}

// ---------------------------------------------------------------------------------------------
// View checks: every getter against the decoded (and the original) value.
// ---------------------------------------------------------------------------------------------

fn check_inner_view(view: InnerView<'_>, v: &Inner) {
    assert_eq!(view.x(), v.x);
    assert_eq!(view.label(), v.label.as_deref());
    assert_eq!(view.flags().len(), v.flags.len());
    assert!(view.flags().iter().eq(v.flags.iter().copied()));
    assert_eq!(&RowView::decode(&view), v);
}

fn check_everything_view(view: EverythingView<'_>, e: &Everything) {
    assert_eq!(view.b(), e.b);
    assert_eq!(view.tiny(), e.tiny);
    assert_eq!(view.small(), e.small);
    assert_eq!(view.int(), e.int);
    assert_eq!(view.long(), e.long);
    assert_eq!(view.single().to_bits(), e.single.to_bits());
    assert_eq!(view.double().to_bits(), e.double.to_bits());
    assert_eq!(view.text(), e.text);
    assert_eq!(view.bytes(), &e.bytes[..]);
    assert_eq!(view.maybe_int(), e.maybe_int);
    assert_eq!(view.maybe_text(), e.maybe_text.as_deref());
    assert_eq!(view.maybe_bytes(), e.maybe_bytes.as_deref());
    assert_eq!(view.maybe_double().map(f64::to_bits), e.maybe_double.map(f64::to_bits));
    assert!(view.strings().iter().eq(e.strings.iter().map(String::as_str)));
    assert!(view.maybe_longs().iter().eq(e.maybe_longs.iter().copied()));
    assert_eq!(view.matrix().len(), e.matrix.len());
    for (got, want) in view.matrix().iter().zip(&e.matrix) {
        assert!(got.iter().eq(want.iter().copied()));
    }
    check_inner_view(view.inner(), &e.inner);
    match (view.maybe_inner(), &e.maybe_inner) {
        (Some(got), Some(want)) => check_inner_view(got, want),
        (None, None) => {}
        (got, want) => panic!("maybe_inner: {got:?} vs {want:?}"),
    }
    assert_eq!(view.inners().len(), e.inners.len());
    for (got, want) in view.inners().iter().zip(&e.inners) {
        check_inner_view(got, want);
    }
    assert_eq!(view.maybe_inners().len(), e.maybe_inners.len());
    for (got, want) in view.maybe_inners().iter().zip(&e.maybe_inners) {
        assert_eq!(got.is_some(), want.is_some());
        if let (Some(got), Some(want)) = (got, want) {
            check_inner_view(got, want);
        }
    }
    match (view.maybe_list(), &e.maybe_list) {
        (Some(got), Some(want)) => {
            assert!(got.iter().eq(want.iter().map(|s| s.as_deref())));
        }
        (None, None) => {}
        (got, want) => panic!("maybe_list: {got:?} vs {want:?}"),
    }
    assert!(view.blobs().iter().eq(e.blobs.iter().map(Vec::as_slice)));
    assert!(view.floats().iter().map(f32::to_bits).eq(e.floats.iter().map(|f| f.to_bits())));
    assert!(view.shorts().iter().eq(e.shorts.iter().copied()));
    assert!(view.tinies().iter().eq(e.tinies.iter().copied()));
    assert_eq!(view.r#type(), e.r#type);
    let _ = format!("{view:?}");
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn person_roundtrip(p in person()) {
        let mut writer = RowWriter::new();
        let row = writer.encode(&p);
        let bytes = row.bytes().to_vec();
        prop_assert_eq!(&bytes, &interpreted(Person::schema(), &person_values(&p)));
        let row = Row::try_new(&bytes, Person::schema()).unwrap();
        let back = Person::decode(row);
        prop_assert!(same_all(&person_values(&back), &person_values(&p)));
        prop_assert!(same_all(&row.to_values(), &person_values(&p)));
        let view = Person::view(row);
        prop_assert_eq!(view.id(), p.id);
        prop_assert_eq!(view.name(), p.name.as_str());
        prop_assert_eq!(view.age(), p.age);
        prop_assert_eq!(view.city(), p.city.as_str());
        prop_assert_eq!(view.score().to_bits(), p.score.to_bits());
        prop_assert_eq!(RowView::row(&view).bytes(), &bytes[..]);
    }

    #[test]
    fn everything_roundtrip(e in everything()) {
        let mut writer = RowWriter::new();
        let bytes = writer.encode(&e).bytes().to_vec();
        let values = everything_values(&e);
        prop_assert_eq!(&bytes, &interpreted(Everything::schema(), &values));
        let row = Row::try_new(&bytes, Everything::schema())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(same_all(&row.to_values(), &values));
        let back = Everything::decode(row);
        prop_assert!(same_all(&everything_values(&back), &values));
        check_everything_view(Everything::view(row), &e);
        check_everything_view(Everything::view(row), &back);

        // Key rows: the generated encoder normalises floats like the interpreted one.
        let mut keys = RowWriter::for_keys();
        let key = keys.encode(&e).bytes().to_vec();
        let mut interpreted_keys = RowWriter::for_keys();
        let mut result = Ok(());
        let expected = interpreted_keys
            .write(Everything::schema(), |b| result = encode_values(&values, b))
            .bytes()
            .to_vec();
        result.unwrap();
        prop_assert_eq!(key, expected);
    }

    #[test]
    fn arena_of_derived_rows(people in vec(person(), 0..10)) {
        let mut arena = RowArena::of::<Person>();
        for p in &people {
            arena.push_encoded(p);
        }
        prop_assert_eq!(arena.len(), people.len());
        for (row, p) in arena.iter().zip(&people) {
            let back = Person::decode(row);
            prop_assert!(same_all(&person_values(&back), &person_values(p)));
            prop_assert_eq!(Person::view(row).name(), p.name.as_str());
        }
        let (buf, offsets) = arena.as_parts();
        let restored =
            RowArena::from_parts(Person::schema().clone(), buf.to_vec(), offsets.to_vec());
        prop_assert!(restored.is_ok());
    }
}

#[test]
fn person_schema_text() {
    assert_eq!(
        Person::schema().to_string(),
        "struct<id:int64 not null,name:utf8 not null,age:int32 not null,\
         city:utf8 not null,score:float64 not null>"
    );
    assert_eq!(Person::schema().index_of("city"), Some(3));
    assert!(std::ptr::eq(Person::schema(), Person::schema()));
}

#[test]
fn everything_schema_text() {
    let inner = "struct<x:int16 not null,label:utf8,flags:list<boolean not null> not null>";
    let expected = format!(
        "struct<b:boolean not null,tiny:int8 not null,small:int16 not null,\
         int:int32 not null,long:int64 not null,single:float32 not null,\
         double:float64 not null,text:utf8 not null,bytes:binary not null,\
         maybe_int:int32,maybe_text:utf8,maybe_bytes:binary,maybe_double:float64,\
         strings:list<utf8 not null> not null,maybe_longs:list<int64> not null,\
         matrix:list<list<int32 not null> not null> not null,\
         inner:{inner} not null,maybe_inner:{inner},inners:list<{inner} not null> not null,\
         maybe_inners:list<{inner}> not null,maybe_list:list<utf8>,\
         blobs:list<binary not null> not null,floats:list<float32 not null> not null,\
         shorts:list<int16 not null> not null,tinies:list<int8 not null> not null,\
         type:int8 not null>"
    );
    assert_eq!(Everything::schema().to_string(), expected);
    assert_eq!(Inner::schema().to_string(), inner);
}

/// Decoding or viewing a row of another schema panics instead of misreading it.
#[test]
#[should_panic(expected = "read as")]
fn decode_checks_the_schema() {
    let mut writer = RowWriter::new();
    let inner = Inner { x: 1, label: None, flags: vec![] };
    let row = writer.encode(&inner);
    let _ = Person::decode(row);
}

#[test]
fn empty_and_boundary_values() {
    let e = Everything {
        b: false,
        tiny: i8::MIN,
        small: i16::MIN,
        int: i32::MIN,
        long: i64::MIN,
        single: -0.0,
        double: f64::from_bits(0xfff8_0000_0000_0001),
        text: String::new(),
        bytes: vec![],
        maybe_int: None,
        maybe_text: Some(String::new()),
        maybe_bytes: Some(vec![]),
        maybe_double: None,
        strings: vec![String::new(); 3],
        maybe_longs: vec![None; 65],
        matrix: vec![vec![]; 2],
        inner: Inner { x: -1, label: Some("😀".into()), flags: vec![true; 9] },
        maybe_inner: None,
        inners: vec![],
        maybe_inners: vec![None, None],
        maybe_list: Some(vec![]),
        blobs: vec![vec![]],
        floats: vec![f32::NAN],
        shorts: vec![],
        tinies: vec![-1; 9],
        r#type: 0,
    };
    let mut writer = RowWriter::new();
    let bytes = writer.encode(&e).bytes().to_vec();
    assert_eq!(bytes, interpreted(Everything::schema(), &everything_values(&e)));
    let row = Row::try_new(&bytes, Everything::schema()).unwrap();
    check_everything_view(Everything::view(row), &e);
    let back = Everything::decode(row);
    assert!(same_all(&everything_values(&back), &everything_values(&e)));
}

/// Every field type the straight-line encoder of flat structs handles.
#[derive(DeriveRow, Debug, Clone, PartialEq)]
pub struct Flat {
    b: bool,
    tiny: i8,
    small: i16,
    int: i32,
    long: i64,
    single: f32,
    double: f64,
    text: String,
    bytes: Vec<u8>,
    maybe_int: Option<i32>,
    maybe_double: Option<f64>,
    maybe_text: Option<String>,
    maybe_bytes: Option<Vec<u8>>,
}

fn flat() -> impl Strategy<Value = Flat> {
    use common::generate::{f32s, f64s, strings};
    (
        (any::<bool>(), any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>(), f32s(), f64s()),
        (strings(), vec(any::<u8>(), 0..20), option::of(any::<i32>()), option::of(f64s())),
        (option::of(strings()), option::of(vec(any::<u8>(), 0..20))),
    )
        .prop_map(|(a, b, c)| Flat {
            b: a.0,
            tiny: a.1,
            small: a.2,
            int: a.3,
            long: a.4,
            single: a.5,
            double: a.6,
            text: b.0,
            bytes: b.1,
            maybe_int: b.2,
            maybe_double: b.3,
            maybe_text: c.0,
            maybe_bytes: c.1,
        })
}

proptest! {
    #![proptest_config(config(512))]

    /// The flat struct's straight-line `encode_into` writes exactly what the checked builder
    /// path (`encode` through a `RowBuilder`) writes, for values and for keys, and the bytes
    /// validate and decode back.
    #[test]
    fn flat_encoder_writes_what_the_builder_writes(value in flat()) {
        for (mut fast, mut checked) in [
            (RowWriter::new(), RowWriter::new()),
            (RowWriter::for_keys(), RowWriter::for_keys()),
        ] {
            let expected = checked.write(Flat::schema(), |b| value.encode(b)).bytes().to_vec();
            let got = fast.encode(&value).bytes().to_vec();
            prop_assert_eq!(&got, &expected);
            let row = Row::try_new(&got, Flat::schema()).expect("valid");
            prop_assert_eq!(row.bytes().len(), expected.len());
        }
        let mut writer = RowWriter::new();
        let decoded = Flat::decode(writer.encode(&value));
        prop_assert_eq!(format!("{decoded:?}"), format!("{value:?}"));
        let mut arena = RowArena::of::<Flat>();
        arena.push_encoded(&value);
        arena.push_encoded(&value);
        prop_assert_eq!(arena.bytes(0), arena.bytes(1));
        prop_assert_eq!(arena.bytes(1), writer.encode(&value).bytes());
    }
}

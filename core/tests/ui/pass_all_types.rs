use ember::Row;
use ember::row::{Row as RowView, RowType, RowWriter};

#[derive(Row, Debug, PartialEq)]
pub struct Inner {
    x: i16,
    label: Option<String>,
}

#[derive(Row, Debug, PartialEq)]
pub struct All {
    b: bool,
    tiny: i8,
    small: i16,
    int: i32,
    long: i64,
    single: f32,
    double: f64,
    text: String,
    bytes: Vec<u8>,
    maybe: Option<i64>,
    maybe_text: Option<String>,
    maybe_bytes: Option<Vec<u8>>,
    strings: Vec<String>,
    maybe_longs: Vec<Option<i64>>,
    matrix: Vec<Vec<i32>>,
    blobs: Vec<Vec<u8>>,
    inner: Inner,
    maybe_inner: Option<Inner>,
    inners: Vec<Inner>,
    maybe_inners: Option<Vec<Option<Inner>>>,
    path_typed: std::vec::Vec<std::string::String>,
    r#type: bool,
}

fn main() {
    let all = All {
        b: true,
        tiny: -1,
        small: 2,
        int: 3,
        long: 4,
        single: 5.0,
        double: 6.0,
        text: "seven".into(),
        bytes: vec![8],
        maybe: None,
        maybe_text: Some("nine".into()),
        maybe_bytes: None,
        strings: vec!["ten".into()],
        maybe_longs: vec![Some(11), None],
        matrix: vec![vec![12], vec![]],
        blobs: vec![vec![13]],
        inner: Inner { x: 14, label: None },
        maybe_inner: Some(Inner { x: 15, label: Some("sixteen".into()) }),
        inners: vec![],
        maybe_inners: Some(vec![None]),
        path_typed: vec![],
        r#type: false,
    };
    let mut writer = RowWriter::new();
    let row = writer.encode(&all);
    let bytes = row.bytes().to_vec();
    let row = RowView::try_new(&bytes, All::schema()).unwrap();
    assert_eq!(All::decode(row), all);
    let view: AllView<'_> = All::view(row);
    assert_eq!(view.text(), "seven");
    assert_eq!(view.maybe_inner().unwrap().label(), Some("sixteen"));
    assert!(view.r#type() == false);
}

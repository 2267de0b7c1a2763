use ember::Row;

struct NotARow {
    value: i64,
}

#[derive(Row)]
struct Holder {
    id: i64,
    inner: NotARow,
}

fn main() {}

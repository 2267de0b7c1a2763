use ember::Row;

#[derive(Row)]
struct Borrowed {
    id: i64,
    label: &'static str,
}

fn main() {}

use ember::Row;

#[derive(Row)]
struct Counter {
    id: i64,
    hits: u32,
}

fn main() {}

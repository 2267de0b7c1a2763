use ember::Row;

#[derive(Row)]
struct Pair {
    id: i64,
    point: (i32, i32),
}

fn main() {}

use ember::Row;

#[derive(Row)]
struct Wrapper<T> {
    id: i64,
    value: T,
}

fn main() {}

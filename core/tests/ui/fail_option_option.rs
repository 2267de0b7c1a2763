use ember::Row;

#[derive(Row)]
struct Maybe {
    id: i64,
    twice: Option<Option<i32>>,
}

fn main() {}

use ember::Row;

#[derive(Row)]
struct Several {
    ok: i64,
    first: u64,
    fine: String,
    second: Vec<usize>,
    third: Option<char>,
}

fn main() {}

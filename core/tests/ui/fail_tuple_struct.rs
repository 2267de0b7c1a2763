use ember::Row;

#[derive(Row)]
struct Meters(f64, String);

fn main() {}

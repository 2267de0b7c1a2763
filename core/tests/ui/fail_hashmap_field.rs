use std::collections::HashMap;

use ember::Row;

#[derive(Row)]
struct Scores {
    name: String,
    by_game: HashMap<String, i64>,
}

fn main() {}

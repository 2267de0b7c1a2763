use ember::Row;

#[derive(Row)]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

fn main() {}

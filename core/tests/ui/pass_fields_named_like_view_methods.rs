use ember::Row;

#[derive(Row)]
#[derive(Debug)]
pub struct Event {
    id: i64,
    row: i64,
    to_owned: bool,
}

fn main() {
    use ember::row::{RowType, RowView, RowWriter};
    let event = Event { id: 1, row: 2, to_owned: true };
    let mut writer = RowWriter::new();
    let view = Event::view(writer.encode(&event));
    assert_eq!((view.id(), view.row(), view.to_owned()), (1, 2, true));
    assert_eq!(RowView::decode(&view).row, 2);
}

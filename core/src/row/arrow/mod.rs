//! Conversion between Arrow columnar batches and binary rows, both ways, a column at a time.
//!
//! Arrow → rows ([`append_columns`]) takes two passes, as arrow-row does: the first sums
//! each row's size from the columns' offset buffers and sizes the arena once; the second
//! writes one column at a time into every row. Rows → Arrow ([`arena_to_batch`],
//! [`rows_to_columns`]) reads one column at a time out of every row. Both dispatch on the
//! column's type once, then run a loop monomorphised for that Arrow type; nested structs and
//! lists recurse per column, never per value.

mod from_rows;
mod schema;
mod to_rows;

pub use from_rows::{arena_to_batch, rows_to_columns};
pub use schema::{field_from_arrow, schema_from_arrow, to_arrow_field, to_arrow_schema};
pub use to_rows::{append_batch, append_columns};

//! Ember: a micro-batch stream-processing engine on binary rows and Arrow columnar batches.
#![warn(missing_docs)]

pub mod row;

pub use ember_derive::Row;
pub use row::{Row, RowType};

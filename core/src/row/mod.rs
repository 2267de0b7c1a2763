#![doc = include_str!("../../../docs/row-format.md")]

mod arena;
pub mod arrow;
mod encode;
mod error;
#[doc(hidden)]
pub mod flat;
mod hash;
mod layout;
mod types;
mod validate;
mod value;
mod view;
mod writer;

pub use arena::RowArena;
pub(crate) use encode::write_var_key_row;
pub use encode::{RowField, RowType, RowView, SHORT_KEY_ROW, TypedList, check_schema};
pub use error::RowError;
pub use hash::{ROW_FORMAT_VERSION, ROW_HASH_SEED, hash_row, hash_short_var_row, partition_of};
pub use layout::{SLOT_BYTES, bitset_bytes, round8};
pub(crate) use layout::{pack_slot, read_u64};
pub use types::{DataType, FINGERPRINT_SEED, Field, Kind, Schema};
pub use value::{Value, encode_values};
pub use view::{FieldSource, ListView, Row};
pub use writer::{
    FieldSink, FloatMode, ListBuilder, RowBuilder, RowWriter, list_header_bytes, normalize_f32,
    normalize_f64,
};

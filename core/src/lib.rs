//! Ember: a micro-batch stream-processing engine on binary rows and Arrow columnar batches.
//!
//! ```no_run
//! use ember::{OutputMode, Session, Str, split};
//! # fn main() -> ember::Result<()> {
//! let session = Session::builder().master("local[*]").app_name("wordcount").get_or_create()?;
//! let lines = session
//!     .read_stream()
//!     .format("socket")
//!     .option("host", "127.0.0.1")
//!     .option("port", 9999)
//!     .load()?
//!     .as_::<Str>()?;
//! let words = lines
//!     .flat_map(|line: Str| split(line, ' '))
//!     .map(|word| (word, 1))
//!     .group_by_key(|pair: &(Str, i32)| pair.0.clone())
//!     .count();
//! words.write_stream().output_mode(OutputMode::Complete).format("console").start()?
//!     .await_termination()?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod byte_search;
pub mod data;
pub mod dataset;
mod dirlock;
pub mod error;
pub mod exec;
pub mod options;
pub mod reader;
pub mod row;
pub mod session;
pub mod sink;
pub mod small_str;
pub mod source;
pub mod streaming;

pub use arrow_array::RecordBatch;
pub use data::{Data, Date, Str, Timestamp, split};
pub use dataset::{Dataset, KeyValueGroupedDataset};
pub use ember_derive::Row;
pub use error::{EmberError, Result};
pub use reader::{DataFrame, DataStreamReader};
pub use row::{Row, RowType};
pub use session::{Session, SessionBuilder};
pub use source::MemoryStream;
pub use streaming::{OutputMode, StreamingQuery, StreamingQueryProgress, Trigger};

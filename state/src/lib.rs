//! Ember's state store (versioned key/value stores on memory-mapped files) and checkpoint logs.
//! Keys and values are bytes; this crate knows nothing of rows.
//!
//! One [`StateStoreProvider`] owns the directory of one (operator, partition). Batch `b` opens
//! version `b` with [`StateStoreProvider::load`], reads and updates the [`StateStore`], and
//! [`StateStore::commit`]s version `b + 1`; version 0 is the empty state. Each commit writes one
//! delta file; maintenance periodically writes a snapshot that later loads map into memory
//! without parsing. The byte layouts and the commit protocol are specified in
//! `docs/state-format.md`.
//!
//! Existing versions are never overwritten. On recovery, when the engine's commit log says `n`
//! is the last committed version, it calls [`StateStoreProvider::discard_after`]`(n)` before
//! re-running the batch that opens `n`, since a crash may have left that batch's version on disk.
//!
//! ```
//! # fn main() -> Result<(), ember_state::StateError> {
//! # let dir = std::env::temp_dir().join(format!("ember-doc-{}", std::process::id()));
//! use ember_state::{StateStoreProvider, StoreConfig};
//! let provider = StateStoreProvider::open(&dir, 0xC0FFEE, StoreConfig::default())?;
//! let mut store = provider.load(0)?;
//! store.put(b"word", &1u64.to_le_bytes());
//! assert_eq!(store.commit()?, 1);
//! let store = provider.load(1)?;
//! assert_eq!(store.get(b"word")?, Some(&1u64.to_le_bytes()[..]));
//! # drop(store); drop(provider); std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(()) }
//! ```
//!
//! The [`checkpoint`] module holds a streaming query's checkpoint logs (`metadata`, `offsets/`,
//! `commits/`) and the recovery decision; they are written with the same atomic protocol.
#![warn(missing_docs)]

mod atomic;
pub mod checkpoint;
mod config;
mod delta;
mod error;
mod files;
mod format;
mod layer;
mod loaded;
mod maintenance;
mod provider;
mod snapshot;
mod store;

pub use atomic::{WriteHook, WriteStep};
pub use config::StoreConfig;
pub use error::{Result, StateError};
pub use format::FORMAT_VERSION;
pub use maintenance::MaintenanceReport;
pub use provider::StateStoreProvider;
pub use store::{Entry, Iter, StateStore};

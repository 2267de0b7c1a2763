//! Ember's state store: versioned key/value stores on memory-mapped files, and checkpoint logs.
//! Keys and values are bytes; this crate knows nothing of rows.
#![warn(missing_docs)]

//! Serialization baselines measured against Ember's binary rows.
//!
//! Every contender implements [`Codec`] and runs over the same seeded data sets ([`data`]):
//!
//! - [`java::JavaSerializer`]: the Java Object Serialization Stream Protocol, byte for byte what a
//!   JDK 17 `ObjectOutputStream` writes through Spark's `JavaSerializer` (a `TC_RESET` every 100
//!   objects), checked against golden files written by the JDK itself.
//! - [`kryo::KryoStyle`]: bincode 1.3.3 with variable-length integers, preceded per record by a
//!   Kryo-style class header (a registered class id, or the class name when unregistered).
//! - [`rows::EmberRow`] and [`rows::EmberRowInterpreted`]: a stream of Ember binary rows written
//!   by the generated (`#[derive(ember::Row)]`) or the interpreted encoder (identical bytes),
//!   validated once per batch when read.
//! - [`arrow_ipc::ArrowIpc`]: the batch as one Arrow record batch in an Arrow IPC stream.
//!
//! [`reproduce`] measures all of them on every operation and writes the report, the JSON figures
//! and the chart; the `reproduce` binary is its command line.
//!
//! The operations the report measures beyond encode and decode (read one field, hash group-by with
//! a sum, sort by a field) are defined once in [`ops`] over decoded records; object codecs run them
//! by decoding first, row codecs override them to work on the serialized form in place.

pub mod arrow_ipc;
pub mod codec;
pub mod contenders;
pub mod data;
pub mod java;
pub mod jvm;
pub mod kryo;
pub mod ops;
pub mod record;
pub mod reproduce;
pub mod rng;
pub mod rows;

pub use codec::{Codec, CodecError};
pub use data::{Person, Wide, WordCount};
pub use record::Record;

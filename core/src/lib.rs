//! Ember: a micro-batch stream-processing engine on binary rows and Arrow columnar batches.
#![warn(missing_docs)]

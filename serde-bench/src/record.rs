//! The contract every data set's record type fulfils.
//!
//! A [`Record`] knows how to generate its data set from a seed and names the fields the measured
//! operations use, so that every codec runs the same operation on the same field.

use std::fmt::Debug;

/// A record type of one benchmark data set.
pub trait Record: Clone + PartialEq + Debug + Send + Sync + 'static {
    /// The data set's name in reports, e.g. `"person"`.
    const DATASET: &'static str;
    /// The binary name of the JVM class this record stands for (shared by the Java and Kryo
    /// analogues, so both name the same class).
    const JAVA_CLASS: &'static str;

    /// The data set: `rows` records, a pure function of `(seed, rows)`.
    fn generate(seed: u64, rows: usize) -> Vec<Self>;

    /// The field "read one field" reads, widened to `i64`.
    fn probe(&self) -> i64;
    /// The key of "hash group-by with a sum".
    fn group_key(&self) -> &str;
    /// The value summed per group.
    fn group_value(&self) -> i64;
    /// The key "sort by a field" orders by, as an `i64` with the field's order
    /// (see [`crate::ops::f64_order_key`] for floating-point fields).
    fn sort_key(&self) -> i64;
}

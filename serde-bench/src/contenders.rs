//! The list of contenders every benchmark and report runs, in report order.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::arrow_ipc::ArrowIpc;
use crate::codec::Codec;
use crate::java::{JavaRecord, JavaSerializer};
use crate::kryo::{FIRST_USER_CLASS_ID, KryoStyle};
use crate::rows::{EmberRow, EmberRowInterpreted, RowRecord};

/// The record types every contender handles.
pub trait BenchRecord: JavaRecord + RowRecord + Serialize + DeserializeOwned {}

impl<R: JavaRecord + RowRecord + Serialize + DeserializeOwned> BenchRecord for R {}

/// Name of the Java analogue, the baseline of every ratio.
pub const JAVA: &str = "java";
/// Name of registered Kryo, the second baseline.
pub const KRYO_REGISTERED: &str = "kryo-registered";

/// Every contender for records of type `R`, each as Spark configures it by default: the Java
/// analogue with a reset every 100 records, Kryo registered and unregistered; then Ember rows
/// (generated and interpreted encoder) and Arrow IPC.
pub fn contenders<R: BenchRecord>() -> Vec<Box<dyn Codec<R>>> {
    vec![
        Box::new(JavaSerializer::new()),
        Box::new(KryoStyle::registered(FIRST_USER_CLASS_ID)),
        Box::new(KryoStyle::unregistered()),
        Box::new(EmberRow::new()),
        Box::new(EmberRowInterpreted::new()),
        Box::new(ArrowIpc::new()),
    ]
}

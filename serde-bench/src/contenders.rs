//! The list of contenders every benchmark and report runs, in report order.
//!
//! The row codecs join here, so that a suite written against this list measures them too.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::java::{JavaRecord, JavaSerializer};
use crate::kryo::{FIRST_USER_CLASS_ID, KryoStyle};

/// Every contender for records of type `R`, each as Spark configures it by default: the Java
/// analogue with a reset every 100 records, Kryo registered and unregistered.
pub fn contenders<R>() -> Vec<Box<dyn Codec<R>>>
where
    R: JavaRecord + Serialize + DeserializeOwned,
{
    vec![
        Box::new(JavaSerializer::new()),
        Box::new(KryoStyle::registered(FIRST_USER_CLASS_ID)),
        Box::new(KryoStyle::unregistered()),
    ]
}

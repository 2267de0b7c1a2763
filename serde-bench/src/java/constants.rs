//! The constants of the Java Object Serialization Stream Protocol (`java.io.ObjectStreamConstants`)
//! that the Java analogue writes or recognises.

/// First two bytes of every stream.
pub const STREAM_MAGIC: u16 = 0xACED;
/// The protocol version JDK 17 writes.
pub const STREAM_VERSION: u16 = 5;

pub const TC_NULL: u8 = 0x70;
pub const TC_REFERENCE: u8 = 0x71;
pub const TC_CLASSDESC: u8 = 0x72;
pub const TC_OBJECT: u8 = 0x73;
pub const TC_STRING: u8 = 0x74;
pub const TC_ENDBLOCKDATA: u8 = 0x78;
pub const TC_RESET: u8 = 0x79;
pub const TC_LONGSTRING: u8 = 0x7C;

/// The first handle a stream assigns, and the first again after every `TC_RESET`.
pub const BASE_WIRE_HANDLE: u32 = 0x7E_0000;

/// Class descriptor flag of a `Serializable` class without a `writeObject` method.
pub const SC_SERIALIZABLE: u8 = 0x02;

/// Longest string written with a two-byte length (`TC_STRING`); longer ones are `TC_LONGSTRING`.
pub const MAX_SHORT_UTF_LEN: usize = 0xFFFF;

/// Spark's default `spark.serializer.objectStreamReset`: its `JavaSerializationStream` calls
/// `ObjectOutputStream.reset()` after every 100 `writeObject` calls.
pub const SPARK_OBJECT_STREAM_RESET: usize = 100;

//! The checkpoint's `metadata` file: the query id, written once when the checkpoint is created
//! and compared on every start, so a checkpoint is never adopted by another query by mistake.

use std::fmt;
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::error::{CheckpointError, CheckpointResult};
use super::store::LogStore;
use super::text::{self, from_json, to_json};

/// Name of the metadata file under the checkpoint root.
pub const METADATA_FILE: &str = "metadata";

/// A query id, formatted as a UUID: 32 lowercase hex digits in groups 8-4-4-4-12.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueryId(String);

impl QueryId {
    /// Parses a UUID-formatted id.
    pub fn parse(s: &str) -> Option<Self> {
        let groups: Vec<&str> = s.split('-').collect();
        let ok = groups.len() == 5
            && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
                g.len() == n && g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
        ok.then(|| QueryId(s.to_owned()))
    }

    /// A new random id (a version-4 UUID).
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
        if from_os.is_err() {
            // Unique rather than random is what matters: time, process and a counter.
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let seed = format!("{nanos}/{}/{seq}", std::process::id());
            let h = xxhash_rust::xxh3::xxh3_128(seed.as_bytes());
            b = h.to_le_bytes();
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        QueryId(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataLine {
    id: String,
}

/// Encodes the `metadata` file: `v1`, then `{"id":"<uuid>"}`.
pub fn encode_metadata(id: &QueryId) -> Vec<u8> {
    text::encode(&[to_json(&MetadataLine { id: id.0.clone() })])
}

/// Parses a `metadata` file strictly; `file` names it in errors.
pub fn decode_metadata(file: &std::path::Path, bytes: &[u8]) -> CheckpointResult<QueryId> {
    let lines = text::decode(file, bytes)?;
    text::expect_lines(file, &lines, 1)?;
    let line: MetadataLine = from_json(file, 2, lines[0])?;
    QueryId::parse(&line.id)
        .ok_or_else(|| text::malformed(file, 2, format!("query id {:?} is not a UUID", line.id)))
}

/// Reads the checkpoint's query id, or `None` for a new checkpoint.
pub fn read_query_id(store: &dyn LogStore) -> CheckpointResult<Option<QueryId>> {
    match store.read(METADATA_FILE)? {
        Some(bytes) => decode_metadata(&store.path(METADATA_FILE), &bytes).map(Some),
        None => Ok(None),
    }
}

/// Returns the checkpoint's query id, creating the `metadata` file with `expected` (or a random
/// id) on a new checkpoint. If the checkpoint exists and `expected` is given, the ids must match:
/// otherwise [`CheckpointError::OtherQuery`]. A concurrent creator is
/// [`CheckpointError::ConcurrentWriter`].
pub fn open_or_create_query_id(
    store: &dyn LogStore,
    expected: Option<&QueryId>,
) -> CheckpointResult<QueryId> {
    match read_query_id(store)? {
        Some(found) => match expected {
            Some(e) if *e != found => Err(CheckpointError::OtherQuery {
                file: store.path(METADATA_FILE),
                found: found.0,
                expected: e.0.clone(),
            }),
            _ => Ok(found),
        },
        None => {
            let id = expected.cloned().unwrap_or_else(QueryId::random);
            store.create_new(METADATA_FILE, &encode_metadata(&id))?;
            Ok(id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v4_shaped() {
        let a = QueryId::random();
        assert_eq!(QueryId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(&a.as_str()[14..15], "4");
        assert_ne!(a, QueryId::random());
        for bad in
            ["", "0123", "0123456-89ab-cdef-0123-456789abcdef0", "0123456789abcdef0123456789abcdef"]
        {
            assert_eq!(QueryId::parse(bad), None);
        }
        assert!(QueryId::parse("01234567-89ab-cdef-0123-456789ABCDEF").is_none());
        assert!(QueryId::parse("01234567-89ab-cdef-0123-456789abcdef").is_some());
    }
}

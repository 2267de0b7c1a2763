//! [`RowArena`]: many rows of one schema stored contiguously, one byte buffer plus an offset
//! index. It is the unit of hash tables, sorting, shuffling and state snapshots: no
//! per-row allocation, and rows are read in place.

use std::sync::Arc;

use super::hash;
use super::types::Schema;
use super::view::Row;
use super::writer::{FloatMode, RowBuilder};
use super::{RowError, RowType};

/// Rows of one schema, back to back in one buffer.
#[derive(Clone)]
pub struct RowArena {
    schema: Arc<Schema>,
    buf: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` are row `i`'s bytes; `offsets[0] == 0`.
    offsets: Vec<usize>,
    floats: FloatMode,
}

impl RowArena {
    /// An empty arena of value rows (floats kept exact).
    pub fn new(schema: Arc<Schema>) -> RowArena {
        RowArena::with_float_mode(schema, FloatMode::Exact)
    }

    /// An empty arena of key rows (floats normalised, so equal keys are equal bytes).
    pub fn for_keys(schema: Arc<Schema>) -> RowArena {
        RowArena::with_float_mode(schema, FloatMode::Normalized)
    }

    fn with_float_mode(schema: Arc<Schema>, floats: FloatMode) -> RowArena {
        RowArena { schema, buf: Vec::new(), offsets: vec![0], floats }
    }

    /// An arena for rows of `T`.
    pub fn of<T: RowType>() -> RowArena {
        RowArena::new(T::schema().clone())
    }

    /// Checks every row of `buf` (split at `offsets`) against `schema` and takes them as a
    /// value arena. This is how rows read from a file or the network become an arena; it
    /// never panics.
    pub fn from_parts(
        schema: Arc<Schema>,
        buf: Vec<u8>,
        offsets: Vec<usize>,
    ) -> Result<RowArena, RowError> {
        RowArena::checked_parts(schema, buf, offsets, FloatMode::Exact)
    }

    /// Like [`from_parts`](Self::from_parts), for a key arena: rows pushed later are written
    /// with floats normalised, as [`for_keys`](Self::for_keys) does.
    pub fn keys_from_parts(
        schema: Arc<Schema>,
        buf: Vec<u8>,
        offsets: Vec<usize>,
    ) -> Result<RowArena, RowError> {
        RowArena::checked_parts(schema, buf, offsets, FloatMode::Normalized)
    }

    fn checked_parts(
        schema: Arc<Schema>,
        buf: Vec<u8>,
        offsets: Vec<usize>,
        floats: FloatMode,
    ) -> Result<RowArena, RowError> {
        let bad_index =
            |offset, reason| RowError::Invalid { field: "<arena>".into(), offset, reason };
        if offsets.first() != Some(&0) || offsets.last() != Some(&buf.len()) {
            return Err(bad_index(0, "offsets must start at 0 and end at the buffer's length"));
        }
        for pair in offsets.windows(2) {
            if pair[0] > pair[1] || pair[1] > buf.len() {
                return Err(bad_index(pair[0], "offsets decrease or pass the buffer's end"));
            }
            Row::try_new(&buf[pair[0]..pair[1]], &schema).map_err(|e| match e {
                RowError::Invalid { field, offset, reason } => {
                    RowError::Invalid { field, offset: offset + pair[0], reason }
                }
                other => other,
            })?;
        }
        Ok(RowArena { schema, buf, offsets, floats })
    }

    /// The schema of every row.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bytes of all rows.
    pub fn data_len(&self) -> usize {
        self.buf.len()
    }

    /// Reserves room for `rows` more rows of about `bytes` bytes in all.
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.offsets.reserve(rows);
        self.buf.reserve(bytes);
    }

    /// Removes every row, keeping the allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.offsets.truncate(1);
    }

    /// The float mode rows are written with.
    pub(crate) fn float_mode(&self) -> FloatMode {
        self.floats
    }

    /// Appends zeroed rows of the given sizes for a bulk writer to fill. Returns the new
    /// region and each row's start within it. The writer must leave valid rows (or call
    /// [`truncate`](Self::truncate)), since [`get`](Self::get) reads them unchecked.
    pub(crate) fn append_zeroed_rows(&mut self, sizes: &[usize]) -> (&mut [u8], Vec<usize>) {
        let region_start = self.buf.len();
        let mut starts = Vec::with_capacity(sizes.len());
        let mut end = region_start;
        self.offsets.reserve(sizes.len());
        for &size in sizes {
            starts.push(end - region_start);
            end += size;
            self.offsets.push(end);
        }
        self.buf.resize(end, 0);
        (&mut self.buf[region_start..], starts)
    }

    /// Keeps only the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        if rows < self.len() {
            self.offsets.truncate(rows + 1);
            self.buf.truncate(self.offsets[rows]);
        }
    }

    /// Writes a row in place at the end of the arena; returns its index.
    #[inline]
    pub fn push_with(&mut self, fill: impl FnOnce(&mut RowBuilder<'_>)) -> usize {
        let mut builder = RowBuilder::begin(&mut self.buf, &self.schema, self.floats);
        fill(&mut builder);
        builder.finish();
        self.offsets.push(self.buf.len());
        self.offsets.len() - 2
    }

    /// Encodes `value` with its generated encoder at the end of the arena.
    #[inline]
    pub fn push_encoded<T: RowType>(&mut self, value: &T) -> usize {
        debug_assert!(*self.schema == **T::schema(), "arena schema differs from the type's");
        // `RowType` is an unsafe trait whose implementations promise valid rows of their schema,
        // which is what `get` relies on.
        value.encode_into(&mut self.buf, self.floats);
        self.offsets.push(self.buf.len());
        self.offsets.len() - 2
    }

    /// Copies a row in. Panics if its schema differs from the arena's.
    pub fn push(&mut self, row: Row<'_>) -> usize {
        assert!(
            std::ptr::eq(row.schema(), &*self.schema) || *row.schema() == *self.schema,
            "row of schema {} pushed into an arena of {}",
            row.schema(),
            self.schema
        );
        self.buf.extend_from_slice(row.bytes());
        self.offsets.push(self.buf.len());
        self.offsets.len() - 2
    }

    /// Row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Row<'_> {
        Row::from_builder(&self.buf[self.offsets[i]..self.offsets[i + 1]], &self.schema)
    }

    /// The bytes of row `i`.
    #[inline]
    pub fn bytes(&self, i: usize) -> &[u8] {
        &self.buf[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The pinned hash of row `i`.
    #[inline]
    pub fn hash(&self, i: usize) -> u64 {
        hash::hash_row(self.bytes(i))
    }

    /// Every row, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The whole buffer and the offset index, for persisting.
    pub fn as_parts(&self) -> (&[u8], &[usize]) {
        (&self.buf, &self.offsets)
    }

    /// Reorders the rows by `compare` (stable), rewriting the buffer once.
    pub fn sort_by(&mut self, mut compare: impl FnMut(Row<'_>, Row<'_>) -> std::cmp::Ordering) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| compare(self.get(a), self.get(b)));
        let mut buf = Vec::with_capacity(self.buf.len());
        let mut offsets = Vec::with_capacity(self.offsets.len());
        offsets.push(0);
        for i in order {
            buf.extend_from_slice(self.bytes(i));
            offsets.push(buf.len());
        }
        self.buf = buf;
        self.offsets = offsets;
    }
}

impl std::fmt::Debug for RowArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

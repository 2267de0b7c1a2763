//! Snapshot files: the whole state of one version, sorted by key, laid out so that a memory map
//! of the file is used as is. Loading reads the header, the footer and the block checksum table;
//! every other block is checksummed the first time any byte of it is read, so loading touches a
//! few pages whatever the size of the state, and no byte is used before its block is verified.
//!
//! ```text
//! header   48 bytes (see `format`)
//! data     per entry, in key order: key | value | zero padding to a multiple of 8
//! index    per entry: entry_offset u64 (from the file start) | key_len u32 | value_len u32
//! table    per block of `block_size` bytes of [0, table_offset): CRC-32 u32; zero pad to 8
//! footer   entry_count u64 | index_offset u64 | table_offset u64 | block_size u32 |
//!          block_count u32 | table_crc u32 | reserved u32 | end_magic u32 | footer_crc u32
//! ```

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapOptions};

use crate::error::{Result, StateError};
use crate::format::{self, FileKind, HEADER_LEN, align8, crc, le_u32, le_u64};

pub(crate) const FOOTER_LEN: usize = 48;
const INDEX_ENTRY: u64 = 16;
const END_MAGIC: u32 = u32::from_le_bytes(*b"SEND");
/// Smallest and largest checksum block sizes a reader accepts.
pub(crate) const MIN_BLOCK: u32 = 64;
pub(crate) const MAX_BLOCK: u32 = 1 << 24;

/// Forwards bytes to `out` and checksums them in blocks aligned to file offsets.
struct BlockWriter<'a> {
    out: &'a mut dyn Write,
    pos: u64,
    block: u64,
    cur: crc32fast::Hasher,
    crcs: Vec<u32>,
}

impl BlockWriter<'_> {
    fn put(&mut self, mut buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)?;
        while !buf.is_empty() {
            let room = (self.block - self.pos % self.block) as usize;
            let take = room.min(buf.len());
            self.cur.update(&buf[..take]);
            self.pos += take as u64;
            buf = &buf[take..];
            if self.pos.is_multiple_of(self.block) {
                self.crcs.push(std::mem::take(&mut self.cur).finalize());
            }
        }
        Ok(())
    }

    fn finish<'b>(mut self) -> (Vec<u32>, &'b mut dyn Write)
    where
        Self: 'b,
    {
        if !self.pos.is_multiple_of(self.block) {
            self.crcs.push(std::mem::take(&mut self.cur).finalize());
        }
        (self.crcs, self.out)
    }
}

/// Writes a snapshot of `entries`, which must come in strictly increasing key order.
pub(crate) fn write<'e>(
    out: &mut dyn Write,
    temp: &Path,
    entries: impl Iterator<Item = Result<(&'e [u8], &'e [u8])>>,
    fingerprint: u64,
    version: u64,
    block_size: u32,
) -> Result<()> {
    let io = |e| StateError::io(temp, e);
    let mut w = BlockWriter {
        out,
        pos: 0,
        block: u64::from(block_size),
        cur: crc32fast::Hasher::new(),
        crcs: Vec::new(),
    };
    w.put(&format::encode_header(
        FileKind::Snapshot,
        fingerprint,
        version,
    ))
    .map_err(io)?;
    let mut index = Vec::new();
    let mut count = 0u64;
    for e in entries {
        let (k, v) = e?;
        let (Ok(kl), Ok(vl)) = (u32::try_from(k.len()), u32::try_from(v.len())) else {
            return Err(StateError::Internal(
                "snapshot entry larger than 4 GiB".into(),
            ));
        };
        index.extend_from_slice(&w.pos.to_le_bytes());
        index.extend_from_slice(&kl.to_le_bytes());
        index.extend_from_slice(&vl.to_le_bytes());
        w.put(k).map_err(io)?;
        w.put(v).map_err(io)?;
        let pad = (align8(w.pos) - w.pos) as usize;
        w.put(&[0u8; 8][..pad]).map_err(io)?;
        count += 1;
    }
    let index_off = w.pos;
    w.put(&index).map_err(io)?;
    drop(index);
    let table_off = w.pos;
    let (crcs, out) = w.finish();
    let mut table = Vec::with_capacity(crcs.len() * 4 + 4);
    for c in &crcs {
        table.extend_from_slice(&c.to_le_bytes());
    }
    table.resize(align8(table.len() as u64) as usize, 0);
    let Ok(block_count) = u32::try_from(crcs.len()) else {
        return Err(StateError::Internal(
            "snapshot has more than 2^32 blocks".into(),
        ));
    };
    let mut footer = [0u8; FOOTER_LEN];
    footer[0..8].copy_from_slice(&count.to_le_bytes());
    footer[8..16].copy_from_slice(&index_off.to_le_bytes());
    footer[16..24].copy_from_slice(&table_off.to_le_bytes());
    footer[24..28].copy_from_slice(&block_size.to_le_bytes());
    footer[28..32].copy_from_slice(&block_count.to_le_bytes());
    footer[32..36].copy_from_slice(&crc(&[&table]).to_le_bytes());
    footer[40..44].copy_from_slice(&END_MAGIC.to_le_bytes());
    let c = crc(&[&footer[0..44]]);
    footer[44..48].copy_from_slice(&c.to_le_bytes());
    out.write_all(&table).map_err(io)?;
    out.write_all(&footer).map_err(io)
}

/// A memory-mapped snapshot whose structure has been validated.
pub(crate) struct Snapshot {
    file: PathBuf,
    version: u64,
    map: Mmap,
    count: u64,
    index_off: u64,
    table_off: u64,
    block_shift: u32,
    /// One bit per block: set once the block's checksum has been verified.
    verified: Box<[AtomicU64]>,
}

impl Snapshot {
    /// Maps and validates the snapshot of `version` at `path`.
    pub(crate) fn open(path: &Path, fingerprint: u64, version: u64) -> Result<Snapshot> {
        let corrupt = |offset: u64, reason: &'static str| StateError::Corrupt {
            file: path.to_path_buf(),
            version,
            offset,
            reason,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StateError::Missing {
                    file: path.to_path_buf(),
                    version,
                    reason: "the snapshot is needed to rebuild the requested version",
                });
            }
            Err(e) => return Err(StateError::io(path, e)),
        };
        let len = file.metadata().map_err(|e| StateError::io(path, e))?.len();
        if len < (HEADER_LEN + FOOTER_LEN) as u64 {
            return Err(corrupt(len, "file is shorter than a header and a footer"));
        }
        // SAFETY: the map is read-only and private to this process. Published state files are
        // never written again: they are created under a temporary name and renamed into place,
        // and Ember only ever deletes them (which keeps the mapped pages alive). Other writers
        // modifying the file are outside the filesystem assumptions in docs/state-format.md.
        let map = unsafe { MmapOptions::new().map(&file) }.map_err(|e| StateError::io(path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        format::check_header(&map, FileKind::Snapshot, path, fingerprint, version)?;
        let f = map.len() - FOOTER_LEN;
        let footer = &map[f..];
        let at = |o: usize| (f + o) as u64;
        if le_u32(footer, 40) != Some(END_MAGIC) {
            return Err(corrupt(at(40), "footer magic missing (truncated file?)"));
        }
        if le_u32(footer, 44) != Some(crc(&[&footer[0..44]])) {
            return Err(corrupt(at(44), "footer checksum mismatch"));
        }
        let field64 = |o| le_u64(footer, o).unwrap_or(u64::MAX);
        let field32 = |o| le_u32(footer, o).unwrap_or(u32::MAX);
        let (count, index_off, table_off) = (field64(0), field64(8), field64(16));
        let (block_size, block_count, table_crc) = (field32(24), field32(28), field32(32));
        if field32(36) != 0 {
            return Err(corrupt(at(36), "reserved footer bytes are not zero"));
        }
        if !block_size.is_power_of_two() || !(MIN_BLOCK..=MAX_BLOCK).contains(&block_size) {
            return Err(corrupt(at(24), "block size is not a power of two in range"));
        }
        if index_off < HEADER_LEN as u64 || index_off % 8 != 0 {
            return Err(corrupt(at(8), "index offset out of range"));
        }
        if count
            .checked_mul(INDEX_ENTRY)
            .and_then(|n| n.checked_add(index_off))
            != Some(table_off)
        {
            return Err(corrupt(at(16), "table offset does not follow the index"));
        }
        if u64::from(block_count) != table_off.div_ceil(u64::from(block_size)) {
            return Err(corrupt(at(28), "block count does not cover the file"));
        }
        let table_len = align8(u64::from(block_count) * 4);
        if table_off.checked_add(table_len) != Some(f as u64) {
            return Err(corrupt(at(16), "sections do not end at the footer"));
        }
        let table = &map[table_off as usize..f];
        if crc(&[table]) != table_crc {
            return Err(corrupt(table_off, "block checksum table checksum mismatch"));
        }
        let words = (block_count as usize).div_ceil(64);
        Ok(Snapshot {
            file: path.to_path_buf(),
            version,
            map,
            count,
            index_off,
            table_off,
            block_shift: block_size.trailing_zeros(),
            verified: (0..words).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn corrupt(&self, offset: u64, reason: &'static str) -> StateError {
        StateError::Corrupt {
            file: self.file.clone(),
            version: self.version,
            offset,
            reason,
        }
    }

    /// Verifies (once) every block overlapping `start..end`, which lies below the table.
    fn ensure(&self, start: u64, end: u64) -> Result<()> {
        if end <= start {
            return Ok(());
        }
        let (first, last) = (start >> self.block_shift, (end - 1) >> self.block_shift);
        for b in first..=last {
            let (word, bit) = ((b / 64) as usize, 1u64 << (b % 64));
            if self.verified[word].load(Ordering::Acquire) & bit != 0 {
                continue;
            }
            let from = b << self.block_shift;
            let to = ((b + 1) << self.block_shift).min(self.table_off);
            let stored = le_u32(&self.map, (self.table_off + 4 * b) as usize);
            if stored != Some(crc(&[&self.map[from as usize..to as usize]])) {
                return Err(self.corrupt(from, "block checksum mismatch"));
            }
            self.verified[word].fetch_or(bit, Ordering::Release);
        }
        Ok(())
    }

    /// The `i`-th entry in key order, `i < len()`.
    pub(crate) fn entry(&self, i: u64) -> Result<(&[u8], &[u8])> {
        let at = self.index_off + i * INDEX_ENTRY;
        self.ensure(at, at + INDEX_ENTRY)?;
        let a = at as usize;
        let off = le_u64(&self.map, a).unwrap_or(u64::MAX);
        let kl = u64::from(le_u32(&self.map, a + 8).unwrap_or(u32::MAX));
        let vl = u64::from(le_u32(&self.map, a + 12).unwrap_or(u32::MAX));
        let end = off.saturating_add(kl + vl);
        if off < HEADER_LEN as u64 || end > self.index_off {
            return Err(self.corrupt(at, "index entry points outside the data section"));
        }
        self.ensure(off, end)?;
        let (o, k) = (off as usize, kl as usize);
        Ok((&self.map[o..o + k], &self.map[o + k..end as usize]))
    }

    /// Binary search for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<&[u8]>> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (k, v) = self.entry(mid)?;
            match k.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(v)),
            }
        }
        Ok(None)
    }

    /// All entries in key order; stops after the first error.
    pub(crate) fn iter(&self) -> SnapshotIter<'_> {
        SnapshotIter {
            snap: self,
            next: 0,
            failed: false,
        }
    }
}

/// Iterator over a snapshot's entries.
pub(crate) struct SnapshotIter<'a> {
    snap: &'a Snapshot,
    next: u64,
    failed: bool,
}

impl<'a> Iterator for SnapshotIter<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.snap.count {
            return None;
        }
        let r = self.snap.entry(self.next);
        self.next += 1;
        self.failed = r.is_err();
        Some(r)
    }
}

//! Snapshot files: the whole state of one version, sorted by key, with an open-addressing hash
//! index, laid out so that a memory map of the file is used as is. Loading reads the header, the
//! footer and the block checksum table; every other block is checksummed the first time any byte
//! of it is read, so loading touches a few pages whatever the size of the state, and no byte is
//! used before its block is verified.
//!
//! ```text
//! header   48 bytes (see `format`)
//! data     per entry, in key order: key_len u32 | value_len u32 | key | value | zero pad to 8
//! slots    2^slot_bits u64 slots: 0 = empty, else (hash >> 40) << 40 | entry_offset / 8,
//!          hash = XXH3-64 (seed 0) of the key, home slot = hash mod 2^slot_bits, linear probing
//! table    per block of `block_size` bytes of [0, table_offset): CRC-32 u32; zero pad to 8
//! footer   entry_count u64 | slots_offset u64 | table_offset u64 | block_size u32 |
//!          block_count u32 | table_crc u32 | slot_bits u32 | end_magic u32 | footer_crc u32
//! ```

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapOptions};

use crate::error::{Result, StateError};
use crate::format::{self, FileKind, HEADER_LEN, align8, crc, le_u32, le_u64};

pub(crate) const FOOTER_LEN: usize = 48;
const ENTRY_HEADER: u64 = 8;
/// Slots hold an entry offset divided by 8 in their low 40 bits and a hash tag above.
const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
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

/// The key hash of the slot index; pinned in `docs/state-format.md`.
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

/// log2 of the slot count for `count` entries: load factor at most 3/4, always an empty slot.
fn slot_bits(count: u64) -> u32 {
    (count + count / 3 + 1).next_power_of_two().trailing_zeros()
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
    w.put(&format::encode_header(FileKind::Snapshot, fingerprint, version)).map_err(io)?;
    // (hash, slot value) of every entry, placed once the count is known.
    let mut placed: Vec<(u64, u64)> = Vec::new();
    for e in entries {
        let (k, v) = e?;
        let (Ok(kl), Ok(vl)) = (u32::try_from(k.len()), u32::try_from(v.len())) else {
            return Err(StateError::Internal("snapshot entry larger than 4 GiB".into()));
        };
        if w.pos >> 3 > OFFSET_MASK {
            return Err(StateError::Internal("snapshot larger than 8 TiB".into()));
        }
        let h = key_hash(k);
        placed.push((h, (h >> OFFSET_BITS) << OFFSET_BITS | w.pos >> 3));
        w.put(&kl.to_le_bytes()).map_err(io)?;
        w.put(&vl.to_le_bytes()).map_err(io)?;
        w.put(k).map_err(io)?;
        w.put(v).map_err(io)?;
        let pad = (align8(w.pos) - w.pos) as usize;
        w.put(&[0u8; 8][..pad]).map_err(io)?;
    }
    let count = placed.len() as u64;
    let bits = slot_bits(count);
    let mask = (1u64 << bits) - 1;
    let mut slots = vec![0u64; 1 << bits];
    for (h, slot) in placed.drain(..) {
        let mut i = h & mask;
        while slots[i as usize] != 0 {
            i = (i + 1) & mask;
        }
        slots[i as usize] = slot;
    }
    drop(placed);
    let slots_off = w.pos;
    let mut chunk = Vec::with_capacity(64 << 10);
    for part in slots.chunks(8 << 10) {
        chunk.clear();
        for s in part {
            chunk.extend_from_slice(&s.to_le_bytes());
        }
        w.put(&chunk).map_err(io)?;
    }
    drop(slots);
    let table_off = w.pos;
    let (crcs, out) = w.finish();
    let mut table = Vec::with_capacity(crcs.len() * 4 + 4);
    for c in &crcs {
        table.extend_from_slice(&c.to_le_bytes());
    }
    table.resize(align8(table.len() as u64) as usize, 0);
    let Ok(block_count) = u32::try_from(crcs.len()) else {
        return Err(StateError::Internal("snapshot has more than 2^32 blocks".into()));
    };
    let mut footer = [0u8; FOOTER_LEN];
    footer[0..8].copy_from_slice(&count.to_le_bytes());
    footer[8..16].copy_from_slice(&slots_off.to_le_bytes());
    footer[16..24].copy_from_slice(&table_off.to_le_bytes());
    footer[24..28].copy_from_slice(&block_size.to_le_bytes());
    footer[28..32].copy_from_slice(&block_count.to_le_bytes());
    footer[32..36].copy_from_slice(&crc(&[&table]).to_le_bytes());
    footer[36..40].copy_from_slice(&bits.to_le_bytes());
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
    slots_off: u64,
    slot_bits: u32,
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
        // Lookups jump around: read-ahead would only make pages resident that nobody asked for.
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
        let (count, slots_off, table_off) = (field64(0), field64(8), field64(16));
        let (block_size, block_count, table_crc) = (field32(24), field32(28), field32(32));
        let bits = field32(36);
        if !block_size.is_power_of_two() || !(MIN_BLOCK..=MAX_BLOCK).contains(&block_size) {
            return Err(corrupt(at(24), "block size is not a power of two in range"));
        }
        if slots_off < HEADER_LEN as u64 || !slots_off.is_multiple_of(8) {
            return Err(corrupt(at(8), "slots offset out of range"));
        }
        if count.checked_mul(ENTRY_HEADER).is_none_or(|n| n > slots_off - HEADER_LEN as u64) {
            return Err(corrupt(at(0), "entry count does not fit the data section"));
        }
        if bits > OFFSET_BITS || count >= 1u64 << bits {
            return Err(corrupt(at(36), "slot count out of range"));
        }
        if (8u64 << bits).checked_add(slots_off) != Some(table_off) {
            return Err(corrupt(at(16), "table offset does not follow the slots"));
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
            slots_off,
            slot_bits: bits,
            table_off,
            block_shift: block_size.trailing_zeros(),
            verified: (0..words).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn corrupt(&self, offset: u64, reason: &'static str) -> StateError {
        StateError::Corrupt { file: self.file.clone(), version: self.version, offset, reason }
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

    /// The entry at file offset `at` and the offset just past it (padding included).
    fn entry_at(&self, at: u64) -> Result<(&[u8], &[u8], u64)> {
        if at < HEADER_LEN as u64 || !at.is_multiple_of(8) || at + ENTRY_HEADER > self.slots_off {
            return Err(self.corrupt(at, "entry offset outside the data section"));
        }
        self.ensure(at, at + ENTRY_HEADER)?;
        let a = at as usize;
        let kl = u64::from(le_u32(&self.map, a).unwrap_or(u32::MAX));
        let vl = u64::from(le_u32(&self.map, a + 4).unwrap_or(u32::MAX));
        let end = at + ENTRY_HEADER + kl + vl;
        if end > self.slots_off {
            return Err(self.corrupt(at, "entry runs past the data section"));
        }
        self.ensure(at + ENTRY_HEADER, end)?;
        let k = a + ENTRY_HEADER as usize;
        let v = k + kl as usize;
        Ok((&self.map[k..v], &self.map[v..end as usize], align8(end)))
    }

    /// Hash lookup of `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<&[u8]>> {
        let h = key_hash(key);
        let mask = (1u64 << self.slot_bits) - 1;
        let mut i = h & mask;
        for _ in 0..=mask {
            let at = self.slots_off + 8 * i;
            self.ensure(at, at + 8)?;
            let slot = le_u64(&self.map, at as usize).unwrap_or(0);
            if slot == 0 {
                return Ok(None);
            }
            if slot >> OFFSET_BITS == h >> OFFSET_BITS {
                let (k, v, _) = self.entry_at((slot & OFFSET_MASK) << 3)?;
                if k == key {
                    return Ok(Some(v));
                }
            }
            i = (i + 1) & mask;
        }
        Err(self.corrupt(self.slots_off, "hash index has no empty slot"))
    }

    /// All entries in key order; stops after the first error. Reading everything, it also
    /// verifies the index blocks, so a full iteration checks every byte of the file.
    pub(crate) fn iter(&self) -> SnapshotIter<'_> {
        SnapshotIter { snap: self, next: HEADER_LEN as u64, left: self.count, done: false }
    }
}

/// Iterator over a snapshot's entries.
pub(crate) struct SnapshotIter<'a> {
    snap: &'a Snapshot,
    next: u64,
    left: u64,
    done: bool,
}

impl<'a> Iterator for SnapshotIter<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            let s = self.snap;
            if self.next != s.slots_off {
                return Some(Err(s.corrupt(self.next, "data section longer than its entries")));
            }
            return s.ensure(s.slots_off, s.table_off).err().map(Err);
        }
        match self.snap.entry_at(self.next) {
            Ok((k, v, next)) => {
                self.next = next;
                self.left -= 1;
                Some(Ok((k, v)))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

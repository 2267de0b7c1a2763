//! Corruption: every single-byte flip and every truncation of small delta and snapshot files
//! must be reported as an error naming the file; no damaged file may yield a value.

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use ember_state::StateError;

/// A store whose version 3 is a snapshot (of 64-byte checksum blocks) and version 4 a delta.
fn small_store(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let p = open(&dir, test_config());
    let mut model = Model::new();
    for v in 1..=4u64 {
        let mut s = p.load(v - 1).unwrap();
        for i in 0..4u64 {
            let k = format!("key{}-{}", i * v, "x".repeat((i * 3 + v) as usize % 7));
            s.put(k.as_bytes(), &(i * 31 + v).to_le_bytes()[..(1 + i as usize * 2)]);
            model.insert(k.into_bytes(), vec![]);
        }
        s.remove(b"key0-x");
        s.commit().unwrap();
        if v == 3 {
            assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
        }
    }
    dir
}

/// Loads `version` from a fresh provider and reads every entry; returns the first error.
fn read_all(dir: &Path, version: u64) -> Result<Model, StateError> {
    let p = open(dir, test_config());
    let s = p.load(version)?;
    dump(&s)
}

fn assert_detected(dir: &Path, file: &Path, version: u64, what: &str) {
    match read_all(dir, version) {
        Ok(_) => panic!("{what}: damage to {} went unnoticed", file.display()),
        Err(e) => {
            assert_eq!(e.file(), Some(file), "{what}: error does not name the file: {e}");
            assert!(e.to_string().contains(&file.display().to_string()), "{what}: {e}");
            match e {
                StateError::Corrupt { .. } | StateError::UnsupportedFormat { .. } => {}
                other => panic!("{what}: unexpected error kind {other:?}"),
            }
        }
    }
}

fn exhaust(file_name: &str, version: u64) {
    let dir = small_store(&format!("corrupt-{file_name}"));
    let file = dir.join(file_name);
    let good = std::fs::read(&file).unwrap();
    let want = read_all(&dir, version).unwrap();
    assert!(
        good.len() < 2048,
        "{file_name} is {} bytes: keep the exhaustive test small",
        good.len()
    );
    // Edit the file in place: replacing it by truncate-and-rewrite makes ext4 flush it each time.
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    for at in 0..good.len() {
        for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] {
            f.write_all_at(&[good[at] ^ mask], at as u64).unwrap();
            assert_detected(&dir, &file, version, &format!("byte {at} ^ {mask:#04x}"));
        }
        f.write_all_at(&good[at..at + 1], at as u64).unwrap();
    }
    for len in (0..good.len()).rev() {
        f.set_len(len as u64).unwrap();
        assert_detected(&dir, &file, version, &format!("truncated to {len} bytes"));
    }
    drop(f);
    std::fs::write(&file, &good).unwrap();
    assert_eq!(read_all(&dir, version).unwrap(), want);
}

#[test]
fn every_flip_and_truncation_of_a_delta_is_detected() {
    exhaust("4.delta", 4);
}

#[test]
fn every_flip_and_truncation_of_a_snapshot_is_detected() {
    exhaust("3.snapshot", 3);
}

#[test]
fn a_missing_snapshot_is_reported_with_file_and_version() {
    let dir = small_store("missing_snapshot");
    let p = open(&dir, test_config());
    std::fs::remove_file(dir.join("3.snapshot")).unwrap();
    // The deltas are still there: the version is rebuilt from them.
    assert_eq!(dump(&p.load(4).unwrap()).unwrap().len(), read_all(&dir, 4).unwrap().len());
    std::fs::remove_file(dir.join("1.delta")).unwrap();
    let err = read_all(&dir, 4).unwrap_err();
    assert!(matches!(&err, StateError::Missing { version: 1, .. }), "{err}");
}

#[test]
fn snapshot_damage_is_found_where_it_is_read_and_nowhere_else() {
    let dir = scratch("lazy_damage");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    let keys: Vec<[u8; 16]> = (0..2000u128)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835).to_le_bytes())
        .collect();
    s.put_batch(keys.iter().map(|k| (&k[..], &k[8..])));
    s.commit().unwrap();
    let mut s = p.load(1).unwrap();
    s.put(b"x", b"y");
    s.commit().unwrap();
    let mut s = p.load(2).unwrap();
    s.put(b"x", b"z");
    s.commit().unwrap();
    assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
    drop(p);
    // Damage a value off the binary-search paths of the first and last keys (the middle entry is
    // on every path, so its block is verified by every lookup).
    let path = dir.join("3.snapshot");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut sorted = keys.clone();
    sorted.sort();
    let victim = sorted[700];
    let at = bytes.windows(16).position(|w| w == victim).unwrap() + 16;
    bytes[at] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let p = open(&dir, test_config());
    let s = p.load(3).unwrap();
    assert_eq!(s.get(&sorted[0]).unwrap(), Some(&sorted[0][8..]));
    assert_eq!(s.get(&sorted[1999]).unwrap(), Some(&sorted[1999][8..]));
    let err = s.get(&victim).unwrap_err();
    assert!(
        matches!(&err, StateError::Corrupt { file, version: 3, offset, .. }
            if file == &path && (*offset..*offset + 64).contains(&(at as u64))),
        "{err:?}"
    );
    assert!(s.iter().any(|e| e.is_err()));
}

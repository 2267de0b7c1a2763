//! The store's contract, case by case: versions, commit and abort, the cache, snapshots,
//! retention, and the errors for clashes, foreign files and missing files.

mod common;

use std::sync::Arc;

use common::*;
use ember_state::{StateError, StateStoreProvider, StoreConfig};

#[test]
fn version_zero_is_empty_and_commits_count_up() {
    let dir = scratch("count_up");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    assert_eq!(s.version(), 0);
    assert_eq!(s.iter().count(), 0);
    s.put(b"a", b"1");
    s.put(b"b", b"2");
    s.remove(b"b");
    assert_eq!(s.get(b"a").unwrap(), Some(&b"1"[..]));
    assert_eq!(s.get(b"b").unwrap(), None);
    assert_eq!(s.commit().unwrap(), 1);
    let mut s = p.load(1).unwrap();
    s.put(b"c", b"");
    assert_eq!(s.commit().unwrap(), 2);
    let s = p.load(2).unwrap();
    let want: Model = [(b"a".to_vec(), b"1".to_vec()), (b"c".to_vec(), vec![])].into();
    assert_eq!(dump(&s).unwrap(), want);
    assert_eq!(p.latest_version().unwrap(), 2);
    // A fresh provider reads the same from the files.
    drop(s);
    drop(p);
    let p = open(&dir, test_config());
    assert_eq!(dump(&p.load(2).unwrap()).unwrap(), want);
    assert_eq!(dump(&p.load(0).unwrap()).unwrap(), Model::new());
}

#[test]
fn abort_writes_nothing() {
    let dir = scratch("abort");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    s.abort();
    assert_eq!(p.latest_version().unwrap(), 0);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let mut s = p.load(0).unwrap();
    assert_eq!(s.get(b"k").unwrap(), None);
    s.put(b"k", b"w");
    assert_eq!(s.commit().unwrap(), 1);
}

#[test]
fn committing_an_existing_version_is_a_clash_naming_the_path() {
    let dir = scratch("clash");
    let p = open(&dir, test_config());
    let mut first = p.load(0).unwrap();
    let mut second = p.load(0).unwrap();
    first.put(b"k", b"first");
    second.put(b"k", b"second");
    first.commit().unwrap();
    let err = second.commit().unwrap_err();
    match &err {
        StateError::AlreadyExists { path } => assert_eq!(path, &dir.join("1.delta")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("1.delta"));
    assert_eq!(p.load(1).unwrap().get(b"k").unwrap(), Some(&b"first"[..]));
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("1.delta")]);
}

#[test]
fn discard_after_lets_a_batch_commit_again() {
    let dir = scratch("discard");
    let p = open(&dir, test_config());
    for v in 0..5 {
        let mut s = p.load(v).unwrap();
        s.put(&v.to_le_bytes(), b"x");
        s.commit().unwrap();
    }
    assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(5));
    assert_eq!(p.discard_after(2).unwrap(), 4, "3.delta 4.delta 5.delta 5.snapshot");
    assert_eq!(p.latest_version().unwrap(), 2);
    let mut s = p.load(2).unwrap();
    s.put(b"again", b"y");
    assert_eq!(s.commit().unwrap(), 3);
    let s = p.load(3).unwrap();
    assert_eq!(s.get(b"again").unwrap(), Some(&b"y"[..]));
    assert_eq!(s.get(&2u64.to_le_bytes()).unwrap(), None);
    assert_eq!(dump(&s).unwrap().len(), 3);
}

#[test]
fn snapshot_then_deltas_load_the_same_state() {
    let dir = scratch("snapshot_load");
    let p = open(&dir, test_config());
    let mut model = Model::new();
    for v in 0..10u64 {
        let mut s = p.load(v).unwrap();
        apply_batch(7, v + 1, &mut s, &mut model);
        s.commit().unwrap();
        if v == 5 {
            let r = p.do_maintenance().unwrap();
            assert_eq!(r.snapshot_written, Some(6));
        }
    }
    assert!(dir.join("6.snapshot").exists());
    drop(p);
    let p = open(&dir, test_config());
    assert_eq!(dump(&p.load(10).unwrap()).unwrap(), model);
    assert_eq!(dump(&p.load(6).unwrap()).unwrap(), model_at(7, 6));
    for v in 0..=10 {
        assert_eq!(dump(&p.load(v).unwrap()).unwrap(), model_at(7, v), "version {v}");
    }
}

#[test]
fn maintenance_keeps_the_retained_versions_loadable() {
    let dir = scratch("retention");
    let config = test_config();
    let p = open(&dir, config.clone());
    for v in 0..30u64 {
        let mut s = p.load(v).unwrap();
        let mut m = Model::new();
        apply_batch(3, v + 1, &mut s, &mut m);
        s.commit().unwrap();
        p.do_maintenance().unwrap();
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files < 15, "cleanup left {files} files");
    drop(p);
    let p = open(&dir, config.clone());
    for v in 30 + 1 - config.min_versions_to_retain..=30 {
        assert_eq!(dump(&p.load(v).unwrap()).unwrap(), model_at(3, v), "version {v}");
    }
    let err = p.load(1).unwrap_err();
    assert!(matches!(err, StateError::Missing { version: 1, .. }), "{err}");
}

#[test]
fn background_maintenance_snapshots_and_cleans() {
    let dir = scratch("background");
    let config = StoreConfig { background_maintenance: true, ..test_config() };
    let p = open(&dir, config);
    for v in 0..40u64 {
        let mut s = p.load(v).unwrap();
        let mut m = Model::new();
        apply_batch(11, v + 1, &mut s, &mut m);
        s.commit().unwrap();
    }
    // Closing waits for the running pass; a last pass makes the outcome deterministic.
    p.do_maintenance().unwrap();
    assert!(p.take_maintenance_error().is_none());
    p.close().unwrap();
    let snapshots = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".snapshot"))
        .count();
    assert!(snapshots >= 1);
    let p = open(&dir, test_config());
    assert_eq!(dump(&p.load(40).unwrap()).unwrap(), model_at(11, 40));
}

#[test]
fn a_foreign_fingerprint_is_refused_naming_file_and_both_values() {
    let dir = scratch("fingerprint");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    s.commit().unwrap();
    p.do_maintenance().unwrap();
    drop(p);
    let other = StateStoreProvider::open(&dir, 0xBAD, test_config()).unwrap();
    let err = other.load(1).unwrap_err();
    match &err {
        StateError::SchemaMismatch { file, found, expected } => {
            assert_eq!(file, &dir.join("1.delta"));
            assert_eq!((*found, *expected), (FP, 0xBAD));
        }
        e => panic!("unexpected {e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("1.delta") && msg.contains("0x0000000000000bad") && msg.contains("5eedf00d"),
        "{msg}"
    );
}

#[test]
fn another_format_version_is_refused_naming_file_and_both_values() {
    let dir = scratch("format_version");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    s.commit().unwrap();
    drop(p);
    let path = dir.join("1.delta");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let p = open(&dir, test_config());
    let err = p.load(1).unwrap_err();
    assert!(
        matches!(&err, StateError::UnsupportedFormat { file, found: 7, expected }
            if file == &path && *expected == ember_state::FORMAT_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("format version 7"));
}

#[test]
fn a_missing_delta_is_an_error_naming_file_and_version() {
    let dir = scratch("missing");
    let p = open(&dir, test_config());
    for v in 0..3 {
        let mut s = p.load(v).unwrap();
        s.put(b"k", &v.to_le_bytes());
        s.commit().unwrap();
    }
    drop(p);
    std::fs::remove_file(dir.join("2.delta")).unwrap();
    let p = open(&dir, test_config());
    let err = p.load(3).unwrap_err();
    assert!(
        matches!(&err, StateError::Missing { file, version: 2, .. } if file == &dir.join("2.delta")),
        "{err:?}"
    );
    let err = p.load(9).unwrap_err();
    assert!(matches!(&err, StateError::Missing { .. }), "{err:?}");
}

#[test]
fn put_batch_and_iteration_see_every_layer() {
    let dir = scratch("layers");
    let p = open(&dir, test_config());
    let keys: Vec<[u8; 16]> = (0..300u128).map(|i| i.to_le_bytes()).collect();
    let mut s = p.load(0).unwrap();
    s.put_batch(keys.iter().map(|k| (&k[..], &k[..8])));
    s.commit().unwrap();
    p.do_maintenance().unwrap(); // not due yet: no snapshot
    let mut s = p.load(1).unwrap();
    for k in &keys[..100] {
        s.remove(k);
    }
    s.commit().unwrap();
    let mut s = p.load(2).unwrap();
    s.put(b"new", b"n");
    s.commit().unwrap();
    assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
    let mut s = p.load(3).unwrap();
    s.remove(&keys[150]);
    s.put(&keys[151], b"changed");
    s.put(&keys[0], b"back");
    let m = dump(&s).unwrap();
    assert_eq!(m.len(), 200 - 1 + 1 + 1);
    assert_eq!(m[&keys[151].to_vec()], b"changed");
    assert_eq!(s.num_updates(), 3);
}

#[test]
fn the_cached_version_is_reused_without_reading_files() {
    let dir = scratch("cache");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    s.commit().unwrap();
    // The committed version is served from memory: its file can no longer be read, yet it loads.
    std::fs::rename(dir.join("1.delta"), dir.join("moved")).unwrap();
    assert_eq!(p.load(1).unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    std::fs::rename(dir.join("moved"), dir.join("1.delta")).unwrap();
}

#[test]
fn bad_configuration_is_rejected() {
    let dir = scratch("config");
    for c in [
        StoreConfig { snapshot_interval: 0, ..test_config() },
        StoreConfig { min_versions_to_retain: 0, ..test_config() },
        StoreConfig { snapshot_block_size: 100, ..test_config() },
    ] {
        let err = StateStoreProvider::open(&dir, FP, c).unwrap_err();
        assert!(matches!(err, StateError::InvalidArgument(_)));
    }
    let _ = Arc::new(());
}

#[test]
fn many_commits_without_maintenance_stay_correct() {
    // More commits than the in-memory layer limit, so layers get merged on the commit path.
    let dir = scratch("many_layers");
    let p = open(&dir, test_config());
    for v in 0..75u64 {
        let mut s = p.load(v).unwrap();
        let mut m = Model::new();
        apply_batch(5, v + 1, &mut s, &mut m);
        s.commit().unwrap();
        if v % 10 == 0 {
            assert_eq!(dump(&p.load(v + 1).unwrap()).unwrap(), model_at(5, v + 1));
        }
    }
    assert_eq!(dump(&p.load(75).unwrap()).unwrap(), model_at(5, 75));
    p.do_maintenance().unwrap();
    assert_eq!(dump(&p.load(75).unwrap()).unwrap(), model_at(5, 75));
    let mut s = p.load(75).unwrap();
    s.put(b"after", b"rebase");
    s.commit().unwrap();
    let mut want = model_at(5, 75);
    want.insert(b"after".to_vec(), b"rebase".to_vec());
    assert_eq!(dump(&p.load(76).unwrap()).unwrap(), want);
}

#[test]
fn a_snapshot_with_a_foreign_fingerprint_is_refused() {
    let dir = scratch("snapshot_fingerprint");
    let p = open(&dir, test_config());
    for v in 0..3 {
        let mut s = p.load(v).unwrap();
        s.put(b"k", &v.to_le_bytes());
        s.commit().unwrap();
    }
    assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
    drop(p);
    let other = StateStoreProvider::open(&dir, 0xBAD, test_config()).unwrap();
    let err = other.load(3).unwrap_err();
    assert!(
        matches!(&err, StateError::SchemaMismatch { file, found: FP, expected: 0xBAD }
            if file == &dir.join("3.snapshot")),
        "{err:?}"
    );
}

#[test]
fn temporary_files_of_dead_writers_are_swept_and_never_read() {
    let dir = scratch("sweep");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    s.commit().unwrap();
    drop(p);
    // A writer that died mid-commit (no such process) and a live one (this process).
    let dead = dir.join(".2.delta.4294967295.0.tmp");
    let live = dir.join(format!(".2.delta.{}.99.tmp", std::process::id()));
    std::fs::write(&dead, b"garbage").unwrap();
    std::fs::write(&live, b"garbage").unwrap();
    let p = open(&dir, test_config());
    assert!(!dead.exists());
    assert!(live.exists());
    assert_eq!(p.latest_version().unwrap(), 1);
    assert_eq!(dump(&p.load(1).unwrap()).unwrap().len(), 1);
}

#[test]
fn stores_and_providers_can_move_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ember_state::StateStore>();
    send_sync::<StateStoreProvider>();
    send_sync::<StateError>();
    let dir = scratch("threads");
    let p = open(&dir, test_config());
    let mut s = p.load(0).unwrap();
    s.put(b"k", b"v");
    let v = std::thread::scope(|scope| scope.spawn(move || s.commit().unwrap()).join().unwrap());
    assert_eq!(v, 1);
}

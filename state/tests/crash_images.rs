//! Crash images: at every step of a commit and of a maintenance pass (temporary file written,
//! fsynced, renamed, directory fsynced, old file deleted) the directory is copied as a power cut
//! could leave it, and each copy must reload as the last committed version, exactly.

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use ember_state::{StateError, StateStoreProvider, StoreConfig, WriteHook, WriteStep};

const SEED: u64 = 0xC8A5_4000;

/// Copies the directory at each step, in every form a crash there could leave on disk.
struct ImageTaker {
    dir: PathBuf,
    out: PathBuf,
    armed: AtomicBool,
    images: Mutex<Vec<(String, PathBuf)>>,
}

impl ImageTaker {
    fn image(&self, label: String, edit: impl FnOnce(&Path)) {
        let mut images = self.images.lock().unwrap();
        let to = self.out.join(format!("{:03}-{label}", images.len()));
        copy_dir(&self.dir, &to);
        edit(&to);
        images.push((label, to));
    }
}

impl WriteHook for ImageTaker {
    fn after(&self, step: WriteStep, temp: &Path, target: &Path) -> io::Result<()> {
        if !self.armed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let tname = temp.file_name().unwrap().to_owned();
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        match step {
            WriteStep::TempWritten => {
                // Unsynced data may be lost, partly written, or present as zeros.
                self.image(format!("{name}-written-complete"), |_| {});
                self.image(format!("{name}-written-half"), |d| {
                    let p = d.join(&tname);
                    let len = std::fs::metadata(&p).unwrap().len();
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&p)
                        .unwrap()
                        .set_len(len / 2)
                        .unwrap();
                });
                self.image(format!("{name}-written-zeros"), |d| {
                    let p = d.join(&tname);
                    let len = std::fs::metadata(&p).unwrap().len();
                    std::fs::write(&p, vec![0u8; len as usize]).unwrap();
                });
                self.image(format!("{name}-written-absent"), |d| {
                    std::fs::remove_file(d.join(&tname)).unwrap();
                });
            }
            WriteStep::TempSynced => self.image(format!("{name}-synced"), |_| {}),
            WriteStep::Renamed => {
                // The rename is not durable until the directory is synced: either outcome.
                self.image(format!("{name}-renamed"), |_| {});
                self.image(format!("{name}-renamed-lost"), |d| {
                    std::fs::rename(d.join(&name), d.join(&tname)).unwrap();
                });
            }
            WriteStep::DirSynced => self.image(format!("{name}-dirsynced"), |_| {}),
            WriteStep::Deleted => self.image(format!("{name}-deleted"), |_| {}),
        }
        Ok(())
    }
}

fn setup(name: &str, keep: u64) -> (PathBuf, Arc<ImageTaker>, StoreConfig) {
    let root = scratch(name);
    let dir = root.join("store");
    let taker = Arc::new(ImageTaker {
        dir: dir.clone(),
        out: root.join("images"),
        armed: AtomicBool::new(false),
        images: Mutex::new(Vec::new()),
    });
    let config = StoreConfig {
        min_versions_to_retain: keep,
        write_hook: Some(taker.clone()),
        ..test_config()
    };
    (dir, taker, config)
}

fn commit_batch(p: &StateStoreProvider, version: u64) -> Result<u64, StateError> {
    let mut s = p.load(version - 1)?;
    let mut m = Model::new();
    apply_batch(SEED, version, &mut s, &mut m);
    s.commit()
}

/// Checks an image: `committed` loads exactly, the newest version present is one of `latest`
/// and loads exactly too, and after discarding what follows `committed` the next batch commits.
fn check_image(label: &str, image: &Path, committed: u64, latest: &[u64], retained_from: u64) {
    let p = open(image, test_config());
    for v in retained_from..=committed {
        let got = dump(&p.load(v).unwrap()).unwrap();
        assert_eq!(got, model_at(SEED, v), "{label}: version {v}");
    }
    let newest = p.latest_version().unwrap();
    assert!(
        latest.contains(&newest),
        "{label}: newest version {newest}, expected one of {latest:?}"
    );
    assert_eq!(dump(&p.load(newest).unwrap()).unwrap(), model_at(SEED, newest), "{label}");
    p.discard_after(committed).unwrap();
    assert_eq!(commit_batch(&p, committed + 1).unwrap(), committed + 1, "{label}");
    let got = dump(&p.load(committed + 1).unwrap()).unwrap();
    assert_eq!(got, model_at(SEED, committed + 1), "{label}: recommitted");
}

#[test]
fn every_step_of_a_commit_reloads_as_the_last_committed_version() {
    let (dir, taker, config) = setup("crash_commit", 10);
    let p = open(&dir, config);
    for v in 1..=4 {
        commit_batch(&p, v).unwrap();
        if v == 3 {
            assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
        }
    }
    taker.armed.store(true, Ordering::SeqCst);
    commit_batch(&p, 5).unwrap();
    taker.armed.store(false, Ordering::SeqCst);
    let images = taker.images.lock().unwrap().clone();
    let labels: Vec<_> = images.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "5.delta-written-complete",
            "5.delta-written-half",
            "5.delta-written-zeros",
            "5.delta-written-absent",
            "5.delta-synced",
            "5.delta-renamed",
            "5.delta-renamed-lost",
            "5.delta-dirsynced",
        ]
    );
    for (label, image) in &images {
        let published = label.ends_with("-renamed") || label.ends_with("-dirsynced");
        let latest: &[u64] = if published { &[5] } else { &[4] };
        check_image(label, image, 4, latest, 0);
    }
}

#[test]
fn every_step_of_a_snapshot_and_cleanup_reloads_every_retained_version() {
    let (dir, taker, config) = setup("crash_snapshot", 2);
    let p = open(&dir, config);
    for v in 1..=6 {
        commit_batch(&p, v).unwrap();
        if v == 3 {
            assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(3));
        }
    }
    taker.armed.store(true, Ordering::SeqCst);
    let report = p.do_maintenance().unwrap();
    taker.armed.store(false, Ordering::SeqCst);
    assert_eq!(report.snapshot_written, Some(6));
    assert!(report.files_deleted >= 3, "{report:?}");
    let images = taker.images.lock().unwrap().clone();
    let deletes = images.iter().filter(|(l, _)| l.ends_with("-deleted")).count();
    assert_eq!(deletes, report.files_deleted);
    assert_eq!(images.len(), 8 + deletes);
    for (label, image) in &images {
        // Versions 5 and 6 are the retained ones; all must load at every step.
        check_image(label, image, 6, &[6], 5);
    }
}

/// The hook fails (as a crash would stop the process) at the `n`-th step of a commit.
struct FailAt {
    n: usize,
    seen: AtomicUsize,
}

impl WriteHook for FailAt {
    fn after(&self, _: WriteStep, _: &Path, _: &Path) -> io::Result<()> {
        if self.seen.fetch_add(1, Ordering::SeqCst) == self.n {
            Err(io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_commit_failing_at_any_step_leaves_the_provider_usable() {
    for n in 0..4 {
        let dir = scratch(&format!("fail_at_{n}"));
        let hook = Arc::new(FailAt { n: usize::MAX, seen: AtomicUsize::new(0) });
        let p = open(&dir, test_config());
        for v in 1..=3 {
            commit_batch(&p, v).unwrap();
        }
        drop(p);
        let fail = Arc::new(FailAt { n, seen: AtomicUsize::new(0) });
        let p = open(&dir, StoreConfig { write_hook: Some(fail), ..test_config() });
        let err = commit_batch(&p, 4).unwrap_err();
        assert!(err.to_string().contains("4.delta"), "{err}");
        assert_eq!(dump(&p.load(3).unwrap()).unwrap(), model_at(SEED, 3), "failed at step {n}");
        p.discard_after(3).unwrap();
        drop(p);
        let p = open(&dir, StoreConfig { write_hook: Some(hook), ..test_config() });
        assert_eq!(commit_batch(&p, 4).unwrap(), 4);
        assert_eq!(dump(&p.load(4).unwrap()).unwrap(), model_at(SEED, 4), "failed at step {n}");
    }
}

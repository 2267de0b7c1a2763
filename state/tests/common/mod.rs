//! Helpers shared by the integration tests: scratch directories, a seeded generator, and
//! reading a whole store into a `BTreeMap` to compare with a model.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ember_state::{StateStore, StateStoreProvider, StoreConfig};

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

pub const FP: u64 = 0x5EED_F00D_0000_0001;

/// A fresh, empty directory under the target's temp dir, named after the test.
pub fn scratch(name: &str) -> PathBuf {
    let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember-state-tests");
    // Directories of earlier runs of this test (other process ids) are of no further use.
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.rsplit_once('-')
                .is_some_and(|(stem, pid)| stem == name && pid != std::process::id().to_string())
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let root = parent.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Configuration for small, deterministic tests: maintenance runs only when asked.
pub fn test_config() -> StoreConfig {
    StoreConfig {
        snapshot_interval: 3,
        min_versions_to_retain: 4,
        snapshot_block_size: 64,
        background_maintenance: false,
        write_hook: None,
    }
}

pub fn open(dir: &Path, config: StoreConfig) -> StateStoreProvider {
    StateStoreProvider::open(dir, FP, config).unwrap()
}

/// Every live entry of `store`, read by iteration, checked against point reads.
pub fn dump(store: &StateStore) -> Result<Model, ember_state::StateError> {
    let mut m = Model::new();
    for e in store.iter() {
        let (k, v) = e?;
        assert!(m.insert(k.to_vec(), v.to_vec()).is_none(), "iteration yielded {k:?} twice");
    }
    for (k, v) in &m {
        assert_eq!(store.get(k)?, Some(&v[..]), "get disagrees with iteration");
    }
    Ok(m)
}

/// splitmix64: small, seeded, good enough to pick test inputs reproducibly.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The updates that turn `version - 1` into `version` in the deterministic workload of the crash
/// and kill tests.
pub fn batch_updates(seed: u64, version: u64) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut rng = Rng::new(seed ^ version.wrapping_mul(0xA24B_AED4_963E_E407));
    let n = 1 + rng.below(12);
    (0..n)
        .map(|_| {
            let key = format!("key-{}", rng.below(64)).into_bytes();
            if rng.below(4) == 0 {
                (key, None)
            } else {
                let len = rng.below(20) as usize;
                let value = (0..len).map(|_| rng.below(256) as u8).collect();
                (key, Some(value))
            }
        })
        .collect()
}

/// Applies the updates of the batch that commits `version` to a store and to the model.
pub fn apply_batch(seed: u64, version: u64, store: &mut StateStore, model: &mut Model) {
    for (k, v) in batch_updates(seed, version) {
        match v {
            Some(v) => {
                store.put(&k, &v);
                model.insert(k, v);
            }
            None => {
                store.remove(&k);
                model.remove(&k);
            }
        }
    }
}

/// The model state of `version` of the deterministic workload.
pub fn model_at(seed: u64, version: u64) -> Model {
    let mut m = Model::new();
    for v in 1..=version {
        for (k, val) in batch_updates(seed, v) {
            match val {
                Some(val) => {
                    m.insert(k, val);
                }
                None => {
                    m.remove(&k);
                }
            }
        }
    }
    m
}

/// Copies every file of `from` into a new directory `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

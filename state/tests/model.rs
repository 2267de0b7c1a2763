//! Model test: random sequences of put, remove, commit, abort, reads of older versions, rewinds,
//! restarts and maintenance passes, checked against a `BTreeMap` per committed version.

mod common;

use common::*;
use ember_state::{StateStore, StateStoreProvider, StoreConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Remove(u8),
    Get(u8),
    Commit,
    Abort,
    /// Check a retained older version (index into the retained range).
    ReadOld(u8),
    /// Discard versions after a retained one and continue from it.
    Rewind(u8),
    /// Drop the provider and open the directory anew.
    Restart,
    Maintain,
}

fn key(k: u8) -> Vec<u8> {
    // Keys of several lengths, so snapshot padding and block boundaries vary.
    let mut v = vec![b'k'; 1 + (k as usize % 11)];
    v.push(k);
    v
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..40, prop::collection::vec(any::<u8>(), 0..24)).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0u8..40).prop_map(Op::Remove),
        3 => (0u8..40).prop_map(Op::Get),
        4 => Just(Op::Commit),
        1 => Just(Op::Abort),
        1 => any::<u8>().prop_map(Op::ReadOld),
        1 => any::<u8>().prop_map(Op::Rewind),
        1 => Just(Op::Restart),
        2 => Just(Op::Maintain),
    ]
}

struct Harness {
    dir: std::path::PathBuf,
    config: StoreConfig,
    provider: Option<StateStoreProvider>,
    store: Option<StateStore>,
    /// `history[v]` is the committed state of version `v`.
    history: Vec<Model>,
    pending: Model,
}

impl Harness {
    fn provider(&self) -> &StateStoreProvider {
        self.provider.as_ref().unwrap()
    }

    fn latest(&self) -> u64 {
        self.history.len() as u64 - 1
    }

    /// Versions maintenance promises to keep: the newest `min_versions_to_retain`, and 0.
    fn retained(&self, pick: u8) -> u64 {
        let keep = self.config.min_versions_to_retain.min(self.latest() + 1);
        let lowest = self.latest() + 1 - keep;
        if pick.is_multiple_of(5) { 0 } else { lowest + u64::from(pick) % keep }
    }

    fn reopen_store(&mut self, version: u64) {
        self.store = None;
        let store = self.provider().load(version).unwrap();
        let got = dump(&store).unwrap();
        assert_eq!(got, self.history[version as usize], "state of version {version}");
        self.pending = got;
        self.store = Some(store);
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Put(k, v) => {
                self.store.as_mut().unwrap().put(&key(k), &v);
                self.pending.insert(key(k), v);
            }
            Op::Remove(k) => {
                self.store.as_mut().unwrap().remove(&key(k));
                self.pending.remove(&key(k));
            }
            Op::Get(k) => {
                let got = self.store.as_ref().unwrap().get(&key(k)).unwrap().map(<[u8]>::to_vec);
                assert_eq!(got, self.pending.get(&key(k)).cloned());
            }
            Op::Commit => {
                let v = self.store.take().unwrap().commit().unwrap();
                assert_eq!(v, self.latest() + 1);
                self.history.push(self.pending.clone());
                self.reopen_store(v);
            }
            Op::Abort => {
                self.store.take().unwrap().abort();
                self.reopen_store(self.latest());
            }
            Op::ReadOld(pick) => {
                let v = self.retained(pick);
                let old = self.provider().load(v).unwrap();
                assert_eq!(dump(&old).unwrap(), self.history[v as usize], "version {v}");
            }
            Op::Rewind(pick) => {
                let v = self.retained(pick);
                self.store = None;
                self.provider().discard_after(v).unwrap();
                self.history.truncate(v as usize + 1);
                assert!(self.provider().latest_version().unwrap() <= v);
                self.reopen_store(v);
            }
            Op::Restart => {
                self.store = None;
                self.provider = None;
                self.provider =
                    Some(StateStoreProvider::open(&self.dir, FP, self.config.clone()).unwrap());
                self.reopen_store(self.latest());
            }
            Op::Maintain => {
                self.provider().do_maintenance().unwrap();
                // The open store still reads its own version after files were deleted.
                let got = dump(self.store.as_ref().unwrap()).unwrap();
                assert_eq!(got, self.pending);
            }
        }
    }
}

fn run(ops: Vec<Op>, interval: u64, keep: u64) {
    let dir = scratch("model");
    let config =
        StoreConfig { snapshot_interval: interval, min_versions_to_retain: keep, ..test_config() };
    let provider = StateStoreProvider::open(&dir, FP, config.clone()).unwrap();
    let store = provider.load(0).unwrap();
    let mut h = Harness {
        dir: dir.clone(),
        config,
        provider: Some(provider),
        store: Some(store),
        history: vec![Model::new()],
        pending: Model::new(),
    };
    for op in ops {
        h.step(op);
    }
    // Every retained version reloads from the files alone.
    h.store = None;
    h.provider = None;
    let p = StateStoreProvider::open(&dir, FP, h.config.clone()).unwrap();
    for pick in 0..=255u8 {
        let v = h.retained(pick);
        assert_eq!(dump(&p.load(v).unwrap()).unwrap(), h.history[v as usize], "version {v}");
    }
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(Config {
        cases: 200,
        rng_seed: RngSeed::Fixed(0x00E3_BE55_7A7E),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn store_matches_a_btreemap_model(
        ops in prop::collection::vec(op(), 1..80),
        interval in 1u64..5,
        keep in 1u64..6,
    ) {
        run(ops, interval, keep);
    }
}

//! Crash images of the checkpoint logs: a small engine loop writes the logs the way the
//! micro-batch engine does, a fault is injected at each write (or at random ones, repeatedly),
//! and the restarted loop must make the right recovery decision and deliver every record to an
//! idempotent sink exactly once. Also: two queries on one checkpoint, and the file-system store.

mod common;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Rng, scratch};
use ember_state::checkpoint::{
    Checkpoint, CheckpointError, CommitEntry, Fault, FsLogStore, LogStore, MemLogStore,
    NUM_PARTITIONS_KEY, NextBatch, OffsetEntry, PinnedConf, QueryId, RecoveryError, SourceOffset,
};
use ember_state::{WriteHook, WriteStep};

const TOTAL: u64 = 20;
const SEED: u64 = 0xC4EC_7E57;

fn query_id() -> QueryId {
    QueryId::parse("5e1f0000-0000-4000-8000-00000000c0de").unwrap()
}

fn conf(parts: u32) -> PinnedConf {
    PinnedConf::new(parts, "xxh3-64/seed=42", 1)
}

/// An external sink, idempotent by batch id: a replayed batch must carry the same records.
#[derive(Default, Debug)]
struct Sink(BTreeMap<u64, (u64, u64)>);

impl Sink {
    fn add_batch(&mut self, batch: u64, range: (u64, u64)) {
        if let Some(&prev) = self.0.get(&batch) {
            assert_eq!(prev, range, "batch {batch} replayed with other offsets");
        }
        self.0.insert(batch, range);
    }

    /// Every record 0..TOTAL exactly once, in batch order.
    fn assert_exactly_once(&self) {
        let mut next = 0;
        for (&b, &(s, e)) in &self.0 {
            assert_eq!(s, next, "batch {b} starts at {s}, expected {next}: {:?}", self.0);
            assert!(e > s, "empty batch {b}");
            next = e;
        }
        assert_eq!(next, TOTAL, "{:?}", self.0);
    }
}

fn line_of(entry: &OffsetEntry) -> u64 {
    entry.offsets[0].as_ref().unwrap().to_value()["line"].as_u64().unwrap()
}

/// One run of a query over a source of `TOTAL` numbered lines, taking up to `chunk` new lines
/// per batch (so a new batch's end depends on the run, and a re-run must use the logged one).
/// Returns the recovery it started from, or the first error.
fn run(
    ckpt: &Checkpoint,
    sink: &mut Sink,
    chunk: u64,
    parts: u32,
    keep: Option<u64>,
) -> Result<ember_state::checkpoint::Recovery, CheckpointError> {
    ckpt.query_id(Some(&query_id()))?;
    let recovery = ckpt.recover(&conf(parts), 1)?;
    let (mut batch, mut start, mut logged) = match &recovery.next {
        NextBatch::Fresh => (0, 0, None),
        NextBatch::Rerun { batch, start, end } => {
            (*batch, start.as_ref().map_or(0, line_of), Some(line_of(end)))
        }
        NextBatch::Next { batch, start } => (*batch, line_of(start), None),
    };
    loop {
        let end = match logged.take() {
            Some(end) => end,
            None => {
                let end = (start + chunk).min(TOTAL);
                if end == start {
                    return Ok(recovery);
                }
                let entry = OffsetEntry {
                    batch_watermark_ms: batch as i64 * 10,
                    batch_timestamp_ms: 1_700_000_000_000 + batch as i64,
                    conf: recovery.conf.clone(),
                    offsets: vec![Some(SourceOffset::from_value(&serde_json::json!({
                        "line": end
                    })))],
                };
                ckpt.offsets().add(batch, &entry)?;
                end
            }
        };
        sink.add_batch(batch, (start, end));
        ckpt.commits()
            .add(batch, &CommitEntry { next_batch_watermark_ms: batch as i64 * 10 + 5 })?;
        if let Some(k) = keep {
            ckpt.purge(k)?;
        }
        batch += 1;
        start = end;
    }
}

/// The writes of a failure-free run, by index, and the bytes of every file it created.
fn reference(keep: Option<u64>) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    type Log = std::sync::Mutex<(Vec<String>, BTreeMap<String, Vec<u8>>)>;
    struct Recorder(MemLogStore, Log);
    impl LogStore for Recorder {
        fn root(&self) -> &Path {
            self.0.root()
        }
        fn path(&self, name: &str) -> std::path::PathBuf {
            self.0.path(name)
        }
        fn list(&self, dir: &str) -> Result<std::collections::BTreeSet<u64>, CheckpointError> {
            self.0.list(dir)
        }
        fn read(&self, name: &str) -> Result<Option<Vec<u8>>, CheckpointError> {
            self.0.read(name)
        }
        fn create_new(&self, name: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
            let mut log = self.1.lock().unwrap();
            log.0.push(format!("create {name}"));
            log.1.insert(name.to_owned(), bytes.to_vec());
            self.0.create_new(name, bytes)
        }
        fn delete(&self, name: &str) -> Result<(), CheckpointError> {
            self.1.lock().unwrap().0.push(format!("delete {name}"));
            self.0.delete(name)
        }
    }
    let rec = Arc::new(Recorder(MemLogStore::new(), Default::default()));
    let mut sink = Sink::default();
    run(&Checkpoint::new(rec.clone()), &mut sink, 3, 4, keep).unwrap();
    sink.assert_exactly_once();
    let log = rec.1.lock().unwrap();
    (log.0.clone(), log.1.clone())
}

#[test]
fn a_crash_or_failure_at_every_write_recovers_to_the_right_batch() {
    for keep in [None, Some(1), Some(3)] {
        let (writes, created) = reference(keep);
        for (k, write) in writes.iter().enumerate() {
            for fault in [Fault::CrashBefore, Fault::CrashAfter, Fault::Fail] {
                let ctx = format!("keep {keep:?}, {fault:?} at write {k} ({write})");
                let mut sink = Sink::default();
                let store = run_with_fault(k, fault, keep, &mut sink);
                let image = Arc::new(store.crash_image());
                let ckpt = Checkpoint::new(image.clone());
                // The restart is configured with another partition count: the pinned 4 stays.
                let recovery = ckpt.recover(&conf(8), 1).unwrap();
                let took_effect = fault == Fault::CrashAfter;
                let (op, name) = write.split_once(' ').unwrap();
                let batch = |n: &str| n.rsplit('/').next().unwrap().parse::<u64>().unwrap();
                match (op, name.split('/').next().unwrap()) {
                    ("create", "metadata") => assert_eq!(recovery.next, NextBatch::Fresh, "{ctx}"),
                    ("create", "offsets") if took_effect => {
                        let b = batch(name);
                        let NextBatch::Rerun { batch: got, end, .. } = &recovery.next else {
                            panic!("{ctx}: {recovery:?}")
                        };
                        assert_eq!(*got, b, "{ctx}");
                        assert_eq!(end.encode(), created[name], "{ctx}: re-run offsets differ");
                        assert_eq!(recovery.watermark_ms, b as i64 * 10, "{ctx}");
                    }
                    ("create", "offsets") => match batch(name) {
                        0 => assert_eq!(recovery.next, NextBatch::Fresh, "{ctx}"),
                        b => assert!(
                            matches!(recovery.next, NextBatch::Next { batch, .. } if batch == b),
                            "{ctx}: {recovery:?}"
                        ),
                    },
                    ("create", "commits") => {
                        let b = batch(name);
                        let want = if took_effect { b + 1 } else { b };
                        assert_eq!(recovery.batch(), want, "{ctx}");
                        let rerun = matches!(recovery.next, NextBatch::Rerun { .. });
                        assert_eq!(rerun, !took_effect, "{ctx}");
                        if took_effect {
                            assert_eq!(recovery.watermark_ms, b as i64 * 10 + 5, "{ctx}");
                        }
                    }
                    ("delete", _) => {
                        assert!(matches!(recovery.next, NextBatch::Next { .. }), "{ctx}")
                    }
                    _ => unreachable!("{write}"),
                }
                if recovery.next != NextBatch::Fresh {
                    assert_eq!(recovery.conf.num_partitions(), 4, "{ctx}");
                    assert_eq!(recovery.notes.len(), 1, "{ctx}");
                    assert_eq!(recovery.notes[0].key, NUM_PARTITIONS_KEY, "{ctx}");
                }
                // Restart with another batch size: new batches differ, re-runs must not.
                run(&ckpt, &mut sink, 5, 8, keep).unwrap();
                sink.assert_exactly_once();
                assert!(matches!(
                    ckpt.recover(&conf(8), 1).unwrap().next,
                    NextBatch::Next { ref start, .. } if line_of(start) == TOTAL
                ));
            }
        }
    }
}

fn run_with_fault(k: usize, fault: Fault, keep: Option<u64>, sink: &mut Sink) -> Arc<MemLogStore> {
    let store = Arc::new(MemLogStore::new());
    store.inject(k, fault);
    let err = run(&Checkpoint::new(store.clone()), sink, 3, 4, keep).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err:?}");
    store
}

#[test]
fn repeated_random_crashes_deliver_everything_exactly_once() {
    let mut rng = Rng::new(SEED);
    for round in 0..200 {
        let mut files = MemLogStore::new();
        let mut sink = Sink::default();
        let keep = [None, Some(1), Some(2)][rng.below(3) as usize];
        let mut restarts = 0;
        loop {
            let store = Arc::new(files);
            let fault = [Fault::CrashBefore, Fault::CrashAfter, Fault::Fail][rng.below(3) as usize];
            store.inject(rng.below(12) as usize, fault);
            let chunk = 1 + rng.below(6);
            let parts = 1 + rng.below(8) as u32;
            match run(&Checkpoint::new(store.clone()), &mut sink, chunk, parts, keep) {
                Ok(_) => break,
                Err(CheckpointError::Io { .. }) => restarts += 1,
                Err(e) => panic!("round {round}: {e}"),
            }
            files = store.crash_image();
            assert!(restarts < 1000, "round {round} makes no progress");
        }
        sink.assert_exactly_once();
    }
}

#[test]
fn a_deleted_last_commit_replays_that_batch_with_the_same_offsets() {
    let store = Arc::new(MemLogStore::new());
    let mut sink = Sink::default();
    run(&Checkpoint::new(store.clone()), &mut sink, 3, 4, None).unwrap();
    let last = *store.list("commits").unwrap().last().unwrap();
    let before = store.files();
    store.remove_raw(&format!("commits/{last}"));
    let ckpt = Checkpoint::new(store.clone());
    let r = ckpt.recover(&conf(4), 1).unwrap();
    assert!(matches!(r.next, NextBatch::Rerun { batch, .. } if batch == last), "{r:?}");
    // Another chunk size: a new batch would read differently, the replay reads the logged range.
    run(&ckpt, &mut sink, 7, 4, None).unwrap();
    sink.assert_exactly_once();
    assert_eq!(store.files(), before);
}

#[test]
fn two_queries_on_one_checkpoint_are_refused() {
    let store: Arc<dyn LogStore> = Arc::new(MemLogStore::new());
    let a = Checkpoint::new(store.clone());
    let b = Checkpoint::new(store.clone());
    let id = a.query_id(None).unwrap();
    assert_eq!(b.query_id(None).unwrap(), id);
    let other = QueryId::parse("00000000-0000-4000-8000-000000000001").unwrap();
    match b.query_id(Some(&other)) {
        Err(e @ CheckpointError::OtherQuery { .. }) => {
            assert_eq!(e.path(), Path::new("mem:/checkpoint/metadata"));
            assert!(e.to_string().contains(id.as_str()), "{e}");
        }
        r => panic!("{r:?}"),
    }
    // Both decide to run batch 0; the second to log it is refused and changes nothing.
    assert_eq!(a.recover(&conf(2), 1).unwrap().batch(), 0);
    assert_eq!(b.recover(&conf(2), 1).unwrap().batch(), 0);
    let entry = |line: u64| OffsetEntry {
        batch_watermark_ms: 0,
        batch_timestamp_ms: 0,
        conf: conf(2),
        offsets: vec![Some(SourceOffset::from_json(&line.to_string()).unwrap())],
    };
    a.offsets().add(0, &entry(5)).unwrap();
    match b.offsets().add(0, &entry(9)) {
        Err(e @ CheckpointError::ConcurrentWriter { .. }) => {
            assert_eq!(e.path(), Path::new("mem:/checkpoint/offsets/0"));
            assert!(e.to_string().contains("another query"), "{e}");
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(a.offsets().get(0).unwrap(), Some(entry(5)));
}

#[test]
fn inconsistent_logs_are_refused_naming_the_checkpoint() {
    let store = Arc::new(MemLogStore::new());
    let mut sink = Sink::default();
    run(&Checkpoint::new(store.clone()), &mut sink, 4, 2, None).unwrap();
    store.remove_raw("offsets/2");
    match Checkpoint::new(store.clone()).recover(&conf(2), 1) {
        Err(e @ CheckpointError::Inconsistent { .. }) => {
            assert_eq!(e.path(), Path::new("mem:/checkpoint"));
            let msg = e.to_string();
            assert!(msg.contains("commits/2 exists but offsets/2 does not"), "{msg}");
        }
        r => panic!("{r:?}"),
    }
    let store = Arc::new(MemLogStore::new());
    run(&Checkpoint::new(store.clone()), &mut Sink::default(), 4, 2, None).unwrap();
    match Checkpoint::new(store).recover(&conf(2), 2) {
        Err(CheckpointError::Inconsistent {
            source: RecoveryError::SourceCountChanged { logged: 1, configured: 2, .. },
            ..
        }) => {}
        r => panic!("{r:?}"),
    }
}

/// Stops the write protocol after `step` of the `n`-th file published, as a crash would.
struct CrashAt {
    step: WriteStep,
    n: usize,
    seen: AtomicUsize,
}

impl WriteHook for CrashAt {
    fn after(&self, step: WriteStep, _: &Path, _: &Path) -> io::Result<()> {
        if step == self.step && self.seen.fetch_add(1, Ordering::SeqCst) == self.n {
            return Err(io::Error::other("crash (injected)"));
        }
        Ok(())
    }
}

#[test]
fn file_system_checkpoint() {
    let dir = scratch("checkpoint-fs");
    let ckpt = Checkpoint::open_dir(&dir).unwrap();
    let mut sink = Sink::default();
    run(&ckpt, &mut sink, 3, 4, Some(2)).unwrap();
    sink.assert_exactly_once();
    // 20 lines in batches of 3: batches 0..=6; two kept.
    let ids = |d: &str| ckpt.store().list(d).unwrap().into_iter().collect::<Vec<_>>();
    assert_eq!((ids("offsets"), ids("commits")), (vec![5, 6], vec![5, 6]));
    assert_eq!(
        std::fs::read(dir.join("commits/6")).unwrap(),
        b"v1\n{\"nextBatchWatermarkMs\":65}\n"
    );
    let meta = std::fs::read_to_string(dir.join("metadata")).unwrap();
    assert_eq!(meta, format!("v1\n{{\"id\":\"{}\"}}\n", query_id()));
    let offsets = std::fs::read_to_string(dir.join("offsets/6")).unwrap();
    assert!(offsets.starts_with("v1\n{\"batchWatermarkMs\":60,"), "{offsets}");
    assert!(offsets.ends_with("\"numSources\":1}\n{\"line\":20}\n"), "{offsets}");

    // A clash leaves the file as it was, and no temporary file behind.
    match ckpt.commits().add(6, &CommitEntry { next_batch_watermark_ms: 1 }) {
        Err(e @ CheckpointError::ConcurrentWriter { .. }) => {
            assert_eq!(e.path(), dir.join("commits/6"))
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(ckpt.commits().get(6).unwrap().unwrap().next_batch_watermark_ms, 65);
    let names = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("commits"), ["5", "6"]);

    // A dead writer's temporary file is ignored by listings and swept on open.
    let temp = dir.join("offsets/.7.4194305.0.tmp");
    std::fs::write(&temp, b"v1\n").unwrap();
    assert_eq!(ids("offsets"), vec![5, 6]);
    let reopened = Checkpoint::open_dir(&dir).unwrap();
    assert!(!temp.exists());
    let r = reopened.recover(&conf(4), 1).unwrap();
    assert!(matches!(r.next, NextBatch::Next { batch: 7, ref start } if line_of(start) == 20));

    // Another query's checkpoint.
    let other = QueryId::parse("00000000-0000-4000-8000-000000000002").unwrap();
    match reopened.query_id(Some(&other)) {
        Err(e @ CheckpointError::OtherQuery { .. }) => assert_eq!(e.path(), dir.join("metadata")),
        r => panic!("{r:?}"),
    }

    // A log of a newer format is refused, naming the file and both versions.
    std::fs::write(dir.join("offsets/7"), b"v2\n{}\n").unwrap();
    let e = Checkpoint::open_dir(&dir).unwrap().recover(&conf(4), 1).unwrap_err();
    assert_eq!(e.path(), dir.join("offsets/7"));
    let msg = e.to_string();
    assert!(msg.contains("v2") && msg.contains("v1"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_system_crash_images() {
    // Crash after each step of publishing the commit of batch 1 (the second commit).
    let cases = [
        (WriteStep::TempWritten, 1),
        (WriteStep::TempSynced, 1),
        (WriteStep::Renamed, 2),
        (WriteStep::DirSynced, 2),
    ];
    for (i, (step, next)) in cases.into_iter().enumerate() {
        let dir = scratch(&format!("checkpoint-fs-crash-{i}"));
        // Files published: metadata, offsets/0, commits/0, offsets/1, commits/1.
        let hook = Arc::new(CrashAt { step, n: 4, seen: AtomicUsize::new(0) });
        let store = FsLogStore::open(&dir).unwrap().with_hook(hook);
        let mut sink = Sink::default();
        let err = run(&Checkpoint::new(Arc::new(store)), &mut sink, 3, 4, None).unwrap_err();
        assert!(matches!(err, CheckpointError::Io { .. }), "{step:?}: {err:?}");
        let ckpt = Checkpoint::open_dir(&dir).unwrap();
        let r = ckpt.recover(&conf(4), 1).unwrap();
        assert_eq!(r.batch(), next, "{step:?}: {r:?}");
        assert_eq!(matches!(r.next, NextBatch::Rerun { .. }), next == 1, "{step:?}");
        run(&ckpt, &mut sink, 4, 4, Some(1)).unwrap();
        sink.assert_exactly_once();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

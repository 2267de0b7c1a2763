//! State store benchmark: put/get/commit throughput, loading a large version from a snapshot
//! plus deltas against rebuilding it from every delta, the memory that load leaves resident, and
//! the latency of a durable commit next to the disk's own fsync cost.
//!
//! Run: `cargo bench -p ember-state --bench state_store` (add `-- --keys 1000000` for a quick
//! run; `--dir PATH` picks the scratch directory, which should be on the disk under test;
//! `--only fsync|commit|throughput|load` runs one part).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ember_state::{StateStoreProvider, StoreConfig};

const FP: u64 = 0xBE7C_0000_0000_0001;
const CHILD_VAR: &str = "EMBER_STATE_BENCH_LOAD";
const DELTA_KEYS: usize = 10_000;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    k[8..].copy_from_slice(&i.to_le_bytes());
    k
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn config(background: bool) -> StoreConfig {
    StoreConfig {
        snapshot_interval: 10,
        min_versions_to_retain: 100,
        background_maintenance: background,
        ..StoreConfig::default()
    }
}

/// `VmHWM` and `VmRSS` of this process, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn fresh_dir(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bare_fsync(root: &Path) {
    let dir = fresh_dir(root, "fsync");
    let payload = vec![0xA5u8; DELTA_KEYS * 36 + 72];
    let (mut file_only, mut with_dir) = (Vec::new(), Vec::new());
    for i in 0..101 {
        let p = dir.join(format!("f{i}"));
        let mut f = File::create(&p).unwrap();
        f.write_all(&payload).unwrap();
        let t = Instant::now();
        f.sync_data().unwrap();
        let t1 = t.elapsed();
        File::open(&dir).unwrap().sync_all().unwrap();
        file_only.push(t1);
        with_dir.push(t.elapsed());
    }
    println!(
        "disk: fdatasync of a new {} KiB file: median {:.3} ms; plus directory fsync: {:.3} ms",
        payload.len() / 1024,
        ms(median(file_only)),
        ms(median(with_dir))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn throughput(root: &Path) {
    let dir = fresh_dir(root, "throughput");
    let p = StateStoreProvider::open(&dir, FP, config(false)).unwrap();
    let n = 1_000_000u64;
    let keys: Vec<[u8; 16]> = (0..n).map(key).collect();
    let value = 7u64.to_le_bytes();
    let (mut put, mut batch, mut get_own, mut get_committed, mut get_snapshot) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        let mut s = p.load(0).unwrap();
        let t = Instant::now();
        for k in &keys {
            s.put(k, &value);
        }
        put.push(t.elapsed());
        let t = Instant::now();
        let mut hits = 0;
        for k in &keys {
            hits += s.get(k).unwrap().is_some() as usize;
        }
        get_own.push(t.elapsed());
        assert_eq!(hits, keys.len());
        s.abort();
        let mut s = p.load(0).unwrap();
        let t = Instant::now();
        s.put_batch(keys.iter().map(|k| (&k[..], &value[..])));
        batch.push(t.elapsed());
        s.abort();
    }
    let mut s = p.load(0).unwrap();
    s.put_batch(keys.iter().map(|k| (&k[..], &value[..])));
    s.commit().unwrap();
    for _ in 0..9 {
        let v = p.latest_version().unwrap();
        p.load(v).unwrap().commit().unwrap();
    }
    let s = p.load(10).unwrap();
    for _ in 0..5 {
        let t = Instant::now();
        for k in &keys {
            assert!(s.get(k).unwrap().is_some());
        }
        get_committed.push(t.elapsed());
    }
    drop(s);
    assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(10));
    let p = StateStoreProvider::open(&dir, FP, config(false)).unwrap();
    let s = p.load(10).unwrap();
    for _ in 0..5 {
        let t = Instant::now();
        for k in &keys {
            assert!(s.get(k).unwrap().is_some());
        }
        get_snapshot.push(t.elapsed());
    }
    // A batch-sized update set: 10k keys into a fresh store, as one partition's batch.
    let (mut small_put, mut small_batch) = (vec![], vec![]);
    for round in 0..51 {
        let chunk = &keys[round * DELTA_KEYS..(round + 1) * DELTA_KEYS];
        let mut s = p.load(10).unwrap();
        let t = Instant::now();
        for k in chunk {
            s.put(k, &value);
        }
        small_put.push(t.elapsed());
        s.abort();
        let mut s = p.load(10).unwrap();
        let t = Instant::now();
        s.put_batch(chunk.iter().map(|k| (&k[..], &value[..])));
        small_batch.push(t.elapsed());
        s.abort();
    }
    let per = |d: Vec<Duration>| median(d).as_secs_f64() * 1e9 / n as f64;
    let per_small = |d: Vec<Duration>| median(d).as_secs_f64() * 1e9 / DELTA_KEYS as f64;
    println!("throughput, 16-byte keys and 8-byte values (medians):");
    let rows = [
        (format!("put, {n} keys into one store, one call per key"), per(put)),
        (format!("put_batch, {n} keys into one store"), per(batch)),
        (format!("put, {DELTA_KEYS} keys per store, one call per key"), per_small(small_put)),
        (format!("put_batch, {DELTA_KEYS} keys per store"), per_small(small_batch)),
        ("get, the store's own updates".to_string(), per(get_own)),
        ("get, committed version in memory".to_string(), per(get_committed)),
        ("get, memory-mapped snapshot (warm)".to_string(), per(get_snapshot)),
    ];
    for (what, ns) in rows {
        println!("  {what:<52} {ns:8.1} ns/key");
    }
    drop(s);
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn commit_latency(root: &Path) {
    let dir = fresh_dir(root, "commit");
    let p = StateStoreProvider::open(&dir, FP, config(false)).unwrap();
    let mut rng = Rng(42);
    let value = 1u64.to_le_bytes();
    let mut times = Vec::new();
    for v in 0..201u64 {
        let mut s = p.load(v).unwrap();
        for _ in 0..DELTA_KEYS {
            s.put(&key(rng.below(1_000_000)), &value);
        }
        let t = Instant::now();
        s.commit().unwrap();
        times.push(t.elapsed());
    }
    let mut sorted = times.clone();
    sorted.sort();
    println!(
        "commit of a {DELTA_KEYS}-key delta incl. both fsyncs (201 commits): median {:.3} ms, \
         p90 {:.3} ms  (goal <= 2 ms)",
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() * 9 / 10])
    );
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Child process: load `version` of `dir`, report time and memory, then read keys.
fn load_child(spec: &str) {
    let mut parts = spec.splitn(3, ':');
    let (version, keys, dir) = (
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().unwrap(),
    );
    let p = StateStoreProvider::open(dir, FP, config(false)).unwrap();
    let t = Instant::now();
    let s = p.load(version).unwrap();
    let took = t.elapsed();
    let (hwm, now) = rss();
    let mut rng = Rng(7);
    let mut sum = 0u64;
    let t = Instant::now();
    let gets = 100_000;
    for _ in 0..gets {
        if let Some(v) = s.get(&key(rng.below(keys))).unwrap() {
            sum = sum.wrapping_mul(31).wrapping_add(u64::from_le_bytes(v.try_into().unwrap()));
        }
    }
    let get_ns = t.elapsed().as_secs_f64() * 1e9 / gets as f64;
    let (_, after_gets) = rss();
    println!("{} {hwm} {now} {get_ns} {after_gets} {sum}", took.as_nanos());
}

struct ChildLoad {
    took: Duration,
    hwm: u64,
    rss: u64,
    get_ns: f64,
    rss_after_gets: u64,
    checksum: u64,
}

fn run_child(dir: &Path, version: u64, keys: u64) -> ChildLoad {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_VAR, format!("{version}:{keys}:{}", dir.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = text.split_whitespace().collect();
    ChildLoad {
        took: Duration::from_nanos(f[0].parse().unwrap()),
        hwm: f[1].parse().unwrap(),
        rss: f[2].parse().unwrap(),
        get_ns: f[3].parse().unwrap(),
        rss_after_gets: f[4].parse().unwrap(),
        checksum: f[5].parse().unwrap(),
    }
}

fn load_comparison(root: &Path, total_keys: u64) {
    let dir = fresh_dir(root, "load-snapshot");
    let replay = fresh_dir(root, "load-replay");
    let build = Instant::now();
    {
        let p = StateStoreProvider::open(&dir, FP, config(false)).unwrap();
        let per = total_keys / 10;
        for v in 0..10 {
            let mut s = p.load(v).unwrap();
            let (from, to) = (v * per, if v == 9 { total_keys } else { (v + 1) * per });
            let keys: Vec<[u8; 16]> = (from..to).map(key).collect();
            let value = v.to_le_bytes();
            s.put_batch(keys.iter().map(|k| (&k[..], &value[..])));
            s.commit().unwrap();
        }
        assert_eq!(p.do_maintenance().unwrap().snapshot_written, Some(10));
        let mut rng = Rng(99);
        for v in 10..20u64 {
            let mut s = p.load(v).unwrap();
            for _ in 0..DELTA_KEYS {
                s.put(&key(rng.below(total_keys)), &(v + 1000).to_le_bytes());
            }
            s.remove(&key(rng.below(total_keys)));
            s.commit().unwrap();
        }
    }
    for v in 1..=20 {
        let name = format!("{v}.delta");
        std::fs::hard_link(dir.join(&name), replay.join(&name)).unwrap();
    }
    let state_bytes = total_keys * 24;
    println!(
        "load: {total_keys} keys ({} MiB of keys and values), snapshot at version 10 plus 10 \
         deltas of {DELTA_KEYS} keys (built in {:.1} s)",
        state_bytes >> 20,
        build.elapsed().as_secs_f64()
    );
    let fast: Vec<ChildLoad> = (0..5).map(|_| run_child(&dir, 20, total_keys)).collect();
    let slow: Vec<ChildLoad> = (0..3).map(|_| run_child(&replay, 20, total_keys)).collect();
    assert!(fast.iter().chain(&slow).all(|c| c.checksum == fast[0].checksum), "states differ");
    let fast_t = median(fast.iter().map(|c| c.took).collect());
    let slow_t = median(slow.iter().map(|c| c.took).collect());
    println!("  snapshot + 10 deltas: median {:.2} ms (5 fresh processes)", ms(fast_t));
    println!("  every delta from version 0: median {:.1} ms (3 fresh processes)", ms(slow_t));
    println!(
        "  load ratio: {:.0}x faster  (goal >= 10x)",
        slow_t.as_secs_f64() / fast_t.as_secs_f64()
    );
    let hwm = fast.iter().map(|c| c.hwm).max().unwrap();
    let now = fast.iter().map(|c| c.rss).max().unwrap();
    println!(
        "  peak RSS right after the snapshot load: VmHWM {:.1} MiB, VmRSS {:.1} MiB = {:.1}% of \
         the state's {} MiB  (goal < 25%)",
        hwm as f64 / 1048576.0,
        now as f64 / 1048576.0,
        100.0 * hwm as f64 / state_bytes as f64,
        state_bytes >> 20
    );
    println!(
        "  replay load for comparison: VmHWM {:.1} MiB",
        slow.iter().map(|c| c.hwm).max().unwrap() as f64 / 1048576.0
    );
    println!(
        "  then 100k random gets: {:.0} ns/get on the snapshot (first touches verify blocks), \
         {:.0} ns/get on the replayed map; VmRSS after them {:.1} MiB",
        fast[0].get_ns,
        slow[0].get_ns,
        fast[0].rss_after_gets as f64 / 1048576.0
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&replay).unwrap();
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        load_child(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let arg =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let keys: u64 = arg("--keys").map_or(10_000_000, |k| k.parse().expect("--keys N"));
    let root = arg("--dir").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember-state-bench"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&root).unwrap();
    println!("ember-state benchmark, scratch directory {}", root.display());
    let only = arg("--only");
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if run("fsync") {
        bare_fsync(&root);
    }
    if run("commit") {
        commit_latency(&root);
    }
    if run("throughput") {
        throughput(&root);
    }
    if run("load") {
        load_comparison(&root, keys);
    }
}

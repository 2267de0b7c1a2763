//! Process test: a child process commits versions in a loop, with background maintenance on,
//! and is killed with SIGKILL at random moments. After each kill the last version the child
//! reported committed must load, equal to the model, and the next child continues from it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ember_state::{StateStoreProvider, StoreConfig};

const SEED: u64 = 0x5167_4B11;
const ROUNDS: u64 = 60;
const DIR_VAR: &str = "EMBER_STATE_KILL_TEST_DIR";
const FROM_VAR: &str = "EMBER_STATE_KILL_TEST_FROM";

fn child_config() -> StoreConfig {
    StoreConfig {
        snapshot_interval: 4,
        min_versions_to_retain: 6,
        snapshot_block_size: 256,
        background_maintenance: true,
        write_hook: None,
    }
}

/// The child's body. As a test of its own it does nothing; the parent runs it in a child
/// process with the directory in the environment.
#[test]
fn child_commit_loop() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let from: u64 = std::env::var(FROM_VAR).unwrap().parse().unwrap();
    let mut out = std::io::stdout().lock();
    let result = (|| -> Result<(), ember_state::StateError> {
        let p = StateStoreProvider::open(&dir, FP, child_config())?;
        // Recovery as an engine does it: versions past the last recorded commit are discarded.
        p.discard_after(from)?;
        let mut version = from;
        loop {
            let mut s = p.load(version)?;
            let mut model = Model::new();
            apply_batch(SEED, version + 1, &mut s, &mut model);
            version = s.commit()?;
            writeln!(out, "committed {version}").unwrap();
            out.flush().unwrap();
        }
    })();
    if let Err(e) = result {
        writeln!(out, "failed: {e}").unwrap();
        out.flush().unwrap();
        std::process::exit(3);
    }
}

#[test]
fn sigkilled_writer_recovers_its_last_reported_version() {
    let dir = scratch("sigkill").join("state/0/0");
    let mut rng = Rng::new(SEED);
    let mut reported = 0u64;
    let mut rounds_that_waited = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_commit_loop", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, &dir)
            .env(FROM_VAR, reported.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness prints its own "test ... " prefix on the first line.
                for tag in ["committed ", "failed: "] {
                    if let Some(at) = line.find(tag) {
                        let _ = tx.send(line[at..].to_string());
                        break;
                    }
                }
            }
        });
        let mut lines = Vec::new();
        // Half the rounds let the child commit at least once before the kill, so the test
        // always makes progress; the others may kill it while it starts or recovers.
        if round % 2 == 0 {
            lines.push(rx.recv().expect("child exited without committing"));
            rounds_that_waited += 1;
        }
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        if let Some(failed) = lines.iter().find(|l| l.starts_with("failed: ")) {
            panic!("round {round}: child {failed}");
        }
        if let Some(last) = lines.last() {
            let n: u64 = last["committed ".len()..].parse().unwrap();
            assert!(n > reported, "round {round}: versions went backwards");
            reported = n;
        }
        let p = StateStoreProvider::open(
            &dir,
            FP,
            StoreConfig { background_maintenance: false, ..child_config() },
        )
        .unwrap();
        let got = dump(&p.load(reported).unwrap()).unwrap();
        assert_eq!(got, model_at(SEED, reported), "round {round}: version {reported}");
        // The commit after the last report may have reached the disk before the kill.
        let latest = p.latest_version().unwrap();
        assert!(
            latest == reported || latest == reported + 1,
            "round {round}: latest {latest}, reported {reported}, lines {lines:?}, files {:?}",
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>()
        );
        let got = dump(&p.load(latest).unwrap()).unwrap();
        assert_eq!(got, model_at(SEED, latest), "round {round}: version {latest}");
    }
    eprintln!("{ROUNDS} kills, last reported version {reported}");
    assert!(reported >= rounds_that_waited, "{reported} versions in {ROUNDS} rounds");
}

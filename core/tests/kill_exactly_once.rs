//! Exactly-once under SIGKILL: a file-source word count writing to the file sink is killed at
//! random moments (at least 50 times, so inside offset logging, sink writes, state commits and
//! commit logging), restarted each time from its checkpoint, sometimes with another thread
//! count. Every batch's committed output must equal that of a run that never failed. It runs
//! in Update mode (the batch's changed keys) and in Complete mode (every key, which the
//! aggregation keeps in memory between batches and must rebuild from the store after a kill).
//!
//! The test binary is its own child: `child_process_entry` runs the query when
//! `EMBER_KILL_CHILD` is set, and does nothing otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ember::{OutputMode, Session, Str, Trigger};

const WORDS: [&str; 12] = [
    "ember", "spark", "flink", "arrow", "row", "state", "batch", "sink", "log", "kill", "crash",
    "again",
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ember-kill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes input file `n`: 300 lines of words chosen by a fixed hash of (n, line, word).
fn write_input(dir: &Path, n: usize) {
    let mut text = String::new();
    for line in 0..300u64 {
        let mut words = Vec::new();
        for w in 0..6u64 {
            let h = (n as u64 * 1_000_003 + line * 7919 + w * 104_729)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            words.push(WORDS[(h >> 59) as usize % WORDS.len()]);
        }
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    let tmp = dir.join(format!(".in-{n:04}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(format!("in-{n:04}.txt"))).unwrap();
}

/// The query under test; returns when every input file is processed.
fn run_query(
    input: &Path,
    output: &Path,
    checkpoint: &Path,
    threads: usize,
    mode: OutputMode,
) -> ember::Result<()> {
    let session = Session::builder().master(format!("local[{threads}]")).get_or_create()?;
    let counts = session
        .read_stream()
        .format("text")
        .option("path", input.display())
        .option("maxFilesPerTrigger", 1)
        .load()?
        .as_::<Str>()?
        .flat_map(|line: Str| line.split(' ').map(Str::from).collect::<Vec<_>>())
        .map(|w| (w, 1i64))
        .group_by_key(|p: &(Str, i64)| p.0.clone())
        .count();
    let writer = counts
        .write_stream()
        .output_mode(mode)
        .option("checkpointLocation", checkpoint.display())
        .trigger(Trigger::AvailableNow);
    let writer = if mode == OutputMode::Complete {
        // The file sink appends, so it refuses Complete mode; a batch-id-keyed file replaced
        // atomically is the idempotent sink Spark's foreachBatch documents for it.
        let output = output.to_path_buf();
        writer.foreach_batch(move |batch, batches| {
            write_complete_batch(&output, batch, batches);
            Ok(())
        })
    } else {
        writer.format("json").option("path", output.display())
    };
    writer.start()?.await_termination()
}

/// Writes Complete mode's batch `batch` as `complete-<batch>.txt`, one `word count` a line.
fn write_complete_batch(output: &Path, batch: u64, batches: &[ember::RecordBatch]) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let mut text = String::new();
    for b in batches {
        let (words, counts) =
            (b.column(0).as_string::<i32>(), b.column(1).as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            text.push_str(&format!("{} {}\n", words.value(i), counts.value(i)));
        }
    }
    let tmp = output.join(format!(".complete-{batch}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, output.join(format!("complete-{batch}.txt"))).unwrap();
}

#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var("EMBER_KILL_CHILD") else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let threads: usize = parts[3].parse().unwrap();
    let mode = if parts[4] == "complete" { OutputMode::Complete } else { OutputMode::Update };
    if let Err(e) =
        run_query(Path::new(parts[0]), Path::new(parts[1]), Path::new(parts[2]), threads, mode)
    {
        eprintln!("child failed: {e}");
        std::process::exit(3);
    }
}

fn child(
    input: &Path,
    output: &Path,
    checkpoint: &Path,
    threads: usize,
    mode: OutputMode,
) -> std::process::Child {
    let mode = if mode == OutputMode::Complete { "complete" } else { "update" };
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
        .env(
            "EMBER_KILL_CHILD",
            format!(
                "{}|{}|{}|{threads}|{mode}",
                input.display(),
                output.display(),
                checkpoint.display()
            ),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every committed batch's rows, sorted, by batch id.
fn committed_output(output: &Path) -> BTreeMap<u64, Vec<(String, i64)>> {
    let mut batches = BTreeMap::new();
    let complete: Vec<_> = std::fs::read_dir(output)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| {
            let id = name.strip_prefix("complete-")?.strip_suffix(".txt")?.parse().ok()?;
            Some((id, name))
        })
        .collect();
    if !complete.is_empty() {
        for (batch, name) in complete {
            let text = std::fs::read_to_string(output.join(name)).unwrap();
            let mut rows: Vec<(String, i64)> = text
                .lines()
                .map(|l| {
                    let (word, count) = l.split_once(' ').unwrap();
                    (word.to_owned(), count.parse().unwrap())
                })
                .collect();
            rows.sort();
            batches.insert(batch, rows);
        }
        return batches;
    }
    for (batch, files) in ember::sink::read_committed_batches(output).unwrap() {
        let mut rows = Vec::new();
        for file in files {
            for line in std::fs::read_to_string(&file).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                rows.push((v["key"].as_str().unwrap().to_owned(), v["count(1)"].as_i64().unwrap()));
            }
        }
        rows.sort();
        batches.insert(batch, rows);
    }
    batches
}

#[test]
fn sigkill_at_random_moments_gives_the_failure_free_output() {
    kill_loop("update", OutputMode::Update, 60);
}

#[test]
fn sigkill_in_complete_mode_gives_the_failure_free_output() {
    kill_loop("complete", OutputMode::Complete, 30);
}

/// Kills the query `min_kills` times at random moments, then compares every committed batch
/// with a failure-free run's.
fn kill_loop(name: &str, mode: OutputMode, min_kills: usize) {
    let input = scratch(&format!("{name}-input"));
    let output = scratch(&format!("{name}-output"));
    let checkpoint = scratch(&format!("{name}-checkpoint"));
    let mut files = 0;
    for _ in 0..20 {
        write_input(&input, files);
        files += 1;
    }
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut kills = 0;
    let started = Instant::now();
    while kills < min_kills {
        assert!(started.elapsed() < Duration::from_secs(600), "kill loop took too long");
        let threads = 1 + (next() % 3) as usize;
        let mut proc = child(&input, &output, &checkpoint, threads, mode);
        std::thread::sleep(Duration::from_micros(2_000 + next() % 40_000));
        match proc.try_wait().unwrap() {
            Some(status) => {
                let mut err = String::new();
                std::io::Read::read_to_string(proc.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert!(status.success(), "child failed before the kill: {err}");
                // It finished everything: give the stream more input.
                for _ in 0..3 {
                    write_input(&input, files);
                    files += 1;
                }
            }
            None => {
                proc.kill().unwrap(); // SIGKILL
                proc.wait().unwrap();
                kills += 1;
            }
        }
    }
    let last = child(&input, &output, &checkpoint, 2, mode).wait_with_output().unwrap();
    assert!(last.status.success(), "final run: {}", String::from_utf8_lossy(&last.stderr));

    let clean_output = scratch(&format!("{name}-clean-output"));
    let clean_checkpoint = scratch(&format!("{name}-clean-checkpoint"));
    run_query(&input, &clean_output, &clean_checkpoint, 2, mode).unwrap();

    let got = committed_output(&output);
    let want = committed_output(&clean_output);
    assert_eq!(want.len(), files, "one batch per input file");
    assert_eq!(got.len(), want.len(), "batches committed after {kills} kills");
    for (batch, rows) in &want {
        assert_eq!(got.get(batch), Some(rows), "batch {batch} differs after {kills} kills");
    }
    for dir in [input, output, checkpoint, clean_output, clean_checkpoint] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! The word-count benchmark: the seed's typed program (`flat_map`, `map`, `group_by_key`,
//! `count`) over a directory of text files, one file per batch, complete mode, noop sink,
//! checkpointing every batch. Prints one JSON object of its figures.
//!
//! `cargo run --release -p ember-benches --bin wordcount -- --data DIR [--generate]`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use ember::{OutputMode, Session, Str, Trigger};
use ember_benches::wordcount_data::WordData;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the word-count benchmark.
#[derive(Debug, Parser)]
#[command(name = "wordcount")]
struct Args {
    /// Directory of the input text files.
    #[arg(long)]
    data: PathBuf,
    /// Write the data set into DATA first if it holds no files.
    #[arg(long)]
    generate: bool,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Checkpoint directory (default: a fresh temporary one, deleted afterwards).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Print every batch's progress (JSON) to stderr.
    #[arg(long)]
    verbose: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let data = WordData::default();
    let empty = !args.data.is_dir()
        || std::fs::read_dir(&args.data)?
            .filter_map(|e| e.ok())
            .all(|e| e.file_name().to_string_lossy().starts_with('.'));
    if empty {
        if !args.generate {
            bail!(
                "{} holds no input files: pass --generate to write the data set",
                args.data.display()
            );
        }
        eprintln!("writing the data set into {}", args.data.display());
        data.write(&args.data).context("writing the data set")?;
    }
    let words = count_words(&args.data)?;

    let master = args.threads.map_or_else(|| "local[*]".to_owned(), |n| format!("local[{n}]"));
    let session = Session::builder().master(master).app_name("wordcount").get_or_create()?;
    let (checkpoint, temporary) = match &args.checkpoint {
        Some(dir) => (dir.clone(), false),
        None => {
            (std::env::temp_dir().join(format!("ember-wordcount-{}", std::process::id())), true)
        }
    };
    if checkpoint.exists() {
        std::fs::remove_dir_all(&checkpoint).context("clearing the checkpoint")?;
    }

    let lines = session
        .read_stream()
        .format("text")
        .option("path", args.data.display())
        .option("maxFilesPerTrigger", 1)
        .load()?
        .as_::<Str>()?;
    let counts = lines
        .flat_map(|line: Str| ember::split(line, ' '))
        .map(|word| (word, 1i64))
        .group_by_key(|pair: &(Str, i64)| pair.0.clone())
        .count();

    let started = Instant::now();
    let query = counts
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("noop")
        .option("checkpointLocation", checkpoint.display())
        .trigger(Trigger::AvailableNow)
        .start()?;
    let mut first_batch = None;
    while first_batch.is_none() {
        if !query.recent_progress().is_empty() {
            first_batch = Some(started.elapsed());
        } else if !query.is_active() {
            break;
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    query.await_termination()?;
    let elapsed = started.elapsed();

    let progress = query.recent_progress();
    if args.verbose {
        for p in &progress {
            eprintln!("{}", serde_json::to_string(&p.duration_ms)?);
        }
    }
    let rows: u64 = progress.iter().map(|p| p.num_input_rows).sum();
    let batch_ms: Vec<f64> = progress.iter().map(|p| p.duration_ms.trigger_execution).collect();
    let fixed_ms: Vec<f64> = progress
        .iter()
        .map(|p| {
            let d = &p.duration_ms;
            d.latest_offset + d.wal_commit + d.commit_offsets + d.query_planning
        })
        .collect();
    let (files, state_files) = count_files(&checkpoint)?;
    let partitions = session.shuffle_partitions() as f64;
    let result = serde_json::json!({
        "words": words,
        "lines": rows,
        "words_per_sec": words as f64 / elapsed.as_secs_f64(),
        "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
        "batches": progress.len(),
        "threads": session.threads(),
        "state_partitions": session.shuffle_partitions(),
        "median_batch_ms": median(batch_ms),
        "median_fixed_overhead_ms": median(fixed_ms),
        "first_batch_ms": first_batch.unwrap_or(elapsed).as_secs_f64() * 1000.0,
        "peak_rss_mib": peak_rss_mib(),
        "checkpoint_files_written": files,
        "state_files_per_partition_per_batch":
            state_files as f64 / (partitions * progress.len().max(1) as f64),
    });
    println!("{result}");
    if temporary {
        let _ = std::fs::remove_dir_all(&checkpoint);
    }
    Ok(())
}

/// Words in the input, counted directly, so the rate does not trust the engine's own count.
fn count_words(dir: &Path) -> Result<u64> {
    let mut words = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(['.', '_']) {
            continue;
        }
        let text = std::fs::read(entry.path())?;
        words += text
            .split(|b| *b == b'\n')
            .map(|l| l.split(|b| *b == b' ').filter(|w| !w.is_empty()).count() as u64)
            .sum::<u64>();
    }
    Ok(words)
}

/// Files under the checkpoint, and those under its `state/` directory.
fn count_files(dir: &Path) -> Result<(u64, u64)> {
    fn walk(dir: &Path, in_state: bool, counts: &mut (u64, u64)) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let state = in_state || entry.file_name() == "state";
            if entry.file_type()?.is_dir() {
                walk(&path, state, counts)?;
            } else if !entry.file_name().to_string_lossy().starts_with('.') {
                counts.0 += 1;
                if state {
                    counts.1 += 1;
                }
            }
        }
        Ok(())
    }
    let mut counts = (0, 0);
    walk(dir, false, &mut counts).with_context(|| dir.display().to_string())?;
    Ok(counts)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

//! The seed program: a running word count over a socket, or over Ember's built-in line
//! generator when no socket is given, printed as console batches.
//!
//! ```text
//! cargo run --release -p ember-examples --example structured_wordcount                # built-in input, 10 batches
//! cargo run --release -p ember-examples --example structured_wordcount -- --socket 127.0.0.1:9999
//! ```
//!
//! With `--socket`, type lines into `nc -lk 9999` (start it first); the query runs until
//! interrupted, or for `--batches N` batches.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ember::{OutputMode, Session, Str, Trigger, split};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    socket: Option<(String, u16)>,
    batches: Option<usize>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { socket: None, batches: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--socket" => {
                let addr = it.next().context("--socket needs HOST:PORT")?;
                let (host, port) = addr.rsplit_once(':').context("--socket needs HOST:PORT")?;
                let port = port.parse().with_context(|| format!("bad port in {addr}"))?;
                args.socket = Some((host.to_owned(), port));
            }
            "--batches" => {
                let n = it.next().context("--batches needs a number")?;
                args.batches = Some(n.parse().with_context(|| format!("bad --batches {n}"))?);
            }
            "-h" | "--help" => {
                println!("usage: structured_wordcount [--socket HOST:PORT] [--batches N]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; usage: [--socket HOST:PORT] [--batches N]"),
        }
    }
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let session =
        Session::builder().master("local[*]").app_name("StructuredWordCount").get_or_create()?;

    let reader = session.read_stream();
    let (source, batches, trigger) = match &args.socket {
        Some((host, port)) => (
            reader.format("socket").option("host", host).option("port", port),
            args.batches,
            Trigger::AsFastAsPossible,
        ),
        None => (
            reader.format("generator").option("linesPerSecond", 2000).option("wordsPerLine", 8),
            Some(args.batches.unwrap_or(10)),
            Trigger::ProcessingTime(Duration::from_secs(1)),
        ),
    };
    let lines = source.load()?.as_::<Str>()?;
    let words = lines
        .flat_map(|line: Str| split(line, ' '))
        .map(|word| (word, 1))
        .group_by_key(|pair: &(Str, i32)| pair.0.clone())
        .count();

    let query = words
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("console")
        .trigger(trigger)
        .start()?;
    match batches {
        None => query.await_termination()?,
        Some(n) => {
            while query.is_active() && query.recent_progress().len() < n {
                std::thread::sleep(Duration::from_millis(20));
            }
            query.stop();
            if let Some(e) = query.exception() {
                return Err(anyhow!("{e}"));
            }
            if let Some(p) = query.last_progress() {
                eprintln!("last batch: {}", p.json());
            }
        }
    }
    Ok(())
}

//! The `socket`, `rate` and `generator` sources through the public API: option errors at
//! `load()`, connection errors at `start()`, a socket word count end to end, consecutive rate
//! rows, and a deterministic, replayable generator.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use ember::options::Options;
use ember::row::{DataType, Field};
use ember::source::{SourceContext, SourceOffset};
use ember::{EmberError, OutputMode, Session, Str, StreamingQuery, Trigger};

/// Long enough for a loaded machine; tests end as soon as their condition holds.
const PATIENCE: Duration = Duration::from_secs(60);

fn session() -> Session {
    Session::builder().master("local[2]").app_name("sources").get_or_create().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("ember-sources-{name}-{}-{nanos}", std::process::id()))
}

fn counts(session: &Session, table: &str) -> BTreeMap<String, i64> {
    let rows = session.table(table).expect("table").collect::<(Str, i64)>().unwrap();
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A word count of `lines` into the memory table `name`.
fn word_count(
    lines: &ember::Dataset<Str>,
    name: &str,
    trigger: Trigger,
    checkpoint: Option<&PathBuf>,
) -> StreamingQuery {
    let mut writer = lines
        .flat_map(|l: Str| l.split(' ').map(Str::from).collect::<Vec<_>>())
        .group_by_key(|w: &Str| w.clone())
        .count()
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .trigger(trigger)
        .query_name(name);
    if let Some(dir) = checkpoint {
        writer = writer.option("checkpointLocation", dir.display());
    }
    writer.start().unwrap()
}

fn load_error(format: &str, pairs: &[(&str, &str)]) -> String {
    let mut reader = session().read_stream().format(format);
    for (k, v) in pairs {
        reader = reader.option(k, v);
    }
    let err = reader.load().expect_err("load must fail");
    assert!(matches!(err, EmberError::Config(_)), "{err:?}");
    err.to_string()
}

#[test]
fn bad_options_fail_at_load() {
    let e = load_error("socket", &[("port", "9999")]);
    assert!(e.contains("socket source: option 'host' must be specified"), "{e}");
    let e = load_error("socket", &[("host", "127.0.0.1")]);
    assert!(e.contains("option 'port' must be specified"), "{e}");
    for port in ["abc", "0", "65536"] {
        let e = load_error("socket", &[("host", "127.0.0.1"), ("port", port)]);
        assert!(e.contains(&format!("option 'port' = '{port}' is invalid")), "{e}");
    }
    let e = load_error("socket", &[("host", "127.0.0.1"), ("port", "9999"), ("hots", "x")]);
    assert!(e.contains("unknown option 'hots'") && e.contains("host, port"), "{e}");
    let e = load_error("rate", &[("rowsPerSecond", "0")]);
    assert!(e.contains("rate source: option 'rowsPerSecond' = '0' is invalid"), "{e}");
    let e = load_error("generator", &[("wordsPerLine", "many")]);
    assert!(e.contains("generator source: option 'wordsPerLine' = 'many' is invalid"), "{e}");
}

/// The lines of the socket source on 127.0.0.1:`port`.
fn socket_lines(session: &Session, port: u16) -> ember::Dataset<Str> {
    session
        .read_stream()
        .format("socket")
        .option("host", "127.0.0.1")
        .option("port", port)
        .load()
        .unwrap()
        .as_::<Str>()
        .unwrap()
}

#[test]
fn closed_port_fails_at_start_naming_the_address() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let session = session();
    let lines = socket_lines(&session, port);
    let err = lines.write_stream().format("noop").start().expect_err("nobody listens");
    assert!(matches!(err, EmberError::Source { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("TextSocketSource[127.0.0.1:{port}]")), "{text}");
    assert!(text.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[test]
fn socket_word_count_end_to_end() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let session = session();
    let lines = socket_lines(&session, port);
    let q = word_count(&lines, "sock", Trigger::AsFastAsPossible, None);
    let (mut peer, _) = listener.accept().unwrap();
    let expect = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let wait_for = |want: &BTreeMap<String, i64>| {
        let deadline = Instant::now() + PATIENCE;
        loop {
            q.process_all_available().unwrap();
            let got = counts(&session, "sock");
            if &got == want {
                return;
            }
            assert!(Instant::now() < deadline, "got {got:?}, want {want:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    peer.write_all(b"the cat\r\nthe dog\n").unwrap();
    wait_for(&expect(&[("cat", 1), ("dog", 1), ("the", 2)]));
    peer.write_all(b"a cat\n").unwrap();
    wait_for(&expect(&[("a", 1), ("cat", 2), ("dog", 1), ("the", 2)]));
    let progress = q.last_progress().unwrap();
    assert_eq!(progress.sources[0].description, format!("TextSocketSource[127.0.0.1:{port}]"));
    // The peer leaves: the query keeps running with what it has.
    drop(peer);
    q.process_all_available().unwrap();
    assert!(q.is_active());
    assert_eq!(counts(&session, "sock"), expect(&[("a", 1), ("cat", 2), ("dog", 1), ("the", 2)]));
    q.stop();
    assert!(q.exception().is_none(), "{:?}", q.exception());
}

fn rate_columns(batches: &[RecordBatch]) -> (Vec<i64>, Vec<i64>) {
    let (mut times, mut values) = (Vec::new(), Vec::new());
    for b in batches {
        times.extend(b.column(0).as_primitive::<TimestampMicrosecondType>().values());
        values.extend(b.column(1).as_primitive::<Int64Type>().values());
    }
    (times, values)
}

/// The rate source has a timestamp column, which no typed element maps to yet, so it is driven
/// through the `Source` interface the engine uses.
#[test]
fn rate_rows_are_consecutive_and_paced() {
    let df = session().read_stream().format("rate").option("rowsPerSecond", 200).load().unwrap();
    let fields = df.schema().fields().to_vec();
    assert_eq!(fields[0], Field::new("timestamp", DataType::Timestamp, false));
    assert_eq!(fields[1], Field::new("value", DataType::Int64, false));
    let mut options = Options::new();
    options.set("rowsPerSecond", "200");
    let factory = ember::source::factory("rate", &options).unwrap();
    assert_eq!(factory.description(), "RateStreamSource[rowsPerSecond=200]");
    let dir = temp_dir("rate");
    let ctx = SourceContext { checkpoint_dir: dir.clone() };
    let mut source = factory.create().unwrap();
    let started = Instant::now();
    source.start(&ctx).unwrap();
    let mut start: Option<SourceOffset> = None;
    let mut all = (Vec::new(), Vec::new());
    let mut batches = 0;
    while all.1.len() < 300 {
        assert!(started.elapsed() < PATIENCE, "only {} rows", all.1.len());
        match source.latest_offset(start.as_ref()).unwrap() {
            Some(end) if Some(&end) != start.as_ref() => {
                let (t, v) = rate_columns(&source.get_batch(start.as_ref(), &end).unwrap());
                all.0.extend(t);
                all.1.extend(v);
                source.commit(&end).unwrap();
                start = Some(end);
                batches += 1;
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let (times, values) = all;
    assert_eq!(values, (0..values.len() as i64).collect::<Vec<_>>(), "no gaps, no repeats");
    // 200 rows a second: value i is due 5 ms after value i - 1, so 300 rows took 1.5 s or more.
    assert!(started.elapsed() >= Duration::from_millis(1400), "{:?}", started.elapsed());
    assert!(batches > 1);
    assert!(times.windows(2).all(|w| w[1] - w[0] == 5_000), "5 ms apart");
    // A restarted source (same checkpoint) gives the same rows for the same offsets.
    let mut again = factory.create().unwrap();
    again.start(&ctx).unwrap();
    let end = SourceOffset::from_json("{\"value\":300}").unwrap();
    let (t2, v2) = rate_columns(&again.get_batch(None, &end).unwrap());
    assert_eq!((t2, v2), (times[..300].to_vec(), values[..300].to_vec()));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn generator(session: &Session, pairs: &[(&str, &str)]) -> ember::Dataset<Str> {
    let mut reader = session.read_stream().format("generator");
    for (k, v) in pairs {
        reader = reader.option(k, v);
    }
    reader.load().unwrap().as_::<Str>().unwrap()
}

fn run_to_end(q: &StreamingQuery) {
    assert!(q.await_termination_timeout(PATIENCE).unwrap(), "AvailableNow must end");
}

#[test]
fn generator_available_now_is_exact_and_deterministic() {
    let opts = [
        ("linesPerSecond", "0"),
        ("maxLinesPerTrigger", "700"),
        ("totalLines", "5000"),
        ("wordsPerLine", "6"),
        ("vocabulary", "300"),
    ];
    let session = session();
    let lines = generator(&session, &opts);
    let all_lines = lines
        .write_stream()
        .format("memory")
        .trigger(Trigger::AvailableNow)
        .query_name("gen_lines")
        .start()
        .unwrap();
    run_to_end(&all_lines);
    let text = session.table("gen_lines").unwrap().collect::<Str>().unwrap();
    assert_eq!(text.len(), 5000);
    assert!(text.iter().all(|l| l.split(' ').count() == 6));
    assert_eq!(all_lines.recent_progress().len(), 8, "5000 lines in batches of 700");

    let first = word_count(&lines, "gen_a", Trigger::AvailableNow, None);
    run_to_end(&first);
    let second = word_count(&generator(&session, &opts), "gen_b", Trigger::AvailableNow, None);
    run_to_end(&second);
    let a = counts(&session, "gen_a");
    assert_eq!(a.values().sum::<i64>(), 30_000);
    assert_eq!(a, counts(&session, "gen_b"));
    // Word counts of the lines read back agree.
    let mut direct: BTreeMap<String, i64> = BTreeMap::new();
    for word in text.iter().flat_map(|l| l.split(' ')) {
        *direct.entry(word.to_owned()).or_default() += 1;
    }
    assert_eq!(a, direct);
    let seeded = [&opts[..], &[("seed", "7")]].concat();
    let third = word_count(&generator(&session, &seeded), "gen_c", Trigger::AvailableNow, None);
    run_to_end(&third);
    assert_ne!(a, counts(&session, "gen_c"));
}

#[test]
fn generator_resumes_from_its_checkpoint() {
    let dir = temp_dir("generator");
    let opts = |total: &'static str| {
        [("linesPerSecond", "0"), ("maxLinesPerTrigger", "1000"), ("totalLines", total)]
    };
    let session = session();
    // 2500 lines, stop, restart from the checkpoint with 6000: counts cover the 6000 exactly.
    let q = word_count(
        &generator(&session, &opts("2500")),
        "gen_resume",
        Trigger::AvailableNow,
        Some(&dir),
    );
    run_to_end(&q);
    assert_eq!(counts(&session, "gen_resume").values().sum::<i64>(), 2500 * 8);
    let q = word_count(
        &generator(&session, &opts("6000")),
        "gen_resume",
        Trigger::AvailableNow,
        Some(&dir),
    );
    run_to_end(&q);
    let progress = q.recent_progress();
    assert_eq!(progress[0].sources[0].start_offset, Some(serde_json::json!({"lines": 2500})));
    assert_eq!(progress.iter().map(|p| p.num_input_rows).sum::<u64>(), 3500);
    let resumed = counts(&session, "gen_resume");
    let once =
        word_count(&generator(&session, &opts("6000")), "gen_once", Trigger::AvailableNow, None);
    run_to_end(&once);
    assert_eq!(resumed, counts(&session, "gen_once"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Same offsets, same lines: what a re-run of a logged batch reads after a restart.
#[test]
fn generator_replays_the_same_lines_for_the_same_offsets() {
    let mut options = Options::new();
    options.set("linesPerSecond", "0");
    options.set("seed", "99");
    let text = |batches: Vec<RecordBatch>| -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_string::<i32>().iter().map(|s| s.unwrap().to_owned()))
            .collect()
    };
    let ctx = SourceContext { checkpoint_dir: temp_dir("unused") };
    let start = SourceOffset::from_json("{\"lines\":1000}").unwrap();
    let end = SourceOffset::from_json("{\"lines\":1500}").unwrap();
    let run = || {
        let mut source = ember::source::factory("generator", &options).unwrap().create().unwrap();
        source.start(&ctx).unwrap();
        text(source.get_batch(Some(&start), &end).unwrap())
    };
    let first = run();
    assert_eq!(first.len(), 500);
    assert_eq!(first, run());
}

#[test]
fn rate_rows_through_the_engine_as_typed_timestamps() {
    let session = session();
    let ds = session
        .read_stream()
        .format("rate")
        .option("rowsPerSecond", 2000)
        .load()
        .unwrap()
        .as_::<(ember::Timestamp, i64)>()
        .unwrap();
    let q = ds.write_stream().format("memory").query_name("rate_typed").start().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while q.recent_progress().iter().map(|p| p.num_input_rows).sum::<u64>() < 200 {
        assert!(Instant::now() < deadline, "the rate source produced too few rows");
        std::thread::sleep(Duration::from_millis(5));
    }
    q.stop();
    let mut rows =
        session.table("rate_typed").unwrap().collect::<(ember::Timestamp, i64)>().unwrap();
    rows.sort_by_key(|r| r.1);
    let values: Vec<i64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(values, (0..values.len() as i64).collect::<Vec<_>>(), "consecutive values from 0");
    // Value i is stamped start + i / rowsPerSecond: 500 µs apart.
    for pair in rows.windows(2) {
        assert_eq!(pair[1].0.0 - pair[0].0.0, 500, "{pair:?}");
    }
}

/// Available-now fixes the end of a rate source's rows to those due when the query starts:
/// the rows keep coming, and the query still ends.
#[test]
fn rate_available_now_ends_at_the_rows_due_at_start() {
    let dir = temp_dir("rate-available-now");
    let session = session();
    let run = || {
        let q = session
            .read_stream()
            .format("rate")
            .option("rowsPerSecond", 1000)
            .load()
            .unwrap()
            .as_::<(ember::Timestamp, i64)>()
            .unwrap()
            .write_stream()
            .format("memory")
            .query_name("rate_now")
            .option("checkpointLocation", dir.display())
            .trigger(Trigger::AvailableNow)
            .start()
            .unwrap();
        run_to_end(&q);
        assert!(q.exception().is_none(), "{:?}", q.exception());
        q.recent_progress().iter().map(|p| p.num_input_rows).sum::<u64>()
    };
    let first_started = Instant::now();
    run();
    std::thread::sleep(Duration::from_millis(300));
    let second_started = Instant::now();
    let rows = run();
    // The second run starts at least 300 ms after the source's start time: 300 rows or more
    // are due, and no more than were due when it started (plus a margin for the clock reads).
    let due_at_start = second_started.duration_since(first_started).as_millis() as u64;
    assert!(rows >= 300, "only {rows} rows");
    assert!(rows <= due_at_start + 50, "{rows} rows, but only about {due_at_start} were due");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Available-now over a socket that never stops sending still ends.
#[test]
fn socket_available_now_ends_while_lines_keep_arriving() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sender = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        // Bursts faster than batches end, so a trigger always finds new lines; ends when the
        // query closes the connection.
        let burst = b"tick tock\n".repeat(50);
        while peer.write_all(&burst).is_ok() {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let session = session();
    let q = word_count(&socket_lines(&session, port), "sock_now", Trigger::AvailableNow, None);
    run_to_end(&q);
    assert!(q.exception().is_none(), "{:?}", q.exception());
    let counts = counts(&session, "sock_now");
    assert_eq!(counts.get("tick"), counts.get("tock"));
    sender.join().unwrap();
}

/// A generator whose lines are all available at once has no end to process up to.
#[test]
fn generator_available_now_needs_a_bounded_input() {
    let session = session();
    let unbounded = generator(&session, &[("linesPerSecond", "0")]);
    let err = unbounded
        .write_stream()
        .format("noop")
        .trigger(Trigger::AvailableNow)
        .start()
        .expect_err("no end");
    let text = err.to_string();
    assert!(text.contains("GeneratorSource[linesPerSecond=0]"), "{text}");
    assert!(text.contains("totalLines"), "{text}");
    // Paced, it ends with the lines due when it started.
    let paced = generator(&session, &[("linesPerSecond", "100000")]);
    let q = paced.write_stream().format("noop").trigger(Trigger::AvailableNow).start().unwrap();
    run_to_end(&q);
    assert!(q.exception().is_none(), "{:?}", q.exception());
}

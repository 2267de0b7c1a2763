//! A `StreamTest`-style harness (Spark's `StreamTest`): a script of actions — add data, process,
//! check the answer, stop, restart from the checkpoint, expect a failure — run against a query
//! over a `MemoryStream` writing to the memory sink.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ember::{Dataset, MemoryStream, OutputMode, Session, Str, StreamingQuery};

enum Action {
    AddData(Vec<&'static str>),
    /// The whole memory table (Complete mode), sorted.
    CheckAnswer(Vec<(&'static str, i64)>),
    /// The rows the last batch wrote (Update mode), sorted.
    CheckLastBatch(Vec<(&'static str, i64)>),
    StopStream,
    StartStream {
        threads: usize,
    },
    /// The query fails with an error containing this text.
    ExpectFailure(&'static str),
    /// Makes the user function panic on the next batch (or stop panicking).
    SetPoison(bool),
}

use Action::*;

struct Harness {
    session: Session,
    input: MemoryStream<Str>,
    query: Option<StreamingQuery>,
    checkpoint: PathBuf,
    mode: OutputMode,
    name: String,
    poison: Arc<AtomicBool>,
    seen_rows: usize,
}

impl Harness {
    fn new(name: &str, mode: OutputMode) -> Harness {
        let checkpoint =
            std::env::temp_dir().join(format!("ember-streamtest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&checkpoint);
        Harness {
            session: Session::builder().master("local[2]").get_or_create().unwrap(),
            input: MemoryStream::new(),
            query: None,
            checkpoint,
            mode,
            name: name.to_owned(),
            poison: Arc::new(AtomicBool::new(false)),
            seen_rows: 0,
        }
    }

    fn plan(&self, session: &Session) -> Dataset<(Str, i64)> {
        let poison = self.poison.clone();
        ember::DataFrame::from_source(session, self.input.factory())
            .as_::<Str>()
            .unwrap()
            .flat_map(move |line: Str| {
                assert!(!poison.load(Ordering::SeqCst), "poisoned input");
                line.split(' ').map(Str::from).collect::<Vec<_>>()
            })
            .group_by_key(|w: &Str| w.clone())
            .count()
    }

    fn start(&mut self, threads: usize) {
        self.session =
            Session::builder().master(format!("local[{threads}]")).get_or_create().unwrap();
        let q = self
            .plan(&self.session)
            .write_stream()
            .output_mode(self.mode)
            .format("memory")
            .query_name(&self.name)
            .option("checkpointLocation", self.checkpoint.display())
            .start()
            .unwrap();
        self.seen_rows = 0;
        self.query = Some(q);
    }

    fn rows(&self) -> Vec<(String, i64)> {
        let table = self.session.table(&self.name).map(|t| t.collect::<(Str, i64)>().unwrap());
        table.unwrap_or_default().into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn run(mut self, script: Vec<Action>) {
        self.start(2);
        for (step, action) in script.into_iter().enumerate() {
            match action {
                AddData(lines) => {
                    self.input.add_data(lines.into_iter().map(Str::from)).unwrap();
                }
                CheckAnswer(expected) => {
                    let q = self.query.as_ref().expect("running query");
                    q.process_all_available().unwrap();
                    let mut got = self.rows();
                    got.sort();
                    let mut want: Vec<(String, i64)> =
                        expected.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    want.sort();
                    assert_eq!(got, want, "step {step}");
                }
                CheckLastBatch(expected) => {
                    let q = self.query.as_ref().expect("running query");
                    q.process_all_available().unwrap();
                    let all = self.rows();
                    let mut got = all[self.seen_rows..].to_vec();
                    self.seen_rows = all.len();
                    got.sort();
                    let mut want: Vec<(String, i64)> =
                        expected.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    want.sort();
                    assert_eq!(got, want, "step {step}");
                }
                StopStream => {
                    self.query.take().expect("running query").stop();
                }
                StartStream { threads } => self.start(threads),
                ExpectFailure(text) => {
                    let q = self.query.take().expect("running query");
                    let err = q.await_termination().expect_err("the query should fail");
                    assert!(err.to_string().contains(text), "step {step}: {err}");
                    assert!(!q.is_active());
                }
                SetPoison(on) => self.poison.store(on, Ordering::SeqCst),
            }
        }
        if let Some(q) = self.query.take() {
            q.stop();
        }
        let _ = std::fs::remove_dir_all(&self.checkpoint);
    }
}

#[test]
fn complete_mode_survives_stop_and_restart_with_other_thread_counts() {
    Harness::new("complete", OutputMode::Complete).run(vec![
        AddData(vec!["a b", "a"]),
        CheckAnswer(vec![("a", 2), ("b", 1)]),
        StopStream,
        AddData(vec!["b c"]),
        StartStream { threads: 1 },
        CheckAnswer(vec![("a", 2), ("b", 2), ("c", 1)]),
        StopStream,
        StartStream { threads: 3 },
        AddData(vec!["c c"]),
        CheckAnswer(vec![("a", 2), ("b", 2), ("c", 3)]),
    ]);
}

#[test]
fn update_mode_emits_changed_keys_per_batch() {
    Harness::new("update", OutputMode::Update).run(vec![
        AddData(vec!["x y x"]),
        CheckLastBatch(vec![("x", 2), ("y", 1)]),
        AddData(vec!["y"]),
        CheckLastBatch(vec![("y", 2)]),
        StopStream,
        AddData(vec!["z"]),
        StartStream { threads: 2 },
        CheckLastBatch(vec![("z", 1)]),
    ]);
}

#[test]
fn a_failing_batch_commits_nothing_and_reruns_after_restart() {
    Harness::new("failure", OutputMode::Complete).run(vec![
        AddData(vec!["p q"]),
        CheckAnswer(vec![("p", 1), ("q", 1)]),
        SetPoison(true),
        AddData(vec!["p"]),
        ExpectFailure("poisoned input"),
        SetPoison(false),
        StartStream { threads: 2 },
        CheckAnswer(vec![("p", 2), ("q", 1)]),
    ]);
}

#[test]
fn two_queries_on_one_checkpoint_are_refused() {
    let dir = std::env::temp_dir().join(format!("ember-two-queries-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let session = Session::builder().master("local[1]").get_or_create().unwrap();
    let input = MemoryStream::<i64>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let start =
        || ds.write_stream().format("noop").option("checkpointLocation", dir.display()).start();
    let first = start().unwrap();
    let err = start().unwrap_err().to_string();
    assert!(err.contains("another query is running with checkpoint"), "{err}");
    first.stop();
    let again = start().unwrap();
    again.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits (real time, generously) until `query` has reported `n` batches; false on timeout.
fn wait_for_batches(query: &StreamingQuery, n: usize) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if query.recent_progress().len() >= n {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    false
}

#[test]
fn processing_time_trigger_fires_only_when_the_clock_advances() {
    let session = Session::builder().master("local[2]").get_or_create().unwrap();
    let input = MemoryStream::<Str>::new();
    let clock = ember::streaming::ManualClock::new(1_000_000);
    let query = ember::DataFrame::from_source(&session, input.factory())
        .as_::<Str>()
        .unwrap()
        .group_by_key(|w: &Str| w.clone())
        .count()
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .query_name("clocked")
        .trigger(ember::Trigger::ProcessingTime(std::time::Duration::from_secs(10)))
        .clock(Arc::new(clock.clone()))
        .start()
        .unwrap();
    // The first tick is at start and finds nothing to read.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while query.status().message != "Waiting for data to arrive" {
        assert!(std::time::Instant::now() < deadline, "the first trigger never ran");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    input.add_data(["a".into(), "b".into()]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(query.recent_progress().is_empty(), "no batch before the clock reaches the next tick");
    clock.advance(10_000);
    assert!(wait_for_batches(&query, 1));
    input.add_data(["a".into()]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(query.recent_progress().len(), 1, "the next tick has not come");
    clock.advance(9_999);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(query.recent_progress().len(), 1, "one millisecond early");
    clock.advance(1);
    assert!(wait_for_batches(&query, 2));
    let progress = query.recent_progress();
    assert_eq!(progress[0].num_input_rows, 2);
    assert_eq!(progress[1].num_input_rows, 1);
    // Batch timestamps come from the query's clock.
    // 1,000,000 ms + 20,000 ms = 00:17:00 after the epoch.
    assert_eq!(progress[1].timestamp, "1970-01-01T00:17:00.000Z");
    let mut rows = session.table("clocked").unwrap().collect::<(Str, i64)>().unwrap();
    rows.sort();
    assert_eq!(rows, vec![(Str::from("a"), 2), (Str::from("b"), 1)]);
    query.stop();
}

//! A memory-stream word count through the whole engine: aggregation, state, memory sink.

use std::collections::BTreeMap;

use ember::{MemoryStream, OutputMode, Session, Str};

fn session() -> Session {
    Session::builder().master("local[2]").app_name("test").get_or_create().unwrap()
}

fn counts(session: &Session, name: &str) -> BTreeMap<String, i64> {
    let table = session.table(name).expect("table");
    table.collect::<(Str, i64)>().unwrap().into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Starts `counts`, a word count, in Complete mode into the memory table `name`.
fn start_counts(counts: &ember::Dataset<(Str, i64)>, name: &str) -> ember::StreamingQuery {
    counts
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .query_name(name)
        .start()
        .unwrap()
}

/// Runs `lines` as one batch of `input` and checks the table `name` against `model`.
fn check_batch(
    session: &Session,
    query: &ember::StreamingQuery,
    input: &MemoryStream<Str>,
    lines: Vec<Str>,
    (name, model): (&str, &BTreeMap<String, i64>),
) {
    input.add_data(lines).unwrap();
    query.process_all_available().unwrap();
    assert_eq!(&counts(session, name), model);
}

#[test]
fn word_count_complete_mode_accumulates_across_batches() {
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    let words = ds
        .flat_map(|line: Str| line.split(' ').map(Str::from).collect::<Vec<_>>())
        .map(|w| (w, 1i32))
        .group_by_key(|p: &(Str, i32)| p.0.clone())
        .count();
    let query = words
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .query_name("wc_complete")
        .start()
        .unwrap();
    input.add_data(["a b a".into(), "c".into()]).unwrap();
    query.process_all_available().unwrap();
    let expected: BTreeMap<String, i64> =
        [("a".into(), 2), ("b".into(), 1), ("c".into(), 1)].into_iter().collect();
    assert_eq!(counts(&session, "wc_complete"), expected);
    input.add_data(["b b d".into()]).unwrap();
    query.process_all_available().unwrap();
    let expected: BTreeMap<String, i64> =
        [("a".into(), 2), ("b".into(), 3), ("c".into(), 1), ("d".into(), 1)].into_iter().collect();
    assert_eq!(counts(&session, "wc_complete"), expected);
    let progress = query.last_progress().unwrap();
    assert_eq!(progress.batch_id, 1);
    assert_eq!(progress.num_input_rows, 1);
    assert_eq!(progress.state_operators[0].num_rows_total, 4);
    assert_eq!(progress.state_operators[0].num_rows_updated, 2);
    assert!(progress.json().contains("\"batchId\":1"));
    query.stop();
    assert!(query.exception().is_none());
}

#[test]
fn update_mode_emits_only_changed_keys() {
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let q = ds
        .group_by_key(|v: &i64| v % 3)
        .count()
        .write_stream()
        .output_mode(OutputMode::Update)
        .format("memory")
        .query_name("upd")
        .start()
        .unwrap();
    input.add_data([1, 2, 3, 4]).unwrap();
    q.process_all_available().unwrap();
    input.add_data([7]).unwrap();
    q.process_all_available().unwrap();
    let rows = session.table("upd").unwrap().collect::<(i64, i64)>().unwrap();
    let mut rows: Vec<_> = rows;
    rows.sort();
    // batch 0: 0->1, 1->2, 2->1; batch 1: 1->3
    assert_eq!(rows, vec![(0, 1), (1, 2), (1, 3), (2, 1)]);
    q.stop();
}

#[test]
fn complete_mode_without_aggregation_is_refused_at_start() {
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let err = ds.write_stream().output_mode(OutputMode::Complete).format("memory").start();
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("Complete output mode not supported"), "{msg}");
    let agg = ds.group_by_key(|v: &i64| *v).count();
    let msg = agg.write_stream().format("memory").query_name("x").start().unwrap_err().to_string();
    assert!(msg.contains("Append output mode not supported"), "{msg}");
}

#[test]
fn a_second_aggregation_and_unknown_formats_are_refused_naming_them() {
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let twice = ds.group_by_key(|v: &i64| *v).count().group_by_key(|p: &(i64, i64)| p.1).count();
    let msg = twice
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .query_name("twice")
        .start()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("Multiple streaming aggregations are not supported"), "{msg}");

    let msg = session.read_stream().format("kafkaa").load().unwrap_err().to_string();
    assert!(msg.starts_with("unknown source format 'kafkaa'; known formats: text"), "{msg}");
    let msg = ds.write_stream().format("parquet").start().unwrap_err().to_string();
    assert!(msg.starts_with("unknown sink format 'parquet'; known formats: console"), "{msg}");
    let msg = ds.write_stream().format("memory").start().unwrap_err().to_string();
    assert_eq!(msg, "queryName must be specified for memory sink");
    let msg =
        ds.write_stream().format("json").option("path", "/tmp/x").start().unwrap_err().to_string();
    assert!(msg.starts_with("checkpointLocation must be specified"), "{msg}");
}

#[test]
fn explain_shows_the_logical_and_the_physical_plan() {
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    let plan = ds
        .flat_map(|l: Str| ember::split(l, ' '))
        .filter(|w: &Str| !w.is_empty())
        .group_by_key(|w: &Str| w.clone())
        .count()
        .explain_string();
    let expected_order = [
        "== Logical Plan ==",
        "Aggregate [key] count(1)",
        "Filter",
        "FlatMapElements",
        "StreamingRelation MemoryStream",
        "== Physical Plan ==",
        "AggregateExec: count(1) by key",
        "ScanExec: MemoryStream [FlatMapElements -> Filter]",
    ];
    let mut at = 0;
    for needle in expected_order {
        let found =
            plan[at..].find(needle).unwrap_or_else(|| panic!("{needle} missing in\n{plan}"));
        at += found + needle.len();
    }
}

#[test]
fn many_keys_long_and_short_match_a_model_across_batches() {
    // Keys from 1 to 60 bytes, many of one length sharing their first bytes, counted against a
    // model over several batches; the flat_map closure itself runs rayon tasks, so a worker
    // may start another chunk of the batch while one is in progress.
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    let words = ds
        .flat_map(|line: Str| {
            let (a, b) =
                rayon::join(|| line.split(' ').map(Str::from).collect::<Vec<_>>(), || line.len());
            assert_eq!(b, line.len());
            a
        })
        .map(|w| (w, 1i64))
        .group_by_key(|p: &(Str, i64)| p.0.clone())
        .count();
    let query = start_counts(&words, "wc_many_keys");
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    for batch in 0..4u64 {
        let lines: Vec<Str> = (0..3000u64)
            .map(|i| {
                let n = (i * 7919 + batch * 104_729) % 1500;
                let word = format!("{}{n}", "k".repeat((n % 57) as usize));
                let other = format!("short{}", n % 13);
                *model.entry(word.clone()).or_default() += 1;
                *model.entry(other.clone()).or_default() += 1;
                Str::from(format!("{word} {other}"))
            })
            .collect();
        check_batch(&session, &query, &input, lines, ("wc_many_keys", &model));
    }
    query.stop();
    assert!(query.exception().is_none());
}

#[test]
fn groups_from_every_worker_thread_are_merged() {
    // Batches of many chunks, so both worker threads pre-aggregate; every key, short (a
    // compact group) or long (a general one), occurs in chunks on both, and the counts must
    // still match the model. The closure sleeps a little per call so that one thread cannot
    // take every chunk, and records which threads ran it.
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    let workers = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen = workers.clone();
    let words = ds
        .flat_map(move |line: Str| {
            seen.lock().unwrap().insert(rayon::current_thread_index());
            if line.starts_with("w0 ") {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            ember::split(line, ' ')
        })
        .map(|w| (w, 1i64))
        .group_by_key(|p: &(Str, i64)| p.0.clone())
        .count();
    let query = start_counts(&words, "wc_every_thread");
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    for batch in 0..2u64 {
        let lines: Vec<Str> = (0..40_000u64)
            .map(|i| {
                let line = format!(
                    "w{} {} k{}",
                    i % 128,
                    "long-key-".repeat(1 + (i % 3) as usize),
                    (i + batch) % 50
                );
                for word in line.split(' ') {
                    *model.entry(word.to_owned()).or_default() += 1;
                }
                Str::from(line)
            })
            .collect();
        check_batch(&session, &query, &input, lines, ("wc_every_thread", &model));
    }
    query.stop();
    assert!(query.exception().is_none());
    assert_eq!(workers.lock().unwrap().len(), 2, "both worker threads ran the pipeline");
}

#[test]
fn complete_mode_restarted_from_the_same_dataset_reads_the_store_again() {
    // The aggregation keeps Complete mode's state in memory between batches; a new run, even
    // of the same plan, must start again from what the checkpoint holds.
    let dir = std::env::temp_dir().join(format!("ember-complete-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    // Each call builds a plan of its own: another aggregation operator, another copy.
    let plan = || {
        ds.flat_map(|l: Str| ember::split(l, ' '))
            .map(|w| (w, 1i64))
            .group_by_key(|p: &(Str, i64)| p.0.clone())
            .count()
    };
    let word_counts = plan();
    let other_plan = plan();
    let run = |plan: &ember::Dataset<(Str, i64)>, name: &str, lines: &[&str]| {
        let query = plan
            .write_stream()
            .output_mode(OutputMode::Complete)
            .format("memory")
            .query_name(name)
            .option("checkpointLocation", dir.display())
            .start()
            .unwrap();
        input.add_data(lines.iter().map(|l| Str::from(*l))).unwrap();
        query.process_all_available().unwrap();
        query.stop();
        assert!(query.exception().is_none());
        counts(&session, name)
    };
    assert_eq!(run(&word_counts, "restart_1", &["a b"]), model(&[("a", 1), ("b", 1)]));
    // Another plan on the checkpoint moves the store on behind the first plan's back.
    assert_eq!(run(&other_plan, "restart_2", &["a"]), model(&[("a", 2), ("b", 1)]));
    assert_eq!(run(&word_counts, "restart_3", &["b c"]), model(&[("a", 2), ("b", 2), ("c", 1)]));
    assert_eq!(run(&word_counts, "restart_4", &["c"]), model(&[("a", 2), ("b", 2), ("c", 2)]));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn model(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Available-now processes what the stream held when the query started, even when every batch
/// adds more (the sink here feeds the stream), and then ends.
#[test]
fn available_now_ends_at_the_data_present_at_start() {
    let session = session();
    let input = MemoryStream::<Str>::new();
    input.add_data(["a b".into()]).unwrap();
    input.add_data(["b c".into()]).unwrap();
    let feeder = input.clone();
    let batches = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = batches.clone();
    let query = ember::DataFrame::from_source(&session, input.factory())
        .as_::<Str>()
        .unwrap()
        .write_stream()
        .trigger(ember::Trigger::AvailableNow)
        .foreach_batch(move |id, output| {
            seen.lock().unwrap().push((id, output.iter().map(|b| b.num_rows()).sum::<usize>()));
            feeder.add_data(["more".into()])?;
            Ok(())
        })
        .start()
        .unwrap();
    let ended = query.await_termination_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(ended, "available-now must end");
    assert!(query.exception().is_none(), "{:?}", query.exception());
    assert_eq!(*batches.lock().unwrap(), vec![(0, 2)], "one batch of the two lines");
}

#[test]
fn fused_stages_filter_and_map_with_and_without_an_aggregation() {
    // flat_map -> filter -> map run as one fused loop per chunk: counted by key in Complete
    // mode, and, in a stateless query, appended in input order.
    let session = session();
    let input = MemoryStream::<Str>::new();
    let ds = ember::DataFrame::from_source(&session, input.factory()).as_::<Str>().unwrap();
    let kept = ds
        .flat_map(|line: Str| ember::split(line, ' '))
        .filter(|w: &Str| !w.is_empty() && !w.starts_with('x'))
        .map(|w: Str| Str::from(w.to_uppercase()));
    let counted = kept.map(|w| (w, 1i64)).group_by_key(|p: &(Str, i64)| p.0.clone()).count();
    let counts_query = start_counts(&counted, "fused_counts");
    let rows_query = kept
        .write_stream()
        .output_mode(OutputMode::Append)
        .format("memory")
        .query_name("fused_rows")
        .start()
        .unwrap();
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut appended: Vec<String> = Vec::new();
    for batch in 0..3u64 {
        let lines: Vec<Str> = (0..5000u64)
            .map(|i| {
                let n = (i * 31 + batch * 7) % 300;
                let line = format!("w{n}  x{n} {}", "long-word-".repeat((n % 4) as usize));
                for w in line.split(' ').filter(|w| !w.is_empty() && !w.starts_with('x')) {
                    *model.entry(w.to_uppercase()).or_default() += 1;
                    appended.push(w.to_uppercase());
                }
                Str::from(line)
            })
            .collect();
        input.add_data(lines).unwrap();
        counts_query.process_all_available().unwrap();
        rows_query.process_all_available().unwrap();
        assert_eq!(counts(&session, "fused_counts"), model, "batch {batch}");
    }
    let rows = session.table("fused_rows").expect("table").collect::<Str>().unwrap();
    assert_eq!(rows.iter().map(|s| s.to_string()).collect::<Vec<_>>(), appended);
    for query in [counts_query, rows_query] {
        query.stop();
        assert!(query.exception().is_none());
    }
}

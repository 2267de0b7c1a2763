//! The `text`, `csv` and `json` file sources through the public API and the engine: one file
//! per batch, restarts that read only new files, a crashed run's log entry reused, typed reads,
//! the malformed-record modes, and option errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ember::options::Options;
use ember::source::{SourceContext, SourceOffset};
use ember::{OutputMode, Session, Str, StreamingQuery, Trigger};

/// A fresh `data` directory and checkpoint location, removed on drop.
struct Dirs {
    root: PathBuf,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        static N: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "ember-file-source-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("data")).unwrap();
        Dirs { root }
    }
    fn data(&self) -> String {
        self.root.join("data").to_str().unwrap().to_owned()
    }
    fn ckpt(&self) -> String {
        self.root.join("ckpt").to_str().unwrap().to_owned()
    }
    /// Writes `name`, modified `order` seconds after a fixed instant (files are read in this
    /// order).
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>, order: u64) -> PathBuf {
        let path = self.root.join("data").join(name);
        std::fs::write(&path, bytes).unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + order);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        path
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn session() -> Session {
    Session::builder().master("local[2]").app_name("file-source").get_or_create().unwrap()
}

/// A word count over the text files of `dirs`, one file per batch, until no file is left.
fn word_count(session: &Session, dirs: &Dirs, name: &str) -> ember::Result<StreamingQuery> {
    session
        .read_stream()
        .format("text")
        .option("path", dirs.data())
        .option("maxFilesPerTrigger", 1)
        .load()?
        .as_::<Str>()?
        .flat_map(|line: Str| line.split_whitespace().map(Str::from).collect::<Vec<_>>())
        .group_by_key(|w: &Str| w.clone())
        .count()
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("memory")
        .query_name(name)
        .option("checkpointLocation", dirs.ckpt())
        .trigger(Trigger::AvailableNow)
        .start()
}

fn counts(session: &Session, name: &str) -> BTreeMap<String, i64> {
    let rows = session.table(name).expect("table").collect::<(Str, i64)>().unwrap();
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn expect(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `(numInputRows, startOffset, endOffset)` of each batch.
fn batches(q: &StreamingQuery) -> Vec<(u64, Option<String>, String)> {
    q.recent_progress()
        .iter()
        .map(|p| {
            let s = &p.sources[0];
            let end = s.end_offset.as_ref().map(|o| o.to_string()).unwrap_or_default();
            (s.num_input_rows, s.start_offset.as_ref().map(|o| o.to_string()), end)
        })
        .collect()
}

fn log(n: u64) -> String {
    format!("{{\"logOffset\":{n}}}")
}

#[test]
fn text_word_count_reads_one_file_per_batch_in_time_order() {
    let dirs = Dirs::new("wc");
    dirs.write("b.txt", "to be or\nnot to be\n", 2);
    dirs.write("a.txt", "be quick", 1);
    dirs.write("c.txt", "or else\r\nto\r\nbe\r\n", 3);
    dirs.write(".c.txt.tmp", "hidden hidden\n", 0);
    let session = session();
    let q = word_count(&session, &dirs, "wc").unwrap();
    q.await_termination().unwrap();
    assert_eq!(
        counts(&session, "wc"),
        expect(&[("be", 4), ("else", 1), ("not", 1), ("or", 2), ("quick", 1), ("to", 3)])
    );
    assert_eq!(
        batches(&q),
        [(1, None, log(0)), (2, Some(log(0)), log(1)), (3, Some(log(1)), log(2))]
    );
    let p = q.last_progress().unwrap();
    assert_eq!(p.sources[0].description, format!("FileStreamSource[text:{}]", dirs.data()));
    let entry = std::fs::read_to_string(Path::new(&dirs.ckpt()).join("sources/0/2")).unwrap();
    assert!(entry.starts_with("v1\n{\"path\":\"c.txt\""), "{entry}");
}

#[test]
fn a_restart_reads_only_the_new_files() {
    let dirs = Dirs::new("restart");
    dirs.write("1.txt", "x y\n", 1);
    dirs.write("2.txt", "y\n", 2);
    let session = session();
    let q = word_count(&session, &dirs, "restart").unwrap();
    q.await_termination().unwrap();
    assert_eq!(counts(&session, "restart"), expect(&[("x", 1), ("y", 2)]));
    assert_eq!(batches(&q).len(), 2);

    // Even a file older than those read is new.
    dirs.write("0.txt", "z x\nz\n", 0);
    let q = word_count(&session, &dirs, "restart").unwrap();
    q.await_termination().unwrap();
    assert_eq!(batches(&q), [(2, Some(log(1)), log(2))]);
    assert_eq!(q.last_progress().unwrap().batch_id, 2);
    assert_eq!(counts(&session, "restart"), expect(&[("x", 2), ("y", 2), ("z", 2)]));

    // Nothing new: no batch at all.
    let q = word_count(&session, &dirs, "restart").unwrap();
    q.await_termination().unwrap();
    assert!(q.recent_progress().is_empty());
}

#[test]
fn an_entry_logged_by_a_crashed_run_is_the_next_batch() {
    let dirs = Dirs::new("crash");
    dirs.write("1.txt", "a\n", 1);
    let session = session();
    word_count(&session, &dirs, "crash").unwrap().await_termination().unwrap();

    // A run lists `2.txt` into its log entry 1, persists it, and dies before logging batch 1.
    dirs.write("2.txt", "b\nb\n", 2);
    let mut options = Options::new();
    options.set("path", dirs.data());
    options.set("maxFilesPerTrigger", "1");
    let mut source = ember::source::factory("text", &options).unwrap().create().unwrap();
    let source_dir = Path::new(&dirs.ckpt()).join("sources/0");
    source.start(&SourceContext { checkpoint_dir: source_dir.clone() }).unwrap();
    let start = SourceOffset::from_json(&log(0)).unwrap();
    assert_eq!(source.latest_offset(Some(&start)).unwrap().unwrap().json(), log(1));
    source.persist_offset().unwrap();
    drop(source);

    // By the restart an older file has arrived; the logged entry still goes first.
    dirs.write("0.txt", "c\n", 0);
    let q = word_count(&session, &dirs, "crash").unwrap();
    q.await_termination().unwrap();
    assert_eq!(batches(&q), [(2, Some(log(0)), log(1)), (1, Some(log(1)), log(2))]);
    assert_eq!(counts(&session, "crash"), expect(&[("a", 1), ("b", 2), ("c", 1)]));
    let mut entries: Vec<_> = std::fs::read_dir(&source_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(entries, ["0", "1", "2"]);
}

#[derive(ember::Row, Debug, Clone, PartialEq)]
struct Person {
    name: Option<String>,
    age: Option<i32>,
    score: Option<f64>,
    ok: Option<bool>,
    id: Option<i64>,
}

fn person(name: &str, age: i32, score: f64, ok: bool, id: i64) -> Person {
    Person {
        name: Some(name.into()),
        age: Some(age),
        score: Some(score),
        ok: Some(ok),
        id: Some(id),
    }
}

/// Every row of an append-mode memory query over `format` with `options`.
fn read_all<T: ember::Data + Clone>(
    format: &str,
    dirs: &Dirs,
    options: &[(&str, &str)],
    name: &str,
) -> (Vec<T>, Result<(), String>) {
    let session = session();
    let mut reader = session.read_stream().format(format).option("path", dirs.data());
    for (k, v) in options {
        reader = reader.option(k, v);
    }
    let q = reader
        .load()
        .unwrap()
        .as_::<T>()
        .unwrap()
        .write_stream()
        .format("memory")
        .query_name(name)
        .option("checkpointLocation", dirs.ckpt())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    let result = q.await_termination().map_err(|e| e.to_string());
    let rows = session.table(name).map(|t| t.collect::<T>().unwrap()).unwrap_or_default();
    (rows, result)
}

const PERSON: &str = "name STRING, age INT, score DOUBLE, ok BOOLEAN, id BIGINT";

#[test]
fn csv_typed_rows_with_header_quotes_and_nulls() {
    let dirs = Dirs::new("csv");
    dirs.write(
        "p1.csv",
        "name,age,score,ok,id\nann,30,1.5,true,7\n\"Smith, \"\"J\"\"\",41,-2,FALSE,9000000000\n",
        1,
    );
    dirs.write("p2.csv", "name,age,score,ok,id\n,,,,\n\"\",5,1e3,true,-1\n", 2);
    let (rows, result) =
        read_all::<Person>("csv", &dirs, &[("schema", PERSON), ("header", "true")], "csv");
    result.unwrap();
    let empty = Person { name: None, age: None, score: None, ok: None, id: None };
    assert_eq!(
        rows,
        [
            person("ann", 30, 1.5, true, 7),
            person("Smith, \"J\"", 41, -2.0, false, 9_000_000_000),
            empty,
            person("", 5, 1000.0, true, -1),
        ]
    );
}

#[test]
fn json_typed_rows_as_tuples() {
    let dirs = Dirs::new("json");
    dirs.write(
        "e.json",
        "{\"user\":\"u1\",\"n\":3,\"other\":{\"x\":1}}\n{\"n\":-4}\n\n{\"user\":\"u2\"}\n",
        1,
    );
    let (rows, result) = read_all::<(Option<Str>, Option<i64>)>(
        "json",
        &dirs,
        &[("schema", "user STRING, n BIGINT")],
        "json",
    );
    result.unwrap();
    assert_eq!(rows, [(Some("u1".into()), Some(3)), (None, Some(-4)), (Some("u2".into()), None)]);
}

#[test]
fn failfast_fails_the_query_naming_file_and_line_and_commits_nothing() {
    let dirs = Dirs::new("failfast");
    dirs.write("good.json", "{\"user\":\"a\",\"n\":1}\n", 1);
    let bad =
        dirs.write("bad.json", "{\"user\":\"b\",\"n\":2}\n\n{\"user\":\"c\",\"n\":\"x\"}\n", 2);
    let options =
        [("schema", "user STRING, n BIGINT"), ("mode", "FAILFAST"), ("maxFilesPerTrigger", "1")];
    let (rows, result) = read_all::<(Option<Str>, Option<i64>)>("json", &dirs, &options, "ff");
    let e = result.unwrap_err();
    assert!(e.contains(&format!("{} line 3", bad.display())), "{e}");
    assert!(e.contains("column 'n'"), "{e}");
    assert_eq!(rows, [(Some("a".into()), Some(1))], "batch 0 only");
    let commits = Path::new(&dirs.ckpt()).join("commits");
    assert!(commits.join("0").exists() && !commits.join("1").exists());

    // A restart re-runs the logged batch: the same file fails again.
    let (_, again) = read_all::<(Option<Str>, Option<i64>)>("json", &dirs, &options, "ff2");
    assert!(again.unwrap_err().contains("bad.json line 3"));
}

#[derive(ember::Row, Debug, Clone, PartialEq)]
struct Reading {
    sensor: Option<String>,
    value: Option<f64>,
    bad: Option<String>,
}

#[test]
fn dropmalformed_and_permissive() {
    let dirs = Dirs::new("modes");
    dirs.write("r.csv", "s1;1.5\ns2;oops\ns3\ns4;2\n", 1);
    let schema = ("schema", "sensor STRING, value DOUBLE, bad STRING");
    let options = [schema, ("sep", ";"), ("columnNameOfCorruptRecord", "bad")];
    let ok = |s: &str, v: f64| Reading { sensor: Some(s.into()), value: Some(v), bad: None };
    let corrupt = |line: &str| Reading { sensor: None, value: None, bad: Some(line.into()) };

    let (rows, result) = read_all::<Reading>("csv", &dirs, &options, "permissive");
    result.unwrap();
    assert_eq!(rows, [ok("s1", 1.5), corrupt("s2;oops"), corrupt("s3"), ok("s4", 2.0)]);

    let dirs2 = Dirs::new("modes-drop");
    std::fs::copy(dirs.root.join("data/r.csv"), dirs2.root.join("data/r.csv")).unwrap();
    let mut drop_options = options.to_vec();
    drop_options.push(("mode", "DROPMALFORMED"));
    let (rows, result) = read_all::<Reading>("csv", &dirs2, &drop_options, "dropped");
    result.unwrap();
    assert_eq!(rows, [ok("s1", 1.5), ok("s4", 2.0)]);
}

#[test]
fn bad_options_fail_at_load() {
    let session = session();
    let load = |format: &str, options: &[(&str, &str)]| {
        let mut r = session.read_stream().format(format);
        for (k, v) in options {
            r = r.option(k, v);
        }
        r.load().err().map(|e| e.to_string()).unwrap_or_default()
    };
    let cases: &[Case<'_>] = &[
        ("text", &[], "text source: option 'path' must be specified"),
        ("text", &[("path", "/d"), ("maxFilesPerTrigger", "0")], "'maxFilesPerTrigger' = '0'"),
        ("text", &[("path", "/d"), ("nope", "1")], "text source: unknown option 'nope'"),
        ("csv", &[("path", "/d")], "csv source: option 'schema' must be specified"),
        ("json", &[("path", "/d"), ("schema", "a INT"), ("mode", "FOO")], "option 'mode' = 'FOO'"),
        ("json", &[("path", "/d"), ("schema", "a INTT")], "unknown type 'INTT'"),
    ];
    for (format, options, needle) in cases {
        let e = load(format, options);
        assert!(e.contains(needle), "{format} {options:?}: {e:?}");
    }
    // Types are checked against the schema at as_().
    let df = session.read_stream().format("csv").option("path", "/d").option("schema", PERSON);
    let e = df.load().unwrap().as_::<(Option<Str>, Option<i64>)>().err().unwrap();
    assert!(e.to_string().contains("cannot read rows"), "{e}");
    // A nullable csv column cannot be read into a field that has no room for null.
    let df = session.read_stream().format("csv").option("path", "/d").option("schema", "n BIGINT");
    let e = df.load().unwrap().as_::<i64>().err().unwrap().to_string();
    assert!(e.contains("column 'n' may be null, so its field must be an Option"), "{e}");
    let df = session.read_stream().format("csv").option("path", "/d").option("schema", "n BIGINT");
    df.load().unwrap().as_::<Option<i64>>().unwrap();
}

#[test]
fn a_missing_directory_fails_at_start_naming_it() {
    let dirs = Dirs::new("missing");
    let missing = dirs.root.join("not-there").to_str().unwrap().to_owned();
    let session = session();
    let ds = session.read_stream().text(&missing).unwrap().as_::<Str>().unwrap();
    let e = ds
        .write_stream()
        .format("memory")
        .query_name("missing")
        .option("checkpointLocation", dirs.ckpt())
        .start()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&missing), "{e}");
}

/// A format, its options, and a part of the error they cause.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn available_now_reads_the_files_present_at_start_only() {
    let dirs = Dirs::new("available-now");
    dirs.write("a.txt", "x\n", 1);
    dirs.write("b.txt", "y\n", 2);
    let run = |session: &Session, add_during_run: bool| {
        let data = dirs.data();
        let adder = dirs.root.join("data");
        session
            .read_stream()
            .format("text")
            .option("path", &data)
            .option("maxFilesPerTrigger", 1)
            .load()
            .unwrap()
            .as_::<Str>()
            .unwrap()
            .write_stream()
            .option("checkpointLocation", dirs.ckpt())
            .trigger(Trigger::AvailableNow)
            .foreach_batch(move |batch, _| {
                if add_during_run && batch == 0 {
                    std::fs::write(adder.join("c.txt"), "z\n").unwrap();
                }
                Ok(())
            })
            .start()
            .unwrap()
    };
    let session = Session::builder().master("local[1]").get_or_create().unwrap();
    let q = run(&session, true);
    q.await_termination().unwrap();
    // c.txt arrived during the run: it waits for the next start.
    assert_eq!(q.recent_progress().len(), 2, "a.txt and b.txt, one per batch");
    let q = run(&session, false);
    q.await_termination().unwrap();
    let progress = q.recent_progress();
    assert_eq!(progress.len(), 1, "the next run reads c.txt");
    assert_eq!(progress[0].batch_id, 2);
    assert_eq!(progress[0].num_input_rows, 1);
}

//! The file source driven directly, as the engine drives it: offsets, the seen-files log and
//! its reuse after a crash, ordering, and what each format makes of its bytes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};

use super::columns::ROWS_PER_BATCH;
use super::*;

/// A fresh directory pair (`data`, `ckpt`) removed on drop.
struct Dirs {
    root: PathBuf,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        static N: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "ember-file-unit-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("data")).unwrap();
        Dirs { root }
    }
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    fn ckpt(&self) -> PathBuf {
        self.root.join("ckpt")
    }
    /// Writes `name` with `bytes`, modified `age_s` seconds before a fixed instant.
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>, age_s: u64) -> PathBuf {
        let path = self.data().join(name);
        std::fs::write(&path, bytes).unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 - age_s);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        path
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn source(format: &str, dir: &Path, options: &[(&str, &str)]) -> Box<dyn Source> {
    try_source(format, dir, options).unwrap()
}

fn try_source(format: &str, dir: &Path, options: &[(&str, &str)]) -> Result<Box<dyn Source>> {
    let mut o = Options::new();
    o.set("path", dir.to_str().unwrap());
    for (k, v) in options {
        o.set(k, *v);
    }
    factory(format, &o)?.create()
}

fn started(format: &str, dirs: &Dirs, options: &[(&str, &str)]) -> Box<dyn Source> {
    let mut s = source(format, &dirs.data(), options);
    s.start(&SourceContext { checkpoint_dir: dirs.ckpt() }).unwrap();
    s
}

fn off(n: u64) -> SourceOffset {
    offset_of(n)
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(column).as_string::<i32>();
            (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())).collect::<Vec<_>>()
        })
        .collect()
}

fn values(batches: &[RecordBatch]) -> Vec<String> {
    strings(batches, 0).into_iter().map(Option::unwrap_or_default).collect()
}

fn log_entries(dirs: &Dirs) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dirs.ckpt())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn offsets_follow_the_log_and_a_crashed_entry_is_reused() {
    let dirs = Dirs::new("offsets");
    dirs.write("a.txt", "a1\na2\n", 30);
    dirs.write("b.txt", "b1\n", 20);
    let mut s = started("text", &dirs, &[("maxFilesPerTrigger", "1")]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    assert_eq!(off(0).json(), r#"{"logOffset":0}"#);
    assert!(log_entries(&dirs).is_empty(), "the entry waits for persist_offset");
    s.persist_offset().unwrap();
    let entry = std::fs::read_to_string(dirs.ckpt().join("0")).unwrap();
    assert_eq!(entry, "v1\n{\"path\":\"a.txt\",\"timestamp\":1699999970000,\"batchId\":0}\n");

    // The process dies before the engine logs offset 0; a new file arrives meanwhile.
    drop(s);
    dirs.write("0-early.txt", "early\n", 40);
    let mut s = started("text", &dirs, &[("maxFilesPerTrigger", "1")]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)), "entry 0 is reused");
    assert_eq!(log_entries(&dirs), ["0"]);
    assert_eq!(values(&s.get_batch(None, &off(0)).unwrap()), ["a1", "a2"]);

    // The oldest unseen file comes next, then the remaining one, then nothing. An entry not
    // yet persisted when the process dies was never offered: it is planned afresh.
    assert_eq!(s.latest_offset(Some(&off(0))).unwrap(), Some(off(1)));
    drop(s);
    dirs.write("0-earlier.txt", "earlier\n", 50);
    let mut s = started("text", &dirs, &[("maxFilesPerTrigger", "1")]);
    assert_eq!(s.latest_offset(Some(&off(0))).unwrap(), Some(off(1)));
    assert_eq!(values(&s.get_batch(Some(&off(0)), &off(1)).unwrap()), ["earlier"]);
    assert_eq!(s.latest_offset(Some(&off(1))).unwrap(), Some(off(2)));
    assert_eq!(values(&s.get_batch(Some(&off(1)), &off(2)).unwrap()), ["early"]);
    assert_eq!(s.latest_offset(Some(&off(2))).unwrap(), Some(off(3)));
    assert_eq!(values(&s.get_batch(Some(&off(2)), &off(3)).unwrap()), ["b1"]);
    assert_eq!(s.latest_offset(Some(&off(3))).unwrap(), Some(off(3)));
    assert_eq!(log_entries(&dirs), ["0", "1", "2", "3"]);

    // A re-run of logged batches reads the logged files, and ranges span entries.
    let all = ["a1", "a2", "earlier", "early", "b1"];
    assert_eq!(values(&s.get_batch(None, &off(3)).unwrap()), all);
    assert_eq!(s.get_batch(Some(&off(3)), &off(3)).unwrap().len(), 0);
    let e = s.latest_offset(Some(&off(7))).unwrap_err().to_string();
    assert!(e.contains("past the last entry"), "{e}");
    let e = s.get_batch(Some(&off(3)), &off(4)).unwrap_err().to_string();
    assert!(e.contains("entry") && e.contains("missing"), "{e}");
    let e = s.latest_offset(Some(&SourceOffset::from_json("{\"x\":1}").unwrap())).unwrap_err();
    assert!(e.to_string().contains("is not {\"logOffset\":n}"), "{e}");
}

#[test]
fn no_files_means_no_offset_and_nothing_logged() {
    let dirs = Dirs::new("empty");
    let mut s = started("text", &dirs, &[]);
    assert_eq!(s.latest_offset(None).unwrap(), None);
    assert!(log_entries(&dirs).is_empty());
    dirs.write("x", "1\n2\n3", 0);
    dirs.write("y", "", 0);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    let batches = s.get_batch(None, &off(0)).unwrap();
    assert_eq!(values(&batches), ["1", "2", "3"]);
    assert_eq!(batches[0].schema().field(0).name(), "value");
    assert!(!batches[0].schema().field(0).is_nullable());
}

#[test]
fn hidden_files_and_subdirectories_are_skipped() {
    let dirs = Dirs::new("hidden");
    dirs.write(".part.tmp", "tmp\n", 0);
    dirs.write("_SUCCESS", "", 0);
    std::fs::create_dir(dirs.data().join("sub")).unwrap();
    std::fs::write(dirs.data().join("sub").join("inner.txt"), "inner\n").unwrap();
    dirs.write("real.txt", "real\n", 0);
    let mut s = started("text", &dirs, &[]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    assert_eq!(values(&s.get_batch(None, &off(0)).unwrap()), ["real"]);
    assert_eq!(s.latest_offset(Some(&off(0))).unwrap(), Some(off(0)));
}

#[test]
fn files_are_ordered_by_time_then_name_or_newest_first() {
    let dirs = Dirs::new("order");
    dirs.write("c", "c\n", 10);
    dirs.write("a", "a\n", 5);
    dirs.write("b", "b\n", 10);
    dirs.write("d", "d\n", 1);
    let mut s = started("text", &dirs, &[("maxFilesPerTrigger", "3")]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    assert_eq!(values(&s.get_batch(None, &off(0)).unwrap()), ["b", "c", "a"]);
    assert_eq!(s.latest_offset(Some(&off(0))).unwrap(), Some(off(1)));
    assert_eq!(values(&s.get_batch(Some(&off(0)), &off(1)).unwrap()), ["d"]);

    let dirs = Dirs::new("latest");
    for (name, age) in [("c", 10), ("a", 5), ("b", 10), ("d", 1)] {
        dirs.write(name, format!("{name}\n"), age);
    }
    let mut s = started("text", &dirs, &[("maxFilesPerTrigger", "2"), ("latestFirst", "true")]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    assert_eq!(values(&s.get_batch(None, &off(0)).unwrap()), ["d", "a"]);
    assert_eq!(s.latest_offset(Some(&off(0))).unwrap(), Some(off(1)));
    assert_eq!(values(&s.get_batch(Some(&off(0)), &off(1)).unwrap()), ["c", "b"]);
}

#[test]
fn a_vanished_file_is_an_io_error_naming_it() {
    let dirs = Dirs::new("vanished");
    let path = dirs.write("gone.txt", "x\n", 0);
    let mut s = started("text", &dirs, &[]);
    assert_eq!(s.latest_offset(None).unwrap(), Some(off(0)));
    std::fs::remove_file(&path).unwrap();
    let e = s.get_batch(None, &off(0)).unwrap_err();
    assert!(matches!(&e, EmberError::Io { path: p, .. } if *p == path), "{e:?}");
    assert!(e.to_string().contains("gone.txt"), "{e}");
}

#[test]
fn start_checks_the_directory() {
    let dirs = Dirs::new("start");
    let missing = dirs.root.join("nope");
    let mut s = source("text", &missing, &[]);
    let e = s.start(&SourceContext { checkpoint_dir: dirs.ckpt() }).unwrap_err().to_string();
    assert!(e.contains(&*missing.to_string_lossy()), "{e}");
    assert!(e.starts_with("source FileStreamSource[text:"), "{e}");
    let file = dirs.write("f", "", 0);
    let mut s = source("text", &file, &[]);
    let e = s.start(&SourceContext { checkpoint_dir: dirs.ckpt() }).unwrap_err().to_string();
    assert!(e.contains("not a directory"), "{e}");
    let e = source("json", &dirs.data(), &[("schema", "a INT")]).latest_offset(None).unwrap_err();
    assert!(e.to_string().contains("before start()"), "{e}");
}

#[test]
fn text_lines_end_at_lf_or_crlf_and_invalid_utf8_is_replaced() {
    let dirs = Dirs::new("lines");
    dirs.write("t", b"a\r\nb\n\n c \r\nx\ry\n\xff\xfeok\nlast\r".as_slice(), 0);
    let mut s = started("text", &dirs, &[]);
    s.latest_offset(None).unwrap();
    assert_eq!(
        values(&s.get_batch(None, &off(0)).unwrap()),
        ["a", "b", "", " c ", "x\ry", "\u{fffd}\u{fffd}ok", "last\r"]
    );
}

#[test]
fn large_files_are_split_into_batches_and_read_fast() {
    let dirs = Dirs::new("large");
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("line {i} of the quick brown fox jumps over the lazy dog\n"));
    }
    dirs.write("big", &text, 0);
    let mut s = started("text", &dirs, &[]);
    s.latest_offset(None).unwrap();
    let t = std::time::Instant::now();
    let batches = s.get_batch(None, &off(0)).unwrap();
    let elapsed = t.elapsed();
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    // Parsed in two halves: a batch ends at the cut, and none holds more than 65,536 rows.
    assert_eq!(sizes.iter().sum::<usize>(), 100_000);
    assert!(sizes.len() >= 2 && sizes.iter().all(|&n| n <= 65_536), "{sizes:?}");
    let all = values(&batches);
    assert_eq!(all[0], "line 0 of the quick brown fox jumps over the lazy dog");
    assert_eq!(all[99_999], "line 99999 of the quick brown fox jumps over the lazy dog");
    // Generous: a debug-ish test build on a loaded machine.
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}

const ALL_TYPES: &str = "s STRING, i INT, l BIGINT, d DOUBLE, f FLOAT, b BOOLEAN, sm SMALLINT, \
                         t TINYINT, day DATE, ts TIMESTAMP";

#[test]
fn csv_reads_every_type_with_quotes_header_and_nulls() {
    let dirs = Dirs::new("csv");
    dirs.write(
        "a.csv",
        "s,i,l,d,f,b,sm,t,day,ts\n\
         \"x, \"\"y\"\"\",1,-9000000000,2.5,1.5,true,-7,127,2024-02-29,2024-02-29 01:02:03.5\r\n\
         \n\
         ,,,,,,,,,\n\
         \"\",2,3,NaN,-Inf,FALSE,0,0,1970-01-01,1970-01-01T00:00:01Z\n",
        0,
    );
    let mut s = started("csv", &dirs, &[("schema", ALL_TYPES), ("header", "true")]);
    s.latest_offset(None).unwrap();
    let batches = s.get_batch(None, &off(0)).unwrap();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.schema(), config_schema("csv", &[("schema", ALL_TYPES)]));
    assert_eq!(b.num_rows(), 3);
    assert_eq!(strings(&batches, 0), [Some("x, \"y\"".into()), None, Some(String::new())]);
    let i = b.column(1).as_primitive::<Int32Type>();
    assert_eq!((i.value(0), i.is_null(1), i.value(2)), (1, true, 2));
    assert_eq!(b.column(2).as_primitive::<Int64Type>().value(0), -9_000_000_000);
    let d = b.column(3).as_primitive::<Float64Type>();
    assert_eq!(d.value(0), 2.5);
    assert!(d.value(2).is_nan());
    assert_eq!(b.column(4).as_primitive::<Float32Type>().value(2), f32::NEG_INFINITY);
    let bools = b.column(5).as_boolean();
    assert!(bools.value(0) && !bools.value(2) && bools.is_null(1));
    assert_eq!(b.column(6).as_primitive::<Int16Type>().value(0), -7);
    assert_eq!(b.column(7).as_primitive::<Int8Type>().value(0), 127);
    let days = b.column(8).as_primitive::<Date32Type>();
    assert_eq!((days.value(0), days.value(2)), (19_782, 0));
    let ts = b.column(9).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 19_782 * 86_400_000_000 + 3_723_500_000);
    assert_eq!(ts.value(2), 1_000_000);
    for c in 1..10 {
        assert!(b.column(c).is_null(1), "column {c}");
    }
}

fn config_schema(format: &str, options: &[(&str, &str)]) -> Arc<ArrowSchema> {
    let mut o = Options::new();
    o.set("path", "/x");
    for (k, v) in options {
        o.set(k, *v);
    }
    parse_options(format, &o).unwrap().arrow
}

#[test]
fn csv_sep_and_quote_options() {
    let dirs = Dirs::new("csvsep");
    dirs.write("a", "'a;b';1\nc\t;2\n", 0);
    let mut s =
        started("csv", &dirs, &[("schema", "s STRING, n INT"), ("sep", ";"), ("quote", "'")]);
    s.latest_offset(None).unwrap();
    let batches = s.get_batch(None, &off(0)).unwrap();
    assert_eq!(strings(&batches, 0), [Some("a;b".into()), Some("c\t".into())]);

    let dirs = Dirs::new("csvtab");
    dirs.write("a", "\"q\"\t1\n", 0);
    let mut s = started(
        "csv",
        &dirs,
        &[("schema", "s STRING, n INT"), ("delimiter", "\\t"), ("quote", "")],
    );
    s.latest_offset(None).unwrap();
    assert_eq!(strings(&s.get_batch(None, &off(0)).unwrap(), 0), [Some("\"q\"".into())]);
}

#[test]
fn malformed_records_by_mode() {
    let dirs = Dirs::new("modes");
    let file =
        dirs.write("m.csv", b"h\n1,a\n\nbad,b\n2\n\xff,c\n3,d,e\n4,\"d\n5,e\n".as_slice(), 0);
    let schema = ("schema", "n INT, s STRING, _corrupt_record STRING");
    let run = |mode: &str| {
        let mut s = started("csv", &dirs, &[schema, ("mode", mode), ("header", "true")]);
        s.latest_offset(None).unwrap();
        s.get_batch(None, &off(0))
    };
    let e = run("FAILFAST").unwrap_err();
    match &e {
        EmberError::Malformed { file: f, line, reason } => {
            assert_eq!((f, *line), (&file, 4));
            assert!(reason.contains("column 'n'") && reason.contains("'bad' as INT"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("m.csv line 4"), "{e}");

    let dropped = run("dropMalformed").unwrap();
    assert_eq!(strings(&dropped, 1), [Some("a".into()), Some("e".into())]);
    assert_eq!(strings(&dropped, 2), [None, None]);

    let kept = run("permissive").unwrap();
    assert_eq!(kept[0].num_rows(), 7);
    assert_eq!(
        strings(&kept, 2),
        [
            None,
            Some("bad,b".into()),
            Some("2".into()),
            Some("\u{fffd},c".into()),
            Some("3,d,e".into()),
            Some("4,\"d".into()),
            None
        ]
    );
    let n = kept[0].column(0).as_primitive::<Int32Type>();
    assert_eq!((n.value(0), n.null_count(), n.value(6)), (1, 5, 5));
    assert_eq!(strings(&kept, 1)[1], None, "a malformed record keeps none of its fields");

    // Without a corrupt-record column, PERMISSIVE gives all-null rows.
    let dirs2 = Dirs::new("modes2");
    dirs2.write("m.csv", "x\n7\n", 0);
    let mut s = started("csv", &dirs2, &[("schema", "n INT")]);
    s.latest_offset(None).unwrap();
    let b = s.get_batch(None, &off(0)).unwrap();
    let n = b[0].column(0).as_primitive::<Int32Type>();
    assert_eq!((n.len(), n.is_null(0), n.value(1)), (2, true, 7));
}

#[test]
fn json_lines_by_name_with_conversions() {
    let dirs = Dirs::new("json");
    dirs.write(
        "a.json",
        concat!(
            r#"{"name":"ann","age":30,"extra":[1],"score":1.5,"ok":true}"#,
            "\n",
            r#"{"age":null,"name":5,"score":"NaN","when":"2024-02-29 00:00:01","day":"1970-01-02"}"#,
            "\n   \n",
            r#"{"name":{"b":[1,"x"]},"score":2,"when":86400}"#,
            "\n",
            r#"{"age":1.5}"#,
            "\n",
            r#"{"age":3000000000}"#,
            "\n",
            r#"[1,2]"#,
            "\n",
            r#"{"name":"unterminated"#,
            "\n",
            r#"{"ok":"true"}"#,
            "\n",
            r#"{"Name":"case","_corrupt_record":"ignored"}"#,
        ),
        0,
    );
    let schema = "name STRING, age INT, score DOUBLE, ok BOOLEAN, when TIMESTAMP, day DATE, _corrupt_record STRING";
    let mut s = started("json", &dirs, &[("schema", schema)]);
    s.latest_offset(None).unwrap();
    let batches = s.get_batch(None, &off(0)).unwrap();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 9);
    assert_eq!(
        strings(&batches, 0),
        [
            Some("ann".into()),
            Some("5".into()),
            Some(r#"{"b":[1,"x"]}"#.into()),
            None,
            None,
            None,
            None,
            None,
            None
        ]
    );
    let corrupt = strings(&batches, 6);
    assert_eq!(corrupt[..3], [None, None, None]);
    assert_eq!(corrupt[3].as_deref(), Some(r#"{"age":1.5}"#));
    assert_eq!(corrupt[4].as_deref(), Some(r#"{"age":3000000000}"#));
    assert_eq!(corrupt[5].as_deref(), Some("[1,2]"));
    assert_eq!(corrupt[7].as_deref(), Some(r#"{"ok":"true"}"#));
    assert_eq!(corrupt[8], None, "a corrupt-record key in the data is not read");
    let age = b.column(1).as_primitive::<Int32Type>();
    assert_eq!((age.value(0), age.is_null(1)), (30, true));
    let score = b.column(2).as_primitive::<Float64Type>();
    assert!(score.value(1).is_nan());
    assert_eq!(score.value(2), 2.0);
    let when = b.column(4).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(when.value(1), 19_782 * 86_400_000_000 + 1_000_000);
    assert_eq!(when.value(2), 86_400_000_000);
    assert_eq!(b.column(5).as_primitive::<Date32Type>().value(1), 1);

    let mut s = started("json", &dirs, &[("schema", schema), ("mode", "FAILFAST")]);
    s.latest_offset(None).unwrap();
    match s.get_batch(None, &off(0)).unwrap_err() {
        EmberError::Malformed { line, reason, .. } => {
            assert_eq!(line, 5);
            assert!(reason.contains("column 'age'") && reason.contains("1.5 to INT"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn options_are_checked_at_load() {
    let bad = |format: &str, options: &[(&str, &str)]| {
        try_source(format, Path::new("/tmp/x"), options).err().map(|e| e.to_string()).unwrap()
    };
    let cases: &[Case<'_>] = &[
        ("text", &[("maxFilesPerTrigger", "0")], "'maxFilesPerTrigger' = '0' is invalid"),
        ("text", &[("maxFilesPerTrigger", "-1")], "'maxFilesPerTrigger' = '-1' is invalid"),
        ("text", &[("latestFirst", "yes")], "'latestFirst' = 'yes' is invalid"),
        ("text", &[("schema", "a INT")], "unknown option 'schema'"),
        ("text", &[("fileNameOnly", "true")], "unknown option 'filenameonly'"),
        ("json", &[], "option 'schema' must be specified"),
        ("csv", &[], "option 'schema' must be specified"),
        ("json", &[("schema", "a WHAT")], "option 'schema' = 'a WHAT' is invalid: column 'a'"),
        ("json", &[("schema", "a INT"), ("mode", "FOO")], "option 'mode' = 'FOO' is invalid"),
        ("json", &[("schema", "a INT"), ("header", "true")], "unknown option 'header'"),
        ("csv", &[("schema", "a INT"), ("header", "1")], "option 'header' = '1' is invalid"),
        ("csv", &[("schema", "a INT"), ("sep", ";;")], "option 'sep' = ';;' is invalid"),
        ("csv", &[("schema", "a INT"), ("delimiter", "")], "option 'delimiter' = '' is invalid"),
        ("csv", &[("schema", "a INT"), ("quote", "ab")], "option 'quote' = 'ab' is invalid"),
        ("csv", &[("schema", "a INT"), ("quote", ",")], "also the separator"),
        (
            "csv",
            &[("schema", "a INT, bad INT"), ("columnNameOfCorruptRecord", "bad")],
            "corrupt-record column 'bad' (option 'columnNameOfCorruptRecord') must be STRING",
        ),
        ("csv", &[("schema", "_corrupt_record STRING")], "only the corrupt-record column"),
    ];
    for (format, options, needle) in cases {
        let e = bad(format, options);
        assert!(e.contains(needle), "{format} {options:?}: {e}");
        assert!(e.starts_with(&format!("{format} source: ")), "{e}");
    }
    let mut o = Options::new();
    let e = factory("text", &o).err().unwrap().to_string();
    assert_eq!(e, "text source: option 'path' must be specified");
    o.set("PATH", "/d");
    o.set("MAXFILESPERTRIGGER", "2");
    let f = factory("text", &o).unwrap();
    assert_eq!(f.description(), "FileStreamSource[text:/d]");
    assert_eq!(f.create().unwrap().description(), "FileStreamSource[text:/d]");
}

/// A format, its options, and a part of the error they cause.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

fn text_config() -> Config {
    let mut o = Options::new();
    o.set("path", "/x");
    parse_options("text", &o).unwrap()
}

/// Every line of `batches`, in order.
fn text_lines(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0).as_string::<i32>().iter().map(|s| s.unwrap().to_owned()).collect::<Vec<_>>()
        })
        .collect()
}

/// A large text file is parsed in two halves at once; the rows, their order and the text of
/// every line are those of one pass, wherever the cut falls.
#[test]
fn a_large_text_file_parsed_in_halves_equals_one_pass() {
    let config = text_config();
    let path = Path::new("/x/big.txt");
    let mut big = Vec::new();
    let mut i = 0u64;
    while big.len() < text::PARALLEL_TEXT_BYTES * 2 {
        match i % 5 {
            0 => big.extend_from_slice(b"\r\n"),
            1 => big.extend_from_slice(b"caf\xc3\xa9 \xff bad\n"),
            _ => big.extend_from_slice(format!("line {i} of the file\n").as_bytes()),
        }
        i += 1;
    }
    big.extend_from_slice(b"last line without an end");
    let whole = text::text_batches(&config, &big).ok().unwrap();
    let halves = text::read_text(&config, path, big.clone()).unwrap();
    assert_ne!(halves[0].num_rows(), whole[0].num_rows(), "the file was cut in two");
    assert_eq!(text_lines(&halves), text_lines(&whole));
    assert_eq!(text_lines(&halves).len() as u64, i + 1);
    // The only line end after the middle is the last byte: the second half is empty.
    let mut one_end = vec![b'x'; text::PARALLEL_TEXT_BYTES * 2];
    one_end[10] = b'\n';
    *one_end.last_mut().unwrap() = b'\n';
    let whole = text::text_batches(&config, &one_end).ok().unwrap();
    let halves = text::read_text(&config, path, one_end).unwrap();
    assert_eq!(text_lines(&halves), text_lines(&whole));
    // No line end after the middle: one pass.
    let no_end = vec![b'y'; text::PARALLEL_TEXT_BYTES * 2];
    assert_eq!(text_lines(&text::read_text(&config, path, no_end).unwrap()).len(), 1);
}

/// Lines squeezed in place are split into arrays as the builder splits them: at most
/// 65,536 rows each, and the file's rows in order.
#[test]
fn squeezed_lines_fill_arrays_of_at_most_the_batch_rows() {
    let config = text_config();
    let path = Path::new("/x/many.txt");
    let lines = ROWS_PER_BATCH * 2 + 17;
    let text: String = (0..lines).map(|i| format!("{}\r\n", i % 1000)).collect();
    let whole = text::text_batches(&config, text.as_bytes()).ok().unwrap();
    for parallel_from in [0, usize::MAX] {
        let batches =
            text::read_text_from(&config, path, text.clone().into_bytes(), parallel_from).unwrap();
        assert!(batches.iter().all(|b| b.num_rows() <= ROWS_PER_BATCH));
        assert_eq!(text_lines(&batches), text_lines(&whole));
        if parallel_from == usize::MAX {
            let rows: Vec<_> = batches.iter().map(RecordBatch::num_rows).collect();
            assert_eq!(rows, whole.iter().map(RecordBatch::num_rows).collect::<Vec<_>>());
        }
    }
}

proptest::proptest! {
    /// Whatever the bytes and wherever the cut, the in-place parse (of valid parts) and the
    /// copying one (of the rest) give the lines of a single copying pass.
    #[test]
    fn text_parsed_in_place_equals_the_copying_parse(
        pieces in proptest::collection::vec(
            proptest::sample::select(vec![&b"a"[..], b"bc", b"\xc3\xa9", b"\r", b"\n", b"\r\n", b"\xff", b" "]),
            0..200,
        ),
        parallel_from in proptest::sample::select(vec![0usize, 1, 16, 64, usize::MAX]),
    ) {
        let config = text_config();
        let bytes: Vec<u8> = pieces.concat();
        let whole = text::text_batches(&config, &bytes).ok().unwrap();
        let parsed = text::read_text_from(&config, Path::new("/x/p.txt"), bytes, parallel_from)
            .unwrap();
        proptest::prop_assert_eq!(text_lines(&parsed), text_lines(&whole));
    }
}

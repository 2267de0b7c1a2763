//! The exactly-once `json` / `csv` file sink through the public API: file contents, the manifest
//! log in `_ember_metadata/`, restarts, re-runs of committed batches, leftovers of killed
//! writers, damaged manifests, and the option and checkpoint checks at `start()`.
//!
//! The manifest is parsed here independently of the sink (format in `docs/file-sink.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray,
};
use ember::options::Options;
use ember::sink::{MemoryTables, Sink, SinkContext};
use ember::{DataFrame, MemoryStream, OutputMode, Session, Str};

/// A unique scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir()
            .join(format!("ember-file-sink-{name}-{}-{seq}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn session() -> Session {
    Session::builder().master("local[2]").get_or_create().unwrap()
}

/// One data file line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    path: String,
    size: u64,
    batch: u64,
    rows: u64,
}

/// Parses `<out>/_ember_metadata/<batch>` as the format doc says.
fn manifest(out: &Path, batch: u64) -> Vec<Listed> {
    let file = out.join("_ember_metadata").join(batch.to_string());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "v1");
    let header: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(header["batch"].as_u64(), Some(batch));
    assert_eq!(header["numFiles"].as_u64(), Some(lines.len() as u64 - 2), "{text}");
    lines[2..]
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 4, "{l}");
            Listed {
                path: v["path"].as_str().unwrap().to_owned(),
                size: v["size"].as_u64().unwrap(),
                batch: v["batch"].as_u64().unwrap(),
                rows: v["rows"].as_u64().unwrap(),
            }
        })
        .collect()
}

/// Manifest ids present.
fn manifest_ids(out: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = std::fs::read_dir(out.join("_ember_metadata"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    ids.sort();
    ids
}

/// Every committed data file's text, in batch order, checked against its manifest entry.
fn committed_text(out: &Path) -> String {
    let mut text = String::new();
    for batch in manifest_ids(out) {
        for e in manifest(out, batch) {
            let bytes = std::fs::read(out.join(&e.path)).unwrap();
            assert_eq!(bytes.len() as u64, e.size, "{}", e.path);
            text.push_str(&String::from_utf8(bytes).unwrap());
        }
    }
    text
}

/// Every file of `dir` (not the manifest directory) with its bytes.
fn data_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A `(v, "s{v}")` query from `input` to `format` at `out`.
fn start_query(
    input: &MemoryStream<i64>,
    format: &str,
    out: &Path,
    ckpt: &Path,
    extra: &[(&str, &str)],
) -> ember::Result<ember::StreamingQuery> {
    let session = session();
    let ds = DataFrame::from_source(&session, input.factory()).as_::<i64>()?;
    let mut w = ds
        .map(|v| (v, Str::from(format!("s{v}"))))
        .write_stream()
        .format(format)
        .option("path", out.display())
        .option("checkpointLocation", ckpt.display());
    for (k, v) in extra {
        w = w.option(k, v);
    }
    w.start()
}

fn ctx() -> SinkContext {
    SinkContext { query_name: None, mode: OutputMode::Append, tables: MemoryTables::default() }
}

/// A started sink of `format` writing to `out`.
fn direct_sink(format: &str, out: &Path, extra: &[(&str, &str)]) -> Box<dyn Sink> {
    let mut opts = Options::new();
    opts.set("path", out.display().to_string());
    for (k, v) in extra {
        opts.set(k, *v);
    }
    let mut sink = ember::sink::factory(format, &opts).unwrap()().unwrap();
    sink.start(&ctx()).unwrap();
    sink
}

fn id_batch(values: &[i64]) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from(values.to_vec()));
    RecordBatch::try_from_iter([("id", ids)]).unwrap()
}

#[test]
fn json_query_writes_one_file_per_batch_and_a_manifest() {
    let dir = Scratch::new("json");
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let input = MemoryStream::<i64>::new();
    let q = start_query(&input, "json", &out, &ckpt, &[]).unwrap();
    input.add_data([1, 2, 3]).unwrap();
    q.process_all_available().unwrap();
    input.add_data([4]).unwrap();
    q.process_all_available().unwrap();
    assert_eq!(
        q.last_progress().unwrap().sink.description,
        format!("FileSink[json:{}]", out.display())
    );
    q.stop();
    assert!(q.exception().is_none());

    assert_eq!(manifest_ids(&out), [0, 1]);
    let m0 = manifest(&out, 0);
    assert_eq!(m0.len(), 1);
    assert_eq!((m0[0].batch, m0[0].rows), (0, 3));
    let name = &m0[0].path;
    let uuid = name.strip_prefix("part-00000-").unwrap().strip_suffix(".json").unwrap();
    assert!(is_uuid(uuid), "{name}");
    assert_eq!(
        std::fs::read_to_string(out.join(name)).unwrap(),
        "{\"_1\":1,\"_2\":\"s1\"}\n{\"_1\":2,\"_2\":\"s2\"}\n{\"_1\":3,\"_2\":\"s3\"}\n"
    );
    let m1 = manifest(&out, 1);
    assert!(m1[0].path.starts_with("part-00001-"));
    assert_eq!(
        std::fs::read_to_string(out.join(&m1[0].path)).unwrap(),
        "{\"_1\":4,\"_2\":\"s4\"}\n"
    );
    // Exactly the two data files and the manifest directory; no temporary file is left.
    let names: Vec<String> = data_files(&out).into_keys().collect();
    assert_eq!(names, [m0[0].path.clone(), m1[0].path.clone()]);
}

#[test]
fn csv_query_quotes_cells_and_writes_headers() {
    let dir = Scratch::new("csv");
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let q = ds
        .map(|v| {
            let s = match v {
                1 => "plain",
                2 => "a,b",
                3 => "say \"hi\"",
                4 => "two\nlines",
                5 => "cr\rhere",
                _ => "",
            };
            (v, Str::from(s))
        })
        .write_stream()
        .format("csv")
        .option("path", out.display())
        .option("header", "true")
        .option("checkpointLocation", ckpt.display())
        .start()
        .unwrap();
    input.add_data([1, 2, 3, 4, 5, 6]).unwrap();
    q.process_all_available().unwrap();
    q.stop();
    assert!(q.exception().is_none());
    let m = manifest(&out, 0);
    assert!(m[0].path.starts_with("part-00000-") && m[0].path.ends_with(".csv"));
    assert_eq!(m[0].rows, 6);
    assert_eq!(
        committed_text(&out),
        "_1,_2\n1,plain\n2,\"a,b\"\n3,\"say \"\"hi\"\"\"\n4,\"two\nlines\"\n5,\"cr\rhere\"\n6,\"\"\n"
    );
}

#[test]
fn csv_options_sep_and_quote() {
    let dir = Scratch::new("csv-sep");
    let out = dir.join("out");
    let mut sink = direct_sink("csv", &out, &[("sep", ";"), ("quote", "'")]);
    assert_eq!(sink.description(), format!("FileSink[csv:{}]", out.display()));
    let names: ArrayRef =
        Arc::new(StringArray::from(vec![Some("a;b"), Some("it's"), Some("a,b"), None]));
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)]));
    let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
    sink.add_batch(0, &[batch]).unwrap();
    assert_eq!(committed_text(&out), "1;'a;b'\n;'it''s'\n3;a,b\n4;\n");
}

#[test]
fn values_of_every_type_as_spark_writes_them() {
    let dir = Scratch::new("types");
    let (json_out, csv_out) = (dir.join("json"), dir.join("csv"));
    let col = |a: ArrayRef| a;
    let batch = RecordBatch::try_from_iter([
        ("b", col(Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])))),
        ("d", col(Arc::new(Date32Array::from(vec![Some(19_723), Some(-1), None])))),
        (
            "t",
            col(Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_704_067_200_000_000),
                Some(1_500_999),
                Some(-1),
            ]))),
        ),
        ("f", col(Arc::new(Float64Array::from(vec![1.0, f64::NAN, f64::NEG_INFINITY])))),
        ("g", col(Arc::new(Float32Array::from(vec![Some(0.1f32), Some(f32::INFINITY), None])))),
        ("s", col(Arc::new(StringArray::from(vec![Some("q\"\\\n\t\u{1}é"), None, Some("")])))),
        (
            "bin",
            col(Arc::new(BinaryArray::from(vec![
                Some(&b"foo"[..]),
                Some(&[0xff, 0xfe][..]),
                None,
            ]))),
        ),
    ])
    .unwrap();
    let mut json = direct_sink("json", &json_out, &[]);
    json.add_batch(0, std::slice::from_ref(&batch)).unwrap();
    assert_eq!(
        committed_text(&json_out),
        concat!(
            r#"{"b":true,"d":"2024-01-01","t":"2024-01-01T00:00:00.000Z","f":1.0,"g":0.1,"s":"q\"\\\n\t\u0001é","bin":"Zm9v"}"#,
            "\n",
            r#"{"d":"1969-12-31","t":"1970-01-01T00:00:01.500Z","f":"NaN","g":"Infinity","bin":"//4="}"#,
            "\n",
            r#"{"b":false,"t":"1969-12-31T23:59:59.999Z","f":"-Infinity","s":""}"#,
            "\n",
        )
    );
    for line in committed_text(&json_out).lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let mut csv = direct_sink("csv", &csv_out, &[("header", "true")]);
    csv.add_batch(0, &[batch]).unwrap();
    assert_eq!(
        committed_text(&csv_out),
        concat!(
            "b,d,t,f,g,s,bin\n",
            "true,2024-01-01,2024-01-01T00:00:00.000Z,1.0,0.1,\"q\"\"\\\n\t\u{1}é\",Zm9v\n",
            ",1969-12-31,1970-01-01T00:00:01.500Z,NaN,Infinity,,//4=\n",
            "false,,1969-12-31T23:59:59.999Z,-Infinity,,\"\",\n",
        )
    );
}

#[test]
fn restart_from_the_checkpoint_adds_new_files_only() {
    let dir = Scratch::new("restart");
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let input = MemoryStream::<i64>::new();
    let q = start_query(&input, "json", &out, &ckpt, &[]).unwrap();
    input.add_data([1, 2]).unwrap();
    q.process_all_available().unwrap();
    input.add_data([3]).unwrap();
    q.process_all_available().unwrap();
    q.stop();
    let before = data_files(&out);
    let manifests_before: Vec<Vec<u8>> = [0, 1]
        .iter()
        .map(|b| std::fs::read(out.join("_ember_metadata").join(b.to_string())).unwrap())
        .collect();
    assert_eq!(before.len(), 2);

    input.add_data([4, 5]).unwrap();
    let q = start_query(&input, "json", &out, &ckpt, &[]).unwrap();
    q.process_all_available().unwrap();
    q.stop();
    assert!(q.exception().is_none());
    let after = data_files(&out);
    assert_eq!(after.len(), 3);
    for (name, bytes) in &before {
        assert_eq!(after.get(name), Some(bytes), "{name} changed");
    }
    for (b, bytes) in manifests_before.iter().enumerate() {
        assert_eq!(&std::fs::read(out.join("_ember_metadata").join(b.to_string())).unwrap(), bytes);
    }
    assert_eq!(manifest_ids(&out), [0, 1, 2]);
    let m2 = manifest(&out, 2);
    assert_eq!(
        std::fs::read_to_string(out.join(&m2[0].path)).unwrap(),
        "{\"_1\":4,\"_2\":\"s4\"}\n{\"_1\":5,\"_2\":\"s5\"}\n"
    );
    assert_eq!(committed_text(&out).lines().count(), 5, "every row once: {}", committed_text(&out));
}

#[test]
fn an_empty_batch_commits_a_manifest_without_a_data_file() {
    let dir = Scratch::new("empty");
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    let q = ds
        .filter(|v| *v > 10)
        .write_stream()
        .format("json")
        .option("path", out.display())
        .option("checkpointLocation", ckpt.display())
        .start()
        .unwrap();
    input.add_data([1, 2]).unwrap();
    q.process_all_available().unwrap();
    input.add_data([11]).unwrap();
    q.process_all_available().unwrap();
    q.stop();
    assert!(q.exception().is_none());
    assert_eq!(manifest_ids(&out), [0, 1]);
    assert_eq!(
        std::fs::read_to_string(out.join("_ember_metadata/0")).unwrap(),
        "v1\n{\"batch\":0,\"numFiles\":0}\n"
    );
    assert_eq!(data_files(&out).len(), 1);
    assert_eq!(committed_text(&out), "{\"value\":11}\n");
}

#[test]
fn a_committed_batch_handed_over_again_writes_nothing() {
    let dir = Scratch::new("rerun");
    let out = dir.join("out");
    let mut sink = direct_sink("json", &out, &[]);
    sink.add_batch(0, &[id_batch(&[1, 2])]).unwrap();
    let files = data_files(&out);
    let manifest0 = std::fs::read(out.join("_ember_metadata/0")).unwrap();
    sink.add_batch(0, &[id_batch(&[1, 2])]).unwrap();
    assert_eq!(data_files(&out), files);
    drop(sink);
    // A restarted sink (the engine re-runs the batch it had not committed yet).
    let mut sink = direct_sink("json", &out, &[]);
    sink.add_batch(0, &[id_batch(&[1, 2])]).unwrap();
    assert_eq!(data_files(&out), files);
    assert_eq!(std::fs::read(out.join("_ember_metadata/0")).unwrap(), manifest0);
    sink.add_batch(1, &[id_batch(&[3])]).unwrap();
    assert_eq!(committed_text(&out), "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
}

#[test]
fn leftovers_of_a_killed_writer_are_never_committed() {
    let dir = Scratch::new("leftover");
    let out = dir.join("out");
    let mut sink = direct_sink("json", &out, &[]);
    sink.add_batch(0, &[id_batch(&[1])]).unwrap();
    drop(sink);
    // Batch 1 was written but the writer died before its manifest; and a temporary file.
    let leftover = out.join("part-00001-00000000-0000-4000-8000-000000000000.json");
    let temp = out.join(".part-00001-00000000-0000-4000-8000-000000000001.json.tmp");
    std::fs::write(&leftover, "{\"id\":666}\n").unwrap();
    std::fs::write(&temp, "{\"id\":").unwrap();
    assert_eq!(manifest_ids(&out), [0]);
    assert_eq!(committed_text(&out), "{\"id\":1}\n");
    // The re-run of batch 1 replaces them.
    let mut sink = direct_sink("json", &out, &[]);
    sink.add_batch(1, &[id_batch(&[2])]).unwrap();
    assert!(!leftover.exists() && !temp.exists());
    assert_eq!(committed_text(&out), "{\"id\":1}\n{\"id\":2}\n");
    assert_eq!(data_files(&out).len(), 2);
}

#[test]
fn damaged_manifests_are_errors_naming_the_file() {
    let dir = Scratch::new("damaged");
    let out = dir.join("out");
    let mut sink = direct_sink("json", &out, &[]);
    sink.add_batch(0, &[id_batch(&[1])]).unwrap();
    drop(sink);
    let m0 = out.join("_ember_metadata/0");
    let good = std::fs::read(&m0).unwrap();
    let rerun_error = || {
        let mut sink = direct_sink("json", &out, &[]);
        let e = sink.add_batch(0, &[id_batch(&[1])]).unwrap_err().to_string();
        assert!(e.contains(&m0.display().to_string()), "{e}");
        e
    };
    for cut in [0, 1, 3, good.len() / 2, good.len() - 1] {
        std::fs::write(&m0, &good[..cut]).unwrap();
        let e = rerun_error();
        assert!(e.contains("incomplete"), "cut at {cut}: {e}");
    }
    std::fs::write(&m0, [b"v2".as_slice(), &good[2..]].concat()).unwrap();
    let e = rerun_error();
    assert!(e.contains("v2") && e.contains("v1"), "{e}");
    std::fs::write(&m0, String::from_utf8(good.clone()).unwrap().replace(":0,", ": 0,")).unwrap();
    assert!(rerun_error().contains("line 2"));
    // A manifest listing a file that is not there: refused, naming the file.
    std::fs::write(&m0, &good).unwrap();
    let listed = manifest(&out, 0)[0].path.clone();
    std::fs::remove_file(out.join(&listed)).unwrap();
    let e = rerun_error();
    assert!(e.contains(&listed), "{e}");
}

#[test]
fn two_queries_cannot_share_an_output_path() {
    let dir = Scratch::new("two");
    let out = dir.join("out");
    let input = MemoryStream::<i64>::new();
    let q1 = start_query(&input, "json", &out, &dir.join("ckpt1"), &[]).unwrap();
    // While the first runs, a second query on another checkpoint is refused at start.
    let e = start_query(&input, "json", &out, &dir.join("ckpt2"), &[]).err().unwrap().to_string();
    assert!(e.contains("another query is writing to"), "{e}");
    input.add_data([1]).unwrap();
    q1.process_all_available().unwrap();
    input.add_data([2]).unwrap();
    q1.process_all_available().unwrap();
    q1.stop();
    // Once it stopped, a query with a fresh checkpoint would find batch 0 committed by the
    // other one: it fails instead of silently skipping its batches.
    let q2 = start_query(&input, "json", &out, &dir.join("ckpt3"), &[]).unwrap();
    assert!(q2.process_all_available().is_err());
    let e = q2.exception().unwrap().to_string();
    assert!(e.contains("another query"), "{e}");
    q2.stop();
    assert_eq!(committed_text(&out), "{\"_1\":1,\"_2\":\"s1\"}\n{\"_1\":2,\"_2\":\"s2\"}\n");
}

#[test]
fn options_and_checkpoint_are_checked_at_start() {
    let dir = Scratch::new("options");
    let session = session();
    let input = MemoryStream::<i64>::new();
    let ds = DataFrame::from_source(&session, input.factory()).as_::<i64>().unwrap();
    for format in ["json", "csv"] {
        let e = ds
            .write_stream()
            .format(format)
            .option("checkpointLocation", dir.join("c").display())
            .start()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("option 'path' must be specified"), "{e}");
        let e = ds
            .write_stream()
            .format(format)
            .option("path", dir.join("o").display())
            .start()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("checkpointLocation must be specified"), "{e}");
        let e = ds
            .write_stream()
            .format(format)
            .option("path", dir.join("o").display())
            .option("compression", "gzip")
            .option("checkpointLocation", dir.join("c").display())
            .start()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown option 'compression'"), "{e}");
    }
    let e = start_query(&input, "json", &dir.join("o"), &dir.join("c"), &[("header", "true")])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unknown option 'header'"), "{e}");
    let e = start_query(&input, "csv", &dir.join("o"), &dir.join("c"), &[("quote", "")])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'quote'"), "{e}");
    // The file sink appends: Complete mode is refused.
    let e = ds
        .group_by_key(|v: &i64| v % 2)
        .count()
        .write_stream()
        .output_mode(OutputMode::Complete)
        .format("json")
        .option("path", dir.join("o").display())
        .option("checkpointLocation", dir.join("c2").display())
        .start()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not support Complete output mode"), "{e}");
}

#[test]
fn csv_refuses_nested_columns() {
    let dir = Scratch::new("nested");
    let out = dir.join("out");
    let mut sink = direct_sink("csv", &out, &[]);
    let list: ArrayRef = Arc::new(arrow_array::ListArray::from_iter_primitive::<
        arrow_array::types::Int64Type,
        _,
        _,
    >(vec![Some(vec![Some(1)])]));
    let batch = RecordBatch::try_from_iter([("xs", list)]).unwrap();
    let e = sink.add_batch(0, &[batch]).unwrap_err().to_string();
    assert!(e.contains("CSV data source does not support") && e.contains("'xs'"), "{e}");
    assert_eq!(manifest_ids(&out), Vec::<u64>::new());
    assert!(data_files(&out).is_empty(), "{:?}", data_files(&out));
}

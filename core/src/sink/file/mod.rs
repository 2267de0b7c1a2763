//! The exactly-once file sink for the `json` and `csv` formats (Spark's `FileStreamSink` with
//! its `ManifestFileCommitProtocol`). The full specification is `docs/file-sink.md`.
//!
//! # Options
//!
//! | option | formats | default | meaning |
//! |---|---|---|---|
//! | `path` | both | required | the output directory, created if missing |
//! | `header` | csv | `false` | each data file starts with a line of column names |
//! | `sep` | csv | `,` | between cells; any non-empty text without CR, LF or the quote (`\t` means a tab) |
//! | `quote` | csv | `"` | one character around cells that need quoting |
//!
//! Any other option is refused when the query starts, and so is a query without a
//! `checkpointLocation` (the writer enforces it: these formats are [durable](super::is_durable)).
//! The file sink takes Append and Update mode (each batch's rows are appended), not Complete.
//!
//! # Values
//!
//! JSON Lines: one compact object per row, keys the Arrow field names in order, null fields
//! left out (Spark's `ignoreNullFields`), nested structs as objects, lists as arrays (null
//! elements as `null`). CSV: cells joined by `sep`, lines ended by `\n`, null an empty cell,
//! the empty string `""`; a cell holding `sep`, the quote, CR or LF is quoted, quotes inside
//! doubled; struct and list columns are refused. Both: dates `2024-01-01`, timestamps
//! `2024-01-01T00:00:00.000Z` (UTC, milliseconds, Spark's default `timestampFormat`), floats
//! in shortest round-trip form (`1.0`, `0.1`, `1e-7`), `NaN`/`Infinity`/`-Infinity` as text
//! (JSON strings), binary as base64.
//!
//! # Layout
//!
//! ```text
//! <path>/
//!   part-<batch>-<uuid>.json|csv      the data file of batch <batch> (<batch> zero-padded to 5)
//!   .part-<batch>-<uuid>.json.tmp     a data file being written (or left by a killed writer)
//!   _ember_metadata/
//!     .lock                           held (flock) by the running sink: one writer per path
//!     <batch>                         the manifest of committed batch <batch>: decimal, no padding
//! ```
//!
//! A batch with rows writes exactly one data file; an empty batch writes none but still
//! commits a manifest. A data file is visible to readers only once a manifest lists it; any
//! other file in `<path>` (temporary files, data files of a writer killed before its manifest)
//! is ignored, and the leftovers of the batch being rewritten are deleted.
//!
//! # Manifest format
//!
//! `_ember_metadata/<batch>` is UTF-8 text; every line, the last one included, ends with `\n`:
//!
//! ```text
//! v1
//! {"batch":7,"numFiles":1}
//! {"path":"part-00007-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.json","size":123,"batch":7,"rows":3}
//! ```
//!
//! Line 1 is the version, `v1` ([`MANIFEST_VERSION`]). Line 2 names the batch and how many
//! file lines follow, so that a file cut at a line boundary is refused. Then one compact JSON
//! object per data file, keys in this order: `path` (the file name, relative to `<path>`,
//! starting with `part-`), `size` (its length in bytes), `batch` (the manifest's batch) and
//! `rows`. An empty batch's manifest has `"numFiles":0` and no file line. Parsing is strict and
//! every error names the file: an empty or truncated file, another version (`v2`: the error
//! names both versions), a blank or extra line, unknown or missing keys, non-canonical JSON, a
//! file listed twice, a batch that is not the manifest's.
//!
//! # Commit protocol
//!
//! `add_batch(b)` writes the rows to `.part-<b>-<uuid>.<ext>.tmp`, fsyncs it, renames it to
//! `part-<b>-<uuid>.<ext>`, fsyncs `<path>`, and only then publishes `_ember_metadata/<b>`
//! through [`FsLogStore::create_new`] (temporary file, fsync, rename without overwrite,
//! directory fsync). The engine commits the batch to its checkpoint afterwards, so after a
//! crash it may hand batch `b` over again: if manifest `b` exists the batch is skipped.
//!
//! Two queries (two checkpoints) writing one path are refused where that is cheap: the lock
//! refuses a second running sink; the first batch after a start must be the next manifest id
//! (or the last one, a re-run) and later batches must not find their manifest written; a
//! re-run's manifest must list files that exist with their recorded sizes.

mod encode;
mod manifest;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use ember_state::checkpoint::{CheckpointError, FsLogStore, LogStore, QueryId};

use self::encode::{CsvStyle, json_object};
use self::manifest::FileEntry;
use super::{Sink, SinkContext, SinkFactory};
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::arrow::{append_batch, schema_from_arrow};
use crate::row::{FieldSource, RowArena, Value};
use crate::streaming::OutputMode;

/// The manifest directory inside the output directory (Spark: `_spark_metadata`).
pub const METADATA_DIR: &str = "_ember_metadata";

/// The manifest version line this build writes, and the only one it reads.
pub const MANIFEST_VERSION: &str = "v1";

/// The output format of a file sink.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    Json,
    Csv(CsvStyle),
}

impl Format {
    fn name(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv(_) => "csv",
        }
    }
}

/// What the options of one file sink say.
#[derive(Debug, Clone)]
struct Config {
    format: Format,
    path: PathBuf,
}

/// The factory of a `json` or `csv` sink; checks the options.
pub(crate) fn factory(format: &str, options: &Options) -> Result<SinkFactory> {
    let what = format!("{format} sink");
    let format = match format {
        "json" => {
            options.check_known(&what, &["path"])?;
            Format::Json
        }
        "csv" => {
            options.check_known(&what, &["path", "header", "sep", "quote"])?;
            Format::Csv(csv_style(&what, options)?)
        }
        other => return Err(EmberError::config(format!("{other} is not a file sink format"))),
    };
    let path = match options.get("path") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            return Err(EmberError::config(format!(
                "{what}: option 'path' must be specified: the output directory"
            )));
        }
    };
    let config = Arc::new(Config { format, path });
    Ok(Arc::new(move || Ok(Box::new(FileSink::new(config.clone())) as Box<dyn Sink>)))
}

fn csv_style(what: &str, options: &Options) -> Result<CsvStyle> {
    let header = options.flag(what, "header", false)?;
    let sep = match options.get("sep").unwrap_or(",") {
        "\\t" => "\t".to_owned(),
        s => s.to_owned(),
    };
    let mut quote_chars = options.get("quote").unwrap_or("\"").chars();
    let quote = match (quote_chars.next(), quote_chars.next()) {
        (Some(c), None) if c != '\r' && c != '\n' => c,
        _ => {
            return Err(EmberError::config(format!(
                "{what}: option 'quote' = '{}' is invalid: expected one character other than \
                 CR and LF",
                options.get("quote").unwrap_or_default()
            )));
        }
    };
    if sep.is_empty() || sep.contains(['\r', '\n']) || sep.contains(quote) {
        return Err(EmberError::config(format!(
            "{what}: option 'sep' = '{sep}' is invalid: expected non-empty text without CR, LF \
             or the quote character"
        )));
    }
    Ok(CsvStyle { sep, quote, header })
}

/// What a started sink holds.
struct Started {
    /// The manifest log, rooted at `<path>/_ember_metadata`.
    store: FsLogStore,
    /// Held while the sink lives: one writer per output path.
    _lock: File,
}

/// Writes each batch to one data file and commits it in the manifest log.
struct FileSink {
    config: Arc<Config>,
    started: Option<Started>,
    /// The last batch this sink instance wrote or skipped.
    last: Option<u64>,
}

impl FileSink {
    fn new(config: Arc<Config>) -> FileSink {
        FileSink { config, started: None, last: None }
    }

    /// The manifest log, once started.
    fn store(&self) -> Result<&FsLogStore> {
        self.started
            .as_ref()
            .map(|s| &s.store)
            .ok_or_else(|| EmberError::sink(self.description(), "add_batch called before start"))
    }

    fn extension(&self) -> &'static str {
        self.config.format.name()
    }

    /// Checks the manifest log against the first batch after a start, and decides whether it
    /// is a re-run to skip.
    fn check_first(&self, meta: &Path, batch: u64) -> Result<bool> {
        let desc = self.description();
        let ids = manifest::list_ids(meta)?;
        let other_query = "another query has written to this output path (two queries cannot \
                           share a file sink path), or the checkpoint is not the one this output \
                           was written with";
        if let Some(&last) = ids.last() {
            if ids.len() as u64 != last + 1 {
                let missing = (0..=last).find(|i| !ids.contains(i)).unwrap_or(0);
                return Err(EmberError::sink(
                    &desc,
                    format!(
                        "manifest file {} is missing while batches up to {last} are committed",
                        meta.join(missing.to_string()).display()
                    ),
                ));
            }
            if last > batch || (last < batch && last + 1 != batch) {
                return Err(EmberError::sink(
                    &desc,
                    format!(
                        "the output has committed batches 0..={last} but the query writes batch \
                         {batch}: {other_query}"
                    ),
                ));
            }
        } else if batch > 0 {
            return Err(EmberError::sink(
                &desc,
                format!(
                    "the output has no committed batch but the query writes batch {batch}: the \
                     output was deleted or {other_query}; start the query with a new checkpoint"
                ),
            ));
        }
        if !ids.contains(&batch) {
            return Ok(false);
        }
        // A re-run of the batch the last run committed here: its files must still be there.
        let entries = manifest::read(&desc, meta, batch)?.unwrap_or_default();
        manifest::check_files(&desc, &self.config.path, &meta.join(batch.to_string()), &entries)?;
        let keep: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        self.delete_leftovers(batch, &keep)?;
        Ok(true)
    }

    /// Deletes the data and temporary files of `batch` in the output directory that are not in
    /// `keep`: what a writer killed before its manifest left. The lock makes them ours.
    fn delete_leftovers(&self, batch: u64, keep: &[&str]) -> Result<()> {
        let dir = &self.config.path;
        let prefix = format!("part-{batch:05}-");
        let rd = std::fs::read_dir(dir).map_err(|e| EmberError::io(dir, e))?;
        let mut deleted = false;
        for entry in rd {
            let entry = entry.map_err(|e| EmberError::io(dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let plain = name.strip_prefix('.').unwrap_or(name);
            if plain.starts_with(&prefix) && !keep.contains(&name) {
                let p = entry.path();
                match std::fs::remove_file(&p) {
                    Ok(()) => deleted = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(EmberError::io(&p, e)),
                }
            }
        }
        if deleted {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Writes the rows of `data` to a new data file; `None` when there are no rows.
    fn write_data(&self, batch: u64, data: &[RecordBatch]) -> Result<Option<FileEntry>> {
        let rows: usize = data.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return Ok(None);
        }
        let desc = self.description();
        let name = format!("part-{batch:05}-{}.{}", QueryId::random(), self.extension());
        let dir = &self.config.path;
        let temp = dir.join(format!(".{name}.tmp"));
        let target = dir.join(&name);
        let mut guard = RemoveOnDrop(Some(temp.clone()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| EmberError::io(&temp, e))?;
        let mut w = std::io::BufWriter::with_capacity(256 << 10, file);
        let mut line = String::new();
        let mut header_done = false;
        for batch_data in data.iter().filter(|b| b.num_rows() > 0) {
            let schema = Arc::new(schema_from_arrow(&batch_data.schema())?);
            let fields = schema.fields();
            if let Format::Csv(style) = &self.config.format {
                style.check_fields(&desc, fields)?;
                if style.header && !header_done {
                    line.clear();
                    style.header_line(&mut line, fields);
                    w.write_all(line.as_bytes()).map_err(|e| EmberError::io(&temp, e))?;
                }
            }
            header_done = true;
            let mut arena = RowArena::new(schema.clone());
            append_batch(&mut arena, batch_data)?;
            let mut values: Vec<Value> = Vec::with_capacity(fields.len());
            for row in arena.iter() {
                values.clear();
                values.extend((0..fields.len()).map(|i| row.get_value(i)));
                line.clear();
                match &self.config.format {
                    Format::Json => {
                        json_object(&mut line, fields, &values);
                        line.push('\n');
                    }
                    Format::Csv(style) => style.row_line(&mut line, &values),
                }
                w.write_all(line.as_bytes()).map_err(|e| EmberError::io(&temp, e))?;
            }
        }
        let file = w.into_inner().map_err(|e| EmberError::io(&temp, e.into_error()))?;
        file.sync_data().map_err(|e| EmberError::io(&temp, e))?;
        let size = file.metadata().map_err(|e| EmberError::io(&temp, e))?.len();
        drop(file);
        std::fs::rename(&temp, &target).map_err(|e| EmberError::io(&target, e))?;
        guard.0 = Some(target);
        sync_dir(dir)?;
        guard.0 = None;
        Ok(Some(FileEntry { path: name, size, batch, rows: rows as u64 }))
    }
}

/// Deletes a file when a write fails part-way.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| EmberError::io(dir, e))
}

impl Sink for FileSink {
    fn description(&self) -> String {
        format!("FileSink[{}:{}]", self.config.format.name(), self.config.path.display())
    }

    fn start(&mut self, ctx: &SinkContext) -> Result<()> {
        if ctx.mode == OutputMode::Complete {
            return Err(EmberError::analysis(format!(
                "Data source {} does not support Complete output mode: a file sink appends \
                 each batch's rows; use Append or Update",
                self.config.format.name()
            )));
        }
        let meta = self.config.path.join(METADATA_DIR);
        // Creates <path> and <path>/_ember_metadata durably, and sweeps dead temporary files.
        let store = FsLogStore::open(&meta)?;
        let output = self.config.path.clone();
        let lock = crate::dirlock::lock_dir(&meta, || {
            format!(
                "another query is writing to {}: two queries cannot share a file sink output \
                 path",
                output.display()
            )
        })?;
        self.started = Some(Started { store, _lock: lock });
        self.last = None;
        Ok(())
    }

    fn add_batch(&mut self, batch_id: u64, data: &[RecordBatch]) -> Result<()> {
        let desc = self.description();
        let meta = self.store()?.root().to_path_buf();
        match self.last {
            // Handed over again within this run: already written or skipped.
            Some(last) if batch_id <= last => return Ok(()),
            Some(_) => {
                let file = meta.join(batch_id.to_string());
                if file.exists() {
                    return Err(EmberError::sink(
                        desc,
                        format!(
                            "manifest file {} exists already: another query is writing to this \
                             output path (two queries cannot share a file sink path)",
                            file.display()
                        ),
                    ));
                }
            }
            None => {
                if self.check_first(&meta, batch_id)? {
                    self.last = Some(batch_id);
                    return Ok(());
                }
                self.delete_leftovers(batch_id, &[])?;
            }
        }
        let entry = self.write_data(batch_id, data)?;
        let bytes = manifest::encode(batch_id, entry.as_slice());
        if let Err(e) = self.store()?.create_new(&batch_id.to_string(), &bytes) {
            if let Some(entry) = &entry {
                let _ = std::fs::remove_file(self.config.path.join(&entry.path));
            }
            return Err(match e {
                CheckpointError::ConcurrentWriter { path } => EmberError::sink(
                    desc,
                    format!(
                        "manifest file {} was created by someone else meanwhile: another query \
                         is writing to this output path",
                        path.display()
                    ),
                ),
                other => other.into(),
            });
        }
        self.last = Some(batch_id);
        Ok(())
    }
}

/// The data files of every committed batch of the file sink output in `dir`, by batch id in
/// increasing order: what manifest entries `0..=last` of `dir/_ember_metadata` list. Files no
/// manifest lists (leftovers of a killed writer, temporary files) are never returned.
///
/// Fails, naming the file, when `dir` has no manifest log, when a manifest is damaged,
/// truncated or of another version, when an entry below the last is missing, or when a listed
/// data file is missing or has another size than recorded.
// Reached by users through the re-export in `sink/mod.rs`.
pub fn read_committed_batches(dir: &Path) -> Result<Vec<(u64, Vec<PathBuf>)>> {
    let desc = format!("FileSink[{}]", dir.display());
    let meta = dir.join(METADATA_DIR);
    if !meta.is_dir() {
        return Err(EmberError::sink(
            desc,
            format!(
                "{} is not a file sink output: {} does not exist",
                dir.display(),
                meta.display()
            ),
        ));
    }
    let ids = manifest::list_ids(&meta)?;
    let Some(&last) = ids.last() else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(ids.len());
    for batch in 0..=last {
        let file = meta.join(batch.to_string());
        let Some(entries) = manifest::read(&desc, &meta, batch)? else {
            return Err(EmberError::sink(
                desc,
                format!(
                    "manifest file {} is missing while batches up to {last} are committed",
                    file.display()
                ),
            ));
        };
        out.push((batch, manifest::check_files(&desc, dir, &file, &entries)?));
    }
    Ok(out)
}

/// The data files of every committed batch of the file sink output in `dir`, in batch order
/// (the files of [`read_committed_batches`], flattened).
pub fn read_committed(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_committed_batches(dir)?.into_iter().flat_map(|(_, files)| files).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};

    use super::*;
    use crate::sink::MemoryTables;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "ember-file-sink-unit-{name}-{}-{}",
                std::process::id(),
                QueryId::random()
            ));
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn sink(format: &str, dir: &Path) -> Box<dyn Sink> {
        let mut options = Options::new();
        options.set("path", dir.display().to_string());
        let mut sink = factory(format, &options).unwrap()().unwrap();
        sink.start(&SinkContext {
            query_name: None,
            mode: OutputMode::Append,
            tables: MemoryTables::default(),
        })
        .unwrap();
        sink
    }

    fn batch(values: &[i64]) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from(values.to_vec()));
        let names: ArrayRef =
            Arc::new(StringArray::from(values.iter().map(|v| format!("s{v}")).collect::<Vec<_>>()));
        RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap()
    }

    fn text(files: &[PathBuf]) -> String {
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }

    #[test]
    fn reader_sees_committed_files_only() {
        let dir = Scratch::new("reader");
        let mut s = sink("json", &dir.0);
        s.add_batch(0, &[batch(&[1, 2])]).unwrap();
        s.add_batch(1, &[]).unwrap();
        s.add_batch(2, &[batch(&[3])]).unwrap();
        drop(s);
        // A killed writer's leftovers: a renamed data file and a temporary file of batch 3.
        std::fs::write(dir.0.join("part-00003-dead.json"), "{\"id\":9}\n").unwrap();
        std::fs::write(dir.0.join(".part-00003-dead.json.tmp"), "{").unwrap();
        let batches = read_committed_batches(&dir.0).unwrap();
        assert_eq!(
            batches.iter().map(|(b, f)| (*b, f.len())).collect::<Vec<_>>(),
            [(0, 1), (1, 0), (2, 1)]
        );
        let files = read_committed(&dir.0).unwrap();
        assert_eq!(
            text(&files),
            "{\"id\":1,\"name\":\"s1\"}\n{\"id\":2,\"name\":\"s2\"}\n{\"id\":3,\"name\":\"s3\"}\n"
        );
        // The next writer of batch 3 deletes them.
        let mut s = sink("json", &dir.0);
        s.add_batch(3, &[batch(&[4])]).unwrap();
        assert!(!dir.0.join("part-00003-dead.json").exists());
        assert!(!dir.0.join(".part-00003-dead.json.tmp").exists());
        assert_eq!(read_committed(&dir.0).unwrap().len(), 3);
    }

    #[test]
    fn reader_errors_name_the_file() {
        let dir = Scratch::new("damaged");
        let mut s = sink("csv", &dir.0);
        s.add_batch(0, &[batch(&[1])]).unwrap();
        s.add_batch(1, &[batch(&[2])]).unwrap();
        drop(s);
        let meta = dir.0.join(METADATA_DIR);
        let m1 = meta.join("1");
        let good = std::fs::read(&m1).unwrap();
        let err = |what: &str| {
            let e = read_committed(&dir.0).unwrap_err().to_string();
            assert!(e.contains(&m1.display().to_string()), "{what}: {e}");
            e
        };
        std::fs::write(&m1, &good[..good.len() - 1]).unwrap();
        assert!(err("truncated").contains("incomplete"));
        std::fs::write(&m1, b"").unwrap();
        assert!(err("empty").contains("empty"));
        std::fs::write(&m1, b"v7\n").unwrap();
        let e = err("version");
        assert!(e.contains("v7") && e.contains("v1"), "{e}");
        std::fs::write(&m1, [&good[..], b"junk\n"].concat()).unwrap();
        assert!(err("garbage").contains("line 4"));
        std::fs::write(&m1, &good).unwrap();
        let files = read_committed(&dir.0).unwrap();
        assert_eq!(text(&files), "1,s1\n2,s2\n");
        // A listed file that is gone or changed size.
        std::fs::write(&files[1], "2,s2,extra\n").unwrap();
        let e = err("size");
        assert!(e.contains(&files[1].display().to_string()), "{e}");
        std::fs::remove_file(&files[1]).unwrap();
        assert!(err("missing").contains("does not exist"));
        // A missing entry below the last.
        std::fs::remove_file(meta.join("0")).unwrap();
        let e = read_committed(&dir.0).unwrap_err().to_string();
        assert!(e.contains(&meta.join("0").display().to_string()), "{e}");
        // Not a sink output at all.
        let e = read_committed(&dir.0.join("nowhere")).unwrap_err().to_string();
        assert!(e.contains(METADATA_DIR), "{e}");
    }

    #[test]
    fn options_are_checked() {
        let mut o = Options::new();
        let e = factory("json", &o).err().unwrap().to_string();
        assert!(e.contains("option 'path' must be specified"), "{e}");
        o.set("path", "/tmp/x");
        o.set("header", "true");
        let e = factory("json", &o).err().unwrap().to_string();
        assert!(e.contains("unknown option 'header'"), "{e}");
        assert!(factory("csv", &o).is_ok());
        o.set("quote", "ab");
        assert!(factory("csv", &o).err().unwrap().to_string().contains("'quote'"));
        o.set("quote", "'");
        o.set("sep", "");
        assert!(factory("csv", &o).err().unwrap().to_string().contains("'sep'"));
        o.set("sep", "\\t");
        assert!(factory("csv", &o).is_ok());
        o.set("header", "maybe");
        assert!(factory("csv", &o).err().unwrap().to_string().contains("'header'"));
    }
}

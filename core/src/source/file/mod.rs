//! The streaming file sources `text`, `csv` and `json` (Spark's `FileStreamSource`): each
//! batch reads files that appeared in a directory since the last one.
//!
//! # Options
//!
//! All formats: `path` (required, the directory), `maxFilesPerTrigger` (a positive integer;
//! default unlimited), `latestFirst` (default `false`). `csv` and `json` also take `schema`
//! (required, a DDL string such as `name STRING, age INT`: see [`schema`]), `mode`
//! (`PERMISSIVE`, the default, `DROPMALFORMED` or `FAILFAST`, any case) and
//! `columnNameOfCorruptRecord` (default `_corrupt_record`); `csv` also `header` (default
//! `false`), `sep` or its alias `delimiter` (one character, or `\t`; default `,`; `sep` wins
//! if both are set) and `quote` (one character, default `"`; empty turns quoting off). Every
//! option is checked by `load()`; the directory itself is checked by `start()`, as in Spark.
//!
//! # Which files, in which order
//!
//! The directory is listed without recursion: subdirectories are ignored (Ember has no
//! partition columns), and so are names starting with `.` or `_` (temporary files,
//! `_SUCCESS` markers) and names that are not UTF-8. Files must be complete when they appear
//! (written elsewhere, then moved in) and never change afterwards: a re-run batch reads them
//! again. Files not in the seen-files log are ordered by (modification time to the
//! millisecond, name), oldest first — newest first with `latestFirst` (the reverse order) —
//! and the first `maxFilesPerTrigger` form the next log entry. A file is read once, whatever
//! happens to its modification time later; one appearing with an older time than files
//! already read is still new. Under `Trigger::AvailableNow` the directory is listed once, when
//! the query starts, and the files present then are the last ones it reads (in as many
//! batches as `maxFilesPerTrigger` needs); files arriving during the run wait for the next
//! start, as in Spark.
//!
//! # Offsets and the seen-files log
//!
//! The offset is `{"logOffset":N}`, the number of the last log entry a batch reads, as
//! Spark's `FileStreamSourceOffset`. The log lives in the source's checkpoint directory (see
//! [`log`] for the entry format); entry `N` lists the files, by name relative to the source
//! directory, that entry added. `latest_offset(start)` returns the entry after `start` if it
//! exists already (written by a run that died before the engine logged its batch), else lists
//! the directory and writes a new entry, else returns `start`. `get_batch(start, end)` reads
//! the files of entries `start + 1 ..= end`, so a re-run reads exactly what the first run
//! read. Entries are never compacted or deleted; the `path` of a checkpoint must not change.
//!
//! # Records
//!
//! Lines end at `\n` or `\r\n`; a last line without one counts. `text`: each line is a row of
//! the one non-null `value STRING` column, invalid UTF-8 replaced by U+FFFD as Spark does.
//! `csv` ([`csv`]) and `json` ([`json`], JSON Lines): lines that are empty or blank are
//! skipped; with `header` the first non-blank line of each file is skipped (its names are not
//! checked). Every column is nullable. A malformed record (a parse error, a wrong field count
//! or type, invalid UTF-8) is, by `mode`: `FAILFAST`, an [`EmberError::Malformed`] naming the
//! file and line (counted from 1, blank and header lines included) that fails the query before
//! the batch commits; `DROPMALFORMED`, skipped; `PERMISSIVE`, a row of nulls whose
//! corrupt-record column, if the schema has a STRING column of that name, holds the line.
//! Unlike Spark's CSV reader, PERMISSIVE keeps none of a malformed record's fields. The
//! corrupt-record column is never read from the data (a csv record has one field fewer).
//!
//! Each file is read whole and becomes record batches of at most 65,536 rows. A text file is
//! parsed in place, its bytes the values of its string arrays, and in two halves at once if
//! it holds 1 MiB or more ([`text`]).

mod columns;
mod csv;
mod json;
mod log;
mod schema;
mod text;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use arrow_array::RecordBatch;
use arrow_schema::Schema as ArrowSchema;

use self::columns::{Batcher, Cell};
use self::csv::{CsvParser, Dialect};
use self::log::{FileLog, LoggedFile};
use super::{Source, SourceContext, SourceFactory, SourceOffset};
use crate::byte_search::find_byte;
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::arrow::to_arrow_schema;
use crate::row::{DataType, Field, Schema};

/// The longest line read: a longer one fails the batch (Arrow strings are limited to 2 GiB
/// per column and batch).
const MAX_LINE_BYTES: usize = 1 << 30;

/// Options every format takes.
const COMMON_OPTIONS: &[&str] = &["path", "maxFilesPerTrigger", "latestFirst"];
/// Options `json` adds.
const JSON_OPTIONS: &[&str] = &["schema", "mode", "columnNameOfCorruptRecord"];
/// Options `csv` adds to those of `json`.
const CSV_OPTIONS: &[&str] = &["header", "sep", "delimiter", "quote"];

/// The record format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Csv { header: bool, dialect: Dialect },
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv { .. } => "csv",
            Format::Json => "json",
        }
    }
}

/// What to do with a malformed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Permissive,
    DropMalformed,
    FailFast,
}

/// Everything `load()` checked: shared by the factory and every source it creates.
#[derive(Debug)]
struct Config {
    format: Format,
    /// The directory as given, for descriptions.
    path_text: String,
    dir: PathBuf,
    max_files: Option<usize>,
    latest_first: bool,
    schema: Arc<Schema>,
    arrow: Arc<ArrowSchema>,
    mode: Mode,
    /// The index of the corrupt-record column, in PERMISSIVE mode or not.
    corrupt: Option<usize>,
}

impl Config {
    fn description(&self) -> String {
        format!("FileStreamSource[{}:{}]", self.format.name(), self.path_text)
    }
}

/// The factory of a `text`, `csv` or `json` source: checks every option.
pub(crate) fn factory(format: &str, options: &Options) -> Result<Arc<dyn SourceFactory>> {
    Ok(Arc::new(FileFactory { config: Arc::new(parse_options(format, options)?) }))
}

fn parse_options(format: &str, options: &Options) -> Result<Config> {
    let what = format!("{format} source");
    let what = what.as_str();
    let known: Vec<&str> = match format {
        "text" => COMMON_OPTIONS.to_vec(),
        "json" => [COMMON_OPTIONS, JSON_OPTIONS].concat(),
        "csv" => [COMMON_OPTIONS, JSON_OPTIONS, CSV_OPTIONS].concat(),
        other => return Err(EmberError::config(format!("unknown file format '{other}'"))),
    };
    options.check_known(what, &known)?;
    let path_text = options.required(what, "path")?.to_owned();
    if path_text.is_empty() {
        return Err(EmberError::config(format!("{what}: option 'path' must not be empty")));
    }
    let max_files = match options.parse_opt::<usize>(what, "maxFilesPerTrigger")? {
        Some(0) => {
            return Err(EmberError::config(format!(
                "{what}: option 'maxFilesPerTrigger' = '0' is invalid: expected a positive integer"
            )));
        }
        other => other,
    };
    let latest_first = options.flag(what, "latestFirst", false)?;
    let bad = |key: &str, reason: String| {
        let value = options.get(key).unwrap_or_default();
        EmberError::config(format!("{what}: option '{key}' = '{value}' is invalid: {reason}"))
    };
    let (format, schema, mode, corrupt) = if format == "text" {
        let schema = Schema::new(vec![Field::new("value", DataType::Utf8, false)]);
        (Format::Text, schema, Mode::Permissive, None)
    } else {
        let ddl = options.get("schema").ok_or_else(|| {
            EmberError::config(format!(
                "{what}: option 'schema' must be specified: a streaming {format} source needs \
                 a user schema, e.g. option(\"schema\", \"name STRING, age INT\")"
            ))
        })?;
        let schema = schema::parse_ddl(ddl).map_err(|e| bad("schema", e))?;
        let mode = match options.get("mode").map(str::to_ascii_uppercase).as_deref() {
            None | Some("PERMISSIVE") => Mode::Permissive,
            Some("DROPMALFORMED") => Mode::DropMalformed,
            Some("FAILFAST") => Mode::FailFast,
            Some(_) => {
                return Err(bad(
                    "mode",
                    "expected PERMISSIVE, DROPMALFORMED or FAILFAST".to_owned(),
                ));
            }
        };
        let corrupt_name = options.get("columnNameOfCorruptRecord").unwrap_or("_corrupt_record");
        let corrupt = schema.index_of(corrupt_name);
        if let Some(i) = corrupt
            && schema.field(i).data_type != DataType::Utf8
        {
            return Err(EmberError::config(format!(
                "{what}: the corrupt-record column '{corrupt_name}' (option \
                 'columnNameOfCorruptRecord') must be STRING, not {}",
                columns::type_name(&schema.field(i).data_type)
            )));
        }
        if corrupt.is_some() && schema.len() == 1 {
            return Err(bad(
                "schema",
                format!("it has only the corrupt-record column '{corrupt_name}'"),
            ));
        }
        let format = if format == "csv" {
            let header = options.flag(what, "header", false)?;
            let sep_key = if options.get("sep").is_some() { "sep" } else { "delimiter" };
            let sep = match options.get(sep_key) {
                None => ',',
                Some(text) => one_char(text)
                    .ok_or_else(|| bad(sep_key, "expected one character (or \\t)".to_owned()))?,
            };
            let quote = match options.get("quote") {
                None => Some('"'),
                Some("") => None,
                Some(text) => Some(one_char(text).ok_or_else(|| {
                    bad("quote", "expected one character, or empty for no quoting".to_owned())
                })?),
            };
            if quote == Some(sep) {
                return Err(bad("quote", format!("it is also the separator '{sep}'")));
            }
            if sep == '\n' || sep == '\r' || quote.is_some_and(|q| q == '\n' || q == '\r') {
                return Err(EmberError::config(format!(
                    "{what}: options 'sep' and 'quote' cannot be a line break"
                )));
            }
            Format::Csv { header, dialect: Dialect { sep, quote } }
        } else {
            Format::Json
        };
        (format, schema, mode, corrupt)
    };
    let schema = Arc::new(schema);
    Ok(Config {
        format,
        dir: PathBuf::from(&path_text),
        path_text,
        max_files,
        latest_first,
        arrow: Arc::new(to_arrow_schema(&schema)),
        schema,
        mode,
        corrupt,
    })
}

/// The character of a one-character option (`\t` spelled out counts as a tab).
fn one_char(text: &str) -> Option<char> {
    if text == "\\t" {
        return Some('\t');
    }
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

struct FileFactory {
    config: Arc<Config>,
}

impl SourceFactory for FileFactory {
    fn schema(&self) -> Arc<Schema> {
        self.config.schema.clone()
    }
    fn description(&self) -> String {
        self.config.description()
    }
    fn create(&self) -> Result<Box<dyn Source>> {
        Ok(Box::new(FileSource { config: self.config.clone(), log: None, available_now: None }))
    }
}

/// One query's file source.
struct FileSource {
    config: Arc<Config>,
    /// Opened by `start`.
    log: Option<FileLog>,
    /// Under `Trigger::AvailableNow`: the files present when this run started and not yet
    /// logged, in reading order. Batches take them from the front; the directory is not
    /// listed again (Spark's `allFilesForTriggerAvailableNow`).
    available_now: Option<VecDeque<LoggedFile>>,
}

/// The offset of log entry `id`.
fn offset_of(id: u64) -> SourceOffset {
    SourceOffset::from_value(&serde_json::json!({ "logOffset": id }))
}

impl FileSource {
    fn error(&self, message: impl Into<String>) -> EmberError {
        EmberError::source(self.config.description(), message)
    }

    fn log(&self) -> Result<&FileLog> {
        self.log.as_ref().ok_or_else(|| self.error("used before start()"))
    }

    /// The log entry number of `offset`.
    fn entry_of(&self, offset: &SourceOffset) -> Result<u64> {
        let id = offset.to_value().get("logOffset").and_then(serde_json::Value::as_u64);
        // Entry numbers are at most i64::MAX (Spark's longs), so `id + 1` cannot overflow.
        id.filter(|&id| id <= i64::MAX as u64).ok_or_else(|| {
            self.error(format!("offset {} is not {{\"logOffset\":n}}", offset.json()))
        })
    }

    /// The record batches of one file.
    fn read_file(&self, name: &str) -> Result<Vec<RecordBatch>> {
        let path = self.config.dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| EmberError::io(&path, e))?;
        match self.config.format {
            Format::Text => text::read_text(&self.config, &path, bytes),
            _ => read_records(&self.config, &path, &bytes),
        }
    }
}

impl Source for FileSource {
    fn description(&self) -> String {
        self.config.description()
    }

    fn schema(&self) -> Arc<Schema> {
        self.config.schema.clone()
    }

    fn start(&mut self, ctx: &SourceContext) -> Result<()> {
        let dir = &self.config.dir;
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(self.error(format!("path {} is not a directory", dir.display()))),
            Err(e) => {
                return Err(self.error(format!("path {} cannot be read: {e}", dir.display())));
            }
        }
        if let Err(e) = std::fs::read_dir(dir) {
            return Err(self.error(format!("path {} cannot be listed: {e}", dir.display())));
        }
        self.log = Some(FileLog::open(&ctx.checkpoint_dir)?);
        Ok(())
    }

    fn latest_offset(&mut self, start: Option<&SourceOffset>) -> Result<Option<SourceOffset>> {
        let start_id = start.map(|s| self.entry_of(s)).transpose()?;
        let Some(log) = self.log.as_mut() else {
            return Err(self.error("used before start()"));
        };
        log.persist()?;
        let last = log.last();
        if let Some(s) = start_id
            && last.is_none_or(|last| s > last)
        {
            let dir = log.entry_path(s).parent().map(Path::to_path_buf).unwrap_or_default();
            return Err(self.error(format!(
                "offset {{\"logOffset\":{s}}} is past the last entry of the seen-files log in {}",
                dir.display()
            )));
        }
        let next = start_id.map_or(0, |s| s + 1);
        if last.is_some_and(|last| last >= next) {
            // Written by a run that died before the engine logged the batch: reuse it.
            return Ok(Some(offset_of(next)));
        }
        let files = match self.available_now.as_mut() {
            Some(pending) => {
                let take = self.config.max_files.map_or(pending.len(), |m| m.min(pending.len()));
                pending.drain(..take).map(|f| LoggedFile { batch_id: next, ..f }).collect()
            }
            None => new_files(&self.config, log, next, self.config.max_files)?,
        };
        if files.is_empty() {
            return Ok(start.cloned());
        }
        // Written by `persist_offset`, which the engine overlaps with writing its offset log.
        log.stage(next, files);
        Ok(Some(offset_of(next)))
    }

    fn persist_offset(&mut self) -> Result<()> {
        match self.log.as_mut() {
            Some(log) => log.persist(),
            None => Err(self.error("used before start()")),
        }
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        let log = self.log()?;
        let next = log.last().map_or(0, |last| last + 1);
        self.available_now = Some(new_files(&self.config, log, next, None)?.into());
        Ok(())
    }

    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>> {
        self.persist_offset()?;
        let from = start.map(|s| self.entry_of(s)).transpose()?.map_or(0, |s| s + 1);
        let to = self.entry_of(end)?;
        if from > to + 1 {
            return Err(self.error(format!("batch from entry {from} to entry {to} asked for")));
        }
        let log = self.log()?;
        let mut names = Vec::new();
        for id in from..=to {
            let files = log.get(id).ok_or_else(|| {
                self.error(format!(
                    "the seen-files log entry {} is missing",
                    log.entry_path(id).display()
                ))
            })?;
            names.extend(files.iter().map(|f| f.path.clone()));
        }
        let mut batches = Vec::new();
        for name in &names {
            batches.extend(self.read_file(name)?);
        }
        Ok(batches)
    }
}

/// The files of the directory not in the log, in reading order, at most `limit`.
fn new_files(
    config: &Config,
    log: &FileLog,
    next: u64,
    limit: Option<usize>,
) -> Result<Vec<LoggedFile>> {
    let dir = &config.dir;
    let entries = std::fs::read_dir(dir).map_err(|e| EmberError::io(dir, e))?;
    let mut found: Vec<(i64, String)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| EmberError::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || name.starts_with('_') || log.contains(&name) {
            continue;
        }
        // Follows symbolic links; a file gone since the listing is skipped.
        let Ok(meta) = std::fs::metadata(entry.path()) else { continue };
        if !meta.is_file() {
            continue;
        }
        let timestamp = meta.modified().map_or(0, |t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        });
        found.push((timestamp, name));
    }
    found.sort();
    if config.latest_first {
        found.reverse();
    }
    found.truncate(limit.unwrap_or(usize::MAX));
    Ok(found
        .into_iter()
        .map(|(timestamp, path)| LoggedFile { path, timestamp, batch_id: next })
        .collect())
}

/// The lines of a file: `&str` if valid UTF-8, else the raw bytes.
struct Lines<'a> {
    rest: Rest<'a>,
}

enum Rest<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Lines<'a> {
    /// The lines of `bytes`; a file that is all valid UTF-8 is checked once.
    fn new(bytes: &'a [u8]) -> Self {
        let rest = match std::str::from_utf8(bytes) {
            Ok(text) => Rest::Text(text),
            Err(_) => Rest::Bytes(bytes),
        };
        Lines { rest }
    }

    /// The bytes not yet returned.
    fn remaining(&self) -> usize {
        match self.rest {
            Rest::Text(text) => text.len(),
            Rest::Bytes(bytes) => bytes.len(),
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<&'a str, &'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.rest {
            Rest::Text(text) => {
                let all: &'a str = text;
                if all.is_empty() {
                    return None;
                }
                let (len, used) = first_line(all.as_bytes());
                *text = &all[used..];
                Some(Ok(&all[..len]))
            }
            Rest::Bytes(bytes) => {
                let all: &'a [u8] = bytes;
                if all.is_empty() {
                    return None;
                }
                let (len, used) = first_line(all);
                *bytes = &all[used..];
                let line = &all[..len];
                Some(std::str::from_utf8(line).map_err(|_| line))
            }
        }
    }
}

/// The first line of `rest` (not empty): its length without its end (`\n` or `\r\n`), and
/// the bytes it takes with its end. A last line without an end takes the rest.
fn first_line(rest: &[u8]) -> (usize, usize) {
    match find_byte(rest, b'\n') {
        Some(i) => (if i > 0 && rest[i - 1] == b'\r' { i - 1 } else { i }, i + 1),
        None => (rest.len(), rest.len()),
    }
}

fn too_long(path: &Path, line: u64) -> EmberError {
    EmberError::source(
        "FileStreamSource",
        format!("{} line {line} is longer than {MAX_LINE_BYTES} bytes", path.display()),
    )
}

/// A csv or json file: a row per record, malformed records handled by the mode.
fn read_records(config: &Config, path: &Path, bytes: &[u8]) -> Result<Vec<RecordBatch>> {
    let schema = &config.schema;
    let mut batcher = Batcher::new(schema, config.arrow.clone(), bytes.len() / 16 + 1);
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(schema.len());
    let (mut header, mut csv) = match config.format {
        Format::Csv { header, dialect } => (header, Some(CsvParser::new(dialect))),
        _ => (false, None),
    };
    for (i, line) in Lines::new(bytes).enumerate() {
        let number = i as u64 + 1;
        let raw_len = match line {
            Ok(text) => text.len(),
            Err(raw) => raw.len(),
        };
        if raw_len > MAX_LINE_BYTES {
            return Err(too_long(path, number));
        }
        if line.is_ok_and(|text| text.trim().is_empty()) {
            continue;
        }
        if header {
            header = false;
            continue;
        }
        cells.clear();
        let parsed = match (line, csv.as_mut()) {
            (Err(_), _) => Err("invalid UTF-8".to_owned()),
            (Ok(text), Some(csv)) => csv.parse(text, schema, config.corrupt, &mut cells),
            (Ok(text), None) => json::parse(text, schema, config.corrupt, &mut cells),
        };
        match parsed {
            Ok(()) => batcher.push(&mut cells)?,
            Err(reason) => match config.mode {
                Mode::FailFast => {
                    return Err(EmberError::Malformed {
                        file: path.to_owned(),
                        line: number,
                        reason,
                    });
                }
                Mode::DropMalformed => {}
                Mode::Permissive => {
                    let raw = match line {
                        Ok(text) => Cow::Borrowed(text),
                        Err(raw) => String::from_utf8_lossy(raw),
                    };
                    batcher.push_malformed(config.corrupt, &raw)?;
                }
            },
        }
    }
    batcher.finish()
}

#[cfg(test)]
mod tests;

//! The `socket` source (Spark's `TextSocketSource`): UTF-8 text lines read from a TCP
//! connection, one record per line, for tests and demos such as `nc -lk 9999`.
//!
//! **This source should be used only for testing, as it does not provide end-to-end
//! fault-tolerance guarantees** (Spark's words): lines live only in this process's memory, so
//! after a restart the lines of a batch that was logged but not committed are gone, and the new
//! connection's lines are numbered on from the checkpoint's last offset.
//!
//! `start()` connects (with a [`CONNECT_TIMEOUT`]) and spawns a reader thread that appends every
//! line received (without its `\n` or `\r\n`; invalid UTF-8 becomes U+FFFD) to a buffer shared
//! with the source. Offsets are Spark's `LongOffset` of the last line: `{"offset":n}` is the
//! index (from 0) of the last line received, so a batch from `start` to `end` holds the lines
//! with index in `(start, end]`; there is no offset before the first line. `commit(end)` drops
//! the lines up to `end` from memory. When the peer closes the connection the source keeps what
//! it received and reports no more data (the query keeps running, as in Spark); a read error
//! fails the next `latest_offset`.
//!
//! Options: `host` and `port` (required), `includeTimestamp` (default `false`: adds a
//! `timestamp` column, the time each line was received).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};

use super::{Source, SourceContext, SourceFactory, SourceOffset};
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::{DataType, Field, Schema};

/// How long `start()` waits for the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const WHAT: &str = "socket source";
const KNOWN: &[&str] = &["host", "port", "includeTimestamp"];

/// The validated options of a socket source.
#[derive(Debug, Clone)]
struct Config {
    host: String,
    port: u16,
    include_timestamp: bool,
}

impl Config {
    fn parse(options: &Options) -> Result<Config> {
        options.check_known(WHAT, KNOWN)?;
        let host = options.required(WHAT, "host")?.trim();
        if host.is_empty() {
            return Err(EmberError::config(format!("{WHAT}: option 'host' must not be empty")));
        }
        let raw = options.required(WHAT, "port")?;
        let port = raw.trim().parse::<i64>().ok().filter(|p| (1..=65535).contains(p));
        let Some(port) = port else {
            return Err(EmberError::config(format!(
                "{WHAT}: option 'port' = '{raw}' is invalid: expected an integer between 1 and \
                 65535"
            )));
        };
        let include_timestamp = options.flag(WHAT, "includeTimestamp", false)?;
        Ok(Config { host: host.to_owned(), port: port as u16, include_timestamp })
    }

    fn description(&self) -> String {
        format!("TextSocketSource[{}:{}]", self.host, self.port)
    }

    fn schema(&self) -> Arc<Schema> {
        let mut fields = vec![Field::new("value", DataType::Utf8, false)];
        if self.include_timestamp {
            fields.push(Field::new("timestamp", DataType::Timestamp, false));
        }
        Arc::new(Schema::new(fields))
    }
}

/// The factory of `format("socket")`: validates the options; connecting waits for `start()`.
pub(crate) fn factory(options: &Options) -> Result<Arc<dyn SourceFactory>> {
    let config = Config::parse(options)?;
    let schema = config.schema();
    Ok(Arc::new(SocketFactory { config, schema }))
}

struct SocketFactory {
    config: Config,
    schema: Arc<Schema>,
}

impl SourceFactory for SocketFactory {
    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }
    fn description(&self) -> String {
        self.config.description()
    }
    fn create(&self) -> Result<Box<dyn Source>> {
        Ok(Box::new(SocketSource {
            config: self.config.clone(),
            schema: self.schema.clone(),
            shared: Arc::new(Shared::default()),
            stream: None,
            reader: None,
        }))
    }
}

/// What the reader thread and the source share.
#[derive(Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    /// Set by `stop()`, so that the reader does not report the shutdown as an error.
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The lines received and not yet committed.
#[derive(Default)]
struct Buffer {
    /// Lines with their receipt time (µs since the epoch); the first has index `base`.
    lines: VecDeque<(String, i64)>,
    /// The index of `lines[0]`: lines before it were committed and dropped.
    base: u64,
    /// Lines received by this run, committed or not.
    received: u64,
    /// Under available-now, the lines this run had received when the query started: later
    /// lines wait for the next run.
    available_now: Option<u64>,
    /// Whether line indexes are fixed: once an offset was handed out, or the numbering was
    /// aligned with the checkpoint's. Before that, the first line may be renumbered to follow
    /// the checkpoint's last offset.
    numbered: bool,
    /// The read error that ended the connection, reported by the next `latest_offset`.
    error: Option<String>,
    /// Whether the peer closed the connection.
    closed: bool,
}

impl Buffer {
    /// The index the next line received will get.
    fn next_index(&self) -> u64 {
        self.base + self.lines.len() as u64
    }

    /// The index after the last line a batch may take: under available-now, lines received
    /// after the query started are held back.
    fn end_index(&self) -> u64 {
        let held_back = self.available_now.map_or(0, |cap| self.received.saturating_sub(cap));
        self.next_index().saturating_sub(held_back)
    }

    /// Numbers the lines so that the first one not seen yet follows `last` (an offset of the
    /// checkpoint, from an earlier run), unless the numbering is already fixed.
    fn align_after(&mut self, last: Option<u64>) {
        if !self.numbered {
            self.numbered = true;
            if let Some(last) = last {
                self.base = last.saturating_add(1);
            }
        }
    }
}

/// One running socket source.
struct SocketSource {
    config: Config,
    schema: Arc<Schema>,
    shared: Arc<Shared>,
    /// The connection, kept to shut it down.
    stream: Option<TcpStream>,
    reader: Option<JoinHandle<()>>,
}

/// The line index of an offset `{"offset":n}`; `None` is "before the first line".
fn index_of(description: &str, offset: &SourceOffset) -> Result<u64> {
    offset.to_value().get("offset").and_then(serde_json::Value::as_u64).ok_or_else(|| {
        EmberError::source(description, format!("offset {} is not {{\"offset\":n}}", offset.json()))
    })
}

fn offset_of(index: u64) -> SourceOffset {
    SourceOffset::from_value(&serde_json::json!({ "offset": index }))
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Reads lines from `stream` into `shared` until end of stream, an error or `stop()`.
fn read_lines(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => {
                shared.lock().closed = true;
                return;
            }
            Ok(_) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                let line = String::from_utf8_lossy(&bytes).into_owned();
                let received = now_micros();
                let mut buffer = shared.lock();
                buffer.lines.push_back((line, received));
                buffer.received += 1;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                let mut buffer = shared.lock();
                if !shared.stopping.load(Ordering::Acquire) {
                    buffer.error = Some(format!("reading from the connection failed: {e}"));
                }
                buffer.closed = true;
                return;
            }
        }
    }
}

impl SocketSource {
    fn connect(&self) -> Result<TcpStream> {
        let Config { host, port, .. } = &self.config;
        let fail = |message: String| EmberError::source(self.config.description(), message);
        let addrs = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve {host}:{port}: {e}")))?;
        let mut last_error = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(fail(match last_error {
            Some(e) => format!("cannot connect to {host}:{port}: {e}"),
            None => format!("cannot connect to {host}:{port}: the host has no address"),
        }))
    }
}

impl Source for SocketSource {
    fn description(&self) -> String {
        self.config.description()
    }

    fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    fn start(&mut self, _: &SourceContext) -> Result<()> {
        if self.reader.is_some() {
            return Ok(());
        }
        tracing::warn!(
            source = %self.config.description(),
            "the socket source should be used only for testing: it does not provide end-to-end \
             fault-tolerance guarantees"
        );
        let stream = self.connect()?;
        let fail = |e: std::io::Error| {
            EmberError::source(
                self.config.description(),
                format!("cannot read the connection: {e}"),
            )
        };
        let reading = stream.try_clone().map_err(fail)?;
        let shared = self.shared.clone();
        let name = format!("ember-socket-{}:{}", self.config.host, self.config.port);
        let reader = std::thread::Builder::new()
            .name(name)
            .spawn(move || read_lines(reading, &shared))
            .map_err(|e| {
                let _ = stream.shutdown(Shutdown::Both);
                fail(e)
            })?;
        self.stream = Some(stream);
        self.reader = Some(reader);
        Ok(())
    }

    fn latest_offset(&mut self, start: Option<&SourceOffset>) -> Result<Option<SourceOffset>> {
        let description = self.config.description();
        let start = start.map(|s| index_of(&description, s)).transpose()?;
        let mut buffer = self.shared.lock();
        if let Some(error) = &buffer.error {
            return Err(EmberError::source(description, error.clone()));
        }
        buffer.align_after(start);
        let next = buffer.end_index();
        Ok((next > 0).then(|| offset_of(next - 1)))
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        let mut buffer = self.shared.lock();
        buffer.available_now = Some(buffer.received);
        Ok(())
    }

    fn get_batch(
        &mut self,
        start: Option<&SourceOffset>,
        end: &SourceOffset,
    ) -> Result<Vec<RecordBatch>> {
        let description = self.config.description();
        let first = start.map(|s| index_of(&description, s)).transpose()?.map_or(0, |s| s + 1);
        let last = index_of(&description, end)?;
        let mut buffer = self.shared.lock();
        if last.saturating_add(1) < first {
            return Err(EmberError::source(
                description,
                format!("batch end {} is before its start", end.json()),
            ));
        }
        let range = if buffer.numbered {
            if first < buffer.base || last >= buffer.next_index() {
                return Err(EmberError::source(
                    description,
                    format!(
                        "lines {first}..={last} asked for, but only lines {}..{} are held",
                        buffer.base,
                        buffer.next_index()
                    ),
                ));
            }
            (first - buffer.base) as usize..(last + 1 - buffer.base) as usize
        } else {
            // A batch logged by an earlier run and not committed: its lines were in that run's
            // memory only. Later lines are numbered after it.
            tracing::warn!(
                source = %description,
                "the lines {first}..={last} of a batch logged before the restart are lost: the \
                 socket source cannot replay them"
            );
            buffer.align_after(Some(last));
            0..0
        };
        let mut values = StringBuilder::with_capacity(
            range.len(),
            buffer.lines.range(range.clone()).map(|(l, _)| l.len()).sum(),
        );
        let mut times = self
            .config
            .include_timestamp
            .then(|| TimestampMicrosecondBuilder::with_capacity(range.len()));
        for (line, received) in buffer.lines.range(range) {
            values.append_value(line);
            if let Some(times) = &mut times {
                times.append_value(*received);
            }
        }
        drop(buffer);
        let mut columns: Vec<ArrayRef> = vec![Arc::new(values.finish())];
        if let Some(mut times) = times {
            columns.push(Arc::new(times.finish()));
        }
        let schema = Arc::new(crate::row::arrow::to_arrow_schema(&self.schema));
        Ok(vec![RecordBatch::try_new(schema, columns)?])
    }

    fn commit(&mut self, end: &SourceOffset) -> Result<()> {
        let last = index_of(&self.config.description(), end)?;
        let mut buffer = self.shared.lock();
        let drop_count = last.saturating_add(1).saturating_sub(buffer.base);
        let drop_count = drop_count.min(buffer.lines.len() as u64);
        buffer.lines.drain(..drop_count as usize);
        buffer.base += drop_count;
        Ok(())
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for SocketSource {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::Instant;

    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;

    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(pairs)
    }

    fn ctx() -> SourceContext {
        SourceContext { checkpoint_dir: std::env::temp_dir().join("ember-socket-unused") }
    }

    fn lines_of(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0).as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_owned())
            })
            .collect()
    }

    /// A started source connected to a listener, and the accepted server side.
    fn connected(extra: &[(&str, &str)]) -> (Box<dyn Source>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let mut pairs = vec![("host", "127.0.0.1"), ("port", port.as_str())];
        pairs.extend_from_slice(extra);
        let factory = factory(&options(&pairs)).unwrap();
        let mut source = factory.create().unwrap();
        source.start(&ctx()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (source, server)
    }

    /// Polls until the source's latest offset is `want`.
    fn wait_for(source: &mut Box<dyn Source>, start: Option<&SourceOffset>, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let latest = source.latest_offset(start).unwrap();
            if latest == Some(offset_of(want)) {
                return;
            }
            assert!(Instant::now() < deadline, "offset {want} not reached: {latest:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn options_are_validated() {
        let err = |pairs: &[(&str, &str)]| factory(&options(pairs)).err().unwrap().to_string();
        assert!(err(&[("port", "9")]).contains("option 'host' must be specified"));
        assert!(err(&[("host", "h")]).contains("option 'port' must be specified"));
        for bad in ["abc", "0", "65536", "-1", ""] {
            let e = err(&[("host", "h"), ("port", bad)]);
            assert!(e.contains(&format!("'port' = '{bad}' is invalid")), "{e}");
            assert!(e.contains("between 1 and 65535"), "{e}");
        }
        let e = err(&[("host", "h"), ("port", "9"), ("bogus", "1")]);
        assert!(e.contains("unknown option 'bogus'") && e.contains("includeTimestamp"), "{e}");
        let e = err(&[("host", "h"), ("port", "9"), ("includeTimestamp", "yes")]);
        assert!(e.contains("includeTimestamp"), "{e}");
        let f = factory(&options(&[("host", "h"), ("port", " 9 ")])).unwrap();
        assert_eq!(f.description(), "TextSocketSource[h:9]");
        assert_eq!(f.schema().len(), 1);
        let f = factory(&options(&[("host", "h"), ("port", "9"), ("INCLUDETIMESTAMP", "TRUE")]))
            .unwrap();
        assert_eq!(f.schema().fields()[1].data_type, DataType::Timestamp);
    }

    #[test]
    fn refused_connection_fails_at_start() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let f = factory(&options(&[("host", "127.0.0.1"), ("port", &port.to_string())])).unwrap();
        let mut source = f.create().unwrap();
        let e = source.start(&ctx()).unwrap_err();
        assert!(matches!(e, EmberError::Source { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        source.stop();
    }

    #[test]
    fn lines_batches_and_commit() {
        let (mut source, mut server) = connected(&[]);
        assert_eq!(source.latest_offset(None).unwrap(), None);
        server.write_all(b"a b\r\nc\n\xff\xfeok\n\nlast").unwrap();
        server.flush().unwrap();
        wait_for(&mut source, None, 3);
        let end = offset_of(3);
        let batch = source.get_batch(None, &end).unwrap();
        assert_eq!(lines_of(&batch), ["a b", "c", "\u{fffd}\u{fffd}ok", ""]);
        assert_eq!(
            lines_of(&source.get_batch(Some(&offset_of(1)), &end).unwrap()),
            ["\u{fffd}\u{fffd}ok", ""]
        );
        source.commit(&offset_of(1)).unwrap();
        assert!(source.get_batch(None, &end).is_err(), "committed lines are dropped");
        assert_eq!(lines_of(&source.get_batch(Some(&offset_of(1)), &end).unwrap()).len(), 2);
        assert!(source.get_batch(Some(&end), &offset_of(9)).is_err());
        // The peer closes: the partial last line is kept, and nothing more comes.
        drop(server);
        wait_for(&mut source, Some(&end), 4);
        assert_eq!(lines_of(&source.get_batch(Some(&end), &offset_of(4)).unwrap()), ["last"]);
        source.commit(&offset_of(4)).unwrap();
        assert_eq!(source.latest_offset(Some(&offset_of(4))).unwrap(), Some(offset_of(4)));
        assert!(source.get_batch(None, &offset_of(0)).is_err());
        source.stop();
        source.stop();
    }

    #[test]
    fn available_now_holds_back_lines_received_after_it() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let config = Config::parse(&options(&[("host", "127.0.0.1"), ("port", &port)])).unwrap();
        let shared = Arc::new(Shared::default());
        let mut source = SocketSource {
            schema: config.schema(),
            config,
            shared: shared.clone(),
            stream: None,
            reader: None,
        };
        source.start(&ctx()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let received_at_least = |n: u64| {
            let deadline = Instant::now() + Duration::from_secs(30);
            while shared.lock().received < n {
                assert!(Instant::now() < deadline, "only {} lines arrived", shared.lock().received);
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        server.write_all(b"a\nb\n").unwrap();
        received_at_least(2);
        source.prepare_for_available_now().unwrap();
        server.write_all(b"c\nd\n").unwrap();
        received_at_least(4);
        assert_eq!(source.latest_offset(None).unwrap(), Some(offset_of(1)));
        assert_eq!(lines_of(&source.get_batch(None, &offset_of(1)).unwrap()), ["a", "b"]);
        source.commit(&offset_of(1)).unwrap();
        let end = Some(offset_of(1));
        assert_eq!(source.latest_offset(end.as_ref()).unwrap(), end, "nothing new after that");
        source.stop();
    }

    #[test]
    fn read_errors_fail_the_next_latest_offset() {
        let config = Config::parse(&options(&[("host", "127.0.0.1"), ("port", "1")])).unwrap();
        let mut source = SocketSource {
            schema: config.schema(),
            config,
            shared: Arc::new(Shared::default()),
            stream: None,
            reader: None,
        };
        source.shared.lock().error = Some("reading from the connection failed: reset".into());
        let e = source.latest_offset(None).unwrap_err().to_string();
        assert!(e.contains("TextSocketSource[127.0.0.1:1]") && e.contains("reset"), "{e}");
        assert!(source.get_batch(Some(&offset_of(5)), &offset_of(3)).is_err());
    }

    #[test]
    fn timestamps_and_restart_numbering() {
        let (mut source, mut server) = connected(&[("includeTimestamp", "true")]);
        let before = now_micros();
        // A restart: the checkpoint's batch (7, 9] was logged but not committed.
        let batch = source.get_batch(Some(&offset_of(7)), &offset_of(9)).unwrap();
        assert_eq!(batch[0].num_rows(), 0);
        assert_eq!(batch[0].num_columns(), 2);
        server.write_all(b"x\ny\n").unwrap();
        wait_for(&mut source, Some(&offset_of(9)), 11);
        let batch = source.get_batch(Some(&offset_of(9)), &offset_of(11)).unwrap();
        assert_eq!(lines_of(&batch), ["x", "y"]);
        let times = batch[0].column(1).as_primitive::<TimestampMicrosecondType>();
        assert!(times.iter().all(|t| t.is_some_and(|t| t >= before && t <= now_micros())));
        source.stop();
    }

    #[test]
    fn restart_numbers_lines_after_the_checkpoint() {
        let (mut source, mut server) = connected(&[]);
        server.write_all(b"p\nq\n").unwrap();
        // The engine resumes after offset 41: the new lines are 42 and 43, never equal to 41.
        wait_for(&mut source, Some(&offset_of(41)), 43);
        let batch = source.get_batch(Some(&offset_of(41)), &offset_of(43)).unwrap();
        assert_eq!(lines_of(&batch), ["p", "q"]);
        assert!(source.latest_offset(Some(&offset_of(3))).is_ok());
        assert_eq!(source.latest_offset(Some(&offset_of(3))).unwrap(), Some(offset_of(43)));
        let bad = SourceOffset::from_value(&serde_json::json!({"lines": 1}));
        assert!(source.get_batch(None, &bad).is_err());
        source.stop();
    }
}

//! Where log files live: the [`LogStore`] trait, its durable file-system implementation
//! [`FsLogStore`], and [`MemLogStore`], an in-memory one that injects failures and crashes for
//! tests. The logs above see only these five operations, so crash images need no disk.
//!
//! Names are relative to the checkpoint root and use `/`: `metadata`, `offsets/7`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::error::{CheckpointError, CheckpointResult};
use crate::atomic::{self, WriteHook};

/// Storage for checkpoint log files. A file, once created, is never modified.
pub trait LogStore: Send + Sync {
    /// The checkpoint directory.
    fn root(&self) -> &Path;

    /// The full path of `name`, for messages.
    fn path(&self, name: &str) -> PathBuf;

    /// The batch ids of directory `dir` (files named by a canonical decimal number; other names,
    /// such as temporary files, are ignored). A missing directory is empty.
    fn list(&self, dir: &str) -> CheckpointResult<BTreeSet<u64>>;

    /// The bytes of `name`, or `None` if it does not exist.
    fn read(&self, name: &str) -> CheckpointResult<Option<Vec<u8>>>;

    /// Creates `name` holding `bytes`, atomically and durably, creating its directory if needed.
    /// Never overwrites: if `name` exists it fails with [`CheckpointError::ConcurrentWriter`].
    fn create_new(&self, name: &str, bytes: &[u8]) -> CheckpointResult<()>;

    /// The first half of [`create_new`](LogStore::create_new): makes `bytes` durable without
    /// making `name` visible; [`PreparedFile::publish`] then makes it visible, failing as
    /// `create_new` would. A caller that orders when files appear (a commit after what it
    /// commits) so overlaps the slow part of a write with the work it must wait for. Dropped
    /// unpublished, it leaves nothing behind. By default everything happens at `publish`.
    fn prepare_new(&self, name: &str, bytes: &[u8]) -> CheckpointResult<PreparedFile<'_>> {
        let (name, bytes) = (name.to_owned(), bytes.to_vec());
        Ok(PreparedFile(Prepared::Deferred(Box::new(move || self.create_new(&name, &bytes)))))
    }

    /// Deletes `name` durably; a missing file is not an error.
    fn delete(&self, name: &str) -> CheckpointResult<()>;

    /// Deletes the batch files of `dir` with ids below `batch`, oldest first, so that a crash
    /// part-way leaves the directory's ids contiguous. Returns how many were deleted.
    fn purge_below(&self, dir: &str, batch: u64) -> CheckpointResult<usize> {
        let ids = self.list(dir)?;
        let mut n = 0;
        for id in ids.range(..batch) {
            self.delete(&format!("{dir}/{id}"))?;
            n += 1;
        }
        Ok(n)
    }
}

/// A file written by [`LogStore::prepare_new`], not yet visible.
pub struct PreparedFile<'s>(Prepared<'s>);

enum Prepared<'s> {
    /// Durable under a temporary name.
    Fs { file: atomic::Prepared<'s>, target: PathBuf },
    /// Written when published.
    Deferred(Box<dyn FnOnce() -> CheckpointResult<()> + Send + 's>),
}

impl PreparedFile<'_> {
    /// Makes the file visible under its name, durably. Fails with
    /// [`CheckpointError::ConcurrentWriter`] if the name exists: nothing is overwritten.
    pub fn publish(self) -> CheckpointResult<()> {
        match self.0 {
            Prepared::Fs { file, target } => {
                file.publish().map_err(|e| CheckpointError::from_publish(&target, e))
            }
            Prepared::Deferred(write) => write(),
        }
    }
}

/// Parses a canonical batch file name: decimal, no sign, no leading zeros, at most `i64::MAX`
/// (Spark's batch ids are longs; the bound also leaves room for `id + 1`).
pub(crate) fn parse_batch_name(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: u64 = name.parse().ok()?;
    (id.to_string() == name && id <= i64::MAX as u64).then_some(id)
}

/// Log files on a local file system, written through the state store's atomic protocol
/// (temporary file, fdatasync, rename without overwrite, directory fsync; see
/// `docs/state-format.md` §6 and §9 for what that assumes).
pub struct FsLogStore {
    root: PathBuf,
    hook: Option<Arc<dyn WriteHook>>,
}

impl FsLogStore {
    /// A store rooted at the checkpoint directory `root`, which is created if missing.
    /// Temporary files left by dead processes are swept.
    pub fn open(root: impl Into<PathBuf>) -> CheckpointResult<Self> {
        let root = root.into();
        create_dir_durably(&root)?;
        for dir in [root.clone(), root.join("offsets"), root.join("commits")] {
            if dir.is_dir() {
                crate::files::sweep_dead_temps(&dir)
                    .map_err(|e| CheckpointError::io(&dir, io::Error::other(e)))?;
            }
        }
        Ok(FsLogStore { root, hook: None })
    }

    /// Reports every write step to `hook`, which may stop it (crash images of the real files).
    pub fn with_hook(mut self, hook: Arc<dyn WriteHook>) -> Self {
        self.hook = Some(hook);
        self
    }
}

/// Creates `dir` and its missing parents, fsyncing each parent so the new entries survive a
/// crash before the first file in `dir` is published.
fn create_dir_durably(dir: &Path) -> CheckpointResult<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durably(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(CheckpointError::io(dir, e)),
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    atomic::sync_dir(parent).map_err(|e| CheckpointError::from_publish(parent, e))
}

impl LogStore for FsLogStore {
    fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn list(&self, dir: &str) -> CheckpointResult<BTreeSet<u64>> {
        let path = self.path(dir);
        let rd = match std::fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(e) => return Err(CheckpointError::io(&path, e)),
        };
        let mut out = BTreeSet::new();
        for entry in rd {
            let entry = entry.map_err(|e| CheckpointError::io(&path, e))?;
            if let Some(id) = entry.file_name().to_str().and_then(parse_batch_name) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    fn read(&self, name: &str) -> CheckpointResult<Option<Vec<u8>>> {
        let path = self.path(name);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CheckpointError::io(&path, e)),
        }
    }

    fn create_new(&self, name: &str, bytes: &[u8]) -> CheckpointResult<()> {
        self.prepare_new(name, bytes)?.publish()
    }

    fn prepare_new(&self, name: &str, bytes: &[u8]) -> CheckpointResult<PreparedFile<'_>> {
        let target = self.path(name);
        if let Some(dir) = target.parent() {
            create_dir_durably(dir)?;
        }
        let file = atomic::prepare(&target, self.hook.as_deref(), |w, temp| {
            w.write_all(bytes).map_err(|e| crate::StateError::io(temp, e))
        })
        .map_err(|e| CheckpointError::from_publish(&target, e))?;
        Ok(PreparedFile(Prepared::Fs { file, target }))
    }

    fn delete(&self, name: &str) -> CheckpointResult<()> {
        let target = self.path(name);
        atomic::remove(&target, self.hook.as_deref())
            .map_err(|e| CheckpointError::from_publish(&target, e))?;
        let dir = target.parent().unwrap_or(&self.root);
        atomic::sync_dir(dir).map_err(|e| CheckpointError::from_publish(dir, e))
    }
}

/// What [`MemLogStore`] does at the chosen write (a `create_new` or `delete`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The write fails with an I/O error and changes nothing; the store keeps working.
    Fail,
    /// The process dies before the write takes effect: nothing changes, and every later call
    /// fails, as nothing runs after a crash.
    CrashBefore,
    /// The process dies right after the write took effect (durably): the file is there, the call
    /// reports an error, and every later call fails.
    CrashAfter,
}

#[derive(Default)]
struct MemInner {
    files: BTreeMap<String, Vec<u8>>,
    writes: usize,
    fault: Option<(usize, Fault)>,
    crashed: bool,
}

/// Log files in memory, for tests: the writes are atomic as [`FsLogStore`]'s are, and
/// [`MemLogStore::inject`] makes a chosen write fail or crash. [`MemLogStore::crash_image`] is
/// what a restarted process would find.
pub struct MemLogStore {
    root: PathBuf,
    inner: Mutex<MemInner>,
}

impl Default for MemLogStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemLogStore {
    /// An empty store; paths in messages start with `mem:/checkpoint`.
    pub fn new() -> Self {
        MemLogStore { root: PathBuf::from("mem:/checkpoint"), inner: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `fault` at the write with 0-based index `at` (counting `create_new` and `delete`
    /// calls over the store's life, see [`MemLogStore::writes`]).
    pub fn inject(&self, at: usize, fault: Fault) {
        self.lock().fault = Some((at, fault));
    }

    /// How many writes were attempted so far.
    pub fn writes(&self) -> usize {
        self.lock().writes
    }

    /// Whether an injected crash happened.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// The files a restarted process finds: a working store holding the current files.
    pub fn crash_image(&self) -> MemLogStore {
        let files = self.lock().files.clone();
        MemLogStore {
            root: self.root.clone(),
            inner: Mutex::new(MemInner { files, ..Default::default() }),
        }
    }

    /// Every file name and its bytes.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock().files.clone()
    }

    /// Replaces or adds a file behind the protocol's back, to build damaged checkpoints.
    pub fn put_raw(&self, name: &str, bytes: &[u8]) {
        self.lock().files.insert(name.to_owned(), bytes.to_vec());
    }

    /// Removes a file behind the protocol's back.
    pub fn remove_raw(&self, name: &str) {
        self.lock().files.remove(name);
    }

    fn dead(&self, name: &str) -> CheckpointError {
        CheckpointError::io(self.path(name), io::Error::other("the process crashed (injected)"))
    }

    /// Runs one write under the fault plan.
    fn write(
        &self,
        name: &str,
        apply: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> CheckpointResult<()>,
    ) -> CheckpointResult<()> {
        let mut inner = self.lock();
        if inner.crashed {
            return Err(self.dead(name));
        }
        let index = inner.writes;
        inner.writes += 1;
        match inner.fault {
            Some((at, fault)) if at == index => match fault {
                Fault::Fail => Err(CheckpointError::io(
                    self.path(name),
                    io::Error::other("write failed (injected)"),
                )),
                Fault::CrashBefore => {
                    inner.crashed = true;
                    Err(self.dead(name))
                }
                Fault::CrashAfter => {
                    apply(&mut inner.files)?;
                    inner.crashed = true;
                    Err(self.dead(name))
                }
            },
            _ => apply(&mut inner.files),
        }
    }

    fn check_alive(&self, name: &str) -> CheckpointResult<()> {
        if self.lock().crashed { Err(self.dead(name)) } else { Ok(()) }
    }
}

impl LogStore for MemLogStore {
    fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn list(&self, dir: &str) -> CheckpointResult<BTreeSet<u64>> {
        self.check_alive(dir)?;
        let prefix = format!("{dir}/");
        Ok(self
            .lock()
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).and_then(parse_batch_name))
            .collect())
    }

    fn read(&self, name: &str) -> CheckpointResult<Option<Vec<u8>>> {
        self.check_alive(name)?;
        Ok(self.lock().files.get(name).cloned())
    }

    fn create_new(&self, name: &str, bytes: &[u8]) -> CheckpointResult<()> {
        let path = self.path(name);
        self.write(name, |files| {
            if files.contains_key(name) {
                return Err(CheckpointError::ConcurrentWriter { path });
            }
            files.insert(name.to_owned(), bytes.to_vec());
            Ok(())
        })
    }

    fn delete(&self, name: &str) -> CheckpointResult<()> {
        self.write(name, |files| {
            files.remove(name);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_names_are_canonical() {
        assert_eq!(parse_batch_name("0"), Some(0));
        assert_eq!(parse_batch_name("12"), Some(12));
        assert_eq!(parse_batch_name("9223372036854775807"), Some(i64::MAX as u64));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            "1.tmp",
            ".1.123.0.tmp",
            "1 ",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert_eq!(parse_batch_name(bad), None, "{bad:?}");
        }
    }

    /// A prepared file is invisible until published, publishing never overwrites, and one
    /// dropped unpublished leaves no file behind; the in-memory store defers it all.
    #[test]
    fn prepared_files_appear_only_when_published() {
        let dir = std::env::temp_dir().join(format!("ember-prepare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let fs = FsLogStore::open(&dir).unwrap();
        let mem = MemLogStore::new();
        for store in [&fs as &dyn LogStore, &mem] {
            let prepared = store.prepare_new("commits/0", b"a").unwrap();
            assert!(store.list("commits").unwrap().is_empty(), "visible before publish");
            prepared.publish().unwrap();
            assert_eq!(store.read("commits/0").unwrap().as_deref(), Some(&b"a"[..]));
            let again = store.prepare_new("commits/0", b"b").unwrap();
            assert!(matches!(again.publish(), Err(CheckpointError::ConcurrentWriter { .. })));
            assert_eq!(store.read("commits/0").unwrap().as_deref(), Some(&b"a"[..]));
            drop(store.prepare_new("commits/1", b"c").unwrap());
            assert_eq!(store.list("commits").unwrap(), BTreeSet::from([0]));
        }
        let names: Vec<_> = std::fs::read_dir(dir.join("commits")).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mem_faults() {
        let s = MemLogStore::new();
        s.inject(1, Fault::Fail);
        s.create_new("offsets/0", b"a").unwrap();
        assert!(s.create_new("offsets/1", b"b").is_err());
        s.create_new("offsets/1", b"b").unwrap();
        assert!(matches!(
            s.create_new("offsets/1", b"c"),
            Err(CheckpointError::ConcurrentWriter { path }) if path.ends_with("offsets/1")
        ));
        s.inject(4, Fault::CrashAfter);
        assert!(s.create_new("commits/0", b"c").is_err());
        assert!(s.crashed());
        assert!(s.read("commits/0").is_err());
        let image = s.crash_image();
        assert_eq!(image.list("commits").unwrap(), BTreeSet::from([0]));
        assert_eq!(image.list("offsets").unwrap(), BTreeSet::from([0, 1]));
    }
}

//! Publishing a file atomically and durably: write a temporary file, fsync it, rename it into
//! place without overwriting anything, fsync the directory. Also owns the fault-injection hook
//! that lets tests stop the protocol between any two of those steps.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, StateError};

/// A step of the write protocol, reported to a [`WriteHook`] right after it completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteStep {
    /// All bytes were written to the temporary file (not yet durable).
    TempWritten,
    /// The temporary file was fsynced.
    TempSynced,
    /// The temporary file was renamed to its final name (the directory entry is not yet durable).
    Renamed,
    /// The directory was fsynced: the file is published for good.
    DirSynced,
    /// Maintenance deleted an obsolete file (`target`); the directory is not yet fsynced.
    Deleted,
}

/// Observes the steps of every file write and delete; used to take crash images and inject
/// failures. Returning an error stops the operation right there, as a crash would (the temporary
/// file is left behind, exactly as after a crash).
pub trait WriteHook: Send + Sync {
    /// Called after `step` completed for the file being published at `target` through `temp`.
    fn after(&self, step: WriteStep, temp: &Path, target: &Path) -> io::Result<()>;
}

/// Prefix and suffix of temporary names: `.<final name>.<pid>.<seq>.tmp`. The leading dot keeps
/// them out of version listings.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}.{seq}{TEMP_SUFFIX}", std::process::id()))
}

/// The process id embedded in a temporary file name, if `name` is one of ours.
pub(crate) fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = rest.rsplitn(3, '.');
    let _seq: u64 = parts.next()?.parse().ok()?;
    parts.next()?.parse().ok()
}

fn call_hook(
    hook: Option<&dyn WriteHook>,
    step: WriteStep,
    temp: &Path,
    target: &Path,
) -> Result<()> {
    match hook {
        Some(h) => h.after(step, temp, target).map_err(|e| StateError::io(target, e)),
        None => Ok(()),
    }
}

/// Writes a new file at `target` through the full protocol. `fill` writes the content; it is
/// given a buffered writer over the temporary file, and that file's path for its errors. Fails
/// with [`StateError::AlreadyExists`] if `target` exists, leaving it untouched.
pub(crate) fn publish(
    target: &Path,
    hook: Option<&dyn WriteHook>,
    fill: impl FnOnce(&mut dyn Write, &Path) -> Result<()>,
) -> Result<()> {
    prepare(target, hook, fill)?.publish()
}

/// The first half of [`publish`]: writes and fdatasyncs the temporary file, so that what is left
/// ([`Prepared::publish`]) is the rename and the directory fsync. A caller that must order when
/// files appear (a commit log entry after the state it commits) can so overlap the slow part of
/// a write, the data's fsync, with the work it has to wait for.
pub(crate) fn prepare<'h>(
    target: &Path,
    hook: Option<&'h dyn WriteHook>,
    fill: impl FnOnce(&mut dyn Write, &Path) -> Result<()>,
) -> Result<Prepared<'h>> {
    let temp = temp_path(target);
    let mut guard = TempGuard(Some(temp.clone()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| StateError::io(&temp, e))?;
    let mut w = io::BufWriter::with_capacity(64 << 10, file);
    fill(&mut w, &temp)?;
    let file = w.into_inner().map_err(|e| StateError::io(&temp, e.into_error()))?;
    call_hook(hook, WriteStep::TempWritten, &temp, target).inspect_err(|_| guard.keep())?;
    // fdatasync also persists the file size and allocation of a newly written file.
    file.sync_data().map_err(|e| StateError::io(&temp, e))?;
    drop(file);
    call_hook(hook, WriteStep::TempSynced, &temp, target).inspect_err(|_| guard.keep())?;
    Ok(Prepared { target: target.to_path_buf(), temp, guard, hook })
}

/// A file [`prepare`]d: durable under its temporary name, not yet visible under its own.
/// Dropping it unpublished deletes the temporary file.
pub(crate) struct Prepared<'h> {
    target: PathBuf,
    temp: PathBuf,
    /// Deletes `temp` unless published.
    guard: TempGuard,
    hook: Option<&'h dyn WriteHook>,
}

impl Prepared<'_> {
    /// Renames the file into place without overwriting anything and fsyncs the directory.
    /// Fails with [`StateError::AlreadyExists`] if the target exists, leaving it untouched.
    pub(crate) fn publish(mut self) -> Result<()> {
        let (temp, target) = (&self.temp, &self.target);
        rename_noreplace(temp, target)?;
        self.guard.keep();
        call_hook(self.hook, WriteStep::Renamed, temp, target)?;
        sync_dir(target.parent().unwrap_or(Path::new(".")))?;
        call_hook(self.hook, WriteStep::DirSynced, temp, target)
    }
}

/// Deletes `path` (maintenance), reporting the step to the hook; the caller fsyncs the directory.
pub(crate) fn remove(path: &Path, hook: Option<&dyn WriteHook>) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StateError::io(path, e)),
    }
    call_hook(hook, WriteStep::Deleted, path, path)
}

/// Deletes the temporary file when publishing fails before the rename; a simulated crash keeps it.
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// fsyncs a directory so that entries created or removed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StateError::io(dir, e))
}

fn cstring(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| {
        StateError::InvalidArgument(format!("path {} contains a NUL byte", p.display()))
    })
}

/// Renames `from` to `to`, failing if `to` exists. Uses `renameat2(RENAME_NOREPLACE)`; where the
/// file system does not support it, a hard link (which never replaces) followed by an unlink.
fn rename_noreplace(from: &Path, to: &Path) -> Result<()> {
    let (cfrom, cto) = (cstring(from)?, cstring(to)?);
    // SAFETY: both pointers come from live `CString`s, so they are valid NUL-terminated strings
    // for the duration of the call; AT_FDCWD makes relative paths resolve as `std::fs` does.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cfrom.as_ptr(),
            libc::AT_FDCWD,
            cto.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => {
            let _ = std::fs::remove_file(from);
            Err(StateError::AlreadyExists { path: to.to_path_buf() })
        }
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            link_noreplace(from, to)
        }
        _ => Err(StateError::io(to, err)),
    }
}

/// The fallback of [`rename_noreplace`]: `link` never replaces an existing name.
fn link_noreplace(from: &Path, to: &Path) -> Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from).map_err(|e| StateError::io(from, e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(from);
            Err(StateError::AlreadyExists { path: to.to_path_buf() })
        }
        Err(e) => Err(StateError::io(to, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_parse_back() {
        let t = temp_path(Path::new("/x/5.delta"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_owner(name), Some(std::process::id()));
        assert_eq!(temp_owner("5.delta"), None);
    }

    #[test]
    fn the_link_fallback_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("ember-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, target) = (dir.join("a"), dir.join("b"), dir.join("1.delta"));
        std::fs::write(&a, b"first").unwrap();
        std::fs::write(&b, b"second").unwrap();
        link_noreplace(&a, &target).unwrap();
        assert!(!a.exists());
        let err = link_noreplace(&b, &target).unwrap_err();
        assert!(matches!(err, StateError::AlreadyExists { ref path } if path == &target));
        assert!(!b.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn publish_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("ember-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("1.delta");
        let io = |t: &Path, e| StateError::io(t, e);
        publish(&target, None, |w, t| w.write_all(b"first").map_err(|e| io(t, e))).unwrap();
        let err = publish(&target, None, |w, t| w.write_all(b"second").map_err(|e| io(t, e)))
            .unwrap_err();
        assert!(matches!(err, StateError::AlreadyExists { ref path } if path == &target));
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "temp file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

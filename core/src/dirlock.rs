//! An exclusive advisory lock on a directory's `.lock` file, held by a running query on its
//! checkpoint and by a file sink on its output. It dies with the process, so a killed query
//! leaves nothing to clean up.

use std::fs::File;
use std::path::Path;

use crate::error::{EmberError, Result};

/// Locks `<dir>/.lock` (created if missing) for as long as the returned file lives; if another
/// holder has it, fails with the configuration error `busy` describes.
pub(crate) fn lock_dir(dir: &Path, busy: impl FnOnce() -> String) -> Result<File> {
    let path = dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EmberError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EmberError::config(busy())),
        Err(std::fs::TryLockError::Error(e)) => Err(EmberError::io(&path, e)),
    }
}

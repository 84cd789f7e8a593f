//! The directory lock: one process at a time per outbox directory.
//!
//! `<dir>/LOCK` is locked exclusively (`flock` through `File::try_lock`) for as long as the
//! [`Outbox`](crate::Outbox) is open, and holds the owner's pid as text so that a refused
//! opener can say who has it. The lock is released by the kernel when the process ends, even
//! on a crash, so a stale `LOCK` file never blocks anybody.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::OutboxError;

/// Name of the lock file inside the outbox directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// Takes the lock of `dir` (which must exist) or fails with [`OutboxError::Locked`].
pub(crate) fn acquire(dir: &Path) -> Result<File, OutboxError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| OutboxError::io("open lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(OutboxError::Locked {
                dir: dir.to_path_buf(),
                pid: read_pid(&mut file),
            })
        }
        Err(TryLockError::Error(e)) => return Err(OutboxError::io("lock", &path, e)),
    }
    let pid = std::process::id().to_string();
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(pid.as_bytes()));
    written.map_err(|e| OutboxError::io("write lock file", &path, e))?;
    Ok(file)
}

/// The pid written by the holder, if the file holds one.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

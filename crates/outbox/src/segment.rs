//! Segment files: naming, listing, the active writer, directory fsync.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::OutboxError;

/// `seg-<n>.log`, zero-padded so that names sort like numbers.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("seg-{seq:010}.log"))
}

pub(crate) fn temp_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("seg-{seq:010}.log.tmp"))
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Segment numbers in the directory (sorted) and leftover temp files.
pub(crate) fn list(dir: &Path) -> Result<(Vec<u64>, Vec<PathBuf>), OutboxError> {
    let mut segments = Vec::new();
    let mut temps = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| OutboxError::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| OutboxError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = parse_segment_name(name) {
            segments.push(seq);
        } else if name.starts_with("seg-") && name.ends_with(".log.tmp") {
            temps.push(entry.path());
        }
    }
    segments.sort_unstable();
    Ok((segments, temps))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), OutboxError> {
    let handle = File::open(dir).map_err(|e| OutboxError::io("open dir", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| OutboxError::io("fsync dir", dir, e))
}

pub(crate) fn open_rw(path: &Path) -> Result<File, OutboxError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| OutboxError::io("open segment", path, e))
}

pub(crate) fn create_new(path: &Path) -> Result<File, OutboxError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| OutboxError::io("create segment", path, e))
}

/// The segment being appended to.
pub(crate) struct Active {
    pub seq: u64,
    pub path: PathBuf,
    pub file: File,
    /// Bytes written (all of them complete records).
    pub len: u64,
    /// Length right after the roll that created it (snapshot and carried batches).
    pub base_len: u64,
}

impl Active {
    /// Writes a whole frame at the end. On failure the file is cut back to the last complete
    /// record; `Err(true)` means even that failed and the writer must not be used again.
    pub fn write_frame(&mut self, frame: &[u8]) -> Result<(), (std::io::Error, bool)> {
        if let Err(e) = self.file.write_all_at(frame, self.len) {
            let broken = self.file.set_len(self.len).is_err();
            return Err((e, broken));
        }
        self.len += frame.len() as u64;
        Ok(())
    }
}

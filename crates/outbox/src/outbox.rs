//! The `Outbox`: the operations on an open outbox directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::frame::{self, FrameRead, Sealer, HEADER_LEN, MAX_PLAINTEXT, NONCE_LEN, TAG_LEN};
use crate::record::Record;
use crate::segment::{self, Active};
use crate::state::{Entry, Location, State};
use crate::{
    Batch, BatchId, BatchMeta, Clock, DeadLetter, FsyncPolicy, OutboxConfig, OutboxError,
    OutboxStats, RecoveryReport, SourceStats,
};

/// Longest accepted source name, in bytes.
pub const MAX_SOURCE_LEN: usize = 1024;
/// Dead-letter reasons are cut to this many bytes.
pub const MAX_REASON_LEN: usize = 4096;

/// A durable, encrypted outbox in one directory. `Send + Sync`; every method takes an internal
/// lock and does blocking file I/O (call it from async code through `spawn_blocking`).
pub struct Outbox {
    pub(crate) dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) segment_bytes: u64,
    pub(crate) max_bytes: u64,
    pub(crate) fsync: FsyncPolicy,
    pub(crate) limit: u64,
    pub(crate) inner: Mutex<Inner>,
    /// The directory lock (`<dir>/LOCK`), held while the outbox is open.
    pub(crate) _lock: std::fs::File,
}

pub(crate) struct Inner {
    pub state: State,
    pub sealer: Sealer,
    pub active: Active,
    /// Segment number -> bytes on disk.
    pub segments: BTreeMap<u64, u64>,
    /// Encryptions done with the key (persisted through snapshots).
    pub encryptions: u64,
    pub unsynced: u32,
    /// Set after a write or fsync failed in a way that leaves the file state unknown: every
    /// later write fails until the outbox is reopened (and recovers from what is on disk).
    pub broken: Option<&'static str>,
    /// The last append was refused (`Full` or `KeyExhausted`); cleared by a successful one.
    pub refusing: bool,
}

impl Inner {
    fn disk_bytes(&self) -> u64 {
        self.segments.values().sum()
    }
}

pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl Outbox {
    /// Opens (or creates) the outbox in `cfg.dir`; see the crate docs for what recovery does.
    pub fn open(cfg: OutboxConfig) -> Result<(Outbox, RecoveryReport), OutboxError> {
        crate::recovery::open(cfg)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // State is only changed after a record is written; a panic elsewhere cannot leave it
        // half-updated, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a batch and the source's new checkpoint as one record, fsync'd before returning
    /// (under `FsyncPolicy::Always`). Fails with `Full` (nothing written) when the disk budget
    /// would be exceeded and compaction cannot free enough.
    pub fn append(
        &self,
        source: &str,
        payload: &[u8],
        checkpoint: &[u8],
    ) -> Result<BatchId, OutboxError> {
        if source.is_empty() || source.len() > MAX_SOURCE_LEN {
            return Err(OutboxError::invalid(format!(
                "source name (1 to {MAX_SOURCE_LEN} bytes)"
            )));
        }
        let plaintext_len = 8 + 8 + 4 + source.len() + 4 + checkpoint.len() + 4 + payload.len();
        if plaintext_len > MAX_PLAINTEXT {
            return Err(OutboxError::invalid(format!(
                "batch size {plaintext_len} bytes (payload + checkpoint over the {MAX_PLAINTEXT} byte record cap)"
            )));
        }
        let frame_len = (HEADER_LEN + NONCE_LEN + plaintext_len + TAG_LEN) as u64;
        let mut inner = self.lock();
        // Keep a reserve of encryptions so that acks, dead-letters and rolls can still drain.
        let append_limit = self.limit - self.limit / 64;
        if inner.encryptions >= append_limit {
            inner.refusing = true;
            return Err(OutboxError::KeyExhausted {
                encryptions: inner.encryptions,
                limit: self.limit,
            });
        }
        if inner.disk_bytes() + frame_len > self.max_bytes {
            self.roll(&mut inner, false, None)?;
            let used = inner.disk_bytes();
            if used + frame_len > self.max_bytes {
                inner.refusing = true;
                return Err(OutboxError::Full {
                    used,
                    needed: frame_len,
                    max: self.max_bytes,
                });
            }
        }
        if inner.active.len > inner.active.base_len
            && inner.active.len + frame_len > self.segment_bytes
        {
            self.roll(&mut inner, true, None)?;
        }
        let id = inner.state.next_id;
        let record = Record::Batch {
            id,
            appended_at_ms: to_ms(self.clock.now()),
            source: source.to_string(),
            checkpoint: checkpoint.to_vec(),
            payload: payload.to_vec(),
        };
        let at = self.write(&mut inner, &record, true)?;
        inner.state.apply(record, at);
        inner.refusing = false;
        Ok(BatchId(id))
    }

    /// The latest durable checkpoint of `source`, if it ever appended a batch.
    pub fn checkpoint(&self, source: &str) -> Option<Vec<u8>> {
        let inner = self.lock();
        inner.state.sources.get(source)?.checkpoint.clone()
    }

    /// The oldest pending batch of `source`; read errors are hidden as `None` — prefer
    /// [`Outbox::try_oldest`] in a delivery loop.
    pub fn oldest(&self, source: &str) -> Option<Batch> {
        self.try_oldest(source).ok().flatten()
    }

    /// The oldest pending (not dead-lettered) batch of `source`, read and verified from disk.
    pub fn try_oldest(&self, source: &str) -> Result<Option<Batch>, OutboxError> {
        let inner = self.lock();
        let Some(state) = inner.state.sources.get(source) else {
            return Ok(None);
        };
        let Some(&id) = state.pending.first() else {
            return Ok(None);
        };
        let (entry, payload) = self.read_payload(&inner, id)?;
        Ok(Some(Batch {
            id: BatchId(id),
            source: entry.source,
            payload,
            appended_at: from_ms(entry.appended_at_ms),
            attempts: entry.attempts,
        }))
    }

    /// Up to `limit` pending batches of `source`, oldest first, without payloads.
    pub fn pending(&self, source: &str, limit: usize) -> Vec<BatchMeta> {
        let inner = self.lock();
        let Some(state) = inner.state.sources.get(source) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for id in state.pending.iter().take(limit) {
            if let Some(entry) = inner.state.live.get(id) {
                out.push(meta(*id, entry));
            }
        }
        out
    }

    /// Marks a batch delivered (accepted or already-had): an fsync'd ack record. Idempotent:
    /// acking a batch that is no longer live is `Ok`; an id never issued is `NotFound`.
    pub fn ack(&self, id: BatchId) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        if !inner.state.live.contains_key(&id.0) {
            return known_or_not_found(&inner, id);
        }
        let at_ms = to_ms(self.clock.now());
        self.write_apply(&mut inner, Record::Ack { id: id.0, at_ms }, true)
    }

    /// Counts one delivery attempt and returns the new count. Written without fsync: a crash
    /// may lose the last few increments.
    pub fn record_attempt(&self, id: BatchId) -> Result<u32, OutboxError> {
        let mut inner = self.lock();
        let Some(entry) = inner.state.live.get(&id.0) else {
            return Err(OutboxError::NotFound { id });
        };
        let n = entry.attempts.saturating_add(1);
        self.write_apply(&mut inner, Record::Attempt { id: id.0, n }, false)?;
        Ok(n)
    }

    /// Takes a pending batch out of the delivery queue permanently, keeping it with `reason`
    /// (cut to `MAX_REASON_LEN` bytes). Idempotent for a batch already dead-lettered.
    pub fn dead_letter(&self, id: BatchId, reason: &str) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let Some(entry) = inner.state.live.get(&id.0) else {
            return Err(OutboxError::NotFound { id });
        };
        if entry.dead.is_some() {
            return Ok(());
        }
        let reason = cut(reason, MAX_REASON_LEN).to_string();
        self.write_apply(&mut inner, Record::DeadLetter { id: id.0, reason }, true)
    }

    /// Dead-lettered batches, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (id, entry) in &inner.state.live {
            if let Some(reason) = &entry.dead {
                out.push(DeadLetter {
                    meta: meta(*id, entry),
                    reason: reason.clone(),
                });
            }
        }
        out
    }

    /// Puts a dead-lettered batch back in the delivery queue (at its original position by
    /// id). A batch already pending is `Ok`.
    pub fn replay(&self, id: BatchId) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let Some(entry) = inner.state.live.get(&id.0) else {
            return Err(OutboxError::NotFound { id });
        };
        if entry.dead.is_none() {
            return Ok(());
        }
        self.write_apply(&mut inner, Record::Replay { id: id.0 }, true)
    }

    /// Discards a dead-lettered batch for good (it stays counted as dead-lettered).
    pub fn drop_dead(&self, id: BatchId) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let Some(entry) = inner.state.live.get(&id.0) else {
            return Err(OutboxError::NotFound { id });
        };
        if entry.dead.is_none() {
            return Err(OutboxError::invalid(format!(
                "drop of batch {id}: it is pending, not dead-lettered"
            )));
        }
        self.write_apply(&mut inner, Record::DropDead { id: id.0 }, true)
    }

    /// Counters per source and disk usage; ages by the configured clock.
    pub fn stats(&self) -> OutboxStats {
        let inner = self.lock();
        let now = self.clock.now();
        let mut sources = BTreeMap::new();
        for (name, s) in &inner.state.sources {
            let oldest_pending_age = s
                .pending
                .first()
                .and_then(|id| inner.state.live.get(id))
                .map(|e| {
                    now.duration_since(from_ms(e.appended_at_ms))
                        .unwrap_or_default()
                });
            sources.insert(
                name.clone(),
                SourceStats {
                    received: s.received,
                    delivered: s.delivered,
                    buffered: s.pending.len() as u64,
                    dead_lettered: s.dead_dropped,
                    dead_dropped: s.dead_dropped,
                    oldest_pending_age,
                    bytes: 0,
                    last_delivered: (s.last_delivered_ms > 0).then(|| from_ms(s.last_delivered_ms)),
                },
            );
        }
        for entry in inner.state.live.values() {
            if let Some(s) = sources.get_mut(&entry.source) {
                s.bytes += entry.frame_len;
                if entry.dead.is_some() {
                    s.dead_lettered += 1;
                }
            }
        }
        OutboxStats {
            sources,
            disk_bytes: inner.disk_bytes(),
            segments: inner.segments.len(),
            encryptions: inner.encryptions,
            encryption_limit: self.limit,
            max_bytes: self.max_bytes,
            full: inner.refusing,
        }
    }

    /// Deletes the oldest segments that hold no pending batch, after carrying the live state
    /// forward into a new segment (snapshot of counters and checkpoints, dead-lettered batches).
    /// Crash-safe at every step; a no-op when nothing can be freed.
    pub fn compact(&self) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        self.roll(&mut inner, false, None).map(|_| ())
    }

    /// Test seam: runs a compaction that "crashes" after `step` (1: new segment written but not
    /// renamed, 2: renamed but nothing deleted, 3: first old segment deleted). The outbox must
    /// be dropped and reopened afterwards; it refuses further writes.
    #[doc(hidden)]
    pub fn debug_compact_crash(&self, step: u8) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let result = self.roll(&mut inner, true, Some(step)).map(|_| ());
        inner.broken = Some("simulated crash");
        result
    }

    /// Test seam: the active segment file, its length, and its length right after the roll
    /// that created it (snapshot and carried batches, fsync'd before any old segment went).
    #[doc(hidden)]
    pub fn debug_tail(&self) -> (PathBuf, u64, u64) {
        let inner = self.lock();
        (
            inner.active.path.clone(),
            inner.active.len,
            inner.active.base_len,
        )
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_apply(
        &self,
        inner: &mut Inner,
        record: Record,
        durable: bool,
    ) -> Result<(), OutboxError> {
        let at = self.write(inner, &record, durable)?;
        inner.state.apply(record, at);
        Ok(())
    }

    /// Encrypts and writes one record at the end of the active segment; fsyncs it when
    /// `durable` (and the policy says so).
    pub(crate) fn write(
        &self,
        inner: &mut Inner,
        record: &Record,
        durable: bool,
    ) -> Result<Location, OutboxError> {
        if let Some(why) = inner.broken {
            return Err(OutboxError::io(
                "write",
                &inner.active.path,
                std::io::Error::other(format!("{why}; reopen the outbox")),
            ));
        }
        if inner.encryptions >= self.limit {
            return Err(OutboxError::KeyExhausted {
                encryptions: inner.encryptions,
                limit: self.limit,
            });
        }
        let offset = inner.active.len;
        let frame = inner
            .sealer
            .seal(record.kind(), inner.active.seq, offset, &record.encode());
        inner.encryptions += 1;
        if let Err((e, broken)) = inner.active.write_frame(&frame) {
            if broken {
                inner.broken = Some("a failed write could not be rolled back");
            }
            return Err(OutboxError::io("write", &inner.active.path, e));
        }
        let seq = inner.active.seq;
        let len = inner.active.len;
        inner.segments.insert(seq, len);
        inner.unsynced += 1;
        let sync = durable
            && match self.fsync {
                FsyncPolicy::Always => true,
                FsyncPolicy::EveryN(n) => inner.unsynced >= n.max(1),
            };
        if sync {
            if let Err(e) = inner.active.file.sync_data() {
                inner.broken = Some("fsync failed");
                return Err(OutboxError::io("fsync", &inner.active.path, e));
            }
            inner.unsynced = 0;
        }
        Ok(Location {
            segment: seq,
            offset,
            frame_len: frame.len() as u64,
        })
    }

    /// Reads and verifies a live batch's payload from its segment.
    pub(crate) fn read_payload(
        &self,
        inner: &Inner,
        id: u64,
    ) -> Result<(Entry, Vec<u8>), OutboxError> {
        let Some(entry) = inner.state.live.get(&id) else {
            return Err(OutboxError::NotFound { id: BatchId(id) });
        };
        let path = segment::segment_path(&self.dir, entry.segment);
        let corrupt = |detail: &str| OutboxError::Corrupt {
            file: path.clone(),
            offset: entry.offset,
            detail: detail.to_string(),
        };
        let file = std::fs::File::open(&path).map_err(|e| OutboxError::io("read", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| OutboxError::io("stat", &path, e))?
            .len();
        let read = frame::read_frame(&file, len, entry.segment, entry.offset, &inner.sealer)
            .map_err(|e| OutboxError::io("read", &path, e))?;
        let FrameRead::Ok { header, plaintext } = read else {
            return Err(corrupt("batch record no longer verifies"));
        };
        let payload = match Record::decode(header.kind, &plaintext) {
            Some(Record::Batch {
                id: found, payload, ..
            })
            | Some(Record::Carry {
                id: found, payload, ..
            }) if found == id => payload,
            _ => return Err(corrupt("record is not the expected batch")),
        };
        Ok((entry.clone(), payload))
    }
}

fn meta(id: u64, entry: &Entry) -> BatchMeta {
    BatchMeta {
        id: BatchId(id),
        source: entry.source.clone(),
        appended_at: from_ms(entry.appended_at_ms),
        attempts: entry.attempts,
        payload_bytes: entry.payload_len,
    }
}

fn known_or_not_found(inner: &Inner, id: BatchId) -> Result<(), OutboxError> {
    if id.0 >= 1 && id.0 < inner.state.next_id {
        Ok(())
    } else {
        Err(OutboxError::NotFound { id })
    }
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

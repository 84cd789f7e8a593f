//! Public value types returned by the outbox.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Identifier of one appended batch: unique and increasing within one outbox directory, never
/// reused (also across restarts and compaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub u64);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A pending batch, with its payload, as handed to the delivery loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Its id.
    pub id: BatchId,
    /// The source that produced it.
    pub source: String,
    /// The payload bytes, as appended.
    pub payload: Vec<u8>,
    /// When it was appended (outbox clock).
    pub appended_at: SystemTime,
    /// Delivery attempts recorded so far.
    pub attempts: u32,
}

/// A pending batch without its payload (for listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMeta {
    /// Its id.
    pub id: BatchId,
    /// The source that produced it.
    pub source: String,
    /// When it was appended.
    pub appended_at: SystemTime,
    /// Delivery attempts recorded so far.
    pub attempts: u32,
    /// Payload size in bytes.
    pub payload_bytes: u64,
}

/// A dead-lettered batch: rejected permanently, kept out of the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The batch.
    pub meta: BatchMeta,
    /// Why it was rejected.
    pub reason: String,
}

/// Per-source counters. Conservation: `received = delivered + buffered + dead_lettered`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Batches ever appended (persisted across restarts and compaction).
    pub received: u64,
    /// Batches acknowledged as delivered.
    pub delivered: u64,
    /// Batches pending delivery.
    pub buffered: u64,
    /// Batches dead-lettered: those still kept plus those dropped by an operator.
    pub dead_lettered: u64,
    /// Of `dead_lettered`, how many were dropped by an operator.
    pub dead_dropped: u64,
    /// Age of the oldest pending batch, by the outbox clock.
    pub oldest_pending_age: Option<Duration>,
    /// Bytes on disk of this source's pending and dead-lettered batch records.
    pub bytes: u64,
    /// When a batch of this source was last acked (outbox clock; persisted in the ack records
    /// and snapshots, so it survives restarts and compaction). `None`: never.
    pub last_delivered: Option<SystemTime>,
}

/// Outbox statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Per source.
    pub sources: BTreeMap<String, SourceStats>,
    /// Total bytes of all segment files.
    pub disk_bytes: u64,
    /// Number of segment files.
    pub segments: usize,
    /// Encryptions done with the current key (bounded, see `OutboxConfig::encryption_limit`).
    pub encryptions: u64,
    /// The configured encryption bound (`OutboxConfig::encryption_limit`); new batches are
    /// refused from `encryption_limit - encryption_limit / 64` on.
    pub encryption_limit: u64,
    /// The configured disk budget (`OutboxConfig::max_bytes`).
    pub max_bytes: u64,
    /// True while appends are refused: the last append failed with `Full` or `KeyExhausted`
    /// (cleared by the next successful append; not persisted).
    pub full: bool,
}

/// What `Outbox::open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files read.
    pub segments: usize,
    /// Records verified and replayed.
    pub records: u64,
    /// The last segment, when its torn or corrupt tail was truncated.
    pub truncated_file: Option<PathBuf>,
    /// Offset at which it was truncated.
    pub truncated_at: u64,
    /// Bytes dropped from the tail (never acknowledged to a caller under `FsyncPolicy::Always`).
    pub truncated_bytes: u64,
    /// Records (whole or partial) dropped from the tail.
    pub truncated_records: u64,
    /// Leftover temporary files of an interrupted segment roll that were removed.
    pub removed_temp_files: usize,
}

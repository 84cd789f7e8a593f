//! Durable, encrypted local outbox of the importer: every batch of every source, together with
//! the source's new checkpoint, is appended here (one record, fsync'd) before the source's
//! position advances; the delivery loop sends the oldest pending batch, then acks it or
//! dead-letters it. Nothing is lost or duplicated by a crash, and nothing is readable on disk
//! without the key.
//!
//! This crate owns the on-disk log, its recovery and its counters. It must not know about the
//! hub, HTTP, sources, tokio or metrics exporters: callers wrap it (`spawn_blocking`) and export
//! [`OutboxStats`] themselves.
//!
//! # On-disk format (version 1)
//!
//! A directory of append-only segment files `seg-<n>.log` (`<n>` zero-padded to 10 digits,
//! contiguous; the highest is the active one). A segment is a sequence of records:
//!
//! ```text
//! header (32 bytes, little-endian)
//!   0..4   magic "WFMO"
//!   4      version (1)
//!   5      record type (1 snapshot, 2 batch, 3 ack, 4 attempt, 5 dead-letter, 6 replay,
//!          7 drop-dead, 8 carry)
//!   6..8   reserved, zero
//!   8..16  segment number  (must equal the file's <n>)
//!   16..24 offset of this record in the file (must equal its position)
//!   24..28 body length (nonce + ciphertext + tag), at most 64 MiB + 28
//!   28..32 CRC-32 of bytes 0..28
//! body
//!   12-byte random nonce || AES-256-GCM(serialised record) || 16-byte tag
//!   associated data = the 32 header bytes
//! ```
//!
//! Because the header (segment number and offset included) is the associated data, a record
//! cannot be moved to another position or file, nor swapped with another, without failing
//! authentication. The serialised records (inside the ciphertext only) are:
//!
//! - `Batch{id, appended_at, source, checkpoint, payload}`: a batch and the source's new
//!   checkpoint, atomically;
//! - `Ack{id, at}` (`at`: delivery time, ms since the epoch; older acks hold only the id),
//!   `Attempt{id, n}` (absolute count), `DeadLetter{id, reason}`, `Replay{id}`, `DropDead{id}`;
//! - `Snapshot{next_id, encryptions, per source: checkpoint, received, delivered, dead_dropped;
//!   then per source: last delivery time}`: absolute counters, first record of every segment
//!   (the trailing delivery times are absent in older snapshots and then read as "never");
//! - `Carry{id, appended_at, source, attempts, dead_reason, payload}`: a live dead-lettered batch
//!   copied forward by a compaction, with its full state.
//!
//! No payload, checkpoint, source name or reason is ever written in plaintext; only the record
//! type and sizes are visible.
//!
//! # One process per directory
//!
//! `Outbox::open` takes an exclusive `flock` on `<dir>/LOCK` (and writes its pid there) before
//! reading anything, and holds it until the `Outbox` is dropped. A second opener, in this
//! process or another, gets [`OutboxError::Locked`] naming the holder's pid. The kernel
//! releases the lock when the holder dies, so a leftover `LOCK` file never blocks.
//!
//! # Durability
//!
//! `append`, `ack`, `dead_letter`, `replay` and `drop_dead` write their record and `fdatasync`
//! the segment before returning (under [`FsyncPolicy::Always`]), so whatever a caller was told
//! is durable precedes, in the file, anything that can be torn by a crash. `record_attempt` is
//! not fsync'd (a crash may lose the last increments). Hence on open only the **tail of the last
//! segment** can legitimately be damaged: it is truncated at the first record that is short or
//! fails its checks, provided no authentic record follows (reported in [`RecoveryReport`]). A
//! damaged record anywhere else, a record followed by authentic ones, a missing segment or an
//! authentic record that does not decode is refused with [`OutboxError::Corrupt`] naming the
//! file and offset: the operator decides, nothing is dropped silently. When no record at all
//! authenticates, the error is [`OutboxError::WrongKey`] (a log whose only record is damaged is
//! indistinguishable from a wrong key). After a failed write or fsync the outbox refuses
//! further writes until it is reopened, because the file state is then unknown.
//!
//! # Segments and compaction
//!
//! When the active segment would exceed `segment_bytes`, and on [`Outbox::compact`] (and when
//! an append would exceed `max_bytes`), the outbox *rolls*: it fsyncs the active segment, writes
//! a new segment `n+1` to a temp file (a snapshot of counters and checkpoints, then a `Carry`
//! of every dead-lettered batch held by the segments about to be deleted), fsyncs it, renames it,
//! fsyncs the directory, then deletes, oldest first, the longest run of old segments that hold
//! no pending batch. A crash at any instant leaves either the old segments alone (temp file
//! removed on open) or old and new together, which replay to the same state: snapshots set
//! absolute counters, carries overwrite their batch's state, and records about batches that
//! are no longer live are ignored.
//!
//! # Key and its bound
//!
//! The key is 32 bytes (file with raw bytes or 64 hex digits, or an env var with hex). With
//! random 96-bit nonces, one key must not encrypt more than about 2^32 records; the outbox counts
//! encryptions (persisted in every snapshot) and refuses new batches with
//! [`OutboxError::KeyExhausted`] at `encryption_limit - encryption_limit/64` (default limit
//! 2^31), keeping the rest for acks and compaction so that the backlog can still drain.
//! Rotation: let the outbox drain (all batches delivered), stop the importer, note the
//! checkpoints (`checkpoint` of each source), move the directory away, start with the new key
//! and seed the checkpoints. (An in-place re-key is not implemented yet.)

mod config;
mod error;
mod frame;
mod lock;
mod outbox;
mod record;
mod recovery;
mod roll;
mod segment;
mod state;
mod types;

pub use config::{
    Clock, FsyncPolicy, OutboxConfig, OutboxKey, SystemClock, DEFAULT_ENCRYPTION_LIMIT,
    DEFAULT_MAX_BYTES, DEFAULT_SEGMENT_BYTES,
};
pub use error::OutboxError;
pub use outbox::{Outbox, MAX_REASON_LEN, MAX_SOURCE_LEN};
pub use types::{Batch, BatchId, BatchMeta, DeadLetter, OutboxStats, RecoveryReport, SourceStats};

/// Largest batch record (payload + checkpoint + source + fields), in bytes: 64 MiB.
pub const MAX_RECORD_BYTES: usize = frame::MAX_PLAINTEXT;

//! The outbox error type: one enum, a retry classification and a bounded metric label.

use std::path::PathBuf;

use crate::BatchId;

/// Everything that can go wrong in the outbox.
///
/// `is_retriable()` tells a caller whether trying the same call later can succeed without an
/// operator (disk hiccup, budget full until batches are delivered); `error_type()` is a bounded
/// label for metrics. Messages never contain payload, checkpoint or key material.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// A file operation failed (open, write, fsync, rename, read, ...).
    #[error("outbox i/o error during {op} on {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The disk budget (`max_bytes`) would be exceeded; nothing was written.
    #[error("outbox full: {used} bytes on disk + {needed} needed > budget of {max} bytes")]
    Full {
        /// Bytes currently on disk.
        used: u64,
        /// Bytes the refused write needed.
        needed: u64,
        /// The configured budget.
        max: u64,
    },
    /// A record failed verification somewhere other than the torn tail of the last segment.
    #[error("outbox corrupt: {} at offset {offset}: {detail}", file.display())]
    Corrupt {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the bad record in that file.
        offset: u64,
        /// What was wrong (never record content).
        detail: String,
    },
    /// No record of the log authenticates with the configured key.
    #[error("outbox key does not decrypt {}: wrong key for this outbox directory", file.display())]
    WrongKey {
        /// The first segment file tried.
        file: PathBuf,
    },
    /// The key has been used for as many encryptions as AES-GCM with random nonces allows.
    #[error(
        "outbox key exhausted: {encryptions} encryptions done, limit {limit}; \
         drain the outbox and rotate the outbox key (see the wfm-outbox crate docs)"
    )]
    KeyExhausted {
        /// Encryptions done with this key so far.
        encryptions: u64,
        /// The configured bound.
        limit: u64,
    },
    /// Another process (or another `Outbox` in this process) has the directory open.
    #[error(
        "outbox {} is in use by another process{}: stop that importer first \
         (while it runs, read the outbox figures from its /metrics endpoint)",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The outbox directory.
        dir: PathBuf,
        /// The holder's pid, as written in its `LOCK` file (absent when unreadable).
        pid: Option<u32>,
    },
    /// The batch id is unknown (never appended by this outbox).
    #[error("outbox batch {id} not found")]
    NotFound {
        /// The id asked for.
        id: BatchId,
    },
    /// The call's arguments or the configuration are not acceptable (empty source name,
    /// record over the size cap, malformed key, operation not allowed in the batch's state).
    #[error("outbox: invalid {what}")]
    Invalid {
        /// What was wrong.
        what: String,
    },
}

impl OutboxError {
    /// True when the same call may succeed later without operator action.
    pub fn is_retriable(&self) -> bool {
        matches!(self, OutboxError::Io { .. } | OutboxError::Full { .. })
    }

    /// Bounded label for metrics: io, full, corrupt, wrong_key, key_exhausted, locked,
    /// not_found, invalid.
    pub fn error_type(&self) -> &'static str {
        match self {
            OutboxError::Io { .. } => "io",
            OutboxError::Full { .. } => "full",
            OutboxError::Corrupt { .. } => "corrupt",
            OutboxError::WrongKey { .. } => "wrong_key",
            OutboxError::KeyExhausted { .. } => "key_exhausted",
            OutboxError::Locked { .. } => "locked",
            OutboxError::NotFound { .. } => "not_found",
            OutboxError::Invalid { .. } => "invalid",
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OutboxError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        OutboxError::Invalid { what: what.into() }
    }
}

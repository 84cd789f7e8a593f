//! Outbox configuration: directory, key, segment size, disk budget, fsync policy and clock.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroize;

use crate::OutboxError;

/// Default size at which the active segment is sealed and a new one started: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Default disk budget of the whole outbox directory: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024 * 1024;
/// Default bound on AES-GCM encryptions with one key (random 96-bit nonces): 2^31.
pub const DEFAULT_ENCRYPTION_LIMIT: u64 = 1 << 31;

/// The 32-byte AES-256-GCM key of the outbox. Never printed: `Debug` shows `<redacted>`;
/// the bytes are zeroed on drop.
#[derive(Clone)]
pub struct OutboxKey([u8; 32]);

impl OutboxKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> OutboxKey {
        OutboxKey(bytes)
    }

    /// A key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<OutboxKey, OutboxError> {
        let mut raw = hex::decode(text.trim())
            .map_err(|_| OutboxError::invalid("outbox key: not hex (expected 64 hex digits)"))?;
        let key = OutboxKey::from_slice(&raw);
        raw.zeroize();
        key
    }

    /// A key from a file holding either exactly 32 raw bytes or 64 hex digits.
    pub fn from_file(path: &Path) -> Result<OutboxKey, OutboxError> {
        let mut raw = std::fs::read(path).map_err(|e| OutboxError::io("read key file", path, e))?;
        let key = if raw.len() == 32 {
            OutboxKey::from_slice(&raw)
        } else {
            match std::str::from_utf8(&raw) {
                Ok(text) => OutboxKey::from_hex(text),
                Err(_) => Err(OutboxError::invalid(format!(
                    "outbox key file {}: expected 32 raw bytes or 64 hex digits",
                    path.display()
                ))),
            }
        };
        raw.zeroize();
        key
    }

    /// A key from an environment variable holding 64 hex digits.
    pub fn from_env(var: &str) -> Result<OutboxKey, OutboxError> {
        let mut text = std::env::var(var).map_err(|_| {
            OutboxError::invalid(format!("outbox key: environment variable {var} not set"))
        })?;
        let key = OutboxKey::from_hex(&text);
        text.zeroize();
        key
    }

    fn from_slice(raw: &[u8]) -> Result<OutboxKey, OutboxError> {
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| OutboxError::invalid("outbox key: expected exactly 32 bytes"))?;
        Ok(OutboxKey(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for OutboxKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for OutboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutboxKey(<redacted>)")
    }
}

/// When appends and acks are fsync'd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fsync before every append/ack/dead-letter returns: the durability contract. Default.
    #[default]
    Always,
    /// fsync every n-th record only (benchmarks, tests): a crash may lose up to n-1 records
    /// that were already reported as durable. Never use in production.
    EveryN(u32),
}

/// Source of wall-clock time, injected so that ages are testable.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Configuration of one outbox directory.
#[derive(Clone)]
pub struct OutboxConfig {
    /// The directory holding the segment files; created if missing. One outbox per directory,
    /// one process at a time.
    pub dir: PathBuf,
    /// AES-256-GCM key encrypting every record (from a file, hex or raw, or an env var).
    pub key: OutboxKey,
    /// Size at which the active segment is sealed and a new one started (default 64 MiB).
    pub segment_bytes: u64,
    /// Disk budget of the directory; appends beyond it fail with `Full` (default 1 GiB).
    pub max_bytes: u64,
    /// When records are fsync'd (default `Always`).
    pub fsync: FsyncPolicy,
    /// Clock used for `appended_at` and ages (default the system clock).
    pub clock: Arc<dyn Clock>,
    /// Bound on encryptions with `key` (default 2^31); lower it only in tests.
    pub encryption_limit: u64,
}

impl OutboxConfig {
    /// A configuration with the defaults for everything but the directory and key.
    pub fn new(dir: impl Into<PathBuf>, key: OutboxKey) -> OutboxConfig {
        OutboxConfig {
            dir: dir.into(),
            key,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_bytes: DEFAULT_MAX_BYTES,
            fsync: FsyncPolicy::Always,
            clock: Arc::new(SystemClock),
            encryption_limit: DEFAULT_ENCRYPTION_LIMIT,
        }
    }
}

impl fmt::Debug for OutboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxConfig")
            .field("dir", &self.dir)
            .field("key", &self.key)
            .field("segment_bytes", &self.segment_bytes)
            .field("max_bytes", &self.max_bytes)
            .field("fsync", &self.fsync)
            .field("encryption_limit", &self.encryption_limit)
            .finish_non_exhaustive()
    }
}

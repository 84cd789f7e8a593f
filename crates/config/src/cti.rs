//! `[[cti]]`: Cisco CTI Server (GED-188) live agent-state feeds, and `[outbox]`, the importer's
//! durable encrypted queue that every live batch goes through on its way to the hub.
//!
//! Agent ids: a CTI event names its agent by the floating `AgentID` field (the peripheral
//! number, e.g. `5012`). The importer sends it unchanged as the state event's `agent`; the hub
//! links it to a directory user whose `agentId` attribute has the same value (UCCE ConfigAPI
//! `agentId` is that peripheral number). Events without an `AgentID` are skipped and logged.

use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use wfm_model::SourceId;

fn default_version() -> u32 {
    24
}
fn default_heartbeat() -> Duration {
    Duration::from_secs(30)
}
fn default_batch_max_events() -> usize {
    500
}
fn default_batch_max_delay() -> Duration {
    Duration::from_millis(100)
}
fn default_gap_settle() -> Duration {
    Duration::from_secs(5 * 60)
}

/// One CTI Server (a duplexed pair: side A and optionally side B) (`[[cti]]`).
#[derive(Debug, Clone, Deserialize)]
pub struct CtiConfig {
    /// Source id of the live states at the hub (e.g. `cti-site1`). Keep it stable.
    pub source_id: SourceId,
    /// Side A as `host:port` (tried first). No default port: the often quoted 42027 is not
    /// confirmed by Cisco's guide, take it from the PG setup.
    pub side_a: String,
    /// Side B of a duplexed pair as `host:port`, if any; the client alternates on failure.
    #[serde(default)]
    pub side_b: Option<String>,
    /// `ClientID` sent in OPEN_REQ (1–63 printable ASCII characters).
    pub client_id: String,
    /// `ClientPassword` sent in OPEN_REQ (or `client_password_file`, or `${ENV}`); may be empty
    /// when the server does not check it.
    #[serde(default)]
    pub client_password: Secret,
    /// GED-188 protocol version requested (9–25). 20 and later use 2-byte floating tags.
    /// Default 24.
    #[serde(default = "default_version")]
    pub protocol_version: u32,
    /// Interval between HEARTBEAT_REQs (at least `5s`; the server's idle timeout is 4× this).
    /// Default `30s`.
    #[serde(default = "default_heartbeat", with = "humantime_serde")]
    pub heartbeat: Duration,
    /// Only agent-state events of this PeripheralID are imported (a CTI Server can serve
    /// several peripherals); default: every peripheral.
    #[serde(default)]
    pub peripheral_id: Option<u32>,
    /// A batch is closed at this many events (1–10 000). Default 500.
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// …or this long after its first event, whichever comes first (latency bound of the
    /// batching; at most `10s`). Default `100ms`.
    #[serde(default = "default_batch_max_delay", with = "humantime_serde")]
    pub batch_max_delay: Duration,
    /// After a (re)connect or a peripheral coming back, the feed gap stays open until every
    /// agent known to be logged in has sent a state again, or for at most this long. Default
    /// `5m`.
    #[serde(default = "default_gap_settle", with = "humantime_serde")]
    pub gap_settle: Duration,
}

impl CtiConfig {
    pub(crate) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        check_host_port(issues, &format!("{path}.side_a"), &self.side_a);
        if let Some(b) = &self.side_b {
            check_host_port(issues, &format!("{path}.side_b"), b);
        }
        let id = &self.client_id;
        if id.is_empty() || id.len() > 63 || !id.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            issues.push(issue(
                format!("{path}.client_id"),
                "must be 1 to 63 printable ASCII characters",
            ));
        }
        if self.client_password.expose().len() > 64 {
            issues.push(issue(
                format!("{path}.client_password"),
                "is longer than 64 bytes (the OPEN_REQ field size)",
            ));
        }
        if !(9..=25).contains(&self.protocol_version) {
            issues.push(issue(
                format!("{path}.protocol_version"),
                "must be between 9 and 25 (24 is a good default)",
            ));
        }
        if self.heartbeat < Duration::from_secs(5) {
            issues.push(issue(
                format!("{path}.heartbeat"),
                "must be at least 5s (the CTI Server minimum)",
            ));
        }
        if self.batch_max_events == 0 || self.batch_max_events > 10_000 {
            issues.push(issue(
                format!("{path}.batch_max_events"),
                "must be between 1 and 10000",
            ));
        }
        if self.batch_max_delay.is_zero() || self.batch_max_delay > Duration::from_secs(10) {
            issues.push(issue(
                format!("{path}.batch_max_delay"),
                "must be greater than zero and at most 10s",
            ));
        }
        if self.gap_settle.is_zero() {
            issues.push(issue(
                format!("{path}.gap_settle"),
                "must be greater than zero",
            ));
        }
    }
}

fn check_host_port(issues: &mut Vec<ConfigIssue>, path: &str, value: &str) {
    let ok = match value.rsplit_once(':') {
        Some((host, port)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            !host.is_empty()
                && !host.contains(['/', ' '])
                && port.parse::<u16>().map(|p| p > 0).unwrap_or(false)
        }
        None => false,
    };
    if !ok {
        issues.push(issue(
            path,
            format!("'{value}' is not host:port (e.g. cti-a.example.com:42027)"),
        ));
    }
}

/// The importer's outbox (`[outbox]`): where every batch of every source (users, intervals,
/// agent states, live states, reason codes) waits, encrypted, until the hub has it. See
/// `docs/delivery.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxSection {
    /// Directory of the outbox segment files. Default `<importer.data_dir>/outbox`.
    pub dir: Option<PathBuf>,
    /// File holding the 32-byte AES-256-GCM key, as 32 raw bytes or 64 hex digits
    /// (e.g. made with `openssl rand -hex 32 > outbox.key`; mode 0600). When neither this nor
    /// `key` is set, `<importer.data_dir>/outbox.key` is used, and created (32 random bytes,
    /// mode 0600) the first time.
    pub key_file: Option<PathBuf>,
    /// The key as 64 hex digits, normally `${WFM_OUTBOX_KEY}`. Set this or `key_file`.
    pub key: Option<Secret>,
    /// Disk budget of the directory in MiB; when it is reached the importer stops pulling
    /// (what is buffered is kept and delivered) and retries later. Default 1024.
    pub max_mib: Option<u64>,
    /// First delivery back-off after a failed attempt; doubled per consecutive failure, with
    /// jitter. Default `200ms`.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// Largest delivery back-off, and largest `Retry-After` honoured. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// One-shot commands (`sync …`, `backfill …`, `repair …`) wait for their batches to be
    /// delivered; after this many consecutive failed attempts they stop waiting and exit 1,
    /// leaving the batches in the outbox for the next run. Default 5.
    pub wait_attempts: u32,
}

impl Default for OutboxSection {
    fn default() -> Self {
        OutboxSection {
            dir: None,
            key_file: None,
            key: None,
            max_mib: None,
            retry_initial: Duration::from_millis(200),
            retry_max: Duration::from_secs(30),
            wait_attempts: 5,
        }
    }
}

impl OutboxSection {
    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        match (&self.key_file, &self.key) {
            (Some(_), Some(_)) => issues.push(issue(
                "outbox.key",
                "both key and key_file are set; keep one",
            )),
            (None, Some(k)) => {
                let k = k.expose().trim();
                if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
                    issues.push(issue("outbox.key", "must be 64 hex digits (32 bytes)"));
                }
            }
            _ => {}
        }
        if self.max_mib == Some(0) {
            issues.push(issue("outbox.max_mib", "must be at least 1"));
        }
        if self.retry_initial.is_zero() || self.retry_max < self.retry_initial {
            issues.push(issue(
                "outbox.retry_initial",
                "must be above zero and at most outbox.retry_max",
            ));
        }
        if self.wait_attempts == 0 {
            issues.push(issue("outbox.wait_attempts", "must be at least 1"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        let mut issues = Vec::new();
        for ok in ["cti-a:42027", "10.0.0.1:1", "[::1]:42027"] {
            check_host_port(&mut issues, "x", ok);
        }
        assert!(issues.is_empty(), "{issues:?}");
        for bad in ["cti-a", ":42027", "cti-a:0", "cti-a:port", "a b:1"] {
            check_host_port(&mut issues, "x", bad);
        }
        assert_eq!(issues.len(), 5);
    }
}

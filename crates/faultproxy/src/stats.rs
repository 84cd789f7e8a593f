//! Counters kept by the proxy.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the proxy counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client connections accepted (including those then reset or blackholed).
    pub connections_accepted: u64,
    /// Bytes forwarded client → upstream.
    pub bytes_to_upstream: u64,
    /// Bytes forwarded upstream → client (injected HTTP responses excluded).
    pub bytes_to_client: u64,
    /// Upstream connects that failed (the client was then reset).
    pub upstream_connect_failures: u64,
    /// Connections reset by `Reset`.
    pub resets: u64,
    /// Existing connections dropped by `Cut`.
    pub cut_drops: u64,
    /// Connections blackholed.
    pub blackholed: u64,
    /// Connections truncated by `TruncateResponses`.
    pub truncated: u64,
    /// HTTP requests answered with an injected status.
    pub http_injected: u64,
}

impl Stats {
    /// Total faults applied (resets, cut drops, blackholes, truncations, HTTP injections).
    pub fn faults_applied(&self) -> u64 {
        self.resets + self.cut_drops + self.blackholed + self.truncated + self.http_injected
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections_accepted: AtomicU64,
    pub bytes_to_upstream: AtomicU64,
    pub bytes_to_client: AtomicU64,
    pub upstream_connect_failures: AtomicU64,
    pub resets: AtomicU64,
    pub cut_drops: AtomicU64,
    pub blackholed: AtomicU64,
    pub truncated: AtomicU64,
    pub http_injected: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            connections_accepted: get(&self.connections_accepted),
            bytes_to_upstream: get(&self.bytes_to_upstream),
            bytes_to_client: get(&self.bytes_to_client),
            upstream_connect_failures: get(&self.upstream_connect_failures),
            resets: get(&self.resets),
            cut_drops: get(&self.cut_drops),
            blackholed: get(&self.blackholed),
            truncated: get(&self.truncated),
            http_injected: get(&self.http_injected),
        }
    }
}

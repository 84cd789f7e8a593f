//! Fault modes that can be switched at runtime.

use std::time::Duration;

/// What the proxy does to traffic. Switching applies to new connections and,
/// where sensible, to existing ones (noted per variant).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FaultMode {
    /// Forward bytes unchanged.
    #[default]
    Pass,
    /// Sleep `per_chunk` before forwarding each chunk, in each direction.
    /// Applies to existing connections.
    Latency {
        /// Delay added before each forwarded chunk.
        per_chunk: Duration,
    },
    /// New connections are accepted and immediately closed with a TCP RST.
    /// Existing connections are reset when they next carry data.
    Reset,
    /// Link down: the listener is closed (new connects are refused) and
    /// existing connections are dropped with a RST. Switching away rebinds.
    Cut,
    /// New connections are accepted but never forwarded nor answered (a hang).
    /// Existing connections stop forwarding and stay blackholed for good, even
    /// after the mode changes back, until either side closes or a `Cut`.
    Blackhole,
    /// Forward only the first `after_bytes` bytes upstream→client of each
    /// connection (counted from the connection start), then close it (FIN).
    TruncateResponses {
        /// Bytes of response data let through per connection.
        after_bytes: u64,
    },
    /// Limit each direction of each connection to about `bytes_per_sec`.
    /// Applies to existing connections.
    Bandwidth {
        /// Throughput per direction per connection; 0 is treated as 1.
        bytes_per_sec: u64,
    },
}

/// An HTTP-level fault (HTTP proxies only, see [`crate::FaultProxy::spawn_http`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFault {
    /// Answer the next `times` requests with `code` (and `Retry-After` if set)
    /// instead of forwarding them; the connection stays usable.
    Status {
        /// HTTP status code, e.g. 429 or 503.
        code: u16,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u64>,
        /// Number of requests to answer this way.
        times: usize,
    },
}

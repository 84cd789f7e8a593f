//! Fault-injecting loopback proxy for delivery tests and benchmarks.
//!
//! Owns: a TCP proxy that sits between an importer and a hub and, switchable at
//! runtime, adds latency, throttles bandwidth, resets connections, cuts the link,
//! blackholes traffic and truncates responses ([`FaultMode`]). Because it works on
//! raw bytes it can sit in front of a TLS hub without terminating TLS.
//!
//! An HTTP-aware variant ([`FaultProxy::spawn_http`]) additionally frames HTTP/1.1
//! requests so it can answer the next N requests itself with a status such as
//! 429/503 and `Retry-After` ([`HttpFault`]). That only works on a **plain-HTTP
//! hop** (e.g. importer → proxy → hub with `allow_insecure_http` in tests); on a
//! TLS hop the bytes are opaque and cannot be framed.
//!
//! Must not: be used in production paths, terminate TLS, panic on I/O errors, or
//! listen on anything but the address it is given (loopback by default).

mod conn;
mod http;
mod mode;
mod proxy;
mod stats;

pub use mode::{FaultMode, HttpFault};
pub use proxy::{FaultProxy, ProxyError, ProxyHandle};
pub use stats::Stats;

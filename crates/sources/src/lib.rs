//! Upstream API clients of the importer: Cisco UCCX Admin REST (`uccx`) and CUCM AXL SOAP (`axl`).
//!
//! This crate owns the wire formats, the hardened decoders and the HTTP clients (TLS, retries,
//! back-off, metrics) of each upstream API. It never depends on the hub, on the sync engine or on
//! another source: each module here is self-contained and returns plain records.

pub mod axl;
pub mod cloud;
pub mod cti;
pub mod error;
pub mod finesse;
pub mod graph;
pub mod http;
pub mod ucce;
pub mod uccx;
pub mod webex;
pub mod xml;
pub mod zoom;

#[cfg(test)]
mod test_support;

pub use error::SourceError;

use std::time::Duration;

/// Result of a read-only health check against an upstream API (used by `wfm-importer check`).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The URL that was called (never with credentials).
    pub endpoint: String,
    /// How long the request took, including retries.
    pub latency: Duration,
    /// How many records the call returned (teams for UCCX, rows for AXL).
    pub items: usize,
    /// A short human-readable summary.
    pub detail: String,
}

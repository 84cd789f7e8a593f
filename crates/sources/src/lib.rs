//! Upstream API clients of the importer: Cisco UCCX Admin REST (`uccx`) and CUCM AXL SOAP (`axl`),
//! and the historical (reporting) database reader (`history`: UCCX `db_cra` / UCCE HDS over ODBC,
//! or SQLite).
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
pub mod history;
pub mod http;
pub mod ucce;
pub mod uccx;
pub mod webex;
pub mod xml;
pub mod zoom;

#[cfg(test)]
mod test_support;

pub use error::SourceError;

/// Everything one paged listing returned (UCCE, Webex CC, Zoom, Graph).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchReport<T> {
    /// The records, de-duplicated by id, in server order.
    pub items: Vec<T>,
    /// What the operator should know about how they were read (duplicates dropped, a server
    /// that ignores the page size, a total that moved); no secrets.
    pub warnings: Vec<String>,
    /// HTTP requests sent for the listing, retries included (token requests not).
    pub requests: u32,
}

impl<T> FetchReport<T> {
    /// An empty report.
    pub fn empty() -> Self {
        FetchReport {
            items: Vec::new(),
            warnings: Vec::new(),
            requests: 0,
        }
    }
}

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

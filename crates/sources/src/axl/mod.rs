//! Cisco CUCM AXL SOAP API, used only for `executeSQLQuery` on `enduser` (e-mail addresses).
//!
//! [`AxlClient`] keeps one request in flight, reuses the session cookie, checks the echoed
//! sequence, batches and quotes user ids, pages on "query too large" and backs off on the
//! memory-allocation throttle.

mod client;
mod config;
mod decode;
#[cfg(test)]
mod tests;

pub use client::AxlClient;
pub use config::{AxlSettings, AXL_SOURCE_LABEL};
pub use decode::{
    build_execute_sql_request, decode_execute_sql_response, decode_fault, parse_row_fetch_hint,
    quote_sql_literal, AxlFault, EndUserRow, SqlRow,
};

//! Cisco Finesse REST API (`/finesse/api`): agent reason codes (Not Ready and Logout).
//!
//! [`FinesseClient`] fetches over HTTPS with Basic auth, one request at a time, retries
//! 5xx/timeouts with back-off; [`decode_reason_codes`] and [`decode_api_errors`] turn the XML
//! bodies into records through the hardened parser of [`crate::xml`].

mod client;
mod decode;
#[cfg(test)]
mod tests;

/// The error record of an `<ApiErrors>` body (shared with the UCCX client and [`SourceError::Api`](crate::SourceError::Api)).
pub use crate::uccx::ApiError;
pub use client::{CategoryFilter, FinesseClient, FinesseSettings, REASON_CODES_ENDPOINT};
pub use decode::{decode_api_errors, decode_reason_codes, ReasonCategory, ReasonCode};

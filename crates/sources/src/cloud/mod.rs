//! What the cloud identity sources (Webex Contact Center, Zoom, Microsoft Graph) share: validated
//! settings, the bearer-token provider (static or OAuth client credentials), JSON GET with
//! retries and `Retry-After`, and paging guards.
//!
//! Nothing here knows a platform's record shapes; those live in `webex`, `zoom` and `graph`.

mod client;
mod config;
pub mod decode;
mod paging;
#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;
mod token;

pub use client::{path_segment, with_query, CloudHttp, ErrorDecoder, Fetched};
pub use config::{ClientAuth, CloudSettings, Credentials, Platform};
pub use paging::{FetchReport, PageCollector};
pub use token::{Clock, TokenProvider, REFRESH_MARGIN};

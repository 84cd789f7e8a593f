//! Cisco UCCX Admin REST API (`/adminapi`): resources (agents, supervisors) and teams.
//!
//! [`UccxClient`] fetches over HTTPS with Basic auth, one request at a time per host, retries
//! 5xx/timeouts with back-off; the `decode_*` functions turn XML or JSON bodies into records.

mod client;
mod config;
mod decode;
#[cfg(test)]
mod tests;

pub use client::UccxClient;
pub use config::{UccxSettings, RESOURCE_ENDPOINT, TEAM_ENDPOINT};
pub use decode::{
    decode_api_errors, decode_resources_json, decode_resources_xml, decode_teams_json,
    decode_teams_xml, ApiError, PersonRef, TeamRef, UccxResource, UccxSkill, UccxTeam,
};

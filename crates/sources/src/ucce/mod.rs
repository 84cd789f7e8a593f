//! Cisco UCCE/PCCE ConfigAPI (`/unifiedconfig/config`): agents, agent teams and skill groups.
//!
//! [`UcceClient`] fetches over HTTPS with Basic auth (`user@domain`), pages with `startIndex`
//! and `resultsPerPage`, reads pages concurrently once `totalResults` is known, checks the pages
//! for consistency (no gaps, no loops, no silent duplicates) and retries 5xx/429/timeouts with
//! back-off; the `decode_*` functions turn XML pages into records.

mod client;
mod config;
mod decode;
#[cfg(test)]
mod tests;

pub use crate::FetchReport;
pub use client::{UcceClient, MAX_RETRY_AFTER};
pub use config::{
    UcceSettings, AGENT_ENDPOINT, AGENT_TEAM_ENDPOINT, MAX_PAGE_SIZE, SKILL_GROUP_ENDPOINT,
};
pub use decode::{
    decode_agents_page, decode_api_errors, decode_skill_groups_page, decode_teams_page, ApiError,
    PageInfo, UcceAgent, UcceRef, UcceSkillGroup, UcceTeam,
};

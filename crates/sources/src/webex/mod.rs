//! Webex Contact Center configuration API: users (agents) and teams, v1 (bare arrays paged by
//! `page`/`pageSize`) or v2 (`meta`/`data` envelopes with `meta.links.next`).

mod client;
mod decode;
#[cfg(test)]
mod tests;

pub use client::{WebexApiVersion, WebexClient};
pub use decode::{decode_webex_error, Links, ListBody, Meta, WebexTeam, WebexUser};

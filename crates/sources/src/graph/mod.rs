//! Microsoft Graph (Entra ID / Teams) users and groups: `GET /v1.0/users`, `/v1.0/groups` and
//! `/v1.0/groups/{id}/members`, following `@odata.nextLink` verbatim.

mod client;
mod decode;
#[cfg(test)]
mod tests;

pub use client::GraphClient;
pub use decode::{decode_graph_error, GraphGroup, GraphMember, GraphUser, ODataPage, USER_TYPE};

//! Administration of the hub's security objects: token scopes and the route policy
//! ([`scope`]), the failed-authentication limiter ([`limit`]), and the `wfm-hub project`,
//! `token` and `audit` commands ([`cli_projects`], [`cli_audit`]).

pub mod cli_audit;
pub mod cli_projects;
pub mod limit;
pub mod scope;

//! Token scopes and the policy that says which scope each route needs.
//!
//! `ingest` = POST/PUT of data (directory sync, intervals, agent states, reason codes, schedules,
//! bulk uploads); `read` = GETs of data (and SCIM `/.search`); `admin` = writes of adherence
//! rules and exceptions, SCIM writes, and anything administrative. `admin` implies the others.
//! The policy is decided from the method and the matched route template in one place
//! ([`required_scope`]), so a route added later is checked by default: a GET needs `read`, any
//! other method `ingest`, unless it is listed as admin.

use axum::http::Method;
use std::fmt;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Send data (POST/PUT of data routes).
    Ingest,
    /// Read data (GETs).
    Read,
    /// Administrative actions; implies `ingest` and `read`.
    Admin,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Admin];

    /// The wire/CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// Parses `ingest`, `read` or `admin` (case-insensitive).
    pub fn parse(text: &str) -> Option<Scope> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// True when a token holding `granted` may do what needs `self`.
    pub fn is_granted_by(self, granted: &[Scope]) -> bool {
        granted.contains(&Scope::Admin) || granted.contains(&self)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Route templates whose writes need `admin`.
const ADMIN_WRITES: &[&str] = &[
    crate::routes::adherence::ADHERENCE_RULES,
    crate::routes::adherence::ADHERENCE_EXCEPTIONS,
];

/// Route templates any valid token may call (no scope needed).
const ANY_SCOPE: &[&str] = &[wfm_protocol::routes::WHOAMI];

/// The scope a request needs, from its method and matched route template (the request path
/// when no route matched). `None` = any valid token.
pub fn required_scope(method: &Method, route: &str) -> Option<Scope> {
    if ANY_SCOPE.contains(&route) {
        return None;
    }
    let reads = method == Method::GET || method == Method::HEAD;
    if route.starts_with("/scim/") {
        if reads || route.ends_with("/.search") {
            return Some(Scope::Read);
        }
        return Some(Scope::Admin);
    }
    if reads {
        return Some(Scope::Read);
    }
    if ADMIN_WRITES.contains(&route) {
        return Some(Scope::Admin);
    }
    Some(Scope::Ingest)
}

/// The audit action of a request: `export` for reads that hand out data in bulk (CSV export,
/// user and group lists, SCIM lists), `admin` for routes that need the admin scope, else `auth`.
pub fn audit_action(method: &Method, route: &str) -> &'static str {
    let reads = method == Method::GET || method == Method::HEAD;
    let exports = [
        wfm_protocol::routes::INTERVALS_CSV,
        wfm_protocol::routes::USERS,
        wfm_protocol::routes::GROUPS,
        "/scim/v2/Users",
        "/scim/v2/Groups",
    ];
    if (reads && exports.contains(&route)) || route.ends_with("/.search") {
        return "export";
    }
    if required_scope(method, route) == Some(Scope::Admin) {
        return "admin";
    }
    "auth"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_everything_and_others_only_themselves() {
        assert!(Scope::Read.is_granted_by(&[Scope::Admin]));
        assert!(Scope::Ingest.is_granted_by(&[Scope::Admin]));
        assert!(Scope::Read.is_granted_by(&[Scope::Read]));
        assert!(!Scope::Ingest.is_granted_by(&[Scope::Read]));
        assert!(!Scope::Admin.is_granted_by(&[Scope::Ingest, Scope::Read]));
    }

    #[test]
    fn policy_by_method_and_route() {
        let rules = crate::routes::adherence::ADHERENCE_RULES;
        assert_eq!(required_scope(&Method::PUT, rules), Some(Scope::Admin));
        assert_eq!(required_scope(&Method::GET, rules), Some(Scope::Read));
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/intervals"),
            Some(Scope::Ingest)
        );
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/some-new-route"),
            Some(Scope::Ingest)
        );
        assert_eq!(
            required_scope(&Method::GET, "/scim/v2/Users"),
            Some(Scope::Read)
        );
        assert_eq!(
            required_scope(&Method::POST, "/scim/v2/Users/.search"),
            Some(Scope::Read)
        );
        assert_eq!(
            required_scope(&Method::DELETE, "/scim/v2/Users/{id}"),
            Some(Scope::Admin)
        );
        assert_eq!(required_scope(&Method::GET, "/api/v1/whoami"), None);
        assert_eq!(
            audit_action(&Method::GET, "/api/v1/intervals.csv"),
            "export"
        );
        assert_eq!(audit_action(&Method::PUT, rules), "admin");
        assert_eq!(audit_action(&Method::GET, "/api/v1/queues"), "auth");
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("ADMIN"), Some(Scope::Admin));
        assert_eq!(Scope::parse("write"), None);
    }
}

//! The kinds of outbox sources, their names and their routes.

use wfm_protocol::routes;

/// The kind of an outbox source: what its batches are and where they go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Directory snapshots: `POST /api/v1/directory/sync`.
    Users,
    /// Queue-statistics windows: `POST /api/v1/intervals`.
    Intervals,
    /// Agent-state history windows: `POST /api/v1/agent-states`.
    States,
    /// Live agent states: `POST /api/v1/agent-states`.
    Live,
    /// Reason-code sets: `PUT /api/v1/reason-codes`.
    ReasonCodes,
}

impl Kind {
    /// The prefix of the outbox source name and of the idempotency key.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Intervals => "intervals",
            Kind::States => "states",
            Kind::Live => "live",
            Kind::ReasonCodes => "reason-codes",
        }
    }

    /// The hub route of this kind.
    pub fn route(self) -> &'static str {
        match self {
            Kind::Users => routes::DIRECTORY_SYNC,
            Kind::Intervals => routes::INTERVALS,
            Kind::States | Kind::Live => routes::AGENT_STATES,
            Kind::ReasonCodes => routes::REASON_CODES,
        }
    }

    /// The HTTP method of this kind.
    pub fn method(self) -> reqwest::Method {
        match self {
            Kind::ReasonCodes => reqwest::Method::PUT,
            _ => reqwest::Method::POST,
        }
    }

    fn from_prefix(prefix: &str) -> Option<Kind> {
        [
            Kind::Users,
            Kind::Intervals,
            Kind::States,
            Kind::Live,
            Kind::ReasonCodes,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
    }
}

/// The outbox source name of `id` of `kind`: `<kind>:<id>`, except live sources, which keep the
/// bare `[[cti]]` source id.
pub fn source_name(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Live => id.to_string(),
        _ => format!("{}:{id}", kind.prefix()),
    }
}

/// The kind and source id of an outbox source name (a name without a known `<kind>:` prefix is
/// a live source).
pub fn parse_source(name: &str) -> (Kind, &str) {
    if let Some((prefix, id)) = name.split_once(':') {
        if let Some(kind) = Kind::from_prefix(prefix) {
            return (kind, id);
        }
    }
    (Kind::Live, name)
}

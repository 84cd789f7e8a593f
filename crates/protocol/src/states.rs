//! Agent states between importer and hub: reason codes, state events (historical and live),
//! feed gaps.
//!
//! # Normalised states
//!
//! Every platform's numbering (UCCX `AgentStateDetail.eventtype` 1–7, UCCE `Agent_State_Trace`
//! 0–14, CTI Server `AgentState` 0–14) is mapped by the importer to one [`AgentState`]; the raw
//! value travels along in [`StateEvent::raw`] so nothing is lost. A state lasts until the
//! agent's next event.
//!
//! # Two ways in
//!
//! * **History** (reporting database): [`StateBatch`] with `window` set replaces every event of
//!   that source in `[window.from, window.to)` (idempotent; late rows correct the timeline), like
//!   the interval batches.
//! * **Live** (CTI Server): [`StateBatch`] without `window` appends events; the hub ignores an
//!   event it already holds (same source, agent, instant, state and reason). Events may arrive out
//!   of order; the hub orders them by `at`.
//!
//! # Gaps
//!
//! When the live feed is not known to be complete (after a (re)connect until states are
//! re-established, or while a peripheral is offline) the importer sends [`FeedGap`]s. Adherence
//! never counts time inside a gap as out of adherence.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::intervals::TimeRange;

/// A normalised agent state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Logged out (UCCX 7, UCCE 0, CTI 1).
    LoggedOut,
    /// Just logged in (UCCX 1, UCCE 1, CTI 0); normally followed by not ready.
    LoggedIn,
    /// Not ready, usually with a reason code (UCCX 2, UCCE 2, CTI 2).
    NotReady,
    /// Ready / available (UCCX 3, UCCE 3, CTI 3).
    Ready,
    /// Reserved: a call is being offered (UCCX 4, UCCE 8, CTI 8).
    Reserved,
    /// Talking (UCCX 5, UCCE 4, CTI 4; also CTI 11 active).
    Talking,
    /// A call on hold (UCCE 10, CTI 10).
    Hold,
    /// Wrap-up (UCCX 6, UCCE 5/6, CTI 5/6).
    Work,
    /// Busy on another task or media (UCCE 7, CTI 7).
    BusyOther,
    /// A value the importer does not know; see `raw`.
    Unknown,
}

/// Reason-code category (Finesse `category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCategory {
    /// `NOT_READY`.
    NotReady,
    /// `LOGOUT`.
    Logout,
}

/// One reason code as Finesse defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCode {
    /// Finesse `id` (the URI's last segment).
    pub id: String,
    /// The numeric code the agent state events carry.
    pub code: i64,
    /// Label shown to agents.
    pub label: String,
    /// Category.
    pub category: ReasonCategory,
    /// Finesse `systemCode` (predefined by the system, e.g. 32763 ring-no-answer).
    #[serde(default)]
    pub system_code: bool,
    /// Finesse `forAll` (global, not team-specific).
    #[serde(default)]
    pub for_all: bool,
}

/// Body of `PUT /api/v1/reason-codes`: the complete set of one source (codes missing from it
/// are marked inactive at the hub, never deleted: old state events keep their labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCodeSet {
    /// The importer source id (e.g. `finesse`).
    pub source: String,
    /// Every reason code of the source.
    pub codes: Vec<ReasonCode>,
}

/// One stored reason code (`GET /api/v1/reason-codes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCodeView {
    /// The importer source id the code came from.
    pub source: String,
    /// The code as the source defines it.
    #[serde(flatten)]
    pub code: ReasonCode,
    /// False once a later set of the source no longer had it (kept for old events' labels).
    pub active: bool,
}

/// Answer to `PUT /api/v1/reason-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCodeSetResponse {
    /// New codes.
    pub inserted: u64,
    /// Codes whose label, category or flags changed.
    pub updated: u64,
    /// Codes identical to what the hub held.
    pub unchanged: u64,
    /// Codes no longer in the set (kept, marked inactive).
    pub deactivated: u64,
}

/// One agent state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEvent {
    /// The agent as the source names it: UCCX `resourceid` / CTI agent id (the importer maps
    /// both to the same id per site; the hub links it to a directory user by `agentId` when it
    /// can, and keeps the event, flagged, when it cannot).
    pub agent: String,
    /// When the state began (UTC, RFC 3339, millisecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The normalised state.
    pub state: AgentState,
    /// Reason code (not-ready and logout), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<i64>,
    /// The platform's own value, e.g. `uccx:2`, `ucce:5`, `cti:3`.
    pub raw: String,
}

/// A span in which the feed is not known to be complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedGap {
    /// Start (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// End (UTC); `None` = still open (closed by a later gap with the same `from`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// Why, e.g. `reconnect`, `peripheral offline`.
    pub reason: String,
}

/// Body of `POST /api/v1/agent-states`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateBatch {
    /// The importer source id.
    pub source: String,
    /// History: the window this batch replaces. Live: `None` (append).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeRange>,
    /// The events, any order.
    pub events: Vec<StateEvent>,
    /// Feed gaps (live only).
    #[serde(default)]
    pub gaps: Vec<FeedGap>,
}

/// Answer to `POST /api/v1/agent-states`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBatchResponse {
    /// Events stored.
    pub accepted: u64,
    /// Events the hub already held (live duplicates).
    pub duplicates: u64,
    /// Events removed from the window (history replace).
    pub removed: u64,
    /// Events for agents the directory does not know (stored, flagged).
    pub unknown_agents: u64,
}

/// One segment of an agent's timeline (`GET /api/v1/agent-states?agent=&from=&to=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSegment {
    /// The importer source id.
    pub source: String,
    /// The agent id.
    pub agent: String,
    /// The state.
    pub state: AgentState,
    /// Reason code and its label, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<i64>,
    /// The reason code's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_label: Option<String>,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End (`None` = the current state).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
}

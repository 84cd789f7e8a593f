//! Input and output types: activities, schedules, rules, exceptions, statuses.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wfm_protocol::states::AgentState;

/// What an activity asks the agent to do; selects the default rule column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Taking contacts (phone / open). The only in-service kind (conformance).
    Open,
    /// A short break.
    Break,
    /// Lunch.
    Lunch,
    /// A meeting.
    Meeting,
    /// Training.
    Training,
    /// Working away from the contact queues (back office, e-mail outside the ACD).
    Offline,
}

impl ActivityKind {
    /// Every kind, in table order.
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Open,
        ActivityKind::Break,
        ActivityKind::Lunch,
        ActivityKind::Meeting,
        ActivityKind::Training,
        ActivityKind::Offline,
    ];

    /// The wire name (`open`, `break`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Open => "open",
            ActivityKind::Break => "break",
            ActivityKind::Lunch => "lunch",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Training => "training",
            ActivityKind::Offline => "offline",
        }
    }

    /// Parses a wire name, case-insensitively; `phone` is an alias of `open`.
    pub fn parse(name: &str) -> Option<ActivityKind> {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "phone" {
            return Some(ActivityKind::Open);
        }
        ActivityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == lower)
    }

    /// Whether time scheduled in this activity is in-service time (conformance denominator).
    pub fn in_service(self) -> bool {
        self == ActivityKind::Open
    }
}

/// An activity definition: what a schedule entry refers to by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Stable id used by schedule entries and rules (e.g. `phone`, `lunch`, `team-meeting`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind (selects the default rules).
    pub kind: ActivityKind,
    /// Start-edge tolerance: an out-of-adherence run that begins exactly where the activity
    /// begins and lasts **at most** this long counts as in adherence (see the crate docs).
    pub tolerance_start: Duration,
    /// End-edge tolerance: an out-of-adherence run that ends exactly where the activity ends
    /// and lasts **at most** this long counts as in adherence.
    pub tolerance_end: Duration,
}

impl Activity {
    /// An activity named after its id, without tolerances.
    pub fn new(id: impl Into<String>, kind: ActivityKind) -> Activity {
        let id = id.into();
        Activity {
            name: id.clone(),
            id,
            kind,
            tolerance_start: Duration::ZERO,
            tolerance_end: Duration::ZERO,
        }
    }

    /// The same activity with start and end tolerances.
    pub fn with_tolerances(mut self, start: Duration, end: Duration) -> Activity {
        self.tolerance_start = start;
        self.tolerance_end = end;
        self
    }
}

/// One scheduled activity of one agent, `[start, end)` in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledActivity {
    /// The agent id (as in the state events).
    pub agent: String,
    /// The activity id ([`Activity::id`]).
    pub activity: String,
    /// Start (inclusive).
    pub start: OffsetDateTime,
    /// End (exclusive); an entry with `end <= start` is ignored.
    pub end: OffsetDateTime,
}

/// A supervisor-approved span in which the agent counts as in adherence whatever they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedException {
    /// The agent id.
    pub agent: String,
    /// Start (inclusive).
    pub start: OffsetDateTime,
    /// End (exclusive).
    pub end: OffsetDateTime,
    /// Why (free text).
    pub note: String,
}

/// Adherence class of a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In adherence.
    In,
    /// Out of adherence.
    Out,
    /// Not counted either way (removed from the adherence denominator).
    Neutral,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::In => "in",
            Status::Out => "out",
            Status::Neutral => "neutral",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Status> {
        match name {
            "in" => Some(Status::In),
            "out" => Some(Status::Out),
            "neutral" => Some(Status::Neutral),
            _ => None,
        }
    }
}

/// Why a stretch got its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A configured or default rule for (activity, state, reason).
    Rule,
    /// An out run forgiven by the activity's start or end tolerance.
    Tolerance,
    /// An authorized exception.
    Exception,
    /// A feed gap (the state is not known to be right).
    Gap,
    /// No state known for the agent at that time.
    NoData,
    /// The schedule names an activity that is neither defined nor a kind name.
    UnknownActivity,
}

/// One override of the default table.
///
/// `activity: None` means *no activity scheduled*. A rule with `reason_code: Some(c)` applies
/// only to that reason code and wins over a rule without a reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Activity id, or `None` for unscheduled time.
    pub activity: Option<String>,
    /// Agent state.
    pub state: AgentState,
    /// Reason code (not-ready / logout), or `None` for any.
    pub reason_code: Option<i64>,
    /// Resulting status.
    pub status: Status,
}

/// One stretch of an evaluated timeline; consecutive stretches differ in at least one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdherenceSegment {
    /// Start (inclusive).
    pub start: OffsetDateTime,
    /// End (exclusive).
    pub end: OffsetDateTime,
    /// Adherence status.
    pub status: Status,
    /// Why.
    pub basis: Basis,
    /// The scheduled activity id, `None` when nothing is scheduled.
    pub activity: Option<String>,
    /// The agent's state, `None` when unknown.
    pub state: Option<AgentState>,
    /// The state's reason code.
    pub reason_code: Option<i64>,
}

/// An agent's status at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeStatus {
    /// The agent id.
    pub agent: String,
    /// Current status (`Neutral` = neither in nor out).
    pub status: Status,
    /// Start of the current run of this status (clamped to the look-back window).
    pub since: OffsetDateTime,
    /// The activity scheduled now.
    pub activity: Option<String>,
    /// The agent's current state.
    pub state: Option<AgentState>,
    /// The state's reason code.
    pub reason_code: Option<i64>,
}

//! The importer ↔ hub wire types (JSON over HTTPS), version 1, and the idempotency-key rules.
//!
//! Owns request/response shapes and route paths shared by both programs. It must not do I/O.
//!
//! Idempotency: every write request carries an `Idempotency-Key` header (1–128 printable ASCII
//! characters, normally a UUID). The hub applies a key at most once per project and answers a
//! repeated key with the stored response and the header `Idempotent-Replay: true`.

pub mod bulk;
pub mod intervals;
pub mod states;

use serde::{Deserialize, Serialize};
use wfm_model::{Attributes, DirectorySnapshot};
use wfm_sync::{GroupChange, PlanSummary, UserChange};

/// Header carrying the idempotency key of a write.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Header set on a response that replays an earlier answer to the same key.
pub const IDEMPOTENT_REPLAY_HEADER: &str = "idempotent-replay";

/// Route paths (templates) of API v1.
pub mod routes {
    /// `POST`: apply (or dry-run) a directory snapshot of one source.
    pub const DIRECTORY_SYNC: &str = "/api/v1/directory/sync";
    /// `GET`: list users (query [`super::UserQuery`]).
    pub const USERS: &str = "/api/v1/users";
    /// `GET`: one user.
    pub const USER: &str = "/api/v1/users/{id}";
    /// `GET`: list groups (query [`super::GroupQuery`]).
    pub const GROUPS: &str = "/api/v1/groups";
    /// `GET`: one group with its members' ids.
    pub const GROUP: &str = "/api/v1/groups/{id}";
    /// `GET`: list roles of the project.
    pub const ROLES: &str = "/api/v1/roles";
    /// `GET`: sync-run history, newest first.
    pub const SYNC_RUNS: &str = "/api/v1/sync-runs";
    /// `GET`: one sync run.
    pub const SYNC_RUN: &str = "/api/v1/sync-runs/{id}";
    /// `GET`: the per-object change log of one run (paged).
    pub const SYNC_RUN_CHANGES: &str = "/api/v1/sync-runs/{id}/changes";
    /// `GET`: users of several sources recognised as one person (paged).
    pub const PEOPLE: &str = "/api/v1/people";
    /// `GET`: match keys the matcher refuses to link (paged).
    pub const PEOPLE_CONFLICTS: &str = "/api/v1/people/conflicts";
    /// `GET`: who am I (project of the token); used by `wfm-importer check`.
    pub const WHOAMI: &str = "/api/v1/whoami";
    /// `POST`: replace one source's intervals in a window ([`super::intervals::IntervalBatch`]).
    /// `GET`: query intervals ([`super::intervals::IntervalQuery`]).
    pub const INTERVALS: &str = "/api/v1/intervals";
    /// `GET`: the same query as CSV (`text/csv`).
    pub const INTERVALS_CSV: &str = "/api/v1/intervals.csv";
    /// `GET`: ranges no batch covered (`?source=&from=&to=`).
    pub const INTERVALS_MISSING: &str = "/api/v1/intervals/missing";
    /// `GET`: queues discovered from the interval data.
    pub const QUEUES: &str = "/api/v1/queues";
    /// `PUT`: the complete reason-code set of one source ([`super::states::ReasonCodeSet`]);
    /// `GET`: every reason code.
    pub const REASON_CODES: &str = "/api/v1/reason-codes";
    /// `POST`: agent state events ([`super::states::StateBatch`]); `GET`: timeline segments
    /// (`?agent=&source=&from=&to=`).
    pub const AGENT_STATES: &str = "/api/v1/agent-states";
    /// `GET`: liveness, no auth.
    pub const HEALTH: &str = "/healthz";
    /// `GET`: Prometheus metrics, no auth.
    pub const METRICS: &str = "/metrics";
}

/// Checks an idempotency key: 1–128 printable ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Body of `POST /api/v1/directory/sync`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// What the source says the directory should hold.
    pub snapshot: DirectorySnapshot,
    /// Compute and record the plan without changing the directory.
    #[serde(default)]
    pub dry_run: bool,
    /// Override the safety limit for this run.
    #[serde(default)]
    pub allow_mass_disable: bool,
    /// The safety limit (share of enabled users a run may disable), 0.0–1.0.
    pub max_disable_ratio: f64,
    /// Importer-side warnings to keep with the run (e.g. users missing in CUCM).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// How a sync run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Changes were written.
    Applied,
    /// Plan computed and recorded, nothing written.
    DryRun,
    /// The safety limit refused the plan; nothing written.
    Refused,
    /// The run failed; nothing written.
    Failed,
}

impl RunResult {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Applied => "applied",
            RunResult::DryRun => "dry_run",
            RunResult::Refused => "refused",
            RunResult::Failed => "failed",
        }
    }
}

/// One entry of a run's change log.
#[allow(clippy::large_enum_variant)] // a wire type; boxing would only add noise for callers
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum ObjectChange {
    /// A user change.
    User(UserChange),
    /// A group change.
    Group(GroupChange),
}

/// A recorded sync run (without its change log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Run id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// RFC 3339 UTC start time (hub clock).
    pub started_at: String,
    /// RFC 3339 UTC end time.
    pub finished_at: String,
    /// How it ended.
    pub result: RunResult,
    /// Counts.
    pub summary: PlanSummary,
    /// Why it was refused or failed.
    pub reason: Option<String>,
    /// Warnings (from the importer and the planner).
    pub warnings: Vec<String>,
    /// Number of entries in the change log.
    pub change_count: u64,
}

/// Response of `POST /api/v1/directory/sync` (200 applied/dry-run, 409 refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The recorded run.
    pub run: SyncRun,
    /// The first entries of the change log (at most [`SYNC_RESPONSE_CHANGES`]); the rest via
    /// `GET /api/v1/sync-runs/{id}/changes`.
    pub changes: Vec<ObjectChange>,
}

/// How many change-log entries a sync response carries inline.
pub const SYNC_RESPONSE_CHANGES: usize = 200;

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Total number of matching items.
    pub total: u64,
    /// Offset of the first item.
    pub offset: u64,
    /// Page size asked for.
    pub limit: u64,
}

/// Query of `GET /api/v1/users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    /// Only users of this source.
    pub source: Option<String>,
    /// Exact username.
    pub username: Option<String>,
    /// Only members of this group (hub group id).
    pub group: Option<String>,
    /// Only enabled (true) or disabled (false) users.
    pub enabled: Option<bool>,
    /// Case-insensitive substring of username, first name, last name or e-mail.
    pub q: Option<String>,
    /// Skip this many (default 0).
    pub offset: Option<u64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// Query of `GET /api/v1/groups` and of paged sub-resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupQuery {
    /// Only groups of this source.
    pub source: Option<String>,
    /// Exact group name.
    pub name: Option<String>,
    /// Skip this many (default 0).
    pub offset: Option<u64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// A user as the hub API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Hub id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// External id in the source.
    pub external_id: String,
    /// Username.
    pub username: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Enabled or disabled.
    pub enabled: bool,
    /// Attributes.
    pub attributes: Attributes,
    /// Skill name → competence.
    pub skills: std::collections::BTreeMap<String, u8>,
    /// Groups: hub ids and names.
    pub groups: Vec<GroupRef>,
    /// Role names.
    pub roles: Vec<String>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 last change time.
    pub updated_at: String,
}

/// A reference to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    /// Hub id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A group as the hub API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// Hub id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// External id in the source.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Enabled or disabled.
    pub enabled: bool,
    /// Attributes (`externalGroupId`, …).
    pub attributes: Attributes,
    /// Number of enabled members.
    pub member_count: u64,
}

/// A group with its members (`GET /api/v1/groups/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    /// The group.
    #[serde(flatten)]
    pub group: GroupView,
    /// Hub ids of all members, enabled or not.
    pub member_ids: Vec<String>,
}

/// `GET /api/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The token's project.
    pub project: String,
    /// Roles defined in the project.
    pub roles: Vec<String>,
    /// Hub version.
    pub hub_version: String,
}

/// Every error response: `{"error": {"code": …, "message": …, "details": […]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `unauthorized`, `not_found`, `invalid_request`,
    /// `invalid_snapshot`, `unknown_roles`, `safety_limit`, `payload_too_large`, `conflict`,
    /// `internal`.
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Individual problems, if several.
    #[serde(default)]
    pub details: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_printable_ascii_up_to_128() {
        assert!(valid_idempotency_key(
            "6f1c2b9e-0b7a-4c6e-9f1d-3a2b1c0d9e8f"
        ));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("has space"));
        assert!(!valid_idempotency_key(&"k".repeat(129)));
    }

    #[test]
    fn run_results_serialise_as_snake_case() {
        let s = serde_json::to_string(&RunResult::DryRun).unwrap();
        assert_eq!(s, "\"dry_run\"");
        assert_eq!(RunResult::DryRun.as_str(), "dry_run");
    }
}

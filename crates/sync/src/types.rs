//! Inputs and outputs of the planner.

use serde::{Deserialize, Serialize};
use wfm_model::{DirectoryGroup, DirectoryUser, ExternalId, SnapshotProblem, SourceId};

/// One user of a source as the hub stores it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The hub's own id of the user.
    pub id: String,
    /// False once the user has been disabled.
    pub enabled: bool,
    /// The stored state, in the same shape the source produces.
    pub user: DirectoryUser,
}

/// One group of a source as the hub stores it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentGroup {
    /// The hub's own id of the group.
    pub id: String,
    /// False once the group has vanished from the source.
    pub enabled: bool,
    /// The stored state.
    pub group: DirectoryGroup,
}

/// Everything the hub holds for one source of one project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentState {
    /// Stored users, enabled or not.
    pub users: Vec<CurrentUser>,
    /// Stored groups, enabled or not.
    pub groups: Vec<CurrentGroup>,
}

/// When to refuse a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SafetyLimits {
    /// Refuse when more than this share (0.0–1.0) of the currently enabled users would be disabled,
    /// or when the source returns no users while some are enabled.
    pub max_disable_ratio: f64,
    /// The operator's explicit override (`--allow-mass-disable`).
    pub allow_mass_disable: bool,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        SafetyLimits {
            max_disable_ratio: 0.2,
            allow_mass_disable: false,
        }
    }
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// A new object.
    Create,
    /// An existing, enabled object whose data, memberships or roles change.
    Update,
    /// An object the source no longer has: kept, marked disabled.
    Disable,
    /// A disabled object that is back (its data is rewritten too).
    Reenable,
}

/// One changed field: old and new values as text (`None` = absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name: `username`, `first_name`, `last_name`, `email`, `external_id`, `name`,
    /// `attribute:<key>` or `skill:<name>`.
    pub field: String,
    /// Value before.
    pub old: Option<String>,
    /// Value after.
    pub new: Option<String>,
}

/// The change to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChange {
    /// What happens.
    pub op: Op,
    /// The hub id of an existing user (`None` for `Create`).
    pub id: Option<String>,
    /// The user's external id after the change (it changes when a user is re-linked).
    pub external_id: ExternalId,
    /// The username after the change (before, for `Disable`).
    pub username: String,
    /// The full desired state (`None` for `Disable`). The store writes it as a whole. Not part of
    /// the serialised change log: `fields`, `groups_*` and `roles_*` already say what changed.
    #[serde(skip_serializing, default)]
    pub desired: Option<DirectoryUser>,
    /// Field-level changes, for the change log.
    pub fields: Vec<FieldChange>,
    /// Groups (external ids) joined.
    pub groups_added: Vec<ExternalId>,
    /// Groups (external ids) left.
    pub groups_removed: Vec<ExternalId>,
    /// Roles granted.
    pub roles_added: Vec<String>,
    /// Roles taken away.
    pub roles_removed: Vec<String>,
}

/// The change to one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChange {
    /// What happens.
    pub op: Op,
    /// The hub id of an existing group (`None` for `Create`).
    pub id: Option<String>,
    /// The group's external id.
    pub external_id: ExternalId,
    /// The group's name after the change (before, for `Disable`).
    pub name: String,
    /// The full desired state (`None` for `Disable`). Not part of the serialised change log.
    #[serde(skip_serializing, default)]
    pub desired: Option<DirectoryGroup>,
    /// Field-level changes, for the change log.
    pub fields: Vec<FieldChange>,
}

/// Counts of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Users created.
    pub users_created: u64,
    /// Users updated.
    pub users_updated: u64,
    /// Users disabled.
    pub users_disabled: u64,
    /// Users re-enabled.
    pub users_reenabled: u64,
    /// Users seen with no change.
    pub users_unchanged: u64,
    /// Groups created.
    pub groups_created: u64,
    /// Groups updated.
    pub groups_updated: u64,
    /// Groups disabled.
    pub groups_disabled: u64,
    /// Groups re-enabled.
    pub groups_reenabled: u64,
    /// Groups seen with no change.
    pub groups_unchanged: u64,
    /// Memberships added.
    pub memberships_added: u64,
    /// Memberships removed.
    pub memberships_removed: u64,
    /// Role mappings added.
    pub roles_added: u64,
    /// Role mappings removed.
    pub roles_removed: u64,
}

impl PlanSummary {
    /// True when the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        self.users_created
            + self.users_updated
            + self.users_disabled
            + self.users_reenabled
            + self.groups_created
            + self.groups_updated
            + self.groups_disabled
            + self.groups_reenabled
            == 0
    }
}

/// The planner's result: every change, its counts, and whether the safety limit refuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The source the plan is for.
    pub source: SourceId,
    /// Group changes, in apply order (create/update/re-enable first, disable last).
    pub groups: Vec<GroupChange>,
    /// User changes, sorted by username.
    pub users: Vec<UserChange>,
    /// Counts.
    pub summary: PlanSummary,
    /// Why the safety limit refuses this plan, if it does. A refused plan must not be applied.
    pub refusal: Option<String>,
    /// Things worth telling the operator that do not stop the run.
    pub warnings: Vec<String>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// The snapshot breaks the directory's invariants.
    #[error("the source data cannot be applied: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidSnapshot(Vec<SnapshotProblem>),
    /// Role mappings point at roles the hub project does not have.
    #[error("role(s) {} do not exist in the hub project: create them (hub.toml projects.roles) or fix sync.role_equivalents", .0.join(", "))]
    UnknownRoles(Vec<String>),
}

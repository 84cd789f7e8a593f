//! The planner.

use crate::types::{CurrentState, Plan, SafetyLimits, SyncError};
use std::collections::BTreeSet;
use wfm_model::DirectorySnapshot;

/// Compares `desired` (what the source says) with `current` (what the hub holds for that source)
/// and returns the plan. Pure. Errors when the snapshot breaks invariants or maps to unknown
/// roles; a plan over the safety limit is returned with `refusal` set.
pub fn plan(
    _current: &CurrentState,
    _desired: &DirectorySnapshot,
    _known_roles: &BTreeSet<String>,
    _limits: &SafetyLimits,
) -> Result<Plan, SyncError> {
    Err(SyncError::UnknownRoles(vec!["not implemented yet".into()]))
}

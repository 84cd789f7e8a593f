//! The identity sync engine: compares what a source says the directory should hold with what the
//! hub holds, and produces a plan (create, update with field-level changes, disable, re-enable,
//! membership and role changes), guarded by safety limits.
//!
//! Pure and deterministic: no I/O, no clock, no storage. The hub loads the current state, calls
//! [`plan`], and applies the plan in one transaction. Users are never deleted: users that vanish
//! are disabled and re-enabled when they return.

mod diff;
pub mod people;
mod types;

pub use diff::plan;
pub use people::{match_people, Identity, MatchConflict, MatchRule, Matching, Person};
pub use types::{
    CurrentGroup, CurrentState, CurrentUser, FieldChange, GroupChange, Op, Plan, PlanSummary,
    SafetyLimits, SyncError, UserChange,
};

#[cfg(test)]
mod tests;

//! Schedule adherence and conformance, pure: activities, rules, tolerances, authorized
//! exceptions and feed gaps → an adherence timeline ([`evaluate`]), an agent's real-time status
//! ([`realtime`]) and daily figures per agent ([`daily`]) and team ([`team`]).
//!
//! This crate owns the rules below. It must not do any I/O (no database, sockets, files or
//! clocks: `now` and the day bounds are parameters) or know about the hub.
//!
//! # Rules
//!
//! All instants are UTC; computation is in integer milliseconds.
//!
//! * **Schedule**: an agent's [`ScheduledActivity`] entries may overlap; at any instant the
//!   entry with the **latest start** wins (ties: the later entry), so a lunch can be laid over
//!   an open shift. An *activity span* is a maximal stretch with the same activity id.
//! * **State**: a [`wfm_protocol::states::StateSegment`] lasts until its `end`, or until the
//!   agent's next segment starts, whichever is first; `end: None` = open. Time with no state
//!   known is **neutral** ([`Basis::NoData`]).
//! * **Status** of a stretch, first match wins:
//!   1. inside an [`AuthorizedException`] of the agent → **in**;
//!   2. inside a [`wfm_protocol::states::FeedGap`] (any agent) → **neutral**, never out;
//!   3. the activity is neither defined nor a kind name → **neutral**;
//!   4. no state known → **neutral**;
//!   5. the [`RuleBook`]: an override for (activity, state, that reason code), else for
//!      (activity, state, any reason), else the [default table](rules::default_status).
//! * **Tolerance** (per activity, [`Activity::tolerance_start`] / [`Activity::tolerance_end`]):
//!   within an activity span, the maximal run of **out** time that starts exactly at the span's
//!   start is turned **in** ([`Basis::Tolerance`]) when it lasts **at most** `tolerance_start`;
//!   likewise the out run that ends exactly at the span's end with `tolerance_end`. A longer run
//!   stays out **entirely** (the tolerance is a threshold, not a deduction, as Verint's
//!   "Adherence Tolerance Minutes"). Gaps, exceptions and neutral time break a run. A span
//!   edge cut by the evaluation window is not an edge (the activity goes on), so in real time an
//!   agent late by less than the tolerance is in adherence until the tolerance is used up, and
//!   then out since the activity's start.
//! * **Adherence %** = in ÷ (scheduled − neutral) × 100 over scheduled time only (Calabrio):
//!   3 h in, 1 h out, 2 h neutral → 75 %. A **shift** is a maximal run of touching or
//!   overlapping entries; it belongs wholly to the (local) day in which it starts.
//! * **Conformance %** = worked ÷ scheduled in-service (open) time × 100, regardless of when the
//!   work happened within the day's shifts ±1 h ([`CONFORMANCE_MARGIN`]); worked =
//!   ready, reserved, talking, hold, work, busy-other, read from the state timeline (gaps do not
//!   remove worked time). Uncapped (may exceed 100 %) and capped (WFM Labs Σmin(S, R) ÷ ΣS
//!   per agent-day).
//! * **Teams** add the members' millisecond totals ([`Totals`]) and divide once.

mod daily;
mod evaluate;
mod model;
pub mod rules;

#[cfg(test)]
mod tests;

pub use daily::{daily, shifts, team, DailyAdherence, Totals, CONFORMANCE_MARGIN};
pub use evaluate::{evaluate, realtime, Inputs};
pub use model::{
    Activity, ActivityKind, AdherenceSegment, AuthorizedException, Basis, RealtimeStatus, Rule,
    ScheduledActivity, Status,
};
pub use rules::{default_status, is_in_service, RuleBook};

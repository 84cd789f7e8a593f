//! Agent-state rows of a reporting database → [`StateBatch`] replacing one window (pure).
//!
//! The numbering follows the doc comments of [`AgentState`]: UCCX `AgentStateDetail.eventtype`
//! 1 Log In, 2 Not Ready, 3 Ready, 4 Reserved, 5 Talking, 6 Work, 7 Log Out; UCCE
//! `Agent_State_Trace.AgentState` 0 logged off, 1 logged on, 2 not ready, 3 ready, 4 talking,
//! 5 work not ready, 6 work ready, 7 busy other, 8 reserved, 10 hold. Every other value
//! (UCCE 9 call initiated, 11 retrieved, 12 transferred, 13 conferenced, 14 unknown, anything
//! out of range) is [`AgentState::Unknown`]; the raw value always travels in
//! [`StateEvent::raw`] (`uccx:N` / `ucce:N`).

use std::collections::BTreeSet;

use time::OffsetDateTime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{AgentState, StateBatch, StateEvent};
use wfm_sources::history::{AgentStateRow, Dialect};

/// UCCX `eventtype` → normalised state.
pub fn map_uccx(event_type: i64) -> AgentState {
    match event_type {
        1 => AgentState::LoggedIn,
        2 => AgentState::NotReady,
        3 => AgentState::Ready,
        4 => AgentState::Reserved,
        5 => AgentState::Talking,
        6 => AgentState::Work,
        7 => AgentState::LoggedOut,
        _ => AgentState::Unknown,
    }
}

/// UCCE `AgentState` → normalised state.
pub fn map_ucce(agent_state: i64) -> AgentState {
    match agent_state {
        0 => AgentState::LoggedOut,
        1 => AgentState::LoggedIn,
        2 => AgentState::NotReady,
        3 => AgentState::Ready,
        4 => AgentState::Talking,
        5 | 6 => AgentState::Work,
        7 => AgentState::BusyOther,
        8 => AgentState::Reserved,
        10 => AgentState::Hold,
        _ => AgentState::Unknown,
    }
}

/// The raw text of a state value, e.g. `uccx:2`.
pub fn raw_text(dialect: Dialect, value: i64) -> String {
    match dialect {
        Dialect::Uccx => format!("uccx:{value}"),
        Dialect::Ucce => format!("ucce:{value}"),
    }
}

/// One row as an event. `reasoncode` 0 (both platforms' "no reason") becomes `None`; the time is
/// truncated to milliseconds (the wire precision).
pub fn event(dialect: Dialect, row: &AgentStateRow) -> StateEvent {
    let state = match dialect {
        Dialect::Uccx => map_uccx(row.raw_state),
        Dialect::Ucce => map_ucce(row.raw_state),
    };
    StateEvent {
        agent: row.agent_id.to_string(),
        at: truncate_ms(row.at),
        state,
        reason_code: row.reason_code.filter(|c| *c != 0),
        raw: raw_text(dialect, row.raw_state),
    }
}

fn truncate_ms(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.unix_timestamp_nanos();
    let ms = nanos.div_euclid(1_000_000) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(ms).unwrap_or(t)
}

/// A built state batch with what was noticed on the way.
#[derive(Debug, Clone)]
pub struct BuiltStates {
    /// The batch to send (`window` set: it replaces the window at the hub).
    pub batch: StateBatch,
    /// Rows read from the database.
    pub rows_read: u64,
    /// Exact duplicate rows dropped (same agent, instant, state and reason).
    pub duplicates: u64,
    /// Events with a state value the importer does not know (sent as `unknown`, raw kept), with
    /// their raw values.
    pub unknown: Vec<String>,
}

/// Maps, sorts (time, then agent) and de-duplicates the rows of `window`; rows outside the window
/// are left out (the reader should not return any).
pub fn state_batch(
    source: &str,
    dialect: Dialect,
    window: TimeRange,
    rows: &[AgentStateRow],
) -> BuiltStates {
    let mut events: Vec<StateEvent> = Vec::with_capacity(rows.len());
    let mut unknown = BTreeSet::new();
    for row in rows {
        if row.at < window.from || row.at >= window.to {
            continue;
        }
        let e = event(dialect, row);
        if e.state == AgentState::Unknown {
            unknown.insert(e.raw.clone());
        }
        events.push(e);
    }
    events.sort_by(|a, b| {
        (a.at, &a.agent, a.state, a.reason_code, &a.raw).cmp(&(
            b.at,
            &b.agent,
            b.state,
            b.reason_code,
            &b.raw,
        ))
    });
    let before = events.len();
    events.dedup();
    let duplicates = (before - events.len()) as u64;
    BuiltStates {
        batch: StateBatch {
            source: source.to_string(),
            window: Some(window),
            events,
            gaps: Vec::new(),
        },
        rows_read: rows.len() as u64,
        duplicates,
        unknown: unknown.into_iter().collect(),
    }
}

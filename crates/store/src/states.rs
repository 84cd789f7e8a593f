//! Backend-neutral parts of the agent-state store: validation of reason-code sets and state
//! batches, state and category names, the comparison of a batch with the events held, reason
//! labels, timeline segments, and the [`Store`] methods. The SQL lives in `shared/states.rs`
//! (included by both backends).

use crate::common::{Batch, Val};
use crate::error::StoreError;
use crate::intervals::to_ms;
use crate::{postgres, sqlite, Db, Store};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{
    AgentState, ReasonCategory, ReasonCodeSet, ReasonCodeSetResponse, ReasonCodeView, StateBatch,
    StateBatchResponse, StateSegment,
};

/// Most events one state batch may carry.
pub const MAX_STATE_EVENTS: usize = 100_000;

/// At most this many problems are listed in a rejection (the rest are counted).
const MAX_PROBLEMS: usize = 20;

/// Columns of `agent_state_events` written by the store (`id` is assigned by the database).
pub(crate) const EVENT_COLUMNS: &[&str] = &[
    "project_id",
    "source",
    "agent",
    "at_ms",
    "state",
    "reason_code",
    "raw",
    "unknown_agent",
    "received_at",
];

/// Columns of `reason_codes`.
pub(crate) const REASON_COLUMNS: &[&str] = &[
    "project_id",
    "source",
    "id",
    "code",
    "label",
    "category",
    "system_code",
    "for_all",
    "active",
    "updated_at",
];

/// Columns of `state_agents`.
pub(crate) const AGENT_COLUMNS: &[&str] = &["project_id", "source", "agent", "first_seen"];

/// What the agent-state writes answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOutcome<R> {
    /// Applied now.
    Applied(R),
    /// The idempotency key was seen before with the same request: the stored answer.
    Replay(R),
    /// The request breaks a rule; nothing was stored (not even the idempotency key). One
    /// human-readable problem per entry.
    Rejected(Vec<String>),
}

/// The current state of one agent (its newest event), for real-time adherence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestState {
    /// The importer source id.
    pub source: String,
    /// The agent id as the source names it.
    pub agent: String,
    /// The state.
    pub state: AgentState,
    /// Reason code, if any.
    pub reason_code: Option<i64>,
    /// The reason code's label, if known.
    pub reason_label: Option<String>,
    /// When the state began.
    pub since: OffsetDateTime,
    /// True when no directory user matched the agent when this event was stored.
    pub unknown_agent: bool,
}

/// One stored feed gap with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGap {
    /// The importer source id.
    pub source: String,
    /// Start.
    pub from: OffsetDateTime,
    /// End; `None` while still open.
    pub to: Option<OffsetDateTime>,
    /// Why the feed was not known to be complete.
    pub reason: String,
}

/// The snake_case wire name of a state (also its stored text).
pub(crate) fn state_name(state: AgentState) -> &'static str {
    match state {
        AgentState::LoggedOut => "logged_out",
        AgentState::LoggedIn => "logged_in",
        AgentState::NotReady => "not_ready",
        AgentState::Ready => "ready",
        AgentState::Reserved => "reserved",
        AgentState::Talking => "talking",
        AgentState::Hold => "hold",
        AgentState::Work => "work",
        AgentState::BusyOther => "busy_other",
        AgentState::Unknown => "unknown",
    }
}

/// The state of a stored name.
pub(crate) fn parse_state(name: &str) -> Result<AgentState, StoreError> {
    Ok(match name {
        "logged_out" => AgentState::LoggedOut,
        "logged_in" => AgentState::LoggedIn,
        "not_ready" => AgentState::NotReady,
        "ready" => AgentState::Ready,
        "reserved" => AgentState::Reserved,
        "talking" => AgentState::Talking,
        "hold" => AgentState::Hold,
        "work" => AgentState::Work,
        "busy_other" => AgentState::BusyOther,
        "unknown" => AgentState::Unknown,
        other => return Err(StoreError::corrupt(format!("stored agent state '{other}'"))),
    })
}

/// The stored name of a reason category.
pub(crate) fn category_name(category: ReasonCategory) -> &'static str {
    match category {
        ReasonCategory::NotReady => "not_ready",
        ReasonCategory::Logout => "logout",
    }
}

/// The category of a stored name.
pub(crate) fn parse_category(name: &str) -> Result<ReasonCategory, StoreError> {
    match name {
        "not_ready" => Ok(ReasonCategory::NotReady),
        "logout" => Ok(ReasonCategory::Logout),
        other => Err(StoreError::corrupt(format!(
            "stored reason category '{other}'"
        ))),
    }
}

/// The instant of stored epoch milliseconds.
pub(crate) fn instant(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt(format!("stored state time {ms}: {e}")))
}

/// RFC 3339 text of an instant, for messages.
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// True when `t` is a whole millisecond.
fn whole_ms(t: OffsetDateTime) -> bool {
    t.unix_timestamp_nanos().rem_euclid(1_000_000) == 0
}

/// Collects problems, keeping the first [`MAX_PROBLEMS`] and counting the rest.
#[derive(Default)]
struct Problems {
    list: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list
                .push(format!("… and {} more problems of this kind", self.more));
        }
        self.list
    }
}

/// Checks a reason-code set: a non-empty source and non-empty, unique code ids. Returns the
/// problems (empty when the set is valid).
pub fn validate_reason_codes(set: &ReasonCodeSet) -> Vec<String> {
    let mut problems = Problems::default();
    if set.source.trim().is_empty() {
        problems.push("source is empty".to_string());
    }
    let mut ids: HashSet<&str> = HashSet::with_capacity(set.codes.len());
    for (i, code) in set.codes.iter().enumerate() {
        if code.id.trim().is_empty() {
            problems.push(format!("code {}: id is empty", i + 1));
        } else if !ids.insert(code.id.as_str()) {
            problems.push(format!(
                "code {}: id {} appears more than once",
                i + 1,
                code.id
            ));
        }
    }
    problems.finish()
}

/// Checks the rules of a state batch that need no stored data: a non-empty source, at most
/// [`MAX_STATE_EVENTS`] events, a non-empty window of whole milliseconds (history), events
/// with a non-empty agent id at a whole millisecond inside the window, and gaps of whole
/// milliseconds whose `to` is not before `from`. Events and gaps are numbered from 1 in the
/// order sent. Returns the problems (empty when the batch is valid).
pub fn validate_state_batch(batch: &StateBatch) -> Vec<String> {
    let mut problems = Problems::default();
    if batch.source.trim().is_empty() {
        problems.push("source is empty".to_string());
    }
    if batch.events.len() > MAX_STATE_EVENTS {
        problems.push(format!(
            "the batch has {} events: at most {MAX_STATE_EVENTS} are accepted, send smaller windows",
            batch.events.len()
        ));
        return problems.finish();
    }
    if let Some(window) = batch.window {
        if window.from >= window.to {
            problems.push(format!(
                "window is empty: from {} is not before to {}",
                rfc3339(window.from),
                rfc3339(window.to)
            ));
        }
        for (name, t) in [("from", window.from), ("to", window.to)] {
            if !whole_ms(t) {
                problems.push(format!(
                    "window.{name} {} is not a whole millisecond",
                    rfc3339(t)
                ));
            }
        }
    }
    for (i, event) in batch.events.iter().enumerate() {
        let n = i + 1;
        if event.agent.trim().is_empty() {
            problems.push(format!("event {n}: agent is empty"));
        }
        if !whole_ms(event.at) {
            problems.push(format!(
                "event {n}: at {} is not a whole millisecond",
                rfc3339(event.at)
            ));
        }
        if let Some(window) = batch.window {
            if event.at < window.from || event.at >= window.to {
                problems.push(format!(
                    "event {n}: at {} is outside the window [{}, {})",
                    rfc3339(event.at),
                    rfc3339(window.from),
                    rfc3339(window.to)
                ));
            }
        }
    }
    for (i, gap) in batch.gaps.iter().enumerate() {
        let n = i + 1;
        if !whole_ms(gap.from) || gap.to.is_some_and(|t| !whole_ms(t)) {
            problems.push(format!("gap {n}: from and to must be whole milliseconds"));
        }
        if let Some(to) = gap.to {
            if to < gap.from {
                problems.push(format!(
                    "gap {n}: to {} is before from {}",
                    rfc3339(to),
                    rfc3339(gap.from)
                ));
            }
        }
    }
    problems.finish()
}

/// The identity of an event: two events with the same key are the same event.
pub(crate) type EventKey = (String, i64, &'static str, Option<i64>);

/// One stored event of a batch's window (history) or span (live).
pub(crate) struct HeldEvent {
    /// Its identity.
    pub key: EventKey,
    /// The platform's raw value.
    pub raw: String,
}

/// What applying a state batch changes.
pub(crate) struct StateDiff {
    /// Indices (into the batch's events, in `at` order) of the events to write.
    pub write: Vec<usize>,
    /// Indices of the events new at the hub (counted as accepted).
    pub new: Vec<usize>,
    /// True when the whole window must be rewritten (an event held in it is gone or changed).
    pub replace_window: bool,
    /// The counts (`unknown_agents` is filled by the caller).
    pub counts: StateBatchResponse,
}

/// The batch's events ordered by `at` (stable: events of one instant keep the order sent).
pub(crate) fn events_in_order(batch: &StateBatch) -> Vec<usize> {
    let mut order: Vec<usize> = (0..batch.events.len()).collect();
    order.sort_by_key(|&i| to_ms(batch.events[i].at));
    order
}

/// The key of event `i` of the batch.
fn event_key(batch: &StateBatch, i: usize) -> EventKey {
    let e = &batch.events[i];
    (
        e.agent.clone(),
        to_ms(e.at),
        state_name(e.state),
        e.reason_code,
    )
}

/// Compares the batch (validated) with the events held. History: every held event the batch
/// no longer has (or has with another raw value) is removed, so the window is rewritten with
/// the batch's events; otherwise only new events are written. Live: held events are
/// duplicates, the rest is written. Repeated events inside the batch count as duplicates.
pub(crate) fn diff_states(batch: &StateBatch, held: Vec<HeldEvent>) -> StateDiff {
    let history = batch.window.is_some();
    let mut held: HashMap<EventKey, String> = held.into_iter().map(|h| (h.key, h.raw)).collect();
    let mut seen: HashSet<EventKey> = HashSet::with_capacity(batch.events.len());
    let mut diff = StateDiff {
        write: Vec::new(),
        new: Vec::with_capacity(batch.events.len()),
        replace_window: false,
        counts: StateBatchResponse {
            accepted: 0,
            duplicates: 0,
            removed: 0,
            unknown_agents: 0,
        },
    };
    let mut kept: Vec<usize> = Vec::with_capacity(batch.events.len());
    for i in events_in_order(batch) {
        let key = event_key(batch, i);
        if !seen.insert(key.clone()) {
            diff.counts.duplicates += 1;
            continue;
        }
        kept.push(i);
        match held.remove(&key) {
            Some(raw) if raw == batch.events[i].raw => diff.counts.duplicates += 1,
            Some(_) if history => {
                diff.counts.removed += 1;
                diff.counts.accepted += 1;
                diff.new.push(i);
            }
            Some(_) => diff.counts.duplicates += 1,
            None => {
                diff.counts.accepted += 1;
                diff.new.push(i);
            }
        }
    }
    if history {
        diff.counts.removed += u64::try_from(held.len()).unwrap_or(u64::MAX);
    }
    if diff.counts.removed > 0 {
        diff.replace_window = true;
        diff.write = kept;
    } else {
        diff.write = diff.new.clone();
    }
    diff
}

/// Rows for `agent_state_events` of the given events of the batch.
pub(crate) fn event_rows(
    project: &str,
    batch: &StateBatch,
    write: &[usize],
    unknown: &HashSet<String>,
    stamp: &str,
) -> Result<Batch, StoreError> {
    let mut rows = Batch::new("agent_state_events", EVENT_COLUMNS);
    for &i in write {
        let e = &batch.events[i];
        rows.push([
            Val::T(project.to_string()),
            Val::T(batch.source.clone()),
            Val::T(e.agent.clone()),
            Val::L(to_ms(e.at)),
            Val::T(state_name(e.state).to_string()),
            Val::OL(e.reason_code),
            Val::T(e.raw.clone()),
            Val::B(unknown.contains(&e.agent)),
            Val::T(stamp.to_string()),
        ])?;
    }
    Ok(rows)
}

/// Labels of reason codes by (category, code), chosen per source: the event's own source
/// first, then an active code, then the smallest (source, id). Finesse defines the codes while
/// the events may come from another source (CTI Server, the reporting database).
pub(crate) struct ReasonLabels {
    by_code: HashMap<(&'static str, i64), Vec<LabelCandidate>>,
}

/// (source, active, id, label) of one reason code.
type LabelCandidate = (String, bool, String, String);

impl ReasonLabels {
    /// From stored (source, id, code, category, label, active) rows.
    pub(crate) fn new(rows: Vec<(String, String, i64, String, String, bool)>) -> ReasonLabels {
        let mut by_code: HashMap<(&'static str, i64), Vec<LabelCandidate>> = HashMap::new();
        for (source, id, code, category, label, active) in rows {
            let Ok(category) = parse_category(&category) else {
                continue;
            };
            by_code
                .entry((category_name(category), code))
                .or_default()
                .push((source, active, id, label));
        }
        for list in by_code.values_mut() {
            list.sort_by(|a, b| (!a.1, &a.0, &a.2).cmp(&(!b.1, &b.0, &b.2)));
        }
        ReasonLabels { by_code }
    }

    /// The label of an event's reason code: logout reasons for `logged_out`, not-ready reasons
    /// for every other state.
    pub(crate) fn label(
        &self,
        source: &str,
        state: AgentState,
        code: Option<i64>,
    ) -> Option<String> {
        let code = code?;
        let category = if state == AgentState::LoggedOut {
            ReasonCategory::Logout
        } else {
            ReasonCategory::NotReady
        };
        let list = self.by_code.get(&(category_name(category), code))?;
        let own = list.iter().find(|(s, _, _, _)| s == source);
        own.or_else(|| list.first())
            .map(|(_, _, _, label)| label.clone())
    }
}

/// One stored event read for a timeline.
pub(crate) struct TimelineEvent {
    pub source: String,
    pub agent: String,
    pub id: i64,
    pub at_ms: i64,
    pub state: AgentState,
    pub reason_code: Option<i64>,
}

/// Builds the segments of `[from, to)`: `before` holds each agent's newest event before
/// `from`, `inside` the events in the range, `next` the first instant at or after `to` per
/// (source, agent). A segment ends at the agent's next event (`None`: the current state); the
/// segment running at `from` is included with its real start. Ordered by (source, agent,
/// start).
pub(crate) fn build_segments(
    before: Vec<TimelineEvent>,
    inside: Vec<TimelineEvent>,
    next: &HashMap<(String, String), i64>,
    from: i64,
    labels: &ReasonLabels,
) -> Result<Vec<StateSegment>, StoreError> {
    let mut events = before;
    events.extend(inside);
    events.sort_by(|a, b| {
        (&a.source, &a.agent, a.at_ms, a.id).cmp(&(&b.source, &b.agent, b.at_ms, b.id))
    });
    let mut out = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let end = match events.get(i + 1) {
            Some(n) if n.source == e.source && n.agent == e.agent => Some(n.at_ms),
            _ => next.get(&(e.source.clone(), e.agent.clone())).copied(),
        };
        if e.at_ms < from && end.is_some_and(|end| end <= from) {
            continue;
        }
        out.push(StateSegment {
            source: e.source.clone(),
            agent: e.agent.clone(),
            state: e.state,
            reason_code: e.reason_code,
            reason_label: labels.label(&e.source, e.state, e.reason_code),
            start: instant(e.at_ms)?,
            end: end.map(instant).transpose()?,
        });
    }
    Ok(out)
}

impl Store {
    /// Stores the complete reason-code set of one source in one transaction: new codes are
    /// inserted, changed (or reactivated) codes updated, codes missing from the set marked
    /// inactive (never deleted). Same idempotency contract as
    /// [`Store::apply_interval_batch`]; an invalid set ([`validate_reason_codes`]) answers
    /// [`StateOutcome::Rejected`].
    pub async fn put_reason_codes(
        &self,
        project: &ProjectId,
        set: &ReasonCodeSet,
        idempotency_key: &str,
        request_hash: &str,
        now: OffsetDateTime,
    ) -> Result<StateOutcome<ReasonCodeSetResponse>, StoreError> {
        match &self.db {
            Db::Sqlite(p) => {
                sqlite::put_reason_codes(p, project, set, idempotency_key, request_hash, now).await
            }
            Db::Postgres(p) => {
                postgres::put_reason_codes(p, project, set, idempotency_key, request_hash, now)
                    .await
            }
        }
    }

    /// Every reason code of the project (active or not), ordered by (source, id).
    pub async fn reason_codes(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<ReasonCodeView>, StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlite::reason_codes(p, project).await,
            Db::Postgres(p) => postgres::reason_codes(p, project).await,
        }
    }

    /// Applies one [`StateBatch`] in one transaction, serialised per (project, source).
    ///
    /// Validates it ([`validate_state_batch`]: a broken rule answers
    /// [`StateOutcome::Rejected`] and stores nothing), then follows the idempotency contract of
    /// [`Store::apply_interval_batch`]. History (`window` set): the source's events in the
    /// window become exactly the batch's (identical events are left alone and counted as
    /// duplicates). Live: events already held (same agent, instant, state and reason) are
    /// ignored, the others inserted. Every stored event is flagged `unknown_agent` when no
    /// directory user of the project (enabled or not) has the agent id as an `agentId`
    /// attribute value or as its external id, checked once per batch for its distinct agents.
    /// Gaps are upserted by (source, from).
    pub async fn apply_state_batch(
        &self,
        project: &ProjectId,
        batch: &StateBatch,
        idempotency_key: &str,
        request_hash: &str,
        now: OffsetDateTime,
    ) -> Result<StateOutcome<StateBatchResponse>, StoreError> {
        match &self.db {
            Db::Sqlite(p) => {
                sqlite::apply_state_batch(p, project, batch, idempotency_key, request_hash, now)
                    .await
            }
            Db::Postgres(p) => {
                postgres::apply_state_batch(p, project, batch, idempotency_key, request_hash, now)
                    .await
            }
        }
    }

    /// The timeline segments of `range` (of one source and/or agent when given): every
    /// segment starting in the range plus the one running at `range.from`, ordered by
    /// (source, agent, start), with reason labels.
    pub async fn state_segments(
        &self,
        project: &ProjectId,
        source: Option<&str>,
        agent: Option<&str>,
        range: TimeRange,
    ) -> Result<Vec<StateSegment>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        match &self.db {
            Db::Sqlite(p) => sqlite::state_segments(p, project, source, agent, from, to).await,
            Db::Postgres(p) => postgres::state_segments(p, project, source, agent, from, to).await,
        }
    }

    /// The newest event of every (source, agent) of the project, ordered by (source, agent).
    pub async fn latest_states(&self, project: &ProjectId) -> Result<Vec<LatestState>, StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlite::latest_states(p, project).await,
            Db::Postgres(p) => postgres::latest_states(p, project).await,
        }
    }

    /// The feed gaps overlapping `range` (open gaps overlap everything after their start),
    /// ordered by (source, from).
    pub async fn feed_gaps(
        &self,
        project: &ProjectId,
        source: Option<&str>,
        range: TimeRange,
    ) -> Result<Vec<SourceGap>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        match &self.db {
            Db::Sqlite(p) => sqlite::feed_gaps(p, project, source, from, to).await,
            Db::Postgres(p) => postgres::feed_gaps(p, project, source, from, to).await,
        }
    }

    /// The instant of the newest stored state event of every source of the project.
    pub async fn newest_state_events(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlite::newest_state_events(p, project).await,
            Db::Postgres(p) => postgres::newest_state_events(p, project).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use wfm_protocol::states::{FeedGap, StateEvent};

    fn event(agent: &str, at: OffsetDateTime, state: AgentState) -> StateEvent {
        StateEvent {
            agent: agent.into(),
            at,
            state,
            reason_code: None,
            raw: "cti:3".into(),
        }
    }

    #[test]
    fn validation_names_every_broken_rule() {
        let t = datetime!(2026-03-02 08:00 UTC);
        let batch = StateBatch {
            source: "cti".into(),
            window: Some(TimeRange {
                from: t,
                to: t + time::Duration::nanoseconds(1),
            }),
            events: vec![
                event(" ", t, AgentState::Ready),
                event("a", t + time::Duration::hours(1), AgentState::Ready),
            ],
            gaps: vec![FeedGap {
                from: t,
                to: Some(t - time::Duration::seconds(1)),
                reason: "reconnect".into(),
            }],
        };
        let problems = validate_state_batch(&batch);
        let text = problems.join("\n");
        assert!(text.contains("window.to"), "{text}");
        assert!(text.contains("event 1: agent is empty"), "{text}");
        assert!(text.contains("event 2: at"), "{text}");
        assert!(text.contains("outside the window"), "{text}");
        assert!(text.contains("gap 1: to"), "{text}");
    }

    #[test]
    fn segments_end_at_the_next_event_and_keep_the_running_one() {
        let ev = |agent: &str, id: i64, at_ms: i64, state| TimelineEvent {
            source: "cti".into(),
            agent: agent.into(),
            id,
            at_ms,
            state,
            reason_code: None,
        };
        let labels = ReasonLabels::new(Vec::new());
        let before = vec![
            ev("a", 1, 50, AgentState::Ready),
            ev("b", 2, 40, AgentState::Ready),
        ];
        let inside = vec![
            ev("a", 3, 120, AgentState::Talking),
            ev("b", 4, 100, AgentState::Work),
        ];
        let next = HashMap::from([(("cti".to_string(), "a".to_string()), 300)]);
        let s = build_segments(before, inside, &next, 100, &labels).unwrap();
        let got: Vec<(&str, i64, Option<i64>)> = s
            .iter()
            .map(|s| {
                (
                    s.agent.as_str(),
                    crate::to_ms(s.start),
                    s.end.map(crate::to_ms),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", 50, Some(120)),
                ("a", 120, Some(300)),
                ("b", 100, None)
            ]
        );
    }
}

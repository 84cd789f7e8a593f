//! Timeline evaluation: schedule × states × gaps × exceptions → adherence segments.

use std::time::Duration;

use time::OffsetDateTime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{AgentState, FeedGap, StateSegment};

use crate::model::{
    AdherenceSegment, AuthorizedException, Basis, RealtimeStatus, ScheduledActivity, Status,
};
use crate::rules::RuleBook;

/// Everything an evaluation reads. Entries of other agents are ignored, so callers may pass
/// a whole team's data; `gaps` are feed-wide and apply to every agent.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Activity definitions and rule overrides.
    pub rules: &'a RuleBook,
    /// Scheduled activities.
    pub schedule: &'a [ScheduledActivity],
    /// State timeline segments (`end: None` = until the next segment or the window end).
    pub segments: &'a [StateSegment],
    /// Feed gaps (`to: None` = still open).
    pub gaps: &'a [FeedGap],
    /// Authorized exceptions.
    pub exceptions: &'a [AuthorizedException],
}

/// Milliseconds since the Unix epoch (saturating for instants out of `i64` range).
pub(crate) fn to_ms(instant: OffsetDateTime) -> i64 {
    let ms = instant.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The instant `ms` milliseconds after the epoch (the epoch itself if out of range; callers
/// only pass values derived from valid instants).
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// One elementary piece: nothing changes inside `[start, end)`.
#[derive(Debug, Clone)]
struct Piece {
    start: i64,
    end: i64,
    activity: Option<usize>,
    state: Option<(AgentState, Option<i64>)>,
    status: Status,
    basis: Basis,
}

/// The agent's data in milliseconds, normalised.
struct Prepared<'a> {
    /// `(start, end, activity id)`, overlay order: later start wins, then later entry.
    schedule: Vec<(i64, i64, &'a str)>,
    /// `(start, effective end, state, reason)`, sorted, non-overlapping.
    states: Vec<(i64, i64, AgentState, Option<i64>)>,
    gaps: Vec<(i64, i64)>,
    exceptions: Vec<(i64, i64)>,
}

impl<'a> Prepared<'a> {
    fn new(agent: &str, inputs: &Inputs<'a>) -> Prepared<'a> {
        let mut schedule: Vec<(i64, i64, &'a str)> = inputs
            .schedule
            .iter()
            .filter(|entry| entry.agent == agent)
            .map(|entry| {
                (
                    to_ms(entry.start),
                    to_ms(entry.end),
                    entry.activity.as_str(),
                )
            })
            .filter(|(start, end, _)| start < end)
            .collect();
        // Stable: equal starts keep input order, so the later entry wins.
        schedule.sort_by_key(|(start, _, _)| *start);

        let mut raw: Vec<&StateSegment> = inputs
            .segments
            .iter()
            .filter(|segment| segment.agent == agent)
            .collect();
        raw.sort_by_key(|segment| to_ms(segment.start));
        let mut states = Vec::with_capacity(raw.len());
        for (index, segment) in raw.iter().enumerate() {
            let start = to_ms(segment.start);
            let mut end = segment.end.map(to_ms).unwrap_or(i64::MAX);
            if let Some(next) = raw.get(index + 1) {
                end = end.min(to_ms(next.start));
            }
            if start < end {
                states.push((start, end, segment.state, segment.reason_code));
            }
        }

        let gaps = inputs
            .gaps
            .iter()
            .map(|gap| (to_ms(gap.from), gap.to.map(to_ms).unwrap_or(i64::MAX)))
            .filter(|(from, to)| from < to)
            .collect();
        let exceptions = inputs
            .exceptions
            .iter()
            .filter(|exception| exception.agent == agent)
            .map(|exception| (to_ms(exception.start), to_ms(exception.end)))
            .filter(|(start, end)| start < end)
            .collect();
        Prepared {
            schedule,
            states,
            gaps,
            exceptions,
        }
    }

    /// Index into `schedule` of the activity scheduled at `at`.
    fn activity_at(&self, at: i64) -> Option<usize> {
        let mut found = None;
        for (index, (start, end, _)) in self.schedule.iter().enumerate() {
            if *start > at {
                break;
            }
            if at < *end {
                found = Some(index);
            }
        }
        found
    }

    fn activity_id_at(&self, at: i64) -> Option<&'a str> {
        self.activity_at(at).map(|index| self.schedule[index].2)
    }

    fn state_at(&self, at: i64) -> Option<(AgentState, Option<i64>)> {
        let after = self.states.partition_point(|(start, _, _, _)| *start <= at);
        let (_, end, state, reason) = self.states.get(after.checked_sub(1)?)?;
        (at < *end).then_some((*state, *reason))
    }
}

fn covers(spans: &[(i64, i64)], at: i64) -> bool {
    spans.iter().any(|(start, end)| *start <= at && at < *end)
}

/// Evaluates one agent's adherence over `window` (see the crate docs for the rules).
///
/// The result covers `window` without holes, in order; adjacent segments differ in status,
/// basis, activity, state or reason code. An empty or inverted window gives an empty result.
pub fn evaluate(agent: &str, inputs: &Inputs<'_>, window: TimeRange) -> Vec<AdherenceSegment> {
    let from = to_ms(window.from);
    let to = to_ms(window.to);
    if from >= to {
        return Vec::new();
    }
    let prepared = Prepared::new(agent, inputs);

    let mut cuts = vec![from, to];
    let mut add = |at: i64| {
        if from < at && at < to {
            cuts.push(at);
        }
    };
    for (start, end, _) in &prepared.schedule {
        add(*start);
        add(*end);
    }
    for (start, end, _, _) in &prepared.states {
        add(*start);
        add(*end);
    }
    for (start, end) in prepared.gaps.iter().chain(&prepared.exceptions) {
        add(*start);
        add(*end);
    }
    cuts.sort_unstable();
    cuts.dedup();

    let mut pieces = Vec::with_capacity(cuts.len());
    for pair in cuts.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let activity = prepared.activity_at(start);
        let state = prepared.state_at(start);
        let definition = activity.map(|index| inputs.rules.activity(prepared.schedule[index].2));
        let (status, basis) = if covers(&prepared.exceptions, start) {
            (Status::In, Basis::Exception)
        } else if covers(&prepared.gaps, start) {
            (Status::Neutral, Basis::Gap)
        } else if let Some(None) = definition {
            (Status::Neutral, Basis::UnknownActivity)
        } else if let Some((state, reason)) = state {
            let definition = definition.flatten();
            (
                inputs.rules.status(definition.as_deref(), state, reason),
                Basis::Rule,
            )
        } else {
            (Status::Neutral, Basis::NoData)
        };
        pieces.push(Piece {
            start,
            end,
            activity,
            state,
            status,
            basis,
        });
    }

    apply_tolerances(&mut pieces, &prepared, inputs.rules, from, to);
    merge(pieces, &prepared)
}

/// Forgives out runs at activity edges (see the crate docs, "Tolerance").
fn apply_tolerances(
    pieces: &mut [Piece],
    prepared: &Prepared<'_>,
    rules: &RuleBook,
    from: i64,
    to: i64,
) {
    let id_of = |piece: &Piece| piece.activity.map(|index| prepared.schedule[index].2);
    let mut span_start = 0;
    while span_start < pieces.len() {
        let id = id_of(&pieces[span_start]);
        let mut span_end = span_start + 1;
        while span_end < pieces.len() && id_of(&pieces[span_end]) == id {
            span_end += 1;
        }
        if let Some(definition) = id.and_then(|id| rules.activity(id)) {
            let begins_here = pieces[span_start].start > from
                || prepared.activity_id_at(from.saturating_sub(1)) != id;
            let ends_here = pieces[span_end - 1].end < to || prepared.activity_id_at(to) != id;
            let span = &mut pieces[span_start..span_end];
            if begins_here {
                forgive_run(span, duration_ms(definition.tolerance_start), false);
            }
            if ends_here {
                forgive_run(span, duration_ms(definition.tolerance_end), true);
            }
        }
        span_start = span_end;
    }
}

/// Marks the out run at the start (or end) of `span` as in when it lasts at most `tolerance`.
fn forgive_run(span: &mut [Piece], tolerance: i64, from_end: bool) {
    if tolerance <= 0 {
        return;
    }
    let run = if from_end {
        span.iter()
            .rev()
            .take_while(|piece| piece.status == Status::Out)
            .count()
    } else {
        span.iter()
            .take_while(|piece| piece.status == Status::Out)
            .count()
    };
    if run == 0 {
        return;
    }
    let range = if from_end {
        span.len() - run..span.len()
    } else {
        0..run
    };
    let length = span[range.end - 1].end - span[range.start].start;
    if length > tolerance {
        return;
    }
    for piece in &mut span[range] {
        piece.status = Status::In;
        piece.basis = Basis::Tolerance;
    }
}

fn merge(pieces: Vec<Piece>, prepared: &Prepared<'_>) -> Vec<AdherenceSegment> {
    let mut merged: Vec<AdherenceSegment> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let activity = piece.activity.map(|index| prepared.schedule[index].2);
        if let Some(last) = merged.last_mut() {
            if last.status == piece.status
                && last.basis == piece.basis
                && last.activity.as_deref() == activity
                && last.state == piece.state.map(|(state, _)| state)
                && last.reason_code == piece.state.and_then(|(_, reason)| reason)
            {
                last.end = from_ms(piece.end);
                continue;
            }
        }
        merged.push(AdherenceSegment {
            start: from_ms(piece.start),
            end: from_ms(piece.end),
            status: piece.status,
            basis: piece.basis,
            activity: activity.map(str::to_owned),
            state: piece.state.map(|(state, _)| state),
            reason_code: piece.state.and_then(|(_, reason)| reason),
        });
    }
    merged
}

/// One agent's status at `now`, evaluated over `[now - lookback, now)`.
///
/// `since` is the start of the run of the current status (whatever the activity or state did
/// meanwhile), clamped to the look-back window. With an empty window the status is neutral
/// since `now`.
pub fn realtime(
    agent: &str,
    now: OffsetDateTime,
    inputs: &Inputs<'_>,
    lookback: Duration,
) -> RealtimeStatus {
    let now_ms = to_ms(now);
    let window = TimeRange {
        from: from_ms(now_ms.saturating_sub(duration_ms(lookback))),
        to: now,
    };
    let segments = evaluate(agent, inputs, window);
    let Some(last) = segments.last() else {
        return RealtimeStatus {
            agent: agent.to_owned(),
            status: Status::Neutral,
            since: now,
            activity: None,
            state: None,
            reason_code: None,
        };
    };
    let mut since = last.start;
    for segment in segments.iter().rev() {
        if segment.status != last.status {
            break;
        }
        since = segment.start;
    }
    RealtimeStatus {
        agent: agent.to_owned(),
        status: last.status,
        since,
        activity: last.activity.clone(),
        state: last.state,
        reason_code: last.reason_code,
    }
}

//! `evaluate` against a deliberately naive minute-by-minute implementation of the same rules.

use std::time::Duration;

use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;
use wfm_adherence::*;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{AgentState, FeedGap, StateSegment};

const BASE: OffsetDateTime = datetime!(2026-03-29 00:00 UTC);
const ACTIVITIES: [&str; 6] = ["phone", "break", "lunch", "meeting", "offline", "mystery"];
const STATES: [AgentState; 10] = [
    AgentState::LoggedOut,
    AgentState::LoggedIn,
    AgentState::NotReady,
    AgentState::Ready,
    AgentState::Reserved,
    AgentState::Talking,
    AgentState::Hold,
    AgentState::Work,
    AgentState::BusyOther,
    AgentState::Unknown,
];

fn at(minute: i64) -> OffsetDateTime {
    BASE + time::Duration::minutes(minute)
}

fn minute_of(instant: OffsetDateTime) -> i64 {
    (instant - BASE).whole_minutes()
}

#[derive(Debug, Clone)]
struct World {
    rules: RuleBook,
    schedule: Vec<ScheduledActivity>,
    segments: Vec<StateSegment>,
    gaps: Vec<FeedGap>,
    exceptions: Vec<AuthorizedException>,
    from: i64,
    to: i64,
}

fn world() -> impl Strategy<Value = World> {
    let entry = (0usize..6, 0i64..150, -5i64..60, prop::bool::weighted(0.9));
    let segment = (
        0usize..10,
        0i64..150,
        prop::option::of(0i64..160),
        prop::option::of(1i64..3),
    );
    let span = (0i64..150, prop::option::of(0i64..160));
    let exception = (0i64..150, 0i64..60, prop::bool::ANY);
    (
        prop::collection::vec(entry, 0..5),
        prop::collection::vec(segment, 0..9),
        prop::collection::vec(span, 0..3),
        prop::collection::vec(exception, 0..3),
        (0u64..8, 0u64..8, 0u64..8),
        (0i64..100, 1i64..100),
    )
        .prop_map(
            |(entries, segments, gaps, exceptions, tolerances, window)| {
                let mut rules = RuleBook::default();
                rules
                    .activities
                    .push(Activity::new("phone", ActivityKind::Open).with_tolerances(
                        Duration::from_secs(tolerances.0 * 60),
                        Duration::from_secs(tolerances.1 * 60),
                    ));
                rules.activities.push(
                    Activity::new("lunch", ActivityKind::Lunch)
                        .with_tolerances(Duration::ZERO, Duration::from_secs(tolerances.2 * 60)),
                );
                rules.rules.push(Rule {
                    activity: Some("phone".into()),
                    state: AgentState::NotReady,
                    reason_code: Some(1),
                    status: Status::In,
                });
                World {
                    rules,
                    schedule: entries
                        .into_iter()
                        .map(|(activity, start, length, mine)| ScheduledActivity {
                            agent: if mine { "a1" } else { "a2" }.into(),
                            activity: ACTIVITIES[activity].into(),
                            start: at(start),
                            end: at(start + length),
                        })
                        .collect(),
                    segments: segments
                        .into_iter()
                        .map(|(state, start, end, reason)| StateSegment {
                            source: "s".into(),
                            agent: "a1".into(),
                            state: STATES[state],
                            reason_code: reason,
                            reason_label: None,
                            start: at(start),
                            end: end.map(at),
                        })
                        .collect(),
                    gaps: gaps
                        .into_iter()
                        .map(|(from, to)| FeedGap {
                            from: at(from),
                            to: to.map(at),
                            reason: "r".into(),
                        })
                        .collect(),
                    exceptions: exceptions
                        .into_iter()
                        .map(|(start, length, mine)| AuthorizedException {
                            agent: if mine { "a1" } else { "a2" }.into(),
                            start: at(start),
                            end: at(start + length),
                            note: String::new(),
                        })
                        .collect(),
                    from: window.0,
                    to: window.0 + window.1,
                }
            },
        )
}

/// The activity id at `minute`: the covering entry with the latest start, ties to the later one.
fn naive_activity(world: &World, minute: i64) -> Option<String> {
    let mut best: Option<(i64, &ScheduledActivity)> = None;
    for entry in world.schedule.iter().filter(|entry| entry.agent == "a1") {
        let (start, end) = (minute_of(entry.start), minute_of(entry.end));
        if start <= minute && minute < end && best.is_none_or(|(best_start, _)| start >= best_start)
        {
            best = Some((start, entry));
        }
    }
    best.map(|(_, entry)| entry.activity.clone())
}

fn naive_state(world: &World, minute: i64) -> Option<(AgentState, Option<i64>)> {
    let mut sorted: Vec<&StateSegment> = world.segments.iter().collect();
    sorted.sort_by_key(|segment| segment.start);
    let last = sorted
        .into_iter()
        .rfind(|segment| minute_of(segment.start) <= minute)?;
    match last.end {
        Some(end) if minute_of(end) <= minute => None,
        _ => Some((last.state, last.reason_code)),
    }
}

fn naive(world: &World) -> Vec<Status> {
    let minutes: Vec<i64> = (world.from..world.to).collect();
    let activities: Vec<Option<String>> =
        minutes.iter().map(|m| naive_activity(world, *m)).collect();
    let mut statuses: Vec<Status> = Vec::new();
    for (index, minute) in minutes.iter().enumerate() {
        let inside = |start: OffsetDateTime, end: Option<OffsetDateTime>| {
            minute_of(start) <= *minute && end.is_none_or(|end| *minute < minute_of(end))
        };
        let definition = activities[index]
            .as_deref()
            .map(|id| world.rules.activity(id));
        let status = if world
            .exceptions
            .iter()
            .any(|e| e.agent == "a1" && inside(e.start, Some(e.end)))
        {
            Status::In
        } else if world.gaps.iter().any(|gap| inside(gap.from, gap.to)) {
            Status::Neutral
        } else if let Some(None) = definition {
            Status::Neutral
        } else if let Some((state, reason)) = naive_state(world, *minute) {
            world
                .rules
                .status(definition.flatten().as_deref(), state, reason)
        } else {
            Status::Neutral
        };
        statuses.push(status);
    }
    // Tolerances, per maximal run of one activity id.
    let mut index = 0;
    while index < minutes.len() {
        let id = activities[index].clone();
        let mut end = index;
        while end < minutes.len() && activities[end] == id {
            end += 1;
        }
        if let Some(definition) = id.as_deref().and_then(|id| world.rules.activity(id)) {
            let begins = index > 0 || naive_activity(world, world.from - 1) != id;
            let ends = end < minutes.len() || naive_activity(world, world.to) != id;
            let tol_start = definition.tolerance_start.as_secs() as usize / 60;
            let tol_end = definition.tolerance_end.as_secs() as usize / 60;
            let head = statuses[index..end]
                .iter()
                .take_while(|s| **s == Status::Out)
                .count();
            let tail = statuses[index..end]
                .iter()
                .rev()
                .take_while(|s| **s == Status::Out)
                .count();
            if begins && head > 0 && head <= tol_start {
                statuses[index..index + head].fill(Status::In);
            }
            if ends && tail > 0 && tail <= tol_end {
                statuses[end - tail..end].fill(Status::In);
            }
        }
        index = end;
    }
    statuses
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn evaluate_matches_the_naive_minute_by_minute_model(world in world()) {
        let inputs = Inputs {
            rules: &world.rules,
            schedule: &world.schedule,
            segments: &world.segments,
            gaps: &world.gaps,
            exceptions: &world.exceptions,
        };
        let segments = evaluate("a1", &inputs, TimeRange { from: at(world.from), to: at(world.to) });
        let mut expanded = Vec::new();
        let mut cursor = world.from;
        for segment in &segments {
            prop_assert_eq!(minute_of(segment.start), cursor);
            prop_assert!(segment.start < segment.end);
            for _ in minute_of(segment.start)..minute_of(segment.end) {
                expanded.push(segment.status);
            }
            cursor = minute_of(segment.end);
        }
        prop_assert_eq!(cursor, world.to);
        prop_assert_eq!(expanded, naive(&world));
    }
}

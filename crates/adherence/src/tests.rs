//! Unit tests: one per rule of the crate docs and the reference.

use std::time::Duration;

use time::macros::datetime;
use time::OffsetDateTime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{AgentState, FeedGap, StateSegment};

use crate::*;

const DAY: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);

fn at(hour: i64, minute: i64) -> OffsetDateTime {
    DAY + time::Duration::minutes(hour * 60 + minute)
}

fn range(from: OffsetDateTime, to: OffsetDateTime) -> TimeRange {
    TimeRange { from, to }
}

fn entry(
    agent: &str,
    activity: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> ScheduledActivity {
    ScheduledActivity {
        agent: agent.into(),
        activity: activity.into(),
        start,
        end,
    }
}

fn state(
    agent: &str,
    state: AgentState,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
) -> StateSegment {
    StateSegment {
        source: "cti".into(),
        agent: agent.into(),
        state,
        reason_code: None,
        reason_label: None,
        start,
        end,
    }
}

fn gap(from: OffsetDateTime, to: Option<OffsetDateTime>) -> FeedGap {
    FeedGap {
        from,
        to,
        reason: "reconnect".into(),
    }
}

struct Case {
    rules: RuleBook,
    schedule: Vec<ScheduledActivity>,
    segments: Vec<StateSegment>,
    gaps: Vec<FeedGap>,
    exceptions: Vec<AuthorizedException>,
}

impl Case {
    fn new(schedule: Vec<ScheduledActivity>, segments: Vec<StateSegment>) -> Case {
        Case {
            rules: RuleBook::default(),
            schedule,
            segments,
            gaps: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            rules: &self.rules,
            schedule: &self.schedule,
            segments: &self.segments,
            gaps: &self.gaps,
            exceptions: &self.exceptions,
        }
    }

    fn minutes(&self, window: TimeRange, status: Status) -> i64 {
        evaluate("a1", &self.inputs(), window)
            .iter()
            .filter(|segment| segment.status == status)
            .map(|segment| (segment.end - segment.start).whole_minutes())
            .sum()
    }
}

fn minutes(ms: i64) -> i64 {
    ms / 60_000
}

#[test]
fn calabrio_example_three_in_one_out_two_neutral_is_75_percent() {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(8, 0), at(14, 0))],
        vec![
            state("a1", AgentState::Ready, at(8, 0), Some(at(11, 0))),
            state("a1", AgentState::NotReady, at(11, 0), Some(at(12, 0))),
            state("a1", AgentState::Unknown, at(12, 0), Some(at(13, 0))),
            state("a1", AgentState::Ready, at(13, 0), None),
        ],
    );
    case.gaps.push(gap(at(13, 0), Some(at(14, 0))));
    let day = daily("a1", &case.inputs(), range(DAY, at(24, 0)));
    assert_eq!(minutes(day.totals.scheduled_ms), 360);
    assert_eq!(minutes(day.totals.in_ms), 180);
    assert_eq!(minutes(day.totals.out_ms), 60);
    assert_eq!(minutes(day.totals.neutral_ms), 120);
    assert_eq!(day.totals.adherence_pct(), Some(75.0));
}

#[test]
fn default_table_matches_the_documented_one() {
    use ActivityKind::*;
    use AgentState::*;
    use Status::{In, Neutral, Out};
    let cases = [
        (Some(Open), Ready, In),
        (Some(Open), Talking, In),
        (Some(Open), Hold, In),
        (Some(Open), Work, In),
        (Some(Open), Reserved, In),
        (Some(Open), BusyOther, In),
        (Some(Open), LoggedIn, In),
        (Some(Open), NotReady, Out),
        (Some(Open), LoggedOut, Out),
        (Some(Break), NotReady, In),
        (Some(Lunch), NotReady, In),
        (Some(Lunch), LoggedOut, Neutral),
        (Some(Break), Talking, Out),
        (Some(Meeting), NotReady, In),
        (Some(Training), Ready, Out),
        (Some(Offline), LoggedOut, In),
        (None, LoggedOut, In),
        (None, Ready, Neutral),
        (None, NotReady, Neutral),
        (Some(Open), Unknown, Neutral),
    ];
    for (kind, state, expected) in cases {
        assert_eq!(default_status(kind, state), expected, "{kind:?} {state:?}");
    }
}

#[test]
fn an_override_for_a_reason_code_wins_over_one_for_any_reason() {
    let mut rules = RuleBook::default();
    let phone = Activity::new("phone", ActivityKind::Open);
    rules.rules.push(Rule {
        activity: Some("phone".into()),
        state: AgentState::NotReady,
        reason_code: None,
        status: Status::Neutral,
    });
    rules.rules.push(Rule {
        activity: Some("phone".into()),
        state: AgentState::NotReady,
        reason_code: Some(12),
        status: Status::In,
    });
    assert_eq!(
        rules.status(Some(&phone), AgentState::NotReady, Some(12)),
        Status::In
    );
    assert_eq!(
        rules.status(Some(&phone), AgentState::NotReady, Some(3)),
        Status::Neutral
    );
    assert_eq!(
        rules.status(Some(&phone), AgentState::NotReady, None),
        Status::Neutral
    );
    assert_eq!(
        rules.status(Some(&phone), AgentState::LoggedOut, None),
        Status::Out
    );
}

fn late_start_case(late_minutes: i64, tolerance: u64) -> Case {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(9, 0), at(10, 0))],
        vec![
            state(
                "a1",
                AgentState::LoggedOut,
                at(8, 0),
                Some(at(9, late_minutes)),
            ),
            state("a1", AgentState::Ready, at(9, late_minutes), None),
        ],
    );
    case.rules.activities.push(
        Activity::new("phone", ActivityKind::Open)
            .with_tolerances(Duration::from_secs(tolerance * 60), Duration::ZERO),
    );
    case
}

#[test]
fn a_late_start_within_the_start_tolerance_is_in() {
    let window = range(at(9, 0), at(10, 0));
    assert_eq!(late_start_case(4, 5).minutes(window, Status::Out), 0);
    // Exactly the tolerance is still forgiven.
    let case = late_start_case(5, 5);
    assert_eq!(case.minutes(window, Status::Out), 0);
    let segments = evaluate("a1", &case.inputs(), window);
    assert_eq!(segments[0].basis, Basis::Tolerance);
    // One minute more and the whole run is out, not just the excess.
    assert_eq!(late_start_case(6, 5).minutes(window, Status::Out), 6);
    // Without a tolerance any lateness is out.
    assert_eq!(late_start_case(1, 0).minutes(window, Status::Out), 1);
}

#[test]
fn an_early_end_within_the_end_tolerance_is_in_but_not_in_the_middle() {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(9, 0), at(10, 0))],
        vec![
            state("a1", AgentState::Ready, at(9, 0), Some(at(9, 30))),
            state("a1", AgentState::NotReady, at(9, 30), Some(at(9, 32))),
            state("a1", AgentState::Ready, at(9, 32), Some(at(9, 57))),
            state("a1", AgentState::LoggedOut, at(9, 57), None),
        ],
    );
    case.rules.activities.push(
        Activity::new("phone", ActivityKind::Open)
            .with_tolerances(Duration::from_secs(300), Duration::from_secs(300)),
    );
    let window = range(at(9, 0), at(10, 0));
    // The 2 minutes in the middle stay out; the 3 minutes at the end are forgiven.
    assert_eq!(case.minutes(window, Status::Out), 2);
    // After the activity the agent is unscheduled and logged out: in.
    assert_eq!(case.minutes(range(at(10, 0), at(11, 0)), Status::In), 60);
}

#[test]
fn returning_late_from_an_overlaid_lunch_uses_the_open_start_tolerance() {
    let mut case = Case::new(
        vec![
            entry("a1", "phone", at(9, 0), at(17, 0)),
            entry("a1", "lunch", at(12, 0), at(13, 0)),
        ],
        vec![
            state("a1", AgentState::Ready, at(9, 0), Some(at(12, 0))),
            state("a1", AgentState::NotReady, at(12, 0), Some(at(13, 2))),
            state("a1", AgentState::Ready, at(13, 2), None),
        ],
    );
    case.rules.activities.push(
        Activity::new("phone", ActivityKind::Open)
            .with_tolerances(Duration::from_secs(180), Duration::ZERO),
    );
    assert_eq!(case.minutes(range(at(9, 0), at(17, 0)), Status::Out), 0);
    let segments = evaluate("a1", &case.inputs(), range(at(9, 0), at(17, 0)));
    let lunch: Vec<_> = segments
        .iter()
        .filter(|s| s.activity.as_deref() == Some("lunch"))
        .collect();
    assert_eq!(lunch.len(), 1);
    assert_eq!(
        (lunch[0].start, lunch[0].end, lunch[0].status),
        (at(12, 0), at(13, 0), Status::In)
    );
}

#[test]
fn an_authorized_exception_counts_in() {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(9, 0), at(10, 0))],
        vec![state("a1", AgentState::NotReady, at(9, 0), None)],
    );
    case.exceptions.push(AuthorizedException {
        agent: "a1".into(),
        start: at(9, 15),
        end: at(9, 45),
        note: "coaching".into(),
    });
    // Another agent's exception changes nothing.
    case.exceptions.push(AuthorizedException {
        agent: "a2".into(),
        start: at(9, 0),
        end: at(10, 0),
        note: String::new(),
    });
    let window = range(at(9, 0), at(10, 0));
    assert_eq!(case.minutes(window, Status::In), 30);
    assert_eq!(case.minutes(window, Status::Out), 30);
}

#[test]
fn a_feed_gap_is_never_out() {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(9, 0), at(10, 0))],
        vec![state("a1", AgentState::LoggedOut, at(8, 0), None)],
    );
    case.gaps.push(gap(at(9, 10), Some(at(9, 20))));
    case.gaps.push(gap(at(9, 50), None));
    let window = range(at(9, 0), at(10, 0));
    assert_eq!(case.minutes(window, Status::Neutral), 20);
    assert_eq!(case.minutes(window, Status::Out), 40);
    let gaps: Vec<_> = evaluate("a1", &case.inputs(), window)
        .into_iter()
        .filter(|segment| segment.basis == Basis::Gap)
        .collect();
    assert!(gaps.iter().all(|segment| segment.status == Status::Neutral));
}

#[test]
fn a_shift_across_midnight_counts_wholly_on_the_day_it_starts() {
    let case = Case::new(
        vec![
            entry("a1", "phone", at(22, 0), at(26, 0)),
            entry("a1", "break", at(26, 0), at(26, 30)),
            entry("a1", "phone", at(26, 30), at(30, 0)),
        ],
        vec![state("a1", AgentState::Ready, at(21, 0), None)],
    );
    let first = daily("a1", &case.inputs(), range(DAY, at(24, 0)));
    assert_eq!(first.shifts, vec![range(at(22, 0), at(30, 0))]);
    assert_eq!(minutes(first.totals.scheduled_ms), 480);
    assert_eq!(minutes(first.totals.out_ms), 30); // ready during the break
    assert_eq!(minutes(first.totals.scheduled_in_service_ms), 450);
    // Worked: 21:00–07:00 (shift ±1 h), 10 h.
    assert_eq!(minutes(first.totals.worked_ms), 600);
    let second = daily("a1", &case.inputs(), range(at(24, 0), at(48, 0)));
    assert_eq!(second.totals, Totals::default());
    assert!(second.shifts.is_empty());
}

#[test]
fn conformance_counts_worked_time_regardless_of_when_and_caps_in_the_variant() {
    let case = Case::new(
        vec![
            entry("a1", "phone", at(9, 0), at(13, 0)),
            entry("a1", "meeting", at(13, 0), at(14, 0)),
        ],
        vec![
            state("a1", AgentState::Ready, at(8, 0), Some(at(10, 0))),
            state("a1", AgentState::NotReady, at(10, 0), Some(at(11, 0))),
            state("a1", AgentState::Talking, at(11, 0), Some(at(15, 0))),
            state("a1", AgentState::Ready, at(15, 0), Some(at(16, 0))),
        ],
    );
    let day = daily("a1", &case.inputs(), range(DAY, at(24, 0)));
    // Worked within 08:00–15:00: 2 h ready + 4 h talking = 6 h (15:00–16:00 is beyond +1 h).
    assert_eq!(minutes(day.totals.worked_ms), 360);
    assert_eq!(minutes(day.totals.scheduled_in_service_ms), 240);
    assert_eq!(day.totals.conformance_pct(), Some(150.0));
    assert_eq!(day.totals.conformance_capped_pct(), Some(100.0));
    // Adherence: phone 9–13 with 1 h not ready out; meeting 13–14 talking out.
    assert_eq!(minutes(day.totals.in_ms), 180);
    assert_eq!(minutes(day.totals.out_ms), 120);
    assert_eq!(day.totals.adherence_pct(), Some(60.0));
}

#[test]
fn team_totals_sum_minutes_not_percentages() {
    let case = Case::new(
        vec![
            entry("a1", "phone", at(9, 0), at(10, 0)),
            entry("a2", "phone", at(9, 0), at(12, 0)),
        ],
        vec![
            state("a1", AgentState::Ready, at(9, 0), None),
            state("a2", AgentState::NotReady, at(9, 0), None),
        ],
    );
    let day = range(DAY, at(24, 0));
    let days = vec![
        daily("a1", &case.inputs(), day),
        daily("a2", &case.inputs(), day),
    ];
    assert_eq!(days[0].totals.adherence_pct(), Some(100.0));
    assert_eq!(days[1].totals.adherence_pct(), Some(0.0));
    assert_eq!(team(&days).adherence_pct(), Some(25.0));
}

#[test]
fn an_unknown_activity_and_missing_states_are_neutral() {
    let case = Case::new(
        vec![
            entry("a1", "mystery", at(9, 0), at(10, 0)),
            entry("a1", "phone", at(10, 0), at(11, 0)),
        ],
        vec![state("a1", AgentState::Ready, at(10, 30), None)],
    );
    let segments = evaluate("a1", &case.inputs(), range(at(9, 0), at(11, 0)));
    let bases: Vec<_> = segments.iter().map(|s| (s.basis, s.status)).collect();
    assert_eq!(
        bases,
        vec![
            (Basis::UnknownActivity, Status::Neutral),
            (Basis::NoData, Status::Neutral),
            (Basis::Rule, Status::In),
        ]
    );
}

#[test]
fn realtime_reports_since_the_start_of_the_status_run() {
    let mut case = Case::new(
        vec![entry("a1", "phone", at(9, 0), at(17, 0))],
        vec![state("a1", AgentState::NotReady, at(8, 50), None)],
    );
    case.rules.activities.push(
        Activity::new("phone", ActivityKind::Open)
            .with_tolerances(Duration::from_secs(300), Duration::ZERO),
    );
    let lookback = Duration::from_secs(12 * 3600);
    // Before the shift: unscheduled not ready is neutral, like the unknown time before it, so
    // the run starts at the look-back window's start.
    let before = realtime("a1", at(8, 55), &case.inputs(), lookback);
    assert_eq!((before.status, before.since), (Status::Neutral, at(-4, 55)));
    assert_eq!(before.activity, None);
    // Within the start tolerance: in, since the activity began.
    let early = realtime("a1", at(9, 3), &case.inputs(), lookback);
    assert_eq!((early.status, early.since), (Status::In, at(9, 0)));
    // Tolerance used up: out since the activity began.
    let late = realtime("a1", at(9, 10), &case.inputs(), lookback);
    assert_eq!((late.status, late.since), (Status::Out, at(9, 0)));
    assert_eq!(late.activity.as_deref(), Some("phone"));
    assert_eq!(late.state, Some(AgentState::NotReady));
    // No data at all: neutral.
    let nobody = realtime("zz", at(9, 10), &case.inputs(), lookback);
    assert_eq!(nobody.status, Status::Neutral);
    assert_eq!(nobody.since, at(-3, 10));
}

#[test]
fn inverted_windows_and_schedule_entries_are_ignored_without_panicking() {
    let case = Case::new(
        vec![entry("a1", "phone", at(10, 0), at(9, 0))],
        vec![state("a1", AgentState::Ready, at(10, 0), Some(at(9, 0)))],
    );
    assert!(evaluate("a1", &case.inputs(), range(at(10, 0), at(9, 0))).is_empty());
    let day = daily("a1", &case.inputs(), range(DAY, at(24, 0)));
    assert_eq!(day.totals.adherence_pct(), None);
    let extreme = realtime(
        "a1",
        OffsetDateTime::UNIX_EPOCH,
        &case.inputs(),
        Duration::MAX,
    );
    assert_eq!(extreme.status, Status::Neutral);
}

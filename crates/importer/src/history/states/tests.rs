use super::normalise::*;
use time::macros::datetime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::AgentState;
use wfm_sources::history::{AgentStateRow, Dialect};

fn row(agent: i64, at: time::OffsetDateTime, raw: i64, reason: Option<i64>) -> AgentStateRow {
    AgentStateRow {
        agent_id: agent,
        at,
        raw_state: raw,
        reason_code: reason,
    }
}

fn window() -> TimeRange {
    TimeRange {
        from: datetime!(2026-03-02 14:00 UTC),
        to: datetime!(2026-03-02 15:00 UTC),
    }
}

#[test]
fn uccx_event_types_map_as_documented_on_agent_state() {
    let want = [
        (1, AgentState::LoggedIn),
        (2, AgentState::NotReady),
        (3, AgentState::Ready),
        (4, AgentState::Reserved),
        (5, AgentState::Talking),
        (6, AgentState::Work),
        (7, AgentState::LoggedOut),
    ];
    for (raw, state) in want {
        assert_eq!(map_uccx(raw), state, "uccx:{raw}");
    }
}

#[test]
fn ucce_agent_states_map_as_documented_on_agent_state() {
    let want = [
        (0, AgentState::LoggedOut),
        (1, AgentState::LoggedIn),
        (2, AgentState::NotReady),
        (3, AgentState::Ready),
        (4, AgentState::Talking),
        (5, AgentState::Work),
        (6, AgentState::Work),
        (7, AgentState::BusyOther),
        (8, AgentState::Reserved),
        (10, AgentState::Hold),
    ];
    for (raw, state) in want {
        assert_eq!(map_ucce(raw), state, "ucce:{raw}");
    }
    for raw in [9, 11, 12, 13, 14] {
        assert_eq!(map_ucce(raw), AgentState::Unknown, "ucce:{raw}");
    }
}

#[test]
fn unknown_values_become_unknown_with_the_raw_value_kept() {
    let rows = [
        row(501, datetime!(2026-03-02 14:01 UTC), 0, None),
        row(501, datetime!(2026-03-02 14:02 UTC), 99, Some(5)),
    ];
    let built = state_batch("uccx-hr", Dialect::Uccx, window(), &rows);
    let events = &built.batch.events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].state, AgentState::Unknown);
    assert_eq!(events[0].raw, "uccx:0");
    assert_eq!(events[1].state, AgentState::Unknown);
    assert_eq!(events[1].raw, "uccx:99");
    assert_eq!(events[1].reason_code, Some(5));
    assert_eq!(built.unknown, vec!["uccx:0", "uccx:99"]);
    let ucce = state_batch(
        "hds",
        Dialect::Ucce,
        window(),
        &[row(5001, datetime!(2026-03-02 14:01 UTC), 14, None)],
    );
    assert_eq!(ucce.batch.events[0].raw, "ucce:14");
    assert_eq!(ucce.batch.events[0].state, AgentState::Unknown);
}

#[test]
fn events_out_of_order_are_sorted_and_exact_duplicates_dropped() {
    let rows = [
        row(502, datetime!(2026-03-02 14:30 UTC), 3, Some(0)),
        row(501, datetime!(2026-03-02 14:10 UTC), 2, Some(32763)),
        row(501, datetime!(2026-03-02 14:00 UTC), 1, Some(0)),
        row(501, datetime!(2026-03-02 14:10 UTC), 2, Some(32763)),
        // Same instant, different reason: not a duplicate.
        row(501, datetime!(2026-03-02 14:10 UTC), 2, Some(7)),
        // Outside the window.
        row(501, datetime!(2026-03-02 15:00 UTC), 3, None),
    ];
    let built = state_batch("uccx-hr", Dialect::Uccx, window(), &rows);
    let got: Vec<_> = built
        .batch
        .events
        .iter()
        .map(|e| (e.agent.as_str(), e.at, e.state, e.reason_code))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "501",
                datetime!(2026-03-02 14:00 UTC),
                AgentState::LoggedIn,
                None
            ),
            (
                "501",
                datetime!(2026-03-02 14:10 UTC),
                AgentState::NotReady,
                Some(7)
            ),
            (
                "501",
                datetime!(2026-03-02 14:10 UTC),
                AgentState::NotReady,
                Some(32763)
            ),
            (
                "502",
                datetime!(2026-03-02 14:30 UTC),
                AgentState::Ready,
                None
            ),
        ]
    );
    assert_eq!(built.duplicates, 1);
    assert_eq!(built.rows_read, 6);
    assert_eq!(built.batch.window, Some(window()));
    assert_eq!(built.batch.source, "uccx-hr");
    assert!(built.batch.gaps.is_empty());
}

#[test]
fn times_are_truncated_to_milliseconds() {
    let at = datetime!(2026-03-02 14:00:00.123456 UTC);
    let e = event(Dialect::Uccx, &row(1, at, 3, None));
    assert_eq!(e.at, datetime!(2026-03-02 14:00:00.123 UTC));
}

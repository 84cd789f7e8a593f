//! The agent-state store: reason codes, live and history state batches, unknown agents, feed
//! gaps and timelines. Every scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{
    AgentState, FeedGap, ReasonCategory, ReasonCode, ReasonCodeSet, ReasonCodeSetResponse,
    StateBatch, StateBatchResponse, StateEvent,
};
use wfm_store::{StateOutcome, Store};

const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

fn ev(agent: &str, secs: i64, state: AgentState, reason: Option<i64>) -> StateEvent {
    StateEvent {
        agent: agent.to_string(),
        at: T0 + Duration::seconds(secs),
        state,
        reason_code: reason,
        raw: format!("cti:{state:?}"),
    }
}

fn live(source: &str, events: Vec<StateEvent>) -> StateBatch {
    StateBatch {
        source: source.to_string(),
        window: None,
        events,
        gaps: Vec::new(),
    }
}

fn history(from_secs: i64, to_secs: i64, events: Vec<StateEvent>) -> StateBatch {
    StateBatch {
        source: "uccx".to_string(),
        window: Some(range(from_secs, to_secs)),
        events,
        gaps: Vec::new(),
    }
}

fn range(from_secs: i64, to_secs: i64) -> TimeRange {
    TimeRange {
        from: T0 + Duration::seconds(from_secs),
        to: T0 + Duration::seconds(to_secs),
    }
}

/// Applies with a hash derived from the batch, so the same batch replays.
async fn apply(store: &Store, p: &ProjectId, b: &StateBatch, key: &str) -> StateBatchResponse {
    match apply_outcome(store, p, b, key).await {
        StateOutcome::Applied(r) => r,
        other => panic!("expected Applied, got {other:?}"),
    }
}

async fn apply_outcome(
    store: &Store,
    p: &ProjectId,
    b: &StateBatch,
    key: &str,
) -> StateOutcome<StateBatchResponse> {
    let hash = format!("{:x}", md5ish(&serde_json::to_vec(b).unwrap()));
    store
        .apply_state_batch(p, b, key, &hash, T0 + Duration::days(1))
        .await
        .unwrap()
}

/// A cheap content hash for test idempotency keys.
fn md5ish(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn counts(accepted: u64, duplicates: u64, removed: u64, unknown: u64) -> StateBatchResponse {
    StateBatchResponse {
        accepted,
        duplicates,
        removed,
        unknown_agents: unknown,
    }
}

fn code(id: &str, code: i64, label: &str, category: ReasonCategory) -> ReasonCode {
    ReasonCode {
        id: id.to_string(),
        code,
        label: label.to_string(),
        category,
        system_code: false,
        for_all: true,
    }
}

/// (agent, start s, end s, state, label) of a timeline.
type Seg = (String, i64, Option<i64>, AgentState, Option<String>);

async fn timeline(
    store: &Store,
    p: &ProjectId,
    source: Option<&str>,
    agent: Option<&str>,
    r: TimeRange,
) -> Vec<Seg> {
    let secs = |t: OffsetDateTime| (t - T0).whole_seconds();
    store
        .state_segments(p, source, agent, r)
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.agent,
                secs(s.start),
                s.end.map(secs),
                s.state,
                s.reason_label,
            )
        })
        .collect()
}

fn seg(agent: &str, start: i64, end: Option<i64>, state: AgentState) -> Seg {
    (agent.to_string(), start, end, state, None)
}

store_test!(
    reason_codes_insert_update_deactivate_and_replay,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut set = ReasonCodeSet {
            source: "finesse".into(),
            codes: vec![
                code("1", 10, "Lunch", ReasonCategory::NotReady),
                code("2", 11, "Meeting", ReasonCategory::NotReady),
                code("3", 10, "End of shift", ReasonCategory::Logout),
            ],
        };
        let put = |set: ReasonCodeSet, key: &'static str| {
            let store = store.clone();
            let p = p.clone();
            async move {
                let hash = serde_json::to_string(&set).unwrap();
                store
                    .put_reason_codes(&p, &set, key, &hash, T0)
                    .await
                    .unwrap()
            }
        };
        let first = put(set.clone(), "k1").await;
        let want = ReasonCodeSetResponse {
            inserted: 3,
            updated: 0,
            unchanged: 0,
            deactivated: 0,
        };
        assert_eq!(first, StateOutcome::Applied(want.clone()));
        assert_eq!(put(set.clone(), "k1").await, StateOutcome::Replay(want));
        // Relabel one code, drop one.
        set.codes[0].label = "Lunch break".into();
        set.codes.remove(1);
        let second = put(set.clone(), "k2").await;
        assert_eq!(
            second,
            StateOutcome::Applied(ReasonCodeSetResponse {
                inserted: 0,
                updated: 1,
                unchanged: 1,
                deactivated: 1
            })
        );
        let codes = store.reason_codes(&p).await.unwrap();
        let view: Vec<(&str, &str, bool)> = codes
            .iter()
            .map(|c| (c.code.id.as_str(), c.code.label.as_str(), c.active))
            .collect();
        assert_eq!(
            view,
            vec![
                ("1", "Lunch break", true),
                ("2", "Meeting", false),
                ("3", "End of shift", true)
            ]
        );
        // The same set again: nothing changes, nothing is deactivated twice.
        let third = put(set.clone(), "k3").await;
        assert_eq!(
            third,
            StateOutcome::Applied(ReasonCodeSetResponse {
                inserted: 0,
                updated: 0,
                unchanged: 2,
                deactivated: 0
            })
        );
        // A code that comes back is reactivated (counted as updated).
        set.codes
            .push(code("2", 11, "Meeting", ReasonCategory::NotReady));
        let fourth = put(set.clone(), "k4").await;
        assert_eq!(
            fourth,
            StateOutcome::Applied(ReasonCodeSetResponse {
                inserted: 0,
                updated: 1,
                unchanged: 2,
                deactivated: 0
            })
        );
        // The same key with another body is a conflict; an invalid set is rejected.
        let err = store
            .put_reason_codes(&p, &set, "k1", "other", T0)
            .await
            .unwrap_err();
        assert!(matches!(err, wfm_store::StoreError::IdempotencyConflict));
        let bad = ReasonCodeSet {
            source: " ".into(),
            codes: vec![
                code("", 1, "x", ReasonCategory::NotReady),
                code("a", 1, "x", ReasonCategory::NotReady),
                code("a", 2, "y", ReasonCategory::NotReady),
            ],
        };
        match put(bad, "k5").await {
            StateOutcome::Rejected(problems) => {
                assert_eq!(problems.len(), 3, "{problems:?}");
                assert!(problems[2].contains("id a appears more than once"));
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
    }
);

store_test!(live_duplicates_are_ignored, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let b = live(
        "cti",
        vec![
            ev("5001", 0, AgentState::LoggedIn, None),
            ev("5001", 1, AgentState::NotReady, Some(10)),
            ev("5001", 1, AgentState::NotReady, Some(10)),
            ev("5001", 60, AgentState::Ready, None),
        ],
    );
    assert_eq!(apply(&store, &p, &b, "k1").await, counts(3, 1, 0, 3));
    // Replay of the key answers the stored counts.
    assert_eq!(
        apply_outcome(&store, &p, &b, "k1").await,
        StateOutcome::Replay(counts(3, 1, 0, 3))
    );
    // The same events under a new key (a resend after a reconnect) plus one new event.
    let mut again = b.clone();
    again
        .events
        .push(ev("5001", 90, AgentState::Reserved, None));
    // The same instant and state with another reason is another event.
    again
        .events
        .push(ev("5001", 1, AgentState::NotReady, Some(11)));
    assert_eq!(apply(&store, &p, &again, "k2").await, counts(2, 4, 0, 2));
    let all = timeline(&store, &p, None, None, range(0, 3600)).await;
    assert_eq!(all.len(), 5);
    let err = store
        .apply_state_batch(&p, &again, "k1", "another-hash", T0)
        .await
        .unwrap_err();
    assert!(matches!(err, wfm_store::StoreError::IdempotencyConflict));
});

store_test!(
    out_of_order_live_events_give_ordered_segments,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        apply(
            &store,
            &p,
            &live(
                "cti",
                vec![
                    ev("a", 30, AgentState::Talking, None),
                    ev("a", 10, AgentState::Ready, None),
                ],
            ),
            "k1",
        )
        .await;
        // A late event between the two, and one before both.
        apply(
            &store,
            &p,
            &live(
                "cti",
                vec![
                    ev("a", 20, AgentState::Reserved, None),
                    ev("a", 0, AgentState::LoggedIn, None),
                ],
            ),
            "k2",
        )
        .await;
        let got = timeline(&store, &p, Some("cti"), Some("a"), range(0, 100)).await;
        assert_eq!(
            got,
            vec![
                seg("a", 0, Some(10), AgentState::LoggedIn),
                seg("a", 10, Some(20), AgentState::Ready),
                seg("a", 20, Some(30), AgentState::Reserved),
                seg("a", 30, None, AgentState::Talking),
            ]
        );
        let latest = store.latest_states(&p).await.unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].state, AgentState::Talking);
        assert_eq!(latest[0].since, T0 + Duration::seconds(30));
        let newest = store.newest_state_events(&p).await.unwrap();
        assert_eq!(
            newest,
            vec![("cti".to_string(), T0 + Duration::seconds(30))]
        );
    }
);

store_test!(
    history_window_replaces_only_its_window,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let first = history(
            0,
            3600,
            vec![
                ev("a", 0, AgentState::LoggedIn, None),
                ev("a", 100, AgentState::Ready, None),
                ev("a", 200, AgentState::Talking, None),
                ev("b", 50, AgentState::Ready, None),
            ],
        );
        assert_eq!(apply(&store, &p, &first, "k1").await, counts(4, 0, 0, 4));
        let next_hour = history(3600, 7200, vec![ev("a", 3700, AgentState::Work, None)]);
        assert_eq!(
            apply(&store, &p, &next_hour, "k2").await,
            counts(1, 0, 0, 1)
        );
        // The same window again: nothing changes.
        assert_eq!(apply(&store, &p, &first, "k3").await, counts(0, 4, 0, 0));
        // A late correction: a's talking began at 210 with another raw value, b's event is
        // gone, a new event for b.
        let mut corrected = first.clone();
        corrected.events[2] = ev("a", 210, AgentState::Talking, None);
        corrected.events[3] = ev("b", 60, AgentState::Ready, None);
        corrected.events[1].raw = "uccx:3".into();
        assert_eq!(
            apply(&store, &p, &corrected, "k4").await,
            counts(3, 1, 3, 3)
        );
        let got = timeline(&store, &p, None, None, range(0, 7200)).await;
        assert_eq!(
            got,
            vec![
                seg("a", 0, Some(100), AgentState::LoggedIn),
                seg("a", 100, Some(210), AgentState::Ready),
                seg("a", 210, Some(3700), AgentState::Talking),
                seg("a", 3700, None, AgentState::Work),
                seg("b", 60, None, AgentState::Ready),
            ]
        );
        // An empty history batch empties its window only.
        assert_eq!(
            apply(&store, &p, &history(0, 3600, Vec::new()), "k5").await,
            counts(0, 0, 4, 0)
        );
        let got = timeline(&store, &p, None, None, range(0, 7200)).await;
        assert_eq!(got, vec![seg("a", 3700, None, AgentState::Work)]);
    }
);

store_test!(
    unknown_agents_are_flagged_and_kept,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        // alice has agentId "alice"; bob has external id "2"; nobody is "zed".
        let (status, _) = sync(&store, &p, &request(base_snapshot()), 1).await;
        assert_eq!(status, 200);
        let b = live(
            "cti",
            vec![
                ev("alice", 0, AgentState::Ready, None),
                ev("2", 0, AgentState::Ready, None),
                ev("zed", 0, AgentState::Ready, None),
                ev("zed", 5, AgentState::Talking, None),
            ],
        );
        assert_eq!(apply(&store, &p, &b, "k1").await, counts(4, 0, 0, 2));
        let latest = store.latest_states(&p).await.unwrap();
        let flags: Vec<(&str, bool)> = latest
            .iter()
            .map(|l| (l.agent.as_str(), l.unknown_agent))
            .collect();
        assert_eq!(flags, vec![("2", false), ("alice", false), ("zed", true)]);
        // The agent id of another project's user does not count.
        let other = setup(&store, "other").await;
        assert_eq!(
            apply(
                &store,
                &other,
                &live("cti", vec![ev("alice", 0, AgentState::Ready, None)]),
                "k1"
            )
            .await,
            counts(1, 0, 0, 1)
        );
    }
);

store_test!(projects_are_isolated, |store: Store| async move {
    let a = setup(&store, "acme").await;
    let b = setup(&store, "beta").await;
    let batch = live("cti", vec![ev("x", 0, AgentState::Ready, None)]);
    apply(&store, &a, &batch, "k1").await;
    // The same key and batch in another project is independent.
    assert_eq!(apply(&store, &b, &batch, "k1").await, counts(1, 0, 0, 1));
    let set = ReasonCodeSet {
        source: "finesse".into(),
        codes: vec![code("1", 10, "Lunch", ReasonCategory::NotReady)],
    };
    store
        .put_reason_codes(&a, &set, "r1", "h", T0)
        .await
        .unwrap();
    assert!(store.reason_codes(&b).await.unwrap().is_empty());
    apply(
        &store,
        &b,
        &history(0, 60, vec![ev("y", 1, AgentState::Work, Some(10))]),
        "k2",
    )
    .await;
    let in_a = timeline(&store, &a, None, None, range(0, 60)).await;
    assert_eq!(in_a, vec![seg("x", 0, None, AgentState::Ready)]);
    let in_b = timeline(&store, &b, None, None, range(0, 60)).await;
    assert_eq!(in_b.len(), 2);
    assert!(in_b.iter().all(|s| s.4.is_none()));
    let missing = ProjectId::new("nope").unwrap();
    let err = store
        .apply_state_batch(&missing, &batch, "k", "h", T0)
        .await
        .unwrap_err();
    assert!(matches!(err, wfm_store::StoreError::UnknownProject(_)));
});

store_test!(
    invalid_batches_are_rejected_and_store_nothing,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let outside = history(0, 60, vec![ev("a", 60, AgentState::Ready, None)]);
        let empty_agent = live("cti", vec![ev("", 1, AgentState::Ready, None)]);
        let mut unaligned = history(0, 60, Vec::new());
        unaligned.window = Some(TimeRange {
            from: T0 + Duration::microseconds(1),
            to: T0 + Duration::seconds(60),
        });
        let mut bad_gap = live("cti", Vec::new());
        bad_gap.gaps.push(FeedGap {
            from: T0 + Duration::seconds(10),
            to: Some(T0),
            reason: "reconnect".into(),
        });
        let too_many = live(
            "cti",
            (0..=wfm_store::MAX_STATE_EVENTS as i64)
                .map(|i| ev("a", i, AgentState::Ready, None))
                .collect(),
        );
        let cases: Vec<(&StateBatch, &str)> = vec![
            (&outside, "outside the window"),
            (&empty_agent, "agent is empty"),
            (&unaligned, "window.from"),
            (&bad_gap, "gap 1: to"),
        ];
        for (batch, want) in cases {
            match apply_outcome(&store, &p, batch, "k1").await {
                StateOutcome::Rejected(problems) => {
                    assert!(problems.iter().any(|m| m.contains(want)), "{problems:?}")
                }
                other => panic!("expected Rejected for {want}, got {other:?}"),
            }
        }
        match apply_outcome(&store, &p, &too_many, "k1").await {
            StateOutcome::Rejected(problems) => assert!(problems[0].contains("at most 100000")),
            other => panic!("expected Rejected, got {other:?}"),
        }
        // The key was not used up.
        let ok = live("cti", vec![ev("a", 1, AgentState::Ready, None)]);
        assert_eq!(apply(&store, &p, &ok, "k1").await, counts(1, 0, 0, 1));
    }
);

store_test!(
    timeline_across_the_from_boundary,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let set = ReasonCodeSet {
            source: "finesse".into(),
            codes: vec![
                code("1", 10, "Lunch", ReasonCategory::NotReady),
                code("2", 10, "End of shift", ReasonCategory::Logout),
            ],
        };
        store
            .put_reason_codes(&p, &set, "r1", "h", T0)
            .await
            .unwrap();
        let b = live(
            "cti",
            vec![
                // a: not ready since long before `from`, still running at `from`.
                ev("a", -86_400, AgentState::NotReady, Some(10)),
                ev("a", 150, AgentState::Ready, None),
                ev("a", 400, AgentState::LoggedOut, Some(10)),
                // b: a segment that ended exactly at `from` is left out.
                ev("b", 50, AgentState::Ready, None),
                ev("b", 100, AgentState::Talking, None),
                // c: nothing in the range, one state running through it.
                ev("c", 10, AgentState::Work, None),
                ev("c", 500, AgentState::Ready, None),
            ],
        );
        apply(&store, &p, &b, "k1").await;
        let got = timeline(&store, &p, None, None, range(100, 300)).await;
        let lunch = Some("Lunch".to_string());
        assert_eq!(
            got,
            vec![
                (
                    "a".to_string(),
                    -86_400,
                    Some(150),
                    AgentState::NotReady,
                    lunch
                ),
                seg("a", 150, Some(400), AgentState::Ready),
                seg("b", 100, None, AgentState::Talking),
                seg("c", 10, Some(500), AgentState::Work),
            ]
        );
        // Logout reasons are looked up among logout codes.
        let got = timeline(&store, &p, Some("cti"), Some("a"), range(400, 401)).await;
        assert_eq!(
            got,
            vec![(
                "a".to_string(),
                400,
                None,
                AgentState::LoggedOut,
                Some("End of shift".to_string())
            )]
        );
        assert!(timeline(&store, &p, Some("other"), None, range(0, 600))
            .await
            .is_empty());
        let latest = store.latest_states(&p).await.unwrap();
        assert_eq!(latest[0].reason_label.as_deref(), Some("End of shift"));
    }
);

store_test!(gaps_round_trip, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let mut b = live("cti", vec![ev("a", 0, AgentState::Ready, None)]);
    b.gaps.push(FeedGap {
        from: T0 + Duration::seconds(100),
        to: None,
        reason: "reconnect".into(),
    });
    b.gaps.push(FeedGap {
        from: T0 + Duration::seconds(10),
        to: Some(T0 + Duration::seconds(20)),
        reason: "peripheral offline".into(),
    });
    apply(&store, &p, &b, "k1").await;
    let gaps = store.feed_gaps(&p, None, range(0, 1000)).await.unwrap();
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[0].reason, "peripheral offline");
    assert_eq!(gaps[1].to, None);
    // The open gap is closed by a later one with the same start.
    let mut close = live("cti", Vec::new());
    close.gaps.push(FeedGap {
        from: T0 + Duration::seconds(100),
        to: Some(T0 + Duration::seconds(130)),
        reason: "reconnect".into(),
    });
    apply(&store, &p, &close, "k2").await;
    let gaps = store
        .feed_gaps(&p, Some("cti"), range(120, 1000))
        .await
        .unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].from, T0 + Duration::seconds(100));
    assert_eq!(gaps[0].to, Some(T0 + Duration::seconds(130)));
    assert!(store
        .feed_gaps(&p, None, range(130, 1000))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .feed_gaps(&p, Some("uccx"), range(0, 1000))
        .await
        .unwrap()
        .is_empty());
});

// A 400-agent site: one day as one history batch (~40k events), then live batches of 500.
store_test!(a_site_day_and_live_batches, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let states = [
        AgentState::Ready,
        AgentState::Reserved,
        AgentState::Talking,
        AgentState::Work,
        AgentState::NotReady,
    ];
    let mut events = Vec::with_capacity(40_000);
    for agent in 0..400 {
        for n in 0..100i64 {
            let state = states[(n as usize + agent) % states.len()];
            let reason = (state == AgentState::NotReady).then_some(10);
            events.push(ev(
                &format!("{}", 5000 + agent),
                n * 800 + agent as i64,
                state,
                reason,
            ));
        }
    }
    let day = StateBatch {
        source: "uccx".into(),
        window: Some(range(0, 86_400)),
        events,
        gaps: Vec::new(),
    };
    let started = std::time::Instant::now();
    let r = apply(&store, &p, &day, "day").await;
    let first = started.elapsed();
    assert_eq!(r, counts(40_000, 0, 0, 40_000));
    let started = std::time::Instant::now();
    let r = apply(&store, &p, &day, "day-again").await;
    let again = started.elapsed();
    assert_eq!(r, counts(0, 40_000, 0, 0));
    let mut corrected = day.clone();
    corrected.events.pop();
    let started = std::time::Instant::now();
    let r = apply(&store, &p, &corrected, "day-corrected").await;
    let replaced = started.elapsed();
    assert_eq!(r, counts(0, 39_999, 1, 0));
    let mut live_times = Vec::new();
    for batch in 0..10i64 {
        let events = (0..500)
            .map(|i| {
                ev(
                    &format!("{}", 5000 + i % 400),
                    86_400 + batch * 10 + i / 50,
                    AgentState::Ready,
                    None,
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let r = apply(&store, &p, &live("cti", events), &format!("live-{batch}")).await;
        live_times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.accepted, 500);
    }
    let started = std::time::Instant::now();
    let segments = store
        .state_segments(&p, None, None, range(0, 86_400))
        .await
        .unwrap();
    let read = started.elapsed();
    assert_eq!(segments.len(), 39_999);
    let started = std::time::Instant::now();
    let latest = store.latest_states(&p).await.unwrap();
    let latest_time = started.elapsed();
    assert_eq!(latest.len(), 800);
    live_times.sort_by(f64::total_cmp);
    eprintln!(
        "{}: history day 40k {:?}, resend {:?}, correction {:?}; live 500: median {:.1} ms, \
         max {:.1} ms; segments of the day {:?}; latest states {:?}",
        store.backend(),
        first,
        again,
        replaced,
        live_times[live_times.len() / 2],
        live_times[live_times.len() - 1],
        read,
        latest_time
    );
});

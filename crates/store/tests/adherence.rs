//! The adherence store: schedules (replace a range per agent, overlap reads), activity
//! definitions and rules, authorized exceptions. Every scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use std::time::Duration as StdDuration;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_adherence::{
    Activity, ActivityKind, AuthorizedException, Rule, RuleBook, ScheduledActivity, Status,
};
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::AgentState;
use wfm_store::{ScheduleReplaced, Store, StoreError};

const DAY: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);

fn at(hour: i64, minute: i64) -> OffsetDateTime {
    DAY + Duration::minutes(hour * 60 + minute)
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

store_test!(
    schedules_replace_one_agent_day_and_keep_the_others,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let day = range(DAY, at(24, 0));
        let first = vec![
            entry("5001", "phone", at(9, 0), at(17, 0)),
            entry("5001", "lunch", at(12, 0), at(13, 0)),
            entry("5002", "phone", at(22, 0), at(30, 0)),
        ];
        let agents = vec!["5001".to_string(), "5002".to_string()];
        let done = store
            .replace_schedule(&p, &agents, day, &first)
            .await
            .unwrap();
        assert_eq!(
            done,
            ScheduleReplaced {
                removed: 0,
                inserted: 3
            }
        );

        // Replacing 5001's day leaves 5002 alone.
        let second = vec![entry("5001", "training", at(8, 0), at(12, 0))];
        let only = vec!["5001".to_string()];
        let done = store
            .replace_schedule(&p, &only, day, &second)
            .await
            .unwrap();
        assert_eq!(
            done,
            ScheduleReplaced {
                removed: 2,
                inserted: 1
            }
        );

        let all = store.schedule(&p, None, day).await.unwrap();
        assert_eq!(
            all,
            vec![
                entry("5001", "training", at(8, 0), at(12, 0)),
                entry("5002", "phone", at(22, 0), at(30, 0)),
            ]
        );
        // Overlap reads: the night shift is found from the next day too.
        let next = store
            .schedule(&p, Some(&["5002".to_string()]), range(at(24, 0), at(48, 0)))
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        // Another project sees nothing; an unknown project is an error.
        let other = setup(&store, "other").await;
        assert!(store.schedule(&other, None, day).await.unwrap().is_empty());
        let missing = project("missing");
        let err = store
            .replace_schedule(&missing, &only, day, &second)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UnknownProject(_)), "{err:?}");
    }
);

store_test!(
    entries_with_the_same_start_keep_their_order,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let entries = vec![
            entry("5001", "phone", at(9, 0), at(10, 0)),
            entry("5001", "meeting", at(9, 0), at(9, 30)),
        ];
        let agents = vec!["5001".to_string()];
        store
            .replace_schedule(&p, &agents, range(DAY, at(24, 0)), &entries)
            .await
            .unwrap();
        let read = store
            .schedule(&p, None, range(DAY, at(24, 0)))
            .await
            .unwrap();
        assert_eq!(read, entries);
    }
);

store_test!(rules_replace_and_read_back, |store: Store| async move {
    let p = setup(&store, "acme").await;
    assert_eq!(
        store.adherence_rules(&p).await.unwrap(),
        RuleBook::default()
    );
    let book = RuleBook {
        activities: vec![
            Activity::new("lunch", ActivityKind::Lunch),
            Activity::new("phone", ActivityKind::Open)
                .with_tolerances(StdDuration::from_secs(180), StdDuration::from_secs(120)),
        ],
        rules: vec![
            Rule {
                activity: Some("phone".into()),
                state: AgentState::NotReady,
                reason_code: Some(12),
                status: Status::In,
            },
            Rule {
                activity: None,
                state: AgentState::BusyOther,
                reason_code: None,
                status: Status::Out,
            },
        ],
    };
    store.put_adherence_rules(&p, &book).await.unwrap();
    assert_eq!(store.adherence_rules(&p).await.unwrap(), book);
    let smaller = RuleBook {
        activities: vec![Activity::new("phone", ActivityKind::Open)],
        rules: Vec::new(),
    };
    store.put_adherence_rules(&p, &smaller).await.unwrap();
    assert_eq!(store.adherence_rules(&p).await.unwrap(), smaller);
});

store_test!(exceptions_are_found_by_overlap, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let exception = AuthorizedException {
        agent: "5001".into(),
        start: at(10, 0),
        end: at(11, 0),
        note: "coaching".into(),
    };
    let id = store
        .add_adherence_exception(&p, &exception, at(12, 0))
        .await
        .unwrap();
    let found = store
        .adherence_exceptions(
            &p,
            Some(&["5001".to_string()]),
            range(at(10, 59), at(12, 0)),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].id.as_str(), &found[0].exception),
        (id.as_str(), &exception)
    );
    let none = store
        .adherence_exceptions(&p, None, range(at(11, 0), at(12, 0)))
        .await
        .unwrap();
    assert!(none.is_empty());
    let other = store
        .adherence_exceptions(&p, Some(&["5002".to_string()]), range(DAY, at(24, 0)))
        .await
        .unwrap();
    assert!(other.is_empty());
});

//! The queue-interval store: every scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_model::ProjectId;
use wfm_protocol::intervals::{
    IntervalBatch, IntervalBatchResponse, IntervalFigures, IntervalOrigin, IntervalRow, QueueInfo,
    TimeRange,
};
use wfm_store::{IntervalOutcome, Store};

const DAY: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);

fn figures(seed: u64) -> IntervalFigures {
    IntervalFigures {
        presented: 10 + seed,
        handled: 8 + seed,
        abandoned: 2,
        talk_ms: 1_000 * (seed + 1),
        hold_ms: 50,
        work_ms: 300,
        answer_wait_ms: 4_000,
        answered_within_sl: 7,
        abandoned_within_sl: 1,
        longest_wait_ms: 9_000 + seed,
        ..IntervalFigures::default()
    }
}

/// A batch of `source` for `[from, from + hours)` with `queues` queues and a row for every
/// quarter-hour of every queue.
fn batch(source: &str, from: OffsetDateTime, hours: i64, queues: usize) -> IntervalBatch {
    let to = from + Duration::hours(hours);
    let queue_infos: Vec<QueueInfo> = (0..queues)
        .map(|q| QueueInfo {
            id: format!("q{q:02}"),
            name: format!("Queue {q}"),
        })
        .collect();
    let mut rows = Vec::new();
    let mut start = from;
    let mut n = 0u64;
    while start < to {
        for q in &queue_infos {
            rows.push(IntervalRow {
                queue: q.id.clone(),
                start,
                figures: figures(n % 7),
            });
            n += 1;
        }
        start += Duration::minutes(15);
    }
    IntervalBatch {
        source: source.to_string(),
        interval_minutes: 15,
        time_zone: "Europe/Berlin".to_string(),
        origin: IntervalOrigin::UccxLegs,
        window: TimeRange { from, to },
        queues: queue_infos,
        rows,
    }
}

async fn apply(store: &Store, p: &ProjectId, b: &IntervalBatch, key: &str) -> IntervalOutcome {
    let hash = format!("hash-{}", serde_json::to_string(b).unwrap().len());
    let hash = format!(
        "{hash}-{}",
        b.rows.iter().map(|r| r.figures.presented).sum::<u64>()
    );
    store
        .apply_interval_batch(p, b, key, &hash, DAY)
        .await
        .unwrap()
}

fn applied(o: IntervalOutcome) -> IntervalBatchResponse {
    match o {
        IntervalOutcome::Applied(r) => r,
        other => panic!("expected Applied, got {other:?}"),
    }
}

fn range(from: OffsetDateTime, to: OffsetDateTime) -> TimeRange {
    TimeRange { from, to }
}

store_test!(
    apply_then_query_returns_every_row,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let b = batch("uccx", DAY, 2, 3);
        let r = applied(apply(&store, &p, &b, "k1").await);
        assert_eq!(
            r,
            IntervalBatchResponse {
                inserted: 24,
                updated: 0,
                unchanged: 0,
                removed: 0,
                new_queues: 3
            }
        );
        let rows = store
            .query_intervals(&p, None, None, b.window)
            .await
            .unwrap();
        assert_eq!(rows.len(), 24);
        for (got, want) in rows.iter().zip(&b.rows) {
            assert_eq!(
                (got.queue.as_str(), got.start),
                (want.queue.as_str(), want.start)
            );
            assert_eq!(got.figures, want.figures);
            assert_eq!(got.version, 0);
            assert_eq!(got.source, "uccx");
            assert_eq!(got.interval_minutes, 15);
        }
        assert_eq!(rows[1].queue_name, "Queue 1");
        let only = store
            .query_intervals(&p, Some("uccx"), Some(&["q02".to_string()]), b.window)
            .await
            .unwrap();
        assert_eq!(only.len(), 8);
        assert!(only.iter().all(|r| r.queue == "q02"));
        let none = store
            .query_intervals(&p, Some("other"), None, b.window)
            .await
            .unwrap();
        assert!(none.is_empty());
        let queues = store.queues(&p).await.unwrap();
        assert_eq!(queues.len(), 3);
        assert_eq!(
            queues[0].newest_interval,
            Some(DAY + Duration::minutes(105))
        );
        let newest = store.newest_intervals(&p).await.unwrap();
        assert_eq!(newest.len(), 3);
        assert_eq!(newest[2].queue, "q02");
        // Another project sees nothing.
        let other = setup(&store, "other").await;
        assert!(store.queues(&other).await.unwrap().is_empty());
        assert!(store
            .query_intervals(&other, None, None, b.window)
            .await
            .unwrap()
            .is_empty());
    }
);

store_test!(
    reapply_changes_and_removals_are_counted_and_versioned,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut b = batch("uccx", DAY, 1, 2);
        applied(apply(&store, &p, &b, "k1").await);
        let same = applied(apply(&store, &p, &b, "k2").await);
        assert_eq!(
            (same.inserted, same.updated, same.unchanged, same.removed),
            (0, 0, 8, 0)
        );
        b.rows[0].figures.handled += 1;
        let removed = b.rows.pop().unwrap();
        b.queues[0].name = "Renamed".into();
        let changed = applied(apply(&store, &p, &b, "k3").await);
        assert_eq!(
            (
                changed.inserted,
                changed.updated,
                changed.unchanged,
                changed.removed,
                changed.new_queues
            ),
            (0, 1, 6, 1, 0)
        );
        let rows = store
            .query_intervals(&p, None, None, b.window)
            .await
            .unwrap();
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[0].version, 1);
        assert_eq!(rows[0].figures, b.rows[0].figures);
        assert_eq!(rows[0].queue_name, "Renamed");
        assert!(rows[1..].iter().all(|r| r.version == 0));
        assert!(!rows
            .iter()
            .any(|r| r.queue == removed.queue && r.start == removed.start));
        let queues = store.queues(&p).await.unwrap();
        assert_eq!(queues.len(), 2);
        assert_eq!(queues[0].name, "Renamed");
        // Changed again: version 2.
        b.rows[0].figures.handled += 1;
        applied(apply(&store, &p, &b, "k4").await);
        let rows = store
            .query_intervals(&p, None, None, b.window)
            .await
            .unwrap();
        assert_eq!(rows[0].version, 2);
    }
);

store_test!(
    replayed_key_answers_the_stored_response,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let b = batch("uccx", DAY, 1, 2);
        let first = applied(apply(&store, &p, &b, "k1").await);
        match apply(&store, &p, &b, "k1").await {
            IntervalOutcome::Replay(r) => assert_eq!(r, first),
            other => panic!("expected a replay, got {other:?}"),
        }
        let mut other = b.clone();
        other.rows[0].figures.presented += 100;
        let err = store
            .apply_interval_batch(&p, &other, "k1", "another-hash", DAY)
            .await
            .unwrap_err();
        assert!(matches!(err, wfm_store::StoreError::IdempotencyConflict));
    }
);

store_test!(
    invalid_batches_are_rejected_and_store_nothing,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let good = batch("uccx", DAY, 1, 2);
        let mut misaligned = good.clone();
        misaligned.rows[3].start += Duration::minutes(7);
        let mut outside = good.clone();
        outside.rows[0].start = DAY - Duration::minutes(15);
        let mut duplicate = good.clone();
        duplicate.rows[1].queue = duplicate.rows[0].queue.clone();
        let mut unknown = good.clone();
        unknown.rows[0].queue = "nope".into();
        let mut length = good.clone();
        length.interval_minutes = 20;
        let mut window = good.clone();
        window.window.to += Duration::minutes(5);
        let cases = [
            (
                misaligned,
                "row 4: start 2026-03-02T00:22:00Z is not a multiple of 15 minutes",
            ),
            (
                outside,
                "row 1: start 2026-03-01T23:45:00Z is outside the window",
            ),
            (
                duplicate,
                "row 2: queue q00 at 2026-03-02T00:00:00Z appears more than once",
            ),
            (unknown, "row 1: queue nope is not listed in queues"),
            (length, "interval_minutes is 20"),
            (
                window,
                "window.to 2026-03-02T01:05:00Z is not a multiple of 15 minutes",
            ),
        ];
        for (i, (b, expected)) in cases.iter().enumerate() {
            match apply(&store, &p, b, &format!("bad{i}")).await {
                IntervalOutcome::Rejected(problems) => assert!(
                    problems.iter().any(|m| m.starts_with(expected)),
                    "{expected}: {problems:?}"
                ),
                other => panic!("{expected}: expected a rejection, got {other:?}"),
            }
        }
        assert!(store.queues(&p).await.unwrap().is_empty());
        let missing = store.missing_ranges(&p, "uccx", good.window).await.unwrap();
        assert_eq!(missing, vec![good.window]);
        // The interval length of a known queue cannot change.
        applied(apply(&store, &p, &good, "k1").await);
        let mut thirty = batch("uccx", DAY + Duration::hours(1), 1, 2);
        thirty.interval_minutes = 30;
        thirty.rows.retain(|r| r.start.minute() % 30 == 0);
        match apply(&store, &p, &thirty, "k2").await {
            IntervalOutcome::Rejected(problems) => {
                assert!(problems[0].contains("queue q00"), "{problems:?}");
                assert!(problems[0].contains("15-minute"), "{problems:?}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        let rows = store
            .query_intervals(&p, None, None, range(DAY, DAY + Duration::hours(3)))
            .await
            .unwrap();
        assert_eq!(rows.len(), 8);
    }
);

store_test!(
    missing_ranges_after_two_disjoint_batches,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        applied(apply(&store, &p, &batch("uccx", DAY, 2, 1), "k1").await);
        applied(
            apply(
                &store,
                &p,
                &batch("uccx", DAY + Duration::hours(5), 1, 1),
                "k2",
            )
            .await,
        );
        let asked = range(DAY - Duration::hours(1), DAY + Duration::hours(8));
        let missing = store.missing_ranges(&p, "uccx", asked).await.unwrap();
        assert_eq!(
            missing,
            vec![
                range(DAY - Duration::hours(1), DAY),
                range(DAY + Duration::hours(2), DAY + Duration::hours(5)),
                range(DAY + Duration::hours(6), DAY + Duration::hours(8)),
            ]
        );
        // Filling the gap merges the coverage into one range.
        applied(
            apply(
                &store,
                &p,
                &batch("uccx", DAY + Duration::hours(2), 3, 1),
                "k3",
            )
            .await,
        );
        let missing = store
            .missing_ranges(&p, "uccx", range(DAY, DAY + Duration::hours(6)))
            .await
            .unwrap();
        assert!(missing.is_empty(), "{missing:?}");
        // An empty batch covers its window too (no calls), and other sources are separate.
        let mut empty = batch("uccx", DAY + Duration::hours(6), 1, 1);
        empty.rows.clear();
        applied(apply(&store, &p, &empty, "k4").await);
        let missing = store
            .missing_ranges(&p, "uccx", range(DAY, DAY + Duration::hours(8)))
            .await
            .unwrap();
        assert_eq!(
            missing,
            vec![range(DAY + Duration::hours(7), DAY + Duration::hours(8))]
        );
        let other = store
            .missing_ranges(&p, "ucce", range(DAY, DAY + Duration::hours(1)))
            .await
            .unwrap();
        assert_eq!(other.len(), 1);
    }
);

store_test!(
    a_full_day_of_twelve_queues_inserts_compares_and_updates_every_row,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut timings = Vec::new();
        for day in 0..3i64 {
            let b = batch("uccx", DAY + Duration::days(day), 24, 12);
            assert_eq!(b.rows.len(), 1152);
            let started = std::time::Instant::now();
            let r = applied(apply(&store, &p, &b, &format!("day{day}")).await);
            timings.push(started.elapsed());
            assert_eq!(r.inserted, 1152);
        }
        let b = batch("uccx", DAY, 24, 12);
        let started = std::time::Instant::now();
        let r = applied(apply(&store, &p, &b, "again").await);
        let unchanged = started.elapsed();
        assert_eq!(r.unchanged, 1152);
        let mut changed = b.clone();
        for row in &mut changed.rows {
            row.figures.handled += 1;
        }
        let started = std::time::Instant::now();
        let r = applied(apply(&store, &p, &changed, "changed").await);
        let all_changed = started.elapsed();
        assert_eq!(r.updated, 1152);
        eprintln!(
            "{} batch of 1152 rows: new {:?}, unchanged {unchanged:?}, all changed {all_changed:?}",
            store.backend(),
            timings
        );
    }
);

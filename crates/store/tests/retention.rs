//! Retention on SQLite and PostgreSQL: the purge removes each kind's rows older than the
//! cutoff and keeps newer ones and other projects' rows, a project override beats the default
//! (and `None` restores it), `forever` keeps everything, a dry run counts without removing,
//! purges larger than a chunk remove every row, coverage before the cutoff is merged so that
//! no covered time turns missing, and every purge is audited with a verifiable chain.

mod common;

use common::*;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_store::retention::{Keep, PurgeOptions, RetentionKind, RetentionPolicy};
use wfm_store::testing::{count, exec};
use wfm_store::{AuditFilter, Db, Store, StoreError};

const DAY_MS: i64 = 86_400_000;

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-06-01 00:00:00 UTC)
}

fn now_ms() -> i64 {
    wfm_store::to_ms(now())
}

/// RFC 3339 text `days` before [`now`] (the store's stamp format).
fn stamp(days: i64) -> String {
    let t = now() - time::Duration::days(days);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&format).unwrap()
}

fn days(n: u64) -> Keep {
    Keep::For(Duration::from_secs(n * 86_400))
}

fn options(dry_run: bool) -> PurgeOptions {
    PurgeOptions {
        dry_run,
        chunk_rows: 10_000,
        principal: "test".into(),
        source: "test".into(),
        audit_empty: false,
    }
}

/// Rows of `table` in project `p` (by `project_id`, or through `sync_runs` for changes).
async fn rows(store: &Store, table: &str, p: &str) -> i64 {
    let sql = if table == "sync_run_changes" {
        format!(
            "SELECT COUNT(*) FROM sync_run_changes WHERE run_id IN \
             (SELECT id FROM sync_runs WHERE project_id = '{p}')"
        )
    } else {
        format!("SELECT COUNT(*) FROM {table} WHERE project_id = '{p}'")
    };
    count(store, &sql).await
}

async fn event(store: &Store, p: &str, agent: &str, age_days: i64) {
    let at = now_ms() - age_days * DAY_MS;
    exec(
        store,
        &format!(
            "INSERT INTO agent_state_events (project_id, source, agent, at_ms, state, reason_code, \
             raw, unknown_agent, received_at) VALUES ('{p}', 'cti', '{agent}', {at}, 'READY', NULL, \
             '{{}}', FALSE, '{}')",
            stamp(age_days)
        ),
    )
    .await;
}

async fn interval(store: &Store, p: &str, age_days: i64) {
    let start = now_ms() - age_days * DAY_MS;
    exec(
        store,
        &format!(
            "INSERT INTO intervals (project_id, source, queue_id, start_ms, interval_minutes, \
             presented, handled, handled_without_talk, abandoned, aborted, dequeued, \
             handled_by_script, handled_by_other_queue, talk_ms, hold_ms, work_ms, answer_wait_ms, \
             queue_time_ms, queued, answered_within_sl, abandoned_within_sl, longest_wait_ms, \
             longest_answer_wait_ms, longest_abandon_wait_ms, version, updated_at) VALUES \
             ('{p}', 'uccx', 'q1', {start}, 30, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
             0, 0, 0, '{}')",
            stamp(age_days)
        ),
    )
    .await;
}

async fn run(store: &Store, p: &str, id: &str, age_days: i64, changes: i64) {
    let s = stamp(age_days);
    // `seq` is an identity column on PostgreSQL and a plain one on SQLite.
    let (cols, vals) = match store.db() {
        Db::Sqlite(_) => (
            "id, project_id, seq,",
            format!("'{id}', '{p}', {age_days},"),
        ),
        Db::Postgres(_) => ("id, project_id,", format!("'{id}', '{p}',")),
    };
    exec(
        store,
        &format!(
            "INSERT INTO sync_runs ({cols} source, started_at, finished_at, result, summary, \
             reason, warnings, change_count) VALUES ({vals} 'uccx', '{s}', '{s}', 'applied', \
             '{{}}', NULL, '[]', {changes})"
        ),
    )
    .await;
    for seq in 0..changes {
        exec(
            store,
            &format!(
                "INSERT INTO sync_run_changes (run_id, seq, change) VALUES ('{id}', {seq}, \
                 '{{\"user\":\"alice@example.com\"}}')"
            ),
        )
        .await;
    }
}

/// One project's data: for every kind rows 100 days old and rows 1 day old.
async fn seed(store: &Store, p: &str) {
    // a1 has only old events (it leaves state_agents), a2 old and new ones (it stays).
    for (agent, first_seen) in [("a1", 200), ("a2", 200)] {
        exec(
            store,
            &format!(
                "INSERT INTO state_agents (project_id, source, agent, first_seen) \
                 VALUES ('{p}', 'cti', '{agent}', '{}')",
                stamp(first_seen)
            ),
        )
        .await;
    }
    event(store, p, "a1", 100).await;
    event(store, p, "a1", 99).await;
    event(store, p, "a2", 100).await;
    event(store, p, "a2", 1).await;
    let gap = |from: i64, to: Option<i64>| {
        let to = to.map_or("NULL".to_string(), |d| (now_ms() - d * DAY_MS).to_string());
        format!(
            "INSERT INTO feed_gaps (project_id, source, from_ms, to_ms, reason, received_at) \
             VALUES ('{p}', 'cti', {}, {to}, 'lost', '{}')",
            now_ms() - from * DAY_MS,
            stamp(1)
        )
    };
    exec(store, &gap(101, Some(100))).await; // closed, old: removed
    exec(store, &gap(2, Some(1))).await; // new: kept
    exec(store, &gap(120, None)).await; // still open: kept
    interval(store, p, 100).await;
    interval(store, p, 1).await;
    for (from, to) in [(110, 105), (100, 95), (2, 1)] {
        exec(
            store,
            &format!(
                "INSERT INTO interval_coverage (project_id, source, from_ms, to_ms) \
                 VALUES ('{p}', 'uccx', {}, {})",
                now_ms() - from * DAY_MS,
                now_ms() - to * DAY_MS
            ),
        )
        .await;
    }
    run(store, p, &format!("{p}-old"), 100, 3).await;
    run(store, p, &format!("{p}-new"), 1, 2).await;
    for (key, age) in [("k-old", 100), ("k-new", 1)] {
        exec(
            store,
            &format!(
                "INSERT INTO idempotency_keys (project_id, key, request_hash, status, body, \
                 created_at) VALUES ('{p}', '{key}', 'h', 200, '{{}}', '{}')",
                stamp(age)
            ),
        )
        .await;
    }
    for (age, position) in [(100, 0), (1, 1)] {
        let (start, end) = (now_ms() - age * DAY_MS, now_ms() - age * DAY_MS + 3_600_000);
        exec(
            store,
            &format!(
                "INSERT INTO schedules (project_id, agent, activity, start_ms, end_ms, position) \
                 VALUES ('{p}', 'a1', 'work', {start}, {end}, {position})"
            ),
        )
        .await;
        exec(
            store,
            &format!(
                "INSERT INTO adherence_exceptions (project_id, id, agent, start_ms, end_ms, note, \
                 created_at) VALUES ('{p}', 'x{age}', 'a1', {start}, {end}, 'doctor', '{}')",
                stamp(age)
            ),
        )
        .await;
    }
}

/// `(table, rows)` of one project, in a fixed order.
async fn census(store: &Store, p: &str) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "agent_state_events",
        "feed_gaps",
        "state_agents",
        "intervals",
        "interval_coverage",
        "sync_runs",
        "sync_run_changes",
        "idempotency_keys",
        "schedules",
        "adherence_exceptions",
    ] {
        out.push((table, rows(store, table, p).await));
    }
    out
}

const SEEDED: [(&str, i64); 10] = [
    ("agent_state_events", 4),
    ("feed_gaps", 3),
    ("state_agents", 2),
    ("intervals", 2),
    ("interval_coverage", 3),
    ("sync_runs", 2),
    ("sync_run_changes", 5),
    ("idempotency_keys", 2),
    ("schedules", 2),
    ("adherence_exceptions", 2),
];

const AFTER_30D: [(&str, i64); 10] = [
    ("agent_state_events", 1),
    ("feed_gaps", 2),
    ("state_agents", 1),
    ("intervals", 1),
    ("interval_coverage", 2),
    ("sync_runs", 1),
    ("sync_run_changes", 2),
    ("idempotency_keys", 1),
    ("schedules", 1),
    ("adherence_exceptions", 1),
];

async fn two_projects(store: &Store) -> (ProjectId, ProjectId) {
    let acme = setup(store, "acme").await;
    let other = setup(store, "other").await;
    seed(store, "acme").await;
    seed(store, "other").await;
    (acme, other)
}

store_test!(
    old_rows_of_every_kind_are_removed_newer_ones_and_other_projects_kept,
    |store: Store| async move {
        let (acme, _) = two_projects(&store).await;
        let report = store
            .purge_retention(
                &acme,
                &RetentionPolicy::uniform(days(30)),
                now(),
                &options(false),
            )
            .await
            .unwrap();
        assert_eq!(census(&store, "acme").await, AFTER_30D.to_vec());
        assert_eq!(
            census(&store, "other").await,
            SEEDED.to_vec(),
            "other project untouched"
        );
        let table = |kind: RetentionKind| {
            report
                .kinds
                .iter()
                .find(|k| k.kind == kind)
                .unwrap()
                .tables
                .clone()
        };
        assert_eq!(
            table(RetentionKind::AgentStates),
            vec![
                ("agent_state_events", 3),
                ("feed_gaps", 1),
                ("state_agents", 1)
            ]
        );
        assert_eq!(
            table(RetentionKind::Intervals),
            vec![("intervals", 1), ("interval_coverage", 1)]
        );
        assert_eq!(
            table(RetentionKind::SyncRuns),
            vec![("sync_run_changes", 3), ("sync_runs", 1)]
        );
        assert_eq!(report.removed(), 14);
        // The audit entry names the project, the kinds, the cutoffs and the counts; the chain holds.
        let entries = store
            .audit_entries(&AuditFilter {
                action: Some("retention.purge".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].project.as_deref(), Some("acme"));
        assert_eq!(entries[0].outcome, "success");
        let detail = entries[0].detail.clone().unwrap();
        assert!(
            detail.contains("agent_states (30d) before 2026-05-02T00:00:00.000000Z: 5"),
            "{detail}"
        );
        assert!(detail.contains("agent_state_events 3"), "{detail}");
        assert!(detail.contains("sync_run_changes 3"), "{detail}");
        assert_eq!(store.verify_audit().await.unwrap().problem, None);
        // A second purge finds nothing and records nothing (the job's options).
        let again = store
            .purge_retention(
                &acme,
                &RetentionPolicy::uniform(days(30)),
                now(),
                &options(false),
            )
            .await
            .unwrap();
        assert_eq!(again.removed(), 0);
        let filter = AuditFilter {
            action: Some("retention.purge".into()),
            ..Default::default()
        };
        assert_eq!(store.audit_entries(&filter).await.unwrap().len(), 1);
    }
);

store_test!(
    a_project_override_beats_the_default_until_reset,
    |store: Store| async move {
        let (acme, other) = two_projects(&store).await;
        store
            .set_retention(
                &acme,
                RetentionKind::AgentStates,
                Some(Keep::Forever),
                now(),
            )
            .await
            .unwrap();
        store
            .set_retention(&acme, RetentionKind::SyncRuns, Some(days(200)), now())
            .await
            .unwrap();
        store
            .set_retention(&other, RetentionKind::Intervals, Some(Keep::Forever), now())
            .await
            .unwrap();
        let defaults = RetentionPolicy::uniform(days(30));
        let effective = store.effective_retention(&acme, &defaults).await.unwrap();
        let agent = effective
            .iter()
            .find(|e| e.kind == RetentionKind::AgentStates)
            .unwrap();
        assert_eq!((agent.keep, agent.from_project), (Keep::Forever, true));
        let intervals = effective
            .iter()
            .find(|e| e.kind == RetentionKind::Intervals)
            .unwrap();
        assert_eq!((intervals.keep, intervals.from_project), (days(30), false));
        store
            .purge_retention(&acme, &defaults, now(), &options(false))
            .await
            .unwrap();
        let after = census(&store, "acme").await;
        let get = |t: &str| after.iter().find(|(n, _)| *n == t).unwrap().1;
        assert_eq!(
            get("agent_state_events"),
            4,
            "agent states kept forever by the override"
        );
        assert_eq!(
            get("sync_runs"),
            2,
            "runs are 100 days old: inside the 200d override"
        );
        assert_eq!(
            get("intervals"),
            1,
            "the default (30d) applies to intervals"
        );
        // Back to the default: the next purge removes them.
        store
            .set_retention(&acme, RetentionKind::AgentStates, None, now())
            .await
            .unwrap();
        store
            .set_retention(&acme, RetentionKind::SyncRuns, None, now())
            .await
            .unwrap();
        store
            .purge_retention(&acme, &defaults, now(), &options(false))
            .await
            .unwrap();
        assert_eq!(census(&store, "acme").await, AFTER_30D.to_vec());
        // Unknown projects are refused.
        let ghost = project("ghost");
        let err = store
            .set_retention(&ghost, RetentionKind::Intervals, Some(days(9)), now())
            .await;
        assert!(matches!(err, Err(StoreError::UnknownProject(_))), "{err:?}");
        let err = store
            .purge_retention(&ghost, &defaults, now(), &options(false))
            .await;
        assert!(matches!(err, Err(StoreError::UnknownProject(_))), "{err:?}");
    }
);

store_test!(
    forever_keeps_everything_and_records_nothing,
    |store: Store| async move {
        let (acme, _) = two_projects(&store).await;
        let report = store
            .purge_retention(
                &acme,
                &RetentionPolicy::uniform(Keep::Forever),
                now(),
                &options(false),
            )
            .await
            .unwrap();
        assert_eq!(report.removed(), 0);
        assert!(report.kinds.iter().all(|k| k.cutoff.is_none()));
        assert_eq!(census(&store, "acme").await, SEEDED.to_vec());
        assert!(store
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .is_empty());
    }
);

store_test!(
    a_dry_run_counts_what_a_purge_removes_and_removes_nothing,
    |store: Store| async move {
        let (acme, _) = two_projects(&store).await;
        let policy = RetentionPolicy::uniform(days(30));
        let mut dry = options(true);
        dry.audit_empty = true;
        let counted = store
            .purge_retention(&acme, &policy, now(), &dry)
            .await
            .unwrap();
        assert_eq!(census(&store, "acme").await, SEEDED.to_vec());
        let filter = AuditFilter {
            action: Some("retention.dry_run".into()),
            ..Default::default()
        };
        assert_eq!(store.audit_entries(&filter).await.unwrap().len(), 1);
        let removed = store
            .purge_retention(&acme, &policy, now(), &options(false))
            .await
            .unwrap();
        assert_eq!(
            counted.kinds, removed.kinds,
            "the dry run counts exactly what is removed"
        );
        assert_eq!(removed.removed(), 14);
    }
);

store_test!(
    a_purge_of_more_rows_than_a_chunk_removes_them_all,
    |store: Store| async move {
        let acme = setup(&store, "acme").await;
        exec(
            &store,
            &format!(
                "INSERT INTO state_agents (project_id, source, agent, first_seen) VALUES \
         ('acme', 'cti', 'a1', '{}'), ('acme', 'cti2', 'a1', '{}')",
                stamp(300),
                stamp(300)
            ),
        )
        .await;
        // 10,500 old events over two sources, and 7 new ones.
        let base = now_ms() - 100 * DAY_MS;
        for (source, n) in [("cti", 6_000), ("cti2", 4_500)] {
            exec(
                &store,
                &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO agent_state_events (project_id, source, agent, at_ms, state, reason_code, \
             raw, unknown_agent, received_at) SELECT 'acme', '{source}', 'a1', {base} - i * 1000, \
             'READY', NULL, '{{}}', FALSE, '{}' FROM n", stamp(100)),
            )
            .await;
        }
        for i in 0..7 {
            event(&store, "acme", "a1", i).await;
        }
        let mut opts = options(false);
        opts.chunk_rows = 1_000;
        let report = store
            .purge_retention(&acme, &RetentionPolicy::uniform(days(90)), now(), &opts)
            .await
            .unwrap();
        let states = report
            .kinds
            .iter()
            .find(|k| k.kind == RetentionKind::AgentStates)
            .unwrap();
        assert_eq!(states.tables[0], ("agent_state_events", 10_500));
        assert_eq!(rows(&store, "agent_state_events", "acme").await, 7);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM agent_state_events WHERE source = 'cti2'"
            )
            .await,
            0
        );
    }
);

store_test!(
    coverage_before_the_cutoff_is_merged_so_no_covered_time_turns_missing,
    |store: Store| async move {
        let (acme, _) = two_projects(&store).await;
        let range = TimeRange {
            from: now() - time::Duration::days(120),
            to: now(),
        };
        let before = store.missing_ranges(&acme, "uccx", range).await.unwrap();
        store
            .purge_retention(
                &acme,
                &RetentionPolicy::uniform(days(30)),
                now(),
                &options(false),
            )
            .await
            .unwrap();
        let after = store.missing_ranges(&acme, "uccx", range).await.unwrap();
        // Before: [120d, 110d), the gap [105d, 100d) between the old ranges, [95d, 2d), [1d, now).
        assert_eq!(before.len(), 4, "{before:?}");
        // After: the old ranges are one, so the gap between them is no longer reported; the rest
        // is unchanged (time never covered stays missing).
        assert_eq!(after, vec![before[0], before[2], before[3]]);
        // The intervals of the queue after the cutoff are still served.
        let served = store
            .query_intervals(&acme, None, None, range)
            .await
            .unwrap();
        assert_eq!(served.len(), 1);
    }
);

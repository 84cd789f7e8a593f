//! Measures the retention purge of 1,000,000 agent-state rows (plus 100,000 newer rows that
//! stay) on SQLite and on PostgreSQL, with the default chunk of 10,000 rows per statement.
//!
//! ```text
//! cargo run --release -p wfm-store --example retention_purge            # both backends
//! RETENTION_BENCH_ROWS=200000 RETENTION_BENCH_BACKENDS=sqlite cargo run --release …
//! ```
//! PostgreSQL: `WFM_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); a
//! throwaway database is created and dropped.

use std::time::{Duration, Instant};
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_store::retention::{Keep, PurgeOptions, RetentionPolicy, DEFAULT_CHUNK_ROWS};
use wfm_store::testing::exec;
use wfm_store::testing::TestDatabase;
use wfm_store::{Db, Store};

const DAY_MS: i64 = 86_400_000;

/// `rows` events of 200 agents on 2 sources, `age_days` to `age_days + span_days` days old.
async fn insert_events(store: &Store, rows: i64, age_days: i64, span_days: i64) {
    let now = wfm_store::to_ms(OffsetDateTime::now_utc());
    let newest = now - age_days * DAY_MS;
    let step = span_days * DAY_MS / rows.max(1);
    // 100,000 rows per statement keeps each insert short.
    let mut done = 0;
    while done < rows {
        let n = (rows - done).min(100_000);
        let series = match store.db() {
            Db::Sqlite(_) => format!(
                "WITH RECURSIVE s(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM s \
                 WHERE i < {} ) ",
                done + n - 1
            ),
            Db::Postgres(_) => format!(
                "WITH s(i) AS (SELECT generate_series({done}::bigint, {}::bigint)) ",
                done + n - 1
            ),
        };
        exec(
            store,
            &format!(
                "{series}INSERT INTO agent_state_events (project_id, source, agent, at_ms, state, \
                 reason_code, raw, unknown_agent, received_at) SELECT 'bench', \
                 'cti' || (i % 2), 'agent' || (i % 200), {newest} - i * {step}, 'READY', NULL, \
                 '{{\"state\":\"READY\"}}', FALSE, '2026-01-01T00:00:00.000000Z' FROM s"
            ),
        )
        .await;
        done += n;
    }
}

async fn bench(db: TestDatabase, rows: i64) -> Duration {
    let store = Store::open(db.url(), 4).await.unwrap();
    let project = ProjectId::new("bench").unwrap();
    store.ensure_project(&project, None, &[]).await.unwrap();
    exec(
        &store,
        "INSERT INTO state_agents (project_id, source, agent, first_seen) \
         SELECT 'bench', 'cti0', 'agent0', '2026-01-01T00:00:00.000000Z' UNION ALL \
         SELECT 'bench', 'cti1', 'agent1', '2026-01-01T00:00:00.000000Z'",
    )
    .await;
    let t = Instant::now();
    insert_events(&store, rows, 100, 300).await;
    insert_events(&store, rows / 10, 0, 30).await;
    if let Db::Postgres(pool) = store.db() {
        sqlx::query("ANALYZE agent_state_events")
            .execute(pool)
            .await
            .unwrap();
    }
    eprintln!(
        "{}: inserted {} rows in {:.1?}",
        store.backend(),
        rows + rows / 10,
        t.elapsed()
    );
    let mut policy = RetentionPolicy::uniform(Keep::Forever);
    policy.agent_states = Keep::For(Duration::from_secs(90 * 86_400));
    let options = PurgeOptions {
        dry_run: false,
        chunk_rows: DEFAULT_CHUNK_ROWS,
        principal: "bench".into(),
        source: "bench".into(),
        audit_empty: false,
    };
    let t = Instant::now();
    let report = store
        .purge_retention(&project, &policy, OffsetDateTime::now_utc(), &options)
        .await
        .unwrap();
    let took = t.elapsed();
    let removed = report.kinds[0].tables[0].1;
    assert_eq!(removed, rows as u64, "every old row removed");
    println!(
        "{}: purged {removed} agent-state rows in {took:.2?} ({:.0} rows/s, chunk {})",
        store.backend(),
        removed as f64 / took.as_secs_f64(),
        DEFAULT_CHUNK_ROWS
    );
    store.close().await;
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: i64 = std::env::var("RETENTION_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends =
        std::env::var("RETENTION_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in backends.split(',') {
        match backend.trim() {
            "sqlite" => {
                bench(TestDatabase::sqlite(), rows).await;
            }
            "postgres" => {
                bench(TestDatabase::postgres().await, rows).await;
            }
            other => eprintln!("unknown backend '{other}' (sqlite, postgres)"),
        }
    }
}

//! The historical-database reader through unixODBC and psqlODBC against a fresh PostgreSQL
//! database per test (`wfm_store::testing`; `WFM_TEST_POSTGRES_URL` selects the server).
#![cfg(feature = "odbc")]

mod history_fixture;

use std::time::{Duration, Instant};

use history_fixture::*;
use sqlx::{Connection, PgConnection};
use wfm_sources::history::{Dialect, HistoryConnection, HistoryError, HistoryReader};
use wfm_store::testing::TestDatabase;

const TIMEOUT: Duration = Duration::from_secs(10);

/// (host, port, user, database) of a `postgres://user[:pw]@host:port/db` URL.
fn url_parts(url: &str) -> (String, String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (auth, host_db) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = auth.split(':').next().unwrap_or("postgres").to_string();
    let (host_port, db) = host_db.split_once('/').unwrap_or((host_db, "postgres"));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    (host.to_string(), port.to_string(), user, db.to_string())
}

fn odbc_string(url: &str, extra: &str) -> String {
    let (host, port, user, db) = url_parts(url);
    format!("Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={db};Uid={user};Pwd=;CommLog=0;Debug=0;{extra}")
}

async fn fill(db: &TestDatabase, statements: &[String]) {
    let mut conn = PgConnection::connect(db.url())
        .await
        .expect("connect with sqlx");
    for s in statements {
        sqlx::query(s)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    conn.close().await.ok();
}

async fn uccx_db(extra: &[&str]) -> TestDatabase {
    let db = TestDatabase::postgres().await;
    let mut statements = uccx_ddl(Flavor::Postgres);
    statements.extend(uccx_rows().into_iter().map(String::from));
    statements.extend(extra.iter().map(|s| s.to_string()));
    fill(&db, &statements).await;
    db
}

async fn open(db: &TestDatabase, dialect: Dialect, extra: &str) -> HistoryReader {
    let connection_string = odbc_string(db.url(), extra);
    HistoryReader::connect(
        HistoryConnection::Odbc { connection_string },
        dialect,
        TIMEOUT,
    )
    .await
    .expect("connect through psqlODBC")
}

#[tokio::test]
async fn odbc_queue_visits_join_ccd_csq_and_summed_acd_as_documented() {
    let db = uccx_db(&[]).await;
    let reader = open(&db, Dialect::Uccx, "").await;
    assert_eq!(reader.check().await.unwrap().len(), 4);
    let (from, to) = window();
    let rows = reader.queue_visits(from, to).await.unwrap();
    assert_eq!(rows, expected_visits());
    // The kept connection is reused.
    let again = reader.clone().queue_visits(from, to).await.unwrap();
    assert_eq!(again, rows);
    let queues = reader.queues().await.unwrap();
    let summary: Vec<_> = queues
        .iter()
        .map(|q| {
            (
                q.record_id,
                q.queue_id,
                q.name.as_str(),
                q.service_level_s,
                q.active,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 10, "Sales", Some(20), false),
            (2, 10, "Sales", Some(30), true),
            (3, 11, "Support", None, true),
        ]
    );
    db.finish().await;
}

#[tokio::test]
async fn odbc_unknown_csq_recordid_is_an_error_naming_the_row() {
    let db = uccx_db(&[UNKNOWN_CSQ_ROW]).await;
    let reader = open(&db, Dialect::Uccx, "").await;
    let (from, to) = window();
    let err = reader.queue_visits(from, to).await.unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::UnknownQueue {
                session: Some(104),
                seq: Some(2),
                target_id: 77
            }
        ),
        "{err:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn odbc_wrong_dialect_is_a_missing_table_suggesting_the_other_dialect() {
    let db = uccx_db(&[]).await;
    let reader = open(&db, Dialect::Ucce, "").await;
    let err = reader.check().await.unwrap_err();
    match &err {
        HistoryError::MissingTable {
            table,
            dialect_hint,
        } => {
            assert_eq!(table, "call_type");
            assert!(dialect_hint.contains("UCCX"), "{dialect_hint}");
        }
        other => panic!("{other:?}"),
    }
    // The connection survives a failed statement.
    let (from, to) = ucce_window();
    let err = reader.call_type_intervals(from, to).await.unwrap_err();
    assert!(
        matches!(err, HistoryError::MissingTable { ref table, .. } if table == "call_type_interval"),
        "{err:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn odbc_ucce_intervals_are_converted_to_utc_with_the_row_time_zone() {
    for with_dequeued in [true, false] {
        let db = TestDatabase::postgres().await;
        let mut statements = ucce_ddl(Flavor::Postgres, with_dequeued);
        statements.extend(ucce_rows(with_dequeued));
        fill(&db, &statements).await;
        let reader = open(&db, Dialect::Ucce, "").await;
        assert_eq!(
            reader.check().await.unwrap(),
            vec!["call_type", "call_type_interval"]
        );
        let queues = reader.queues().await.unwrap();
        assert_eq!(queues[1].name, "CT_Support");
        let (from, to) = ucce_window();
        let rows = reader.call_type_intervals(from, to).await.unwrap();
        check_intervals(&rows, with_dequeued);
        db.finish().await;
    }
}

#[tokio::test]
async fn odbc_unknown_role_is_a_login_error_with_the_driver_message() {
    let db = TestDatabase::postgres().await;
    let (host, port, _, name) = url_parts(db.url());
    let connection_string = format!(
        "Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={name};Uid=no_such_role_wfm;Pwd=secret;CommLog=0;"
    );
    let err = HistoryReader::connect(
        HistoryConnection::Odbc { connection_string },
        Dialect::Uccx,
        TIMEOUT,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::Auth { .. }), "{err:?}");
    assert!(text.contains("no_such_role_wfm"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    db.finish().await;
}

#[tokio::test]
async fn odbc_unknown_database_is_a_connect_error_with_the_driver_message() {
    let admin = wfm_store::testing::postgres_admin_url();
    let url = wfm_store::testing::with_database(&admin, "wfm_no_such_db");
    let err = HistoryReader::connect(
        HistoryConnection::Odbc {
            connection_string: odbc_string(&url, ""),
        },
        Dialect::Uccx,
        TIMEOUT,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            HistoryError::Connect { .. } | HistoryError::Auth { .. }
        ),
        "{err:?}"
    );
    assert!(text.contains("wfm_no_such_db"), "{text}");
}

#[tokio::test]
async fn odbc_unreachable_host_fails_within_the_timeout() {
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = HistoryReader::connect(
        HistoryConnection::Odbc {
            connection_string:
                "Driver={PostgreSQL Unicode};Server=10.255.255.1;Port=5432;Database=x;Uid=u;Pwd=;CommLog=0;"
                    .to_string(),
        },
        Dialect::Uccx,
        timeout,
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, HistoryError::Connect { .. }), "{err:?}");
    assert!(
        elapsed < timeout + Duration::from_millis(1500),
        "took {elapsed:?}"
    );
    assert!(err.to_string().contains("10.255.255.1"), "{err}");
}

/// `n` legs over 24 hours from 2024-03-01, 50 CSQs, one agent connection each.
fn bulk(n: u64) -> Vec<String> {
    let mut s = uccx_ddl(Flavor::Postgres);
    let t0 = "timestamp '2024-03-01 00:00:00'";
    let step = 86_400_000 / n.max(1);
    s.push("INSERT INTO contactservicequeue SELECT g, 100 + g, 'CSQ ' || g, 20, 80, true FROM generate_series(1, 50) g".into());
    s.push(format!(
        "INSERT INTO contactcalldetail SELECT g, 0, 1, 1, 1, 2, {t0} + (g - 1) * interval '{step} ms', \
         {t0} + (g - 1) * interval '{step} ms' + interval '5 minutes' FROM generate_series(1, {n}) g"
    ));
    s.push(format!(
        "INSERT INTO contactqueuedetail SELECT g, 0, 1, 1, 1, 1 + g % 50, 0, \
         {t0} + (g - 1) * interval '{step} ms', 1 + g % 5, 1, g % 100 FROM generate_series(1, {n}) g"
    ));
    s.push(format!(
        "INSERT INTO agentconnectiondetail SELECT g, 0, 1, 1, 500 + g % 100, 1, \
         {t0} + (g - 1) * interval '{step} ms' + interval '20 seconds', \
         {t0} + (g - 1) * interval '{step} ms' + interval '5 minutes', 5, 100 + g % 300, g % 20, 30 \
         FROM generate_series(1, {n}) g"
    ));
    s.push("ANALYZE".into());
    s
}

#[tokio::test]
async fn odbc_server_disconnecting_mid_read_is_disconnected() {
    let db = TestDatabase::postgres().await;
    fill(&db, &bulk(400_000)).await;
    // Declare/fetch: the server sends 5,000 rows per round trip, so the read takes a while and
    // the backend is inside a transaction the whole time.
    let reader = open(&db, Dialect::Uccx, "UseDeclareFetch=1;Fetch=5000;").await;
    let (_, _, _, name) = url_parts(db.url());
    let mut admin = PgConnection::connect(db.url()).await.unwrap();
    let read = tokio::spawn({
        let reader = reader.clone();
        async move {
            reader
                .queue_visits(
                    time::macros::datetime!(2024-03-01 00:00 UTC),
                    time::macros::datetime!(2024-03-02 00:00 UTC),
                )
                .await
        }
    });
    let mut killed = false;
    for _ in 0..5_000 {
        let pids: Vec<(i32,)> = sqlx::query_as(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
             AND state <> 'idle' AND query ILIKE '%contactqueuedetail%'",
        )
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        if let Some((pid,)) = pids.first() {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut admin)
                .await
                .unwrap();
            killed = true;
            break;
        }
        if read.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(killed, "the read finished before it could be interrupted");
    let err = read.await.unwrap().unwrap_err();
    assert!(
        matches!(err, HistoryError::Disconnected { ref table, .. } if table == "contactqueuedetail"),
        "{err:?}"
    );
    assert!(err.to_string().contains("contactqueuedetail"));
    // The next call reconnects.
    let queues = reader.queues().await.unwrap();
    assert_eq!(queues.len(), 50);
    admin.close().await.ok();
    db.finish().await;
}

/// Read speed; `WFM_HISTORY_PERF_ROWS` (default 200,000) legs are written and read back.
#[tokio::test]
async fn odbc_read_speed() {
    let n: u64 = std::env::var("WFM_HISTORY_PERF_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let db = TestDatabase::postgres().await;
    let fill_started = Instant::now();
    fill(&db, &bulk(n)).await;
    eprintln!("filled {n} legs in {:?}", fill_started.elapsed());
    for extra in ["", "UseDeclareFetch=1;Fetch=5000;"] {
        let reader = open(&db, Dialect::Uccx, extra).await;
        let started = Instant::now();
        let rows = reader
            .queue_visits(
                time::macros::datetime!(2024-03-01 00:00 UTC),
                time::macros::datetime!(2024-03-02 00:00 UTC),
            )
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(rows.len() as u64, n);
        assert!(rows
            .iter()
            .all(|r| r.talk_time_s.is_some() && r.csq_id.is_some()));
        eprintln!(
            "read {} legs in {:?} ({:.0} rows/s) with {extra:?}",
            rows.len(),
            elapsed,
            rows.len() as f64 / elapsed.as_secs_f64()
        );
    }
    db.finish().await;
}

#[tokio::test]
async fn odbc_server_that_never_answers_fails_within_the_timeout() {
    // Accepts TCP connections and never sends a byte: the login must give up on its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = HistoryReader::connect(
        HistoryConnection::Odbc {
            connection_string: format!(
                "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={port};Database=x;Uid=u;Pwd=;CommLog=0;"
            ),
        },
        Dialect::Uccx,
        timeout,
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, HistoryError::Connect { .. }), "{err:?}");
    assert!(
        elapsed < timeout + Duration::from_millis(1500),
        "took {elapsed:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn odbc_agent_states_of_both_dialects_are_read_in_utc_and_time_order() {
    let db = TestDatabase::postgres().await;
    let mut statements = state_ddl(Flavor::Postgres);
    statements.extend(state_rows().into_iter().map(String::from));
    fill(&db, &statements).await;
    let uccx = open(&db, Dialect::Uccx, "").await;
    assert_eq!(uccx.check_states().await.unwrap(), "agentstatedetail");
    let (from, to) = window();
    check_uccx_states(&uccx.agent_states(from, to).await.unwrap());
    let ucce = open(&db, Dialect::Ucce, "").await;
    assert_eq!(ucce.check_states().await.unwrap(), "agent_state_trace");
    let (from, to) = ucce_window();
    check_ucce_states(&ucce.agent_states(from, to).await.unwrap());
    db.finish().await;
}

//! The SQLite flavour: schema, full load, late writing and faults.

mod common;

use sqlx::Row;
use time::macros::datetime;
use wfm_hrdb::{
    connect_sqlite, generate, inject_fault_sqlite, write_sqlite, Fault, HrdbError, HrdbSpec,
};

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("count")
}

#[tokio::test]
async fn full_load_creates_every_table_with_all_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hrdb.sqlite");
    let centre = generate(&common::small_spec()).expect("spec");
    let report = write_sqlite(&centre, &path, None).await.expect("write");
    assert_eq!(report.rows["contactcalldetail"], centre.legs.len() as u64);
    let pool = connect_sqlite(&path).await.expect("open");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactcalldetail").await,
        centre.legs.len() as i64
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactqueuedetail").await,
        centre.queue_rows.len() as i64
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM agentconnectiondetail").await,
        centre.agent_rows.len() as i64
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM agentstatedetail").await,
        centre.states.len() as i64
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM agent_state_trace").await,
        centre.states.len() as i64
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM call_type_interval").await,
        centre.call_type_intervals.len() as i64
    );
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM resource").await, 40);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM call_type").await, 5);
    // The configuration change: two recordids, one logical id, only the new one active.
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactservicequeue WHERE contactservicequeueid = 2"
        )
        .await,
        2
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactservicequeue WHERE contactservicequeueid = 2 AND active = 1").await,
        1
    );
    // Text timestamps in UTC with milliseconds.
    let first: String = sqlx::query("SELECT MIN(startdatetime) FROM contactcalldetail")
        .fetch_one(&pool)
        .await
        .expect("min")
        .get(0);
    assert_eq!(first.len(), 23, "{first}");
    assert!(first.starts_with("2026-01-05 "), "{first}");
    // Every CQD target joins a CSQ version.
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactqueuedetail q LEFT JOIN contactservicequeue c ON c.recordid = q.targetid WHERE c.recordid IS NULL").await,
        0
    );
    pool.close().await;
}

#[tokio::test]
async fn late_rows_appear_on_the_second_write_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hrdb.sqlite");
    let centre = generate(&common::small_spec()).expect("spec");
    let t1 = datetime!(2026-01-06 15:00 UTC);
    let t2 = datetime!(2026-01-06 17:00 UTC);
    write_sqlite(&centre, &path, Some(t1))
        .await
        .expect("write t1");
    let pool = connect_sqlite(&path).await.expect("open");
    let (legs1, cqd1, acd1) = common::expected_history(&centre, t1);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactcalldetail").await,
        legs1
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactqueuedetail").await,
        cqd1
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM agentconnectiondetail").await,
        acd1
    );
    let late = common::late_leg(&centre, t1, t2).expect("a leg ending before t1 written after it");
    let late_sql = format!("SELECT COUNT(*) FROM contactcalldetail WHERE sessionid = {late}");
    assert_eq!(count(&pool, &late_sql).await, 0);
    // Interval rows only for closed intervals.
    // t1 = 10:00 local (UTC-5): the 09:45 interval has just closed, the 10:00 one has not.
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM call_type_interval WHERE datetime = '2026-01-06 09:45:00.000' AND timezone = 300").await,
        5
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM call_type_interval WHERE datetime >= '2026-01-06 10:00:00.000'"
        )
        .await,
        0
    );
    pool.close().await;

    // Same instant again: nothing added.
    let again = write_sqlite(&centre, &path, Some(t1))
        .await
        .expect("write t1 again");
    assert_eq!(again.history_rows(), 0);
    write_sqlite(&centre, &path, Some(t2))
        .await
        .expect("write t2");
    let pool = connect_sqlite(&path).await.expect("open");
    let (legs2, cqd2, acd2) = common::expected_history(&centre, t2);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactcalldetail").await,
        legs2
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactqueuedetail").await,
        cqd2
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM agentconnectiondetail").await,
        acd2
    );
    assert_eq!(count(&pool, &late_sql).await, 1);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM (SELECT sessionid, sessionseqnum FROM contactcalldetail GROUP BY 1, 2 HAVING COUNT(*) > 1)").await,
        0
    );
    pool.close().await;
}

#[tokio::test]
async fn another_spec_is_refused_on_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hrdb.sqlite");
    let centre = generate(&common::small_spec()).expect("spec");
    write_sqlite(&centre, &path, Some(datetime!(2026-01-05 12:00 UTC)))
        .await
        .expect("write");
    let other = generate(&HrdbSpec {
        seed: 99,
        ..common::small_spec()
    })
    .expect("spec");
    let err = write_sqlite(&other, &path, None)
        .await
        .expect_err("mismatch");
    assert!(matches!(err, HrdbError::SpecMismatch { .. }), "{err}");
}

#[tokio::test]
async fn faults_insert_malformed_and_duplicated_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hrdb.sqlite");
    let centre = generate(&common::small_spec()).expect("spec");
    write_sqlite(&centre, &path, None).await.expect("write");
    let pool = connect_sqlite(&path).await.expect("open");
    let at = datetime!(2026-01-06 10:00 UTC);
    let null = inject_fault_sqlite(&pool, Fault::NullValue, at)
        .await
        .expect("null");
    let id = null.sessionid.expect("id");
    assert_eq!(
        count(&pool, &format!("SELECT COUNT(*) FROM contactcalldetail WHERE sessionid = {id} AND enddatetime IS NULL")).await,
        1
    );
    let neg = inject_fault_sqlite(&pool, Fault::NegativeDuration, at)
        .await
        .expect("neg");
    assert_eq!(neg.sessionid, Some(id + 1));
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM agentconnectiondetail WHERE talktime < 0"
        )
        .await,
        1
    );
    inject_fault_sqlite(&pool, Fault::EndBeforeStart, at)
        .await
        .expect("end");
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactcalldetail WHERE enddatetime < startdatetime"
        )
        .await,
        1
    );
    inject_fault_sqlite(&pool, Fault::UnknownQueueTarget, at)
        .await
        .expect("target");
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactqueuedetail WHERE targetid = 999999"
        )
        .await,
        1
    );
    let dup = inject_fault_sqlite(&pool, Fault::DuplicateRow, at)
        .await
        .expect("dup");
    let dup_id = dup.sessionid.expect("a leg to duplicate");
    assert!(dup.rows >= 2);
    assert_eq!(
        count(&pool, &format!("SELECT COUNT(*) FROM contactcalldetail WHERE sessionid = {dup_id} AND sessionseqnum = 0")).await,
        2
    );
    pool.close().await;
}

//! The PostgreSQL flavour against a real server (`WFM_TEST_POSTGRES_URL`, default local).

mod common;

use sqlx::postgres::PgPool;
use sqlx::Row;
use time::macros::datetime;
use wfm_hrdb::{
    connect_postgres, create_schema_postgres, generate, inject_fault_postgres, write_postgres,
    Fault,
};
use wfm_store::testing::TestDatabase;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("count")
}

#[tokio::test]
async fn schema_types_follow_the_reference() {
    let db = TestDatabase::postgres().await;
    let pool = connect_postgres(db.url()).await.expect("connect");
    create_schema_postgres(&pool, false).await.expect("schema");
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name IN ('sessionid', 'startdatetime', 'eventdatetime', 'datetime', 'queuetime', 'talktime') \
         ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    let found: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expect = |t: &str, c: &str, ty: &str| {
        assert!(
            found.iter().any(|(a, b, d)| a == t && b == c && d == ty),
            "{t}.{c} should be {ty}: {found:?}"
        );
    };
    expect("contactcalldetail", "sessionid", "numeric");
    expect(
        "contactcalldetail",
        "startdatetime",
        "timestamp without time zone",
    );
    expect("contactqueuedetail", "queuetime", "smallint");
    expect("agentconnectiondetail", "talktime", "integer");
    expect(
        "agentstatedetail",
        "eventdatetime",
        "timestamp without time zone",
    );
    expect(
        "call_type_interval",
        "datetime",
        "timestamp without time zone",
    );
    pool.close().await;
    db.finish().await;
}

#[tokio::test]
async fn full_load_matches_the_centre_and_is_deterministic() {
    let db = TestDatabase::postgres().await;
    let pool = connect_postgres(db.url()).await.expect("connect");
    let centre = generate(&common::small_spec()).expect("spec");
    write_postgres(&centre, &pool, None).await.expect("write");
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
    // The UCCE trace key is unique.
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM (SELECT 1 FROM agent_state_trace GROUP BY datetime, skilltargetid, timezone, mrdomainid HAVING COUNT(*) > 1) d").await,
        0
    );
    // Handled per logical CSQ from the UCCX tables equals the UCCE interval totals.
    let uccx_handled = count(
        &pool,
        "SELECT COUNT(*) FROM contactqueuedetail q JOIN agentconnectiondetail a \
         ON a.sessionid = q.sessionid AND a.sessionseqnum = q.sessionseqnum AND a.qindex = q.qindex \
         WHERE q.disposition = 2 AND a.talktime > 0",
    )
    .await;
    let ucce_handled = count(
        &pool,
        "SELECT SUM(callshandled)::bigint FROM call_type_interval",
    )
    .await;
    assert_eq!(uccx_handled, ucce_handled);
    // Second centre from the same seed: identical rows (checksum over a canonical text).
    let digest = |pool: PgPool| async move {
        sqlx::query(
            "SELECT md5(string_agg(sessionid::text || ':' || sessionseqnum || ':' || startdatetime::text || ':' || \
             coalesce(enddatetime::text, '') || ':' || contactdisposition, ',' ORDER BY sessionid, sessionseqnum)) \
             FROM contactcalldetail",
        )
        .fetch_one(&pool)
        .await
        .expect("digest")
        .get::<String, _>(0)
    };
    let first = digest(pool.clone()).await;
    let db2 = TestDatabase::postgres().await;
    let pool2 = connect_postgres(db2.url()).await.expect("connect");
    let again = generate(&common::small_spec()).expect("spec");
    write_postgres(&again, &pool2, None).await.expect("write");
    assert_eq!(first, digest(pool2.clone()).await);
    pool.close().await;
    pool2.close().await;
    db.finish().await;
    db2.finish().await;
}

#[tokio::test]
async fn late_rows_appear_after_a_second_write() {
    let db = TestDatabase::postgres().await;
    let pool = connect_postgres(db.url()).await.expect("connect");
    let centre = generate(&common::small_spec()).expect("spec");
    let t1 = datetime!(2026-01-06 15:00 UTC);
    let t2 = datetime!(2026-01-06 17:00 UTC);
    write_postgres(&centre, &pool, Some(t1)).await.expect("t1");
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
    let late = common::late_leg(&centre, t1, t2).expect("late leg");
    let late_sql = format!("SELECT COUNT(*) FROM contactcalldetail WHERE sessionid = {late}");
    assert_eq!(count(&pool, &late_sql).await, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM agentstatedetail WHERE eventdatetime > '2026-01-06 15:00:00'"
        )
        .await,
        0
    );

    write_postgres(&centre, &pool, Some(t1))
        .await
        .expect("t1 again");
    write_postgres(&centre, &pool, Some(t2)).await.expect("t2");
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
        count(&pool, "SELECT COUNT(*) FROM (SELECT 1 FROM contactcalldetail GROUP BY sessionid, sessionseqnum HAVING COUNT(*) > 1) d").await,
        0
    );
    // The change happened on 2026-01-06 12:00 UTC: the new version (recordid 6) is the active one.
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactservicequeue WHERE contactservicequeueid = 2 AND active AND recordid = 6").await,
        1
    );
    write_postgres(&centre, &pool, None).await.expect("rest");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactcalldetail").await,
        centre.legs.len() as i64
    );
    pool.close().await;
    db.finish().await;
}

#[tokio::test]
async fn faults_are_visible_to_sql() {
    let db = TestDatabase::postgres().await;
    let pool = connect_postgres(db.url()).await.expect("connect");
    let centre = generate(&common::small_spec()).expect("spec");
    write_postgres(&centre, &pool, None).await.expect("write");
    let at = datetime!(2026-01-06 10:00 UTC);
    for fault in [
        Fault::NullValue,
        Fault::NegativeDuration,
        Fault::EndBeforeStart,
        Fault::UnknownQueueTarget,
        Fault::DuplicateRow,
    ] {
        let info = inject_fault_postgres(&pool, fault, at)
            .await
            .expect("fault");
        assert!(info.sessionid.is_some() && info.rows >= 2, "{info:?}");
    }
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactqueuedetail WHERE queuetime IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactqueuedetail WHERE queuetime < 0"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM contactcalldetail WHERE enddatetime < startdatetime"
        )
        .await,
        1
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM contactqueuedetail q LEFT JOIN contactservicequeue c ON c.recordid = q.targetid WHERE c.recordid IS NULL").await,
        1
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM (SELECT 1 FROM contactcalldetail GROUP BY sessionid, sessionseqnum HAVING COUNT(*) > 1) d").await,
        1
    );
    pool.close().await;
    db.finish().await;
}

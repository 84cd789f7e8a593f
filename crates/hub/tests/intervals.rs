//! Queue-interval API: ingest (replace-a-window, versions, idempotency, validation), queries by
//! range and by local day across DST changes, CSV export, coverage gaps, queues, metrics and
//! project isolation. Every scenario runs on SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{Resp, TestHub, TOKEN_A, TOKEN_B};
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalFigures, IntervalOrigin, IntervalRow, QueueInfo, TimeRange,
};

/// Runs a scenario on a SQLite hub and on a PostgreSQL hub.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(&super::TestHub::sqlite_with_limit(4 * 1024 * 1024).await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(&super::TestHub::postgres_with_limit(4 * 1024 * 1024).await).await;
                }
            }
        )*
    };
}

both_backends!(
    apply_reapply_change_and_remove,
    replay_and_validation,
    queue_rename_keeps_one_queue,
    local_days_across_dst_changes,
    csv_export_has_header_and_rows,
    missing_ranges_after_two_disjoint_batches,
    freshness_and_row_metrics,
    projects_see_only_their_intervals,
    bad_queries_are_400,
);

const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

fn figures(presented: u64) -> IntervalFigures {
    IntervalFigures {
        presented,
        handled: presented,
        talk_ms: 60_000 * presented,
        hold_ms: 0,
        work_ms: 30_000 * presented,
        answer_wait_ms: 5_000 * presented,
        answered_within_sl: presented,
        ..IntervalFigures::default()
    }
}

/// A batch of source `uccx` for `[from, to)` with a row (presented = 1) for every quarter-hour of
/// every queue.
fn batch(from: OffsetDateTime, to: OffsetDateTime, queues: &[&str], tz: &str) -> IntervalBatch {
    let queues: Vec<QueueInfo> = queues
        .iter()
        .map(|q| QueueInfo {
            id: q.to_string(),
            name: format!("Queue {q}"),
        })
        .collect();
    let mut rows = Vec::new();
    let mut start = from;
    while start < to {
        for q in &queues {
            rows.push(IntervalRow {
                queue: q.id.clone(),
                start,
                figures: figures(1),
            });
        }
        start += Duration::minutes(15);
    }
    IntervalBatch {
        source: "uccx".into(),
        interval_minutes: 15,
        time_zone: tz.into(),
        origin: IntervalOrigin::UccxLegs,
        window: TimeRange { from, to },
        queues,
        rows,
    }
}

fn hour_batch() -> IntervalBatch {
    batch(T0, T0 + Duration::hours(1), &["q1", "q2"], "Europe/Berlin")
}

async fn post(hub: &TestHub, token: &str, key: &str, body: &IntervalBatch) -> Resp {
    let request = Request::builder()
        .method(Method::POST)
        .uri(wfm_protocol::routes::INTERVALS)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key)
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    hub.send(request).await
}

fn counts(resp: &Resp) -> (u64, u64, u64, u64, u64) {
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let j = resp.json();
    let n = |k: &str| j[k].as_u64().unwrap();
    (
        n("inserted"),
        n("updated"),
        n("unchanged"),
        n("removed"),
        n("new_queues"),
    )
}

fn range_query(from: OffsetDateTime, to: OffsetDateTime) -> String {
    let f = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    format!("from={}&to={}", f(from), f(to))
}

async fn query(hub: &TestHub, token: &str, q: &str) -> Value {
    let resp = hub
        .get(&format!("/api/v1/intervals?{q}"), Some(token))
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    resp.json()
}

async fn hour(hub: &TestHub, token: &str) -> Value {
    query(hub, token, &range_query(T0, T0 + Duration::hours(1))).await
}

async fn apply_reapply_change_and_remove(hub: &TestHub) {
    let mut b = hour_batch();
    assert_eq!(counts(&post(hub, TOKEN_A, "k1", &b).await), (8, 0, 0, 0, 2));
    let got = hour(hub, TOKEN_A).await;
    let rows = got["intervals"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for (row, sent) in rows.iter().zip(&b.rows) {
        let back: IntervalRow = serde_json::from_value(row.clone()).unwrap();
        assert_eq!(back, *sent);
        assert_eq!(row["version"], 0);
        assert_eq!(row["source"], "uccx");
    }
    assert_eq!(got["totals"]["presented"], 8);
    assert!(got.get("time_zone").is_none());

    assert_eq!(counts(&post(hub, TOKEN_A, "k2", &b).await), (0, 0, 8, 0, 0));
    let again = hour(hub, TOKEN_A).await;
    assert!(again["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["version"] == 0));

    b.rows[3].figures.handled = 0;
    let gone = b.rows.remove(5);
    assert_eq!(counts(&post(hub, TOKEN_A, "k3", &b).await), (0, 1, 6, 1, 0));
    let after = hour(hub, TOKEN_A).await;
    let rows = after["intervals"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[3]["version"], 1);
    assert_eq!(rows[3]["handled"], 0);
    assert!(!rows
        .iter()
        .any(|r| r["queue"] == gone.queue.as_str() && r["start"] == "2026-03-02T08:30:00Z"));
    assert_eq!(after["totals"]["presented"], 7);
}

async fn replay_and_validation(hub: &TestHub) {
    let b = hour_batch();
    let first = post(hub, TOKEN_A, "same", &b).await;
    let replay = post(hub, TOKEN_A, "same", &b).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.header("idempotent-replay").as_deref(), Some("true"));
    assert_eq!(replay.json(), first.json());
    let mut other = b.clone();
    other.rows[0].figures.presented = 99;
    assert_eq!(
        post(hub, TOKEN_A, "same", &other).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let later = |b: &IntervalBatch| {
        let mut b = b.clone();
        b.window.from += Duration::days(1);
        b.window.to += Duration::days(1);
        for r in &mut b.rows {
            r.start += Duration::days(1);
        }
        b
    };
    let base = later(&b);
    let mut misaligned = base.clone();
    misaligned.rows[0].start += Duration::minutes(7);
    let mut outside = base.clone();
    outside.rows[0].start = base.window.to;
    let mut duplicate = base.clone();
    duplicate.rows[1] = duplicate.rows[0].clone();
    let mut unknown = base.clone();
    unknown.rows[2].queue = "q9".into();
    let mut thirty = base.clone();
    thirty.interval_minutes = 30;
    thirty.rows.retain(|r| r.start.minute() % 30 == 0);
    let mut bad_tz = base.clone();
    bad_tz.time_zone = "Europe/Atlantis".into();
    let cases = [
        (
            misaligned,
            "row 1: start 2026-03-03T08:07:00Z is not a multiple of 15 minutes",
        ),
        (
            outside,
            "row 1: start 2026-03-03T09:00:00Z is outside the window",
        ),
        (
            duplicate,
            "row 2: queue q1 at 2026-03-03T08:00:00Z appears more than once",
        ),
        (unknown, "row 3: queue q9 is not listed in queues"),
        (
            thirty,
            "queue q1: the batch has 30-minute intervals but the hub holds 15-minute",
        ),
        (
            bad_tz,
            "time_zone 'Europe/Atlantis' is not a known IANA time zone",
        ),
    ];
    for (i, (bad, expected)) in cases.iter().enumerate() {
        let resp = post(hub, TOKEN_A, &format!("bad-{i}"), bad).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{expected}");
        assert_eq!(resp.code(), "invalid_batch");
        let j = resp.json();
        let message = j["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected}: {message}");
        let details = j["error"]["details"].as_array().unwrap();
        assert!(details
            .iter()
            .any(|d| d.as_str().unwrap().starts_with(expected)));
    }
    let next_day = query(hub, TOKEN_A, &range_query(base.window.from, base.window.to)).await;
    assert!(next_day["intervals"].as_array().unwrap().is_empty());
    let missing = hub
        .get(
            &format!(
                "/api/v1/intervals/missing?source=uccx&{}",
                range_query(base.window.from, base.window.to)
            ),
            Some(TOKEN_A),
        )
        .await
        .json();
    assert_eq!(missing["missing"].as_array().unwrap().len(), 1);

    let no_key = Request::builder()
        .method(Method::POST)
        .uri(wfm_protocol::routes::INTERVALS)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&b).unwrap()))
        .unwrap();
    assert_eq!(hub.send(no_key).await.status, StatusCode::BAD_REQUEST);
}

async fn queue_rename_keeps_one_queue(hub: &TestHub) {
    let mut b = hour_batch();
    counts(&post(hub, TOKEN_A, "k1", &b).await);
    b.queues[0].name = "Sales (new)".into();
    assert_eq!(counts(&post(hub, TOKEN_A, "k2", &b).await), (0, 0, 8, 0, 0));
    let queues = hub.get("/api/v1/queues", Some(TOKEN_A)).await.json();
    let queues = queues.as_array().unwrap();
    assert_eq!(queues.len(), 2);
    assert_eq!(queues[0]["id"], "q1");
    assert_eq!(queues[0]["name"], "Sales (new)");
    assert_eq!(queues[0]["interval_minutes"], 15);
    assert_eq!(queues[0]["time_zone"], "Europe/Berlin");
    assert_eq!(queues[0]["newest_interval"], "2026-03-02T08:45:00Z");
    let rows = hour(hub, TOKEN_A).await;
    assert_eq!(rows["intervals"][0]["queue_name"], "Sales (new)");
}

/// Sends a batch covering the whole local day (plus margins) and checks the local-day query.
async fn check_local_day(hub: &TestHub, key: &str, date: &str, tz: &str, quarters: usize) {
    let day: time::Date = time::Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let from = day.midnight().assume_utc() - Duration::hours(12);
    let to = from + Duration::hours(48);
    let b = batch(from, to, &["a", "b"], tz);
    counts(&post(hub, TOKEN_A, key, &b).await);
    let got = query(hub, TOKEN_A, &format!("date={date}&tz={tz}")).await;
    let rows = got["intervals"].as_array().unwrap();
    let mut starts: Vec<&str> = rows.iter().map(|r| r["start"].as_str().unwrap()).collect();
    starts.dedup();
    assert_eq!(starts.len(), quarters, "{date} in {tz}");
    assert_eq!(rows.len(), 2 * quarters);
    assert_eq!(got["totals"]["presented"], 2 * quarters as u64);
    assert_eq!(got["time_zone"], tz);
    let first_local = rows[0]["local_start"].as_str().unwrap();
    assert!(
        first_local.starts_with(&format!("{date}T00:00:00")),
        "{first_local}"
    );
    let last_local = rows[rows.len() - 1]["local_start"].as_str().unwrap();
    assert!(
        last_local.starts_with(&format!("{date}T23:45:00")),
        "{last_local}"
    );
}

async fn local_days_across_dst_changes(hub: &TestHub) {
    check_local_day(hub, "ny-spring", "2026-03-08", "America/New_York", 92).await;
    check_local_day(hub, "ny-fall", "2026-11-01", "America/New_York", 100).await;
    check_local_day(hub, "be-spring", "2026-03-29", "Europe/Berlin", 92).await;
    check_local_day(hub, "be-fall", "2026-10-25", "Europe/Berlin", 100).await;
    check_local_day(hub, "be-normal", "2026-07-01", "Europe/Berlin", 96).await;
    let got = query(hub, TOKEN_A, "date=2026-03-08&tz=America/New_York&queue=b").await;
    assert_eq!(got["intervals"].as_array().unwrap().len(), 92);
    assert_eq!(
        got["intervals"][0]["local_start"],
        "2026-03-08T00:00:00-05:00"
    );
    assert_eq!(got["range"]["from"], "2026-03-08T05:00:00Z");
    assert_eq!(got["range"]["to"], "2026-03-09T04:00:00Z");
}

async fn csv_export_has_header_and_rows(hub: &TestHub) {
    let mut b = hour_batch();
    b.queues[0].name = "Sales, \"VIP\"".into();
    counts(&post(hub, TOKEN_A, "k1", &b).await);
    let resp = hub
        .get(
            &format!(
                "/api/v1/intervals.csv?{}&tz=Europe/Berlin&queue=q1",
                range_query(T0, T0 + Duration::hours(1))
            ),
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert!(resp.header("content-type").unwrap().starts_with("text/csv"));
    assert!(resp
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    let text = resp.text();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[0],
        "source,queue,queue_name,start_utc,local_start,interval_minutes,version,presented,\
         handled,handled_without_talk,abandoned,aborted,dequeued,handled_by_script,\
         handled_by_other_queue,talk_ms,hold_ms,work_ms,answer_wait_ms,queue_time_ms,queued,\
         answered_within_sl,abandoned_within_sl,longest_wait_ms,longest_answer_wait_ms,\
         longest_abandon_wait_ms,aht_s,asa_s,service_level_pct"
    );
    assert_eq!(
        lines[1],
        "uccx,q1,\"Sales, \"\"VIP\"\"\",2026-03-02T08:00:00Z,2026-03-02T09:00:00+01:00,15,0,\
         1,1,0,0,0,0,0,0,60000,0,30000,5000,0,0,1,0,0,0,0,90.0,5.0,100.0"
    );
    let by_day = hub
        .get(
            "/api/v1/intervals.csv?date=2026-03-02&tz=Europe/Berlin",
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(by_day.status, StatusCode::OK);
    assert!(by_day
        .header("content-disposition")
        .unwrap()
        .contains("intervals-2026-03-02.csv"));
    assert_eq!(by_day.text().matches("\r\n").count(), 9);
}

async fn missing_ranges_after_two_disjoint_batches(hub: &TestHub) {
    counts(&post(hub, TOKEN_A, "k1", &hour_batch()).await);
    let later = batch(
        T0 + Duration::hours(3),
        T0 + Duration::hours(4),
        &["q1"],
        "Europe/Berlin",
    );
    counts(&post(hub, TOKEN_A, "k2", &later).await);
    let resp = hub
        .get(
            &format!(
                "/api/v1/intervals/missing?source=uccx&{}",
                range_query(T0 - Duration::hours(1), T0 + Duration::hours(5))
            ),
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let j = resp.json();
    assert_eq!(j["source"], "uccx");
    assert_eq!(
        j["missing"],
        serde_json::json!([
            {"from": "2026-03-02T07:00:00Z", "to": "2026-03-02T08:00:00Z"},
            {"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"},
            {"from": "2026-03-02T12:00:00Z", "to": "2026-03-02T13:00:00Z"},
        ])
    );
    let no_source = hub
        .get(
            &format!(
                "/api/v1/intervals/missing?{}",
                range_query(T0, T0 + Duration::hours(1))
            ),
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(no_source.status, StatusCode::BAD_REQUEST);
}

async fn freshness_and_row_metrics(hub: &TestHub) {
    // The test clock reads 2025-06-15T15:06:40Z; the newest interval ends at 14:00:00Z.
    let now = common::fixed_now();
    let from = datetime!(2025-06-15 13:00 UTC);
    let b = batch(from, from + Duration::hours(1), &["q1"], "Europe/Berlin");
    counts(&post(hub, TOKEN_A, "k1", &b).await);
    counts(&post(hub, TOKEN_A, "k2", &b).await);
    let text = hub.get("/metrics", None).await.text();
    let expected = (now - datetime!(2025-06-15 14:00 UTC)).whole_seconds();
    assert_eq!(expected, 3_999 + 1);
    assert!(
        text.contains(&format!(
            "wfm_hub_interval_freshness_seconds{{project=\"alpha\",source=\"uccx\",queue=\"q1\"}} {expected}.0"
        )),
        "{text}"
    );
    assert!(
        text.contains("wfm_hub_interval_rows_total{project=\"alpha\",outcome=\"inserted\"} 4"),
        "{text}"
    );
    assert!(text.contains("wfm_hub_interval_rows_total{project=\"alpha\",outcome=\"unchanged\"} 4"));
    assert!(text.contains("wfm_hub_http_requests_total"));
    assert_eq!(text.matches("# EOF").count(), 1);
    assert!(text.ends_with("# EOF\n"));
}

async fn projects_see_only_their_intervals(hub: &TestHub) {
    counts(&post(hub, TOKEN_A, "k1", &hour_batch()).await);
    let theirs = hour(hub, TOKEN_B).await;
    assert!(theirs["intervals"].as_array().unwrap().is_empty());
    assert_eq!(theirs["totals"]["presented"], 0);
    let queues = hub.get("/api/v1/queues", Some(TOKEN_B)).await.json();
    assert!(queues.as_array().unwrap().is_empty());
    // The same key in another project is another request.
    assert_eq!(
        counts(&post(hub, TOKEN_B, "k1", &hour_batch()).await),
        (8, 0, 0, 0, 2)
    );
    assert_eq!(
        hour(hub, TOKEN_A).await["intervals"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let anonymous = hub
        .get("/api/v1/intervals?date=2026-03-02&tz=UTC", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn bad_queries_are_400(hub: &TestHub) {
    let cases = [
        ("date=2026-03-02&tz=Mars/Olympus", "Mars/Olympus"),
        ("from=2026-03-02T00:00:00Z", "missing to"),
        ("from=yesterday&to=2026-03-02T00:00:00Z", "from=yesterday"),
        (
            "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
            "before",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            "93 days",
        ),
        ("date=2026-03-02", "tz"),
        (
            "date=2026-03-02&tz=UTC&from=2026-03-02T00:00:00Z",
            "not both",
        ),
        ("date=2026-13-40&tz=UTC", "not a date"),
    ];
    for (q, expected) in cases {
        for path in ["/api/v1/intervals", "/api/v1/intervals.csv"] {
            let resp = hub.get(&format!("{path}?{q}"), Some(TOKEN_A)).await;
            assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{path}?{q}");
            assert_eq!(resp.code(), "invalid_request");
            assert!(resp.text().contains(expected), "{q}: {}", resp.text());
        }
    }
}

#[test]
fn protocol_rows_round_trip() {
    let b = hour_batch();
    let text = serde_json::to_string(&b).unwrap();
    let back: IntervalBatch = serde_json::from_str(&text).unwrap();
    assert_eq!(back, b);
}

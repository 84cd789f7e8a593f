//! Adherence API: schedules (JSON and CSV, errors naming entries and lines), rules, exceptions,
//! real-time status with `since`, the SSE stream reacting to a state batch, and daily figures
//! per agent and team equal to hand-computed ones. Every scenario runs on SQLite and on
//! PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{fixed_now, snapshot, Resp, TestHub, TOKEN_A, TOKEN_B};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;
use wfm_hub::routes::adherence::AdherenceFeed;
use wfm_hub::{app, AppState};

/// Runs a scenario on a SQLite hub and on a PostgreSQL hub.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(&super::TestHub::sqlite().await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(&super::TestHub::postgres().await).await;
                }
            }
        )*
    };
}

both_backends!(
    realtime_status_and_since_follow_schedule_and_states,
    stream_sends_a_change_after_a_state_batch,
    daily_figures_equal_hand_computed_ones,
    csv_schedule_errors_name_the_line,
    json_schedules_replace_an_agent_day,
    rules_and_exceptions_round_trip,
);

async fn send(hub: &TestHub, method: Method, path: &str, content_type: &str, body: String) -> Resp {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .header(header::CONTENT_TYPE, content_type)
        .header("Idempotency-Key", uuid_like(&body))
        .body(Body::from(body))
        .unwrap();
    hub.send(request).await
}

/// A key derived from the body (the same batch replays).
fn uuid_like(body: &str) -> String {
    let mut hash: u64 = 1469598103934665603;
    for byte in body.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(1099511628211);
    }
    format!("k-{hash:016x}")
}

async fn put_json(hub: &TestHub, path: &str, body: Value) -> Resp {
    send(hub, Method::PUT, path, "application/json", body.to_string()).await
}

async fn post_states(hub: &TestHub, events: Value) -> Resp {
    let body = json!({"source": "cti", "events": events});
    let resp = send(
        hub,
        Method::POST,
        "/api/v1/agent-states",
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    resp
}

fn event(agent: &str, at: &str, state: &str) -> Value {
    json!({"agent": agent, "at": at, "state": state, "raw": "cti:x"})
}

/// Percentages are computed from milliseconds: compare with a tolerance.
fn assert_close(value: &Value, expected: f64) {
    let actual = value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"));
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn by_agent<'a>(agents: &'a Value, agent: &str) -> &'a Value {
    agents
        .as_array()
        .and_then(|list| list.iter().find(|a| a["agent"] == agent))
        .unwrap_or_else(|| panic!("no {agent} in {agents}"))
}

/// Today (per the fixed clock, 2025-06-15T15:06:40Z): phone 14:00–18:00 for 5001 and 5003.
async fn todays_schedule(hub: &TestHub) {
    let resp = put_json(
        hub,
        "/api/v1/schedules",
        json!([
            {"agent": "5001", "activity": "phone", "start": "2025-06-15T14:00:00Z", "end": "2025-06-15T18:00:00Z"},
            {"agent": "5003", "activity": "phone", "start": "2025-06-15T14:00:00Z", "end": "2025-06-15T18:00:00Z"},
        ]),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
}

async fn realtime_status_and_since_follow_schedule_and_states(hub: &TestHub) {
    assert_eq!(fixed_now().to_string(), "2025-06-15 15:06:40.0 +00:00:00");
    todays_schedule(hub).await;
    post_states(
        hub,
        json!([
            event("5001", "2025-06-15T13:55:00Z", "ready"),
            {"agent": "5001", "at": "2025-06-15T15:00:00Z", "state": "not_ready", "reason_code": 3, "raw": "cti:2"},
            event("5002", "2025-06-15T13:00:00Z", "ready"),
        ]),
    )
    .await;
    let resp = hub.get("/api/v1/adherence/realtime", Some(TOKEN_A)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let body = resp.json();
    let agents = &body["agents"];
    assert_eq!(agents.as_array().map(Vec::len), Some(3), "{body}");
    let a1 = by_agent(agents, "5001");
    assert_eq!(a1["status"], "out");
    assert_eq!(a1["in_adherence"], false);
    assert_eq!(a1["since"], "2025-06-15T15:00:00Z");
    assert_eq!(a1["activity"], "phone");
    assert_eq!(a1["state"], "not_ready");
    assert_eq!(a1["reason_code"], 3);
    // A state without a schedule: neutral (ready is neither in nor out when unscheduled).
    let a2 = by_agent(agents, "5002");
    assert_eq!(
        (a2["status"].as_str(), a2["in_adherence"].is_null()),
        (Some("neutral"), true)
    );
    // A schedule without states: neutral (no data), never out.
    let a3 = by_agent(agents, "5003");
    assert_eq!(a3["status"], "neutral");
    assert_eq!(a3["activity"], "phone");
    // Another project sees none of it; no token is 401.
    let other = hub.get("/api/v1/adherence/realtime", Some(TOKEN_B)).await;
    assert_eq!(other.json()["agents"], json!([]));
    let anonymous = hub.get("/api/v1/adherence/realtime", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Reads SSE frames until one is a `status` event for `agent` with `status`; fails after 30 s
/// rather than hanging (the change itself does not depend on time).
async fn next_status(
    body: &mut (impl futures::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin),
    buffer: &mut String,
    agent: &str,
    status: &str,
) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let data: String = frame
                .lines()
                .filter_map(|line| {
                    line.strip_prefix("data: ")
                        .or_else(|| line.strip_prefix("data:"))
                })
                .collect();
            if !frame.contains("event: status") || data.is_empty() {
                continue;
            }
            let view: Value = serde_json::from_str(&data).unwrap();
            if view["agent"] == agent && view["status"] == status {
                return view;
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(30), body.next())
            .await
            .unwrap_or_else(|_| panic!("no {status} event for {agent}; got so far: {buffer}"))
            .unwrap_or_else(|| panic!("the stream ended; got so far: {buffer}"))
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn stream_sends_a_change_after_a_state_batch(hub: &TestHub) {
    todays_schedule(hub).await;
    post_states(hub, json!([event("5001", "2025-06-15T13:55:00Z", "ready")])).await;
    // A timer that never fires during the test: the change must come from the state batch.
    let state = AppState {
        adherence: AdherenceFeed::new(Duration::from_secs(3600)),
        ..hub.state.clone()
    };
    let router = app(state);
    let request = Request::builder()
        .uri("/api/v1/adherence/stream")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut body = response.into_body().into_data_stream();
    let mut buffer = String::new();
    let first = next_status(&mut body, &mut buffer, "5001", "in").await;
    assert_eq!(first["since"], "2025-06-15T14:00:00Z");

    let batch =
        json!({"source": "cti", "events": [event("5001", "2025-06-15T15:05:00Z", "logged_out")]});
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/agent-states")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", "stream-batch-1")
        .body(Body::from(batch.to_string()))
        .unwrap();
    let posted = router.clone().oneshot(request).await.unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    let change = next_status(&mut body, &mut buffer, "5001", "out").await;
    assert_eq!(change["since"], "2025-06-15T15:05:00Z");
    assert_eq!(change["state"], "logged_out");
}

async fn daily_figures_equal_hand_computed_ones(hub: &TestHub) {
    // Directory: team "Blue" = agents 5001 and 5002; 5009 is in no team.
    let sync = hub
        .sync(
            TOKEN_A,
            "dir-1",
            &snapshot(
                "cucm",
                &[
                    ("u1", "5001", "t1"),
                    ("u2", "5002", "t1"),
                    ("u9", "5009", "t9"),
                ],
                &[("t1", "Blue"), ("t9", "Grey")],
            ),
        )
        .await;
    assert_eq!(sync.status, StatusCode::OK, "{}", sync.text());
    let resp = put_json(
        hub,
        "/api/v1/schedules",
        json!({"from": "2025-06-14T00:00:00Z", "to": "2025-06-15T00:00:00Z", "entries": [
            {"agent": "5001", "activity": "phone", "start": "2025-06-14T08:00:00Z", "end": "2025-06-14T12:00:00Z"},
            {"agent": "5001", "activity": "lunch", "start": "2025-06-14T12:00:00Z", "end": "2025-06-14T13:00:00Z"},
            {"agent": "5001", "activity": "phone", "start": "2025-06-14T13:00:00Z", "end": "2025-06-14T16:00:00Z"},
            {"agent": "5002", "activity": "phone", "start": "2025-06-14T08:00:00Z", "end": "2025-06-14T10:00:00Z"},
            {"agent": "5009", "activity": "phone", "start": "2025-06-14T08:00:00Z", "end": "2025-06-14T09:00:00Z"},
        ]}),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    post_states(
        hub,
        json!([
            event("5001", "2025-06-14T07:30:00Z", "ready"),
            event("5001", "2025-06-14T09:00:00Z", "not_ready"),
            event("5001", "2025-06-14T09:30:00Z", "ready"),
            event("5001", "2025-06-14T12:00:00Z", "not_ready"),
            event("5001", "2025-06-14T13:10:00Z", "ready"),
            event("5001", "2025-06-14T16:00:00Z", "logged_out"),
            event("5002", "2025-06-14T08:00:00Z", "not_ready"),
            event("5002", "2025-06-14T10:00:00Z", "logged_out"),
        ]),
    )
    .await;
    let resp = hub
        .get(
            "/api/v1/adherence?date=2025-06-14&tz=UTC&team=Blue",
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["team"]["name"], "Blue");
    assert_eq!(body["agents"].as_array().map(Vec::len), Some(2), "{body}");
    // 5001: phone 8–9 in, 9–9:30 out, 9:30–12 in, lunch in, 13:00–13:10 out, 13:10–16 in.
    let a1 = by_agent(&body["agents"], "5001");
    assert_eq!(a1["scheduled_minutes"], 480.0);
    assert_eq!(a1["in_minutes"], 440.0);
    assert_eq!(a1["out_minutes"], 40.0);
    assert_eq!(a1["neutral_minutes"], 0.0);
    assert_close(&a1["adherence_pct"], 440.0 * 100.0 / 480.0);
    // Worked 07:30–09:00, 09:30–12:00, 13:10–16:00 = 410 of 420 scheduled phone minutes.
    assert_eq!(a1["worked_minutes"], 410.0);
    assert_eq!(a1["scheduled_in_service_minutes"], 420.0);
    assert_close(&a1["conformance_pct"], 410.0 * 100.0 / 420.0);
    let a2 = by_agent(&body["agents"], "5002");
    assert_eq!(
        (a2["in_minutes"].as_f64(), a2["out_minutes"].as_f64()),
        (Some(0.0), Some(120.0))
    );
    assert_eq!(a2["adherence_pct"], 0.0);
    // The team sums minutes: 440 in of 600, not the mean of 91.7 % and 0 %.
    assert_close(&body["total"]["adherence_pct"], 440.0 * 100.0 / 600.0);
    assert_close(&body["total"]["conformance_pct"], 410.0 * 100.0 / 540.0);
    // Without a team every scheduled agent counts; 5009 has no states: neutral, no figure.
    let all = hub
        .get("/api/v1/adherence?date=2025-06-14", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(all["agents"].as_array().map(Vec::len), Some(3), "{all}");
    assert!(by_agent(&all["agents"], "5009")["adherence_pct"].is_null());
    // The next day has no shifts; bad input is 400/404 with the error shape.
    let next = hub
        .get(
            "/api/v1/adherence?date=2025-06-15&tz=Europe/Berlin",
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(next.json()["agents"], json!([]));
    let bad = hub
        .get(
            "/api/v1/adherence?date=2025-06-14&tz=Mars/Olympus",
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "invalid_request".to_string())
    );
    let missing = hub
        .get("/api/v1/adherence?date=2025-06-14&team=Nope", Some(TOKEN_A))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn csv_schedule_errors_name_the_line(hub: &TestHub) {
    let bad = "agent,activity,start,end\n\
               5001,phone,2025-06-16T08:00:00Z,2025-06-16T12:00:00Z\n\
               5001,lunch,noon,2025-06-16T13:00:00Z\n\
               5002,phone,2025-06-16T10:00:00Z,2025-06-16T09:00:00Z\n";
    let resp = send(
        hub,
        Method::PUT,
        "/api/v1/schedules.csv",
        "text/csv",
        bad.to_string(),
    )
    .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.text()
    );
    assert_eq!(resp.code(), "invalid_schedule");
    let details = resp.json()["error"]["details"].to_string();
    assert!(details.contains("line 3: start 'noon'"), "{details}");
    let resp = send(
        hub,
        Method::PUT,
        "/api/v1/schedules.csv",
        "text/csv",
        bad.replace("noon", "2025-06-16T12:00:00Z"),
    )
    .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let details = resp.json()["error"]["details"].to_string();
    assert!(
        details.contains("line 4: end is not after start"),
        "{details}"
    );

    let good = "5001,phone,2025-06-16T08:00:00Z,2025-06-16T12:00:00Z\n\
                5001,lunch,2025-06-16T12:00:00Z,2025-06-16T13:00:00Z\n";
    let resp = send(
        hub,
        Method::PUT,
        "/api/v1/schedules.csv",
        "text/csv",
        good.to_string(),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(resp.json()["inserted"], 2);
    let read = hub
        .get(
            "/api/v1/schedules?agent=5001&from=2025-06-16T00:00:00Z&to=2025-06-17T00:00:00Z",
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(read.json()["entries"].as_array().map(Vec::len), Some(2));
    // JSON is refused on the CSV route.
    let wrong = send(
        hub,
        Method::PUT,
        "/api/v1/schedules.csv",
        "application/json",
        "[]".into(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn json_schedules_replace_an_agent_day(hub: &TestHub) {
    let day = json!({"from": "2025-06-16T00:00:00Z", "to": "2025-06-17T00:00:00Z", "entries": [
        {"agent": "5001", "activity": "phone", "start": "2025-06-16T08:00:00Z", "end": "2025-06-16T16:00:00Z"},
        {"agent": "5002", "activity": "phone", "start": "2025-06-16T08:00:00Z", "end": "2025-06-16T16:00:00Z"},
    ]});
    assert_eq!(
        put_json(hub, "/api/v1/schedules", day).await.status,
        StatusCode::OK
    );
    let replace = json!({"from": "2025-06-16T00:00:00Z", "to": "2025-06-17T00:00:00Z", "agents": ["5001"], "entries": [
        {"agent": "5001", "activity": "training", "start": "2025-06-16T09:00:00Z", "end": "2025-06-16T11:00:00Z"},
    ]});
    let resp = put_json(hub, "/api/v1/schedules", replace).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(
        (
            resp.json()["removed"].as_u64(),
            resp.json()["inserted"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let read = hub
        .get(
            "/api/v1/schedules?from=2025-06-16T00:00:00Z&to=2025-06-17T00:00:00Z",
            Some(TOKEN_A),
        )
        .await
        .json();
    let activities: Vec<&str> = read["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activity"].as_str().unwrap())
        .collect();
    assert_eq!(activities, vec!["training", "phone"]);
    // An entry outside the range or of another agent is named by index.
    let outside = json!({"from": "2025-06-16T00:00:00Z", "to": "2025-06-17T00:00:00Z", "agents": ["5001"], "entries": [
        {"agent": "5001", "activity": "phone", "start": "2025-06-17T09:00:00Z", "end": "2025-06-17T10:00:00Z"},
        {"agent": "5002", "activity": "phone", "start": "2025-06-16T09:00:00Z", "end": "2025-06-16T10:00:00Z"},
    ]});
    let resp = put_json(hub, "/api/v1/schedules", outside).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let details = resp.json()["error"]["details"].to_string();
    assert!(
        details.contains("entry 0: start is outside the replaced range"),
        "{details}"
    );
    assert!(
        details.contains("entry 1: agent '5002' is not in 'agents'"),
        "{details}"
    );
    let garbage = put_json(hub, "/api/v1/schedules", json!({"entries": 3})).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let no_range = hub.get("/api/v1/schedules?agent=5001", Some(TOKEN_A)).await;
    assert_eq!(no_range.status, StatusCode::BAD_REQUEST);
}

async fn rules_and_exceptions_round_trip(hub: &TestHub) {
    let rules = json!({
        "activities": [{"id": "phone", "kind": "open", "tolerance_start_minutes": 10}],
        "rules": [{"activity": "phone", "state": "not_ready", "reason_code": 12, "status": "in"}],
    });
    let resp = put_json(hub, "/api/v1/adherence/rules", rules).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let read = hub
        .get("/api/v1/adherence/rules", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(read["activities"][0]["tolerance_start_minutes"], 10);
    assert_eq!(read["rules"][0]["reason_code"], 12);
    assert_eq!(read["defaults"].as_array().map(Vec::len), Some(70));
    let bad = put_json(
        hub,
        "/api/v1/adherence/rules",
        json!({"activities": [{"id": "x", "kind": "nap"}]}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rules".to_string()
        )
    );

    // 5001 logged out since 14:00 on a phone shift: out, until an exception covers it.
    todays_schedule(hub).await;
    post_states(
        hub,
        json!([event("5001", "2025-06-15T14:00:00Z", "logged_out")]),
    )
    .await;
    let before = hub
        .get("/api/v1/adherence/realtime", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(by_agent(&before["agents"], "5001")["status"], "out");
    let exception = json!({"agent": "5001", "start": "2025-06-15T14:00:00Z", "end": "2025-06-15T16:00:00Z", "note": "doctor"});
    let resp = send(
        hub,
        Method::POST,
        "/api/v1/adherence/exceptions",
        "application/json",
        exception.to_string(),
    )
    .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    assert!(resp.json()["id"].is_string());
    let after = hub
        .get("/api/v1/adherence/realtime", Some(TOKEN_A))
        .await
        .json();
    let a1 = by_agent(&after["agents"], "5001");
    assert_eq!(
        (a1["status"].as_str(), a1["since"].as_str()),
        (Some("in"), Some("2025-06-15T14:00:00Z"))
    );
    let listed = hub
        .get(
            "/api/v1/adherence/exceptions?from=2025-06-15T00:00:00Z&to=2025-06-16T00:00:00Z",
            Some(TOKEN_A),
        )
        .await
        .json();
    assert_eq!(listed["exceptions"][0]["note"], "doctor");
    let inverted =
        json!({"agent": "5001", "start": "2025-06-15T16:00:00Z", "end": "2025-06-15T14:00:00Z"});
    let resp = send(
        hub,
        Method::POST,
        "/api/v1/adherence/exceptions",
        "application/json",
        inverted.to_string(),
    )
    .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
}

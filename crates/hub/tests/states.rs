//! Agent-state API: reason codes (insert, update, deactivate, replay), state batches (live
//! duplicates, out-of-order events, history window replace, unknown agents, gaps), the
//! timeline across the `from` boundary, validation, metrics and project isolation. Every
//! scenario runs on SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{snapshot, Resp, TestHub, TOKEN_A, TOKEN_B};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Runs a scenario on a SQLite hub and on a PostgreSQL hub (16 MiB body limit).
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(&super::TestHub::sqlite_with_limit(16 * 1024 * 1024).await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(&super::TestHub::postgres_with_limit(16 * 1024 * 1024).await).await;
                }
            }
        )*
    };
}

both_backends!(
    reason_codes_put_get_replay_and_deactivate,
    live_duplicates_are_ignored_and_counted,
    out_of_order_events_and_the_from_boundary,
    history_window_replaces_its_events,
    unknown_agents_are_flagged_and_kept,
    invalid_batches_are_422_and_store_nothing,
    bad_queries_are_400,
    projects_see_only_their_states,
);

const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

fn ts(secs: i64) -> String {
    (T0 + Duration::seconds(secs)).format(&Rfc3339).unwrap()
}

fn ev(agent: &str, secs: i64, state: &str, reason: Option<i64>) -> Value {
    let mut e = json!({"agent": agent, "at": ts(secs), "state": state, "raw": "cti:x"});
    if let Some(r) = reason {
        e["reason_code"] = json!(r);
    }
    e
}

fn live(events: Vec<Value>) -> Value {
    json!({"source": "cti", "events": events})
}

fn history(from: i64, to: i64, events: Vec<Value>) -> Value {
    json!({"source": "uccx", "window": {"from": ts(from), "to": ts(to)}, "events": events})
}

async fn send(
    hub: &TestHub,
    method: Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Resp {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        builder = builder.header("Idempotency-Key", key);
    }
    hub.send(
        builder
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    )
    .await
}

async fn post(hub: &TestHub, token: &str, key: &str, body: &Value) -> Resp {
    send(
        hub,
        Method::POST,
        wfm_protocol::routes::AGENT_STATES,
        token,
        Some(key),
        body,
    )
    .await
}

async fn put_codes(hub: &TestHub, token: &str, key: &str, body: &Value) -> Resp {
    send(
        hub,
        Method::PUT,
        wfm_protocol::routes::REASON_CODES,
        token,
        Some(key),
        body,
    )
    .await
}

fn counts(resp: &Resp) -> (u64, u64, u64, u64) {
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let j = resp.json();
    let n = |k: &str| j[k].as_u64().unwrap();
    (
        n("accepted"),
        n("duplicates"),
        n("removed"),
        n("unknown_agents"),
    )
}

/// (agent, start s, end s or -1, state, label) of the timeline of `[from, to)`.
async fn timeline(
    hub: &TestHub,
    token: &str,
    filter: &str,
    from: i64,
    to: i64,
) -> Vec<(String, i64, i64, String, String)> {
    let path = format!(
        "{}?{filter}from={}&to={}",
        wfm_protocol::routes::AGENT_STATES,
        ts(from),
        ts(to)
    );
    let resp = hub.get(&path, Some(token)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let secs = |v: &Value| match v.as_str() {
        Some(s) => (OffsetDateTime::parse(s, &Rfc3339).unwrap() - T0).whole_seconds(),
        None => -1,
    };
    resp.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["agent"].as_str().unwrap().to_string(),
                secs(&s["start"]),
                secs(&s["end"]),
                s["state"].as_str().unwrap().to_string(),
                s["reason_label"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn seg(
    agent: &str,
    start: i64,
    end: i64,
    state: &str,
    label: &str,
) -> (String, i64, i64, String, String) {
    (agent.into(), start, end, state.into(), label.into())
}

fn code(id: &str, code: i64, label: &str, category: &str) -> Value {
    json!({"id": id, "code": code, "label": label, "category": category, "system_code": false, "for_all": true})
}

async fn reason_codes_put_get_replay_and_deactivate(hub: &TestHub) {
    let set = json!({"source": "finesse", "codes": [
        code("1", 10, "Lunch", "not_ready"),
        code("2", 11, "Meeting", "not_ready"),
        code("3", 10, "End of shift", "logout"),
    ]});
    let r = put_codes(hub, TOKEN_A, "r1", &set).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"inserted": 3, "updated": 0, "unchanged": 0, "deactivated": 0})
    );
    let again = put_codes(hub, TOKEN_A, "r1", &set).await;
    assert_eq!(again.header("idempotent-replay").as_deref(), Some("true"));
    assert_eq!(again.json(), r.json());
    let changed = json!({"source": "finesse", "codes": [
        code("1", 10, "Lunch break", "not_ready"),
        code("3", 10, "End of shift", "logout"),
    ]});
    let r = put_codes(hub, TOKEN_A, "r2", &changed).await;
    assert_eq!(
        r.json(),
        json!({"inserted": 0, "updated": 1, "unchanged": 1, "deactivated": 1})
    );
    // The same key with another body is refused (422 `conflict`, as for every write).
    let conflict = put_codes(hub, TOKEN_A, "r1", &changed).await;
    assert_eq!(
        conflict.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        conflict.text()
    );
    assert_eq!(conflict.code(), "conflict");
    let list = hub
        .get(wfm_protocol::routes::REASON_CODES, Some(TOKEN_A))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["source"], "finesse");
    assert_eq!(list[0]["label"], "Lunch break");
    assert_eq!(list[1]["active"], false);
    assert_eq!(list[2]["category"], "logout");
    // No key → 400; a duplicate id → 422.
    let no_key = send(
        hub,
        Method::PUT,
        wfm_protocol::routes::REASON_CODES,
        TOKEN_A,
        None,
        &set,
    )
    .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    let dup = json!({"source": "finesse", "codes": [code("1", 1, "a", "not_ready"), code("1", 2, "b", "not_ready")]});
    let r = put_codes(hub, TOKEN_A, "r3", &dup).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_reason_codes");
}

async fn live_duplicates_are_ignored_and_counted(hub: &TestHub) {
    let b = live(vec![
        ev("5001", 0, "logged_in", None),
        ev("5001", 1, "not_ready", Some(10)),
        ev("5001", 60, "ready", None),
    ]);
    assert_eq!(counts(&post(hub, TOKEN_A, "k1", &b).await), (3, 0, 0, 3));
    let replay = post(hub, TOKEN_A, "k1", &b).await;
    assert_eq!(replay.header("idempotent-replay").as_deref(), Some("true"));
    let again = live(vec![
        ev("5001", 60, "ready", None),
        ev("5001", 90, "reserved", None),
    ]);
    assert_eq!(
        counts(&post(hub, TOKEN_A, "k2", &again).await),
        (1, 1, 0, 1)
    );
    let got = timeline(hub, TOKEN_A, "agent=5001&", 0, 3600).await;
    assert_eq!(got.len(), 4);
    let text = hub.get("/metrics", None).await.text();
    assert!(
        text.contains(
            r#"wfm_hub_agent_state_events_total{project="alpha",outcome="unknown_agent"} 4"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"wfm_hub_agent_state_events_total{project="alpha",outcome="duplicate"} 1"#),
        "{text}"
    );
    let newest = (T0 + Duration::seconds(90)).unix_timestamp();
    assert!(
        text.contains(&format!(
            r#"wfm_hub_agent_state_last_event_timestamp_seconds{{project="alpha",source="cti"}} {newest}"#
        )),
        "{text}"
    );
}

async fn out_of_order_events_and_the_from_boundary(hub: &TestHub) {
    let codes = json!({"source": "finesse", "codes": [code("1", 10, "Lunch", "not_ready")]});
    assert_eq!(
        put_codes(hub, TOKEN_A, "r1", &codes).await.status,
        StatusCode::OK
    );
    post(
        hub,
        TOKEN_A,
        "k1",
        &live(vec![
            ev("a", 150, "ready", None),
            ev("b", 100, "talking", None),
        ]),
    )
    .await;
    // Late events: before both, and one before `from`.
    let late = live(vec![
        ev("a", 400, "logged_out", None),
        ev("a", -3600, "not_ready", Some(10)),
        ev("b", 50, "ready", None),
    ]);
    assert_eq!(counts(&post(hub, TOKEN_A, "k2", &late).await), (3, 0, 0, 3));
    let got = timeline(hub, TOKEN_A, "source=cti&", 100, 300).await;
    assert_eq!(
        got,
        vec![
            seg("a", -3600, 150, "not_ready", "Lunch"),
            seg("a", 150, 400, "ready", ""),
            seg("b", 100, -1, "talking", ""),
        ]
    );
}

async fn history_window_replaces_its_events(hub: &TestHub) {
    let first = history(
        0,
        3600,
        vec![
            ev("a", 0, "logged_in", None),
            ev("a", 100, "ready", None),
            ev("b", 50, "ready", None),
        ],
    );
    assert_eq!(
        counts(&post(hub, TOKEN_A, "k1", &first).await),
        (3, 0, 0, 3)
    );
    assert_eq!(
        counts(&post(hub, TOKEN_A, "k2", &first).await),
        (0, 3, 0, 0)
    );
    let corrected = history(
        0,
        3600,
        vec![ev("a", 0, "logged_in", None), ev("a", 120, "ready", None)],
    );
    assert_eq!(
        counts(&post(hub, TOKEN_A, "k3", &corrected).await),
        (1, 1, 2, 1)
    );
    let got = timeline(hub, TOKEN_A, "", 0, 3600).await;
    assert_eq!(
        got,
        vec![
            seg("a", 0, 120, "logged_in", ""),
            seg("a", 120, -1, "ready", "")
        ]
    );
}

async fn unknown_agents_are_flagged_and_kept(hub: &TestHub) {
    let sync = hub
        .sync(
            TOKEN_A,
            "s1",
            &snapshot("uccx", &[("1", "alice", "10")], &[("10", "Sales")]),
        )
        .await;
    assert_eq!(sync.status, StatusCode::OK, "{}", sync.text());
    // alice by agentId, "1" by external id, zed unknown.
    let b = live(vec![
        ev("alice", 0, "ready", None),
        ev("1", 0, "ready", None),
        ev("zed", 0, "ready", None),
    ]);
    assert_eq!(counts(&post(hub, TOKEN_A, "k1", &b).await), (3, 0, 0, 1));
    let got = timeline(hub, TOKEN_A, "agent=zed&", 0, 60).await;
    assert_eq!(got, vec![seg("zed", 0, -1, "ready", "")]);
    let latest = hub
        .state
        .store
        .latest_states(&wfm_model::ProjectId::new("alpha").unwrap())
        .await
        .unwrap();
    let flags: Vec<(&str, bool)> = latest
        .iter()
        .map(|l| (l.agent.as_str(), l.unknown_agent))
        .collect();
    assert_eq!(flags, vec![("1", false), ("alice", false), ("zed", true)]);
}

async fn invalid_batches_are_422_and_store_nothing(hub: &TestHub) {
    let mut unaligned = history(0, 60, Vec::new());
    unaligned["window"]["from"] = json!("2026-03-02T08:00:00.0005Z");
    let mut bad_gap = live(Vec::new());
    bad_gap["gaps"] = json!([{"from": ts(10), "to": ts(0), "reason": "reconnect"}]);
    let too_many = live((0..100_001).map(|i| ev("a", i, "ready", None)).collect());
    let cases = [
        (
            history(0, 60, vec![ev("a", 60, "ready", None)]),
            "outside the window",
        ),
        (unaligned, "window.from"),
        (live(vec![ev("", 0, "ready", None)]), "agent is empty"),
        (too_many, "at most 100000"),
        (bad_gap, "gap 1: to"),
    ];
    for (body, want) in &cases {
        let r = post(hub, TOKEN_A, "k1", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{want}: {}",
            r.text()
        );
        assert_eq!(r.code(), "invalid_batch");
        assert!(r.text().contains(want), "{want}: {}", r.text());
    }
    let no_key = send(
        hub,
        Method::POST,
        wfm_protocol::routes::AGENT_STATES,
        TOKEN_A,
        None,
        &live(Vec::new()),
    )
    .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    let bad_state = post(hub, TOKEN_A, "k1", &live(vec![ev("a", 0, "dancing", None)])).await;
    assert_eq!(
        bad_state.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_state.text()
    );
    assert!(timeline(hub, TOKEN_A, "", -100_000, 100_000)
        .await
        .is_empty());
    // The key was not used up.
    assert_eq!(
        counts(&post(hub, TOKEN_A, "k1", &live(vec![ev("a", 0, "ready", None)])).await),
        (1, 0, 0, 1)
    );
}

async fn bad_queries_are_400(hub: &TestHub) {
    let path = wfm_protocol::routes::AGENT_STATES;
    for query in [
        String::new(),
        format!("?from={}", ts(0)),
        format!("?from={}&to={}", ts(60), ts(0)),
        format!("?from={}&to={}", ts(0), ts(32 * 86_400)),
        "?from=yesterday&to=today".to_string(),
    ] {
        let r = hub.get(&format!("{path}{query}"), Some(TOKEN_A)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text());
    }
    let r = hub
        .get(
            &format!("{path}?from={}&to={}", ts(0), ts(31 * 86_400)),
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = hub
        .get(&format!("{path}?from={}&to={}", ts(0), ts(60)), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn projects_see_only_their_states(hub: &TestHub) {
    post(hub, TOKEN_A, "k1", &live(vec![ev("a", 0, "ready", None)])).await;
    let codes = json!({"source": "finesse", "codes": [code("1", 10, "Lunch", "not_ready")]});
    put_codes(hub, TOKEN_A, "r1", &codes).await;
    // The same key in the other project is independent.
    assert_eq!(
        counts(
            &post(
                hub,
                TOKEN_B,
                "k1",
                &live(vec![ev("b", 0, "not_ready", Some(10))])
            )
            .await
        ),
        (1, 0, 0, 1)
    );
    assert_eq!(
        timeline(hub, TOKEN_A, "", 0, 60).await,
        vec![seg("a", 0, -1, "ready", "")]
    );
    assert_eq!(
        timeline(hub, TOKEN_B, "", 0, 60).await,
        vec![seg("b", 0, -1, "not_ready", "")]
    );
    let list = hub
        .get(wfm_protocol::routes::REASON_CODES, Some(TOKEN_B))
        .await
        .json();
    assert_eq!(list, json!([]));
}

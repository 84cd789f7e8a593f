//! The hub API over SQLite, driven with `oneshot`: auth, isolation, sync, replay, hostile input,
//! limits, fallbacks, metrics and health.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{scenarios, snapshot, TestHub, TOKEN_A};

#[tokio::test]
async fn unauthorized_requests_learn_nothing() {
    scenarios::unauthorized_requests_learn_nothing(&TestHub::sqlite().await).await;
}

#[tokio::test]
async fn sync_then_read_back() {
    scenarios::sync_then_read_back(&TestHub::sqlite().await).await;
}

#[tokio::test]
async fn projects_are_isolated() {
    scenarios::projects_are_isolated(&TestHub::sqlite().await).await;
}

#[tokio::test]
async fn replay_returns_the_same_answer() {
    scenarios::replay_returns_the_same_answer(&TestHub::sqlite().await).await;
}

fn valid_body() -> Vec<u8> {
    serde_json::to_vec(&snapshot(
        "uccx-main",
        &[("u1", "alice", "t1")],
        &[("t1", "Sales")],
    ))
    .unwrap()
}

#[tokio::test]
async fn missing_or_invalid_idempotency_key_is_400() {
    let hub = TestHub::sqlite().await;
    let json = Some("application/json");
    let missing = hub.post_sync_raw(TOKEN_A, None, json, valid_body()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.code(), "invalid_request");
    assert!(
        missing.text().contains("Idempotency-Key"),
        "{}",
        missing.text()
    );
    for bad in ["has space", &"k".repeat(129)] {
        let resp = hub
            .post_sync_raw(TOKEN_A, Some(bad), json, valid_body())
            .await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(resp.text().contains("invalid Idempotency-Key"));
    }
    assert_eq!(hub.counts(TOKEN_A).await, (0, 0));
}

#[tokio::test]
async fn hostile_bodies_are_refused_and_nothing_is_stored() {
    let hub = TestHub::sqlite().await;
    let json = Some("application/json");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut deep_in_snapshot =
        String::from("{\"snapshot\":{\"source\":\"s\",\"users\":[],\"groups\":[],\"x\":");
    deep_in_snapshot.push_str(&"{\"a\":".repeat(5_000));
    deep_in_snapshot.push('1');
    deep_in_snapshot.push_str(&"}".repeat(5_000));
    deep_in_snapshot.push_str("},\"max_disable_ratio\":0.5}");
    let mut invalid_utf8 =
        b"{\"snapshot\":{\"source\":\"s\",\"users\":[{\"external_id\":\"u1\",\"username\":\""
            .to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    invalid_utf8.extend_from_slice(b"\"}],\"groups\":[]},\"max_disable_ratio\":0.5}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"{\"snapshot\": ".to_vec()),
        ("not an object", b"[1,2,3]".to_vec()),
        ("missing field", b"{\"snapshot\":{\"source\":\"s\",\"users\":[],\"groups\":[]}}".to_vec()),
        ("bad source id", b"{\"snapshot\":{\"source\":\"has space\",\"users\":[],\"groups\":[]},\"max_disable_ratio\":0.5}".to_vec()),
        ("ratio out of range", b"{\"snapshot\":{\"source\":\"s\",\"users\":[],\"groups\":[]},\"max_disable_ratio\":7}".to_vec()),
        ("deeply nested", deep.into_bytes()),
        ("deeply nested inside", deep_in_snapshot.into_bytes()),
        ("invalid utf-8", invalid_utf8),
        ("empty", Vec::new()),
    ];
    for (i, (name, body)) in cases.into_iter().enumerate() {
        let key = format!("hostile-{i}");
        let resp = hub.post_sync_raw(TOKEN_A, Some(&key), json, body).await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            resp.text()
        );
        assert_eq!(resp.code(), "invalid_request", "{name}");
        let message = resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with("the body is not a valid sync request")
                || message.contains("max_disable_ratio"),
            "{name}: {message}"
        );
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
    ] {
        let resp = hub
            .post_sync_raw(TOKEN_A, Some("ct-key"), ct, valid_body())
            .await;
        assert_eq!(resp.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(resp.code(), "unsupported_media_type");
    }
    let ok_ct = hub
        .post_sync_raw(
            TOKEN_A,
            Some("charset-key"),
            Some("application/json; charset=utf-8"),
            b"{".to_vec(),
        )
        .await;
    assert_eq!(
        ok_ct.status,
        StatusCode::BAD_REQUEST,
        "charset parameter is accepted"
    );
    assert_eq!(hub.counts(TOKEN_A).await, (0, 0));
}

#[tokio::test]
async fn oversize_body_is_413_json() {
    let hub = TestHub::sqlite_with_limit(4096).await;
    let big = vec![b' '; 10_000];
    let declared = hub
        .post_sync_raw(
            TOKEN_A,
            Some("big-1"),
            Some("application/json"),
            big.clone(),
        )
        .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(declared.code(), "payload_too_large");
    assert!(declared.text().contains("4096"));
    // Streamed without Content-Length: refused while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|_| Ok(vec![b' '; 1000])).collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/directory/sync")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .header("Idempotency-Key", "big-2")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let streamed = hub.send(request).await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        streamed.text()
    );
    assert_eq!(streamed.code(), "payload_too_large");
    let small = hub
        .post_sync_raw(
            TOKEN_A,
            Some("small"),
            Some("application/json"),
            valid_body(),
        )
        .await;
    assert_eq!(small.status, StatusCode::OK, "{}", small.text());
    assert_eq!(hub.counts(TOKEN_A).await, (1, 1));
}

#[tokio::test]
async fn page_limit_above_1000_is_400() {
    let hub = TestHub::sqlite().await;
    for path in [
        "/api/v1/users?limit=1001",
        "/api/v1/groups?limit=5000",
        "/api/v1/sync-runs?limit=1001",
        "/api/v1/users?limit=0",
        "/api/v1/users?limit=abc",
        "/api/v1/users?enabled=maybe",
    ] {
        let resp = hub.get(path, Some(TOKEN_A)).await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            resp.text()
        );
        assert_eq!(resp.code(), "invalid_request");
    }
    assert_eq!(
        hub.get("/api/v1/users?limit=1000", Some(TOKEN_A))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let hub = TestHub::sqlite().await;
    let unknown = hub.get("/api/v2/users", Some(TOKEN_A)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
    let unknown_no_auth = hub.get("/nope", None).await;
    assert_eq!(unknown_no_auth.status, StatusCode::NOT_FOUND);
    let wrong = hub
        .send(
            Request::builder()
                .method(Method::DELETE)
                .uri("/api/v1/users")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.code(), "method_not_allowed");
    assert_eq!(wrong.header("allow").as_deref(), Some("GET,HEAD"));
    let get_sync = hub.get("/api/v1/directory/sync", Some(TOKEN_A)).await;
    assert_eq!(get_sync.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let hub = TestHub::sqlite().await;
    hub.get("/api/v1/users/abc123", Some(TOKEN_A)).await;
    hub.get("/api/v1/users/def456", Some(TOKEN_A)).await;
    hub.get("/api/v1/users", None).await;
    hub.get("/no/such/route", None).await;
    let resp = hub.get("/metrics", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    let content_type = resp.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text")
            || content_type.starts_with("text/plain")
    );
    let text = resp.text();
    assert!(
        text.contains("wfm_hub_http_requests_total{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"404\"} 2"),
        "{text}"
    );
    assert!(text.contains(
        "wfm_hub_http_requests_total{route=\"/api/v1/users\",method=\"GET\",status=\"401\"} 1"
    ));
    assert!(text.contains("route=\"unmatched\""));
    assert!(!text.contains("abc123") && !text.contains("def456"));
    assert!(text.contains("wfm_hub_http_request_duration_seconds_bucket{"));
}

#[tokio::test]
async fn healthz_reports_the_backend_without_auth() {
    let hub = TestHub::sqlite().await;
    let resp = hub.get("/healthz", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.json(),
        serde_json::json!({"status": "ok", "storage": "sqlite"})
    );
}

#[tokio::test]
async fn people_are_linked_across_sources() {
    scenarios::people_are_linked_across_sources(&TestHub::sqlite().await).await;
}

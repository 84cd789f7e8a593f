//! Hostile input against every JSON entry point of the hub, table-driven, on SQLite and
//! PostgreSQL: deep nesting (10,000 levels), 100,000 attributes, invalid UTF-8, huge numbers
//! (1e400, 2^64+1), XML bombs (billion laughs, XXE) sent to a JSON route, and a 100 MB body
//! streamed without a length. Each answer is a clear 4xx (400/413/415/422) with a JSON error
//! body, and afterwards nothing is stored (read back through the API).

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use common::{TestHub, TOKEN_A};
use futures::stream;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// Every JSON entry point: method, path, content type. The bulk path is in its own table below:
/// its create call needs a configured `[bulk]` (404 without).
const ENTRY_POINTS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/directory/sync", "application/json"),
    ("POST", "/api/v1/intervals", "application/json"),
    ("POST", "/api/v1/agent-states", "application/json"),
    ("PUT", "/api/v1/reason-codes", "application/json"),
    ("PUT", "/api/v1/schedules", "application/json"),
    ("PUT", "/api/v1/adherence/rules", "application/json"),
    ("POST", "/api/v1/adherence/exceptions", "application/json"),
    ("POST", "/scim/v2/Users", "application/scim+json"),
    ("POST", "/scim/v2/Groups", "application/scim+json"),
];

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"#;
const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#;

/// (name, body, content type override).
fn payloads() -> Vec<(&'static str, Vec<u8>, Option<&'static str>)> {
    let depth = 10_000;
    let mut deep = "[".repeat(depth);
    deep.push_str(&"]".repeat(depth));
    let mut deep_object = "{\"a\":".repeat(depth);
    deep_object.push('1');
    deep_object.push_str(&"}".repeat(depth));
    let mut wide = String::from("{");
    for i in 0..100_000 {
        if i > 0 {
            wide.push(',');
        }
        wide.push_str(&format!("\"a{i}\":{i}"));
    }
    wide.push('}');
    let mut bad_utf8 = b"{\"snapshot\":\"".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    bad_utf8.extend_from_slice(b"\"}");
    vec![
        ("deep array", deep.into_bytes(), None),
        ("deep object", deep_object.into_bytes(), None),
        ("100k attributes", wide.into_bytes(), None),
        ("invalid utf-8", bad_utf8, None),
        ("1e400", b"{\"schemas\":1e400,\"n\":1e400}".to_vec(), None),
        (
            "2^64+1",
            b"{\"schemas\":18446744073709551617}".to_vec(),
            None,
        ),
        (
            "billion laughs as json",
            BILLION_LAUGHS.as_bytes().to_vec(),
            None,
        ),
        (
            "billion laughs as xml",
            BILLION_LAUGHS.as_bytes().to_vec(),
            Some("application/xml"),
        ),
        ("xxe as xml", XXE.as_bytes().to_vec(), Some("text/xml")),
    ]
}

fn request(method: &str, path: &str, content_type: &str, key: &str, body: Body) -> Request<Body> {
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST);
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .header(header::CONTENT_TYPE, content_type)
        .header("Idempotency-Key", key)
        .body(body)
        .unwrap_or_else(|e| panic!("request {path}: {e}"))
}

/// 100 MB in 1 MiB chunks, streamed (no Content-Length), never held in memory at once.
fn hundred_megabytes() -> Body {
    let chunk = bytes::Bytes::from(vec![b'['; 1024 * 1024]);
    let chunks = (0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    Body::from_stream(stream::iter(chunks))
}

async fn hostile_input_is_refused_and_nothing_is_stored(hub: &TestHub) {
    let mut n = 0;
    for (method, path, content_type) in ENTRY_POINTS {
        for (name, body, ct) in payloads() {
            n += 1;
            let ct = ct.unwrap_or(content_type);
            let key = format!("hostile-{n}");
            let resp = hub
                .send(request(method, path, ct, &key, Body::from(body)))
                .await;
            let status = resp.status.as_u16();
            assert!(
                [400, 413, 415, 422].contains(&status),
                "{method} {path} with {name}: {status} {}",
                resp.text()
            );
            let text = resp.text();
            assert!(
                text.contains("error") || text.contains("detail"),
                "{method} {path} with {name}: no error body: {text}"
            );
        }
        n += 1;
        let key = format!("hostile-{n}");
        let resp = hub
            .send(request(
                method,
                path,
                content_type,
                &key,
                hundred_megabytes(),
            ))
            .await;
        assert_eq!(
            resp.status.as_u16(),
            413,
            "{method} {path} with 100 MB: {}",
            resp.text()
        );
    }
    nothing_stored(hub).await;
}

async fn nothing_stored(hub: &TestHub) {
    let empty_lists = ["/api/v1/users", "/api/v1/groups", "/api/v1/sync-runs"];
    for path in empty_lists {
        let body = hub.get(path, Some(TOKEN_A)).await.json();
        let items = body
            .as_object()
            .and_then(|o| o.values().find_map(|v| v.as_array()))
            .map(Vec::len);
        assert_eq!(
            items,
            Some(0),
            "{path} holds data after hostile input: {body}"
        );
    }
    for path in ["/api/v1/queues", "/api/v1/reason-codes"] {
        let body = hub.get(path, Some(TOKEN_A)).await.json();
        assert_eq!(body, serde_json::json!([]), "{path} holds data: {body}");
    }
    for path in ["/scim/v2/Users", "/scim/v2/Groups"] {
        let body = hub.get(path, Some(TOKEN_A)).await.json();
        assert_eq!(body["totalResults"], 0, "{path} holds data: {body}");
    }
    let range = "from=2000-01-01T00:00:00Z&to=2000-01-20T00:00:00Z";
    let states = hub
        .get(&format!("/api/v1/agent-states?{range}"), Some(TOKEN_A))
        .await
        .json();
    assert_eq!(
        states,
        serde_json::json!([]),
        "agent states stored: {states}"
    );
}

/// A 4 MiB limit, so that the 100k-attribute object reaches the parser.
const LIMIT: usize = 4 * 1024 * 1024;

#[tokio::test]
async fn sqlite_hostile_input_is_refused_and_nothing_is_stored() {
    hostile_input_is_refused_and_nothing_is_stored(&TestHub::sqlite_with_limit(LIMIT).await).await;
}

#[tokio::test]
async fn postgres_hostile_input_is_refused_and_nothing_is_stored() {
    hostile_input_is_refused_and_nothing_is_stored(&TestHub::postgres_with_limit(LIMIT).await)
        .await;
}

/// The hub's router with `[bulk]` configured. The object store is a closed loopback port: a
/// hostile body must be refused before anything is signed or fetched, and signing a valid
/// request needs no I/O.
fn with_bulk(hub: &TestHub) -> axum::Router {
    let cfg = wfm_config::BulkConfig {
        endpoint: Some("http://127.0.0.1:9".to_string()),
        bucket: "wfm-hostile".to_string(),
        region: "us-east-1".to_string(),
        access_key_id: Some("hostile-access-key".to_string()),
        secret_access_key: Some(wfm_config::Secret::new("hostile-secret-key")),
        allow_http: true,
        url_ttl: std::time::Duration::from_secs(15 * 60),
        prefix: "wfm-bulk/".to_string(),
        max_object_bytes: 16 * 1024 * 1024,
    };
    let bulk = wfm_hub::routes::bulk::Bulk::from_config(&cfg).unwrap();
    wfm_hub::app(wfm_hub::AppState {
        bulk,
        ..hub.state.clone()
    })
}

async fn send_to(router: &axum::Router, request: Request<Body>) -> (u16, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `POST /api/v1/bulk/uploads` with every payload and 100 MB: a clear 4xx, no upload handed
/// out. `POST /api/v1/bulk/uploads/{id}/ingest` never reads its request body (the batch comes
/// from object storage): with the same bodies on an unknown id it answers 404 at once. A valid
/// create afterwards answers 201, so the 4xx above are not "bulk not configured".
async fn bulk_refuses_hostile_input(hub: &TestHub) {
    let router = with_bulk(hub);
    let create = "/api/v1/bulk/uploads";
    let ingest = "/api/v1/bulk/uploads/no-such-upload/ingest";
    for (n, (name, body, ct)) in payloads().into_iter().enumerate() {
        let ct = ct.unwrap_or("application/json");
        let key = format!("bulk-hostile-{n}");
        let (status, text) = send_to(
            &router,
            request("POST", create, ct, &key, Body::from(body.clone())),
        )
        .await;
        assert!(
            [400, 413, 415, 422].contains(&status),
            "POST {create} with {name}: {status} {text}"
        );
        assert!(
            text.contains("error") && !text.contains("upload_id"),
            "POST {create} with {name}: {text}"
        );
        let (status, text) =
            send_to(&router, request("POST", ingest, ct, &key, Body::from(body))).await;
        assert_eq!(status, 404, "POST {ingest} with {name}: {text}");
        assert!(!text.contains("bulk_not_configured"), "{text}");
    }
    let (status, text) = send_to(
        &router,
        request(
            "POST",
            create,
            "application/json",
            "bulk-big",
            hundred_megabytes(),
        ),
    )
    .await;
    assert_eq!(status, 413, "POST {create} with 100 MB: {text}");
    let (status, text) = send_to(
        &router,
        request(
            "POST",
            ingest,
            "application/json",
            "bulk-big-2",
            hundred_megabytes(),
        ),
    )
    .await;
    assert_eq!(status, 404, "POST {ingest} with 100 MB: {text}");
    nothing_stored(hub).await;
    let valid = serde_json::json!({"route": "intervals", "bytes": 10, "sha256": "a".repeat(64)});
    let (status, text) = send_to(
        &router,
        request(
            "POST",
            create,
            "application/json",
            "bulk-valid",
            Body::from(valid.to_string()),
        ),
    )
    .await;
    assert_eq!(status, 201, "a valid create in the same rig: {text}");
}

#[tokio::test]
async fn sqlite_bulk_refuses_hostile_input() {
    bulk_refuses_hostile_input(&TestHub::sqlite_with_limit(LIMIT).await).await;
}

#[tokio::test]
async fn postgres_bulk_refuses_hostile_input() {
    bulk_refuses_hostile_input(&TestHub::postgres_with_limit(LIMIT).await).await;
}

//! The bulk path against a real S3 implementation (moto's server on a loopback port): presign →
//! encrypted `PUT` with reqwest → ingest → data visible through the normal GET route; the same
//! Idempotency-Key twice is applied once; another project's upload id is 404; expired → 410;
//! tampered or resized object → 422; nothing uploaded → 409; too big → 413; bulk not configured
//! → 404 `bulk_not_configured`. Every scenario runs on SQLite and on PostgreSQL.

#[path = "support/bulk_hub.rs"]
mod bulk_hub;
mod common;
#[path = "support/moto.rs"]
mod moto;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use bulk_hub::*;
use common::{fixed_now, TestHub, TOKEN_A, TOKEN_B};
use serde_json::json;
use time::Duration;

/// Runs a scenario on a SQLite hub and on a PostgreSQL hub, each with its own moto server.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let hub = super::TestHub::sqlite_with_limit(1024 * 1024).await;
                    super::$name(super::BulkHub::over(hub).await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let hub = super::TestHub::postgres_with_limit(1024 * 1024).await;
                    super::$name(super::BulkHub::over(hub).await).await;
                }
            }
        )*
    };
}

both_backends!(
    round_trip_idempotency_and_isolation,
    expired_missing_tampered_and_too_big,
);

async fn round_trip_idempotency_and_isolation(hub: BulkHub) {
    let plaintext = interval_batch(24);
    let grant = hub.upload("intervals", &plaintext).await;
    assert!(grant.url.starts_with(&hub.moto.endpoint), "{}", grant.url);
    assert!(grant.expires_at > fixed_now());
    let object = format!("wfm-bulk/alpha/{}", grant.upload_id);
    assert_eq!(hub.moto.keys(BUCKET).await, vec![object.clone()]);
    // Object storage holds ciphertext only.
    let stored = reqwest::get(format!("{}/{BUCKET}/{object}", hub.moto.endpoint))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        !stored.windows(6).any(|w| w == b"\"uccx\""),
        "plaintext in object storage"
    );

    // Another project can neither ingest nor learn about alpha's upload.
    let foreign = hub.ingest(TOKEN_B, &grant.upload_id, "k-1").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text());
    assert_eq!(foreign.code(), "not_found");

    let first = hub.ingest(TOKEN_A, &grant.upload_id, "k-1").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.header("idempotent-replay"), None);
    assert_eq!(first.json()["inserted"], json!(96), "{}", first.text());
    // The data is visible through the normal route, and the object is gone.
    let read = hub.get_json(&intervals_path(24), TOKEN_A).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(rows_of(&read.json()), 96, "{}", read.text());
    assert!(hub.moto.keys(BUCKET).await.is_empty());

    // The same key again: the stored answer, applied once.
    let again = hub.ingest(TOKEN_A, &grant.upload_id, "k-1").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.header("idempotent-replay").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json());
    // Another key on a consumed upload: a conflict, not a second apply.
    let other = hub.ingest(TOKEN_A, &grant.upload_id, "k-2").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text());
    assert_eq!(other.code(), "upload_conflict");

    // A re-upload of the same batch under the same key (importer retry after a crash) and the
    // direct route with that key both replay: the batch is applied once whichever way it comes.
    let retry = hub.upload("intervals", &plaintext).await;
    let replayed = hub.ingest(TOKEN_A, &retry.upload_id, "k-1").await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text());
    assert_eq!(
        replayed.header("idempotent-replay").as_deref(),
        Some("true")
    );
    assert_eq!(replayed.json(), first.json());
    let direct = hub
        .post_direct("/api/v1/intervals", "k-1", &plaintext)
        .await;
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.text());
    assert_eq!(direct.header("idempotent-replay").as_deref(), Some("true"));
    let read = hub.get_json(&intervals_path(24), TOKEN_A).await;
    assert_eq!(rows_of(&read.json()), 96);
    let beta = hub.get_json(&intervals_path(24), TOKEN_B).await;
    assert_eq!(rows_of(&beta.json()), 0, "{}", beta.text());

    // The direct route's validation applies unchanged: an invalid batch is its 422.
    let bad = br#"{"source":"uccx","interval_minutes":7,"time_zone":"Europe/Berlin","origin":"uccx_legs","window":{"from":"2026-03-02T08:00:00Z","to":"2026-03-02T09:00:00Z"},"queues":[],"rows":[]}"#;
    let grant = hub.upload("intervals", bad).await;
    let rejected = hub.ingest(TOKEN_A, &grant.upload_id, "k-bad").await;
    let direct = hub
        .post_direct("/api/v1/intervals", "k-bad-direct", bad)
        .await;
    assert_eq!(rejected.status, direct.status, "{}", rejected.text());
    assert_eq!(rejected.code(), direct.code());

    // Agent states go through their own route too.
    let states = state_batch();
    let grant = hub.upload("agent_states", &states).await;
    let applied = hub.ingest(TOKEN_A, &grant.upload_id, "k-states").await;
    let direct = hub
        .post_direct("/api/v1/agent-states", "k-states", &states)
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text());
    assert_eq!(applied.json()["accepted"], json!(1), "{}", applied.text());
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.text());
    assert_eq!(direct.header("idempotent-replay").as_deref(), Some("true"));
}

async fn expired_missing_tampered_and_too_big(hub: BulkHub) {
    let plaintext = interval_batch(1);

    // Nothing uploaded: 409, and it stays retriable (upload, then ingest works).
    let grant = hub.grant("intervals", &plaintext).await;
    let missing = hub.ingest(TOKEN_A, &grant.upload_id, "m-1").await;
    assert_eq!(missing.status, StatusCode::CONFLICT, "{}", missing.text());
    assert_eq!(missing.code(), "upload_missing");
    assert!(
        missing.text().contains("pre-signed URL"),
        "{}",
        missing.text()
    );
    // The first ingest bound the upload to its key: another key cannot apply it.
    let other_key = hub.ingest(TOKEN_A, &grant.upload_id, "m-2").await;
    assert_eq!(
        other_key.status,
        StatusCode::CONFLICT,
        "{}",
        other_key.text()
    );
    assert_eq!(other_key.code(), "upload_conflict");
    put_signed(&grant, encrypt(&grant, &plaintext)).await;
    let later = hub.ingest(TOKEN_A, &grant.upload_id, "m-1").await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text());

    // Tampered ciphertext (same size): 422, nothing applied.
    let other = interval_batch(2);
    let grant = hub.grant("intervals", &other).await;
    let mut blob = encrypt(&grant, &other);
    let middle = blob.len() / 2;
    blob[middle] ^= 0x01;
    put_signed(&grant, blob).await;
    let tampered = hub.ingest(TOKEN_A, &grant.upload_id, "t-1").await;
    assert_eq!(
        tampered.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        tampered.text()
    );
    assert_eq!(tampered.code(), "upload_corrupt");
    let read = hub.get_json(&intervals_path(2), TOKEN_A).await;
    assert_eq!(
        rows_of(&read.json()),
        4,
        "only the first hour is stored: {}",
        read.text()
    );

    // Wrong size (overwritten behind the hub's back): 422 before decrypting.
    let grant = hub.upload("intervals", &other).await;
    let object = format!("wfm-bulk/alpha/{}", grant.upload_id);
    overwrite(&hub.moto, &object, b"short".to_vec()).await;
    let resized = hub.ingest(TOKEN_A, &grant.upload_id, "t-2").await;
    assert_eq!(
        resized.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resized.text()
    );
    assert_eq!(resized.code(), "upload_corrupt");

    // A valid blob of another upload (same size): the AAD binds it to its upload id.
    let first = hub.grant("intervals", &other).await;
    let second = hub.grant("intervals", &other).await;
    put_signed(&second, encrypt(&first, &other)).await;
    let swapped = hub.ingest(TOKEN_A, &second.upload_id, "t-3").await;
    assert_eq!(
        swapped.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        swapped.text()
    );

    // Expired: 410.
    let grant = hub.upload("intervals", &other).await;
    hub.advance(Duration::minutes(16));
    let expired = hub.ingest(TOKEN_A, &grant.upload_id, "e-1").await;
    assert_eq!(expired.status, StatusCode::GONE, "{}", expired.text());
    assert_eq!(expired.code(), "upload_expired");

    // Too big, unknown route, bad hash: refused before any URL is handed out.
    let big = hub
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/bulk/uploads")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"route": "intervals", "bytes": 1u64 << 40, "sha256": "a".repeat(64)})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.text());
    assert!(big.text().contains("max_object_bytes"), "{}", big.text());
    let bad = hub.create(TOKEN_A, "users", b"{}").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    let unknown = hub.ingest(TOKEN_A, "no-such-upload", "x").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anonymous = hub
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/bulk/uploads")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Without `[bulk]` both routes say so (no moto needed).
async fn bulk_not_configured(hub: &TestHub) {
    let body = json!({"route": "intervals", "bytes": 10, "sha256": "a".repeat(64)}).to_string();
    let create = hub
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/bulk/uploads")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(create.status, StatusCode::NOT_FOUND, "{}", create.text());
    assert_eq!(create.code(), "bulk_not_configured");
    assert!(create.text().contains("[bulk]"), "{}", create.text());
    let ingest = hub
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/bulk/uploads/some-id/ingest")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
                .header("Idempotency-Key", "k")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(ingest.status, StatusCode::NOT_FOUND);
    assert_eq!(ingest.code(), "bulk_not_configured");
}

#[tokio::test]
async fn bulk_not_configured_sqlite() {
    bulk_not_configured(&TestHub::sqlite().await).await;
}

#[tokio::test]
async fn bulk_not_configured_postgres() {
    bulk_not_configured(&TestHub::postgres().await).await;
}

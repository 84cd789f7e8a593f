//! The bulk path against a real S3 implementation (moto's server on a loopback port): presign →
//! encrypted `PUT` with reqwest → ingest → data visible through the normal GET route; the same
//! Idempotency-Key twice is applied once; another project's upload id is 404; expired → 410;
//! tampered or resized object → 422; nothing uploaded → 409; too big → 413; bulk not configured
//! → 404 `bulk_not_configured`. Every scenario runs on SQLite and on PostgreSQL.

mod common;
#[path = "support/moto.rs"]
mod moto;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use common::{fixed_now, Resp, TestHub, TOKEN_A, TOKEN_B};
use http_body_util::BodyExt as _;
use moto::Moto;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;
use wfm_crypto::{Cipher, DataKey, DataKeyId};
use wfm_hub::routes::bulk::Bulk;
use wfm_hub::{app, AppState};
use wfm_protocol::bulk::{bulk_aad, bulk_key_id, BulkUploadResponse};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalFigures, IntervalOrigin, IntervalRow, QueueInfo, TimeRange,
};
use wfm_protocol::states::{AgentState, StateBatch, StateEvent};

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

const BUCKET: &str = "wfm-test";
const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

/// A hub with `[bulk]` pointing at its own moto server and a clock the test can move.
struct BulkHub {
    _hub: TestHub,
    router: Router,
    moto: Moto,
    offset_secs: Arc<AtomicI64>,
}

impl BulkHub {
    async fn over(hub: TestHub) -> BulkHub {
        let moto = Moto::start().await;
        moto.create_bucket(BUCKET).await;
        let bulk = Bulk::from_config(&moto.bulk_config(BUCKET)).unwrap();
        let offset_secs = Arc::new(AtomicI64::new(0));
        let offset = offset_secs.clone();
        let state = AppState {
            bulk,
            clock: Arc::new(move || fixed_now() + Duration::seconds(offset.load(Ordering::SeqCst))),
            ..hub.state.clone()
        };
        BulkHub {
            router: app(state),
            _hub: hub,
            moto,
            offset_secs,
        }
    }

    /// Sends one request through the bulk-enabled router.
    async fn send(&self, request: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }

    async fn create(&self, token: &str, route: &str, plaintext: &[u8]) -> Resp {
        let body =
            json!({"route": route, "bytes": plaintext.len(), "sha256": sha256_hex(plaintext)});
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/bulk/uploads")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn ingest(&self, token: &str, upload_id: &str, key: &str) -> Resp {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/bulk/uploads/{upload_id}/ingest"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header("Idempotency-Key", key)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Asks for an upload of `plaintext` for `route` and answers the grant.
    async fn grant(&self, route: &str, plaintext: &[u8]) -> BulkUploadResponse {
        let resp = self.create(TOKEN_A, route, plaintext).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
        serde_json::from_slice(&resp.body).unwrap()
    }

    /// Asks for an upload, encrypts `plaintext` with its key and PUTs it to the signed URL.
    async fn upload(&self, route: &str, plaintext: &[u8]) -> BulkUploadResponse {
        let grant = self.grant(route, plaintext).await;
        put_signed(&grant, encrypt(&grant, plaintext)).await;
        grant
    }

    async fn get_json(&self, path: &str, token: &str) -> Resp {
        self.send(
            Request::builder()
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post_direct(&self, path: &str, key: &str, body: &[u8]) -> Resp {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(Body::from(body.to_vec()))
                .unwrap(),
        )
        .await
    }
}

/// Overwrites an object behind the hub's back (a signed `PUT` with the test credentials).
async fn overwrite(moto: &Moto, key: &str, body: Vec<u8>) {
    use object_store::ObjectStore as _;
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_allow_http(true)
        .with_bucket_name(BUCKET)
        .with_region(moto::REGION)
        .with_access_key_id(moto::ACCESS_KEY)
        .with_secret_access_key(moto::SECRET_KEY)
        .build()
        .unwrap();
    s3.put(&object_store::path::Path::from(key), body.into())
        .await
        .unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the importer does: AES-256-GCM with the granted key, bound to the upload id.
fn encrypt(grant: &BulkUploadResponse, plaintext: &[u8]) -> Vec<u8> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&grant.data_key)
        .unwrap();
    let bytes: [u8; 32] = bytes.try_into().unwrap();
    let key = DataKey::from_bytes(
        DataKeyId::new(bulk_key_id(&grant.upload_id)).unwrap(),
        &bytes,
    );
    Cipher::new(&key)
        .encrypt(plaintext, &bulk_aad(&grant.upload_id))
        .unwrap()
}

/// The PUT to the pre-signed URL, with reqwest over the loopback socket (no hub involved).
async fn put_signed(grant: &BulkUploadResponse, body: Vec<u8>) {
    assert_eq!(grant.method, "PUT");
    let resp = reqwest::Client::new()
        .put(&grant.url)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "PUT to the signed URL: {status}: {}",
        resp.text().await.unwrap_or_default()
    );
}

/// An interval batch of source `uccx`, one queue, `[T0, T0 + hours)` (JSON bytes).
fn interval_batch(hours: i64) -> Vec<u8> {
    let to = T0 + Duration::hours(hours);
    let mut rows = Vec::new();
    let mut start = T0;
    while start < to {
        rows.push(IntervalRow {
            queue: "q1".into(),
            start,
            figures: IntervalFigures {
                presented: 2,
                handled: 2,
                talk_ms: 120_000,
                work_ms: 60_000,
                answer_wait_ms: 10_000,
                answered_within_sl: 2,
                ..IntervalFigures::default()
            },
        });
        start += Duration::minutes(15);
    }
    let batch = IntervalBatch {
        source: "uccx".into(),
        interval_minutes: 15,
        time_zone: "Europe/Berlin".into(),
        origin: IntervalOrigin::UccxLegs,
        window: TimeRange { from: T0, to },
        queues: vec![QueueInfo {
            id: "q1".into(),
            name: "Queue 1".into(),
        }],
        rows,
    };
    serde_json::to_vec(&batch).unwrap()
}

/// A live state batch of source `cti` with one event.
fn state_batch() -> Vec<u8> {
    let batch = StateBatch {
        source: "cti".into(),
        window: None,
        events: vec![StateEvent {
            agent: "5001".into(),
            at: T0,
            state: AgentState::Ready,
            reason_code: None,
            raw: "3".into(),
        }],
        gaps: vec![],
    };
    serde_json::to_vec(&batch).unwrap()
}

fn intervals_path(hours: i64) -> String {
    format!(
        "/api/v1/intervals?from=2026-03-02T08:00:00Z&to={}",
        (T0 + Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    )
}

fn rows_of(v: &Value) -> usize {
    v["intervals"].as_array().map(Vec::len).unwrap_or(0)
}

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

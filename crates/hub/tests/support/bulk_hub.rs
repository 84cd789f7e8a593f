//! The bulk tests' harness: a hub router with `[bulk]` on a moto server and a movable clock,
//! and what an importer does (grant, encrypt, PUT to the signed URL, ingest).

#![allow(dead_code)]

use crate::common::{fixed_now, Resp, TestHub, TOKEN_A};
use crate::moto::{self, Moto};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt as _;
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

pub const BUCKET: &str = "wfm-test";
pub const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

/// A hub with `[bulk]` pointing at its own moto server and a clock the test can move.
pub struct BulkHub {
    _hub: TestHub,
    pub router: Router,
    pub moto: Moto,
    offset_secs: Arc<AtomicI64>,
}

impl BulkHub {
    pub async fn over(hub: TestHub) -> BulkHub {
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
    pub async fn send(&self, request: Request<Body>) -> Resp {
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

    pub fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }

    pub async fn create(&self, token: &str, route: &str, plaintext: &[u8]) -> Resp {
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

    pub async fn ingest(&self, token: &str, upload_id: &str, key: &str) -> Resp {
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
    pub async fn grant(&self, route: &str, plaintext: &[u8]) -> BulkUploadResponse {
        let resp = self.create(TOKEN_A, route, plaintext).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
        serde_json::from_slice(&resp.body).unwrap()
    }

    /// Asks for an upload, encrypts `plaintext` with its key and PUTs it to the signed URL.
    pub async fn upload(&self, route: &str, plaintext: &[u8]) -> BulkUploadResponse {
        let grant = self.grant(route, plaintext).await;
        put_signed(&grant, encrypt(&grant, plaintext)).await;
        grant
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Resp {
        self.send(
            Request::builder()
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_direct(&self, path: &str, key: &str, body: &[u8]) -> Resp {
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
pub async fn overwrite(moto: &Moto, key: &str, body: Vec<u8>) {
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the importer does: AES-256-GCM with the granted key, bound to the upload id.
pub fn encrypt(grant: &BulkUploadResponse, plaintext: &[u8]) -> Vec<u8> {
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
pub async fn put_signed(grant: &BulkUploadResponse, body: Vec<u8>) {
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
pub fn interval_batch(hours: i64) -> Vec<u8> {
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
pub fn state_batch() -> Vec<u8> {
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

pub fn intervals_path(hours: i64) -> String {
    format!(
        "/api/v1/intervals?from=2026-03-02T08:00:00Z&to={}",
        (T0 + Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    )
}

pub fn rows_of(v: &Value) -> usize {
    v["intervals"].as_array().map(Vec::len).unwrap_or(0)
}

//! Shared test harness: a hub router over a fresh SQLite file or a fresh PostgreSQL database,
//! driven with `oneshot` (no socket), and the scenarios both backends must pass.

#![allow(dead_code)]

pub mod scenarios;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;
use tower::ServiceExt as _;
use wfm_hub::{app, AppState, ProjectTokens};
use wfm_model::ProjectId;
use wfm_store::testing::TestDatabase;
use wfm_store::Store;
use wfm_telemetry::Metrics;

/// Token of project `alpha`.
pub const TOKEN_A: &str = "alpha-token-0123456789abcdef0123456789abcdef";
/// Token of project `beta`.
pub const TOKEN_B: &str = "beta-token-0123456789abcdef0123456789abcdef0";

/// The fixed "now" of every test hub.
pub fn fixed_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A hub router with its state and the storage it owns.
pub struct TestHub {
    /// The router under test.
    pub router: Router,
    /// Its state.
    pub state: AppState,
    _db: TestDatabase,
}

/// One response, fully read.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)),
        }
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of an ErrorBody response.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

async fn state_for(store: Store, max_body_bytes: usize) -> AppState {
    let alpha = ProjectId::new("alpha").unwrap();
    let beta = ProjectId::new("beta").unwrap();
    let roles = vec!["agent".to_string(), "supervisor".to_string()];
    store
        .ensure_project(&alpha, Some("Alpha"), &roles)
        .await
        .unwrap();
    store
        .ensure_project(&beta, Some("Beta"), &roles)
        .await
        .unwrap();
    AppState {
        store,
        projects: Arc::new(ProjectTokens::new([(alpha, TOKEN_A), (beta, TOKEN_B)])),
        metrics: Metrics::new(),
        max_body_bytes,
        clock: Arc::new(fixed_now),
        match_rules: Arc::default(),
        interval_metrics: Default::default(),
        adherence: Default::default(),
        state_metrics: Default::default(),
        bulk: Default::default(),
    }
}

impl TestHub {
    /// A hub over a fresh SQLite file (64 KiB body limit).
    pub async fn sqlite() -> TestHub {
        Self::sqlite_with_limit(64 * 1024).await
    }

    /// A hub over a fresh SQLite file with a given body limit.
    pub async fn sqlite_with_limit(max_body_bytes: usize) -> TestHub {
        Self::over(TestDatabase::sqlite(), max_body_bytes).await
    }

    /// A hub over a fresh PostgreSQL database (created now, dropped with the hub).
    pub async fn postgres() -> TestHub {
        Self::postgres_with_limit(64 * 1024).await
    }

    /// A hub over a fresh PostgreSQL database with a given body limit.
    pub async fn postgres_with_limit(max_body_bytes: usize) -> TestHub {
        Self::over(TestDatabase::postgres().await, max_body_bytes).await
    }

    async fn over(db: TestDatabase, max_body_bytes: usize) -> TestHub {
        // Every router test runs with encryption at rest on, as `serve` does by default.
        let store = Store::open(db.url(), 4)
            .await
            .unwrap()
            .with_encryption(wfm_store::testing::kek());
        let state = state_for(store, max_body_bytes).await;
        TestHub {
            router: app(state.clone()),
            state,
            _db: db,
        }
    }

    /// Sends one request through the router.
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

    /// `GET path` with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut builder = Request::builder().method(Method::GET).uri(path);
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(builder.body(Body::empty()).unwrap()).await
    }

    /// `POST /api/v1/directory/sync` with raw bytes, a content type and an optional key.
    pub async fn post_sync_raw(
        &self,
        token: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(wfm_protocol::routes::DIRECTORY_SYNC)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(k) = key {
            builder = builder.header("Idempotency-Key", k);
        }
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// `POST /api/v1/directory/sync` with a JSON body and a key.
    pub async fn sync(&self, token: &str, key: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).unwrap();
        self.post_sync_raw(token, Some(key), Some("application/json"), bytes)
            .await
    }

    /// Counts users and sync runs visible to a token (to prove nothing was stored).
    pub async fn counts(&self, token: &str) -> (u64, u64) {
        let users = self.get("/api/v1/users", Some(token)).await.json();
        let runs = self.get("/api/v1/sync-runs", Some(token)).await.json();
        (
            users["total"].as_u64().unwrap(),
            runs["total"].as_u64().unwrap(),
        )
    }
}

/// A sync request for `source` with users `(external_id, username, team)` and teams
/// `(external_id, name)`.
pub fn snapshot(source: &str, users: &[(&str, &str, &str)], teams: &[(&str, &str)]) -> Value {
    let users: Vec<Value> = users
        .iter()
        .map(|(id, username, team)| {
            json!({
                "external_id": id,
                "username": username,
                "first_name": format!("First {username}"),
                "last_name": "Tester",
                "email": format!("{username}@example.com"),
                "attributes": {"agentId": [username]},
                "skills": {"Sales": 5},
                "groups": [team],
                "roles": ["agent"],
            })
        })
        .collect();
    let groups: Vec<Value> = teams
        .iter()
        .map(|(id, name)| json!({"external_id": id, "name": name, "attributes": {"externalGroupId": [id]}}))
        .collect();
    json!({
        "snapshot": {"source": source, "users": users, "groups": groups},
        "dry_run": false,
        "allow_mass_disable": false,
        "max_disable_ratio": 0.5,
        "warnings": [],
    })
}

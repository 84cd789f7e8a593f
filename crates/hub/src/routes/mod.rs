//! The HTTP routes of API v1 and the extractors they share (query parsing and paging limits).

pub mod adherence;
pub mod bulk;
mod bulk_objects;
pub mod directory;
pub mod intervals;
pub mod people;
pub mod runs;
pub mod states;

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u64 = 100;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: u64 = 1000;

/// Checks a requested page size: 1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn check_limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid_request(format!(
            "limit={n} is out of range: use 1 to {MAX_LIMIT} and page with offset"
        ))),
    }
}

/// Query extractor that answers a malformed query string with 400 `invalid_request` JSON.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid_request(format!(
                "invalid query string: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Path extractor for the `{id}` segment; a malformed segment gives 400 `invalid_request` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPath(pub String);

impl FromRequestParts<AppState> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(IdPath(id)),
            Err(rejection) => Err(ApiError::invalid_request(format!(
                "invalid id in the path: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// `offset`/`limit` of paged sub-resources (sync runs, change logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    /// Skip this many (default 0).
    pub offset: Option<u64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// Body of `GET /api/v1/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesBody {
    /// Role names defined in the project, sorted.
    pub roles: Vec<String>,
}

/// Body of a healthy `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthBody {
    /// `ok`.
    pub status: String,
    /// Storage backend: `sqlite` or `postgres`.
    pub storage: String,
}

/// `GET /healthz`: pings the store; 200 `{"status":"ok","storage":…}` or 503 `unavailable`.
pub async fn health(State(state): State<AppState>) -> Response {
    let backend = state.store.backend();
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(HealthBody {
                status: "ok".to_string(),
                storage: backend.to_string(),
            }),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(backend, error = %e, "health check: storage ping failed");
            ApiError::unavailable(format!("storage ({backend}) is not reachable")).into_response()
        }
    }
}

//! API errors: every failure leaves the hub as a JSON [`ErrorBody`] with a stable code, a message
//! that says what to fix, and the right status (plus `WWW-Authenticate` / `Retry-After` headers).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use wfm_protocol::{ErrorBody, ErrorDetail};
use wfm_store::StoreError;

/// Seconds a client should wait before retrying after a retriable storage failure.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (see [`ErrorDetail::code`]).
    pub code: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Individual problems, if several.
    pub details: Vec<String>,
    /// `Retry-After` seconds, for retriable failures.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// 401 `unauthorized`: says nothing about which projects exist.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found` for an object id (the same answer for foreign and nonexistent ids).
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with id '{id}' in this project"),
        )
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request body exceeds the hub's limit of {limit} bytes (server.max_body_bytes); \
                 send a smaller request or raise the limit"
            ),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with the header `Content-Type: application/json`",
        )
    }

    /// 503 `unavailable` with `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(RETRY_AFTER_SECONDS);
        e
    }

    /// 500 `internal`: the detail is logged by the caller, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the hub log has the details",
        )
    }

    /// Maps a storage failure: idempotency conflicts → 422, retriable → 503 with `Retry-After`,
    /// anything else → 500 (the detail goes to the log only).
    pub fn from_store(err: StoreError) -> Self {
        if matches!(err, StoreError::IdempotencyConflict) {
            return Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "conflict",
                "Idempotency-Key reused with a different request: use a new key for a new request",
            );
        }
        if err.is_retriable() {
            tracing::warn!(error_type = err.error_type(), error = %err, "storage temporarily unavailable");
            return Self::unavailable("storage is temporarily unavailable; retry later");
        }
        tracing::error!(error_type = err.error_type(), error = %err, "storage failure");
        Self::internal()
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::from_store(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Fallback for unknown routes: 404 JSON.
pub async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no such endpoint: {}; the API lives under /api/v1",
            uri.path()
        ),
    )
}

/// Fallback for a known route called with the wrong method: 405 JSON.
pub async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_store_errors_are_503_with_retry_after() {
        let err = ApiError::from_store(StoreError::Database {
            message: "connection reset".into(),
            retriable: true,
        });
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code, "unavailable");
        let response = err.into_response();
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(RETRY_AFTER_SECONDS))
        );
    }

    #[test]
    fn other_store_errors_are_500_without_detail() {
        let err = ApiError::from_store(StoreError::Database {
            message: "relation users_secret_table does not exist".into(),
            retriable: false,
        });
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.code, "internal");
        assert!(!err.message.contains("users_secret_table"));
        assert!(err.retry_after.is_none());
    }

    #[test]
    fn idempotency_conflicts_are_422() {
        let err = ApiError::from_store(StoreError::IdempotencyConflict);
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.code, "conflict");
    }

    #[test]
    fn unauthorized_carries_www_authenticate() {
        let response = ApiError::unauthorized("no").into_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
    }
}

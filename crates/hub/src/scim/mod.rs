//! SCIM 2.0 (RFC 7643/7644) on the project's user directory, mounted at [`BASE_PATH`].
//!
//! Users and groups of every source are readable; the ones created through SCIM (source `scim`)
//! are fully writable, synced ones are refused with a 403 SCIM error that names their source.
//! Filtering (`eq ne co sw ew gt ge lt le pr`, `and or not`, value paths), paging, sorting,
//! `attributes`/`excludedAttributes`, PATCH (add/replace/remove with value-path filters),
//! `/.search`, and the agent extension schema ([`schema::AGENT_EXTENSION`]).
//!
//! Owns the SCIM JSON (rendering, parsing, filters, PATCH); the SQL is `wfm_store::scim`.
//! Every answer is `application/scim+json`; every error is a SCIM `Error` message.

pub mod discovery;
pub mod filter;
pub mod groups;
pub mod list;
pub mod patch;
pub mod schema;
#[cfg(test)]
mod tests;
pub mod user_doc;
pub mod users;

use crate::auth::Project;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use wfm_model::ProjectId;
use wfm_store::StoreError;

/// Where the SCIM endpoints are mounted.
pub const BASE_PATH: &str = "/scim/v2";
/// The SCIM media type of every answer.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Schema URN of SCIM error messages.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The SCIM routes, relative to [`BASE_PATH`], with SCIM 404/405 fallbacks.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", post(users::search))
        .route(
            "/Users/{id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/.search", post(list::search_all))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
}

/// A SCIM error answer (`urn:ietf:params:scim:api:messages:2.0:Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// HTTP status.
    pub status: StatusCode,
    /// RFC 7644 `scimType` (`invalidFilter`, `uniqueness`, `mutability`, …), if any.
    pub scim_type: Option<&'static str>,
    /// What went wrong and how to fix it.
    pub detail: String,
}

impl ScimError {
    /// An error with a status, an optional `scimType` and a detail.
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// 404 for a resource id (the same answer for foreign and nonexistent ids).
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no {kind} with id '{id}' in this project"),
        )
    }

    /// 403 for a write to a synced resource.
    pub fn read_only(kind: &str, id: &str, source: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            None,
            format!(
                "{kind} '{id}' is synced from source '{source}' and is read-only through SCIM: \
                 change it in '{source}' (the identity sync overwrites it), or manage \
                 SCIM-created {kind}s only"
            ),
        )
    }

    /// Maps a storage failure: retriable → 503 (with `Retry-After`), others → 500.
    pub fn from_store(err: StoreError) -> Self {
        if err.is_retriable() {
            tracing::warn!(error = %err, "scim: transient storage failure");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "storage is temporarily unavailable: retry later",
            );
        }
        tracing::error!(error = %err, error_type = err.error_type(), "scim: storage failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "internal error (see the hub log)",
        )
    }

    /// The SCIM error body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.to_string());
        }
        body
    }
}

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        Self::from_store(err)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = scim_json(self.status, &self.body());
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::error::RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// A JSON body with the SCIM content type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        )],
        bytes,
    )
        .into_response()
}

/// Extractor: the project of the request's bearer token; rejects with a SCIM 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimProject(pub ProjectId);

impl FromRequestParts<AppState> for ScimProject {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        match Project::from_request_parts(parts, state).await {
            Ok(Project(project)) => Ok(ScimProject(project)),
            Err(e) => Err(ScimError::new(e.status, None, e.message)),
        }
    }
}

/// The absolute URL of [`BASE_PATH`] as the client reached it (for `meta.location` and
/// `$ref`): the scheme from `X-Forwarded-Proto`, else `http` for a loopback host and `https`
/// otherwise (the hub serves plain HTTP only in a lab); the host from `X-Forwarded-Host` or
/// `Host`.
pub fn base_url(headers: &HeaderMap) -> String {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = text("x-forwarded-host")
        .or_else(|| text("host"))
        .unwrap_or_else(|| "localhost".to_string());
    let loopback =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    let scheme = text("x-forwarded-proto")
        .unwrap_or_else(|| if loopback { "http" } else { "https" }.to_string());
    format!("{scheme}://{host}{BASE_PATH}")
}

/// Parses a request body as a JSON object; 400 `invalidSyntax` otherwise.
pub fn parse_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

async fn unknown_route(uri: axum::http::Uri) -> ScimError {
    ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        format!(
            "no SCIM endpoint at {}: use {BASE_PATH}/Users, /Groups, /ServiceProviderConfig, \
             /Schemas or /ResourceTypes",
            uri.path()
        ),
    )
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{method} is not supported on {}", uri.path()),
    )
}

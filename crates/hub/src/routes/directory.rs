//! Directory routes: the idempotent sync (ingest) endpoint and the user/group/role reads.
//! Every handler takes the project from the bearer token only, never from the URL or the body.

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::{check_limit, ApiQuery, IdPath, RolesBody};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use wfm_protocol::{
    GroupQuery, SyncRequest, UserQuery, WhoAmI, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER,
};
use wfm_store::SyncOutcome;

/// Hex SHA-256 of a request body (what the store keeps to recognise a reused idempotency key).
pub fn body_sha256_hex(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The validated `Idempotency-Key` header.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Err(ApiError::invalid_request(
            "missing Idempotency-Key header: every write needs one (normally a UUID), \
             reused only when retrying the same request",
        ));
    };
    let key = value.to_str().unwrap_or("");
    if !wfm_protocol::valid_idempotency_key(key) {
        return Err(ApiError::invalid_request(
            "invalid Idempotency-Key header: use 1 to 128 printable ASCII characters without spaces",
        ));
    }
    Ok(key.to_string())
}

/// True when the `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Reads the whole body, at most `limit` bytes; a longer body is refused with 413 before or
/// while reading it.
pub async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared {
        if length > limit as u64 {
            return Err(ApiError::payload_too_large(limit));
        }
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(err) = source {
                if err.is::<http_body_util::LengthLimitError>() {
                    return Err(ApiError::payload_too_large(limit));
                }
                source = err.source();
            }
            Err(ApiError::invalid_request(format!(
                "could not read the request body: {e}"
            )))
        }
    }
}

/// Deepest JSON nesting a sync request may have (a real one needs about 6 levels).
pub const MAX_JSON_DEPTH: usize = 64;

/// True when `raw` nests arrays/objects deeper than `max` (strings are skipped; the scan is
/// linear and allocation-free, so it also bounds what an ignored unknown field may hold).
pub fn json_too_deep(raw: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in raw {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// `POST /api/v1/directory/sync`: applies (or dry-runs) a snapshot once per idempotency key and
/// answers with the stored result; a repeated key replays it with `Idempotent-Replay: true`.
pub async fn sync(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes).await?;
    if json_too_deep(&raw, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_request(format!(
            "the body is not a valid sync request: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let sync_request: SyncRequest = match serde_json::from_slice(&raw) {
        Ok(r) => r,
        Err(e) => {
            return Err(ApiError::invalid_request(format!(
                "the body is not a valid sync request: {e}"
            )))
        }
    };
    if !(0.0..=1.0).contains(&sync_request.max_disable_ratio) {
        return Err(ApiError::invalid_request(format!(
            "max_disable_ratio={} is out of range: use 0.0 to 1.0",
            sync_request.max_disable_ratio
        )));
    }
    let hash = body_sha256_hex(&raw);
    let now = (state.clock)();
    let outcome = state
        .store
        .sync_directory(&project, &sync_request, &key, &hash, now)
        .await?;
    let (status, body, replay) = match outcome {
        SyncOutcome::Fresh { status, body } => (status, body, false),
        SyncOutcome::Replay { status, body } => (status, body, true),
    };
    tracing::info!(
        project = %project,
        source = %sync_request.snapshot.source,
        status,
        replay,
        dry_run = sync_request.dry_run,
        "directory sync"
    );
    let Ok(status) = StatusCode::from_u16(status) else {
        tracing::error!(status, "store returned an invalid HTTP status");
        return Err(ApiError::internal());
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replay {
        headers.insert(IDEMPOTENT_REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /api/v1/users`: a page of the project's users.
pub async fn list_users(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(mut query): ApiQuery<UserQuery>,
) -> Result<Response, ApiError> {
    query.limit = Some(check_limit(query.limit)?);
    query.offset = Some(query.offset.unwrap_or(0));
    let page = state.store.list_users(&project, &query).await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/users/{id}`: one user of the project (404 for unknown and foreign ids alike).
pub async fn get_user(
    State(state): State<AppState>,
    Project(project): Project,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    match state.store.get_user(&project, &id).await? {
        Some(user) => Ok(Json(user).into_response()),
        None => Err(ApiError::not_found("user", &id)),
    }
}

/// `GET /api/v1/groups`: a page of the project's groups.
pub async fn list_groups(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(mut query): ApiQuery<GroupQuery>,
) -> Result<Response, ApiError> {
    query.limit = Some(check_limit(query.limit)?);
    query.offset = Some(query.offset.unwrap_or(0));
    let page = state.store.list_groups(&project, &query).await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/groups/{id}`: one group with its member ids.
pub async fn get_group(
    State(state): State<AppState>,
    Project(project): Project,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    match state.store.get_group(&project, &id).await? {
        Some(group) => Ok(Json(group).into_response()),
        None => Err(ApiError::not_found("group", &id)),
    }
}

/// `GET /api/v1/roles`: `{"roles": [...]}`, the roles defined in the project.
pub async fn roles(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Response, ApiError> {
    let roles = state.store.roles(&project).await?;
    Ok(Json(RolesBody {
        roles: roles.into_iter().collect(),
    })
    .into_response())
}

/// `GET /api/v1/whoami`: the token's project, its roles and the hub version.
pub async fn whoami(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Response, ApiError> {
    let roles = state.store.roles(&project).await?;
    Ok(Json(WhoAmI {
        project: project.to_string(),
        roles: roles.into_iter().collect(),
        hub_version: env!("CARGO_PKG_VERSION").to_string(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            body_sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert!(!json_too_deep(br#"{"a":[{"b":"[[[[[[[["}]}"#, 3));
        assert!(json_too_deep(br#"{"a":[{"b":[1]}]}"#, 3));
        assert!(!json_too_deep(br#"{"a":"\"[[[["}"#, 1));
    }

    #[test]
    fn json_content_type_allows_parameters_only() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jsonx"),
        );
        assert!(!is_json(&h));
    }
}

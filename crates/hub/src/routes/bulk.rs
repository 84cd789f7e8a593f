//! The bulk path (see [`wfm_protocol::bulk`]): `POST /api/v1/bulk/uploads` hands out a
//! pre-signed object-storage URL and a fresh AES-256-GCM data key and records the upload;
//! `POST /api/v1/bulk/uploads/{id}/ingest` fetches the object, checks its size, decrypts it,
//! verifies the plaintext's SHA-256, and hands the plaintext to the very handler of the direct
//! route (same validation, same idempotency, same answer), then deletes the object.
//!
//! The project comes from the bearer token only; another project's upload id is 404. The
//! ingest's answer is stored with the upload, so a repeated ingest with the same key replays it
//! after the object is gone.

pub use super::bulk_objects::{Bulk, BulkObjects, BulkSetupError, ObjectError};

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::directory::{body_sha256_hex, idempotency_key, is_json, read_body};
use crate::routes::{directory, intervals, states, IdPath};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use time::OffsetDateTime;
use wfm_crypto::{Cipher, DataKey, DataKeyId, KEY_LEN};
use wfm_model::ProjectId;
use wfm_protocol::bulk::{
    bulk_aad, bulk_key_id, encrypted_len, valid_sha256_hex, BulkRoute, BulkUploadRequest,
    BulkUploadResponse,
};
use wfm_protocol::{IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER};
use wfm_store::{BulkAnswer, BulkUpload, NewBulkUpload};

/// 404 `bulk_not_configured`.
fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "bulk_not_configured",
        "bulk transfers are not configured on this hub: add a [bulk] section to hub.toml \
         (see docs/bulk-transfer.md), or send the batch to its direct route",
    )
}

/// 422 `upload_corrupt` with the reason.
fn corrupt(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "upload_corrupt",
        format!("the uploaded object was not ingested: {reason}; upload the batch again"),
    )
}

/// 409 `upload_conflict`: the upload belongs to an ingest with another idempotency key.
fn conflict(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "upload_conflict",
        format!(
            "bulk upload {id} is being or was ingested under another Idempotency-Key: ask for a new upload for a new batch"
        ),
    )
}

/// The configured object store or 404 `bulk_not_configured`.
fn objects(state: &AppState) -> Result<&BulkObjects, ApiError> {
    state.bulk.objects().ok_or_else(not_configured)
}

/// `POST /api/v1/bulk/uploads`: records an upload and answers 201 with its pre-signed `PUT`
/// URL and data key; 404 `bulk_not_configured` without `[bulk]`; 413 above `max_object_bytes`.
pub async fn create_upload(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let objects = objects(&state)?;
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes.min(64 * 1024)).await?;
    let ask: BulkUploadRequest = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::invalid_request(format!("the body is not a valid bulk upload request: {e}"))
    })?;
    if !valid_sha256_hex(&ask.sha256) {
        return Err(ApiError::invalid_request(
            "sha256 must be the lowercase hex SHA-256 (64 digits) of the plaintext batch",
        ));
    }
    if ask.bytes == 0 {
        return Err(ApiError::invalid_request(
            "bytes must be the plaintext batch's size (at least 1)",
        ));
    }
    if ask.bytes > objects.max_object_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the batch has {} bytes, more than this hub's bulk.max_object_bytes ({}): split it",
                ask.bytes, objects.max_object_bytes
            ),
        ));
    }
    let upload_id = new_upload_id();
    let Ok(key_id) = DataKeyId::new(bulk_key_id(&upload_id)) else {
        return Err(ApiError::internal());
    };
    let key = DataKey::generate_with_id(key_id);
    let data_key = base64::engine::general_purpose::STANDARD.encode(key.expose_bytes());
    let object_path = objects.object_path(project.as_str(), &upload_id);
    let url = objects.presign_put(&object_path).await.map_err(|e| {
        tracing::error!(error = %e, "bulk: cannot sign an upload URL");
        ApiError::unavailable("object storage cannot sign an upload URL now: try again later")
    })?;
    let now = (state.clock)();
    let ttl = time::Duration::try_from(objects.url_ttl).unwrap_or(time::Duration::minutes(15));
    let expires_at = now + ttl;
    let record = NewBulkUpload {
        id: upload_id.clone(),
        route: ask.route.as_str().to_string(),
        object_path,
        bytes: ask.bytes,
        sha256: ask.sha256,
        data_key: data_key.clone(),
        created_at: now,
        expires_at,
    };
    state.store.create_bulk_upload(&project, &record).await?;
    // Records (and data keys) of uploads that were never ingested go a day after they expired.
    if let Err(e) = state
        .store
        .purge_expired_bulk_uploads(now - time::Duration::days(1))
        .await
    {
        tracing::warn!(error = %e, "bulk: could not purge expired uploads");
    }
    tracing::info!(project = %project, upload = %upload_id, route = ask.route.as_str(), bytes = ask.bytes, "bulk upload handed out");
    let answer = BulkUploadResponse {
        upload_id,
        url,
        method: "PUT".to_string(),
        expires_at,
        data_key,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// A fresh upload id: a UUID v4.
fn new_upload_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST /api/v1/bulk/uploads/{id}/ingest`: applies an uploaded batch through its direct route
/// and answers what that route answers. 404 unknown/foreign id, 410 expired, 409
/// `upload_missing` (nothing uploaded) or `upload_conflict` (bound to another key), 422
/// `upload_corrupt` (size, decryption or SHA-256 check failed), 503 when object storage fails.
pub async fn ingest(
    State(state): State<AppState>,
    Project(project): Project,
    IdPath(id): IdPath,
    request: Request,
) -> Result<Response, ApiError> {
    let objects = objects(&state)?;
    let key = idempotency_key(request.headers())?;
    let Some(upload) = state.store.bulk_upload(&project, &id).await? else {
        return Err(ApiError::not_found("bulk upload", &id));
    };
    if let Some(answer) = &upload.answer {
        return replay(answer, &key, &id);
    }
    let now = (state.clock)();
    if upload.is_expired(now) {
        objects.remove(&upload.object_path).await;
        return Err(ApiError::new(
            StatusCode::GONE,
            "upload_expired",
            format!("bulk upload {id} has expired: ask for a new upload and send the batch again"),
        ));
    }
    if !state.store.claim_bulk_upload(&project, &id, &key).await? {
        return Err(conflict(&id));
    }
    let Some(route) = BulkRoute::parse(&upload.route) else {
        tracing::error!(upload = %id, route = %upload.route, "bulk: stored upload has an unknown route");
        return Err(ApiError::internal());
    };
    let plaintext = fetch_plaintext(objects, &upload).await?;
    let response = apply(&state, &project, route, &key, plaintext).await;
    finish(&state, objects, &project, &upload, &key, response, now).await
}

/// The stored answer of an already ingested upload (same key), or 409 `upload_conflict`.
fn replay(answer: &BulkAnswer, key: &str, id: &str) -> Result<Response, ApiError> {
    if answer.idempotency_key != key {
        return Err(conflict(id));
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(IDEMPOTENT_REPLAY_HEADER, HeaderValue::from_static("true"));
    Ok(response)
}

/// Reads, decrypts and verifies the upload's object.
async fn fetch_plaintext(objects: &BulkObjects, upload: &BulkUpload) -> Result<Vec<u8>, ApiError> {
    let Some(encoded) = &upload.data_key else {
        return Err(ApiError::internal());
    };
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok());
    let (Some(key_bytes), Ok(key_id)) = (key_bytes, DataKeyId::new(bulk_key_id(&upload.id))) else {
        tracing::error!(upload = %upload.id, "bulk: stored data key is corrupt");
        return Err(ApiError::internal());
    };
    let expected = encrypted_len(&upload.id, upload.bytes);
    let blob = match objects.read(&upload.object_path, expected).await {
        Ok(b) => b,
        Err(ObjectError::Missing) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "upload_missing",
                format!(
                    "nothing was uploaded for bulk upload {}: PUT the encrypted batch to the pre-signed URL first (or ask for a new upload)",
                    upload.id
                ),
            ))
        }
        Err(e @ ObjectError::WrongSize { .. }) => return Err(corrupt(e)),
        Err(ObjectError::Storage(detail)) => {
            tracing::warn!(upload = %upload.id, error = %detail, "bulk: object storage failed");
            return Err(ApiError::unavailable(
                "object storage is not reachable now: retry the ingest later",
            ));
        }
    };
    let key = DataKey::from_bytes(key_id, &key_bytes);
    let plaintext = Cipher::new(&key)
        .decrypt(&blob, &bulk_aad(&upload.id))
        .map_err(|_| corrupt("it does not decrypt with this upload's key (tampered with, truncated, or encrypted for another upload)"))?;
    if body_sha256_hex(&plaintext) != upload.sha256 {
        return Err(corrupt(
            "the SHA-256 of the decrypted batch differs from the one announced",
        ));
    }
    Ok(plaintext)
}

/// Hands the plaintext to the direct route's handler as if it had been sent there.
async fn apply(
    state: &AppState,
    project: &ProjectId,
    route: BulkRoute,
    key: &str,
    plaintext: Vec<u8>,
) -> Response {
    let length = plaintext.len();
    let method = if route.method() == "PUT" {
        Method::PUT
    } else {
        Method::POST
    };
    let built = Request::builder()
        .method(method)
        .uri(route.path())
        .header(IDEMPOTENCY_KEY_HEADER, key)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, length)
        .body(Body::from(plaintext));
    let Ok(request) = built else {
        return ApiError::internal().into_response();
    };
    // The object was bounded by bulk.max_object_bytes, not by the direct body limit.
    let mut inner = state.clone();
    inner.max_body_bytes = inner.max_body_bytes.max(length);
    let project = Project(project.clone());
    let result = match route {
        BulkRoute::Intervals => intervals::post_batch(State(inner), project.clone(), request).await,
        BulkRoute::AgentStates => states::post_states(State(inner), project.clone(), request).await,
        BulkRoute::DirectorySync => directory::sync(State(inner), project.clone(), request).await,
        BulkRoute::ReasonCodes => {
            states::put_reason_codes(State(inner), project.clone(), request).await
        }
    };
    let response = result.unwrap_or_else(IntoResponse::into_response);
    if route == BulkRoute::AgentStates && response.status().is_success() {
        state.adherence.notify(&project.0);
    }
    response
}

/// Stores a final answer (anything but 5xx) with the upload and deletes the object; a 5xx is
/// passed on and the upload stays for a retry.
async fn finish(
    state: &AppState,
    objects: &BulkObjects,
    project: &ProjectId,
    upload: &BulkUpload,
    key: &str,
    response: Response,
    now: OffsetDateTime,
) -> Result<Response, ApiError> {
    if response.status().is_server_error() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Err(ApiError::internal());
    };
    let answer = BulkAnswer {
        idempotency_key: key.to_string(),
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    state
        .store
        .finish_bulk_upload(project, &upload.id, &answer, now)
        .await?;
    objects.remove(&upload.object_path).await;
    tracing::info!(project = %project, upload = %upload.id, route = %upload.route, status = answer.status, "bulk upload ingested");
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

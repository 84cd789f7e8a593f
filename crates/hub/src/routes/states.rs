//! Agent-state routes: the idempotent reason-code set (`PUT`/`GET /api/v1/reason-codes`), the
//! idempotent state-batch ingest (history windows and live appends, `POST
//! /api/v1/agent-states`) and the timeline query (`GET /api/v1/agent-states`). Every handler
//! takes the project from the bearer token only.

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::directory::{
    body_sha256_hex, idempotency_key, is_json, json_too_deep, read_body, MAX_JSON_DEPTH,
};
use crate::routes::ApiQuery;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{ReasonCodeSet, StateBatch};
use wfm_protocol::IDEMPOTENT_REPLAY_HEADER;
use wfm_store::StateOutcome;

/// Longest range (days) one timeline query may span.
pub const MAX_STATE_RANGE_DAYS: i64 = 31;

/// Query of `GET /api/v1/agent-states`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateQuery {
    /// Only this importer source.
    #[serde(default)]
    pub source: Option<String>,
    /// Only this agent id.
    #[serde(default)]
    pub agent: Option<String>,
    /// Range start (RFC 3339, required).
    #[serde(default)]
    pub from: Option<String>,
    /// Range end, exclusive (RFC 3339, required).
    #[serde(default)]
    pub to: Option<String>,
}

/// 422 with `code`, the first problem in the message and every problem in `details`.
fn rejected(code: &'static str, what: &str, problems: Vec<String>) -> ApiError {
    let first = problems.first().cloned().unwrap_or_default();
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("the {what} was not stored: {first}"),
    );
    e.details = problems;
    e
}

/// Reads an idempotent JSON write: the key, the parsed body and its SHA-256.
async fn read_write<T: DeserializeOwned>(
    state: &AppState,
    request: Request,
    what: &str,
) -> Result<(String, T, String), ApiError> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes).await?;
    if json_too_deep(&raw, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_request(format!(
            "the body is not a valid {what}: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let value: T = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::invalid_request(format!("the body is not a valid {what}: {e}")))?;
    Ok((key, value, body_sha256_hex(&raw)))
}

/// The JSON answer, marked `Idempotent-Replay: true` when replayed.
fn answer<R: Serialize>(body: R, replay: bool) -> Response {
    let mut response = Json(body).into_response();
    if replay {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    response
}

/// `PUT /api/v1/reason-codes`: stores the complete reason-code set of one source once per
/// idempotency key (codes missing from it become inactive); 422 `invalid_reason_codes` when
/// the set is invalid.
pub async fn put_reason_codes(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let (key, set, hash) = read_write::<ReasonCodeSet>(&state, request, "reason-code set").await?;
    let now = (state.clock)();
    let outcome = state
        .store
        .put_reason_codes(&project, &set, &key, &hash, now)
        .await?;
    let (response, replay) = match outcome {
        StateOutcome::Rejected(problems) => {
            return Err(rejected(
                "invalid_reason_codes",
                "reason-code set",
                problems,
            ))
        }
        StateOutcome::Applied(r) => (r, false),
        StateOutcome::Replay(r) => (r, true),
    };
    tracing::info!(
        project = %project,
        source = %set.source,
        inserted = response.inserted,
        updated = response.updated,
        unchanged = response.unchanged,
        deactivated = response.deactivated,
        replay,
        "reason codes"
    );
    Ok(answer(response, replay))
}

/// `GET /api/v1/reason-codes`: every reason code of the project (active or not), ordered by
/// (source, id).
pub async fn get_reason_codes(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Response, ApiError> {
    Ok(Json(state.store.reason_codes(&project).await?).into_response())
}

/// `POST /api/v1/agent-states`: applies one [`StateBatch`] once per idempotency key; 422
/// `invalid_batch` (nothing stored) when it breaks a rule; a repeated key replays the answer.
pub async fn post_states(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let (key, batch, hash) = read_write::<StateBatch>(&state, request, "state batch").await?;
    let now = (state.clock)();
    let outcome = state
        .store
        .apply_state_batch(&project, &batch, &key, &hash, now)
        .await?;
    let (response, replay) = match outcome {
        StateOutcome::Rejected(problems) => {
            tracing::info!(project = %project, source = %batch.source, problems = problems.len(), "state batch rejected");
            return Err(rejected("invalid_batch", "state batch", problems));
        }
        StateOutcome::Applied(r) => {
            state.state_metrics.count_batch(project.as_str(), &r);
            (r, false)
        }
        StateOutcome::Replay(r) => (r, true),
    };
    tracing::info!(
        project = %project,
        source = %batch.source,
        history = batch.window.is_some(),
        accepted = response.accepted,
        duplicates = response.duplicates,
        removed = response.removed,
        unknown_agents = response.unknown_agents,
        replay,
        "state batch"
    );
    Ok(answer(response, replay))
}

/// Parses a required RFC 3339 query parameter.
fn instant(name: &str, value: Option<&str>) -> Result<OffsetDateTime, ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Err(ApiError::invalid_request(format!(
            "missing {name}: give from and to as RFC 3339 instants (e.g. 2026-03-01T00:00:00Z)"
        )));
    };
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::invalid_request(format!(
            "{name}={value} is not an RFC 3339 instant (e.g. 2026-03-01T00:00:00Z)"
        ))
    })
}

/// `GET /api/v1/agent-states?source=&agent=&from=&to=`: the timeline segments of the range
/// (every segment starting in it plus the one running at `from`), ordered by (source, agent,
/// start); 400 for a missing or reversed range or one longer than [`MAX_STATE_RANGE_DAYS`].
pub async fn get_states(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Response, ApiError> {
    let from = instant("from", q.from.as_deref())?;
    let to = instant("to", q.to.as_deref())?;
    if from >= to {
        return Err(ApiError::invalid_request(
            "from must be before to (the range is [from, to))",
        ));
    }
    if to - from > time::Duration::days(MAX_STATE_RANGE_DAYS) {
        return Err(ApiError::invalid_request(format!(
            "the range is longer than the limit of {MAX_STATE_RANGE_DAYS} days: ask in parts"
        )));
    }
    let source = q.source.as_deref().filter(|s| !s.is_empty());
    let agent = q.agent.as_deref().filter(|s| !s.is_empty());
    let segments = state
        .store
        .state_segments(&project, source, agent, TimeRange { from, to })
        .await?;
    Ok(Json(segments).into_response())
}

//! Sync-run history routes: the list, one run, and one run's per-object change log.

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::{check_limit, ApiQuery, IdPath, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `GET /api/v1/sync-runs`: the project's runs, newest first (`offset`, `limit`).
pub async fn list_runs(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = check_limit(page.limit)?;
    let offset = page.offset.unwrap_or(0);
    let runs = state.store.list_runs(&project, offset, limit).await?;
    Ok(Json(runs).into_response())
}

/// `GET /api/v1/sync-runs/{id}`: one run (404 for unknown and foreign ids alike).
pub async fn get_run(
    State(state): State<AppState>,
    Project(project): Project,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    match state.store.get_run(&project, &id).await? {
        Some(run) => Ok(Json(run).into_response()),
        None => Err(ApiError::not_found("sync run", &id)),
    }
}

/// `GET /api/v1/sync-runs/{id}/changes`: a page of one run's change log.
pub async fn run_changes(
    State(state): State<AppState>,
    Project(project): Project,
    IdPath(id): IdPath,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = check_limit(page.limit)?;
    let offset = page.offset.unwrap_or(0);
    match state
        .store
        .run_changes(&project, &id, offset, limit)
        .await?
    {
        Some(changes) => Ok(Json(changes).into_response()),
        None => Err(ApiError::not_found("sync run", &id)),
    }
}

//! Cross-source person matching: users of several sources recognised as one person under the
//! project's `match_people_by` rule, and the keys the matcher refuses to link.

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::{check_limit, ApiQuery, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use wfm_protocol::Page;
use wfm_sync::{match_people, Matching};

async fn matching(state: &AppState, project: &wfm_model::ProjectId) -> Result<Matching, ApiError> {
    let rule = state.match_rules.get(project).copied().unwrap_or_default();
    let identities = state.store.identities(project).await?;
    Ok(match_people(rule, &identities))
}

fn page_of<T>(items: Vec<T>, page: PageQuery, limit: u64) -> Page<T> {
    let offset = page.offset.unwrap_or(0);
    let total = items.len() as u64;
    let items = items
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Page {
        items,
        total,
        offset,
        limit,
    }
}

/// `GET /api/v1/people`: people found in two or more sources (`offset`, `limit`), by match key.
pub async fn list_people(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = check_limit(page.limit)?;
    let people = matching(&state, &project).await?.people;
    Ok(Json(page_of(people, page, limit)).into_response())
}

/// `GET /api/v1/people/conflicts`: match keys shared by several users of one source; never linked.
pub async fn list_conflicts(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = check_limit(page.limit)?;
    let conflicts = matching(&state, &project).await?.conflicts;
    Ok(Json(page_of(conflicts, page, limit)).into_response())
}

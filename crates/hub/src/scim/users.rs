//! `/Users` handlers: list, search, get, create, replace, patch, delete (documents:
//! [`super::user_doc`]).

use super::filter::{self, AttrPath};
use super::list::{list_response, page, ListParams, Projection};
use super::schema::Kind;
use super::user_doc::{parse, render};
use super::{base_url, parse_body, patch, scim_json, ScimError, ScimProject};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};
use std::collections::HashMap;
use wfm_model::ProjectId;
use wfm_store::{ScimRefusal, ScimUserChildren, ScimUserRow, ScimUserWrite, SCIM_SOURCE};

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// The users matching `params` (filter, sort), the page `[start, start + count)` fully
/// rendered, and the number of matches.
pub async fn select(
    state: &AppState,
    project: &ProjectId,
    base: &str,
    params: &ListParams,
    start: usize,
    count: usize,
    check_names: bool,
) -> Result<(usize, Vec<Map<String, Value>>), ScimError> {
    let filter = params
        .filter
        .as_deref()
        .map(|f| filter::parse(f, Kind::User, check_names))
        .transpose()?;
    let sort = match &params.sort_by {
        Some(s) => Some(
            AttrPath::parse(s, Kind::User)
                .ok_or_else(|| invalid(format!("sortBy '{s}' is not an attribute path")))?,
        ),
        None => None,
    };
    if filter.is_none() && sort.is_none() {
        // No filter, no sort: page in SQL and render the page only.
        let offset = u64::try_from(start.saturating_sub(1)).unwrap_or(u64::MAX);
        let limit = u64::try_from(count).unwrap_or(u64::MAX);
        let (total, rows) = state.store.scim_user_page(project, offset, limit).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let children = if ids.is_empty() {
            HashMap::new()
        } else {
            state.store.scim_user_children(project, Some(&ids)).await?
        };
        let empty = ScimUserChildren::default();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(render(
                row,
                Some(children.get(&row.id).unwrap_or(&empty)),
                base,
            )?);
        }
        return Ok((usize::try_from(total).unwrap_or(usize::MAX), out));
    }
    let rows = state.store.scim_user_rows(project, None).await?;
    let full = filter.as_ref().is_some_and(filter::needs_children)
        || sort.as_ref().is_some_and(filter::path_needs_children);
    let all_children = if full {
        Some(state.store.scim_user_children(project, None).await?)
    } else {
        None
    };
    let mut selected: Vec<(usize, Option<Map<String, Value>>)> = Vec::new();
    if filter.is_none() && sort.is_none() {
        selected = (0..rows.len()).map(|i| (i, None)).collect();
    } else {
        let empty = ScimUserChildren::default();
        for (i, row) in rows.iter().enumerate() {
            let children = all_children
                .as_ref()
                .map(|c| c.get(&row.id).unwrap_or(&empty));
            let rendered = render(row, children, base)?;
            if filter
                .as_ref()
                .is_none_or(|f| filter::matches(f, &rendered))
            {
                selected.push((i, Some(rendered)));
            }
        }
    }
    if let Some(path) = &sort {
        selected.sort_by(|a, b| {
            let key = |x: &(usize, Option<Map<String, Value>>)| {
                x.1.as_ref().and_then(|m| filter::sort_key(m, path))
            };
            let ordering = match (key(a), key(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            if params.descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let total = selected.len();
    let chosen = page(selected, start, count);
    let ids: Vec<String> = chosen.iter().map(|(i, _)| rows[*i].id.clone()).collect();
    let children = match all_children {
        Some(c) => c,
        None if ids.is_empty() => HashMap::new(),
        None => state.store.scim_user_children(project, Some(&ids)).await?,
    };
    let empty = ScimUserChildren::default();
    let mut out = Vec::with_capacity(chosen.len());
    for (i, _) in chosen {
        let row = &rows[i];
        out.push(render(
            row,
            Some(children.get(&row.id).unwrap_or(&empty)),
            base,
        )?);
    }
    Ok((total, out))
}

async fn list_with(
    state: &AppState,
    project: &ProjectId,
    headers: &HeaderMap,
    params: ListParams,
) -> Result<Response, ScimError> {
    let projection = Projection::new(Kind::User, &params.attributes, &params.excluded)?;
    let base = base_url(headers);
    let (total, items) = select(
        state,
        project,
        &base,
        &params,
        params.start_index,
        params.count,
        true,
    )
    .await?;
    let resources = items
        .into_iter()
        .map(|r| Value::Object(projection.apply(r)))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(total, params.start_index, resources),
    ))
}

/// Maps a `Query` rejection to a SCIM 400.
pub fn query_map(
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<HashMap<String, String>, ScimError> {
    query.map(|Query(q)| q).map_err(|e| {
        ScimError::bad(
            "invalidValue",
            format!("invalid query string: {}", e.body_text()),
        )
    })
}

/// `GET /Users`.
pub async fn list(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(&query_map(query)?)?;
    list_with(&state, &project, &headers, params).await
}

/// `POST /Users/.search`.
pub async fn search(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let params = ListParams::from_body(&parse_body(&body)?)?;
    list_with(&state, &project, &headers, params).await
}

/// One user fully rendered, or 404.
async fn load(
    state: &AppState,
    project: &ProjectId,
    id: &str,
    base: &str,
) -> Result<(ScimUserRow, Map<String, Value>), ScimError> {
    let row = state
        .store
        .scim_user_rows(project, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ScimError::not_found("User", id))?;
    let ids = [row.id.clone()];
    let children = state.store.scim_user_children(project, Some(&ids)).await?;
    let rendered = render(
        &row,
        Some(
            children
                .get(&row.id)
                .unwrap_or(&ScimUserChildren::default()),
        ),
        base,
    )?;
    Ok((row, rendered))
}

/// `GET /Users/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ScimError> {
    let projection = Projection::from_query(Kind::User, &query_map(query)?)?;
    let (_, user) = load(&state, &project, &id, &base_url(&headers)).await?;
    Ok(scim_json(
        StatusCode::OK,
        &Value::Object(projection.apply(user)),
    ))
}

/// Maps a store refusal of a user write.
pub fn refusal(kind: &str, id: &str, r: ScimRefusal) -> ScimError {
    match r {
        ScimRefusal::NotFound => ScimError::not_found(kind, id),
        ScimRefusal::ReadOnly { source } => ScimError::read_only(kind, id, &source),
        ScimRefusal::UserNameTaken { username } => ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("userName '{username}' is already used by another user of this project: choose another"),
        ),
        ScimRefusal::UnknownMembers(ids) => invalid(format!("members {ids:?} are not users of this project")),
    }
}

async fn write(
    state: &AppState,
    project: &ProjectId,
    target: Option<&str>,
    user: &ScimUserWrite,
    headers: &HeaderMap,
    status: StatusCode,
) -> Result<Response, ScimError> {
    let now = (state.clock)();
    let id = state
        .store
        .scim_write_user(project, target, user, now)
        .await?
        .map_err(|r| refusal("User", target.unwrap_or(""), r))?;
    let base = base_url(headers);
    let (_, rendered) = load(state, project, &id, &base).await?;
    let mut response = scim_json(status, &Value::Object(rendered));
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&format!("{base}/Users/{id}")) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

/// `POST /Users`: creates a user of the `scim` source (201).
pub async fn create(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let user = parse(&parse_body(&body)?)?;
    write(&state, &project, None, &user, &headers, StatusCode::CREATED).await
}

/// `PUT /Users/{id}`: replaces a SCIM user (403 for a synced one).
pub async fn replace(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let user = parse(&parse_body(&body)?)?;
    write(&state, &project, Some(&id), &user, &headers, StatusCode::OK).await
}

/// `PATCH /Users/{id}`: applies the operations to the current user, then stores it as a PUT.
pub async fn patch(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let ops = parse_body(&body)?;
    let (row, mut current) = load(&state, &project, &id, &base_url(&headers)).await?;
    if row.source != SCIM_SOURCE {
        return Err(ScimError::read_only("User", &id, &row.source));
    }
    patch::apply(&mut current, Kind::User, &ops)?;
    let user = parse(&current)?;
    write(&state, &project, Some(&id), &user, &headers, StatusCode::OK).await
}

/// `DELETE /Users/{id}`: deletes a SCIM user (204; 403 for a synced one).
pub async fn delete(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    state
        .store
        .scim_delete_user(&project, &id)
        .await?
        .map_err(|r| refusal("User", &id, r))?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

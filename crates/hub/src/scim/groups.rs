//! `/Groups`: directory groups as SCIM Groups. A synced group renders `displayName` = name,
//! `externalId` = the source's external id and its directory members; a SCIM group renders
//! from its stored document and its SCIM members (users of any source, in the order sent).

use super::filter::{self, AttrPath};
use super::list::{list_response, page, ListParams, Projection};
use super::schema::{Kind, GROUP_SCHEMA};
use super::user_doc::{opt_objects, opt_string};
use super::users::{query_map, refusal};
use super::{base_url, parse_body, patch, scim_json, ScimError, ScimProject};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use wfm_model::ProjectId;
use wfm_store::{ScimGroupRow, ScimGroupWrite, ScimMemberRef, SCIM_SOURCE};

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// Renders one group; without `members` the `members` attribute is left out.
pub fn render(
    row: &ScimGroupRow,
    members: Option<&[ScimMemberRef]>,
    base: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = match &row.doc {
        Some(doc) => match serde_json::from_str::<Value>(doc) {
            Ok(Value::Object(m)) => m,
            _ => {
                tracing::error!(group = %row.id, "scim: stored SCIM document is not a JSON object");
                return Err(ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal error (see the hub log)",
                ));
            }
        },
        None => {
            let mut m = Map::new();
            m.insert("displayName".into(), json!(row.name));
            m.insert("externalId".into(), json!(row.external_id));
            m
        }
    };
    out.insert("id".into(), json!(row.id));
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        let list: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": m.id, "$ref": format!("{base}/Users/{}", m.id), "type": "User"}))
            .collect();
        out.insert("members".into(), Value::Array(list));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": row.created_at,
            "lastModified": row.updated_at,
            "location": format!("{base}/Groups/{}", row.id),
        }),
    );
    Ok(out)
}

/// Parses a SCIM Group into the directory write (members: user ids, duplicates dropped).
pub fn parse(body: &Map<String, Value>) -> Result<ScimGroupWrite, ScimError> {
    let name = opt_string(body, "displayName")?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("displayName is required (a non-empty string)"))?;
    let mut doc = Map::new();
    doc.insert("displayName".into(), json!(name));
    if let Some(e) = opt_string(body, "externalId")? {
        doc.insert("externalId".into(), json!(e));
    }
    let mut members: Vec<String> = Vec::new();
    for m in opt_objects(body, "members")? {
        if let Some(t) = opt_string(m, "type")? {
            if !t.eq_ignore_ascii_case("User") {
                return Err(invalid(format!(
                    "members of type '{t}' are not supported: only users can be members"
                )));
            }
        }
        let id = match opt_string(m, "value")? {
            Some(v) => v,
            None => opt_string(m, "$ref")?
                .and_then(|r| r.rsplit('/').next().map(str::to_string))
                .ok_or_else(|| invalid("every members element needs a value (a user id)"))?,
        };
        if !members.contains(&id) {
            members.push(id);
        }
    }
    Ok(ScimGroupWrite {
        name,
        members,
        doc: Value::Object(doc).to_string(),
    })
}

/// The groups matching `params`, the page `[start, start + count)` fully rendered, and the
/// number of matches.
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
        .map(|f| filter::parse(f, Kind::Group, check_names))
        .transpose()?;
    let sort = match &params.sort_by {
        Some(s) => Some(
            AttrPath::parse(s, Kind::Group)
                .ok_or_else(|| invalid(format!("sortBy '{s}' is not an attribute path")))?,
        ),
        None => None,
    };
    let rows = state.store.scim_group_rows(project, None).await?;
    let full = filter.as_ref().is_some_and(filter::needs_children)
        || sort.as_ref().is_some_and(filter::path_needs_children);
    let all_members = if full {
        Some(state.store.scim_group_members(project, None).await?)
    } else {
        None
    };
    let mut selected: Vec<(usize, Option<String>)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if filter.is_none() && sort.is_none() {
            selected.push((i, None));
            continue;
        }
        let members = all_members
            .as_ref()
            .map(|m| m.get(&row.id).map(Vec::as_slice).unwrap_or(&[]));
        let rendered = render(row, members, base)?;
        if filter
            .as_ref()
            .is_none_or(|f| filter::matches(f, &rendered))
        {
            let key = sort.as_ref().and_then(|p| filter::sort_key(&rendered, p));
            selected.push((i, key));
        }
    }
    if sort.is_some() {
        selected.sort_by(|a, b| {
            let ordering = match (&a.1, &b.1) {
                (Some(x), Some(y)) => x.cmp(y),
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
    let members = match all_members {
        Some(m) => m,
        None if ids.is_empty() => HashMap::new(),
        None => state.store.scim_group_members(project, Some(&ids)).await?,
    };
    let mut out = Vec::with_capacity(chosen.len());
    for (i, _) in chosen {
        let row = &rows[i];
        out.push(render(
            row,
            Some(members.get(&row.id).map(Vec::as_slice).unwrap_or(&[])),
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
    let projection = Projection::new(Kind::Group, &params.attributes, &params.excluded)?;
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

/// `GET /Groups`.
pub async fn list(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(&query_map(query)?)?;
    list_with(&state, &project, &headers, params).await
}

/// `POST /Groups/.search`.
pub async fn search(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let params = ListParams::from_body(&parse_body(&body)?)?;
    list_with(&state, &project, &headers, params).await
}

async fn load(
    state: &AppState,
    project: &ProjectId,
    id: &str,
    base: &str,
) -> Result<(ScimGroupRow, Map<String, Value>), ScimError> {
    let row = state
        .store
        .scim_group_rows(project, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ScimError::not_found("Group", id))?;
    let ids = [row.id.clone()];
    let members = state.store.scim_group_members(project, Some(&ids)).await?;
    let rendered = render(
        &row,
        Some(members.get(&row.id).map(Vec::as_slice).unwrap_or(&[])),
        base,
    )?;
    Ok((row, rendered))
}

/// `GET /Groups/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ScimError> {
    let projection = Projection::from_query(Kind::Group, &query_map(query)?)?;
    let (_, group) = load(&state, &project, &id, &base_url(&headers)).await?;
    Ok(scim_json(
        StatusCode::OK,
        &Value::Object(projection.apply(group)),
    ))
}

async fn write(
    state: &AppState,
    project: &ProjectId,
    target: Option<&str>,
    group: &ScimGroupWrite,
    headers: &HeaderMap,
    status: StatusCode,
) -> Result<Response, ScimError> {
    let now = (state.clock)();
    let id = state
        .store
        .scim_write_group(project, target, group, now)
        .await?
        .map_err(|r| refusal("Group", target.unwrap_or(""), r))?;
    let base = base_url(headers);
    let (_, rendered) = load(state, project, &id, &base).await?;
    let mut response = scim_json(status, &Value::Object(rendered));
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&format!("{base}/Groups/{id}")) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

/// `POST /Groups`: creates a group of the `scim` source (201).
pub async fn create(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let group = parse(&parse_body(&body)?)?;
    write(
        &state,
        &project,
        None,
        &group,
        &headers,
        StatusCode::CREATED,
    )
    .await
}

/// `PUT /Groups/{id}`: replaces a SCIM group (403 for a synced one).
pub async fn replace(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let group = parse(&parse_body(&body)?)?;
    write(
        &state,
        &project,
        Some(&id),
        &group,
        &headers,
        StatusCode::OK,
    )
    .await
}

/// `PATCH /Groups/{id}`: applies the operations to the current group, then stores it.
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
        return Err(ScimError::read_only("Group", &id, &row.source));
    }
    patch::apply(&mut current, Kind::Group, &ops)?;
    let group = parse(&current)?;
    write(
        &state,
        &project,
        Some(&id),
        &group,
        &headers,
        StatusCode::OK,
    )
    .await
}

/// `DELETE /Groups/{id}`: deletes a SCIM group (204; 403 for a synced one).
pub async fn delete(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    state
        .store
        .scim_delete_group(&project, &id)
        .await?
        .map_err(|r| refusal("Group", &id, r))?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

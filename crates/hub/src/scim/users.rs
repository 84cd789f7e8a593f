//! `/Users`: rendering directory users as SCIM Users, parsing SCIM Users into directory
//! writes, and the handlers.
//!
//! A synced user renders as: `userName` = username, `name.givenName`/`familyName`,
//! `displayName` = "given family", `active` = enabled, `emails` = the directory e-mail (work,
//! primary), `externalId` = the source's external id, the agent extension from the attributes
//! `agentId`, `phoneExtension`, `secondaryEmail` and the skills, `groups` from memberships. A
//! SCIM-created user renders from its stored document, so what the client wrote comes back.

use super::filter::{self, get_ci, AttrPath};
use super::list::{list_response, page, ListParams, Projection};
use super::schema::{Kind, AGENT_EXTENSION, USER_SCHEMA};
use super::{base_url, parse_body, patch, scim_json, ScimError, ScimProject};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use wfm_model::ProjectId;
use wfm_store::{ScimRefusal, ScimUserChildren, ScimUserRow, ScimUserWrite, SCIM_SOURCE};

/// Directory attributes the agent extension maps to (same names).
const EXTENSION_ATTRIBUTES: [&str; 3] = ["agentId", "phoneExtension", "secondaryEmail"];

fn corrupt(id: &str) -> ScimError {
    tracing::error!(user = id, "scim: stored SCIM document is not a JSON object");
    ScimError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "internal error (see the hub log)",
    )
}

/// Renders one user. Without `children`, `groups` (and a synced user's extension) are left out:
/// enough to filter on the core attributes.
pub fn render(
    row: &ScimUserRow,
    children: Option<&ScimUserChildren>,
    base: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = match &row.doc {
        Some(doc) => match serde_json::from_str::<Value>(doc) {
            Ok(Value::Object(m)) => m,
            _ => return Err(corrupt(&row.id)),
        },
        None => synced_doc(row, children),
    };
    out.insert("id".into(), json!(row.id));
    let mut schemas = vec![json!(USER_SCHEMA)];
    if out.contains_key(AGENT_EXTENSION) {
        schemas.push(json!(AGENT_EXTENSION));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    if let Some(children) = children {
        let groups: Vec<Value> = children
            .groups
            .iter()
            .map(|(id, name)| json!({"value": id, "$ref": format!("{base}/Groups/{id}"), "display": name}))
            .collect();
        if !groups.is_empty() {
            out.insert("groups".into(), Value::Array(groups));
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": row.created_at,
            "lastModified": row.updated_at,
            "location": format!("{base}/Users/{}", row.id),
        }),
    );
    Ok(out)
}

fn synced_doc(row: &ScimUserRow, children: Option<&ScimUserChildren>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("userName".into(), json!(row.username));
    out.insert("externalId".into(), json!(row.external_id));
    let mut name = Map::new();
    if let Some(g) = &row.first_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &row.last_name {
        name.insert("familyName".into(), json!(f));
    }
    let display: Vec<&str> = [row.first_name.as_deref(), row.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if !display.is_empty() {
        let display = display.join(" ");
        name.insert("formatted".into(), json!(display));
        out.insert("displayName".into(), json!(display));
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    out.insert("active".into(), json!(row.enabled));
    if let Some(email) = row.email.as_deref().filter(|e| !e.is_empty()) {
        out.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    if let Some(children) = children {
        let mut ext = Map::new();
        for wanted in EXTENSION_ATTRIBUTES {
            if let Some((_, v)) = children.attributes.iter().find(|(n, _)| n == wanted) {
                ext.insert(wanted.into(), json!(v));
            }
        }
        if !children.skills.is_empty() {
            let skills: Vec<Value> = children
                .skills
                .iter()
                .map(|(name, competence)| json!({"name": name, "competence": competence}))
                .collect();
            ext.insert("skills".into(), Value::Array(skills));
        }
        if !ext.is_empty() {
            out.insert(AGENT_EXTENSION.into(), Value::Object(ext));
        }
    }
    out
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// A string attribute (`null` = unassigned).
pub fn opt_string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, ScimError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(invalid(format!("{name} must be a boolean"))),
    }
}

/// The elements of a multi-valued complex attribute (`null` or absent = none).
pub fn opt_objects<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Vec<&'a Map<String, Value>>, ScimError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_object()
                    .ok_or_else(|| invalid(format!("every {name} element must be an object")))
            })
            .collect(),
        Some(Value::Object(o)) => Ok(vec![o]),
        Some(_) => Err(invalid(format!("{name} must be an array of objects"))),
    }
}

fn put(out: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(v) = value {
        out.insert(name.to_string(), v);
    }
}

/// Parses a SCIM User (POST/PUT body, or a patched resource) into the document to keep and
/// the directory write. Read-only attributes (`id`, `meta`, `groups`) are ignored.
pub fn parse(body: &Map<String, Value>) -> Result<ScimUserWrite, ScimError> {
    let username = opt_string(body, "userName")?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("userName is required (a non-empty string)"))?;
    let mut doc = Map::new();
    doc.insert("userName".into(), json!(username));
    let mut first_name = None;
    let mut last_name = None;
    match get_ci(body, "name") {
        None | Some(Value::Null) => {}
        Some(Value::Object(name)) => {
            let mut n = Map::new();
            first_name = opt_string(name, "givenName")?;
            last_name = opt_string(name, "familyName")?;
            put(
                &mut n,
                "formatted",
                opt_string(name, "formatted")?.map(Value::String),
            );
            put(&mut n, "familyName", last_name.clone().map(Value::String));
            put(&mut n, "givenName", first_name.clone().map(Value::String));
            if !n.is_empty() {
                doc.insert("name".into(), Value::Object(n));
            }
        }
        Some(_) => return Err(invalid("name must be an object")),
    }
    put(
        &mut doc,
        "displayName",
        opt_string(body, "displayName")?.map(Value::String),
    );
    let active = opt_bool(body, "active")?;
    put(&mut doc, "active", active.map(Value::Bool));
    let mut emails = Vec::new();
    let mut primary_email = None;
    let mut first_email = None;
    for e in opt_objects(body, "emails")? {
        let value =
            opt_string(e, "value")?.ok_or_else(|| invalid("every emails element needs a value"))?;
        let mut m = Map::new();
        m.insert("value".into(), json!(value));
        put(&mut m, "type", opt_string(e, "type")?.map(Value::String));
        let primary = opt_bool(e, "primary")?;
        put(&mut m, "primary", primary.map(Value::Bool));
        if primary == Some(true) {
            if primary_email.is_some() {
                return Err(invalid("at most one of emails may be primary"));
            }
            primary_email = Some(value.clone());
        }
        first_email.get_or_insert(value);
        emails.push(Value::Object(m));
    }
    if !emails.is_empty() {
        doc.insert("emails".into(), Value::Array(emails));
    }
    put(
        &mut doc,
        "externalId",
        opt_string(body, "externalId")?.map(Value::String),
    );
    let mut attributes = Vec::new();
    let mut skills = Vec::new();
    match get_ci(body, AGENT_EXTENSION) {
        None | Some(Value::Null) => {}
        Some(Value::Object(ext)) => {
            let mut e = Map::new();
            for name in EXTENSION_ATTRIBUTES {
                if let Some(v) = opt_string(ext, name)? {
                    attributes.push((name.to_string(), v.clone()));
                    e.insert(name.into(), json!(v));
                }
            }
            let mut listed = Vec::new();
            for s in opt_objects(ext, "skills")? {
                let name = opt_string(s, "name")?
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| invalid("every skills element needs a name"))?;
                let competence = match get_ci(s, "competence") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().filter(|c| (0..=255).contains(c)).ok_or_else(
                        || {
                            invalid(format!(
                                "skills competence of '{name}' must be an integer from 0 to 255"
                            ))
                        },
                    )?),
                };
                if skills.iter().any(|(n, _): &(String, i32)| n == &name) {
                    return Err(invalid(format!("skill '{name}' is listed twice")));
                }
                skills.push((
                    name.clone(),
                    competence.and_then(|c| i32::try_from(c).ok()).unwrap_or(0),
                ));
                let mut m = Map::new();
                m.insert("name".into(), json!(name));
                put(&mut m, "competence", competence.map(|c| json!(c)));
                listed.push(Value::Object(m));
            }
            if !listed.is_empty() {
                e.insert("skills".into(), Value::Array(listed));
            }
            if !e.is_empty() {
                doc.insert(AGENT_EXTENSION.into(), Value::Object(e));
            }
        }
        Some(_) => return Err(invalid(format!("{AGENT_EXTENSION} must be an object"))),
    }
    Ok(ScimUserWrite {
        username,
        first_name,
        last_name,
        email: primary_email.or(first_email),
        enabled: active.unwrap_or(true),
        attributes,
        skills,
        doc: Value::Object(doc).to_string(),
    })
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

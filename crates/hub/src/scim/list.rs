//! List and search parameters (`filter`, `startIndex`, `count`, `sortBy`, `sortOrder`,
//! `attributes`, `excludedAttributes`), attribute projection, `ListResponse`, and the
//! server-root `POST /.search` over users and groups.

use super::discovery::MAX_RESULTS;
use super::filter::{get_ci, AttrPath};
use super::schema::{Kind, AGENT_EXTENSION, LIST_RESPONSE};
use super::{base_url, groups, parse_body, scim_json, users, ScimError, ScimProject};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Default page size.
pub const DEFAULT_COUNT: usize = 100;

/// The parameters of a list or search request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// The filter text.
    pub filter: Option<String>,
    /// 1-based index of the first result (values below 1 count as 1).
    pub start_index: usize,
    /// Page size (0 = only `totalResults`; at most [`MAX_RESULTS`]).
    pub count: usize,
    /// Attribute to sort by.
    pub sort_by: Option<String>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// `attributes`.
    pub attributes: Vec<String>,
    /// `excludedAttributes`.
    pub excluded: Vec<String>,
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(name: &str, value: &Value) -> Result<i64, ScimError> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| ScimError::bad("invalidValue", format!("{name} must be an integer")))
}

impl ListParams {
    fn from_map(get: impl Fn(&str) -> Option<Value>) -> Result<ListParams, ScimError> {
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::bad(
                    "invalidValue",
                    format!("{name} must be a string"),
                )),
            }
        };
        let start = match get("startIndex") {
            None | Some(Value::Null) => 1,
            Some(v) => number("startIndex", &v)?.max(1),
        };
        let count = match get("count") {
            None | Some(Value::Null) => DEFAULT_COUNT as i64,
            Some(v) => number("count", &v)?.clamp(0, MAX_RESULTS as i64),
        };
        let descending = match text("sortOrder")?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("sortOrder '{other}': use ascending or descending"),
                ))
            }
        };
        Ok(ListParams {
            filter: text("filter")?.filter(|f| !f.trim().is_empty()),
            start_index: usize::try_from(start).unwrap_or(1),
            count: usize::try_from(count).unwrap_or(DEFAULT_COUNT),
            sort_by: text("sortBy")?.filter(|s| !s.trim().is_empty()),
            descending,
            attributes: text("attributes")?
                .map(|s| split_list(&s))
                .unwrap_or_default(),
            excluded: text("excludedAttributes")?
                .map(|s| split_list(&s))
                .unwrap_or_default(),
        })
    }

    /// From a query string (names compared case-insensitively).
    pub fn from_query(query: &HashMap<String, String>) -> Result<ListParams, ScimError> {
        Self::from_map(|name| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| Value::String(v.clone()))
        })
    }

    /// From a `SearchRequest` body.
    pub fn from_body(body: &Map<String, Value>) -> Result<ListParams, ScimError> {
        Self::from_map(|name| get_ci(body, name).cloned())
    }
}

/// Parsed `attributes` / `excludedAttributes`.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

fn parse_paths(kind: Kind, names: &[String], what: &str) -> Result<Vec<AttrPath>, ScimError> {
    names
        .iter()
        .map(|n| {
            AttrPath::parse(n, kind).ok_or_else(|| {
                ScimError::bad(
                    "invalidValue",
                    format!("{what}: '{n}' is not an attribute path"),
                )
            })
        })
        .collect()
}

impl Projection {
    /// Parses the two lists for a resource type.
    pub fn new(
        kind: Kind,
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Projection, ScimError> {
        Ok(Projection {
            attributes: parse_paths(kind, attributes, "attributes")?,
            excluded: parse_paths(kind, excluded, "excludedAttributes")?,
        })
    }

    /// From the `attributes`/`excludedAttributes` of a query string.
    pub fn from_query(
        kind: Kind,
        query: &HashMap<String, String>,
    ) -> Result<Projection, ScimError> {
        let params = ListParams::from_query(query)?;
        Self::new(kind, &params.attributes, &params.excluded)
    }

    /// The resource with only the asked-for attributes (`schemas` and `id` always stay).
    pub fn apply(&self, resource: Map<String, Value>) -> Map<String, Value> {
        let mut out = if self.attributes.is_empty() {
            resource
        } else {
            let mut out = Map::new();
            for key in ["schemas", "id"] {
                if let Some(v) = resource.get(key) {
                    out.insert(key.to_string(), v.clone());
                }
            }
            for path in &self.attributes {
                copy_path(&resource, &mut out, path);
            }
            out
        };
        for path in &self.excluded {
            remove_path(&mut out, path);
        }
        out
    }
}

fn find_key(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn copy_path(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &AttrPath) {
    if path.is_extension_object() {
        if let Some(v) = get_ci(from, AGENT_EXTENSION) {
            to.insert(AGENT_EXTENSION.to_string(), v.clone());
        }
        return;
    }
    let (src, dst) = if path.extension {
        let Some(Value::Object(src)) = get_ci(from, AGENT_EXTENSION) else {
            return;
        };
        let dst = to
            .entry(AGENT_EXTENSION.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(dst) = dst.as_object_mut() else {
            return;
        };
        (src, dst)
    } else {
        (from, to)
    };
    let Some(key) = find_key(src, &path.attr) else {
        return;
    };
    let value = &src[&key];
    let Some(sub) = &path.sub else {
        dst.insert(key, value.clone());
        return;
    };
    let pick = |v: &Value| -> Option<Value> {
        let o = v.as_object()?;
        let k = find_key(o, sub)?;
        let mut m = Map::new();
        m.insert(k.clone(), o[&k].clone());
        Some(Value::Object(m))
    };
    match value {
        Value::Array(items) => {
            let picked: Vec<Value> = items.iter().filter_map(pick).collect();
            if !picked.is_empty() {
                dst.insert(key, Value::Array(picked));
            }
        }
        other => {
            if let Some(Value::Object(p)) = pick(other) {
                let entry = dst.entry(key).or_insert_with(|| Value::Object(Map::new()));
                if let Some(e) = entry.as_object_mut() {
                    e.extend(p);
                }
            }
        }
    }
}

fn remove_path(obj: &mut Map<String, Value>, path: &AttrPath) {
    let target = if path.is_extension_object() {
        if let Some(k) = find_key(obj, AGENT_EXTENSION) {
            obj.remove(&k);
        }
        return;
    } else if path.extension {
        let Some(k) = find_key(obj, AGENT_EXTENSION) else {
            return;
        };
        let Some(ext) = obj.get_mut(&k).and_then(Value::as_object_mut) else {
            return;
        };
        ext
    } else {
        obj
    };
    let Some(key) = find_key(target, &path.attr) else {
        return;
    };
    if key == "id" || key == "schemas" {
        return;
    }
    match &path.sub {
        None => {
            target.remove(&key);
        }
        Some(sub) => {
            let strip = |v: &mut Value| {
                if let Some(o) = v.as_object_mut() {
                    if let Some(k) = find_key(o, sub) {
                        o.remove(&k);
                    }
                }
            };
            match target.get_mut(&key) {
                Some(Value::Array(items)) => items.iter_mut().for_each(strip),
                Some(v) => strip(v),
                None => {}
            }
        }
    }
}

/// A `ListResponse` of one page.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The page `[start_index, start_index + count)` (1-based) of `items`.
pub fn page<T>(items: Vec<T>, start_index: usize, count: usize) -> Vec<T> {
    items
        .into_iter()
        .skip(start_index.saturating_sub(1))
        .take(count)
        .collect()
}

/// `POST /.search`: users, then groups, matching the filter (attributes unknown to one type
/// simply do not match it).
pub async fn search_all(
    State(state): State<AppState>,
    ScimProject(project): ScimProject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let params = ListParams::from_body(&parse_body(&body)?)?;
    let base = base_url(&headers);
    let (_, mut all) =
        users::select(&state, &project, &base, &params, 1, usize::MAX, false).await?;
    let (_, groups) =
        groups::select(&state, &project, &base, &params, 1, usize::MAX, false).await?;
    all.extend(groups);
    let total = all.len();
    let user_projection = Projection::new(Kind::User, &params.attributes, &params.excluded)?;
    let resources: Vec<Value> = page(all, params.start_index, params.count)
        .into_iter()
        .map(|r| Value::Object(user_projection.apply(r)))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(total, params.start_index, resources),
    ))
}

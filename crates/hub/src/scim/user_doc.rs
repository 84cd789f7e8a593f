//! SCIM User documents: rendering directory users as SCIM Users and parsing SCIM Users into
//! directory writes.
//!
//! A synced user renders as: `userName` = username, `name.givenName`/`familyName`,
//! `displayName` = "given family", `active` = enabled, `emails` = the directory e-mail (work,
//! primary), `externalId` = the source's external id, the agent extension from the attributes
//! `agentId`, `phoneExtension`, `secondaryEmail` and the skills, `groups` from memberships. A
//! SCIM-created user renders from its stored document, so what the client wrote comes back.

use super::filter::get_ci;
use super::schema::{AGENT_EXTENSION, USER_SCHEMA};
use super::ScimError;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use wfm_store::{ScimUserChildren, ScimUserRow, ScimUserWrite};

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

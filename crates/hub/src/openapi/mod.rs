//! The hub's OpenAPI 3.1 document, generated from one route table ([`table::ROUTES`]) and served
//! without authentication at [`table::OPENAPI_PATH`].
//!
//! Owns the description of the HTTP surface only: it must not route, authenticate or validate
//! requests (the handlers do). A test compares the table with the router, so a route added
//! without a row here fails CI.

pub mod table;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

pub use table::{Answer, Auth, BodyKind, Param, Route, OPENAPI_PATH, ROUTES};

/// Statuses every authenticated operation can answer, whatever the route.
const AUTH_ERRORS: &[u16] = &[401, 403, 429, 503];

/// `GET /api/v1/openapi.json`: the document as JSON; no auth.
pub async fn document() -> Response {
    let body = document_json().to_string();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The whole OpenAPI document.
pub fn document_json() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_string(), operation(route));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "WFM hub API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ingest and read API of the WFM hub. Every /api/v1 and /scim/v2 route \
                needs `Authorization: Bearer <token>`; the token decides the project (never the URL \
                or the body) and its scope (read, ingest, admin) decides what it may do. Foreign and \
                unknown ids both answer 404. Failed authentication is rate-limited (429 with \
                Retry-After).",
            "license": { "name": "Apache-2.0" }
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "description": "A project token issued by `wfm-hub token issue`." }
            },
            "schemas": {
                "Error": error_schema(),
                "ScimError": scim_error_schema(),
                "Object": { "type": "object" }
            }
        }
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string", "description": "Stable machine-readable code." },
                    "message": { "type": "string", "description": "What went wrong and how to fix it." },
                    "details": { "type": "array", "items": { "type": "string" } }
                }
            }
        }
    })
}

fn scim_error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "status"],
        "properties": {
            "schemas": { "type": "array", "items": { "type": "string" } },
            "status": { "type": "string" },
            "scimType": { "type": "string" },
            "detail": { "type": "string" }
        }
    })
}

fn param_schema(kind: &str) -> Value {
    match kind {
        "integer" => json!({ "type": "integer", "minimum": 0 }),
        "offset" => json!({ "type": "integer", "minimum": 0 }),
        // RFC 7644 3.4.2.4: a startIndex below 1 means 1 and a negative count means 0.
        "scim-int" => json!({ "type": "integer" }),
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
        "boolean" => json!({ "type": "boolean" }),
        "date-time" => json!({ "type": "string", "format": "date-time" }),
        "date" => json!({ "type": "string", "format": "date" }),
        _ => json!({ "type": "string" }),
    }
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = Vec::new();
    if route.path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": "The object's id (a foreign or unknown id answers 404).",
            "schema": { "type": "string" }
        }));
    }
    for param in route.query {
        parameters.push(json!({
            "name": param.name, "in": "query", "required": param.required,
            "description": param.doc, "schema": param_schema(param.kind)
        }));
    }
    if route.idempotent {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": true,
            "description": "1 to 128 printable ASCII characters without spaces (normally a UUID); \
                reuse it only to retry the same request.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$" }
        }));
    }
    let mut op = Map::new();
    op.insert("operationId".into(), json!(operation_id(route)));
    op.insert("summary".into(), json!(route.summary));
    op.insert("tags".into(), json!([route.tag]));
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = request_body(route.body) {
        op.insert("requestBody".into(), body);
    }
    op.insert("responses".into(), responses(route));
    match route.auth {
        Auth::None => op.insert("security".into(), json!([])),
        Auth::Bearer => op.insert("security".into(), json!([{ "bearerAuth": [] }])),
    };
    Value::Object(op)
}

fn operation_id(route: &Route) -> String {
    let mut id = String::from(route.method);
    for part in route.path.split(['/', '.', '-', '{', '}']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

fn request_body(kind: BodyKind) -> Option<Value> {
    let object = json!({ "schema": { "$ref": "#/components/schemas/Object" } });
    match kind {
        BodyKind::None => None,
        BodyKind::Json => {
            Some(json!({ "required": true, "content": { "application/json": object } }))
        }
        BodyKind::Scim => Some(json!({ "required": true, "content": {
            "application/scim+json": object.clone(), "application/json": object
        } })),
        BodyKind::Csv => Some(json!({ "required": true, "content": {
            "text/csv": { "schema": { "type": "string" } }
        } })),
    }
}

fn success(answer: Answer) -> Value {
    let object = json!({ "schema": { "$ref": "#/components/schemas/Object" } });
    match answer {
        Answer::Json => {
            json!({ "description": "Success.", "content": { "application/json": object } })
        }
        Answer::JsonList => json!({ "description": "Success.", "content": { "application/json": {
            "schema": { "type": "array", "items": { "type": "object" } } } } }),
        Answer::Scim => {
            json!({ "description": "Success.", "content": { "application/scim+json": object } })
        }
        Answer::Csv => {
            json!({ "description": "CSV.", "content": { "text/csv": { "schema": { "type": "string" } } } })
        }
        Answer::Metrics => json!({ "description": "OpenMetrics text.", "content": {
            "application/openmetrics-text": { "schema": { "type": "string" } } } }),
        Answer::EventStream => json!({ "description": "Server-sent events.", "content": {
            "text/event-stream": { "schema": { "type": "string" } } } }),
        Answer::Empty => json!({ "description": "Done, no content." }),
    }
}

fn error_response(status: u16, scim: bool) -> Value {
    let (media, schema) = if scim {
        ("application/scim+json", "#/components/schemas/ScimError")
    } else {
        ("application/json", "#/components/schemas/Error")
    };
    let mut response = json!({
        "description": describe(status),
        "content": { media: { "schema": { "$ref": schema } } }
    });
    if status == 429 || status == 503 {
        response["headers"] = json!({ "Retry-After": {
            "description": "Seconds to wait before retrying.", "schema": { "type": "integer" } } });
    }
    response
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => "Malformed request (query, header or body); the message names the problem.",
        401 => "Missing, malformed, unknown, expired or revoked token.",
        403 => "The token's scope does not allow this operation.",
        404 => "No such object in this project (foreign ids look the same).",
        409 => "Conflict with the stored state (idempotency key, uniqueness).",
        410 => "The upload expired.",
        413 => "Request body over the hub's limit (server.max_body_bytes).",
        415 => "Wrong Content-Type.",
        422 => "Well-formed but invalid content; details list every problem.",
        429 => "Too many failed authentication attempts from this address.",
        503 => "Storage temporarily unavailable.",
        _ => "Error.",
    }
}

fn responses(route: &Route) -> Value {
    let scim = route.path.starts_with("/scim/");
    let mut out = Map::new();
    out.insert(route.ok.to_string(), success(route.answer));
    let mut statuses: Vec<u16> = route.errors.to_vec();
    if route.auth == Auth::Bearer {
        statuses.extend_from_slice(AUTH_ERRORS);
    }
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        out.insert(status.to_string(), error_response(status, scim));
    }
    Value::Object(out)
}

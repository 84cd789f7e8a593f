//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` (RFC 7644 §4). They need a valid
//! token like every SCIM endpoint, and only answer GET (other methods: 405).

use super::schema::{self, AGENT_EXTENSION, GROUP_SCHEMA, LIST_RESPONSE, USER_SCHEMA};
use super::{base_url, scim_json, ScimError, ScimProject};
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

/// Largest page a list answers (`count` above it is lowered to it).
pub const MAX_RESULTS: usize = 1000;

fn list_response(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

fn with_meta(mut item: Value, resource_type: &str, location: String) -> Value {
    item["meta"] = json!({"resourceType": resource_type, "location": location});
    item
}

fn schemas_with_meta(base: &str) -> Vec<Value> {
    schema::all_schemas()
        .into_iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap_or_default().to_string();
            with_meta(s, "Schema", format!("{base}/Schemas/{id}"))
        })
        .collect()
}

fn resource_types_with_meta(base: &str) -> Vec<Value> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "Users of the project's directory",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": AGENT_EXTENSION, "required": false}],
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Groups (teams) of the project's directory",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
    });
    vec![
        with_meta(user, "ResourceType", format!("{base}/ResourceTypes/User")),
        with_meta(group, "ResourceType", format!("{base}/ResourceTypes/Group")),
    ]
}

/// `GET /ServiceProviderConfig`.
pub async fn service_provider_config(_project: ScimProject, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let config = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/wfm-importer/wfm-importer/blob/main/docs/scim.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Project bearer token",
            "description": "Send the project token as `Authorization: Bearer <token>`",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    scim_json(StatusCode::OK, &config)
}

/// `GET /Schemas`.
pub async fn schemas(_project: ScimProject, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    scim_json(StatusCode::OK, &list_response(schemas_with_meta(&base)))
}

/// `GET /Schemas/{urn}`.
pub async fn schema(
    _project: ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let base = base_url(&headers);
    schemas_with_meta(&base)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id.as_str()))
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("schema", &id))
}

/// `GET /ResourceTypes`.
pub async fn resource_types(_project: ScimProject, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    scim_json(
        StatusCode::OK,
        &list_response(resource_types_with_meta(&base)),
    )
}

/// `GET /ResourceTypes/{id}`.
pub async fn resource_type(
    _project: ScimProject,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let base = base_url(&headers);
    resource_types_with_meta(&base)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id.as_str()))
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("resource type", &id))
}

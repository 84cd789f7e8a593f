//! Microsoft Graph emulator (OAuth bearer), users and groups only:
//!
//! - `GET /v1.0/users[?$top=N]` → `{"@odata.context","@odata.nextLink"?,"value":[…]}`; default
//!   page 100, `$top` 1..=999 (else 400), `$skip` refused (400); the next link is absolute and
//!   carries an opaque `$skiptoken` (base64 of a per-instance salt and the offset), so a client
//!   must follow it verbatim until it is absent;
//! - `GET /v1.0/groups` and `GET /v1.0/groups/{id}/members` (paged the same way; members are
//!   user objects with `"@odata.type":"#microsoft.graph.user"`);
//! - `POST /oauth/token` (client credentials).
//!
//! Errors: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::faults::Fault;
use crate::oauth::{self, AuthFailure, CloudControl, Guard, OAuthConfig, Problem};
use crate::paging::{self, Cursor, DirUser, PageFailure, UNKNOWN_MEMBER_KEY};
use crate::server::{self, Common};
use crate::{EmulatorHandle, SharedData};

/// Configuration of one Graph emulator.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// OAuth client, token lifetime, static token (granted
    /// `https://graph.microsoft.com/.default`; no scope is required by the API).
    pub auth: OAuthConfig,
    /// Runtime fault modes and tokens: keep a clone to change them while the emulator runs.
    pub control: CloudControl,
    /// Delay added to every request.
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// Base of the absolute `@odata.nextLink`; the emulator's own URL when `None`.
    pub public_base_url: Option<String>,
    /// Domain of the `userPrincipalName`s (default `wfmdemo.onmicrosoft.com`).
    pub tenant_domain: String,
    /// Page size without `$top` (default 100).
    pub default_page_size: usize,
    /// Largest `$top` (default 999); bigger answers 400.
    pub max_page_size: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            auth: OAuthConfig {
                granted_scopes: vec!["https://graph.microsoft.com/.default".into()],
                ..OAuthConfig::default()
            },
            control: CloudControl::default(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            public_base_url: None,
            tenant_domain: "wfmdemo.onmicrosoft.com".into(),
            default_page_size: 100,
            max_page_size: 999,
        }
    }
}

/// The Microsoft Graph emulator.
pub struct GraphEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    control: CloudControl,
    base: String,
    salt: String,
    domain: String,
    default_size: usize,
    max_size: usize,
}

/// The Graph object id of a user, for a directory key (CUCM `pkid`, else `userid:<user id>`).
pub fn user_id(key: &str) -> String {
    paging::stable_uuid("graph-user", key)
}

/// The Graph object id of the group of a UCCX team.
pub fn group_id(team_id: u32) -> String {
    paging::stable_uuid("graph-group", &team_id.to_string())
}

impl GraphEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: GraphConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: String::new(),
            password: String::new(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: "Microsoft Graph",
            render: render_fault,
        };
        let guard = Guard {
            auth: cfg.auth.clone(),
            control: cfg.control.clone(),
            render: render_problem,
        };
        let shared = data.clone();
        server::spawn(cfg.bind, cfg.tls.as_ref(), common, data, move |own| {
            let base = cfg.public_base_url.clone().unwrap_or(own);
            let app = App {
                data: shared,
                control: cfg.control.clone(),
                base: base.trim_end_matches('/').to_string(),
                salt: paging::new_salt(),
                domain: cfg.tenant_domain.clone(),
                default_size: cfg.default_page_size.max(1),
                max_size: cfg.max_page_size.max(1),
            };
            let api = Router::new()
                .route("/v1.0/users", get(users))
                .route("/v1.0/groups", get(groups))
                .route("/v1.0/groups/{group_id}/members", get(members))
                .fallback(not_found_route)
                .with_state(app);
            oauth::wrap(api, guard)
        })
        .await
    }
}

/// A Graph error body with this status, `code` and `message`.
pub fn error(status: u16, code: &str, message: &str) -> Response {
    let request_id = paging::stable_uuid("graph-request", &rand_key());
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2024-01-02T08:00:00",
                "request-id": request_id,
                "client-request-id": request_id,
            },
        },
    });
    let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        s,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::HeaderName::from_static("request-id"), request_id),
        ],
        body.to_string(),
    )
        .into_response()
}

fn rand_key() -> String {
    use rand::Rng;
    rand::thread_rng().gen::<u64>().to_string()
}

fn ok(body: String) -> Response {
    let ct = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
    (StatusCode::OK, [(header::CONTENT_TYPE, ct)], body).into_response()
}

fn user(app: &App, u: &DirUser<'_>) -> Value {
    let r = u.r;
    json!({
        "businessPhones": [r.extension],
        "displayName": r.display_name(),
        "givenName": r.first_name,
        "jobTitle": if r.kind == 2 { "Supervisor" } else { "Agent" },
        "mail": u.mail(),
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": r.last_name,
        "userPrincipalName": format!("{}@{}", r.user_id.to_lowercase(), app.domain),
        "id": user_id(&u.key),
    })
}

/// `$top` and the `$skiptoken` cursor, or the 400 response.
fn paged(app: &App, q: &HashMap<String, String>) -> Result<(usize, Cursor), Box<Response>> {
    if q.contains_key("$skip") {
        return Err(Box::new(error(
            400,
            "Request_UnsupportedQuery",
            "The query specified in the URI is not valid. Query option '$skip' is not supported.",
        )));
    }
    let size = match paging::parse_num(q, "$top") {
        Ok(None) => app.default_size,
        Ok(Some(n)) if (1..=app.max_size).contains(&n) => n,
        Ok(Some(n)) => {
            let msg = format!(
                "Invalid page size specified: '{n}'. Must be between 1 and {} inclusive.",
                app.max_size
            );
            return Err(Box::new(error(400, "Request_UnsupportedQuery", &msg)));
        }
        Err(_) => {
            let msg = "Invalid value for query option '$top'.";
            return Err(Box::new(error(400, "Request_BadRequest", msg)));
        }
    };
    let cursor = match q.get("$skiptoken") {
        None => Cursor::default(),
        Some(t) => match paging::decode_cursor(&app.salt, t) {
            Some(c) => c,
            None => {
                let msg = "The specified page token value has expired or is not valid.";
                return Err(Box::new(error(400, "Directory_ExpiredPageToken", msg)));
            }
        },
    };
    Ok((size, cursor))
}

fn collection(
    app: &App,
    path: &str,
    context: &str,
    page: &paging::Page,
    top: usize,
    items: Vec<Value>,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "https://graph.microsoft.com/v1.0/$metadata#{context}"
        )),
    );
    if let Some(next) = page.next {
        let token = paging::encode_cursor(&app.salt, next);
        let link = format!("{}{path}?$top={top}&$skiptoken={token}", app.base);
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert("value".into(), Value::Array(items));
    ok(Value::Object(body).to_string())
}

async fn users(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let q = paging::query_map(query.as_deref());
    let (top, cursor) = match paged(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let cc = app.data.read();
    let page = app
        .control
        .with_knobs(|k| paging::plan(cc.resources.len(), cursor, top, k, true));
    match page.failure {
        Some(PageFailure::Status(code)) => {
            return error(code, "UnknownError", "Injected page failure.")
        }
        Some(PageFailure::Malformed) => return ok("{\"value\":[{\"id\":\"broken".into()),
        None => {}
    }
    let dir = paging::directory_at(&cc, &page.items);
    let items = dir.iter().map(|u| user(&app, u)).collect();
    collection(&app, "/v1.0/users", "users", &page, top, items)
}

async fn groups(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let q = paging::query_map(query.as_deref());
    let (top, cursor) = match paged(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let cc = app.data.read();
    let page = app
        .control
        .with_knobs(|k| paging::plan(cc.teams.len(), cursor, top, k, false));
    let items = page
        .items
        .iter()
        .map(|&i| {
            let t = &cc.teams[i];
            json!({
                "id": group_id(t.team_id),
                "displayName": t.name,
                "description": format!("{} team", t.name),
                "mail": null,
                "mailEnabled": false,
                "mailNickname": t.name.to_lowercase().replace(' ', "-"),
                "securityEnabled": true,
                "groupTypes": [],
            })
        })
        .collect();
    collection(&app, "/v1.0/groups", "groups", &page, top, items)
}

async fn members(
    State(app): State<App>,
    Path(gid): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = paging::query_map(query.as_deref());
    let (top, cursor) = match paged(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let cc = app.data.read();
    let Some(team) = cc.teams.iter().find(|t| group_id(t.team_id) == gid) else {
        let msg = format!(
            "Resource '{gid}' does not exist or one of its queried reference-property objects are not present."
        );
        return error(404, "Request_ResourceNotFound", &msg);
    };
    let dir = paging::directory(&cc);
    let ids = paging::members(&dir, team);
    let unknown = app.control.faults().unknown_member;
    let total = ids.len() + usize::from(unknown);
    let page = app
        .control
        .with_knobs(|k| paging::plan(total, cursor, top, k, false));
    let items = page
        .items
        .iter()
        .map(|&i| {
            let mut v = match ids.get(i) {
                Some(&d) => user(&app, &dir[d]),
                None => json!({
                    "displayName": "Unknown Member",
                    "givenName": "Unknown",
                    "surname": "Member",
                    "mail": null,
                    "userPrincipalName": format!("ghost@{}", app.domain),
                    "jobTitle": null,
                    "id": user_id(UNKNOWN_MEMBER_KEY),
                }),
            };
            if let Some(m) = v.as_object_mut() {
                m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            }
            v
        })
        .collect();
    let path = format!("/v1.0/groups/{gid}/members");
    collection(&app, &path, "directoryObjects", &page, top, items)
}

async fn not_found_route() -> Response {
    error(
        400,
        "BadRequest",
        "Resource not found for the segment in the request URI.",
    )
}

fn throttled() -> Response {
    error(
        429,
        "TooManyRequests",
        "Too many requests, retry after the Retry-After delay.",
    )
}

fn render_problem(p: Problem) -> Response {
    match p {
        Problem::Auth(AuthFailure::Missing) => {
            error(401, "InvalidAuthenticationToken", "Access token is empty.")
        }
        Problem::Auth(AuthFailure::Expired) => error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ),
        Problem::Auth(AuthFailure::Scope) => error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        Problem::Auth(AuthFailure::Invalid) => error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        Problem::Throttled => throttled(),
    }
}

fn render_fault(fault: &Fault, _json: bool) -> Response {
    match fault {
        Fault::Status(429) | Fault::ApiErrors(429, _) => {
            let mut r = throttled();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            r
        }
        Fault::Status(code) | Fault::ApiErrors(code, _) => {
            error(*code, "UnknownError", "Injected server error.")
        }
        Fault::Unauthorized => render_problem(Problem::Auth(AuthFailure::Invalid)),
        Fault::MalformedXml => ok("{\"value\":[{\"id\":\"broken".into()),
        Fault::AxlThrottle => error(503, "serviceNotAvailable", "Service busy."),
        _ => error(500, "UnknownError", "unsupported injected fault"),
    }
}

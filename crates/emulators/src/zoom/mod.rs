//! Zoom API emulator (OAuth bearer):
//!
//! - `GET /v2/users?status=active&page_size=S[&next_page_token=T]` →
//!   `{page_count,page_number,page_size,total_records,next_page_token,users:[…]}`; the token is
//!   opaque and an empty `next_page_token` ends paging;
//! - `GET /v2/groups` → `{groups:[{id,name,total_members}],total_records}` (teams as groups);
//! - `GET /v2/groups/{groupId}/members?page_size=&next_page_token=` (paged the same way);
//! - `POST /oauth/token` (client credentials; Zoom's `account_credentials` grant also works).
//!
//! `page_size` defaults to 30 and is clamped to 300 like the real API. Errors are
//! `{"code":N,"message":"…"}` (124 for a bad token).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::oauth::{self, AuthFailure, CloudControl, Guard, OAuthConfig, Problem};
use crate::paging::{self, Cursor, DirUser, PageFailure, UNKNOWN_MEMBER_KEY};
use crate::server::{self, Common};
use crate::{EmulatorHandle, SharedData};

/// Configuration of one Zoom emulator.
#[derive(Clone, Debug)]
pub struct ZoomConfig {
    /// OAuth client, token lifetime, static token (granted `user:read:admin` and
    /// `group:read:admin`; no scope is required by the API).
    pub auth: OAuthConfig,
    /// Runtime fault modes and tokens: keep a clone to change them while the emulator runs.
    pub control: CloudControl,
    /// Delay added to every request.
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// `page_size` when the request has none (default 30).
    pub default_page_size: usize,
    /// Largest `page_size`; bigger requests are clamped to it (default 300).
    pub max_page_size: usize,
}

impl Default for ZoomConfig {
    fn default() -> Self {
        ZoomConfig {
            auth: OAuthConfig {
                granted_scopes: vec!["user:read:admin".into(), "group:read:admin".into()],
                ..OAuthConfig::default()
            },
            control: CloudControl::default(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            default_page_size: 30,
            max_page_size: 300,
        }
    }
}

/// The Zoom emulator.
pub struct ZoomEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    control: CloudControl,
    salt: String,
    default_size: usize,
    max_size: usize,
}

/// Zoom's 22-character id for a stable key (base64url of 16 stable bytes).
pub fn zoom_id(namespace: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(paging::stable_bytes(namespace, key))
}

/// The Zoom user id for a directory key (CUCM `pkid`, else `userid:<user id>`).
pub fn user_id(key: &str) -> String {
    zoom_id("zoom-user", key)
}

/// The Zoom group id of a UCCX team.
pub fn group_id(team_id: u32) -> String {
    zoom_id("zoom-group", &team_id.to_string())
}

impl ZoomEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: ZoomConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: String::new(),
            password: String::new(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: "Zoom API",
            render: render_fault,
        };
        let app = App {
            data: data.clone(),
            control: cfg.control.clone(),
            salt: paging::new_salt(),
            default_size: cfg.default_page_size.max(1),
            max_size: cfg.max_page_size.max(1),
        };
        let guard = Guard {
            auth: cfg.auth.clone(),
            control: cfg.control.clone(),
            render: render_problem,
        };
        server::spawn(cfg.bind, cfg.tls.as_ref(), common, data, move |_own| {
            let api = Router::new()
                .route("/v2/users", get(users))
                .route("/v2/groups", get(groups))
                .route("/v2/groups/{group_id}/members", get(members))
                .fallback(not_found_route)
                .with_state(app);
            oauth::wrap(api, guard)
        })
        .await
    }
}

/// A Zoom error: `{"code":N,"message":"…"}`.
pub fn error(status: u16, code: i64, message: &str) -> Response {
    let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"code": code, "message": message});
    (
        s,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn user(u: &DirUser<'_>) -> Value {
    let r = u.r;
    let email = u
        .mail()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}@noemail.example.com", r.user_id.to_lowercase()));
    let groups: Vec<String> = r.team.iter().map(|(id, _)| group_id(*id)).collect();
    let dept = u.eu.and_then(|e| e.department.clone()).unwrap_or_default();
    json!({
        "id": user_id(&u.key),
        "first_name": r.first_name,
        "last_name": r.last_name,
        "display_name": r.display_name(),
        "email": email,
        "type": 2,
        "pmi": 1_000_000_000u64 + u64::from(paging::stable_bytes("zoom-pmi", &u.key)[0]) * 1000,
        "timezone": "America/New_York",
        "verified": 1,
        "dept": dept,
        "created_at": "2023-03-21T10:10:00Z",
        "last_login_time": "2024-01-02T08:00:00Z",
        "language": "en-US",
        "status": "active",
        "role_id": if r.kind == 2 { "1" } else { "2" },
        "employee_unique_id": r.user_id,
        "group_ids": groups,
        "user_created_at": "2023-03-21T10:10:00Z",
    })
}

struct Paged {
    size: usize,
    cursor: Cursor,
}

/// `page_size` (clamped) and the cursor of `next_page_token`, or the 300 error response.
fn paged(app: &App, q: &std::collections::HashMap<String, String>) -> Result<Paged, Box<Response>> {
    let size = match paging::parse_num(q, "page_size") {
        Ok(s) => s.unwrap_or(app.default_size).clamp(1, app.max_size),
        Err(e) => return Err(Box::new(error(400, 300, &e))),
    };
    let cursor = match q.get("next_page_token").map(|t| t.trim()) {
        None | Some("") => Cursor::default(),
        Some(t) => match paging::decode_cursor(&app.salt, t) {
            Some(c) => c,
            None => {
                return Err(Box::new(error(
                    400,
                    300,
                    "The next page token is invalid or expired.",
                )))
            }
        },
    };
    Ok(Paged { size, cursor })
}

fn envelope(
    app: &App,
    page: &paging::Page,
    total: usize,
    key: &str,
    items: Vec<Value>,
) -> Response {
    let next = page
        .next
        .map(|c| paging::encode_cursor(&app.salt, c))
        .unwrap_or_default();
    let mut body = serde_json::Map::new();
    body.insert("page_count".into(), json!(total.div_ceil(page.size)));
    body.insert("page_number".into(), json!(page.index + 1));
    body.insert("page_size".into(), json!(page.size));
    body.insert("total_records".into(), json!(total));
    body.insert("next_page_token".into(), json!(next));
    body.insert(key.into(), Value::Array(items));
    ok(Value::Object(body).to_string())
}

fn failure(f: PageFailure) -> Response {
    match f {
        PageFailure::Status(code) => error(code, i64::from(code), "Injected page failure."),
        PageFailure::Malformed => ok("{\"users\":[{\"id\":\"broken".into()),
    }
}

async fn users(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let q = paging::query_map(query.as_deref());
    let p = match paged(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let status = q.get("status").map(String::as_str).unwrap_or("active");
    if !matches!(status, "active" | "inactive" | "pending") {
        return error(400, 300, &format!("Invalid field: status '{status}'."));
    }
    let cc = app.data.read();
    let total = if status == "active" {
        cc.resources.len()
    } else {
        0
    };
    let page = app
        .control
        .with_knobs(|k| paging::plan(total, p.cursor, p.size, k, true));
    if let Some(f) = page.failure {
        return failure(f);
    }
    let dir = paging::directory_at(&cc, &page.items);
    let items = dir.iter().map(user).collect();
    envelope(&app, &page, total, "users", items)
}

async fn groups(State(app): State<App>) -> Response {
    let cc = app.data.read();
    let dir = paging::directory(&cc);
    let unknown = app.control.faults().unknown_member;
    let list: Vec<Value> = cc
        .teams
        .iter()
        .map(|t| {
            let n = paging::members(&dir, t).len() + usize::from(unknown);
            json!({"id": group_id(t.team_id), "name": t.name, "total_members": n})
        })
        .collect();
    ok(json!({"total_records": list.len(), "groups": list}).to_string())
}

async fn members(
    State(app): State<App>,
    Path(gid): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = paging::query_map(query.as_deref());
    let p = match paged(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let cc = app.data.read();
    let Some(team) = cc.teams.iter().find(|t| group_id(t.team_id) == gid) else {
        return error(404, 4130, &format!("Group does not exist: {gid}."));
    };
    let dir = paging::directory(&cc);
    let ids = paging::members(&dir, team);
    let unknown = app.control.faults().unknown_member;
    let total = ids.len() + usize::from(unknown);
    let page = app
        .control
        .with_knobs(|k| paging::plan(total, p.cursor, p.size, k, false));
    let items = page
        .items
        .iter()
        .map(|&i| match ids.get(i) {
            Some(&d) => {
                let u = user(&dir[d]);
                json!({
                    "id": u["id"], "email": u["email"], "first_name": u["first_name"],
                    "last_name": u["last_name"], "type": u["type"],
                })
            }
            None => json!({
                "id": user_id(UNKNOWN_MEMBER_KEY),
                "email": "ghost@unknown.example.com",
                "first_name": "Unknown",
                "last_name": "Member",
                "type": 1,
            }),
        })
        .collect();
    envelope(&app, &page, total, "members", items)
}

async fn not_found_route() -> Response {
    error(404, 404, "The requested resource is not available.")
}

fn throttled() -> Response {
    error(
        429,
        429,
        "You have reached the maximum per-second rate limit for this API. Try again later.",
    )
}

fn render_problem(p: Problem) -> Response {
    match p {
        Problem::Auth(AuthFailure::Expired) => error(401, 124, "Access token is expired."),
        Problem::Auth(AuthFailure::Scope) => error(
            400,
            4711,
            "Invalid access token, does not contain scopes:[user:read:admin].",
        ),
        Problem::Auth(_) => error(401, 124, "Invalid access token."),
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
            error(*code, i64::from(*code), "Injected server error.")
        }
        Fault::Unauthorized => error(401, 124, "Invalid access token."),
        Fault::MalformedXml => ok("{\"users\":[{\"id\":\"broken".into()),
        Fault::AxlThrottle => error(503, 503, "Service is busy."),
        _ => error(500, 500, "unsupported injected fault"),
    }
}

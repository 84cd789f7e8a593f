//! Webex Contact Center configuration API emulator (OAuth bearer, scope `cjp:config_read`):
//!
//! - v1 `GET /organization/{orgid}/user` and `/team?page=P&pageSize=S`: bare JSON arrays, page
//!   0-based, an empty array past the end;
//! - v2 `GET /organization/{orgid}/v2/user` and `/v2/team`: `{"meta":{…,"links":{…}},"data":[…]}`
//!   with relative links;
//! - `POST /oauth/token` (client credentials).
//!
//! Page size defaults to 100, more than 1000 answers 400. A wrong org id answers 404. Errors use
//! the Webex shape `{"trackingId","error":{"key","reason","message":[…]}}`.

pub mod json;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::oauth::{self, AuthFailure, CloudControl, Guard, OAuthConfig, Problem};
use crate::paging::{self, Cursor, PageFailure};
use crate::server::{self, Common};
use crate::{EmulatorHandle, SharedData};

/// Organization id served by default (the one in Cisco's published samples).
pub const DEFAULT_ORG_ID: &str = "f53c8b54-46ca-43f6-ba05-08426a46e23d";

/// The scope the configuration API requires.
pub const CONFIG_READ_SCOPE: &str = "cjp:config_read";

/// Configuration of one Webex CC emulator.
#[derive(Clone, Debug)]
pub struct WebexConfig {
    /// The organization id in every path (default [`DEFAULT_ORG_ID`]); others answer 404.
    pub org_id: String,
    /// OAuth client, token lifetime, static token; by default the client is granted
    /// `cjp:config_read` and `cjp:config` and the API requires `cjp:config_read`.
    pub auth: OAuthConfig,
    /// Runtime fault modes and tokens: keep a clone to change them while the emulator runs.
    pub control: CloudControl,
    /// Delay added to every request.
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// `pageSize` when the request has none (default 100).
    pub default_page_size: usize,
    /// Largest `pageSize` accepted (default 1000); bigger answers 400.
    pub max_page_size: usize,
}

impl Default for WebexConfig {
    fn default() -> Self {
        WebexConfig {
            org_id: DEFAULT_ORG_ID.into(),
            auth: OAuthConfig {
                granted_scopes: vec![CONFIG_READ_SCOPE.into(), "cjp:config".into()],
                required_scope: Some(CONFIG_READ_SCOPE.into()),
                ..OAuthConfig::default()
            },
            control: CloudControl::default(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            default_page_size: 100,
            max_page_size: 1000,
        }
    }
}

/// The Webex Contact Center emulator.
pub struct WebexEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    org: String,
    control: CloudControl,
    default_size: usize,
    max_size: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    User,
    Team,
}

impl WebexEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: WebexConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: String::new(),
            password: String::new(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: "Webex Contact Center",
            render: render_fault,
        };
        let app = App {
            data: data.clone(),
            org: cfg.org_id.clone(),
            control: cfg.control.clone(),
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
                .route("/organization/{org}/user", get(v1_users))
                .route("/organization/{org}/team", get(v1_teams))
                .route("/organization/{org}/v2/user", get(v2_users))
                .route("/organization/{org}/v2/team", get(v2_teams))
                .fallback(not_found_route)
                .with_state(app);
            oauth::wrap(api, guard)
        })
        .await
    }
}

async fn v1_users(s: State<App>, p: Path<String>, q: RawQuery) -> Response {
    list(s, p, q, Kind::User, false)
}

async fn v1_teams(s: State<App>, p: Path<String>, q: RawQuery) -> Response {
    list(s, p, q, Kind::Team, false)
}

async fn v2_users(s: State<App>, p: Path<String>, q: RawQuery) -> Response {
    list(s, p, q, Kind::User, true)
}

async fn v2_teams(s: State<App>, p: Path<String>, q: RawQuery) -> Response {
    list(s, p, q, Kind::Team, true)
}

fn entity(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "cc_user",
        Kind::Team => "cc_team",
    }
}

fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
    kind: Kind,
    v2: bool,
) -> Response {
    if org != app.org {
        let msg = format!("Organization {org} not found");
        return json::error(404, "Not Found", &msg, entity(kind));
    }
    let q = paging::query_map(query.as_deref());
    let (page_no, size) = match (
        paging::parse_num(&q, "page"),
        paging::parse_num(&q, "pageSize"),
    ) {
        (Ok(p), Ok(s)) => (p.unwrap_or(0), s.unwrap_or(app.default_size)),
        (Err(e), _) | (_, Err(e)) => return json::error(400, "Bad Request", &e, entity(kind)),
    };
    if size == 0 || size > app.max_size {
        let msg = format!("pageSize must be between 1 and {}", app.max_size);
        return json::error(400, "Bad Request", &msg, entity(kind));
    }
    let emptied = v2 && q.get("emptied").map(String::as_str) == Some("1");
    let cc = app.data.read();
    let faults = kind == Kind::User;
    let total = match kind {
        Kind::User => cc.resources.len(),
        Kind::Team => cc.teams.len(),
    };
    let page = app.control.with_knobs(|k| {
        let eff = if faults {
            k.forced_page_size.unwrap_or(size).max(1)
        } else {
            size
        };
        let cursor = Cursor {
            offset: page_no.saturating_mul(eff),
            emptied,
        };
        paging::plan(total, cursor, size, k, faults)
    });
    match page.failure {
        Some(PageFailure::Status(code)) => {
            return json::error(
                code,
                "Injected failure",
                "Injected page failure",
                entity(kind),
            )
        }
        Some(PageFailure::Malformed) => return ok("[{\"id\":\"broken".to_string()),
        None => {}
    }
    let unknown = app.control.faults().unknown_member;
    let items: Vec<Value> = match kind {
        Kind::User => paging::directory_at(&cc, &page.items)
            .iter()
            .map(|u| json::user(&app.org, u))
            .collect(),
        Kind::Team => {
            let dir = paging::directory(&cc);
            page.items
                .iter()
                .map(|&i| {
                    let t = &cc.teams[i];
                    let mut ids: Vec<String> = paging::members(&dir, t)
                        .into_iter()
                        .map(|m| json::user_id(&dir[m].key))
                        .collect();
                    if unknown {
                        ids.push(json::unknown_user_id());
                    }
                    json::team(&app.org, t, ids)
                })
                .collect()
        }
    };
    if !v2 {
        return ok(Value::Array(items).to_string());
    }
    let path = match kind {
        Kind::User => format!("/organization/{}/v2/user", app.org),
        Kind::Team => format!("/organization/{}/v2/team", app.org),
    };
    let link = |p: usize, emptied: bool| {
        let extra = if emptied { "&emptied=1" } else { "" };
        format!("{path}?page={p}&pageSize={size}{extra}")
    };
    let total_pages = total.div_ceil(page.size);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!(link(page_no, emptied)));
    if let Some(next) = page.next {
        links.insert(
            "next".into(),
            json!(link(next.offset / page.size, next.emptied)),
        );
    }
    if page_no > 0 {
        links.insert("prev".into(), json!(link(page_no - 1, false)));
    }
    links.insert("first".into(), json!(link(0, false)));
    links.insert(
        "last".into(),
        json!(link(total_pages.saturating_sub(1), false)),
    );
    let body = json!({
        "meta": {
            "orgid": app.org,
            "page": page_no,
            "pageSize": page.size,
            "totalPages": total_pages,
            "totalRecords": total,
            "links": links,
        },
        "data": items,
    });
    ok(body.to_string())
}

fn ok(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn not_found_route() -> Response {
    json::error(
        404,
        "Not Found",
        "The requested resource is not available",
        "cc_user",
    )
}

fn render_problem(p: Problem) -> Response {
    match p {
        Problem::Auth(AuthFailure::Scope) => json::error(
            403,
            "Forbidden",
            &format!("The access token does not have the required scope {CONFIG_READ_SCOPE}"),
            "cc_user",
        ),
        Problem::Auth(AuthFailure::Expired) => json::error(
            401,
            "Unauthorized",
            "The access token has expired",
            "cc_user",
        ),
        Problem::Auth(_) => json::error(
            401,
            "Unauthorized",
            "Invalid or missing access token",
            "cc_user",
        ),
        Problem::Throttled => throttled(),
    }
}

fn throttled() -> Response {
    json::error(
        429,
        "Too Many Requests",
        "Rate limit exceeded, retry after the Retry-After delay",
        "cc_user",
    )
}

fn render_fault(fault: &Fault, _json: bool) -> Response {
    match fault {
        Fault::Status(429) | Fault::ApiErrors(429, _) => {
            let mut r = throttled();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            r
        }
        Fault::Status(code) | Fault::ApiErrors(code, _) => json::error(
            *code,
            "Injected failure",
            "Injected server error",
            "cc_user",
        ),
        Fault::Unauthorized => render_problem(Problem::Auth(AuthFailure::Invalid)),
        Fault::MalformedXml => ok("[{\"id\":\"broken".into()),
        Fault::AxlThrottle => json::error(503, "Service Unavailable", "Server busy", "cc_user"),
        _ => json::error(
            500,
            "Internal Server Error",
            "unsupported injected fault",
            "cc_user",
        ),
    }
}

//! UCCX Admin REST emulator: `GET /adminapi/resource[/{userID}]`, `GET /adminapi/team[/{teamId}]`.
//!
//! XML by default (resources tab-indented, teams on one line, as on the real system), JSON when
//! the client sends `Accept: application/json`. Unknown ids answer 404 with `apiErrors`.

mod json;
mod xml;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::faults::{ApiErrorSpec, Fault};
use crate::server::{self, wants_json, Common, InjectedFault};
use crate::{EmulatorHandle, SharedData};

/// Configuration of one UCCX emulator.
#[derive(Clone, Debug)]
pub struct UccxConfig {
    /// Basic-auth user name (default `administrator`).
    pub username: String,
    /// Basic-auth password (default `ciscopsdt`).
    pub password: String,
    /// Delay added to every request.
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// Base of the absolute `self`/`refURL` links; the emulator's own URL when `None`
    /// (e.g. `https://uccx-server` to mimic the documentation samples).
    pub public_base_url: Option<String>,
    /// JSON: render a one-item list as a single object instead of an array (default true,
    /// the surprising form real systems produce).
    pub json_single_as_object: bool,
    /// JSON: put `"@type":"…XMLList"` on top-level lists (default true).
    pub json_list_type: bool,
}

impl Default for UccxConfig {
    fn default() -> Self {
        UccxConfig {
            username: "administrator".into(),
            password: "ciscopsdt".into(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            public_base_url: None,
            json_single_as_object: true,
            json_list_type: true,
        }
    }
}

/// The UCCX Admin REST emulator.
pub struct UccxEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    base: String,
    single_as_object: bool,
    list_type: bool,
}

impl UccxEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: UccxConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: "UCCX Admin API",
            render: render_fault,
        };
        let shared = data.clone();
        server::spawn(cfg.bind, cfg.tls.as_ref(), common, data, move |own| {
            let app = App {
                data: shared,
                base: cfg
                    .public_base_url
                    .clone()
                    .unwrap_or(own)
                    .trim_end_matches('/')
                    .to_string(),
                single_as_object: cfg.json_single_as_object,
                list_type: cfg.json_list_type,
            };
            Router::new()
                .route("/adminapi/resource", get(resources))
                .route("/adminapi/resource/{user_id}", get(resource))
                .route("/adminapi/team", get(teams))
                .route("/adminapi/team/{team_id}", get(team))
                .fallback(not_found_route)
                .with_state(app)
        })
        .await
    }
}

fn ok(json: bool, body: String) -> Response {
    let ct = if json {
        "application/json"
    } else {
        "application/xml"
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, ct)], body).into_response()
}

fn empty_requested(f: &Option<Extension<InjectedFault>>) -> bool {
    matches!(f, Some(Extension(InjectedFault(Fault::EmptyList))))
}

async fn resources(
    State(app): State<App>,
    headers: HeaderMap,
    fault: Option<Extension<InjectedFault>>,
) -> Response {
    let json = wants_json(&headers);
    let cc = app.data.read();
    let list: Vec<_> = if empty_requested(&fault) {
        Vec::new()
    } else {
        cc.resources.iter().collect()
    };
    if json {
        ok(
            true,
            json::resource_list(&app.base, &list, app.single_as_object, app.list_type),
        )
    } else {
        ok(false, xml::resource_list(&app.base, &list))
    }
}

async fn resource(
    State(app): State<App>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Response {
    let json = wants_json(&headers);
    let cc = app.data.read();
    match cc.resource(&user_id) {
        Some(r) if json => ok(
            true,
            json::resource(&app.base, r, app.single_as_object).to_string(),
        ),
        Some(r) => ok(false, xml::resource_doc(&app.base, r)),
        None => not_found(
            json,
            "userID",
            &format!("Resource with userID {user_id} not found"),
        ),
    }
}

async fn teams(
    State(app): State<App>,
    headers: HeaderMap,
    fault: Option<Extension<InjectedFault>>,
) -> Response {
    let json = wants_json(&headers);
    let cc = app.data.read();
    let list: Vec<_> = if empty_requested(&fault) {
        Vec::new()
    } else {
        cc.teams.iter().collect()
    };
    if json {
        ok(
            true,
            json::team_list(&app.base, &cc, &list, app.single_as_object, app.list_type),
        )
    } else {
        ok(false, xml::team_list(&app.base, &cc, &list))
    }
}

async fn team(State(app): State<App>, headers: HeaderMap, Path(team_id): Path<String>) -> Response {
    let json = wants_json(&headers);
    let cc = app.data.read();
    let found = team_id.parse::<u32>().ok().and_then(|id| cc.team(id));
    match found {
        Some(t) if json => ok(
            true,
            json::team(&app.base, &cc, t, true, app.single_as_object).to_string(),
        ),
        Some(t) => ok(false, xml::team_doc(&app.base, &cc, t)),
        None => not_found(json, "teamId", &format!("Team with id {team_id} not found")),
    }
}

async fn not_found_route(headers: HeaderMap) -> Response {
    not_found(
        wants_json(&headers),
        "uri",
        "The requested resource is not available",
    )
}

fn not_found(json: bool, data: &str, message: &str) -> Response {
    let errors = vec![ApiErrorSpec {
        error_type: "ResourceNotFound".into(),
        error_message: message.into(),
        error_data: data.into(),
    }];
    api_errors(404, &errors, json)
}

/// An `apiErrors` response in XML or JSON.
fn api_errors(status: u16, errors: &[ApiErrorSpec], json: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if json {
        let body = json::api_errors(errors);
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        let body = xml::api_errors(errors);
        (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
    }
}

fn render_fault(fault: &Fault, json: bool) -> Response {
    let internal = |msg: &str| ApiErrorSpec {
        error_type: "InternalServerError".into(),
        error_message: msg.into(),
        error_data: "Exception Occured".into(),
    };
    match fault {
        Fault::Status(code) => api_errors(*code, &[internal("Injected server error")], json),
        Fault::ApiErrors(code, errors) => api_errors(*code, errors, json),
        Fault::AxlThrottle => api_errors(503, &[internal("Server busy, retry later")], json),
        Fault::MalformedXml if json => ok(true, "{\"resource\":[{\"userID\":\"broken".into()),
        Fault::MalformedXml => ok(
            false,
            "<?xml version=\"1.0\"?><resources><resource><userID>broken & </resource>".into(),
        ),
        _ => api_errors(500, &[internal("unsupported injected fault")], json),
    }
}

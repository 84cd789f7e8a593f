//! Cisco Finesse REST emulator (admin reason codes):
//! `GET /finesse/api/ReasonCodes?category=NOT_READY|LOGOUT|ALL` and
//! `GET /finesse/api/ReasonCode/{id}`.
//!
//! XML only, Basic auth. A missing or unknown `category` answers 400 and an unknown id 404,
//! both as PascalCase `<ApiErrors>`. The reason codes live in a [`ReasonCodeStore`] held by the
//! [`FinesseConfig`]: keep a clone to add, rename or remove codes while the emulator runs.

mod codes;
mod xml;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

pub use codes::{Category, ReasonCode, ReasonCodeStore};

use crate::faults::Fault;
use crate::server::{self, Common, InjectedFault};
use crate::{EmulatorHandle, SharedData};

/// Configuration of one Finesse emulator.
#[derive(Clone, Debug)]
pub struct FinesseConfig {
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
    /// The reason codes served (default [`ReasonCodeStore::defaults`]); shared, so a clone kept
    /// by a test mutates what the next request sees.
    pub reason_codes: ReasonCodeStore,
}

impl Default for FinesseConfig {
    fn default() -> Self {
        FinesseConfig {
            username: "administrator".into(),
            password: "ciscopsdt".into(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            reason_codes: ReasonCodeStore::defaults(),
        }
    }
}

/// The Finesse REST emulator.
pub struct FinesseEmulator;

impl FinesseEmulator {
    /// Starts serving `cfg.reason_codes`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    /// `data` is the shared contact centre (kept on the handle for symmetry with the others).
    pub async fn spawn(cfg: FinesseConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: "Finesse",
            render: render_fault,
        };
        let store = cfg.reason_codes.clone();
        server::spawn(cfg.bind, cfg.tls.as_ref(), common, data, move |_own| {
            Router::new()
                .route("/finesse/api/ReasonCodes", get(list))
                .route("/finesse/api/ReasonCode/{id}", get(single))
                .fallback(not_found_route)
                .with_state(store)
        })
        .await
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    xml_response(status, xml::api_errors(error_type, message))
}

fn invalid_input(message: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "Invalid Input", message)
}

async fn list(
    State(store): State<ReasonCodeStore>,
    Query(q): Query<HashMap<String, String>>,
    fault: Option<Extension<InjectedFault>>,
) -> Response {
    let Some(raw) = q.get("category") else {
        return invalid_input("The category parameter is required (NOT_READY, LOGOUT or ALL)");
    };
    let category = match raw.as_str() {
        "NOT_READY" => Some(Category::NotReady),
        "LOGOUT" => Some(Category::Logout),
        "ALL" => None,
        other => {
            return invalid_input(&format!(
                "Invalid category '{other}': expected NOT_READY, LOGOUT or ALL"
            ))
        }
    };
    let codes = if matches!(fault, Some(Extension(InjectedFault(Fault::EmptyList)))) {
        Vec::new()
    } else {
        store.by_category(category)
    };
    xml_response(StatusCode::OK, xml::reason_codes(raw, &codes))
}

async fn single(State(store): State<ReasonCodeStore>, Path(id): Path<String>) -> Response {
    let Ok(n) = id.parse::<u32>() else {
        return invalid_input(&format!("Invalid reason code id '{id}'"));
    };
    match store.get(n) {
        Some(c) => xml_response(StatusCode::OK, xml::reason_code(&c)),
        None => api_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("Reason code with id {n} not found"),
        ),
    }
}

async fn not_found_route() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested resource is not available",
    )
}

fn render_fault(fault: &Fault, _json: bool) -> Response {
    let status =
        |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match fault {
        Fault::Status(code) => api_error(status(*code), "Internal Server Error", "Injected server error"),
        Fault::ApiErrors(code, errors) => {
            let (t, m) = errors
                .first()
                .map(|e| (e.error_type.as_str(), e.error_message.as_str()))
                .unwrap_or(("Internal Server Error", "Injected error"));
            api_error(status(*code), t, m)
        }
        Fault::AxlThrottle => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "Server busy, retry later",
        ),
        Fault::MalformedXml => xml_response(
            StatusCode::OK,
            "<?xml version=\"1.0\"?><ReasonCodes category=\"NOT_READY\"><ReasonCode><label>broken & </ReasonCode>"
                .into(),
        ),
        Fault::Unauthorized => server::unauthorized("Finesse"),
        _ => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "unsupported injected fault",
        ),
    }
}

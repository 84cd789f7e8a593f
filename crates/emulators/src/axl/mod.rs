//! CUCM AXL SOAP emulator: `POST /axl/` with `executeSQLQuery` over the `enduser` table.
//!
//! Checks the quoted `SOAPAction: "CUCM:DB ver=X executeSQLQuery"` against the configured
//! version and the body namespace, echoes `sequence`, serves a small SQL subset ([`sql`]),
//! enforces the row limit ("Query request too large") and the concurrency limit ("Maximum AXL
//! Memory Allocation Consumed"), and sets a `JSESSIONIDSSO` cookie.

pub mod soap;
pub mod sql;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use rand::Rng;

use crate::faults::Fault;
use crate::server::{self, Common, InjectedFault};
use crate::{EmulatorHandle, SharedData};

/// The throttle message for too many requests in flight (axlcode -1).
pub const MEMORY_FAULT: &str =
    "Maximum AXL Memory Allocation Consumed. Please retry once requests in progress have completed";

/// Configuration of one AXL emulator.
#[derive(Clone, Debug)]
pub struct AxlConfig {
    /// Basic-auth user name (default `axladmin`).
    pub username: String,
    /// Basic-auth password (default `ciscopsdt`).
    pub password: String,
    /// Delay added to every request (counts as "in flight" for `max_concurrent`).
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// AXL schema version served (default `12.5`): SOAPAction and namespace must match it.
    pub version: String,
    /// Largest result set (after SKIP/FIRST) answered; more → "Query request too large".
    pub max_rows_per_query: usize,
    /// Requests allowed in flight at once (default 1); more → memory-allocation fault. 0: no limit.
    pub max_concurrent: usize,
    /// Render NULL columns as empty elements (default true) instead of leaving them out.
    pub null_as_empty: bool,
}

impl Default for AxlConfig {
    fn default() -> Self {
        AxlConfig {
            username: "axladmin".into(),
            password: "ciscopsdt".into(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            version: "12.5".into(),
            max_rows_per_query: 2000,
            max_concurrent: 1,
            null_as_empty: true,
        }
    }
}

/// The CUCM AXL emulator.
pub struct AxlEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    version: String,
    max_rows: usize,
    null_as_empty: bool,
}

impl AxlEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: AxlConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: (cfg.max_concurrent > 0).then_some(cfg.max_concurrent),
            realm: "Cisco AXL",
            render: render_fault,
        };
        let app = App {
            data: data.clone(),
            version: cfg.version.clone(),
            max_rows: cfg.max_rows_per_query,
            null_as_empty: cfg.null_as_empty,
        };
        server::spawn(cfg.bind, cfg.tls.as_ref(), common, data, move |_| {
            Router::new()
                .route("/axl/", get(banner).post(axl))
                .with_state(app)
        })
        .await
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=utf-8")],
        body,
    )
        .into_response()
}

fn client_fault(message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::fault("soapenv:Client", message, None),
    )
}

fn axl_fault(code: &str, axlcode: i64, message: &str) -> Response {
    let body = soap::fault(code, message, Some((axlcode, "executeSQLQuery")));
    xml(StatusCode::INTERNAL_SERVER_ERROR, body)
}

async fn banner() -> Response {
    let body = "<html><head><title>Cisco CallManager: AXL Web Service</title></head><body>\
<h2>Cisco CallManager: AXL Web Service</h2><p>The AXL Web Service is working and accepting requests. \
Use HTTP POST to send a request.</p></body></html>";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// `"CUCM:DB ver=12.5 executeSQLQuery"` → `("12.5", "executeSQLQuery")`.
fn parse_soap_action(headers: &HeaderMap) -> Result<(String, String), String> {
    let Some(raw) = headers.get("soapaction").and_then(|v| v.to_str().ok()) else {
        return Err(
            "Missing SOAPAction header: expected \"CUCM:DB ver=<version> <operation>\"".into(),
        );
    };
    let raw = raw.trim();
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Err(format!("SOAPAction header must be quoted: got {raw}"));
    };
    let mut parts = inner.split_whitespace();
    let (Some("CUCM:DB"), Some(ver), Some(op), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "Malformed SOAPAction {raw}: expected \"CUCM:DB ver=<version> <operation>\""
        ));
    };
    let Some(ver) = ver.strip_prefix("ver=") else {
        return Err(format!("Malformed SOAPAction {raw}: no ver="));
    };
    Ok((ver.to_string(), op.to_string()))
}

async fn axl(
    State(app): State<App>,
    headers: HeaderMap,
    fault: Option<Extension<InjectedFault>>,
    body: String,
) -> Response {
    let mut resp = answer(&app, &headers, fault.is_some(), &body);
    let has_session = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(|c| c.contains("JSESSIONIDSSO="))
        .unwrap_or(false);
    if !has_session {
        let id: u128 = rand::thread_rng().gen();
        let cookie = format!("JSESSIONIDSSO={id:032X}; Path=/; Secure; HttpOnly");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn answer(app: &App, headers: &HeaderMap, empty: bool, body: &str) -> Response {
    let (action_version, action_op) = match parse_soap_action(headers) {
        Ok(v) => v,
        Err(msg) => return client_fault(&msg),
    };
    if action_version != app.version {
        return client_fault(&format!(
            "The AXL version {action_version} in the SOAPAction header is not supported by this server (it serves {})",
            app.version
        ));
    }
    let req = match soap::parse_request(body) {
        Ok(r) => r,
        Err(msg) => return client_fault(&msg),
    };
    let expected_ns = format!("http://www.cisco.com/AXL/API/{}", app.version);
    if req.namespace != expected_ns {
        return client_fault(&format!(
            "The namespace '{}' of the request does not match the SOAPAction version {action_version} (expected '{expected_ns}')",
            req.namespace
        ));
    }
    if req.operation != action_op {
        return client_fault(&format!(
            "The operation {} in the body does not match the SOAPAction operation {action_op}",
            req.operation
        ));
    }
    if req.operation != "executeSQLQuery" {
        return client_fault(&format!(
            "Operation {} is not supported by this emulator",
            req.operation
        ));
    }
    let Some(text) = req.sql.as_deref() else {
        return axl_fault("soapenv:Client", 5003, "The sql element is required");
    };
    let query = match sql::parse(text) {
        Ok(q) => q,
        Err(sql::SqlError::Syntax(_)) => {
            return axl_fault("soapenv:Client", 201, "A syntax error has occurred.")
        }
        Err(sql::SqlError::UnknownColumn(c)) => {
            let msg =
                format!("Column ({c}) not found in any table in the query (or SLV is undefined).");
            return axl_fault("soapenv:Client", 217, &msg);
        }
    };
    let rows = if empty {
        Vec::new()
    } else {
        sql::execute(&query, &app.data.read().end_users)
    };
    if rows.len() > app.max_rows {
        let msg = format!(
            "Query request too large. Total rows matched: {} rows. Suggestive Row Fetch: less than {} rows",
            rows.len(),
            app.max_rows
        );
        return axl_fault("soapenv:Server", -1, &msg);
    }
    xml(
        StatusCode::OK,
        soap::sql_response(&app.version, req.sequence, &rows, app.null_as_empty),
    )
}

fn render_fault(fault: &Fault, _json: bool) -> Response {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            xml(status, soap::fault("soapenv:Server", "Injected server error", None))
        }
        Fault::AxlThrottle => axl_fault("soapenv:Server", -1, MEMORY_FAULT),
        Fault::ApiErrors(code, errors) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (axlcode, msg) = errors
                .first()
                .map(|e| (e.error_data.trim().parse().unwrap_or(5007), e.error_message.as_str()))
                .unwrap_or((5007, "Injected error"));
            let body = soap::fault("soapenv:Client", msg, Some((axlcode, "executeSQLQuery")));
            xml(status, body)
        }
        Fault::MalformedXml => xml(
            StatusCode::OK,
            "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><ns:executeSQLQueryResponse><return><row><userid>x & y</row>".into(),
        ),
        _ => xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault("soapenv:Server", "unsupported injected fault", None)),
    }
}

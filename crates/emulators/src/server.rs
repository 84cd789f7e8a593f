//! What both emulators share: binding, TLS, recording, latency, Basic auth, concurrency
//! limit, fault application, and the handle returned to tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use crate::faults::{Fault, FaultPlan};
use crate::record::{RecordedRequest, Recorder, RECORDED_HEADERS};
use crate::SharedData;

/// Largest request body accepted (bigger → 413).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Renders a product-specific fault body: `(fault, client asked for JSON)`.
pub(crate) type FaultRenderer = fn(&Fault, bool) -> Response;

/// A fault the middleware leaves for the handler (e.g. `EmptyList`).
#[derive(Clone, Debug)]
pub(crate) struct InjectedFault(pub Fault);

/// State shared by the middleware of one emulator.
pub(crate) struct Common {
    pub recorder: Recorder,
    pub faults: FaultPlan,
    /// Basic-auth user; empty turns the Basic check off (the router authenticates itself, e.g.
    /// the cloud emulators' bearer tokens, and `Fault::Unauthorized` goes to `render`).
    pub username: String,
    pub password: String,
    pub latency: Duration,
    pub in_flight: AtomicUsize,
    pub max_concurrent: Option<usize>,
    pub realm: &'static str,
    pub render: FaultRenderer,
}

/// A running emulator. Dropping it (or [`EmulatorHandle::shutdown`]) stops the server.
pub struct EmulatorHandle {
    addr: SocketAddr,
    base_url: String,
    common: Arc<Common>,
    data: SharedData,
    server: axum_server::Handle,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.common.recorder.all()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.common.recorder.len()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.common.recorder.clear();
    }

    /// The fault plan, changeable while the emulator runs.
    pub fn faults(&self) -> &FaultPlan {
        &self.common.faults
    }

    /// The shared ground truth this emulator serves.
    pub fn data(&self) -> &SharedData {
        &self.data
    }

    /// Stops accepting and closes connections.
    pub fn shutdown(&self) {
        self.server.shutdown();
        self.task.abort();
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Binds, builds the router with the public base URL, and serves (HTTP or HTTPS).
pub(crate) async fn spawn(
    bind: Option<SocketAddr>,
    tls: Option<&(String, String)>,
    common: Common,
    data: SharedData,
    router: impl FnOnce(String) -> Router,
) -> std::io::Result<EmulatorHandle> {
    let bind = bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = std::net::TcpListener::bind(bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let base_url = format!("{scheme}://{host}:{}", addr.port());
    let common = Arc::new(common);
    let app = router(base_url.clone())
        .layer(middleware::from_fn_with_state(common.clone(), common_layer));
    let server = axum_server::Handle::new();
    let make = app.into_make_service();
    let task = match tls {
        Some((cert, key)) => {
            let cfg = crate::tls::server_config(cert, key)?;
            let rustls = axum_server::tls_rustls::RustlsConfig::from_config(cfg);
            let srv = axum_server::from_tcp_rustls(listener, rustls).handle(server.clone());
            tokio::spawn(async move {
                if let Err(e) = srv.serve(make).await {
                    tracing::warn!(error = %e, "emulator stopped");
                }
            })
        }
        None => {
            let srv = axum_server::from_tcp(listener).handle(server.clone());
            tokio::spawn(async move {
                if let Err(e) = srv.serve(make).await {
                    tracing::warn!(error = %e, "emulator stopped");
                }
            })
        }
    };
    Ok(EmulatorHandle {
        addr,
        base_url,
        common,
        data,
        server,
        task,
    })
}

/// True when the client asked for JSON.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase().contains("application/json"))
        .unwrap_or(false)
}

/// The HTML 401 page both products answer on a bad login.
pub(crate) fn unauthorized(realm: &str) -> Response {
    let body = "<!doctype html><html lang=\"en\"><head><title>HTTP Status 401 – Unauthorized</title></head>\
<body><h1>HTTP Status 401 – Unauthorized</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p>\
<p><b>Description</b> The request has not been applied because it lacks valid authentication credentials \
for the target resource.</p><hr class=\"line\" /><h3>Apache Tomcat</h3></body></html>";
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "text/html;charset=utf-8".to_string()),
            (header::WWW_AUTHENTICATE, format!("Basic realm=\"{realm}\"")),
        ],
        body,
    )
        .into_response()
}

fn credentials_ok(headers: &HeaderMap, user: &str, pass: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded == format!("{user}:{pass}").as_bytes()
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn common_layer(State(c): State<Arc<Common>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(n, _)| RECORDED_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = parts.uri.path().to_string();
    c.recorder.push(RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        headers,
        authorization_present: parts.headers.contains_key(header::AUTHORIZATION),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        time: SystemTime::now(),
    });
    let json = wants_json(&parts.headers);
    let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&c.in_flight);
    if !c.latency.is_zero() {
        tokio::time::sleep(c.latency).await;
    }
    let basic = !c.username.is_empty();
    if basic && !credentials_ok(&parts.headers, &c.username, &c.password) {
        return unauthorized(c.realm);
    }
    if let Some(max) = c.max_concurrent {
        if now > max {
            return (c.render)(&Fault::AxlThrottle, json);
        }
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    match c.faults.take_for(&path) {
        None => next.run(req).await,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(Fault::Unauthorized) if basic => unauthorized(c.realm),
        Some(Fault::TruncatedBody) => truncate(next.run(req).await).await,
        Some(Fault::EmptyList) => {
            req.extensions_mut().insert(InjectedFault(Fault::EmptyList));
            next.run(req).await
        }
        Some(other) => (c.render)(&other, json),
    }
}

async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let half = bytes.slice(0..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(half))
}

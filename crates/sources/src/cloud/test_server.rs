//! A tiny in-test HTTP server for the cloud clients (records path, query, headers and body;
//! answers through a closure), plus config builders.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wfm_config::{CloudConfig, OAuthConfig, Secret};
use wfm_model::SourceId;

/// The client secret used by every test (must never show up in an error).
pub(crate) const CLIENT_SECRET: &str = "s3cr3t-client-value-never-shown";
/// The static token used by the tests.
pub(crate) const STATIC_TOKEN: &str = "st4tic-token-never-shown";

/// One received request.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl Req {
    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
    /// A form field of the body, decoded.
    pub fn form(&self, name: &str) -> Option<String> {
        pairs(&self.body)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
    /// The bearer token sent, if any.
    pub fn bearer(&self) -> Option<String> {
        self.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
    }
    /// Path and query.
    pub fn uri(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// A canned answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }
    pub fn ok(body: impl Into<String>) -> Self {
        Reply::json(200, body)
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

type Responder = dyn Fn(usize, &Req) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    responder: Arc<Responder>,
    requests: Arc<Mutex<Vec<Req>>>,
}

/// A running server.
pub(crate) struct Server {
    pub base: String,
    requests: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut reqs = s.requests.lock().unwrap();
        reqs.push(req.clone());
        reqs.len() - 1
    };
    let reply = (s.responder)(n, &req);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut resp = (
        StatusCode::from_u16(reply.status).unwrap(),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Starts a server; `responder(n, request)` answers the n-th (0-based) request.
pub(crate) async fn serve(
    responder: impl Fn(usize, &Req) -> Reply + Send + Sync + 'static,
) -> Server {
    let shared = Shared {
        responder: Arc::new(responder),
        requests: Arc::default(),
    };
    let requests = shared.requests.clone();
    let app = Router::new().fallback(handle).with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        requests,
    }
}

/// A config with a static token.
pub(crate) fn static_config(base: &str) -> CloudConfig {
    CloudConfig {
        source_id: SourceId::new("cloud-test").unwrap(),
        base_url: base.to_string(),
        token: Some(Secret::new(STATIC_TOKEN)),
        oauth: None,
        org_id: Some("org-1".to_string()),
        api_version: None,
        page_size: None,
        imported_groups: vec![],
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(5),
        retries: 2,
    }
}

/// A config with OAuth client credentials against `{base}/token`.
pub(crate) fn oauth_config(base: &str) -> CloudConfig {
    CloudConfig {
        token: None,
        oauth: Some(OAuthConfig {
            token_url: format!("{base}/token"),
            client_id: "client-1".to_string(),
            client_secret: Secret::new(CLIENT_SECRET),
            scope: Some("cjp:config_read".to_string()),
        }),
        ..static_config(base)
    }
}

/// A token endpoint answer.
pub(crate) fn token_reply(token: &str, expires_in: u64) -> Reply {
    Reply::ok(format!(
        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#
    ))
}

/// Asserts that no secret appears in `text`.
pub(crate) fn assert_no_secret(text: &str) {
    for s in [CLIENT_SECRET, STATIC_TOKEN, "tok-"] {
        assert!(!text.contains(s), "secret {s:?} leaked into: {text}");
    }
}

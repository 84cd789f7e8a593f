//! Tiny in-test HTTP server (axum on 127.0.0.1:0) that records requests and answers with canned
//! responses, tracking how many requests are in flight at once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One received request.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// A canned answer.
pub(crate) struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    pub extra_headers: Vec<(&'static str, String)>,
}

impl Canned {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Canned {
            status,
            content_type,
            body: body.into(),
            delay: Duration::ZERO,
            extra_headers: Vec::new(),
        }
    }
}

type Responder = dyn Fn(usize, &Recorded) -> Canned + Send + Sync;

#[derive(Clone)]
struct Shared {
    responder: Arc<Responder>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

/// A running test server.
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let rec = Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut reqs = s.requests.lock().unwrap();
        reqs.push(rec.clone());
        reqs.len() - 1
    };
    let canned = (s.responder)(n, &rec);
    // Hold the request open a little so that overlapping requests would be seen.
    tokio::time::sleep(canned.delay.max(Duration::from_millis(2))).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(canned.status).unwrap();
    let mut resp = (
        status,
        [(axum::http::header::CONTENT_TYPE, canned.content_type)],
        canned.body,
    )
        .into_response();
    for (k, v) in canned.extra_headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Starts a server; `responder(n, request)` answers the n-th (0-based) request.
pub(crate) async fn serve(
    responder: impl Fn(usize, &Recorded) -> Canned + Send + Sync + 'static,
) -> TestServer {
    let shared = Shared {
        responder: Arc::new(responder),
        requests: Arc::default(),
        in_flight: Arc::default(),
        max_in_flight: Arc::default(),
    };
    let server = TestServer {
        addr: "127.0.0.1:0".parse().unwrap(),
        requests: shared.requests.clone(),
        max_in_flight: shared.max_in_flight.clone(),
    };
    let app = Router::new().fallback(handle).with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer { addr, ..server }
}

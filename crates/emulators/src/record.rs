//! Request recording: what a client actually sent, for assertions in tests.

use std::sync::Mutex;
use std::time::SystemTime;

/// Headers kept in a [`RecordedRequest`] (lowercase names). `authorization` is never kept:
/// only whether it was present.
pub const RECORDED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "soapaction",
    "cookie",
    "user-agent",
    "host",
    "content-length",
];

/// One request received by an emulator.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Selected headers (see [`RECORDED_HEADERS`]), lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Whether an `Authorization` header was sent (its value is not recorded).
    pub authorization_present: bool,
    /// Request body (lossy UTF-8).
    pub body: String,
    /// When the request arrived.
    pub time: SystemTime,
}

impl RecordedRequest {
    /// The value of a recorded header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Thread-safe list of recorded requests.
#[derive(Debug, Default)]
pub struct Recorder {
    list: Mutex<Vec<RecordedRequest>>,
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one request.
    pub fn push(&self, r: RecordedRequest) {
        self.lock().push(r);
    }

    /// A copy of every recorded request.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// Number of recorded requests.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every recorded request.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

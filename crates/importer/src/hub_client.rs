//! The importer's HTTPS client for the hub: bearer token, `Idempotency-Key` on writes, retries
//! with back-off that honour `Retry-After`, and errors that say what to fix.

use crate::error::HubError;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_config::{HubClientConfig, Secret};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalBatchResponse, IntervalsResponse, MissingResponse, QueueView,
};
use wfm_protocol::states::{
    ReasonCodeSet, ReasonCodeSetResponse, StateBatch, StateBatchResponse, StateSegment,
};
use wfm_protocol::{
    routes, ErrorBody, ObjectChange, Page, SyncRequest, SyncResponse, WhoAmI,
    IDEMPOTENCY_KEY_HEADER,
};
use wfm_sources::http::{build_client, HttpOptions};
use wfm_sync::{MatchConflict, Person};

/// How many times a write is attempted before giving up (same idempotency key each time).
const WRITE_ATTEMPTS: u32 = 5;

/// A client bound to one hub project.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

/// What the hub answered to a sync.
#[derive(Debug, Clone)]
pub enum SyncAnswer {
    /// Applied or dry-run (HTTP 200).
    Done(SyncResponse),
    /// Refused by the safety limit (HTTP 409); nothing changed.
    Refused(SyncResponse),
}

impl HubClient {
    /// Builds the client; refuses `http://` unless `allow_insecure_http`.
    pub fn new(cfg: &HubClientConfig) -> Result<Self, HubError> {
        let url = cfg.url.trim_end_matches('/').to_string();
        if url.starts_with("http://") {
            if !cfg.allow_insecure_http {
                return Err(HubError::Config(format!(
                    "hub.url {url} is plain http; use https or set hub.allow_insecure_http = true for a lab"
                )));
            }
            tracing::warn!(url = %url, "talking to the hub over plain http: lab use only");
        }
        let http = build_client(&HttpOptions {
            timeout: cfg.timeout,
            ca_file: cfg.ca_file.clone(),
            cookies: false,
        })
        .map_err(|e| HubError::Config(e.to_string()))?;
        Ok(HubClient {
            http,
            base: url,
            token: cfg.token.clone(),
        })
    }

    /// The hub's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /api/v1/whoami`: checks reachability, TLS and the token.
    pub async fn whoami(&self) -> Result<WhoAmI, HubError> {
        self.get(routes::WHOAMI, &[]).await
    }

    /// One page of the people found in two or more sources.
    pub async fn people(&self, offset: u64, limit: u64) -> Result<Page<Person>, HubError> {
        self.get(
            routes::PEOPLE,
            &[("offset", offset.to_string()), ("limit", limit.to_string())],
        )
        .await
    }

    /// One page of the match keys the hub refuses to link.
    pub async fn people_conflicts(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Page<MatchConflict>, HubError> {
        self.get(
            routes::PEOPLE_CONFLICTS,
            &[("offset", offset.to_string()), ("limit", limit.to_string())],
        )
        .await
    }

    /// One page of a run's change log.
    pub async fn run_changes(
        &self,
        run_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Page<ObjectChange>, HubError> {
        let path = routes::SYNC_RUN_CHANGES.replace("{id}", run_id);
        self.get(
            &path,
            &[("offset", offset.to_string()), ("limit", limit.to_string())],
        )
        .await
    }

    /// Every entry of a run's change log, page by page.
    pub async fn all_run_changes(&self, run_id: &str) -> Result<Vec<ObjectChange>, HubError> {
        let mut all = Vec::new();
        loop {
            let page = self.run_changes(run_id, all.len() as u64, 1000).await?;
            let n = page.items.len();
            all.extend(page.items);
            if n == 0 || all.len() as u64 >= page.total {
                return Ok(all);
            }
        }
    }

    /// `POST /api/v1/directory/sync` with an idempotency key, retried on transient failures.
    pub async fn sync(&self, req: &SyncRequest, key: &str) -> Result<SyncAnswer, HubError> {
        self.post(
            routes::DIRECTORY_SYNC,
            req,
            key,
            |status, bytes| match status {
                StatusCode::OK => Some(decode(bytes).map(SyncAnswer::Done)),
                StatusCode::CONFLICT => Some(decode(bytes).map(SyncAnswer::Refused)),
                _ => None,
            },
        )
        .await
    }

    /// `POST /api/v1/intervals`: replace one source's intervals in the batch's window.
    pub async fn post_intervals(
        &self,
        batch: &IntervalBatch,
        key: &str,
    ) -> Result<IntervalBatchResponse, HubError> {
        self.post(routes::INTERVALS, batch, key, |status, bytes| {
            (status == StatusCode::OK).then(|| decode(bytes))
        })
        .await
    }

    /// `GET /api/v1/intervals/missing`: the parts of `[from, to)` no batch of `source` covered.
    pub async fn intervals_missing(
        &self,
        source: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<MissingResponse, HubError> {
        self.get(
            routes::INTERVALS_MISSING,
            &[
                ("source", source.to_string()),
                ("from", rfc3339(from)?),
                ("to", rfc3339(to)?),
            ],
        )
        .await
    }

    /// `GET /api/v1/queues`.
    pub async fn queues(&self) -> Result<Vec<QueueView>, HubError> {
        self.get(routes::QUEUES, &[]).await
    }

    /// `GET /api/v1/intervals` for one source and a UTC range.
    pub async fn intervals(
        &self,
        source: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<IntervalsResponse, HubError> {
        self.get(
            routes::INTERVALS,
            &[
                ("source", source.to_string()),
                ("from", rfc3339(from)?),
                ("to", rfc3339(to)?),
            ],
        )
        .await
    }

    /// `GET /api/v1/intervals?date=&tz=`: every queue's intervals of one local day.
    pub async fn intervals_local_day(
        &self,
        date: &str,
        tz: &str,
    ) -> Result<IntervalsResponse, HubError> {
        self.get(
            routes::INTERVALS,
            &[("date", date.to_string()), ("tz", tz.to_string())],
        )
        .await
    }

    /// `PUT /api/v1/reason-codes`: the complete reason-code set of one source.
    pub async fn put_reason_codes(
        &self,
        set: &ReasonCodeSet,
        key: &str,
    ) -> Result<ReasonCodeSetResponse, HubError> {
        let accept = |status, bytes: &[u8]| (status == StatusCode::OK).then(|| decode(bytes));
        self.write(reqwest::Method::PUT, routes::REASON_CODES, set, key, accept)
            .await
    }

    /// `POST /api/v1/agent-states`: a history window (replace) or live events (append).
    pub async fn post_agent_states(
        &self,
        batch: &StateBatch,
        key: &str,
    ) -> Result<StateBatchResponse, HubError> {
        self.post(routes::AGENT_STATES, batch, key, |status, bytes| {
            (status == StatusCode::OK).then(|| decode(bytes))
        })
        .await
    }

    /// `GET /api/v1/agent-states`: the timeline segments of one agent of one source in a range.
    pub async fn agent_states(
        &self,
        source: &str,
        agent: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<StateSegment>, HubError> {
        self.get(
            routes::AGENT_STATES,
            &[
                ("source", source.to_string()),
                ("agent", agent.to_string()),
                ("from", rfc3339(from)?),
                ("to", rfc3339(to)?),
            ],
        )
        .await
    }

    /// POSTs `body` as JSON with an idempotency key, retrying transient failures with the same
    /// key; `accept` maps the statuses this route answers to a result (None = an error status).
    async fn post<B, T, F>(&self, path: &str, body: &B, key: &str, accept: F) -> Result<T, HubError>
    where
        B: serde::Serialize,
        F: Fn(StatusCode, &[u8]) -> Option<Result<T, HubError>>,
    {
        self.write(reqwest::Method::POST, path, body, key, accept)
            .await
    }

    /// Sends `body` as JSON with `method` and an idempotency key (see [`Self::post`]).
    async fn write<B, T, F>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
        key: &str,
        accept: F,
    ) -> Result<T, HubError>
    where
        B: serde::Serialize,
        F: Fn(StatusCode, &[u8]) -> Option<Result<T, HubError>>,
    {
        let body = bytes::Bytes::from(
            serde_json::to_vec(body).map_err(|e| HubError::Protocol(e.to_string()))?,
        );
        let url = format!("{}{}", self.base, path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose())
                .header(IDEMPOTENCY_KEY_HEADER, key)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let result = match sent {
                Err(e) => Err(transport_error(&url, &e)),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    match resp.bytes().await {
                        Err(e) => Err(transport_error(&url, &e)),
                        Ok(bytes) => accept(status, &bytes)
                            .unwrap_or_else(|| Err(status_error(status, &bytes, retry_after))),
                    }
                }
            };
            match result {
                Err(e) if e.is_retriable() && attempt < WRITE_ATTEMPTS => {
                    let wait = e.retry_after().unwrap_or_else(|| backoff(attempt));
                    tracing::warn!(attempt, error = %e, wait_ms = wait.as_millis() as u64, "hub write failed, retrying with the same idempotency key");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, HubError> {
        let url = format!("{}{}", self.base, path);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(self.token.expose())
            .query(query)
            .send()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        let status = resp.status();
        let retry = retry_after(&resp);
        let bytes = resp.bytes().await.map_err(|e| transport_error(&url, &e))?;
        if status != StatusCode::OK {
            return Err(status_error(status, &bytes, retry));
        }
        decode(&bytes)
    }
}

fn rfc3339(t: OffsetDateTime) -> Result<String, HubError> {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| HubError::Protocol(format!("cannot format {t}: {e}")))
}

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(6));
    let jitter = Duration::from_millis(rand::random::<u64>() % 250);
    base.min(Duration::from_secs(30)) + jitter
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(300)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HubError> {
    serde_json::from_slice(bytes).map_err(|e| {
        HubError::Protocol(format!(
            "the hub answered with JSON this importer does not understand ({e}); are importer and hub the same version?"
        ))
    })
}

fn transport_error(url: &str, e: &reqwest::Error) -> HubError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    if detail.contains("certificate") || detail.contains("Certificate") {
        return HubError::Tls(format!(
            "{url}: {detail} (set hub.ca_file to the hub's CA or self-signed certificate)"
        ));
    }
    HubError::Unreachable(format!("{url}: {detail}"))
}

/// The error of a hub answer that was not a success (`status` 0 = no HTTP answer).
pub(crate) fn answer_error(status: u16, bytes: &[u8]) -> HubError {
    match StatusCode::from_u16(status) {
        Ok(s) => status_error(s, bytes, None),
        Err(_) => HubError::Unreachable(String::from_utf8_lossy(bytes).to_string()),
    }
}

fn status_error(status: StatusCode, bytes: &[u8], retry_after: Option<Duration>) -> HubError {
    let body: Option<ErrorBody> = serde_json::from_slice(bytes).ok();
    let (code, message, details) = match body {
        Some(b) => (b.error.code, b.error.message, b.error.details),
        None => (
            "unknown".to_string(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_string(),
            vec![],
        ),
    };
    match status.as_u16() {
        401 => HubError::Unauthorized,
        429 | 502 | 503 | 504 => HubError::Unavailable {
            status: status.as_u16(),
            message,
            retry_after,
        },
        500..=599 => HubError::Unavailable {
            status: status.as_u16(),
            message,
            retry_after: None,
        },
        s => HubError::Rejected {
            status: s,
            code,
            message,
            details,
        },
    }
}

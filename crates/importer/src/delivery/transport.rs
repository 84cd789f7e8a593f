//! One delivery attempt of one outbox batch: the HTTP request (route and method chosen by the
//! kind of source, the payload is the exact body), the classification of the answer, the retry
//! timing and the idempotency key.
//!
//! [`send`] is the one place where the transport is chosen: a bulk transport for large payloads
//! (`crate::bulk`) is called from there.

use std::time::{Duration, UNIX_EPOCH};

use wfm_config::Secret;
use wfm_outbox::Batch;
use wfm_protocol::IDEMPOTENCY_KEY_HEADER;

use super::Kind;

/// Retry timing of the delivery tasks.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First back-off; doubled per failed attempt.
    pub initial: Duration,
    /// Largest back-off (and largest `Retry-After` honoured).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` consecutive failures: exponential, "equal jitter" (half fixed,
    /// half random) so that many importers do not retry in step.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(2u32.saturating_pow(failures.min(16)))
            .min(self.max);
        let half = exp / 2;
        let jitter_ms = rand::random::<u64>() % (half.as_millis() as u64 + 1);
        half + Duration::from_millis(jitter_ms)
    }
}

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: accepted or already had (idempotent replay).
    Delivered,
    /// Try again later; `Some` = the hub's `Retry-After`.
    Retry(Option<Duration>, String),
    /// Permanent: dead-letter with this reason.
    Reject(String),
}

/// One attempt's outcome with the hub's answer (status 0 and an empty body when there was no
/// HTTP answer, or when a transport does not return one).
#[derive(Debug)]
pub struct Reply {
    /// The classification.
    pub outcome: Outcome,
    /// HTTP status.
    pub status: u16,
    /// The answer's body (the report of the hub, e.g. a `SyncResponse`).
    pub body: Vec<u8>,
}

impl Reply {
    fn without_body(outcome: Outcome) -> Reply {
        Reply {
            outcome,
            status: 0,
            body: Vec::new(),
        }
    }
}

/// Classifies an HTTP answer. 401/403 (token), 404 (a hub without the route yet), 408, 425,
/// 429 and 5xx are retried: retrying loses nothing and the operator can fix the cause. Any other
/// 4xx (400, 409, 413, 422, …) is permanent for this batch.
pub fn classify(status: u16, body: &[u8], retry_after: Option<Duration>) -> Outcome {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
    match status {
        200..=299 => Outcome::Delivered,
        401 | 403 | 404 | 408 | 425 | 429 | 500..=599 => {
            Outcome::Retry(retry_after, format!("HTTP {status}: {text}"))
        }
        _ => Outcome::Reject(format!("HTTP {status}: {text}")),
    }
}

/// The idempotency key of a batch: kind, source id, append instant and outbox id (stable across
/// retries and restarts; a recreated outbox directory never repeats it). Live batches keep the
/// form `live-<source>-<ms>-<id>`.
pub fn idempotency_key(batch: &Batch) -> String {
    let ms = batch
        .appended_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let (kind, id) = super::parse_source(&batch.source);
    format!("{}-{}-{}-{}", kind.prefix(), id, ms, batch.id)
}

/// Where and how batches are sent: the hub's base URL, token and HTTP client.
#[derive(Clone)]
pub struct Target {
    /// The HTTP client (timeouts, CA).
    pub http: reqwest::Client,
    /// Base URL, without a trailing slash.
    pub base: String,
    /// Bearer token.
    pub token: Secret,
    /// Payloads above this many bytes go through the bulk path (`crate::bulk`); 0 = never.
    pub bulk_threshold_bytes: u64,
}

/// The answer's `Retry-After` in seconds, at most `max`; `None` when absent or not a number.
pub(crate) fn retry_after(resp: &reqwest::Response, max: Duration) -> Option<Duration> {
    let secs = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs).min(max))
}

/// Sends one batch of `kind` (the payload as the body, its idempotency key) and classifies the
/// answer. The single place where the transport is chosen.
pub async fn send(target: &Target, kind: Kind, batch: &Batch, retry_max: Duration) -> Reply {
    if crate::bulk::wants_bulk(target.bulk_threshold_bytes, batch.payload.len()) {
        if let Some(route) = wfm_protocol::bulk::BulkRoute::from_path(kind.route()) {
            let key = idempotency_key(batch);
            match crate::bulk::deliver_bulk(target, route, &key, &batch.payload, retry_max).await {
                crate::bulk::BulkAttempt::Done(reply) => return reply,
                crate::bulk::BulkAttempt::Unavailable(why) => {
                    tracing::debug!(source = %batch.source, %why, "bulk path unavailable, sending directly");
                }
            }
        }
    }
    let url = format!("{}{}", target.base, kind.route());
    let sent = target
        .http
        .request(kind.method(), &url)
        .bearer_auth(target.token.expose())
        .header(IDEMPOTENCY_KEY_HEADER, idempotency_key(batch))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(batch.payload.clone())
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            return Reply::without_body(Outcome::Retry(None, format!("hub unreachable: {e}")))
        }
    };
    let status = resp.status().as_u16();
    let after = retry_after(&resp, retry_max);
    match resp.bytes().await {
        Ok(body) => Reply {
            outcome: classify(status, &body, after),
            status,
            body: body.to_vec(),
        },
        Err(e) => Reply::without_body(Outcome::Retry(
            None,
            format!("reading the hub's answer: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(200, b"", None), Outcome::Delivered);
        assert!(matches!(
            classify(429, b"", Some(Duration::from_secs(2))),
            Outcome::Retry(Some(_), _)
        ));
        assert!(matches!(classify(503, b"x", None), Outcome::Retry(None, _)));
        assert!(matches!(classify(401, b"", None), Outcome::Retry(..)));
        assert_eq!(
            classify(422, b"bad state", None),
            Outcome::Reject("HTTP 422: bad state".into())
        );
        assert!(matches!(classify(400, b"", None), Outcome::Reject(_)));
        assert!(matches!(classify(409, b"", None), Outcome::Reject(_)));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for failures in 0..40 {
            let d = p.backoff(failures);
            assert!(d <= Duration::from_secs(1), "{d:?}");
        }
        assert!(p.backoff(1) >= Duration::from_millis(100));
        assert!(p.backoff(30) >= Duration::from_millis(500));
    }

    #[test]
    fn idempotency_keys_name_kind_source_and_batch() {
        let batch = |source: &str| Batch {
            id: wfm_outbox::BatchId(7),
            source: source.into(),
            payload: Vec::new(),
            appended_at: UNIX_EPOCH + Duration::from_millis(1234),
            attempts: 0,
        };
        assert_eq!(idempotency_key(&batch("cti-a")), "live-cti-a-1234-7");
        assert_eq!(
            idempotency_key(&batch("intervals:uccx")),
            "intervals-uccx-1234-7"
        );
        assert_eq!(idempotency_key(&batch("users:uccx")), "users-uccx-1234-7");
    }
}

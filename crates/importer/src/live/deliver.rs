//! The delivery task of one live source: sends the oldest pending outbox batch to
//! `POST /api/v1/agent-states` with a per-batch `Idempotency-Key` (the same on every retry and
//! after a restart), acks it once the hub answered 2xx, backs off with jitter on retriable
//! failures (honouring `Retry-After`), and dead-letters it on a permanent 4xx with the reason.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::sync::{watch, Notify};
use wfm_config::Secret;
use wfm_outbox::{Batch, Outbox};
use wfm_protocol::IDEMPOTENCY_KEY_HEADER;

use super::{blocking, LiveStats};

/// Retry timing of the delivery task.
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

/// The idempotency key of a batch: source, append instant and outbox id (stable across
/// retries and restarts; a recreated outbox directory never repeats it).
pub fn idempotency_key(batch: &Batch) -> String {
    let ms = batch
        .appended_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("live-{}-{}-{}", batch.source, ms, batch.id)
}

pub(super) struct Delivery {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Secret,
    pub outbox: Arc<Outbox>,
    pub source: String,
    pub notify: Arc<Notify>,
    pub retry: RetryPolicy,
    pub stats: Arc<LiveStats>,
}

fn retry_after(resp: &reqwest::Response, max: Duration) -> Option<Duration> {
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

impl Delivery {
    async fn attempt(&self, batch: &Batch) -> Outcome {
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(self.token.expose())
            .header(IDEMPOTENCY_KEY_HEADER, idempotency_key(batch))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(batch.payload.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(None, format!("hub unreachable: {e}")),
        };
        let status = resp.status().as_u16();
        let after = retry_after(&resp, self.retry.max);
        match resp.bytes().await {
            Ok(body) => classify(status, &body, after),
            Err(e) => Outcome::Retry(None, format!("reading the hub's answer: {e}")),
        }
    }

    /// Runs until `drain` is set and nothing is pending, or `stop` is set.
    pub async fn run(self, mut drain: watch::Receiver<bool>, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            let outbox = self.outbox.clone();
            let source = self.source.clone();
            let next = blocking(move || outbox.try_oldest(&source)).await;
            let batch = match next {
                Ok(Some(b)) => b,
                Ok(None) => {
                    if *drain.borrow() {
                        return;
                    }
                    let notified = self.notify.notified();
                    tokio::select! {
                        _ = notified => {}
                        _ = drain.changed() => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(source = %self.source, error = %e, "live: cannot read the outbox");
                    failures = failures.saturating_add(1);
                    self.sleep(self.retry.backoff(failures), &mut stop).await;
                    continue;
                }
            };
            let outcome = tokio::select! {
                o = self.attempt(&batch) => o,
                _ = stop.changed() => return,
            };
            let id = batch.id;
            match outcome {
                Outcome::Delivered => {
                    failures = 0;
                    let outbox = self.outbox.clone();
                    match blocking(move || outbox.ack(id)).await {
                        Ok(()) => {
                            self.stats.batches_delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            // Not acked: it is sent again (same key) and the hub answers "already had".
                            tracing::error!(source = %self.source, batch = %id, error = %e, "live: ack failed");
                            self.sleep(self.retry.backoff(1), &mut stop).await;
                        }
                    }
                }
                Outcome::Reject(reason) => {
                    failures = 0;
                    tracing::error!(source = %self.source, batch = %id, %reason, "live: the hub rejected a batch; dead-lettered");
                    let outbox = self.outbox.clone();
                    let r = reason.clone();
                    match blocking(move || outbox.dead_letter(id, &r)).await {
                        Ok(()) => {
                            self.stats.batches_dead.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            tracing::error!(source = %self.source, batch = %id, error = %e, "live: dead-letter failed");
                            self.sleep(self.retry.backoff(1), &mut stop).await;
                        }
                    }
                }
                Outcome::Retry(after, reason) => {
                    failures = failures.saturating_add(1);
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let outbox = self.outbox.clone();
                    let _ = blocking(move || outbox.record_attempt(id)).await;
                    let wait = after.unwrap_or_else(|| self.retry.backoff(failures));
                    tracing::warn!(source = %self.source, batch = %id, %reason, wait_ms = wait.as_millis() as u64, "live: delivery failed, retrying with the same idempotency key");
                    self.sleep(wait, &mut stop).await;
                }
            }
        }
    }

    async fn sleep(&self, wait: Duration, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
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
}

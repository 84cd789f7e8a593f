//! The delivery task of one outbox source: sends the oldest pending batch, acks it once the hub
//! answered 2xx, backs off with jitter on retriable failures (honouring `Retry-After`, the
//! same idempotency key every time) and dead-letters it on a permanent 4xx with the reason.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::{blocking, parse_source, transport, Delivery, Event, Final, Outcome, RecordOutcome};

async fn sleep(wait: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Runs until `stop` is set. Idle when the source has nothing pending (woken by `notify`).
pub(super) async fn run(
    delivery: Arc<Delivery>,
    source: String,
    notify: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let (kind, _) = parse_source(&source);
    let retry = delivery.retry.clone();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let outbox = delivery.outbox.clone();
        let s = source.clone();
        let next = blocking(move || outbox.try_oldest(&s)).await;
        let batch = match next {
            Ok(Some(b)) => b,
            Ok(None) => {
                tokio::select! {
                    _ = notify.notified() => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            Err(e) => {
                tracing::error!(source = %source, error = %e, "delivery: cannot read the outbox");
                failures = failures.saturating_add(1);
                sleep(retry.backoff(failures), &mut stop).await;
                continue;
            }
        };
        let reply = tokio::select! {
            r = transport::send(&delivery.target, kind, &batch, retry.max) => r,
            _ = stop.changed() => return,
        };
        let id = batch.id;
        match reply.outcome {
            Outcome::Delivered => {
                failures = 0;
                let outbox = delivery.outbox.clone();
                match blocking(move || outbox.ack(id)).await {
                    Ok(()) => {
                        let f = Final::Delivered {
                            status: reply.status,
                            body: reply.body,
                        };
                        delivery.record(
                            &source,
                            Some(id),
                            Event::Delivered,
                            RecordOutcome::Final(f),
                        );
                    }
                    Err(e) => {
                        // Not acked: it is sent again (same key) and the hub answers "already had".
                        tracing::error!(source = %source, batch = %id, error = %e, "delivery: ack failed");
                        sleep(retry.backoff(1), &mut stop).await;
                    }
                }
            }
            Outcome::Reject(reason) => {
                failures = 0;
                tracing::error!(source = %source, batch = %id, %reason, "the hub rejected a batch; dead-lettered");
                let outbox = delivery.outbox.clone();
                let r = reason.clone();
                match blocking(move || outbox.dead_letter(id, &r)).await {
                    Ok(()) => {
                        let f = Final::DeadLettered {
                            reason,
                            status: reply.status,
                            body: reply.body,
                        };
                        delivery.record(
                            &source,
                            Some(id),
                            Event::DeadLettered,
                            RecordOutcome::Final(f),
                        );
                    }
                    Err(e) => {
                        tracing::error!(source = %source, batch = %id, error = %e, "delivery: dead-letter failed");
                        sleep(retry.backoff(1), &mut stop).await;
                    }
                }
            }
            Outcome::Retry(after, reason) => {
                failures = failures.saturating_add(1);
                let outbox = delivery.outbox.clone();
                let _ = blocking(move || outbox.record_attempt(id)).await;
                let wait = after.unwrap_or_else(|| retry.backoff(failures));
                tracing::warn!(source = %source, batch = %id, %reason, wait_ms = wait.as_millis() as u64, "delivery failed, retrying with the same idempotency key");
                delivery.record(
                    &source,
                    Some(id),
                    Event::Retried,
                    RecordOutcome::Failed(reason),
                );
                sleep(wait, &mut stop).await;
            }
        }
    }
}

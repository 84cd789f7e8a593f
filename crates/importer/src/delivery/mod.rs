//! Delivery of every flow through the one durable outbox: user snapshots, queue-statistics
//! windows, agent-state history windows, live agent states and reason codes.
//!
//! A producer appends a batch (the exact HTTP body) together with its source's new position
//! (the outbox checkpoint) in one fsync'd record ([`Delivery::submit`]); only then does its
//! position advance. One delivery task per outbox source sends that source's oldest pending
//! batch with a stable `Idempotency-Key`, acks it after a 2xx, backs off with jitter on
//! retriable failures (honouring `Retry-After`) and dead-letters it on a permanent 4xx with the
//! reason. Sources are delivered concurrently; within a source the order is the append order.
//!
//! Outbox source names are `<kind>:<source id>` ([`source_name`]); a name without a colon is a
//! live `[[cti]]` source (the names the live feed has always used). The kind chooses the route.
//!
//! One-shot commands wait for their batches ([`Delivery::wait`]): they stop waiting after
//! `[outbox] wait_attempts` consecutive failures and leave the batches in the outbox.
//!
//! This module owns the outbox handle, the delivery tasks and their bookkeeping; it must not
//! build payloads (producers do) or interpret the hub's answers beyond their HTTP status.

mod error;
mod kind;
mod open;
mod transport;
mod worker;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use wfm_config::{HubClientConfig, ImporterConfig};
use wfm_outbox::{BatchId, Outbox, OutboxError};
use wfm_sources::http::{build_client, HttpOptions};

pub use error::DeliveryError;
pub use kind::{parse_source, source_name, Kind};
pub use open::{default_key_file, open_outbox, outbox_dir};
pub(crate) use transport::retry_after;
pub use transport::{classify, idempotency_key, send, Outcome, Reply, RetryPolicy, Target};

/// Runs blocking outbox I/O off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, DeliveryError>
where
    F: FnOnce() -> Result<T, OutboxError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(DeliveryError::from),
        Err(e) => Err(DeliveryError::Task(e.to_string())),
    }
}

/// How a tracked batch ended.
#[derive(Debug, Clone)]
pub enum Final {
    /// The hub answered 2xx with this body.
    Delivered {
        /// HTTP status.
        status: u16,
        /// The hub's answer (empty when a transport returns none).
        body: Vec<u8>,
    },
    /// The hub rejected it; it is dead-lettered with `reason`.
    DeadLettered {
        /// The reason recorded with the dead letter.
        reason: String,
        /// HTTP status.
        status: u16,
        /// The hub's answer.
        body: Vec<u8>,
    },
}

/// What one delivery task has seen (for logs, health and metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// Consecutive failed attempts (0 after a success).
    pub consecutive_failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Batches delivered by this process.
    pub delivered: u64,
    /// Batches dead-lettered by this process.
    pub dead_lettered: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
}

/// An event of a delivery task, passed to observers ([`Delivery::observe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A batch was acked.
    Delivered,
    /// A batch was dead-lettered.
    DeadLettered,
    /// An attempt failed and will be retried.
    Retried,
}

/// A callback run on every event of one source's delivery task.
pub type Observer = Arc<dyn Fn(Event) + Send + Sync>;

struct WorkerHandle {
    notify: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Inner {
    workers: HashMap<String, WorkerHandle>,
    tracked: HashSet<String>,
    finals: HashMap<BatchId, Final>,
    health: BTreeMap<String, SourceHealth>,
    observers: HashMap<String, Observer>,
}

/// The process-wide delivery service: the outbox and one delivery task per source.
pub struct Delivery {
    outbox: Arc<Outbox>,
    target: Target,
    retry: RetryPolicy,
    wait_attempts: u32,
    inner: Mutex<Inner>,
    changed: Notify,
}

/// The hub target of `hub` (refuses plain `http://` unless `allow_insecure_http`).
pub fn target(hub: &HubClientConfig) -> Result<Target, DeliveryError> {
    let base = hub.url.trim_end_matches('/').to_string();
    if base.starts_with("http://") && !hub.allow_insecure_http {
        return Err(DeliveryError::Config(format!(
            "hub.url {base} is plain http; use https or set hub.allow_insecure_http = true"
        )));
    }
    let http = build_client(&HttpOptions {
        timeout: hub.timeout,
        ca_file: hub.ca_file.clone(),
        cookies: false,
    })
    .map_err(|e| DeliveryError::Config(e.to_string()))?;
    Ok(Target {
        http,
        base,
        token: hub.token.clone(),
        bulk_threshold_bytes: hub.bulk_threshold_bytes,
    })
}

/// Opens the outbox of `config` and starts the delivery service, resuming the delivery of every
/// source with pending batches (left by an earlier run). Use one per process.
pub async fn start(config: &ImporterConfig) -> Result<Arc<Delivery>, DeliveryError> {
    let outbox = {
        let config = config.clone();
        match tokio::task::spawn_blocking(move || open_outbox(&config)).await {
            Ok(r) => Arc::new(r?),
            Err(e) => return Err(DeliveryError::Task(e.to_string())),
        }
    };
    let retry = RetryPolicy {
        initial: config.outbox.retry_initial,
        max: config.outbox.retry_max,
    };
    let delivery = Delivery::new(&config.hub, outbox, retry, config.outbox.wait_attempts)?;
    delivery.resume_pending();
    Ok(delivery)
}

impl Delivery {
    /// A service on `outbox` sending to `hub`. Starts no task yet.
    pub fn new(
        hub: &HubClientConfig,
        outbox: Arc<Outbox>,
        retry: RetryPolicy,
        wait_attempts: u32,
    ) -> Result<Arc<Delivery>, DeliveryError> {
        let target = target(hub)?;
        Ok(Arc::new(Delivery {
            outbox,
            target,
            retry,
            wait_attempts: wait_attempts.max(1),
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process's outbox (for status, metrics and operator commands).
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// What every delivery task has seen so far, by outbox source.
    pub fn health(&self) -> BTreeMap<String, SourceHealth> {
        self.lock().health.clone()
    }

    /// Runs `observer` on every event of `source`'s delivery task.
    pub fn observe(&self, source: &str, observer: Observer) {
        self.lock().observers.insert(source.to_string(), observer);
    }

    /// Starts the delivery task of every source with pending batches.
    pub fn resume_pending(self: &Arc<Self>) {
        let stats = self.outbox.stats();
        for (source, s) in stats.sources {
            if s.buffered > 0 {
                tracing::info!(source = %source, pending = s.buffered, "delivering batches left in the outbox by an earlier run");
                self.ensure_worker(&source);
            }
        }
    }

    /// Starts `source`'s delivery task if it is not running, and wakes it.
    pub fn ensure_worker(self: &Arc<Self>, source: &str) {
        let mut inner = self.lock();
        if let Some(w) = inner.workers.get(source) {
            if !w.task.is_finished() {
                w.notify.notify_one();
                return;
            }
        }
        let notify = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(worker::run(
            self.clone(),
            source.to_string(),
            notify.clone(),
            stop_rx,
        ));
        inner.workers.insert(
            source.to_string(),
            WorkerHandle {
                notify,
                stop: stop_tx,
                task,
            },
        );
    }

    /// Appends one batch of `kind`/`id` with the source's new `checkpoint` (fsync'd) and wakes
    /// its delivery task. `track` keeps the batch's outcome for [`Delivery::wait`].
    pub async fn submit(
        self: &Arc<Self>,
        kind: Kind,
        id: &str,
        payload: Vec<u8>,
        checkpoint: Vec<u8>,
        track: bool,
    ) -> Result<BatchId, DeliveryError> {
        let source = source_name(kind, id);
        if track {
            self.lock().tracked.insert(source.clone());
        }
        let outbox = self.outbox.clone();
        let s = source.clone();
        let appended = blocking(move || outbox.append(&s, &payload, &checkpoint)).await;
        let id = match appended {
            Ok(id) => id,
            Err(DeliveryError::Outbox(OutboxError::Full { used, max, .. })) => {
                return Err(DeliveryError::Full {
                    dir: self.outbox.dir().to_path_buf(),
                    used_mib: used / (1024 * 1024),
                    max_mib: max / (1024 * 1024),
                })
            }
            Err(e) => return Err(e),
        };
        self.ensure_worker(&source);
        Ok(id)
    }

    /// [`Delivery::submit`] for one-shot commands: when the outbox is full, waits for earlier
    /// batches to be delivered and tries again (up to `wait_attempts` back-offs).
    pub async fn submit_waiting(
        self: &Arc<Self>,
        kind: Kind,
        id: &str,
        payload: Vec<u8>,
        checkpoint: Vec<u8>,
    ) -> Result<BatchId, DeliveryError> {
        let mut tries = 0;
        loop {
            match self
                .submit(kind, id, payload.clone(), checkpoint.clone(), true)
                .await
            {
                Err(DeliveryError::Full { .. }) if tries < self.wait_attempts => {
                    tries += 1;
                    let wait = self.retry.backoff(tries);
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "outbox full; waiting for the hub to take batches"
                    );
                    let _ = tokio::time::timeout(wait, self.changed.notified()).await;
                }
                other => return other,
            }
        }
    }

    /// The checkpoint of `kind`/`id` in the outbox, if it ever appended a batch.
    pub fn checkpoint(&self, kind: Kind, id: &str) -> Option<Vec<u8>> {
        self.outbox.checkpoint(&source_name(kind, id))
    }

    /// Waits until batch `id` of `kind`/`source` (submitted with `track`) is delivered or
    /// dead-lettered. Gives up with [`DeliveryError::Undelivered`] after `wait_attempts`
    /// consecutive failed attempts of that source.
    pub async fn wait(
        &self,
        kind: Kind,
        source: &str,
        id: BatchId,
    ) -> Result<Final, DeliveryError> {
        let name = source_name(kind, source);
        loop {
            let notified = self.changed.notified();
            {
                let mut inner = self.lock();
                if let Some(f) = inner.finals.remove(&id) {
                    return Ok(f);
                }
                let health = inner.health.get(&name).cloned().unwrap_or_default();
                if health.consecutive_failures >= self.wait_attempts {
                    drop(inner);
                    return Err(DeliveryError::Undelivered {
                        pending: self.outbox.pending(&name, usize::MAX).len(),
                        dir: self.outbox.dir().to_path_buf(),
                        last_error: health.last_error.unwrap_or_default(),
                    });
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(250), notified).await;
        }
    }

    /// Waits up to `grace` until `source` has nothing pending; true when it has not.
    pub async fn drain(&self, source: &str, grace: Duration) -> bool {
        let done = async {
            loop {
                let notified = self.changed.notified();
                if self.outbox.pending(source, 1).is_empty() {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            }
        };
        tokio::time::timeout(grace, done).await.is_ok()
    }

    /// Stops `source`'s delivery task (what is pending stays in the outbox).
    pub async fn stop_worker(&self, source: &str) {
        let handle = self.lock().workers.remove(source);
        if let Some(h) = handle {
            let _ = h.stop.send(true);
            let _ = h.task.await;
        }
    }

    /// Stops every delivery task; what is pending stays in the outbox for the next start.
    pub async fn shutdown(&self) {
        let handles: Vec<WorkerHandle> = self.lock().workers.drain().map(|(_, h)| h).collect();
        for h in &handles {
            let _ = h.stop.send(true);
        }
        for h in handles {
            let _ = h.task.await;
        }
    }

    fn record(&self, source: &str, id: Option<BatchId>, event: Event, outcome: RecordOutcome) {
        let observer = {
            let mut inner = self.lock();
            let tracked = inner.tracked.contains(source);
            let health = inner.health.entry(source.to_string()).or_default();
            match outcome {
                RecordOutcome::Final(f) => {
                    health.consecutive_failures = 0;
                    match event {
                        Event::Delivered => health.delivered += 1,
                        _ => health.dead_lettered += 1,
                    }
                    if let (true, Some(id)) = (tracked, id) {
                        inner.finals.insert(id, f);
                    }
                }
                RecordOutcome::Failed(reason) => {
                    health.consecutive_failures = health.consecutive_failures.saturating_add(1);
                    health.retries += 1;
                    health.last_error = Some(reason);
                }
            }
            inner.observers.get(source).cloned()
        };
        if let Some(o) = observer {
            o(event);
        }
        self.changed.notify_waiters();
    }
}

enum RecordOutcome {
    Final(Final),
    Failed(String),
}

#[cfg(test)]
mod tests;

//! The live agent-state feed: CTI Server → normalised state events and feed gaps → batches in
//! the durable outbox → the hub (`POST /api/v1/agent-states`).
//!
//! One [`LiveFeed`] per `[[cti]]` source runs three tasks: the CTI session (`wfm-sources`), the
//! feed task (normalise, track gaps, batch, `Outbox::append`) and the delivery task (oldest
//! batch first, same `Idempotency-Key` on retries, ack after the hub answered, dead-letter on a
//! permanent 4xx). The feed never waits for the hub: while the hub is down batches pile up in
//! the outbox (bounded by its disk budget) and are delivered in order when it is back.
//!
//! Durability: every append is fsync'd (`FsyncPolicy::Always`); batching (`batch_max_delay`,
//! default 100 ms, up to `batch_max_events`) is what amortises the fsync, so the policy costs
//! latency only in the order of one fsync per batch. A state the importer has read is therefore
//! either in the outbox or still in the open batch (lost only on a crash, and then covered by
//! the gap opened at the next start).
//!
//! This module wires sources, outbox and HTTP; it must not decode CTI messages (that is
//! `wfm_sources::cti`) or know how the hub stores states.

mod feed;
mod gaps;
mod normalise;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use wfm_config::{CtiConfig, HubClientConfig, ImporterConfig};
use wfm_outbox::{Clock, Outbox, OutboxError, SystemClock};
use wfm_sources::cti::{CtiClient, CtiError, CtiHandle, CtiSettings};

pub use crate::delivery::{classify, idempotency_key, Outcome, RetryPolicy};
use crate::delivery::{Delivery, DeliveryError, Event};
pub use feed::Checkpoint;
pub use gaps::GapTracker;
pub use normalise::{map_state, Normaliser};

/// Why the live feed could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The configuration cannot work (address, key, hub URL).
    #[error("live feed configuration: {0}")]
    Config(String),
    /// The outbox could not be opened or written.
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    /// A blocking outbox task panicked or was cancelled.
    #[error("outbox task failed: {0}")]
    Task(String),
    /// The CTI session ended on a permanent error (e.g. a rejected client id or password).
    #[error("{0}")]
    Cti(#[from] CtiError),
    /// The delivery service could not start.
    #[error("{0}")]
    Delivery(#[from] DeliveryError),
}

impl LiveError {
    /// Whether starting again may help.
    pub fn is_retriable(&self) -> bool {
        match self {
            LiveError::Config(_) => false,
            LiveError::Outbox(_) => false,
            LiveError::Task(_) => false,
            LiveError::Cti(e) => e.is_retriable(),
            LiveError::Delivery(e) => e.is_retriable(),
        }
    }

    /// A bounded label for metrics and logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            LiveError::Config(_) => "config",
            LiveError::Outbox(_) => "outbox",
            LiveError::Task(_) => "task",
            LiveError::Cti(_) => "cti",
            LiveError::Delivery(e) => e.error_type(),
        }
    }
}

/// Counters of one live source (conservation: every event read is appended or skipped; every
/// batch appended is delivered, dead-lettered or still in the outbox).
#[derive(Debug, Default)]
pub struct LiveStats {
    /// AGENT_STATE_EVENTs read from the CTI session.
    pub cti_events: AtomicU64,
    /// Events skipped (no AgentID).
    pub skipped: AtomicU64,
    /// State events appended to the outbox.
    pub events_appended: AtomicU64,
    /// Gap records (openings and closings) produced.
    pub gaps: AtomicU64,
    /// Batches appended.
    pub batches_appended: AtomicU64,
    /// Batches the hub accepted (acked).
    pub batches_delivered: AtomicU64,
    /// Batches dead-lettered.
    pub batches_dead: AtomicU64,
    /// Failed delivery attempts that will be retried.
    pub retries: AtomicU64,
}

impl LiveStats {
    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Options that tests and benchmarks change; production uses the defaults.
#[derive(Clone)]
pub struct LiveOptions {
    /// Clock of event instants and gaps.
    pub clock: Arc<dyn Clock>,
    /// Delivery retry timing.
    pub retry: RetryPolicy,
    /// How long shutdown keeps delivering what is pending before leaving it in the outbox.
    pub drain_grace: Duration,
    /// CTI settings hook (e.g. a shorter back-off in tests).
    pub tune_cti: Option<fn(&mut CtiSettings)>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
            drain_grace: Duration::from_secs(5),
            tune_cti: None,
        }
    }
}

/// Runs blocking outbox I/O off the async threads.
pub(crate) async fn blocking<T, E, F>(f: F) -> Result<T, LiveError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<LiveError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => Err(LiveError::Task(e.to_string())),
    }
}

/// Opens the outbox described by `[outbox]` (see [`crate::delivery::open_outbox`]).
pub fn open_outbox(config: &ImporterConfig) -> Result<Outbox, LiveError> {
    Ok(crate::delivery::open_outbox(config)?)
}

async fn resolve(addr: &str, what: &str) -> Result<std::net::SocketAddr, LiveError> {
    let mut found = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| LiveError::Config(format!("{what} {addr}: {e}")))?;
    found
        .next()
        .ok_or_else(|| LiveError::Config(format!("{what} {addr}: no address")))
}

/// One running live source.
pub struct LiveFeed {
    source: String,
    cti: CtiHandle,
    feed: JoinHandle<()>,
    delivery: Arc<Delivery>,
    /// Whether this feed made its own delivery service (and stops it on shutdown).
    owns_delivery: bool,
    stats: Arc<LiveStats>,
    drain_grace: Duration,
    stopping: Arc<AtomicBool>,
}

impl LiveFeed {
    /// Starts the CTI session, the feed and the delivery of `cti` on its own delivery service
    /// over `outbox` (tests, benchmarks). `wfm-importer run` uses [`LiveFeed::start_on`].
    pub async fn start(
        cti: &CtiConfig,
        hub: &HubClientConfig,
        outbox: Arc<Outbox>,
        opts: LiveOptions,
    ) -> Result<LiveFeed, LiveError> {
        let delivery = Delivery::new(hub, outbox, opts.retry.clone(), 5)?;
        LiveFeed::start_inner(cti, delivery, opts, true).await
    }

    /// Starts the CTI session and the feed of `cti` on the process's delivery service.
    pub async fn start_on(
        cti: &CtiConfig,
        delivery: Arc<Delivery>,
        opts: LiveOptions,
    ) -> Result<LiveFeed, LiveError> {
        LiveFeed::start_inner(cti, delivery, opts, false).await
    }

    async fn start_inner(
        cti: &CtiConfig,
        delivery: Arc<Delivery>,
        opts: LiveOptions,
        owns_delivery: bool,
    ) -> Result<LiveFeed, LiveError> {
        let side_a = resolve(&cti.side_a, "side_a").await?;
        let mut settings = CtiSettings::new(side_a, &cti.client_id, cti.client_password.expose());
        if let Some(b) = &cti.side_b {
            settings.side_b = Some(resolve(b, "side_b").await?);
        }
        settings.version = cti.protocol_version;
        settings.heartbeat = cti.heartbeat;
        if let Some(tune) = opts.tune_cti {
            tune(&mut settings);
        }
        let client = CtiClient::new(settings)?;
        let source = cti.source_id.to_string();
        let stats = Arc::new(LiveStats::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let observed = stats.clone();
        delivery.observe(
            &source,
            Arc::new(move |event| {
                let counter = match event {
                    Event::Delivered => &observed.batches_delivered,
                    Event::DeadLettered => &observed.batches_dead,
                    Event::Retried => &observed.retries,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }),
        );
        delivery.ensure_worker(&source);
        let feed = feed::Feed {
            source: source.clone(),
            peripheral_id: cti.peripheral_id,
            max_events: cti.batch_max_events.max(1),
            max_delay: cti.batch_max_delay,
            outbox: delivery.outbox().clone(),
            clock: opts.clock.clone(),
            delivery: delivery.clone(),
            stats: stats.clone(),
            gaps: GapTracker::new(cti.gap_settle),
            normaliser: Normaliser::new(),
            events: Vec::new(),
            gap_list: Vec::new(),
            batch_deadline: None,
            stopping: stopping.clone(),
        };
        let (cti_handle, rx) = client.start();
        let feed = tokio::spawn(feed.run(rx));
        tracing::info!(source = %source, side_a = %side_a, "live CTI feed started");
        Ok(LiveFeed {
            source,
            cti: cti_handle,
            feed,
            delivery,
            owns_delivery,
            stats,
            drain_grace: opts.drain_grace,
            stopping,
        })
    }

    /// The source id.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The counters.
    pub fn stats(&self) -> Arc<LiveStats> {
        self.stats.clone()
    }

    /// Whether the CTI session ended by itself (a permanent error).
    pub fn is_finished(&self) -> bool {
        self.cti.is_finished()
    }

    /// Stops: CLOSE_REQ to the CTI server, the last batch (with an "importer stopped" gap)
    /// into the outbox, then delivery of what is pending for at most the drain grace; the rest
    /// stays in the outbox for the next start. Returns the CTI session's permanent error, if any.
    pub async fn shutdown(self) -> Result<(), LiveError> {
        self.stopping.store(true, Ordering::SeqCst);
        let cti = self.cti.shutdown().await;
        let _ = self.feed.await;
        if !self.delivery.drain(&self.source, self.drain_grace).await {
            tracing::info!(source = %self.source, "live: batches left in the outbox for the next start");
        }
        self.delivery.stop_worker(&self.source).await;
        if self.owns_delivery {
            self.delivery.shutdown().await;
        }
        cti.map_err(LiveError::from)
    }
}

/// Runs every `[[cti]]` source on its own delivery service (`wfm-importer live`) until `stop`
/// resolves (or a source fails permanently). `Ok` when there is no `[[cti]]` source.
pub async fn run_live(
    config: &ImporterConfig,
    stop: impl Future<Output = ()>,
) -> Result<(), LiveError> {
    if config.cti.is_empty() {
        return Ok(());
    }
    let delivery = crate::delivery::start(config).await?;
    let result = run_live_on(config, delivery.clone(), stop).await;
    delivery.shutdown().await;
    result
}

/// Runs every `[[cti]]` source on the process's `delivery` until `stop` resolves (or a source
/// fails permanently), then shuts them down. `Ok` when there is no `[[cti]]` source.
pub async fn run_live_on(
    config: &ImporterConfig,
    delivery: Arc<Delivery>,
    stop: impl Future<Output = ()>,
) -> Result<(), LiveError> {
    if config.cti.is_empty() {
        return Ok(());
    }
    let mut feeds = Vec::new();
    for cti in &config.cti {
        match LiveFeed::start_on(cti, delivery.clone(), LiveOptions::default()).await {
            Ok(f) => feeds.push(f),
            Err(e) => {
                for f in feeds {
                    let _ = f.shutdown().await;
                }
                return Err(e);
            }
        }
    }
    tokio::pin!(stop);
    let mut failed = false;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if feeds.iter().any(LiveFeed::is_finished) {
                    failed = true;
                    break;
                }
            }
        }
    }
    let mut result = Ok(());
    for f in feeds {
        if let Err(e) = f.shutdown().await {
            tracing::error!(error = %e, "live feed stopped");
            result = Err(e);
        }
    }
    if failed && result.is_ok() {
        result = Err(LiveError::Config("a live feed stopped".into()));
    }
    result
}

/// `wfm-importer check` for one `[[cti]]` source: opens a session (side A, else B) and closes it.
pub async fn check_line(cti: &CtiConfig) -> crate::check::CheckLine {
    let component = format!("cti '{}' ({})", cti.source_id, cti.side_a);
    let result = async {
        let side_a = resolve(&cti.side_a, "side_a").await?;
        let mut settings = CtiSettings::new(side_a, &cti.client_id, cti.client_password.expose());
        if let Some(b) = &cti.side_b {
            settings.side_b = Some(resolve(b, "side_b").await?);
        }
        settings.version = cti.protocol_version;
        settings.heartbeat = cti.heartbeat;
        let conf = CtiClient::new(settings)?.check().await?;
        Ok::<_, LiveError>(format!(
            "session opened (PGStatus {:#x}, peripheral online: {}, session type {:?})",
            conf.pg_status, conf.peripheral_online, conf.session_type
        ))
    }
    .await;
    match result {
        Ok(detail) => crate::check::CheckLine {
            component,
            ok: true,
            detail,
        },
        Err(e) => crate::check::CheckLine {
            component,
            ok: false,
            detail: e.to_string(),
        },
    }
}

//! One identity sync: fetch from UCCX (and CUCM), map, send to the hub, report.
//!
//! With a delivery service ([`SyncJob::with_delivery`], as `wfm-importer` uses it) the snapshot
//! is appended to the outbox (source `users:<source id>`) and the job waits for the hub's
//! answer; a safety-limit refusal (409) is reported as before and the batch is dead-lettered
//! with that reason. Dry runs change nothing and are always sent directly.

use crate::delivery::{Delivery, DeliveryError, Final, Kind};
use crate::error::{HubError, ImporterError};
use crate::hub_client::{HubClient, SyncAnswer};
use crate::sources::{build_sources, Source};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wfm_config::ImporterConfig;
use wfm_model::{DirectorySnapshot, SourceId};
use wfm_protocol::{SyncRequest, SyncResponse};
use wfm_telemetry::metrics::{SourceLabels, SyncRunLabels};
use wfm_telemetry::Metrics;

/// Operator choices for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Compute and record the plan, change nothing.
    pub dry_run: bool,
    /// Override the safety limit.
    pub allow_mass_disable: bool,
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// What was sent.
    pub snapshot: DirectorySnapshot,
    /// The hub's answer.
    pub response: SyncResponse,
    /// True when the safety limit refused the run (nothing changed).
    pub refused: bool,
    /// Warnings from mapping (also recorded at the hub).
    pub warnings: Vec<String>,
    /// Time spent reading UCCX and CUCM.
    pub fetch_time: Duration,
    /// Time spent at the hub (send, plan, apply).
    pub hub_time: Duration,
}

/// The clients one sync needs, built once and reused across runs.
pub struct SyncJob {
    config: ImporterConfig,
    sources: Vec<Source>,
    hub: HubClient,
    metrics: Metrics,
    delivery: Option<Arc<Delivery>>,
    periodic: bool,
}

impl SyncJob {
    /// Sends snapshots through `delivery`'s outbox and waits for the hub's answer. `periodic`
    /// (`run`): a source whose earlier snapshot is still in the outbox is not fetched again
    /// until that one is delivered.
    pub fn with_delivery(mut self, delivery: Arc<Delivery>, periodic: bool) -> Self {
        self.delivery = Some(delivery);
        self.periodic = periodic;
        self
    }

    /// Builds every client from the config (no network yet).
    pub fn new(config: &ImporterConfig, metrics: Metrics) -> Result<Self, ImporterError> {
        let sources = build_sources(config, &metrics)?;
        if sources.is_empty() {
            return Err(ImporterError::NotConfigured(
                "no identity source is configured".to_string(),
            ));
        }
        let hub = HubClient::new(&config.hub)?;
        Ok(SyncJob {
            config: config.clone(),
            sources,
            hub,
            metrics,
            delivery: None,
            periodic: false,
        })
    }

    /// The hub client (for follow-up reads such as the change log).
    pub fn hub(&self) -> &HubClient {
        &self.hub
    }

    /// The configured sources, in config order.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Syncs the only configured source; an error when there are several (use
    /// [`SyncJob::run_all`] or [`SyncJob::run_source`]).
    pub async fn run(&self, options: SyncOptions) -> Result<SyncReport, ImporterError> {
        match self.sources.as_slice() {
            [only] => self.run_one(only, options).await,
            _ => Err(ImporterError::NotConfigured(format!(
                "{} sources are configured; name one with --source ({})",
                self.sources.len(),
                self.source_list()
            ))),
        }
    }

    /// Syncs one source by id.
    pub async fn run_source(
        &self,
        id: &str,
        options: SyncOptions,
    ) -> Result<SyncReport, ImporterError> {
        match self.sources.iter().find(|s| s.id().as_str() == id) {
            Some(source) => self.run_one(source, options).await,
            None => Err(ImporterError::NotConfigured(format!(
                "no source '{id}' is configured (configured: {})",
                self.source_list()
            ))),
        }
    }

    /// Syncs every source, one after the other; each is its own run at the hub, so a failure in
    /// one leaves the others' results standing.
    pub async fn run_all(
        &self,
        options: SyncOptions,
    ) -> Vec<(SourceId, Result<SyncReport, ImporterError>)> {
        let mut results = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            let result = self.run_one(source, options).await;
            results.push((source.id().clone(), result));
        }
        results
    }

    fn source_list(&self) -> String {
        self.sources
            .iter()
            .map(|s| s.id().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    async fn run_one(
        &self,
        source: &Source,
        options: SyncOptions,
    ) -> Result<SyncReport, ImporterError> {
        let started = Instant::now();
        let result = self.fetch_and_send(source, options).await;
        let id = source.id().to_string();
        let labels = SourceLabels { source: id.clone() };
        self.metrics
            .sync_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        let result_label = match &result {
            Ok(r) if r.refused => "refused",
            Ok(_) if options.dry_run => "dry_run",
            Ok(_) => "applied",
            Err(_) => "failed",
        };
        self.metrics
            .sync_runs
            .get_or_create(&SyncRunLabels {
                source: id.clone(),
                result: result_label.to_string(),
            })
            .inc();
        if let Ok(report) = &result {
            if !report.refused && !options.dry_run {
                self.count_objects(&id, &report.response.run.summary);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                self.metrics
                    .sync_last_success
                    .get_or_create(&labels)
                    .set(now);
            }
        }
        result
    }

    fn count_objects(&self, source: &str, s: &wfm_sync::PlanSummary) {
        for (kind, outcome, n) in [
            ("user", "created", s.users_created),
            ("user", "updated", s.users_updated),
            ("user", "disabled", s.users_disabled),
            ("user", "reenabled", s.users_reenabled),
            ("user", "unchanged", s.users_unchanged),
            ("group", "created", s.groups_created),
            ("group", "updated", s.groups_updated),
            ("group", "disabled", s.groups_disabled),
            ("group", "reenabled", s.groups_reenabled),
            ("membership", "added", s.memberships_added),
            ("membership", "removed", s.memberships_removed),
            ("role", "added", s.roles_added),
            ("role", "removed", s.roles_removed),
        ] {
            self.metrics.sync_objects(source, kind, outcome, n);
        }
    }

    async fn fetch_and_send(
        &self,
        source: &Source,
        options: SyncOptions,
    ) -> Result<SyncReport, ImporterError> {
        if let (Some(d), true) = (&self.delivery, self.periodic) {
            let name = crate::delivery::source_name(Kind::Users, source.id().as_str());
            let pending = d.outbox().pending(&name, usize::MAX).len();
            if pending > 0 {
                return Err(ImporterError::Delivery(DeliveryError::Undelivered {
                    pending,
                    dir: d.outbox().dir().to_path_buf(),
                    last_error: "an earlier snapshot of this source is still waiting for the hub; this round is skipped".into(),
                }));
            }
        }
        let fetch_started = Instant::now();
        let mapped = source.fetch(&self.config.sync.role_equivalents).await?;
        let fetch_time = fetch_started.elapsed();
        let problems = mapped.snapshot.problems();
        if !problems.is_empty() {
            return Err(ImporterError::InvalidSnapshot(
                problems.iter().map(|p| p.to_string()).collect(),
            ));
        }
        for w in &mapped.warnings {
            tracing::warn!(source = %source.id(), warning = %w, "source data");
        }
        let request = SyncRequest {
            snapshot: mapped.snapshot,
            dry_run: options.dry_run,
            allow_mass_disable: options.allow_mass_disable,
            max_disable_ratio: self.config.sync.max_disable_ratio,
            warnings: mapped.warnings.clone(),
        };
        let hub_started = Instant::now();
        let answer = match &self.delivery {
            Some(d) if !options.dry_run => self.deliver(d, source.id().as_str(), &request).await?,
            _ => {
                let key = uuid::Uuid::new_v4().to_string();
                self.hub.sync(&request, &key).await?
            }
        };
        let hub_time = hub_started.elapsed();
        let (response, refused) = match answer {
            SyncAnswer::Done(r) => (r, false),
            SyncAnswer::Refused(r) => (r, true),
        };
        Ok(SyncReport {
            snapshot: request.snapshot,
            response,
            refused,
            warnings: mapped.warnings,
            fetch_time,
            hub_time,
        })
    }
}

impl SyncJob {
    /// Appends the snapshot to the outbox and waits for the hub's answer.
    async fn deliver(
        &self,
        delivery: &Arc<Delivery>,
        source: &str,
        request: &SyncRequest,
    ) -> Result<SyncAnswer, ImporterError> {
        let payload = serde_json::to_vec(request)
            .map_err(|e| ImporterError::Hub(HubError::Protocol(e.to_string())))?;
        let id = delivery
            .submit_waiting(Kind::Users, source, payload, Vec::new())
            .await?;
        let decode = |body: &[u8]| {
            serde_json::from_slice::<SyncResponse>(body).map_err(|e| {
                ImporterError::Hub(HubError::Protocol(format!(
                    "the hub took the snapshot but its report cannot be read ({e}); see GET /api/v1/sync-runs"
                )))
            })
        };
        match delivery.wait(Kind::Users, source, id).await? {
            Final::Delivered { body, .. } => Ok(SyncAnswer::Done(decode(&body)?)),
            Final::DeadLettered {
                status: 409, body, ..
            } => Ok(SyncAnswer::Refused(decode(&body)?)),
            Final::DeadLettered { status, body, .. } => {
                let reason = crate::hub_client::answer_error(status, &body).to_string();
                Err(ImporterError::Delivery(DeliveryError::DeadLettered {
                    id,
                    reason,
                }))
            }
        }
    }
}

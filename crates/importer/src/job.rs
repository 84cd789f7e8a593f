//! One identity sync: fetch from UCCX (and CUCM), map, send to the hub, report.

use crate::error::ImporterError;
use crate::hub_client::{HubClient, SyncAnswer};
use crate::sources::{build_sources, Source};
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
}

impl SyncJob {
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
        let key = uuid::Uuid::new_v4().to_string();
        let hub_started = Instant::now();
        let answer = self.hub.sync(&request, &key).await?;
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

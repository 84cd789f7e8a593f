//! One identity sync: fetch from UCCX (and CUCM), map, send to the hub, report.

use crate::error::ImporterError;
use crate::hub_client::{HubClient, SyncAnswer};
use crate::mapping::{map_uccx, MappingOptions};
use std::time::{Duration, Instant};
use wfm_config::ImporterConfig;
use wfm_model::DirectorySnapshot;
use wfm_protocol::{SyncRequest, SyncResponse};
use wfm_sources::axl::AxlClient;
use wfm_sources::uccx::UccxClient;
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
    uccx: UccxClient,
    axl: Option<AxlClient>,
    hub: HubClient,
    metrics: Metrics,
}

impl SyncJob {
    /// Builds every client from the config (no network yet).
    pub fn new(config: &ImporterConfig, metrics: Metrics) -> Result<Self, ImporterError> {
        let uccx_cfg = config.uccx.as_ref().ok_or_else(|| {
            ImporterError::NotConfigured("no [uccx] source is configured".to_string())
        })?;
        let uccx = UccxClient::new(uccx_cfg, metrics.clone())?;
        let axl = match &config.cucm {
            Some(c) => Some(AxlClient::new(c, metrics.clone())?),
            None => None,
        };
        let hub = HubClient::new(&config.hub)?;
        Ok(SyncJob {
            config: config.clone(),
            uccx,
            axl,
            hub,
            metrics,
        })
    }

    /// The hub client (for follow-up reads such as the change log).
    pub fn hub(&self) -> &HubClient {
        &self.hub
    }

    /// The source id of the UCCX source.
    pub fn source_id(&self) -> String {
        self.config
            .uccx
            .as_ref()
            .map(|u| u.source_id.to_string())
            .unwrap_or_default()
    }

    /// Runs one sync. On error nothing was changed at the hub (the hub applies a run atomically).
    pub async fn run(&self, options: SyncOptions) -> Result<SyncReport, ImporterError> {
        let started = Instant::now();
        let source = self.source_id();
        let result = self.run_inner(options).await;
        let labels = SourceLabels {
            source: source.clone(),
        };
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
                source: source.clone(),
                result: result_label.to_string(),
            })
            .inc();
        if let Ok(report) = &result {
            if !report.refused && !options.dry_run {
                let s = &report.response.run.summary;
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
                    self.metrics.sync_objects(&source, kind, outcome, n);
                }
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

    async fn run_inner(&self, options: SyncOptions) -> Result<SyncReport, ImporterError> {
        let uccx_cfg = self.config.uccx.as_ref().ok_or_else(|| {
            ImporterError::NotConfigured("no [uccx] source is configured".to_string())
        })?;
        let fetch_started = Instant::now();
        // One request at a time per UCCX host: resources, then teams.
        let resources = self.uccx.resources().await?;
        let teams = self.uccx.teams().await?;
        tracing::info!(
            resources = resources.len(),
            teams = teams.len(),
            "read UCCX"
        );
        let end_users = match &self.axl {
            Some(axl) => {
                let ids: Vec<String> = resources.iter().map(|r| r.user_id.clone()).collect();
                let rows = axl.end_users(&ids).await?;
                tracing::info!(asked = ids.len(), found = rows.len(), "read CUCM end users");
                rows
            }
            None => Vec::new(),
        };
        let fetch_time = fetch_started.elapsed();
        let mapped = map_uccx(
            &uccx_cfg.source_id,
            &resources,
            &teams,
            &end_users,
            &MappingOptions {
                imported_groups: uccx_cfg.imported_groups.clone(),
                role_equivalents: self.config.sync.role_equivalents.clone(),
                cucm_configured: self.axl.is_some(),
            },
        )?;
        let problems = mapped.snapshot.problems();
        if !problems.is_empty() {
            return Err(ImporterError::InvalidSnapshot(
                problems.iter().map(|p| p.to_string()).collect(),
            ));
        }
        for w in &mapped.warnings {
            tracing::warn!(warning = %w, "source data");
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

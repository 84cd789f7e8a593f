//! The configured identity sources, each able to fetch and map itself into a directory snapshot
//! and to check its own connectivity. One place knows every kind of source; the job, `check` and
//! the run loop only iterate.

use crate::check::CheckLine;
use crate::error::ImporterError;
use crate::mapping::cloud::{map_graph, map_webex, map_zoom};
use crate::mapping::ucce::map_ucce;
use crate::mapping::{map_uccx, Mapped, MappingOptions};
use std::collections::BTreeMap;
use wfm_config::ImporterConfig;
use wfm_model::SourceId;
use wfm_sources::axl::AxlClient;
use wfm_sources::graph::GraphClient;
use wfm_sources::ucce::UcceClient;
use wfm_sources::uccx::UccxClient;
use wfm_sources::webex::WebexClient;
use wfm_sources::zoom::ZoomClient;
use wfm_sources::{HealthReport, SourceError};
use wfm_telemetry::Metrics;

/// A client for one kind of source.
enum Client {
    Uccx {
        uccx: Box<UccxClient>,
        axl: Option<Box<AxlClient>>,
    },
    Ucce(Box<UcceClient>),
    Webex(Box<WebexClient>),
    Zoom(Box<ZoomClient>),
    Graph(Box<GraphClient>),
}

/// One configured identity source.
pub struct Source {
    id: SourceId,
    label: String,
    imported_groups: Vec<String>,
    client: Client,
}

/// Builds every configured source's client (no network yet).
pub fn build_sources(
    config: &ImporterConfig,
    metrics: &Metrics,
) -> Result<Vec<Source>, ImporterError> {
    let mut sources = Vec::new();
    if let Some(u) = &config.uccx {
        let axl = match &config.cucm {
            Some(c) => Some(Box::new(AxlClient::new(c, metrics.clone())?)),
            None => None,
        };
        sources.push(Source {
            id: u.source_id.clone(),
            label: format!("uccx {}", u.base_url()),
            imported_groups: u.imported_groups.clone(),
            client: Client::Uccx {
                uccx: Box::new(UccxClient::new(u, metrics.clone())?),
                axl,
            },
        });
    }
    for u in &config.ucce {
        sources.push(Source {
            id: u.source_id.clone(),
            label: format!("ucce {}", u.base_url()),
            imported_groups: u.imported_groups.clone(),
            client: Client::Ucce(Box::new(UcceClient::new(u, metrics.clone())?)),
        });
    }
    for c in &config.webex {
        sources.push(cloud(
            c,
            "webex",
            Client::Webex(Box::new(WebexClient::new(c, metrics.clone())?)),
        ));
    }
    for c in &config.zoom {
        sources.push(cloud(
            c,
            "zoom",
            Client::Zoom(Box::new(ZoomClient::new(c, metrics.clone())?)),
        ));
    }
    for c in &config.graph {
        sources.push(cloud(
            c,
            "graph",
            Client::Graph(Box::new(GraphClient::new(c, metrics.clone())?)),
        ));
    }
    Ok(sources)
}

fn cloud(c: &wfm_config::CloudConfig, kind: &str, client: Client) -> Source {
    Source {
        id: c.source_id.clone(),
        label: format!("{kind} {}", c.base_url),
        imported_groups: c.imported_groups.clone(),
        client,
    }
}

fn health_line(component: String, result: Result<HealthReport, SourceError>) -> CheckLine {
    match result {
        Ok(h) => CheckLine {
            component,
            ok: true,
            detail: format!("{} ({} ms)", h.detail, h.latency.as_millis()),
        },
        Err(e) => CheckLine {
            component,
            ok: false,
            detail: e.to_string(),
        },
    }
}

impl Source {
    /// The source id (first half of every synced object's key).
    pub fn id(&self) -> &SourceId {
        &self.id
    }

    /// Kind and address, for reports.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Read-only connectivity and credential checks (UCCX reports CUCM separately).
    pub async fn healthcheck(&self) -> Vec<CheckLine> {
        let name = format!("{} '{}'", self.label, self.id);
        match &self.client {
            Client::Uccx { uccx, axl } => {
                let mut lines = vec![health_line(name.clone(), uccx.healthcheck().await)];
                if let Some(axl) = axl {
                    lines.push(health_line(
                        format!("cucm AXL for '{}'", self.id),
                        axl.healthcheck().await,
                    ));
                }
                lines
            }
            Client::Ucce(c) => vec![health_line(name, c.healthcheck().await)],
            Client::Webex(c) => vec![health_line(name, c.healthcheck().await)],
            Client::Zoom(c) => vec![health_line(name, c.healthcheck().await)],
            Client::Graph(c) => vec![health_line(name, c.healthcheck().await)],
        }
    }

    /// Reads everything the source has and maps it into a snapshot. Listing warnings (duplicates
    /// across pages, inconsistent totals) are added to the mapping's warnings.
    pub async fn fetch(
        &self,
        role_equivalents: &BTreeMap<String, String>,
    ) -> Result<Mapped, ImporterError> {
        let options = MappingOptions {
            imported_groups: self.imported_groups.clone(),
            role_equivalents: role_equivalents.clone(),
            cucm_configured: matches!(&self.client, Client::Uccx { axl: Some(_), .. }),
        };
        let (mapped, listing_warnings) = match &self.client {
            Client::Uccx { uccx, axl } => {
                // One request at a time per host: UCCX resources, then the UCCX team list while
                // CUCM (another host) answers for the e-mails of those resources.
                let started = std::time::Instant::now();
                let resources = uccx.resources().await?;
                tracing::info!(source = %self.id, resources = resources.len(), ms = started.elapsed().as_millis() as u64, "read UCCX resources");
                let ids: Vec<String> = resources.iter().map(|r| r.user_id.clone()).collect();
                let cucm = async {
                    match axl {
                        Some(axl) => axl.end_users(&ids).await.map(Some),
                        None => Ok(None),
                    }
                };
                let (teams, end_users) = tokio::join!(uccx.teams(), cucm);
                let teams = teams?;
                tracing::info!(source = %self.id, teams = teams.len(), ms = started.elapsed().as_millis() as u64, "read UCCX teams and CUCM e-mails");
                let end_users = match end_users? {
                    Some(rows) => {
                        tracing::info!(
                            asked = ids.len(),
                            found = rows.len(),
                            "read CUCM end users"
                        );
                        rows
                    }
                    None => Vec::new(),
                };
                (
                    map_uccx(&self.id, &resources, &teams, &end_users, &options)?,
                    Vec::new(),
                )
            }
            Client::Ucce(c) => {
                let agents = c.agents_report().await?;
                let teams = c.teams_report().await?;
                let skills = c.skill_groups_report().await?;
                tracing::info!(source = %self.id, agents = agents.items.len(), teams = teams.items.len(), "read UCCE");
                let warnings = [agents.warnings, teams.warnings, skills.warnings].concat();
                (
                    map_ucce(
                        &self.id,
                        &agents.items,
                        &teams.items,
                        &skills.items,
                        &options,
                    )?,
                    warnings,
                )
            }
            Client::Webex(c) => {
                let users = c.users().await?;
                let teams = c.teams().await?;
                let warnings = [users.warnings, teams.warnings].concat();
                (
                    map_webex(&self.id, &users.items, &teams.items, &options)?,
                    warnings,
                )
            }
            Client::Zoom(c) => {
                let users = c.users().await?;
                let groups = c.teams().await?;
                let warnings = [users.warnings, groups.warnings].concat();
                (
                    map_zoom(&self.id, &users.items, &groups.items, &options)?,
                    warnings,
                )
            }
            Client::Graph(c) => {
                let users = c.users().await?;
                let groups = c.teams().await?;
                let warnings = [users.warnings, groups.warnings].concat();
                (
                    map_graph(&self.id, &users.items, &groups.items, &options)?,
                    warnings,
                )
            }
        };
        let mut mapped = mapped;
        let mut warnings = listing_warnings;
        warnings.append(&mut mapped.warnings);
        mapped.warnings = warnings;
        Ok(mapped)
    }
}

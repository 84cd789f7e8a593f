//! `wfm-importer check`: connectivity and credentials of every configured source and of the hub,
//! without changing anything.

use crate::hub_client::HubClient;
use std::collections::BTreeSet;
use std::time::Instant;
use wfm_config::ImporterConfig;
use wfm_sources::axl::AxlClient;
use wfm_sources::uccx::UccxClient;
use wfm_telemetry::Metrics;

/// The result of checking one component.
#[derive(Debug, Clone)]
pub struct CheckLine {
    /// What was checked, e.g. `uccx (https://uccx:443)`.
    pub component: String,
    /// Whether it works.
    pub ok: bool,
    /// What was seen, or what to fix.
    pub detail: String,
}

/// Checks every configured component; never writes anything anywhere.
pub async fn check_all(config: &ImporterConfig, metrics: &Metrics) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if let Some(u) = &config.uccx {
        let component = format!("uccx '{}' ({})", u.source_id, u.base_url());
        let line = match UccxClient::new(u, metrics.clone()) {
            Err(e) => fail(component, e.to_string()),
            Ok(client) => match client.healthcheck().await {
                Ok(h) => pass(
                    component,
                    format!("{} ({} ms)", h.detail, h.latency.as_millis()),
                ),
                Err(e) => fail(component, e.to_string()),
            },
        };
        lines.push(line);
    }
    if let Some(c) = &config.cucm {
        let component = format!("cucm AXL {} ({})", c.version, c.axl_url());
        let line = match AxlClient::new(c, metrics.clone()) {
            Err(e) => fail(component, e.to_string()),
            Ok(client) => match client.healthcheck().await {
                Ok(h) => pass(
                    component,
                    format!("{} ({} ms)", h.detail, h.latency.as_millis()),
                ),
                Err(e) => fail(component, e.to_string()),
            },
        };
        lines.push(line);
    }
    let component = format!("hub ({}, project {})", config.hub.url, config.hub.project);
    let line = match HubClient::new(&config.hub) {
        Err(e) => fail(component, e.to_string()),
        Ok(hub) => {
            let started = Instant::now();
            match hub.whoami().await {
                Err(e) => fail(component, e.to_string()),
                Ok(me) if me.project != config.hub.project.as_str() => fail(
                    component,
                    format!(
                        "the token belongs to project '{}', but hub.project is '{}'",
                        me.project, config.hub.project
                    ),
                ),
                Ok(me) => {
                    let have: BTreeSet<&String> = me.roles.iter().collect();
                    let missing: BTreeSet<&String> = config
                        .sync
                        .role_equivalents
                        .values()
                        .filter(|r| !have.contains(r))
                        .collect();
                    if missing.is_empty() {
                        pass(
                            component,
                            format!(
                                "token accepted, hub {} ({} ms)",
                                me.hub_version,
                                started.elapsed().as_millis()
                            ),
                        )
                    } else {
                        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                        fail(
                            component,
                            format!(
                                "role(s) {} from sync.role_equivalents do not exist in the project (it has: {}); add them to the hub's projects.roles",
                                missing.join(", "),
                                me.roles.join(", ")
                            ),
                        )
                    }
                }
            }
        }
    };
    lines.push(line);
    lines
}

fn pass(component: String, detail: String) -> CheckLine {
    CheckLine {
        component,
        ok: true,
        detail,
    }
}

fn fail(component: String, detail: String) -> CheckLine {
    CheckLine {
        component,
        ok: false,
        detail,
    }
}

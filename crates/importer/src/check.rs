//! `wfm-importer check`: connectivity and credentials of every configured source and of the hub,
//! without changing anything.

use crate::hub_client::HubClient;
use crate::sources::build_sources;
use std::collections::BTreeSet;
use std::time::Instant;
use wfm_config::ImporterConfig;
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
    match build_sources(config, metrics) {
        Err(e) => lines.push(fail("sources".to_string(), e.to_string())),
        Ok(sources) => {
            for source in &sources {
                lines.extend(source.healthcheck().await);
            }
        }
    }
    for h in &config.history {
        lines.push(check_history(config, h, metrics).await);
    }
    if let Some(f) = &config.finesse {
        lines.push(check_finesse(f, metrics).await);
    }
    for c in &config.cti {
        lines.push(crate::live::check_line(c).await);
    }
    lines.push(check_hub(config).await);
    lines
}

async fn check_history(
    config: &ImporterConfig,
    h: &wfm_config::HistoryConfig,
    metrics: &Metrics,
) -> CheckLine {
    let component = format!(
        "history '{}' ({:?} reporting database)",
        h.source_id, h.dialect
    );
    let hub = match HubClient::new(&config.hub) {
        Err(e) => return fail(component, e.to_string()),
        Ok(hub) => hub,
    };
    let job =
        crate::history::HistoryJob::new(h.clone(), hub, &config.importer.data_dir, metrics.clone());
    let started = Instant::now();
    let mut tables = match job.check().await {
        Err(e) => return fail(component, e.to_string()),
        Ok(tables) => tables,
    };
    if h.agent_states {
        match job.check_agent_states().await {
            Err(e) => {
                let hint = "or set agent_states = false for this source";
                return fail(component, format!("agent states: {e} ({hint})"));
            }
            Ok(table) => tables.push(table),
        }
    }
    pass(
        component,
        format!(
            "connected, tables {} found ({} ms)",
            tables.join(", "),
            started.elapsed().as_millis()
        ),
    )
}

async fn check_finesse(f: &wfm_config::FinesseConfig, metrics: &Metrics) -> CheckLine {
    let component = format!("finesse '{}' ({})", f.source_id, f.base_url());
    match crate::reason_codes::check(f, metrics).await {
        Err(e) => fail(component, e.to_string()),
        Ok(detail) => pass(component, detail),
    }
}

async fn check_hub(config: &ImporterConfig) -> CheckLine {
    let component = format!("hub ({}, project {})", config.hub.url, config.hub.project);
    let hub = match HubClient::new(&config.hub) {
        Err(e) => return fail(component, e.to_string()),
        Ok(hub) => hub,
    };
    let started = Instant::now();
    let me = match hub.whoami().await {
        Err(e) => return fail(component, e.to_string()),
        Ok(me) => me,
    };
    if me.project != config.hub.project.as_str() {
        return fail(
            component,
            format!(
                "the token belongs to project '{}', but hub.project is '{}'",
                me.project, config.hub.project
            ),
        );
    }
    let have: BTreeSet<&String> = me.roles.iter().collect();
    let missing: BTreeSet<&String> = config
        .sync
        .role_equivalents
        .values()
        .filter(|r| !have.contains(r))
        .collect();
    if !missing.is_empty() {
        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return fail(
            component,
            format!(
                "role(s) {} from sync.role_equivalents do not exist in the project (it has: {}); add them to the hub's projects.roles",
                missing.join(", "),
                me.roles.join(", ")
            ),
        );
    }
    pass(
        component,
        format!(
            "token accepted, hub {} ({} ms)",
            me.hub_version,
            started.elapsed().as_millis()
        ),
    )
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

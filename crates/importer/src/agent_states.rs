//! The `wfm-importer` commands for agent states and reason codes: `sync states`,
//! `backfill states`, `sync reason-codes`, and the periodic loop of `run`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use wfm_config::ImporterConfig;
use wfm_importer::delivery::Delivery;
use wfm_importer::history::states::StatesReport;
use wfm_importer::history::{parse_instant, rfc3339, HistoryJob};
use wfm_importer::reason_codes::{sync_reason_codes_through, ReasonCodeReport};
use wfm_telemetry::Metrics;

use crate::intervals::{bar, on_progress, one_shot_delivery, select_jobs, through};

/// The [[history]] sources with `agent_states = true` (only `only`, if given).
fn jobs(
    config: &ImporterConfig,
    only: Option<&str>,
    metrics: &Metrics,
) -> Result<Vec<HistoryJob>, String> {
    select_jobs(
        config,
        only,
        metrics,
        |h| h.agent_states,
        (
            "imports agent states",
            "agent_states = true is the default; docs/agent-states.md",
            " with agent_states = true",
        ),
    )
}

fn summary(source: &str, reports: &[StatesReport]) {
    let rows: u64 = reports.iter().map(|r| r.rows_read).sum();
    let events: u64 = reports.iter().map(|r| r.events).sum();
    let dups: u64 = reports.iter().map(|r| r.duplicates).sum();
    let (mut accepted, mut removed, mut unknown_agents) = (0, 0, 0);
    let mut unknown = std::collections::BTreeSet::new();
    for r in reports {
        accepted += r.hub.accepted;
        removed += r.hub.removed;
        unknown_agents += r.hub.unknown_agents;
        unknown.extend(r.unknown.iter().cloned());
    }
    match (reports.first(), reports.last()) {
        (Some(first), Some(last)) => println!(
            "{source}: agent states, {} window(s) {} .. {}: {rows} rows read, {events} events sent: {accepted} stored, {removed} replaced; {unknown_agents} for agents the hub does not know",
            reports.len(),
            rfc3339(first.window.from),
            rfc3339(last.window.to),
        ),
        _ => println!("{source}: agent states, nothing to do (no closed interval after the cursor)"),
    }
    if dups > 0 {
        println!(
            "{source}: {dups} duplicated state row(s) in the reporting database were sent once"
        );
    }
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.into_iter().collect();
        println!(
            "{source}: state value(s) {} are not known to the importer; sent as `unknown` with the raw value",
            list.join(", ")
        );
    }
}

fn print_reason_codes(r: &ReasonCodeReport) {
    println!(
        "{}: {} reason codes sent: {} new, {} changed, {} unchanged, {} no longer defined ({} ms)",
        r.source,
        r.codes,
        r.hub.inserted,
        r.hub.updated,
        r.hub.unchanged,
        r.hub.deactivated,
        r.elapsed_ms
    );
}

/// Syncs the reason codes (through the outbox) when `[finesse]` is configured; `Ok(false)`
/// when it is not.
async fn reason_codes_first(
    config: &ImporterConfig,
    delivery: &Arc<Delivery>,
    metrics: &Metrics,
) -> Result<bool, String> {
    let Some(finesse) = &config.finesse else {
        return Ok(false);
    };
    let report = sync_reason_codes_through(finesse, delivery, metrics, false)
        .await
        .map_err(|e| e.to_string())?;
    print_reason_codes(&report);
    Ok(true)
}

/// `wfm-importer sync reason-codes`.
pub async fn sync_codes(config: &ImporterConfig) -> ExitCode {
    if config.finesse.is_none() {
        eprintln!("error: no [finesse] table is configured; add one (docs/agent-states.md)");
        return ExitCode::from(1);
    }
    let delivery = match one_shot_delivery(config).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let result = reason_codes_first(config, &delivery, &Metrics::new()).await;
    delivery.shutdown().await;
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: reason codes: {e}");
            ExitCode::from(1)
        }
    }
}

/// `wfm-importer sync states`: the reason codes first (if `[finesse]` is configured), then one
/// incremental agent-state run of every source.
pub async fn sync(config: &ImporterConfig, only: Option<&str>) -> ExitCode {
    let metrics = Metrics::new();
    let jobs = match jobs(config, only, &metrics) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let delivery = match one_shot_delivery(config).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let jobs = through(jobs, &delivery, true);
    let mut failed = false;
    if let Err(e) = reason_codes_first(config, &delivery, &metrics).await {
        eprintln!("error: reason codes: {e}\n  (agent states are imported anyway; their labels appear once the codes reach the hub)");
        failed = true;
    }
    for job in &jobs {
        let source = job.config().source_id.to_string();
        let bar = bar(&format!("{source} states"));
        let result = job
            .incremental_states(OffsetDateTime::now_utc(), &on_progress(&bar))
            .await;
        bar.finish_and_clear();
        match result {
            Ok(reports) => summary(&source, &reports),
            Err(e) => {
                eprintln!("error: {e}\n  (the agent-state cursor stays before the window that failed; the next run retries it)");
                failed = true;
            }
        }
    }
    delivery.shutdown().await;
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `wfm-importer backfill states`.
pub async fn backfill(
    config: &ImporterConfig,
    from: &str,
    to: &str,
    only: Option<&str>,
    restart: bool,
) -> ExitCode {
    let metrics = Metrics::new();
    let jobs = match jobs(config, only, &metrics) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let delivery = match one_shot_delivery(config).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let jobs = through(jobs, &delivery, true);
    let mut failed = false;
    if let Err(e) = reason_codes_first(config, &delivery, &metrics).await {
        eprintln!("error: reason codes: {e}\n  (agent states are imported anyway)");
        failed = true;
    }
    for job in &jobs {
        let source = job.config().source_id.to_string();
        let tz = job.config().time_zone.clone();
        let (f, t) = match (parse_instant(from, &tz), parse_instant(to, &tz)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let bar = bar(&format!("{source} states"));
        let result = job.backfill_states(f, t, restart, &on_progress(&bar)).await;
        bar.finish_and_clear();
        match result {
            Ok(reports) => summary(&source, &reports),
            Err(e) => {
                eprintln!("error: {e}\n  (run the same command again to resume after the last window that was delivered)");
                failed = true;
            }
        }
    }
    delivery.shutdown().await;
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The periodic agent-state import of every source with `agent_states = true`, reason codes
/// first each round, until `stop` turns true. Polls at the shortest `poll_interval`; a failure
/// is retried sooner (5 s doubling up to it).
pub async fn run_loop(
    config: ImporterConfig,
    metrics: Metrics,
    delivery: std::sync::Arc<wfm_importer::delivery::Delivery>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let jobs = match jobs(&config, None, &metrics) {
        Ok(j) => through(j, &delivery, false),
        Err(_) => return,
    };
    let poll = jobs
        .iter()
        .map(|j| j.config().poll_interval)
        .min()
        .unwrap_or(Duration::from_secs(300));
    let mut failures: u32 = 0;
    loop {
        let mut failed = false;
        if let Some(finesse) = &config.finesse {
            match sync_reason_codes_through(finesse, &delivery, &metrics, true).await {
                Ok(r) => {
                    tracing::info!(source = %r.source, codes = r.codes, inserted = r.hub.inserted, updated = r.hub.updated, "reason codes synced")
                }
                Err(e) => {
                    failed = true;
                    tracing::error!(error = %e, "reason-code sync failed; agent states are imported anyway");
                }
            }
        }
        for job in &jobs {
            let source = job.config().source_id.to_string();
            match job
                .incremental_states(OffsetDateTime::now_utc(), &|_| {})
                .await
            {
                Ok(reports) => {
                    let events: u64 = reports.iter().map(|r| r.events).sum();
                    let rows: u64 = reports.iter().map(|r| r.rows_read).sum();
                    tracing::info!(source = %source, windows = reports.len(), rows, events, "agent states imported");
                }
                Err(e) => {
                    failed = true;
                    tracing::error!(source = %source, error = %e, "agent-state import failed; its cursor did not move");
                }
            }
        }
        let wait = if failed {
            failures = failures.saturating_add(1);
            (Duration::from_secs(5) * 2u32.saturating_pow(failures.min(10) - 1)).min(poll)
        } else {
            failures = 0;
            poll
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Whether `run` should start [`run_loop`].
pub fn wanted(config: &ImporterConfig) -> bool {
    config.history.iter().any(|h| h.agent_states)
}

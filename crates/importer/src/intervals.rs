//! The `wfm-importer` commands for queue statistics: `sync intervals`, `backfill intervals`,
//! `repair intervals`, `import intervals`, and the periodic loop of `run`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;
use wfm_config::ImporterConfig;
use wfm_importer::delivery::Delivery;
use wfm_importer::history::{parse_instant, rfc3339, HistoryJob, Progress, WindowReport};
use wfm_importer::hub_client::HubClient;
use wfm_telemetry::Metrics;

/// Which range command.
pub enum RangeKind {
    /// `backfill intervals`.
    Backfill {
        /// Start over instead of resuming.
        restart: bool,
    },
    /// `repair intervals`.
    Repair,
}

fn jobs(
    config: &ImporterConfig,
    only: Option<&str>,
    metrics: &Metrics,
) -> Result<Vec<HistoryJob>, String> {
    select_jobs(
        config,
        only,
        metrics,
        |_| true,
        ("is configured", "docs/queue-statistics.md", ""),
    )
}

/// The [[history]] jobs that pass `keep` (only the source `only`, if given). `what` words the
/// errors: (what none of them is, the doc to read, the qualifier of a source id).
pub fn select_jobs(
    config: &ImporterConfig,
    only: Option<&str>,
    metrics: &Metrics,
    keep: impl Fn(&wfm_config::HistoryConfig) -> bool,
    what: (&str, &str, &str),
) -> Result<Vec<HistoryJob>, String> {
    let (none, doc, qualifier) = what;
    let enabled: Vec<&wfm_config::HistoryConfig> =
        config.history.iter().filter(|h| keep(h)).collect();
    if enabled.is_empty() {
        return Err(format!("no [[history]] source {none}; add one ({doc})"));
    }
    let hub = HubClient::new(&config.hub).map_err(|e| e.to_string())?;
    let list: Vec<HistoryJob> = enabled
        .iter()
        .filter(|h| only.is_none_or(|id| h.source_id.as_str() == id))
        .map(|h| {
            HistoryJob::new(
                (*h).clone(),
                hub.clone(),
                &config.importer.data_dir,
                metrics.clone(),
            )
        })
        .collect();
    if list.is_empty() {
        let ids: Vec<&str> = enabled.iter().map(|h| h.source_id.as_str()).collect();
        return Err(format!(
            "no [[history]] source '{}'{qualifier}; configured: {}",
            only.unwrap_or(""),
            ids.join(", ")
        ));
    }
    Ok(list)
}

/// Opens the outbox and starts the delivery service of a one-shot command.
pub(crate) async fn one_shot_delivery(config: &ImporterConfig) -> Result<Arc<Delivery>, String> {
    wfm_importer::delivery::start(config)
        .await
        .map_err(|e| e.to_string())
}

/// `jobs`, sending through `delivery` (waiting for every window when `wait`).
pub(crate) fn through(
    jobs: Vec<HistoryJob>,
    delivery: &Arc<Delivery>,
    wait: bool,
) -> Vec<HistoryJob> {
    jobs.into_iter()
        .map(|j| j.with_delivery(delivery.clone(), wait))
        .collect()
}

/// The jobs of a one-shot command with their delivery service.
async fn one_shot_jobs(
    config: &ImporterConfig,
    only: Option<&str>,
) -> Result<(Vec<HistoryJob>, Arc<Delivery>), String> {
    let list = jobs(config, only, &Metrics::new())?;
    let delivery = one_shot_delivery(config).await?;
    Ok((through(list, &delivery, true), delivery))
}

pub(crate) fn bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} windows, {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

pub(crate) fn on_progress(bar: &ProgressBar) -> impl Fn(Progress) + Sync + '_ {
    move |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(format!("{} rows", p.rows));
    }
}

fn summary(source: &str, reports: &[WindowReport]) {
    let rows: u64 = reports.iter().map(|r| r.rows_read).sum();
    let intervals: u64 = reports.iter().map(|r| r.intervals).sum();
    let (mut ins, mut upd, mut same, mut rem, mut newq) = (0, 0, 0, 0, 0);
    for r in reports {
        ins += r.hub.inserted;
        upd += r.hub.updated;
        same += r.hub.unchanged;
        rem += r.hub.removed;
        newq += r.hub.new_queues;
    }
    let skipped: usize = reports.iter().map(|r| r.skipped.len()).sum();
    let dups: usize = reports.iter().map(|r| r.duplicates.len()).sum();
    match (reports.first(), reports.last()) {
        (Some(first), Some(last)) => println!(
            "{source}: {} window(s) {} .. {}: {rows} rows read, {intervals} intervals sent: {ins} new, {upd} changed, {same} unchanged, {rem} removed; {newq} new queue(s)",
            reports.len(),
            rfc3339(first.window.from),
            rfc3339(last.window.to),
        ),
        _ => println!("{source}: nothing to do (no closed interval after the cursor)"),
    }
    if dups > 0 {
        println!("{source}: {dups} duplicated row(s) in the reporting database were counted once");
    }
    if skipped > 0 {
        println!("{source}: {skipped} bad row(s) left out (bad_rows = \"skip\"); see the log");
    }
}

/// `wfm-importer sync intervals`.
pub async fn sync(config: &ImporterConfig, only: Option<&str>) -> ExitCode {
    let (jobs, delivery) = match one_shot_jobs(config, only).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut failed = false;
    for job in &jobs {
        let source = job.config().source_id.to_string();
        let bar = bar(&source);
        let result = job
            .incremental(OffsetDateTime::now_utc(), &on_progress(&bar))
            .await;
        bar.finish_and_clear();
        match result {
            Ok(reports) => summary(&source, &reports),
            Err(e) => {
                eprintln!("error: {e}\n  (the cursor stays before the window that failed; the next run retries it)");
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

/// `wfm-importer backfill intervals` / `repair intervals`.
pub async fn range(
    config: &ImporterConfig,
    kind: RangeKind,
    from: &str,
    to: &str,
    only: Option<&str>,
) -> ExitCode {
    let (jobs, delivery) = match one_shot_jobs(config, only).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut failed = false;
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
        let bar = bar(&source);
        let progress = on_progress(&bar);
        let result = match kind {
            RangeKind::Backfill { restart } => job.backfill(f, t, restart, &progress).await,
            RangeKind::Repair => match job.repair(f, t, &progress).await {
                Ok((missing, reports)) => {
                    bar.finish_and_clear();
                    if missing.is_empty() {
                        println!(
                            "{source}: the hub has every interval of {} .. {}; nothing to repair",
                            rfc3339(f),
                            rfc3339(t)
                        );
                    } else {
                        for m in &missing {
                            println!("{source}: missing {} .. {}", rfc3339(m.from), rfc3339(m.to));
                        }
                    }
                    Ok(reports)
                }
                Err(e) => Err(e),
            },
        };
        bar.finish_and_clear();
        match result {
            Ok(reports) => {
                if !reports.is_empty() || matches!(kind, RangeKind::Backfill { .. }) {
                    summary(&source, &reports)
                }
            }
            Err(e) => {
                let hint = match kind {
                    RangeKind::Backfill { .. } => "run the same command again to resume after the last window that was delivered",
                    RangeKind::Repair => "run it again once the problem is fixed",
                };
                eprintln!("error: {e}\n  ({hint})");
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

/// `wfm-importer import intervals --csv`.
pub async fn import_csv(
    config: &ImporterConfig,
    file: &Path,
    source: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> ExitCode {
    let (jobs, delivery) = match one_shot_jobs(config, Some(source)).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let job = &jobs[0];
    let tz = job.config().time_zone.clone();
    let range = match (from, to) {
        (Some(f), Some(t)) => match (parse_instant(f, &tz), parse_instant(t, &tz)) {
            (Ok(f), Ok(t)) => Some((f, t)),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let bar = bar(source);
    let result = job.import_csv(file, range, &on_progress(&bar)).await;
    bar.finish_and_clear();
    delivery.shutdown().await;
    match result {
        Ok(reports) => {
            summary(source, &reports);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The periodic incremental import of one source, until `stop` turns true. A failure is retried
/// sooner (5 s doubling up to the poll interval).
pub async fn run_loop(job: HistoryJob, mut stop: tokio::sync::watch::Receiver<bool>) {
    let poll = job.config().poll_interval;
    let source = job.config().source_id.to_string();
    let mut failures: u32 = 0;
    loop {
        let wait = match job.incremental(OffsetDateTime::now_utc(), &|_| {}).await {
            Ok(reports) => {
                failures = 0;
                let intervals: u64 = reports.iter().map(|r| r.intervals).sum();
                let rows: u64 = reports.iter().map(|r| r.rows_read).sum();
                tracing::info!(source = %source, windows = reports.len(), rows, intervals, "queue statistics imported");
                poll
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::error!(source = %source, error = %e, "queue statistics import failed; the cursor did not move");
                (Duration::from_secs(5) * 2u32.saturating_pow(failures.min(10) - 1)).min(poll)
            }
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

/// Builds the loops of every [[history]] source for `run` (through the process's outbox; the
/// loops never wait for the hub).
pub fn loops(
    config: &ImporterConfig,
    metrics: &Metrics,
    delivery: &Arc<Delivery>,
) -> Result<Vec<HistoryJob>, String> {
    if config.history.is_empty() {
        return Ok(Vec::new());
    }
    Ok(through(jobs(config, None, metrics)?, delivery, false))
}

//! `wfm-importer`: pulls agents and teams from Cisco UCCX (+ CUCM e-mails) and pushes them to the
//! WFM hub. Exit codes: 0 success, 1 runtime failure, 2 usage, 3 refused by the safety limit,
//! 78 configuration error.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use wfm_config::{load_importer, ConfigError, ImporterConfig};
use wfm_importer::check::check_all;
use wfm_importer::report::{render, render_changes};
use wfm_importer::runtime::{run_loop, serve_metrics, Health};
use wfm_importer::{SyncJob, SyncOptions};
use wfm_telemetry::{init_logging, Metrics};

mod agent_states;
mod intervals;

const EXIT_REFUSED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "wfm-importer",
    version,
    about = "Feeds WFM software with contact-centre data from Cisco UCCX/CUCM"
)]
struct Cli {
    /// Path of importer.toml.
    #[arg(
        long,
        short,
        global = true,
        env = "WFM_IMPORTER_CONFIG",
        default_value = "importer.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check connectivity and credentials of every configured source and of the hub; changes nothing.
    Check,
    /// Run one sync now.
    Sync {
        #[command(subcommand)]
        what: SyncWhat,
    },
    /// Sync on the configured schedule until stopped (Ctrl-C / SIGTERM), serving /metrics on loopback.
    Run,
    /// Run only the live agent-state feeds ([[cti]]) until stopped (Ctrl-C / SIGTERM).
    Live,
    /// Re-import a past range of queue statistics, window by window, with progress; resumes an
    /// interrupted backfill of the same range; safe to re-run.
    Backfill {
        #[command(subcommand)]
        what: RangeWhat,
    },
    /// Ask the hub which intervals of a range are missing and import only those.
    Repair {
        #[command(subcommand)]
        what: RangeWhat,
    },
    /// Import queue statistics from a CSV export of UCCX call legs (columns: docs/queue-statistics.md).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Inspect and repair the outbox while no importer runs: status, list, replay, drop.
    Outbox {
        #[command(subcommand)]
        what: wfm_importer::outbox_cmd::OutboxCommand,
    },
}

#[derive(Subcommand)]
enum RangeWhat {
    /// Queue statistics (15/30-minute intervals) from the [[history]] sources.
    Intervals {
        /// Start: a date (local midnight in the source's time_zone) or an RFC 3339 instant.
        #[arg(long)]
        from: String,
        /// End (exclusive), same forms.
        #[arg(long)]
        to: String,
        /// Only this [[history]] source; default: every one.
        #[arg(long)]
        source: Option<String>,
        /// Backfill only: start over instead of resuming an interrupted run of the same range.
        #[arg(long)]
        restart: bool,
    },
    /// Agent state history from the [[history]] sources with agent_states = true (reason codes
    /// from [finesse] first). Backfill only.
    States {
        /// Start: a date (local midnight in the source's time_zone) or an RFC 3339 instant.
        #[arg(long)]
        from: String,
        /// End (exclusive), same forms.
        #[arg(long)]
        to: String,
        /// Only this [[history]] source; default: every one with agent_states = true.
        #[arg(long)]
        source: Option<String>,
        /// Start over instead of resuming an interrupted run of the same range.
        #[arg(long)]
        restart: bool,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Call legs from a CSV file → intervals of one [[history]] source (dialect uccx).
    Intervals {
        /// The CSV file.
        #[arg(long)]
        csv: PathBuf,
        /// The [[history]] source the figures belong to.
        #[arg(long)]
        source: String,
        /// Replace only this range (default: the file's range, widened to whole intervals).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// End of the range (exclusive).
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
enum SyncWhat {
    /// Agents, supervisors and teams → the hub's user directory.
    Users {
        /// Compute and show the plan; change nothing (the plan is recorded at the hub as a dry run).
        #[arg(long)]
        dry_run: bool,
        /// Apply even if the run disables more users than sync.max_disable_ratio allows.
        #[arg(long)]
        allow_mass_disable: bool,
        /// How many changed objects to print in detail (dry runs print 50 by default).
        #[arg(long)]
        show_changes: Option<usize>,
        /// Sync only this source (its `source_id`); default: every configured source, in turn.
        #[arg(long)]
        source: Option<String>,
    },
    /// Queue statistics: one incremental run of every [[history]] source (cursor minus the
    /// look-back up to the last closed interval).
    Intervals {
        /// Only this [[history]] source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Agent states: reason codes from [finesse] (if configured), then one incremental run of
    /// every [[history]] source with agent_states = true.
    States {
        /// Only this [[history]] source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Reason codes (Not Ready and Logout) from [finesse] → the hub, as one complete set.
    ReasonCodes,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_importer(&cli.config) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Check => check(&config).await,
            Command::Sync {
                what:
                    SyncWhat::Users {
                        dry_run,
                        allow_mass_disable,
                        show_changes,
                        source,
                    },
            } => {
                let options = SyncOptions {
                    dry_run,
                    allow_mass_disable,
                };
                let detail = show_changes.unwrap_or(if dry_run { 50 } else { 0 });
                sync_users(&config, options, detail, source.as_deref()).await
            }
            Command::Sync {
                what: SyncWhat::Intervals { source },
            } => intervals::sync(&config, source.as_deref()).await,
            Command::Sync {
                what: SyncWhat::States { source },
            } => agent_states::sync(&config, source.as_deref()).await,
            Command::Sync {
                what: SyncWhat::ReasonCodes,
            } => agent_states::sync_codes(&config).await,
            Command::Backfill {
                what:
                    RangeWhat::States {
                        from,
                        to,
                        source,
                        restart,
                    },
            } => agent_states::backfill(&config, &from, &to, source.as_deref(), restart).await,
            Command::Repair {
                what: RangeWhat::States { .. },
            } => {
                eprintln!("error: `repair states` does not exist: use `backfill states` for the range (every window replaces itself at the hub)");
                ExitCode::from(2)
            }
            Command::Outbox { what } => wfm_importer::outbox_cmd::main(&config, what),
            Command::Run => run(&config).await,
            Command::Live => live(&config).await,
            Command::Backfill {
                what:
                    RangeWhat::Intervals {
                        from,
                        to,
                        source,
                        restart,
                    },
            } => {
                intervals::range(
                    &config,
                    intervals::RangeKind::Backfill { restart },
                    &from,
                    &to,
                    source.as_deref(),
                )
                .await
            }
            Command::Repair {
                what:
                    RangeWhat::Intervals {
                        from,
                        to,
                        source,
                        restart: _,
                    },
            } => {
                intervals::range(
                    &config,
                    intervals::RangeKind::Repair,
                    &from,
                    &to,
                    source.as_deref(),
                )
                .await
            }
            Command::Import {
                what:
                    ImportWhat::Intervals {
                        csv,
                        source,
                        from,
                        to,
                    },
            } => {
                intervals::import_csv(&config, &csv, &source, from.as_deref(), to.as_deref()).await
            }
        }
    })
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(ConfigError::EXIT_CODE as u8)
}

async fn check(config: &ImporterConfig) -> ExitCode {
    let lines = check_all(config, &Metrics::new()).await;
    let mut ok = true;
    for line in &lines {
        let mark = if line.ok { "OK  " } else { "FAIL" };
        println!("{mark} {}: {}", line.component, line.detail);
        ok &= line.ok;
    }
    if ok {
        println!("all {} checks passed; nothing was changed", lines.len());
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn sync_users(
    config: &ImporterConfig,
    options: SyncOptions,
    detail: usize,
    only: Option<&str>,
) -> ExitCode {
    let job = match SyncJob::new(config, Metrics::new()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // A dry run changes nothing and needs no outbox; a real run goes through it.
    let delivery = if options.dry_run {
        None
    } else {
        match wfm_importer::delivery::start(config).await {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    };
    let job = match &delivery {
        Some(d) => job.with_delivery(d.clone(), false),
        None => job,
    };
    let results = match only {
        Some(id) => {
            let result = job.run_source(id, options).await;
            vec![(id.to_string(), result)]
        }
        None => job
            .run_all(options)
            .await
            .into_iter()
            .map(|(id, r)| (id.to_string(), r))
            .collect(),
    };
    let (mut failed, mut refused) = (false, false);
    for (i, (source, result)) in results.into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        let report = match result {
            Ok(r) => r,
            Err(e @ wfm_importer::ImporterError::Delivery(_)) => {
                eprintln!("error: sync of source '{source}': {e}");
                failed = true;
                continue;
            }
            Err(e) => {
                eprintln!("error: sync of source '{source}' failed, nothing was changed at the hub for it: {e}");
                failed = true;
                continue;
            }
        };
        refused |= report.refused;
        print_report(&job, &report, detail).await;
    }
    if let Some(d) = delivery {
        d.shutdown().await;
    }
    if failed {
        ExitCode::from(1)
    } else if refused {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn print_report(job: &SyncJob, report: &wfm_importer::SyncReport, detail: usize) {
    let run = &report.response.run;
    // Per-team detail needs the whole change log; fetch it when it is of a printable size.
    let changes = if run.change_count <= 5_000 {
        match job.hub().all_run_changes(&run.id).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change log for the per-team summary");
                None
            }
        }
    } else {
        None
    };
    print!("{}", render(report, changes.as_deref()));
    if changes.is_none() && run.change_count > 0 {
        println!(
            "  ({} changes: per-team detail at GET /api/v1/sync-runs/{}/changes)",
            run.change_count, run.id
        );
    }
    if detail > 0 {
        let list = changes.unwrap_or_else(|| report.response.changes.clone());
        println!("\nchanges:");
        print!("{}", render_changes(&list, detail));
    }
}

async fn run(config: &ImporterConfig) -> ExitCode {
    let metrics = Metrics::new();
    let metrics_for_history = metrics.clone();
    let health = Arc::new(Mutex::new(Health::default()));
    let job = match SyncJob::new(config, metrics.clone()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // One outbox and one delivery service for every flow of this process; batches left by an
    // earlier run are delivered first. (Outbox metrics hook: `delivery.outbox()`.)
    let delivery = match wfm_importer::delivery::start(config).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let job = job.with_delivery(delivery.clone(), true);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut metrics_stop = stop_rx.clone();
    wfm_importer::outbox_metrics::spawn(
        metrics_for_history.clone(),
        delivery.outbox().clone(),
        wfm_importer::outbox_metrics::REFRESH_EVERY,
        stop_rx.clone(),
    );
    match serve_metrics(
        config.importer.metrics_bind,
        metrics,
        health.clone(),
        async move {
            let _ = metrics_stop.changed().await;
        },
    )
    .await
    {
        Ok(addr) => {
            tracing::info!(%addr, "metrics and health at http://{addr}/metrics and /healthz")
        }
        Err(e) => {
            eprintln!(
                "error: cannot listen on importer.metrics_bind {}: {e}",
                config.importer.metrics_bind
            );
            return ExitCode::from(1);
        }
    }
    tracing::info!(
        interval_s = config.sync.interval.as_secs(),
        "periodic user sync started"
    );
    match intervals::loops(config, &metrics_for_history, &delivery) {
        Ok(list) => {
            for job in list {
                tracing::info!(source = %job.config().source_id, poll_s = job.config().poll_interval.as_secs(), "periodic queue-statistics import started");
                tokio::spawn(intervals::run_loop(job, stop_rx.clone()));
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let live_task = {
        let config = config.clone();
        let delivery = delivery.clone();
        let mut live_stop = stop_rx.clone();
        tokio::spawn(async move {
            wfm_importer::live::run_live_on(&config, delivery, async move {
                let _ = live_stop.changed().await;
            })
            .await
        })
    };
    if agent_states::wanted(config) {
        tracing::info!("periodic agent-state import started");
        tokio::spawn(agent_states::run_loop(
            config.clone(),
            metrics_for_history.clone(),
            delivery.clone(),
            stop_rx.clone(),
        ));
    }
    let mut loop_stop = stop_rx;
    let signal = async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };
    tokio::spawn(signal);
    run_loop(&job, config.sync.interval, health, async move {
        let _ = loop_stop.changed().await;
    })
    .await;
    let live = live_task.await;
    delivery.shutdown().await;
    if let Ok(Err(e)) = live {
        eprintln!("error: live feed: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

async fn live(config: &ImporterConfig) -> ExitCode {
    if config.cti.is_empty() {
        eprintln!("error: no [[cti]] source is configured");
        return ExitCode::from(ConfigError::EXIT_CODE as u8);
    }
    match wfm_importer::live::run_live(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: live feed: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! `wfm-hub retention show|set|purge` and the daily purge job of `serve` (docs/retention.md).
//!
//! The defaults of every project come from `hub.toml` `[retention]`; `set` stores per-project
//! overrides in the database; `purge` and the job remove what is older than each project's
//! effective policy ([`wfm_store::Store::purge_retention`], chunked and audited). Exit codes:
//! 0 done, 1 runtime failure or unknown project, 2 usage error, 78 configuration error.

use crate::admin::cli_projects::{audit_cli, cli_principal, with_store, EXIT_USAGE};
use crate::cli::EXIT_FAILURE;
use clap::Subcommand;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_config::hub::RetentionKeep;
use wfm_config::{HubConfig, RetentionConfig};
use wfm_model::ProjectId;
use wfm_store::retention::{
    Keep, ProjectPurge, PurgeOptions, RetentionKind, RetentionPolicy, MIN_KEEP,
};
use wfm_store::{Store, StoreError};

/// How often the job of `serve` purges (after its first run).
const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A `retention set` value: a keep, or `default` (remove the project's override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetValue {
    /// Store this keep for the project.
    Keep(Keep),
    /// Remove the override: the `[retention]` default applies again.
    Default,
}

/// Parses a `retention set` value: `90d`, `3y`, `12h`, `forever` or `default`; at least 1d.
pub fn parse_set_value(text: &str) -> Result<SetValue, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(SetValue::Default);
    }
    match RetentionKeep::parse(text)? {
        RetentionKeep::Forever => Ok(SetValue::Keep(Keep::Forever)),
        RetentionKeep::For(d) if d < MIN_KEEP => Err(format!(
            "'{text}' is shorter than 1d (the shortest retention)"
        )),
        RetentionKeep::For(d) => Ok(SetValue::Keep(Keep::For(d))),
    }
}

/// `wfm-hub retention …`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Print each project's effective policy (`default` = from `[retention]`, `project` = an
    /// override stored with `set`).
    Show {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// One JSON object per project and line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Override a project's retention per kind: a duration (`90d`, `3y`, `12h`), `forever`,
    /// or `default` to go back to `[retention]`. At least one kind.
    Set {
        /// The project.
        #[arg(long)]
        project: String,
        /// Agent state events, closed feed gaps, agents without events.
        #[arg(long, value_parser = parse_set_value)]
        agent_states: Option<SetValue>,
        /// Queue intervals (and the coverage before the cutoff, merged).
        #[arg(long, value_parser = parse_set_value)]
        intervals: Option<SetValue>,
        /// Identity sync runs and their change logs.
        #[arg(long, value_parser = parse_set_value)]
        sync_runs: Option<SetValue>,
        /// Idempotency records (keep them longer than any importer replay).
        #[arg(long, value_parser = parse_set_value)]
        idempotency: Option<SetValue>,
        /// Adherence schedules and exceptions.
        #[arg(long, value_parser = parse_set_value)]
        adherence: Option<SetValue>,
    },
    /// Remove the data older than each project's policy now (audited), printing per project
    /// and kind the cutoff and the rows removed.
    Purge {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// Count what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The `[retention]` defaults as a store policy.
pub fn defaults(config: &RetentionConfig) -> RetentionPolicy {
    let keep = |k: RetentionKeep| match k {
        RetentionKeep::Forever => Keep::Forever,
        RetentionKeep::For(d) => Keep::For(d),
    };
    RetentionPolicy {
        agent_states: keep(config.agent_states),
        intervals: keep(config.intervals),
        sync_runs: keep(config.sync_runs),
        idempotency: keep(config.idempotency),
        adherence: keep(config.adherence),
    }
}

/// Purges every project (or `only`) at `now`; answers each project's report or error, in
/// project order. One project's failure does not stop the others.
pub async fn purge_projects(
    store: &Store,
    config: &RetentionConfig,
    only: Option<&ProjectId>,
    now: OffsetDateTime,
    options: &PurgeOptions,
) -> Result<Vec<(String, Result<ProjectPurge, StoreError>)>, StoreError> {
    let projects = project_ids(store, only).await?;
    let defaults = defaults(config);
    let mut out = Vec::with_capacity(projects.len());
    for project in projects {
        let result = store
            .purge_retention(&project, &defaults, now, options)
            .await;
        out.push((project.to_string(), result));
    }
    Ok(out)
}

/// The projects to work on: `only` (which must exist) or all of them.
async fn project_ids(
    store: &Store,
    only: Option<&ProjectId>,
) -> Result<Vec<ProjectId>, StoreError> {
    if let Some(p) = only {
        if !store.project_exists(p).await? {
            return Err(StoreError::UnknownProject(p.to_string()));
        }
        return Ok(vec![p.clone()]);
    }
    let mut out = Vec::new();
    for row in store.projects().await? {
        match ProjectId::new(&row.id) {
            Ok(p) => out.push(p),
            Err(e) => tracing::warn!(project = %row.id, error = %e, "skipping a project id"),
        }
    }
    Ok(out)
}

/// Runs `wfm-hub retention …`.
pub fn run(config: &std::path::Path, command: RetentionCommand) -> i32 {
    with_store(config, |store, config| async move {
        match retention(&store, &config, command).await {
            Ok(()) => 0,
            Err(code) => code,
        }
    })
}

fn fail(e: StoreError) -> i32 {
    eprintln!("error: {e}");
    EXIT_FAILURE
}

fn parse_project(text: &str) -> Result<ProjectId, i32> {
    ProjectId::new(text).map_err(|e| {
        eprintln!("error: invalid project id '{text}': {e}");
        EXIT_USAGE
    })
}

async fn retention(
    store: &Store,
    config: &HubConfig,
    command: RetentionCommand,
) -> Result<(), i32> {
    match command {
        RetentionCommand::Show { project, json } => {
            let only = project.as_deref().map(parse_project).transpose()?;
            show(store, &config.retention, only.as_ref(), json).await
        }
        RetentionCommand::Set {
            project,
            agent_states,
            intervals,
            sync_runs,
            idempotency,
            adherence,
        } => {
            let p = parse_project(&project)?;
            let changes: Vec<(RetentionKind, SetValue)> = [
                (RetentionKind::AgentStates, agent_states),
                (RetentionKind::Intervals, intervals),
                (RetentionKind::SyncRuns, sync_runs),
                (RetentionKind::Idempotency, idempotency),
                (RetentionKind::Adherence, adherence),
            ]
            .into_iter()
            .filter_map(|(kind, value)| value.map(|v| (kind, v)))
            .collect();
            if changes.is_empty() {
                eprintln!(
                    "error: nothing to set: give at least one of --agent-states, --intervals, \
                     --sync-runs, --idempotency, --adherence"
                );
                return Err(EXIT_USAGE);
            }
            set(store, &p, &changes).await?;
            show(store, &config.retention, Some(&p), false).await
        }
        RetentionCommand::Purge { project, dry_run } => {
            let only = project.as_deref().map(parse_project).transpose()?;
            purge(store, &config.retention, only.as_ref(), dry_run).await
        }
    }
}

async fn set(
    store: &Store,
    p: &ProjectId,
    changes: &[(RetentionKind, SetValue)],
) -> Result<(), i32> {
    let now = OffsetDateTime::now_utc();
    let mut done = Vec::new();
    for (kind, value) in changes {
        let keep = match value {
            SetValue::Keep(k) => Some(*k),
            SetValue::Default => None,
        };
        if let Err(e) = store.set_retention(p, *kind, keep, now).await {
            let outcome = format!("failure:{}", e.error_type());
            let detail = format!("{} (failed at {kind})", done.join(" "));
            // The failure is reported either way; a second failure to record it adds nothing.
            let _ = audit_cli(store, Some(p.as_str()), "retention.set", &outcome, detail).await;
            return Err(fail(e));
        }
        let shown = match keep {
            Some(k) => k.to_string(),
            None => "default".to_string(),
        };
        done.push(format!("{kind}={shown}"));
    }
    audit_cli(
        store,
        Some(p.as_str()),
        "retention.set",
        "success",
        done.join(" "),
    )
    .await
}

async fn show(
    store: &Store,
    config: &RetentionConfig,
    only: Option<&ProjectId>,
    json: bool,
) -> Result<(), i32> {
    let projects = project_ids(store, only).await.map_err(fail)?;
    let defaults = defaults(config);
    if !json {
        println!("{:<24} {:<14} {:<10} FROM", "PROJECT", "KIND", "KEEP");
    }
    for p in projects {
        let policy = store
            .effective_retention(&p, &defaults)
            .await
            .map_err(fail)?;
        if json {
            let mut kinds = serde_json::Map::new();
            for e in &policy {
                let seconds = match e.keep {
                    Keep::Forever => serde_json::Value::Null,
                    Keep::For(d) => d.as_secs().into(),
                };
                kinds.insert(
                    e.kind.to_string(),
                    serde_json::json!({
                        "keep": e.keep.to_string(),
                        "keep_seconds": seconds,
                        "from": if e.from_project { "project" } else { "default" },
                    }),
                );
            }
            println!(
                "{}",
                serde_json::json!({ "project": p.as_str(), "policy": kinds })
            );
        } else {
            for e in &policy {
                let from = if e.from_project { "project" } else { "default" };
                println!(
                    "{:<24} {:<14} {:<10} {from}",
                    p.as_str(),
                    e.kind.as_str(),
                    e.keep.to_string()
                );
            }
        }
    }
    Ok(())
}

async fn purge(
    store: &Store,
    config: &RetentionConfig,
    only: Option<&ProjectId>,
    dry_run: bool,
) -> Result<(), i32> {
    let options = PurgeOptions {
        dry_run,
        chunk_rows: config.chunk_rows,
        principal: cli_principal(),
        source: "cli".to_string(),
        audit_empty: true,
    };
    let now = OffsetDateTime::now_utc();
    let results = purge_projects(store, config, only, now, &options)
        .await
        .map_err(fail)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut failed = false;
    for (project, result) in results {
        match result {
            Ok(report) => {
                for k in &report.kinds {
                    let Some(cutoff) = k.cutoff else {
                        println!("{project} {}: kept {}", k.kind, k.keep);
                        continue;
                    };
                    let tables: Vec<String> =
                        k.tables.iter().map(|(t, n)| format!("{t} {n}")).collect();
                    println!(
                        "{project} {} (keep {}): before {}: {verb} {} rows ({})",
                        k.kind,
                        k.keep,
                        format_cutoff(cutoff),
                        k.removed(),
                        tables.join(", ")
                    );
                }
                println!("{project}: {verb} {} rows in total", report.removed());
            }
            Err(e) => {
                eprintln!("error: project {project}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(EXIT_FAILURE);
    }
    Ok(())
}

fn format_cutoff(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The daily purge of `serve`: first `[retention] job_delay` after start, then every 24 h.
/// Logs what it removed; a failure is logged and retried the next day. Never panics. A no-op
/// task with `[retention] job = false`.
pub fn spawn_purge_job(store: Store, config: HubConfig) -> tokio::task::JoinHandle<()> {
    let retention = config.retention;
    if !retention.job {
        tracing::info!("retention purge job off ([retention] job = false)");
        return tokio::spawn(async {});
    }
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + retention.job_delay;
        let mut tick = tokio::time::interval_at(first, PURGE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let options = PurgeOptions {
            dry_run: false,
            chunk_rows: retention.chunk_rows,
            principal: "hub".to_string(),
            source: "hub".to_string(),
            audit_empty: false,
        };
        loop {
            tick.tick().await;
            purge_once(&store, &retention, &options).await;
        }
    })
}

/// One run of the job: every project, each logged.
async fn purge_once(store: &Store, config: &RetentionConfig, options: &PurgeOptions) {
    let now = OffsetDateTime::now_utc();
    let results = match purge_projects(store, config, None, now, options).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "retention purge failed; retrying tomorrow");
            return;
        }
    };
    for (project, result) in results {
        match result {
            Ok(report) if report.removed() == 0 => {
                tracing::debug!(%project, "retention purge: nothing to remove");
            }
            Ok(report) => tracing::info!(
                %project,
                removed = report.removed(),
                detail = %report.detail(),
                "retention purge"
            ),
            Err(e) => tracing::warn!(
                %project,
                error = %e,
                "retention purge of a project failed; retrying tomorrow"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_parse_durations_forever_and_default() {
        let day = Duration::from_secs(86_400);
        assert_eq!(
            parse_set_value("90d"),
            Ok(SetValue::Keep(Keep::For(90 * day)))
        );
        assert_eq!(
            parse_set_value("forever"),
            Ok(SetValue::Keep(Keep::Forever))
        );
        assert_eq!(parse_set_value("default"), Ok(SetValue::Default));
        assert!(parse_set_value("12h").is_err(), "shorter than a day");
        assert!(parse_set_value("ninety days").is_err());
    }
}

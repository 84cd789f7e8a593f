//! `wfm-hub audit verify|list|purge`.
//!
//! `verify` exits 0 when the chain from the anchor to the head is intact and 1 naming the first
//! bad entry (modified, removed or reordered). `list` prints entries (or JSON lines with
//! `--json`). `purge` removes the entries older than `[audit] retain` and records itself.

use super::cli_projects::{audit_cli, cli_principal, with_store};
use crate::cli::EXIT_FAILURE;
use clap::Subcommand;
use std::path::Path;
use time::OffsetDateTime;
use wfm_store::{AuditEvent, AuditFilter, Store};

/// `wfm-hub audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 0 when intact, 1 naming the first bad entry.
    Verify,
    /// Print audit entries, oldest first.
    List {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// Only entries at or after this date (`2026-01-31`) or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only this action (`auth`, `export`, `admin`, `token.issue`, `project.delete`, …).
        #[arg(long)]
        action: Option<String>,
        /// Only this outcome (`success`, `failure`, `denied`, or an exact `failure:<reason>`).
        #[arg(long)]
        outcome: Option<String>,
        /// At most this many (the newest). Default 1000.
        #[arg(long)]
        limit: Option<u64>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove the entries older than `[audit] retain` (the chain stays verifiable).
    Purge,
}

fn parse_since(text: &str) -> Result<OffsetDateTime, String> {
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text.trim(), &date_format) {
        return Ok(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).map_err(
        |_| format!("--since: cannot read '{text}': expected 2026-01-31 or an RFC 3339 time"),
    )
}

/// Removes the entries older than `retain` before `now` and records the purge; answers how
/// many were removed. Used by `wfm-hub audit purge` and the daily task of `serve`.
pub async fn purge(
    store: &Store,
    retain: std::time::Duration,
    now: OffsetDateTime,
    principal: &str,
) -> Result<u64, wfm_store::StoreError> {
    let retain = time::Duration::try_from(retain).unwrap_or(time::Duration::days(400));
    let event = AuditEvent {
        at: Some(now),
        project: None,
        principal: Some(principal.to_string()),
        source: Some(
            if principal.starts_with("cli") {
                "cli"
            } else {
                "hub"
            }
            .to_string(),
        ),
        action: "audit.purge".to_string(),
        outcome: "success".to_string(),
        detail: None,
    };
    store.purge_audit(now - retain, &event).await
}

/// Runs `wfm-hub audit …`.
pub fn run_audit(config: &Path, command: AuditCommand) -> i32 {
    with_store(config, |store, config| async move {
        match audit(&store, &config, command).await {
            Ok(()) => 0,
            Err(code) => code,
        }
    })
}

async fn audit(
    store: &Store,
    config: &wfm_config::HubConfig,
    command: AuditCommand,
) -> Result<(), i32> {
    let fail = |e: wfm_store::StoreError| {
        eprintln!("error: {e}");
        EXIT_FAILURE
    };
    match command {
        AuditCommand::Verify => {
            let report = store.verify_audit().await.map_err(fail)?;
            let outcome = match &report.problem {
                None => "success".to_string(),
                Some(_) => "failure:chain_broken".to_string(),
            };
            let detail = format!("checked {} entries", report.checked);
            // Recorded after the check, so the entry itself is not part of what was verified.
            audit_cli(store, None, "audit.verify", &outcome, detail).await?;
            match report.problem {
                None => {
                    println!(
                        "audit log OK: {} entries verified (anchor {}, head {})",
                        report.checked, report.anchor_seq, report.head_seq
                    );
                }
                Some(problem) => {
                    eprintln!("audit log BROKEN: {problem}");
                    return Err(EXIT_FAILURE);
                }
            }
        }
        AuditCommand::List {
            project,
            since,
            action,
            outcome,
            limit,
            json,
        } => {
            let since = match since.as_deref().map(parse_since).transpose() {
                Ok(s) => s,
                Err(message) => {
                    eprintln!("error: {message}");
                    return Err(super::cli_projects::EXIT_USAGE);
                }
            };
            let filter = AuditFilter {
                project: project.clone(),
                since,
                action,
                outcome,
                limit,
            };
            let entries = store.audit_entries(&filter).await.map_err(fail)?;
            audit_cli(
                store,
                project.as_deref(),
                "audit.list",
                "success",
                format!("{} entries", entries.len()),
            )
            .await?;
            if !json {
                println!(
                    "{:<8} {:<28} {:<14} {:<38} {:<22} {:<14} {:<28} DETAIL",
                    "SEQ", "AT", "PROJECT", "PRINCIPAL", "SOURCE", "ACTION", "OUTCOME"
                );
            }
            for e in entries {
                if json {
                    match serde_json::to_string(&e) {
                        Ok(line) => println!("{line}"),
                        Err(err) => {
                            eprintln!("error: cannot render entry {}: {err}", e.seq);
                            return Err(EXIT_FAILURE);
                        }
                    }
                } else {
                    println!(
                        "{:<8} {:<28} {:<14} {:<38} {:<22} {:<14} {:<28} {}",
                        e.seq,
                        e.at,
                        e.project.as_deref().unwrap_or("-"),
                        e.principal.as_deref().unwrap_or("-"),
                        e.source.as_deref().unwrap_or("-"),
                        e.action,
                        e.outcome,
                        e.detail.as_deref().unwrap_or("")
                    );
                }
            }
        }
        AuditCommand::Purge => {
            let now = OffsetDateTime::now_utc();
            let removed = purge(store, config.audit.retain, now, &cli_principal())
                .await
                .map_err(fail)?;
            println!(
                "removed {removed} audit entries older than {}",
                humanize(config.audit.retain)
            );
        }
    }
    Ok(())
}

fn humanize(d: std::time::Duration) -> String {
    let days = d.as_secs() / 86_400;
    if days * 86_400 == d.as_secs() {
        format!("{days}d")
    } else {
        format!("{}s", d.as_secs())
    }
}

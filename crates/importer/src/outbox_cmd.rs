//! `wfm-importer outbox status|list|replay|drop`: the operator's view of the outbox, opened
//! from `[outbox]` while no importer runs (the outbox directory lock lets one process in).
//!
//! This module owns the commands' arguments, the opening of the outbox from the config and
//! the rendering of what the outbox library reports; it must not change outbox state other
//! than through the library's `replay` and `drop_dead`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

mod render;

use clap::Subcommand;
use serde::Serialize;
use wfm_config::ImporterConfig;
use wfm_outbox::{BatchId, Outbox, OutboxConfig, OutboxError, OutboxKey, OutboxStats};

/// Exit code of a configuration error.
pub const EXIT_CONFIG: u8 = 78;
/// Exit code of a runtime failure (outbox in use, unreadable, batch not found).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code of a refused command line (`drop` without `--yes`).
pub const EXIT_USAGE: u8 = 2;

/// The `outbox` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OutboxCommand {
    /// Per source: received, delivered, buffered, dead-lettered (dropped), oldest pending age,
    /// last delivery; disk bytes vs budget; key encryptions vs bound; conservation check.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pending and dead-lettered batches (id, source, appended, attempts, bytes, reason).
    List {
        /// Only dead-lettered batches.
        #[arg(long)]
        dead: bool,
        /// Only batches of this outbox source (as shown by `status`).
        #[arg(long)]
        source: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put dead-lettered batches back in the delivery queue (at their original position).
    Replay {
        /// The batch id (from `list --dead`).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<u64>,
        /// Every dead-lettered batch.
        #[arg(long)]
        all_dead: bool,
    },
    /// Discard a dead-lettered batch for good (it stays counted as dead-lettered).
    Drop {
        /// The batch id (from `list --dead`).
        id: u64,
        /// Confirm: without it nothing is dropped.
        #[arg(long)]
        yes: bool,
    },
}

/// Why an outbox command failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxCmdError {
    /// `[outbox]` cannot work as configured (no key, unreadable key).
    #[error("{0}")]
    Config(String),
    /// Another process (normally a running importer) has the outbox open.
    #[error("{0}")]
    InUse(String),
    /// The batch is not in the state the command needs.
    #[error("{0}")]
    Batch(String),
    /// The outbox library refused.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

impl OutboxCmdError {
    /// 78 for configuration problems (including a key that does not fit the directory), 1 for
    /// everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            OutboxCmdError::Config(_) => EXIT_CONFIG,
            OutboxCmdError::Outbox(OutboxError::WrongKey { .. } | OutboxError::Invalid { .. }) => {
                EXIT_CONFIG
            }
            OutboxCmdError::InUse(_) | OutboxCmdError::Batch(_) | OutboxCmdError::Outbox(_) => {
                EXIT_RUNTIME
            }
        }
    }
}

/// `[outbox] dir`, default `<importer.data_dir>/outbox`.
pub fn outbox_dir(config: &ImporterConfig) -> PathBuf {
    config
        .outbox
        .dir
        .clone()
        .unwrap_or_else(|| config.importer.data_dir.join("outbox"))
}

/// The outbox configuration of `[outbox]`, resolved as the importer resolves it: directory
/// default `<data_dir>/outbox`; key from `key` (hex), else `key_file`, else
/// `<data_dir>/outbox.key` (never created here: without a key there is nothing to read);
/// budget `max_mib` (segments a quarter of it, at least 1 MiB, at most the default).
pub fn outbox_config(config: &ImporterConfig) -> Result<OutboxConfig, OutboxCmdError> {
    let o = &config.outbox;
    let key = if let Some(hex) = &o.key {
        OutboxKey::from_hex(hex.expose())?
    } else {
        let path = o
            .key_file
            .clone()
            .unwrap_or_else(|| config.importer.data_dir.join("outbox.key"));
        if !path.exists() {
            return Err(OutboxCmdError::Config(format!(
                "no outbox key: {} does not exist (set [outbox] key_file or key to the key the importer uses)",
                path.display()
            )));
        }
        OutboxKey::from_file(&path)?
    };
    let mut cfg = OutboxConfig::new(outbox_dir(config), key);
    if let Some(mib) = o.max_mib {
        cfg.max_bytes = mib.saturating_mul(1024 * 1024);
        cfg.segment_bytes = cfg.segment_bytes.min(cfg.max_bytes / 4).max(1024 * 1024);
    }
    Ok(cfg)
}

/// Opens the configured outbox for a command; a directory in use names the running importer
/// and points to its `/metrics`.
pub fn open(config: &ImporterConfig) -> Result<Outbox, OutboxCmdError> {
    let cfg = outbox_config(config)?;
    match Outbox::open(cfg) {
        Ok((outbox, _)) => Ok(outbox),
        Err(e @ OutboxError::Locked { .. }) => Err(OutboxCmdError::InUse(format!(
            "{e}; its outbox figures are at http://{}/metrics (wfm_importer_outbox_*)",
            config.importer.metrics_bind
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Runs one `outbox` command, printing to stdout/stderr; returns the exit code.
pub fn main(config: &ImporterConfig, command: OutboxCommand) -> ExitCode {
    match execute(config, command) {
        Ok(out) => {
            print!("{}", out.stdout);
            ExitCode::from(out.code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What a command printed and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// The text for stdout.
    pub stdout: String,
    /// The exit code.
    pub code: u8,
}

fn ok(stdout: String) -> Result<CmdOutput, OutboxCmdError> {
    Ok(CmdOutput { stdout, code: 0 })
}

/// Runs one `outbox` command and returns its output.
pub fn execute(
    config: &ImporterConfig,
    command: OutboxCommand,
) -> Result<CmdOutput, OutboxCmdError> {
    let dir = outbox_dir(config);
    if !has_segments(&dir) {
        return match command {
            OutboxCommand::Status { .. } | OutboxCommand::List { .. } => ok(format!(
                "no outbox at {} yet: nothing has been buffered\n",
                dir.display()
            )),
            OutboxCommand::Replay { .. } | OutboxCommand::Drop { .. } => {
                Err(OutboxCmdError::Batch(format!(
                    "no outbox at {}: nothing to replay or drop",
                    dir.display()
                )))
            }
        };
    }
    let outbox = open(config)?;
    match command {
        OutboxCommand::Status { json } => {
            let stats = outbox.stats();
            if json {
                ok(json_line(&status_json(&outbox, &stats))?)
            } else {
                ok(render::status_text(outbox.dir(), &stats))
            }
        }
        OutboxCommand::List { dead, source, json } => {
            let rows = list_rows(&outbox, dead, source.as_deref());
            if json {
                ok(json_line(&rows)?)
            } else {
                ok(render::list_text(&rows))
            }
        }
        OutboxCommand::Replay { id, all_dead } => replay(&outbox, id, all_dead),
        OutboxCommand::Drop { id, yes } => drop_dead(&outbox, id, yes),
    }
}

/// Whether `dir` holds segment files (opening an outbox creates one; the commands do not
/// create an outbox where there is none).
fn has_segments(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name.starts_with("seg-") && name.ends_with(".log")
    })
}

fn json_line<T: Serialize>(value: &T) -> Result<String, OutboxCmdError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| OutboxCmdError::Config(format!("cannot render JSON: {e}")))?;
    Ok(format!("{text}\n"))
}

fn replay(outbox: &Outbox, id: Option<u64>, all_dead: bool) -> Result<CmdOutput, OutboxCmdError> {
    let dead = outbox.dead_letters();
    let ids: Vec<BatchId> = match id {
        Some(id) => {
            let id = BatchId(id);
            if !dead.iter().any(|d| d.meta.id == id) {
                return Err(not_dead(outbox, id));
            }
            vec![id]
        }
        None if all_dead => dead.iter().map(|d| d.meta.id).collect(),
        None => Vec::new(),
    };
    let mut out = String::new();
    for id in &ids {
        outbox.replay(*id)?;
        out.push_str(&format!("batch {id}: back in the delivery queue\n"));
    }
    out.push_str(&format!(
        "{} batch(es) replayed; the importer delivers them when it next runs\n",
        ids.len()
    ));
    ok(out)
}

fn drop_dead(outbox: &Outbox, id: u64, yes: bool) -> Result<CmdOutput, OutboxCmdError> {
    let id = BatchId(id);
    let dead = outbox.dead_letters();
    let Some(letter) = dead.iter().find(|d| d.meta.id == id) else {
        return Err(not_dead(outbox, id));
    };
    if !yes {
        return Ok(CmdOutput {
            stdout: format!(
                "would drop dead-lettered batch {id} of {} ({} bytes, reason: {}); nothing was changed: re-run with --yes to drop it for good\n",
                letter.meta.source, letter.meta.payload_bytes, letter.reason
            ),
            code: EXIT_USAGE,
        });
    }
    outbox.drop_dead(id)?;
    ok(format!(
        "batch {id} of {} dropped (still counted as dead-lettered)\n",
        letter.meta.source
    ))
}

fn not_dead(outbox: &Outbox, id: BatchId) -> OutboxCmdError {
    let pending = outbox
        .stats()
        .sources
        .keys()
        .any(|s| outbox.pending(s, usize::MAX).iter().any(|m| m.id == id));
    let what = if pending {
        format!("batch {id} is pending, not dead-lettered: only dead letters can be replayed or dropped")
    } else {
        format!("batch {id} is not in the outbox (delivered, dropped or never appended): see `wfm-importer outbox list --dead`")
    };
    OutboxCmdError::Batch(what)
}

/// One row of `outbox list`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListRow {
    /// Batch id.
    pub id: u64,
    /// Outbox source name.
    pub source: String,
    /// `pending` or `dead`.
    pub state: &'static str,
    /// Append time, RFC 3339 UTC.
    pub appended: String,
    /// Delivery attempts recorded.
    pub attempts: u32,
    /// Payload bytes.
    pub bytes: u64,
    /// Dead-letter reason (dead letters only).
    pub reason: Option<String>,
}

/// The rows of `outbox list`, pending batches first (per source, oldest first), then dead
/// letters (oldest first).
pub fn list_rows(outbox: &Outbox, dead_only: bool, source: Option<&str>) -> Vec<ListRow> {
    let mut rows = Vec::new();
    if !dead_only {
        for name in outbox.stats().sources.keys() {
            if source.is_some_and(|s| s != name) {
                continue;
            }
            for m in outbox.pending(name, usize::MAX) {
                rows.push(ListRow {
                    id: m.id.0,
                    source: m.source,
                    state: "pending",
                    appended: rfc3339(m.appended_at),
                    attempts: m.attempts,
                    bytes: m.payload_bytes,
                    reason: None,
                });
            }
        }
    }
    for d in outbox.dead_letters() {
        if source.is_some_and(|s| s != d.meta.source) {
            continue;
        }
        rows.push(ListRow {
            id: d.meta.id.0,
            source: d.meta.source,
            state: "dead",
            appended: rfc3339(d.meta.appended_at),
            attempts: d.meta.attempts,
            bytes: d.meta.payload_bytes,
            reason: Some(d.reason),
        });
    }
    rows
}

/// `outbox status --json`: one object per source plus the totals.
#[derive(Debug, Clone, Serialize)]
pub struct StatusJson {
    /// The outbox directory.
    pub dir: String,
    /// Per source.
    pub sources: Vec<SourceJson>,
    /// Bytes of all segment files.
    pub disk_bytes: u64,
    /// The disk budget.
    pub max_bytes: u64,
    /// Segment files.
    pub segments: usize,
    /// Encryptions done with the key.
    pub encryptions: u64,
    /// The encryption bound of the key.
    pub encryption_limit: u64,
    /// True when conservation holds for every source.
    pub conservation_ok: bool,
}

/// One source in `outbox status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceJson {
    /// Outbox source name.
    pub source: String,
    /// Batches ever appended.
    pub received: u64,
    /// Batches acked.
    pub delivered: u64,
    /// Batches pending.
    pub buffered: u64,
    /// Batches dead-lettered (kept + dropped).
    pub dead_lettered: u64,
    /// Of those, dropped by an operator.
    pub dropped: u64,
    /// Age of the oldest pending batch, seconds.
    pub oldest_pending_age_seconds: Option<u64>,
    /// Last delivery, RFC 3339 UTC.
    pub last_delivered: Option<String>,
    /// Bytes of its pending and dead-lettered records.
    pub bytes: u64,
    /// received = delivered + buffered + dead_lettered.
    pub conservation_ok: bool,
}

fn status_json(outbox: &Outbox, stats: &OutboxStats) -> StatusJson {
    let sources: Vec<SourceJson> = stats
        .sources
        .iter()
        .map(|(name, s)| SourceJson {
            source: name.clone(),
            received: s.received,
            delivered: s.delivered,
            buffered: s.buffered,
            dead_lettered: s.dead_lettered,
            dropped: s.dead_dropped,
            oldest_pending_age_seconds: s.oldest_pending_age.map(|d| d.as_secs()),
            last_delivered: s.last_delivered.map(rfc3339),
            bytes: s.bytes,
            conservation_ok: conserved(s),
        })
        .collect();
    StatusJson {
        dir: outbox.dir().display().to_string(),
        conservation_ok: sources.iter().all(|s| s.conservation_ok),
        sources,
        disk_bytes: stats.disk_bytes,
        max_bytes: stats.max_bytes,
        segments: stats.segments,
        encryptions: stats.encryptions,
        encryption_limit: stats.encryption_limit,
    }
}

/// received = delivered + buffered + dead_lettered.
pub fn conserved(s: &wfm_outbox::SourceStats) -> bool {
    s.delivered
        .checked_add(s.buffered)
        .and_then(|n| n.checked_add(s.dead_lettered))
        == Some(s.received)
}

/// RFC 3339 UTC, whole seconds.
pub fn rfc3339(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.round(jiff::Unit::Second).unwrap_or(ts).to_string(),
        Err(_) => "?".to_string(),
    }
}

/// `1h02m`, `3m05s`, `12s`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

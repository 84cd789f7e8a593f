//! Per-project retention: how long each kind of data is kept ([`RetentionPolicy`], the
//! defaults of `hub.toml` `[retention]`, overridden per project in `retention_policies`), and
//! the purge of what is older ([`Store::purge_retention`]).
//!
//! The purge deletes in bounded chunks (one short statement — its own transaction — per
//! `chunk_rows` rows, logged), every statement scoped by project, and records itself in the
//! audit log. What each kind covers (docs/retention.md):
//! - `agent_states`: `agent_state_events` older than the cutoff (event time), closed
//!   `feed_gaps` that ended before it, and `state_agents` rows (first seen before it) left with
//!   no event.
//! - `intervals`: `intervals` starting before the cutoff; the `interval_coverage` ranges that
//!   start before it are merged into one, so covered time never turns missing (an importer
//!   would otherwise backfill what was just purged). `interval_queues` are kept.
//! - `sync_runs`: runs started before the cutoff and their `sync_run_changes`.
//! - `idempotency`: `idempotency_keys` created before the cutoff.
//! - `adherence`: `schedules` and `adherence_exceptions` that ended before the cutoff.

mod purge;

use crate::common::{format_time, to_i64, to_u64};
use crate::error::StoreError;
use crate::{Db, Store};
use std::time::Duration;
use time::OffsetDateTime;
use wfm_model::ProjectId;

/// The shortest keep accepted (shorter ones are skipped by the purge).
pub const MIN_KEEP: Duration = Duration::from_secs(86_400);

/// Rows per delete statement when the caller has no setting.
pub const DEFAULT_CHUNK_ROWS: u64 = 10_000;

/// One kind of data with its own retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RetentionKind {
    /// Agent state events, feed gaps, agents without events.
    AgentStates,
    /// Queue intervals and their coverage.
    Intervals,
    /// Sync runs and their change logs.
    SyncRuns,
    /// Idempotency records.
    Idempotency,
    /// Adherence schedules and exceptions.
    Adherence,
}

impl RetentionKind {
    /// Every kind, in display order.
    pub const ALL: [RetentionKind; 5] = [
        RetentionKind::AgentStates,
        RetentionKind::Intervals,
        RetentionKind::SyncRuns,
        RetentionKind::Idempotency,
        RetentionKind::Adherence,
    ];

    /// The name in `hub.toml`, the database and the audit detail (`agent_states`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionKind::AgentStates => "agent_states",
            RetentionKind::Intervals => "intervals",
            RetentionKind::SyncRuns => "sync_runs",
            RetentionKind::Idempotency => "idempotency",
            RetentionKind::Adherence => "adherence",
        }
    }

    /// The kind named `name` (as [`RetentionKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<RetentionKind> {
        RetentionKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for RetentionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long one kind is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Never purged.
    Forever,
    /// Purged once older than this (at least [`MIN_KEEP`]).
    For(Duration),
}

impl Keep {
    /// The instant before which data is purged; `None` for forever (or a keep reaching past
    /// the start of time).
    pub fn cutoff(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let Keep::For(d) = self else { return None };
        let d = time::Duration::try_from(d).ok()?;
        now.checked_sub(d)
    }
}

impl std::fmt::Display for Keep {
    /// `forever`, `3y`, `90d`, `36h` or `3600s` (the largest unit that divides it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Keep::For(d) = self else {
            return f.write_str("forever");
        };
        let s = d.as_secs();
        // humantime's year (`3y`): 365.25 days.
        if s > 0 && s % 31_557_600 == 0 {
            write!(f, "{}y", s / 31_557_600)
        } else if s > 0 && s % 86_400 == 0 {
            write!(f, "{}d", s / 86_400)
        } else if s > 0 && s % 3_600 == 0 {
            write!(f, "{}h", s / 3_600)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// A keep per kind (the `[retention]` defaults, or a project's effective policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `agent_states`.
    pub agent_states: Keep,
    /// `intervals`.
    pub intervals: Keep,
    /// `sync_runs`.
    pub sync_runs: Keep,
    /// `idempotency`.
    pub idempotency: Keep,
    /// `adherence`.
    pub adherence: Keep,
}

impl RetentionPolicy {
    /// The same keep for every kind.
    pub fn uniform(keep: Keep) -> RetentionPolicy {
        RetentionPolicy {
            agent_states: keep,
            intervals: keep,
            sync_runs: keep,
            idempotency: keep,
            adherence: keep,
        }
    }

    /// The keep of `kind`.
    pub fn get(&self, kind: RetentionKind) -> Keep {
        match kind {
            RetentionKind::AgentStates => self.agent_states,
            RetentionKind::Intervals => self.intervals,
            RetentionKind::SyncRuns => self.sync_runs,
            RetentionKind::Idempotency => self.idempotency,
            RetentionKind::Adherence => self.adherence,
        }
    }
}

/// One kind of a project's effective policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveKeep {
    /// The kind.
    pub kind: RetentionKind,
    /// How long it is kept.
    pub keep: Keep,
    /// True when the project overrides the default (`retention_policies`), false when the
    /// `[retention]` default applies.
    pub from_project: bool,
}

/// What the purge should do besides deleting.
#[derive(Debug, Clone)]
pub struct PurgeOptions {
    /// Only count what would be removed; delete nothing.
    pub dry_run: bool,
    /// Rows per delete statement (at least 1).
    pub chunk_rows: u64,
    /// Who purges, for the audit entry (`cli:<user>`, `hub`).
    pub principal: String,
    /// Where from, for the audit entry (`cli`, `hub`).
    pub source: String,
    /// Record the purge even when it removed nothing (the CLI: an admin action; the daily job
    /// records only purges that removed rows). Dry runs are recorded as `retention.dry_run`.
    pub audit_empty: bool,
}

/// What the purge of one kind removed (or would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindPurge {
    /// The kind.
    pub kind: RetentionKind,
    /// The keep applied.
    pub keep: Keep,
    /// Data older than this was purged; `None` for forever.
    pub cutoff: Option<OffsetDateTime>,
    /// Rows per table, in purge order.
    pub tables: Vec<(&'static str, u64)>,
}

impl KindPurge {
    /// Rows of every table together.
    pub fn removed(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// What [`Store::purge_retention`] did for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPurge {
    /// The project.
    pub project: String,
    /// True when nothing was deleted (counts are what would be removed).
    pub dry_run: bool,
    /// Every kind, in [`RetentionKind::ALL`] order.
    pub kinds: Vec<KindPurge>,
}

impl ProjectPurge {
    /// Rows of every kind together.
    pub fn removed(&self) -> u64 {
        self.kinds.iter().map(KindPurge::removed).sum()
    }

    /// The audit detail: `agent_states before 2026-…Z: 12 (agent_state_events 10, …); …`.
    pub fn detail(&self) -> String {
        let mut parts = Vec::new();
        for k in &self.kinds {
            let Some(cutoff) = k.cutoff else {
                parts.push(format!("{} kept {}", k.kind, k.keep));
                continue;
            };
            let tables: Vec<String> = k.tables.iter().map(|(t, n)| format!("{t} {n}")).collect();
            parts.push(format!(
                "{} ({}) before {}: {} ({})",
                k.kind,
                k.keep,
                format_time(cutoff),
                k.removed(),
                tables.join(", ")
            ));
        }
        parts.join("; ")
    }
}

impl Store {
    /// The stored per-project overrides of one project (or of all), ordered by project and
    /// kind: `(project, kind, keep)`. Rows of unknown kinds are skipped.
    pub async fn retention_overrides(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<(String, RetentionKind, Keep)>, StoreError> {
        let sql = "SELECT project, kind, keep_seconds FROM retention_policies \
                   WHERE ($1 IS NULL OR project = $1) ORDER BY project, kind";
        let p = project.map(|p| p.as_str().to_string());
        let rows: Vec<(String, String, Option<i64>)> = match &self.db {
            Db::Sqlite(pool) => sqlx::query_as(sql).bind(&p).fetch_all(pool).await?,
            Db::Postgres(pool) => sqlx::query_as(sql).bind(&p).fetch_all(pool).await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for (project, kind, seconds) in rows {
            let Some(kind) = RetentionKind::parse(&kind) else {
                tracing::warn!(%project, %kind, "unknown retention kind in retention_policies");
                continue;
            };
            let keep = match seconds {
                None => Keep::Forever,
                Some(s) => Keep::For(Duration::from_secs(to_u64(s))),
            };
            out.push((project, kind, keep));
        }
        Ok(out)
    }

    /// The project's policy: each kind's override, or the default. The project must exist
    /// ([`StoreError::UnknownProject`]).
    pub async fn effective_retention(
        &self,
        project: &ProjectId,
        defaults: &RetentionPolicy,
    ) -> Result<Vec<EffectiveKeep>, StoreError> {
        if !self.project_exists(project).await? {
            return Err(StoreError::UnknownProject(project.to_string()));
        }
        let overrides = self.retention_overrides(Some(project)).await?;
        let out = RetentionKind::ALL
            .into_iter()
            .map(|kind| match overrides.iter().find(|(_, k, _)| *k == kind) {
                Some((_, _, keep)) => EffectiveKeep {
                    kind,
                    keep: *keep,
                    from_project: true,
                },
                None => EffectiveKeep {
                    kind,
                    keep: defaults.get(kind),
                    from_project: false,
                },
            })
            .collect();
        Ok(out)
    }

    /// Stores the project's override of `kind` (`Some`), or removes it (`None`: the default
    /// applies again). Callers check [`MIN_KEEP`]. Errors: [`StoreError::UnknownProject`].
    pub async fn set_retention(
        &self,
        project: &ProjectId,
        kind: RetentionKind,
        keep: Option<Keep>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if !self.project_exists(project).await? {
            return Err(StoreError::UnknownProject(project.to_string()));
        }
        let stamp = format_time(now);
        let p = project.as_str();
        let k = kind.as_str();
        let Some(keep) = keep else {
            let sql = "DELETE FROM retention_policies WHERE project = $1 AND kind = $2";
            match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query(sql).bind(p).bind(k).execute(pool).await?;
                }
                Db::Postgres(pool) => {
                    sqlx::query(sql).bind(p).bind(k).execute(pool).await?;
                }
            }
            return Ok(());
        };
        let seconds = match keep {
            Keep::Forever => None,
            Keep::For(d) => Some(to_i64(d.as_secs())),
        };
        let sql = "INSERT INTO retention_policies (project, kind, keep_seconds, updated_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (project, kind) DO UPDATE SET \
                   keep_seconds = excluded.keep_seconds, updated_at = excluded.updated_at";
        match &self.db {
            Db::Sqlite(pool) => {
                let q = sqlx::query(sql).bind(p).bind(k).bind(seconds).bind(&stamp);
                q.execute(pool).await?;
            }
            Db::Postgres(pool) => {
                let q = sqlx::query(sql).bind(p).bind(k).bind(seconds).bind(&stamp);
                q.execute(pool).await?;
            }
        };
        Ok(())
    }
}

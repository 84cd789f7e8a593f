//! The purge: each kind's tables in chunks of `chunk_rows` rows per statement (by `rowid` on
//! SQLite, `ctid` on PostgreSQL), the coverage merge, and the audit entry.

use super::{
    Keep, KindPurge, ProjectPurge, PurgeOptions, RetentionKind, RetentionPolicy, MIN_KEEP,
};
use crate::audit::AuditEvent;
use crate::common::{format_time, to_i64, to_u64};
use crate::error::StoreError;
use crate::intervals::to_ms;
use crate::{Db, Store};
use time::OffsetDateTime;
use wfm_model::ProjectId;

/// A bound value of a purge statement.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

/// One table's purge: `cond` selects the rows to remove (`$1` is the project; more `args`
/// follow), `count_cond` the rows a dry run counts (default `cond`).
struct Target {
    table: &'static str,
    cond: &'static str,
    count_cond: Option<&'static str>,
    args: Vec<Arg>,
}

macro_rules! bind_all {
    ($query:expr, $project:expr, $args:expr) => {{
        let mut q = $query.bind($project);
        for arg in $args {
            q = match arg {
                Arg::Text(t) => q.bind(t.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// Inside transaction `$tx`: replaces the source's coverage rows starting before the cutoff
/// by one range from the first start to the furthest end; answers the rows removed.
macro_rules! merge_coverage_in {
    ($tx:ident, $project:expr, $source:expr, $cutoff:expr) => {{
        let span: (Option<i64>, Option<i64>, i64) = sqlx::query_as(
            "SELECT MIN(from_ms), MAX(to_ms), COUNT(*) FROM interval_coverage \
             WHERE project_id = $1 AND source = $2 AND from_ms < $3",
        )
        .bind($project)
        .bind($source)
        .bind($cutoff)
        .fetch_one(&mut *$tx)
        .await?;
        match span {
            (Some(from), Some(to), rows) if rows >= 2 => {
                sqlx::query(
                    "DELETE FROM interval_coverage \
                     WHERE project_id = $1 AND source = $2 AND from_ms < $3",
                )
                .bind($project)
                .bind($source)
                .bind($cutoff)
                .execute(&mut *$tx)
                .await?;
                sqlx::query(
                    "INSERT INTO interval_coverage (project_id, source, from_ms, to_ms) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind($project)
                .bind($source)
                .bind(from)
                .bind(to)
                .execute(&mut *$tx)
                .await?;
                to_u64(rows - 1)
            }
            _ => 0,
        }
    }};
}

impl Store {
    /// Purges the project's data older than its effective policy (overrides over `defaults`)
    /// at `now`, kind by kind, in chunks of `options.chunk_rows` rows (each its own statement
    /// and transaction; progress is logged), and records an audit entry `retention.purge`
    /// (`retention.dry_run` for a dry run) naming each kind's cutoff and row counts — when
    /// rows were removed, or always with `options.audit_empty`.
    ///
    /// A failure part-way leaves the chunks already removed removed (each is consistent on
    /// its own), records a `failure:<type>` entry with the counts so far, and answers the
    /// error; the next purge continues. Errors: [`StoreError::UnknownProject`],
    /// [`StoreError::Database`].
    pub async fn purge_retention(
        &self,
        project: &ProjectId,
        defaults: &RetentionPolicy,
        now: OffsetDateTime,
        options: &PurgeOptions,
    ) -> Result<ProjectPurge, StoreError> {
        let policy = self.effective_retention(project, defaults).await?;
        let mut report = ProjectPurge {
            project: project.to_string(),
            dry_run: options.dry_run,
            kinds: Vec::new(),
        };
        let mut failure = None;
        for effective in &policy {
            let mut keep = effective.keep;
            if matches!(keep, Keep::For(d) if d < MIN_KEEP) {
                tracing::warn!(project = %project, kind = %effective.kind, keep = %keep,
                    "retention shorter than 1d ignored: keeping forever");
                keep = Keep::Forever;
            }
            let cutoff = keep.cutoff(now);
            let mut kind = KindPurge {
                kind: effective.kind,
                keep,
                cutoff,
                tables: Vec::new(),
            };
            if let Some(cutoff) = cutoff {
                let result = self.purge_kind(project, &mut kind, cutoff, options).await;
                if let Err(e) = result {
                    failure = Some(e);
                }
            }
            report.kinds.push(kind);
            if failure.is_some() {
                break;
            }
        }
        let removed = report.removed();
        if removed > 0 || options.audit_empty || failure.is_some() {
            let outcome = match &failure {
                None => "success".to_string(),
                Some(e) => format!("failure:{}", e.error_type()),
            };
            let event = AuditEvent {
                at: Some(now),
                project: Some(project.to_string()),
                principal: Some(options.principal.clone()),
                source: Some(options.source.clone()),
                action: if options.dry_run {
                    "retention.dry_run"
                } else {
                    "retention.purge"
                }
                .to_string(),
                outcome,
                detail: Some(report.detail()),
            };
            self.append_audit(&event).await?;
        }
        match failure {
            None => Ok(report),
            Some(e) => Err(e),
        }
    }

    /// Purges (or counts) one kind, adding each table's count to `kind.tables` as it goes.
    async fn purge_kind(
        &self,
        project: &ProjectId,
        kind: &mut KindPurge,
        cutoff: OffsetDateTime,
        options: &PurgeOptions,
    ) -> Result<(), StoreError> {
        let ms = to_ms(cutoff);
        let stamp = format_time(cutoff);
        if kind.kind == RetentionKind::Intervals {
            let targets = [Target {
                table: "intervals",
                cond: "project_id = $1 AND start_ms < $2",
                count_cond: None,
                args: vec![Arg::Int(ms)],
            }];
            self.purge_targets(project, kind, &targets, options).await?;
            let merged = self.merge_coverage(project, ms, options.dry_run).await?;
            kind.tables.push(("interval_coverage", merged));
            return Ok(());
        }
        let targets = match kind.kind {
            RetentionKind::AgentStates => {
                let mut targets = Vec::new();
                // Per source: the (project_id, source, at_ms) index serves each range.
                for source in self.state_sources(project).await? {
                    targets.push(Target {
                        table: "agent_state_events",
                        cond: "project_id = $1 AND source = $2 AND at_ms < $3",
                        count_cond: None,
                        args: vec![Arg::Text(source), Arg::Int(ms)],
                    });
                }
                targets.push(Target {
                    table: "feed_gaps",
                    cond: "project_id = $1 AND from_ms < $2 AND to_ms IS NOT NULL AND to_ms <= $2",
                    count_cond: None,
                    args: vec![Arg::Int(ms)],
                });
                targets.push(Target {
                    table: "state_agents",
                    cond: "project_id = $1 AND first_seen < $2 AND NOT EXISTS (SELECT 1 FROM \
                           agent_state_events e WHERE e.project_id = state_agents.project_id \
                           AND e.source = state_agents.source AND e.agent = state_agents.agent)",
                    count_cond: Some(
                        "project_id = $1 AND first_seen < $2 AND NOT EXISTS (SELECT 1 FROM \
                         agent_state_events e WHERE e.project_id = state_agents.project_id \
                         AND e.source = state_agents.source AND e.agent = state_agents.agent \
                         AND e.at_ms >= $3)",
                    ),
                    args: vec![Arg::Text(stamp), Arg::Int(ms)],
                });
                targets
            }
            RetentionKind::SyncRuns => vec![
                Target {
                    table: "sync_run_changes",
                    cond: "run_id IN (SELECT id FROM sync_runs WHERE project_id = $1 \
                           AND started_at < $2)",
                    count_cond: None,
                    args: vec![Arg::Text(stamp.clone())],
                },
                Target {
                    table: "sync_runs",
                    cond: "project_id = $1 AND started_at < $2",
                    count_cond: None,
                    args: vec![Arg::Text(stamp)],
                },
            ],
            RetentionKind::Idempotency => vec![Target {
                table: "idempotency_keys",
                cond: "project_id = $1 AND created_at < $2",
                count_cond: None,
                args: vec![Arg::Text(stamp)],
            }],
            RetentionKind::Adherence => ["schedules", "adherence_exceptions"]
                .into_iter()
                .map(|table| Target {
                    table,
                    cond: "project_id = $1 AND start_ms < $2 AND end_ms <= $2",
                    count_cond: None,
                    args: vec![Arg::Int(ms)],
                })
                .collect(),
            RetentionKind::Intervals => Vec::new(),
        };
        self.purge_targets(project, kind, &targets, options).await
    }

    /// Every source that sent agent states to the project (`state_agents` lists each one).
    async fn state_sources(&self, project: &ProjectId) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT source FROM state_agents WHERE project_id = $1 ORDER BY source";
        let rows: Vec<(String,)> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(project.as_str())
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(sql)
                    .bind(project.as_str())
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Deletes (or counts) each target's rows, chunk by chunk; several targets of one table
    /// add up into one count.
    async fn purge_targets(
        &self,
        project: &ProjectId,
        kind: &mut KindPurge,
        targets: &[Target],
        options: &PurgeOptions,
    ) -> Result<(), StoreError> {
        for target in targets {
            let n = if options.dry_run {
                self.count_target(project, target).await?
            } else {
                self.delete_target(project, kind.kind, target, options.chunk_rows)
                    .await?
            };
            match kind.tables.iter_mut().find(|(t, _)| *t == target.table) {
                Some((_, total)) => *total += n,
                None => kind.tables.push((target.table, n)),
            }
        }
        Ok(())
    }

    async fn count_target(&self, project: &ProjectId, target: &Target) -> Result<u64, StoreError> {
        let cond = target.count_cond.unwrap_or(target.cond);
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {cond}", target.table);
        let (n,): (i64,) = match &self.db {
            Db::Sqlite(pool) => {
                let q = bind_all!(sqlx::query_as(&sql), project.as_str(), &target.args);
                q.fetch_one(pool).await?
            }
            Db::Postgres(pool) => {
                let q = bind_all!(sqlx::query_as(&sql), project.as_str(), &target.args);
                q.fetch_one(pool).await?
            }
        };
        Ok(to_u64(n))
    }

    /// Deletes the target's rows, at most `chunk` per statement (by `rowid` on SQLite, `ctid`
    /// on PostgreSQL), until a statement removes fewer; answers the total.
    async fn delete_target(
        &self,
        project: &ProjectId,
        kind: RetentionKind,
        target: &Target,
        chunk: u64,
    ) -> Result<u64, StoreError> {
        let chunk = to_i64(chunk.max(1));
        let limit = target.args.len() + 2;
        let (table, cond) = (target.table, target.cond);
        let sql = match &self.db {
            Db::Sqlite(_) => format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE {cond} LIMIT ${limit})"
            ),
            Db::Postgres(_) => format!(
                "DELETE FROM {table} WHERE ctid = ANY(ARRAY( \
                 SELECT ctid FROM {table} WHERE {cond} LIMIT ${limit}))"
            ),
        };
        let mut total = 0u64;
        loop {
            let n = match &self.db {
                Db::Sqlite(pool) => {
                    let q = bind_all!(sqlx::query(&sql), project.as_str(), &target.args);
                    q.bind(chunk).execute(pool).await?.rows_affected()
                }
                Db::Postgres(pool) => {
                    let q = bind_all!(sqlx::query(&sql), project.as_str(), &target.args);
                    q.bind(chunk).execute(pool).await?.rows_affected()
                }
            };
            total += n;
            if n > 0 {
                tracing::info!(project = %project, kind = %kind, table, chunk = n,
                    removed = total, "retention purge progress");
            }
            if to_i64(n) < chunk {
                return Ok(total);
            }
        }
    }

    /// Merges, per source, the coverage ranges that start before `cutoff_ms` into one (from
    /// the first one's start to the furthest end), in one transaction per source; answers how
    /// many rows that removes (or would remove).
    async fn merge_coverage(
        &self,
        project: &ProjectId,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        let sources_sql = "SELECT source, COUNT(*) FROM interval_coverage \
                           WHERE project_id = $1 AND from_ms < $2 GROUP BY source ORDER BY source";
        let p = project.as_str();
        let sources: Vec<(String, i64)> = match &self.db {
            Db::Sqlite(pool) => {
                let q = sqlx::query_as(sources_sql).bind(p).bind(cutoff_ms);
                q.fetch_all(pool).await?
            }
            Db::Postgres(pool) => {
                let q = sqlx::query_as(sources_sql).bind(p).bind(cutoff_ms);
                q.fetch_all(pool).await?
            }
        };
        let mut merged = 0u64;
        for (source, rows) in sources {
            if rows < 2 {
                continue;
            }
            if dry_run {
                merged += to_u64(rows - 1);
                continue;
            }
            // One transaction holding the write lock (SQLite) or the source's interval-batch
            // lock (PostgreSQL, the one `apply_interval_batch` takes), so a concurrent batch
            // merges its window into one form or the other, never into both.
            merged += match &self.db {
                Db::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let n = merge_coverage_in!(tx, p, &source, cutoff_ms);
                    tx.commit().await?;
                    n
                }
                Db::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(format!("sync:{p}:intervals/{source}"))
                        .execute(&mut *tx)
                        .await?;
                    let n = merge_coverage_in!(tx, p, &source, cutoff_ms);
                    tx.commit().await?;
                    n
                }
            };
        }
        Ok(merged)
    }
}

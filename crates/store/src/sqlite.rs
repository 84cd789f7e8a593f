//! The SQLite backend: one file, WAL, foreign keys on; writers serialised by `BEGIN IMMEDIATE`.
//! Bulk inserts are multi-row `VALUES` statements of up to 32,766 bound values; bulk updates
//! and id lists bind one JSON text and expand it with `json_each`.

use crate::common::*;
use crate::encryption::Fields;
use crate::error::StoreError;
use crate::intervals::*;
use crate::IntervalOutcome;
use crate::SyncOutcome;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row as _;
use sqlx::{SqliteConnection, SqlitePool};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_model::{ExternalId, ProjectId};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalBatchResponse, IntervalFigures, IntervalView, QueueView, TimeRange,
};
use wfm_protocol::{
    GroupDetail, GroupQuery, GroupView, ObjectChange, Page, RunResult, SyncRequest, SyncResponse,
    SyncRun, UserQuery, UserView, SYNC_RESPONSE_CHANGES,
};
use wfm_sync::{CurrentGroup, CurrentState, CurrentUser, Op, Plan, PlanSummary, SafetyLimits};

pub(crate) type Pool = SqlitePool;
type Db = sqlx::Sqlite;
type Conn = SqliteConnection;

/// A deferred transaction: in WAL mode its first read fixes a consistent snapshot.
const READ_TX: &str = "BEGIN";
/// Rows per bulk statement.
const ROW_CHUNK: usize = 20_000;
/// Ids per `IN (…)` list.
const ID_CHUNK: usize = 20_000;
/// Runs get a per-project sequence number to order runs that share a start time.
const INSERT_RUN_SQL: &str = "INSERT INTO sync_runs \
    (id, project_id, source, started_at, finished_at, result, summary, reason, warnings, \
     change_count, seq) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_runs WHERE project_id = $2))";

/// Opens (creating if missing) the database file and runs the SQLite migrations.
pub(crate) async fn open(url: &str, max_connections: u32) -> Result<Pool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::InvalidUrl("not a valid sqlite:// url".into()))?
        .create_if_missing(true)
        // WAL + synchronous=NORMAL: a crash of the process or the OS can never corrupt the
        // database, and committed transactions survive a process crash; only a power loss
        // may lose the last commits (the WAL is synced at checkpoints, not at each commit).
        // The hub's syncs are idempotent re-sends of a full snapshot, so that is an acceptable
        // trade for not paying an fsync per commit.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        // Page cache of up to 64 MiB per connection (default 2 MiB; allocated only as pages
        // are used): a 24,000-user first sync dirties ~50 MiB of pages, and with the default
        // cache SQLite spills them to the WAL in the middle of the transaction.
        .pragma("cache_size", "-65536")
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        // A connection must come out of the pool outside any transaction: the ping runs after
        // any rollback queued by a dropped (cancelled) transaction, and a connection still in a
        // transaction after it (SQLite can end a transaction by itself on some errors, after
        // which sqlx's ROLLBACK fails and its depth stays above zero) is closed instead of
        // reused. Without this a later `begin_with` fails with "attempted to call begin_with at
        // non-zero transaction depth" (seen under the kill/restart test).
        .before_acquire(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Connection as _;
                conn.ping().await?;
                Ok(!conn.is_in_transaction())
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// SQL testing `column` against the id list bound at `$n` (see [`ids_param`]).
fn in_ids(column: &str, n: usize) -> String {
    format!("{column} IN (SELECT value FROM json_each(${n}))")
}

/// The bind value for [`in_ids`]: a JSON array of the ids.
fn ids_param(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string())
}

/// Starts the sync transaction; `BEGIN IMMEDIATE` takes the write lock at once, which
/// serialises every writer (and so every sync of the same source).
async fn begin_sync(
    pool: &Pool,
    _project: &str,
    _source: &str,
    _key: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Appends rows `range` of `batch` as one JSON array of arrays.
fn batch_json(batch: &Batch, range: std::ops::Range<usize>) -> Result<String, StoreError> {
    let mut out = String::with_capacity(range.len() * 64);
    out.push('[');
    for (n, row) in range.enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('[');
        for (c, col) in batch.cols.iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            match col {
                Col::Text(v) => out.push_str(&serde_json::to_string(&v[row])?),
                Col::OptText(v) => out.push_str(&serde_json::to_string(&v[row])?),
                Col::Int(v) => {
                    let _ = write!(out, "{}", v[row]);
                }
                Col::Big(v) => {
                    let _ = write!(out, "{}", v[row]);
                }
                Col::OptBig(v) => match v[row] {
                    Some(n) => {
                        let _ = write!(out, "{n}");
                    }
                    None => out.push_str("null"),
                },
                Col::Bool(v) => out.push_str(if v[row] { "1" } else { "0" }),
            }
        }
        out.push(']');
    }
    out.push(']');
    Ok(out)
}

/// `value ->> 0 AS a, value ->> 1 AS b, …` over the batch's columns.
fn json_columns(batch: &Batch) -> String {
    let mut out = String::new();
    for (i, name) in batch.names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "value ->> {i} AS {name}");
    }
    out
}

/// Bound parameters per statement: SQLite's limit (`SQLITE_MAX_VARIABLE_NUMBER`) is 32,766
/// since 3.32.
const MAX_PARAMS: usize = 32_766;

/// Inserts every row of the batch with multi-row `INSERT … VALUES (…), (…)` statements of up
/// to [`MAX_PARAMS`] bound values each. Measured against expanding one bound JSON text with
/// `json_each` (the update path): binding skips encoding every value as JSON in Rust and
/// parsing it again in SQLite, which matters for the change log (JSON inside JSON).
async fn insert_batch(conn: &mut Conn, batch: &Batch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let width = batch.names.len();
    let per_statement = (MAX_PARAMS / width).max(1);
    let row_sql = format!("({})", vec!["?"; width].join(", "));
    let mut start = 0;
    while start < batch.len() {
        let end = (start + per_statement).min(batch.len());
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            batch.table,
            batch.names.join(", ")
        );
        sql.reserve((row_sql.len() + 2) * (end - start));
        for row in start..end {
            if row > start {
                sql.push_str(", ");
            }
            sql.push_str(&row_sql);
        }
        let mut query = sqlx::query(&sql);
        for row in start..end {
            for col in &batch.cols {
                query = match col {
                    Col::Text(v) => query.bind(v[row].as_str()),
                    Col::OptText(v) => query.bind(v[row].as_deref()),
                    Col::Int(v) => query.bind(v[row]),
                    Col::Big(v) => query.bind(v[row]),
                    Col::OptBig(v) => query.bind(v[row]),
                    Col::Bool(v) => query.bind(v[row]),
                };
            }
        }
        query.execute(&mut *conn).await?;
        start = end;
    }
    tracing::trace!(
        table = batch.table,
        rows = batch.len(),
        ms = started.elapsed().as_millis() as u64,
        "inserted"
    );
    Ok(())
}

/// Updates rows by their first column (`id`) with the other columns of the batch.
async fn update_batch(conn: &mut Conn, batch: &Batch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let key = batch.names[0];
    let sets: Vec<String> = batch.names[1..]
        .iter()
        .map(|name| format!("{name} = x.{name}"))
        .collect();
    let sql = format!(
        "UPDATE {table} AS t SET {sets} FROM (SELECT {cols} FROM json_each($1)) AS x \
         WHERE t.{key} = x.{key}",
        table = batch.table,
        sets = sets.join(", "),
        cols = json_columns(batch),
    );
    let mut start = 0;
    while start < batch.len() {
        let end = (start + ROW_CHUNK).min(batch.len());
        let json = batch_json(batch, start..end)?;
        sqlx::query(&sql).bind(json).execute(&mut *conn).await?;
        start = end;
    }
    Ok(())
}

include!("shared/reads.rs");
include!("shared/sync.rs");
include!("shared/intervals.rs");
include!("shared/adherence.rs");
include!("shared/states.rs");

/// Deletes the intervals of one source with the given (queue, start) keys.
async fn delete_interval_keys(
    conn: &mut Conn,
    project: &str,
    source: &str,
    keys: &[(String, i64)],
) -> Result<(), StoreError> {
    for chunk in keys.chunks(ROW_CHUNK) {
        sqlx::query(
            "DELETE FROM intervals WHERE project_id = $1 AND source = $2 \
             AND (queue_id, start_ms) IN (SELECT value ->> 0, value ->> 1 FROM json_each($3))",
        )
        .bind(project)
        .bind(source)
        .bind(serde_json::to_string(chunk)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod load_tests {
    use super::*;

    async fn test_database() -> crate::testing::TestDatabase {
        crate::testing::TestDatabase::sqlite()
    }

    include!("shared/load_tests.rs");
}

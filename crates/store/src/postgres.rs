//! The PostgreSQL backend: syncs of one source are serialised by transaction-scoped advisory
//! locks; bulk writes bind each column as one array and expand them with `UNNEST`.

use crate::common::*;
use crate::error::StoreError;
use crate::SyncOutcome;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_model::{ExternalId, ProjectId};
use wfm_protocol::{
    GroupDetail, GroupQuery, GroupView, ObjectChange, Page, RunResult, SyncRequest, SyncResponse,
    SyncRun, UserQuery, UserView, SYNC_RESPONSE_CHANGES,
};
use wfm_sync::{CurrentGroup, CurrentState, CurrentUser, Op, Plan, PlanSummary, SafetyLimits};

pub(crate) type Pool = PgPool;
type Db = sqlx::Postgres;
type Conn = PgConnection;

/// Reads see one snapshot across their statements.
const READ_TX: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
/// Rows per bulk statement.
const ROW_CHUNK: usize = 50_000;
/// Ids per `= ANY(…)` array.
const ID_CHUNK: usize = 50_000;
const INSERT_RUN_SQL: &str = "INSERT INTO sync_runs \
    (id, project_id, source, started_at, finished_at, result, summary, reason, warnings, \
     change_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Connects and runs the PostgreSQL migrations.
pub(crate) async fn open(url: &str, max_connections: u32) -> Result<Pool, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| StoreError::InvalidUrl("not a valid postgres:// url".into()))?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// SQL testing `column` against the id array bound at `$n` (see [`ids_param`]).
fn in_ids(column: &str, n: usize) -> String {
    format!("{column} = ANY(${n})")
}

/// The bind value for [`in_ids`].
fn ids_param(ids: &[String]) -> &[String] {
    ids
}

/// Starts the sync transaction and takes two advisory locks, always in this order: the
/// idempotency key (so a repeated key waits for the first request and then replays it), then the
/// (project, source) pair (so two syncs of one source run one after the other).
async fn begin_sync(
    pool: &Pool,
    project: &str,
    source: &str,
    key: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    let mut tx = pool.begin().await?;
    // Project ids never contain ':', so these lock names cannot collide across kinds.
    for name in [
        format!("idem:{project}:{key}"),
        format!("sync:{project}:{source}"),
    ] {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// `$1::text[], $2::int4[], …` for the batch's columns.
fn unnest_args(batch: &Batch) -> String {
    batch
        .cols
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let ty = match col {
                Col::Text(_) | Col::OptText(_) => "text[]",
                Col::Int(_) => "int4[]",
                Col::Bool(_) => "bool[]",
            };
            format!("${}::{ty}", i + 1)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` once per chunk of rows, binding each column's slice as one array.
async fn run_chunks(conn: &mut Conn, batch: &Batch, sql: &str) -> Result<(), StoreError> {
    let mut start = 0;
    while start < batch.len() {
        let end = (start + ROW_CHUNK).min(batch.len());
        let mut query = sqlx::query(sql);
        for col in &batch.cols {
            query = match col {
                Col::Text(v) => query.bind(&v[start..end]),
                Col::OptText(v) => query.bind(&v[start..end]),
                Col::Int(v) => query.bind(&v[start..end]),
                Col::Bool(v) => query.bind(&v[start..end]),
            };
        }
        query.execute(&mut *conn).await?;
        start = end;
    }
    Ok(())
}

/// Inserts every row of the batch.
async fn insert_batch(conn: &mut Conn, batch: &Batch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
        batch.table,
        batch.names.join(", "),
        unnest_args(batch)
    );
    run_chunks(conn, batch, &sql).await
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
        "UPDATE {table} AS t SET {sets} FROM UNNEST({args}) AS x({names}) WHERE t.{key} = x.{key}",
        table = batch.table,
        sets = sets.join(", "),
        args = unnest_args(batch),
        names = batch.names.join(", "),
    );
    run_chunks(conn, batch, &sql).await
}

include!("shared/reads.rs");
include!("shared/sync.rs");

#[cfg(test)]
mod load_tests {
    use super::*;

    async fn test_database() -> crate::testing::TestDatabase {
        crate::testing::TestDatabase::postgres().await
    }

    include!("shared/load_tests.rs");
}

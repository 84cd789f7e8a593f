//! The PostgreSQL backend: syncs of one source are serialised by transaction-scoped advisory
//! locks; bulk writes bind each column as one array and expand them with `UNNEST`.

use crate::common::*;
use crate::encryption::Fields;
use crate::error::StoreError;
use crate::intervals::*;
use crate::IntervalOutcome;
use crate::SyncOutcome;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Row as _;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeSet, HashMap};
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
                Col::Big(_) | Col::OptBig(_) => "int8[]",
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
                Col::Big(v) => query.bind(&v[start..end]),
                Col::OptBig(v) => query.bind(&v[start..end]),
                Col::Bool(v) => query.bind(&v[start..end]),
            };
        }
        query.execute(&mut *conn).await?;
        start = end;
    }
    Ok(())
}

/// Batches from this many rows on are written with `COPY … FROM STDIN`, smaller ones with one
/// `INSERT … SELECT * FROM UNNEST(…)` (COPY costs an extra round trip or two).
const COPY_MIN_ROWS: usize = 500;
/// COPY data is sent in messages of about this many bytes.
const COPY_SEND_BYTES: usize = 1 << 20;

/// Inserts every row of the batch.
async fn insert_batch(conn: &mut Conn, batch: &Batch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    if batch.len() >= COPY_MIN_ROWS {
        copy_batch(conn, batch).await?;
    } else {
        let sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
            batch.table,
            batch.names.join(", "),
            unnest_args(batch)
        );
        run_chunks(conn, batch, &sql).await?;
    }
    tracing::trace!(
        table = batch.table,
        rows = batch.len(),
        ms = started.elapsed().as_millis() as u64,
        "inserted"
    );
    Ok(())
}

/// Inserts every row of the batch with `COPY … FROM STDIN (FORMAT text)`: no bind parameters,
/// no per-statement planning, the server parses tab-separated lines.
async fn copy_batch(conn: &mut Conn, batch: &Batch) -> Result<(), StoreError> {
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT text)",
        batch.table,
        batch.names.join(", ")
    );
    let mut copy = conn.copy_in_raw(&sql).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(COPY_SEND_BYTES + 4096);
    for row in 0..batch.len() {
        copy_row(&mut buf, batch, row);
        if buf.len() >= COPY_SEND_BYTES {
            if let Err(e) = copy.send(std::mem::take(&mut buf)).await {
                let _ = copy.abort("client error").await;
                return Err(e.into());
            }
            buf.reserve(COPY_SEND_BYTES + 4096);
        }
    }
    if !buf.is_empty() {
        if let Err(e) = copy.send(buf).await {
            let _ = copy.abort("client error").await;
            return Err(e.into());
        }
    }
    copy.finish().await?;
    Ok(())
}

/// Appends row `row` of the batch as one line of COPY text format.
fn copy_row(buf: &mut Vec<u8>, batch: &Batch, row: usize) {
    for (c, col) in batch.cols.iter().enumerate() {
        if c > 0 {
            buf.push(b'\t');
        }
        match col {
            Col::Text(v) => copy_escape(buf, &v[row]),
            Col::OptText(v) => match &v[row] {
                Some(s) => copy_escape(buf, s),
                None => buf.extend_from_slice(b"\\N"),
            },
            Col::Int(v) => {
                let _ = std::io::Write::write_fmt(buf, format_args!("{}", v[row]));
            }
            Col::Big(v) => {
                let _ = std::io::Write::write_fmt(buf, format_args!("{}", v[row]));
            }
            Col::OptBig(v) => match v[row] {
                Some(n) => {
                    let _ = std::io::Write::write_fmt(buf, format_args!("{n}"));
                }
                None => buf.extend_from_slice(b"\\N"),
            },
            Col::Bool(v) => buf.push(if v[row] { b't' } else { b'f' }),
        }
    }
    buf.push(b'\n');
}

/// Appends `s` as a COPY text-format field: backslash, tab, newline and carriage return are
/// backslash-escaped (so no value can end a field or a line, or read as `\N`, the NULL
/// marker); everything else, multi-byte UTF-8 included, is sent as it is.
fn copy_escape(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escaped);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
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
        let queues: Vec<&str> = chunk.iter().map(|(q, _)| q.as_str()).collect();
        let starts: Vec<i64> = chunk.iter().map(|(_, s)| *s).collect();
        sqlx::query(
            "DELETE FROM intervals WHERE project_id = $1 AND source = $2 \
             AND (queue_id, start_ms) IN (SELECT * FROM UNNEST($3::text[], $4::int8[]))",
        )
        .bind(project)
        .bind(source)
        .bind(&queues)
        .bind(&starts)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod copy_tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut buf = Vec::new();
        copy_escape(&mut buf, s);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn copy_escape_handles_separators_backslashes_and_unicode() {
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(escaped("a\tb"), "a\\tb");
        assert_eq!(escaped("a\nb\r\n"), "a\\nb\\r\\n");
        assert_eq!(escaped("C:\\dir\\"), "C:\\\\dir\\\\");
        // A literal backslash-N must not read back as NULL.
        assert_eq!(escaped("\\N"), "\\\\N");
        assert_eq!(escaped("Zoë 日本 🙂"), "Zoë 日本 🙂");
        assert_eq!(escaped("\u{7}bell\u{b}"), "\u{7}bell\u{b}");
    }

    #[test]
    fn copy_rows_separate_fields_and_mark_null() {
        let mut batch = Batch::new("t", &["a", "b", "c", "d"]);
        batch
            .push([
                Val::T("x\ty".into()),
                Val::O(None),
                Val::I(-7),
                Val::B(true),
            ])
            .unwrap();
        batch
            .push([
                Val::T(String::new()),
                Val::O(Some(String::new())),
                Val::I(0),
                Val::B(false),
            ])
            .unwrap();
        let mut buf = Vec::new();
        copy_row(&mut buf, &batch, 0);
        copy_row(&mut buf, &batch, 1);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "x\\ty\t\\N\t-7\tt\n\t\t0\tf\n"
        );
    }

    /// Round trip through the server: what COPY stores is exactly what was sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copy_round_trips_nasty_values() {
        let db = crate::testing::TestDatabase::postgres().await;
        let pool = open(db.url(), 1).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("CREATE TEMP TABLE nasty (n INTEGER, t TEXT, o TEXT, b BOOLEAN)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let values: Vec<Option<String>> = vec![
            Some(String::new()),
            None,
            Some("\\N".into()),
            Some("\\".into()),
            Some("tab\tnew\nline\rcr\r\n".into()),
            Some("ends with backslash\\".into()),
            Some("\\t not a tab".into()),
            Some("Zoë 日本 🙂".into()),
            Some("\u{1}\u{7f}".into()),
            Some(".".into()),
            Some("\\.".into()),
        ];
        let mut batch = Batch::new("nasty", &["n", "t", "o", "b"]);
        for (i, v) in values.iter().enumerate() {
            batch
                .push([
                    Val::I(i as i32),
                    Val::T(v.clone().unwrap_or_default()),
                    Val::O(v.clone()),
                    Val::B(i % 2 == 0),
                ])
                .unwrap();
        }
        copy_batch(&mut conn, &batch).await.unwrap();
        let rows: Vec<(i32, String, Option<String>, bool)> =
            sqlx::query_as("SELECT n, t, o, b FROM nasty ORDER BY n")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(rows.len(), values.len());
        for (i, (n, t, o, b)) in rows.into_iter().enumerate() {
            assert_eq!(n, i as i32);
            assert_eq!(t, values[i].clone().unwrap_or_default());
            assert_eq!(o, values[i]);
            assert_eq!(b, i % 2 == 0);
        }
        drop(conn);
        pool.close().await;
        db.finish().await;
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    async fn test_database() -> crate::testing::TestDatabase {
        crate::testing::TestDatabase::postgres().await
    }

    include!("shared/load_tests.rs");
}

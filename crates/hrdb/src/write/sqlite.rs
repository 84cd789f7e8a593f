//! SQLite: schema and loading with multi-row INSERTs of literal values, one transaction per
//! write.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use time::OffsetDateTime;

use super::encode::SqlSink;
use super::{fingerprint, History, Plan, Progress, WriteReport, TABLES};
use crate::clock::UtcMillis;
use crate::error::HrdbError;
use crate::model::Centre;

const DDL: [&str; 3] = [
    include_str!("../../sql/sqlite/uccx.sql"),
    include_str!("../../sql/sqlite/ucce.sql"),
    include_str!("../../sql/sqlite/state.sql"),
];

/// Rows per INSERT statement.
const ROWS_PER_INSERT: usize = 500;

/// Opens (creating if missing) the SQLite file at `path`.
pub async fn connect_sqlite(path: &Path) -> Result<SqlitePool, HrdbError> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// Creates every table if missing; with `drop`, drops them (and the load state) first.
pub async fn create_schema_sqlite(pool: &SqlitePool, drop: bool) -> Result<(), HrdbError> {
    if drop {
        for table in TABLES.iter().chain(["hrdb_load_state"].iter()) {
            sqlx::raw_sql(&format!("DROP TABLE IF EXISTS {table}"))
                .execute(pool)
                .await?;
        }
    }
    for ddl in DDL {
        sqlx::raw_sql(ddl).execute(pool).await?;
    }
    Ok(())
}

/// Writes the rows of `centre` whose write time is ≤ `until` (everything when `None`) and
/// that earlier writes did not load, into the SQLite file at `path` (created if missing).
pub async fn write_sqlite(
    centre: &Centre,
    path: &Path,
    until: Option<OffsetDateTime>,
) -> Result<WriteReport, HrdbError> {
    write_sqlite_with(centre, path, until, &|_, _| {}).await
}

/// [`write_sqlite`] reporting progress per chunk.
pub async fn write_sqlite_with(
    centre: &Centre,
    path: &Path,
    until: Option<OffsetDateTime>,
    progress: Progress<'_>,
) -> Result<WriteReport, HrdbError> {
    let pool = connect_sqlite(path).await?;
    let result = write_pool(centre, &pool, until, progress).await;
    pool.close().await;
    result
}

async fn write_pool(
    centre: &Centre,
    pool: &SqlitePool,
    until: Option<OffsetDateTime>,
    progress: Progress<'_>,
) -> Result<WriteReport, HrdbError> {
    create_schema_sqlite(pool, false).await?;
    let until = until.map(UtcMillis::from_datetime);
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let state =
        sqlx::query("SELECT fingerprint, written_until_ms FROM hrdb_load_state WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    let expected = fingerprint(centre);
    let previous = match state {
        Some(row) => {
            let found: String = row.try_get(0)?;
            if found != expected {
                return Err(HrdbError::SpecMismatch { found });
            }
            Some(UtcMillis(row.try_get::<i64, _>(1)?))
        }
        None => None,
    };
    let mut report = WriteReport {
        previous_until: previous,
        until,
        ..WriteReport::default()
    };
    let new_until = until.map(|u| u.0).unwrap_or(i64::MAX);
    if previous.is_some_and(|p| p.0 >= new_until) {
        tx.commit().await?;
        return Ok(report);
    }
    let plan = Plan::new(centre, previous, until);

    for (table, columns, sink, rows) in plan.config(SqlSink::new) {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
        if sink.rows > 0 {
            sqlx::raw_sql(&format!(
                "INSERT INTO {table} ({columns}) VALUES {}",
                sink.buf
            ))
            .execute(&mut *tx)
            .await?;
        }
        report.rows.insert(table, rows);
    }

    for table in History::ALL {
        let mut pos = 0usize;
        let mut total = 0u64;
        loop {
            let mut sink = SqlSink::new();
            let n = plan.encode_chunk(table, &mut pos, &mut sink, |s| s.rows >= ROWS_PER_INSERT);
            if n == 0 {
                break;
            }
            sqlx::raw_sql(&format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.table(),
                table.columns(),
                sink.buf
            ))
            .execute(&mut *tx)
            .await?;
            total += n;
            progress(table.table(), total);
        }
        report.rows.insert(table.table(), total);
    }

    sqlx::query(
        "INSERT INTO hrdb_load_state (id, fingerprint, written_until_ms) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, \
         written_until_ms = excluded.written_until_ms",
    )
    .bind(&expected)
    .bind(plan.until_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(report)
}

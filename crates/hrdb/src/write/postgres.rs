//! PostgreSQL: schema and bulk loading with `COPY … FROM STDIN` (text format), one
//! transaction per write.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use time::OffsetDateTime;

use super::encode::CopySink;
use super::{fingerprint, History, Plan, Progress, WriteReport, TABLES};
use crate::clock::UtcMillis;
use crate::error::HrdbError;
use crate::model::Centre;

const DDL: [&str; 3] = [
    include_str!("../../sql/postgres/uccx.sql"),
    include_str!("../../sql/postgres/ucce.sql"),
    include_str!("../../sql/postgres/state.sql"),
];

/// Indexes of the history tables, dropped during a first (empty-table) load and rebuilt after
/// it: sorting once is much faster than maintaining them row by row.
const HISTORY_INDEXES: [&str; 9] = [
    "contactcalldetail_key",
    "contactcalldetail_start",
    "contactqueuedetail_key",
    "contactqueuedetail_start",
    "agentconnectiondetail_key",
    "agentconnectiondetail_start",
    "agentstatedetail_time",
    "call_type_interval_key",
    "agent_state_trace_key",
];

/// Bytes per COPY message.
const CHUNK: usize = 4 << 20;

/// Opens a small pool on `url` (`postgres://…`).
pub async fn connect_postgres(url: &str) -> Result<PgPool, HrdbError> {
    Ok(PgPoolOptions::new().max_connections(2).connect(url).await?)
}

/// Creates every table if missing; with `drop`, drops them (and the load state) first.
pub async fn create_schema_postgres(pool: &PgPool, drop: bool) -> Result<(), HrdbError> {
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
/// that earlier writes did not load. Creates the schema if missing.
pub async fn write_postgres(
    centre: &Centre,
    pool: &PgPool,
    until: Option<OffsetDateTime>,
) -> Result<WriteReport, HrdbError> {
    write_postgres_with(centre, pool, until, &|_, _| {}).await
}

/// [`write_postgres`] reporting progress per chunk.
pub async fn write_postgres_with(
    centre: &Centre,
    pool: &PgPool,
    until: Option<OffsetDateTime>,
    progress: Progress<'_>,
) -> Result<WriteReport, HrdbError> {
    create_schema_postgres(pool, false).await?;
    let until = until.map(UtcMillis::from_datetime);
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("LOCK TABLE hrdb_load_state IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
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
    let fresh = previous.is_none();
    if fresh {
        for index in HISTORY_INDEXES {
            sqlx::query(&format!("DROP INDEX IF EXISTS {index}"))
                .execute(&mut *tx)
                .await?;
        }
    }

    for (table, columns, sink, rows) in plan.config(CopySink::new) {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
        let mut copy = tx
            .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
            .await?;
        copy.send(sink.buf.into_bytes()).await?;
        copy.finish().await?;
        report.rows.insert(table, rows);
    }

    for table in History::ALL {
        let mut copy = tx
            .copy_in_raw(&format!(
                "COPY {} ({}) FROM STDIN",
                table.table(),
                table.columns()
            ))
            .await?;
        let mut pos = 0usize;
        let mut total = 0u64;
        loop {
            let mut sink = CopySink::new();
            let n = plan.encode_chunk(table, &mut pos, &mut sink, |s| s.buf.len() >= CHUNK);
            if n == 0 && sink.buf.is_empty() {
                break;
            }
            total += n;
            copy.send(sink.buf.into_bytes()).await?;
            progress(table.table(), total);
        }
        copy.finish().await?;
        report.rows.insert(table.table(), total);
    }

    if fresh {
        progress("indexes", 0);
        for ddl in DDL {
            sqlx::raw_sql(ddl).execute(&mut *tx).await?;
        }
    }
    sqlx::query(
        "INSERT INTO hrdb_load_state (id, fingerprint, written_until_ms) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
         written_until_ms = EXCLUDED.written_until_ms",
    )
    .bind(&expected)
    .bind(plan.until_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(report)
}

//! SQLite backend (sqlx): the same tables in a file, times as UTC text
//! `YYYY-MM-DD HH:MM:SS.mmm`, opened read-only.

use std::path::PathBuf;
use std::time::Duration;

use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Decode, Row, Sqlite, TypeInfo, ValueRef};
use wfm_intervals::uccx::QueueVisitRow;

use super::decode::{self, RawInterval, RawVisit};
use super::error::{classify, statement_error};
use super::{sql, Dialect, HistoryError, QueueRecord};

mod states;

pub(crate) struct SqliteBackend {
    pool: SqlitePool,
    path: PathBuf,
    timeout: Duration,
}

impl SqliteBackend {
    pub(crate) async fn connect(path: PathBuf, timeout: Duration) -> Result<Self, HistoryError> {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(|e| HistoryError::Connect {
                target: path.display().to_string(),
                message: format!("cannot open the SQLite file: {e}"),
            })?;
        Ok(SqliteBackend {
            pool,
            path,
            timeout,
        })
    }

    pub(crate) fn target(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn error(&self, dialect: Dialect, table: &str, e: sqlx::Error) -> HistoryError {
        let (state, message) = match &e {
            sqlx::Error::Database(db) => (
                db.code().map(|c| c.to_string()).unwrap_or_default(),
                db.message().to_string(),
            ),
            sqlx::Error::Io(io) => ("08S01".to_string(), io.to_string()),
            sqlx::Error::PoolTimedOut => ("HYT00".to_string(), e.to_string()),
            other => (String::new(), other.to_string()),
        };
        let cause = classify(&state, &message);
        statement_error(cause, dialect, table, message, self.timeout)
    }

    pub(crate) async fn probe(
        &self,
        dialect: Dialect,
        table: &str,
        probe: &str,
    ) -> Result<(), HistoryError> {
        sqlx::query(probe)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error(dialect, table, e))?;
        Ok(())
    }

    pub(crate) async fn queues(&self, dialect: Dialect) -> Result<Vec<QueueRecord>, HistoryError> {
        let (sql, table) = match dialect {
            Dialect::Uccx => (sql::QUEUES_UCCX, "contactservicequeue"),
            Dialect::Ucce => (sql::QUEUES_UCCE, "call_type"),
        };
        let mut rows = sqlx::query(sql).fetch(&self.pool);
        let mut out = Vec::new();
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(self.error(dialect, table, e)),
            };
            let record = match dialect {
                Dialect::Uccx => {
                    let active = text(&row, 4).map_err(|e| self.error(dialect, table, e))?;
                    decode::csq(
                        int(&row, 0).map_err(|e| self.error(dialect, table, e))?,
                        int(&row, 1).map_err(|e| self.error(dialect, table, e))?,
                        text(&row, 2).map_err(|e| self.error(dialect, table, e))?,
                        int(&row, 3).map_err(|e| self.error(dialect, table, e))?,
                        active.as_deref(),
                    )?
                }
                Dialect::Ucce => decode::call_type(
                    int(&row, 0).map_err(|e| self.error(dialect, table, e))?,
                    text(&row, 1).map_err(|e| self.error(dialect, table, e))?,
                )?,
            };
            out.push(record);
        }
        Ok(out)
    }

    pub(crate) async fn queue_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<QueueVisitRow>, HistoryError> {
        let dialect = Dialect::Uccx;
        let table = "contactqueuedetail";
        let mut rows = sqlx::query(sql::QUEUE_VISITS)
            .bind(decode::text_bound(
                from_ms.saturating_sub(sql::ACD_SLACK_MS),
            ))
            .bind(decode::text_bound(to_ms.saturating_add(sql::ACD_AFTER_MS)))
            .bind(decode::text_bound(from_ms))
            .bind(decode::text_bound(to_ms))
            .fetch(&self.pool);
        let mut out = Vec::new();
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(self.error(dialect, table, e)),
            };
            let raw = visit_row(&row).map_err(|e| match e {
                RowError::Sql(e) => self.error(dialect, table, e),
                RowError::Bad(e) => e,
            })?;
            out.push(decode::visit(raw)?);
        }
        Ok(out)
    }

    pub(crate) async fn call_type_intervals(
        &self,
        lo_local_ms: i64,
        hi_local_ms: i64,
        with_dequeued: bool,
    ) -> Result<Vec<RawInterval>, HistoryError> {
        let dialect = Dialect::Ucce;
        let table = "call_type_interval";
        let sql = sql::call_type_intervals(with_dequeued);
        let mut rows = sqlx::query(&sql)
            .bind(decode::text_bound(lo_local_ms))
            .bind(decode::text_bound(hi_local_ms))
            .fetch(&self.pool);
        let mut out = Vec::new();
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(self.error(dialect, table, e)),
            };
            let raw = interval_row(&row).map_err(|e| match e {
                RowError::Sql(e) => self.error(dialect, table, e),
                RowError::Bad(e) => e,
            })?;
            out.push(raw);
        }
        Ok(out)
    }
}

enum RowError {
    Sql(sqlx::Error),
    Bad(HistoryError),
}

impl From<sqlx::Error> for RowError {
    fn from(e: sqlx::Error) -> Self {
        RowError::Sql(e)
    }
}

fn visit_row(row: &SqliteRow) -> Result<RawVisit, RowError> {
    let session = int(row, 0)?;
    let seq = int(row, 1)?;
    let time = |i: usize, table: &str, column: &str| -> Result<Option<i64>, RowError> {
        match text(row, i)? {
            None => Ok(None),
            Some(s) => match decode::parse_text_time(&s) {
                Some(ms) => Ok(Some(ms)),
                None => Err(RowError::Bad(decode::bad_time(
                    table,
                    decode::visit_row_key(session, seq),
                    column,
                    &s,
                ))),
            },
        }
    };
    Ok(RawVisit {
        session,
        seq,
        target_id: int(row, 2)?,
        csq_record: int(row, 3)?,
        csq_id: int(row, 4)?,
        queue_entry: time(5, "contactqueuedetail", "startdatetime")?,
        leg_end: time(6, "contactcalldetail", "enddatetime")?,
        queue_disposition: int(row, 7)?,
        contact_disposition: int(row, 8)?,
        queue_time_s: int(row, 9)?,
        talk_s: int(row, 10)?,
        hold_s: int(row, 11)?,
        work_s: int(row, 12)?,
    })
}

fn interval_row(row: &SqliteRow) -> Result<RawInterval, RowError> {
    let call_type_id = int(row, 0)?;
    let local_ms = match text(row, 1)? {
        None => None,
        Some(s) => match decode::parse_text_time(&s) {
            Some(ms) => Some(ms),
            None => {
                let key = match call_type_id {
                    Some(id) => format!("(calltypeid {id})"),
                    None => "(calltypeid NULL)".to_string(),
                };
                return Err(RowError::Bad(decode::bad_time(
                    "call_type_interval",
                    key,
                    "datetime",
                    &s,
                )));
            }
        },
    };
    let mut values = [None; 11];
    for (k, v) in values.iter_mut().enumerate() {
        *v = int(row, 3 + k)?;
    }
    Ok(RawInterval {
        call_type_id,
        local_ms,
        time_zone_min: int(row, 2)?,
        values,
    })
}

/// An integer column; REAL values with no fraction and integer text are accepted too (SQLite
/// stores what it is given).
fn int(row: &SqliteRow, i: usize) -> Result<Option<i64>, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_string();
    let decode_err = |e| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: e,
    };
    match type_name.as_str() {
        "REAL" => {
            let f = <f64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?;
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Ok(Some(f as i64))
            } else {
                Err(sqlx::Error::ColumnDecode {
                    index: i.to_string(),
                    source: format!("{f} is not a whole number").into(),
                })
            }
        }
        "TEXT" => {
            let s = <String as Decode<Sqlite>>::decode(raw).map_err(decode_err)?;
            match s.trim().parse::<i64>() {
                Ok(v) => Ok(Some(v)),
                Err(_) => Err(sqlx::Error::ColumnDecode {
                    index: i.to_string(),
                    source: format!("{s:?} is not an integer").into(),
                }),
            }
        }
        _ => Ok(Some(
            <i64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?,
        )),
    }
}

/// A text column; numbers are printed.
fn text(row: &SqliteRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_string();
    let decode_err = |e| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: e,
    };
    match type_name.as_str() {
        "INTEGER" => Ok(Some(
            <i64 as Decode<Sqlite>>::decode(raw)
                .map_err(decode_err)?
                .to_string(),
        )),
        "REAL" => Ok(Some(
            <f64 as Decode<Sqlite>>::decode(raw)
                .map_err(decode_err)?
                .to_string(),
        )),
        _ => Ok(Some(
            <String as Decode<Sqlite>>::decode(raw).map_err(decode_err)?,
        )),
    }
}

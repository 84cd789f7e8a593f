//! ODBC backend (cargo feature `odbc`): one process-wide environment, a kept connection per
//! reader, blocking calls on `spawn_blocking`, row-wise block cursors of
//! [`super::BATCH_ROWS`] rows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use odbc_api::buffers::{FetchRow, RowVec};
use odbc_api::parameter::{VarCharArray, WithDataType};
use odbc_api::sys::Timestamp;
use odbc_api::{
    Connection, ConnectionOptions, Cursor, DataType, Fetch, Nullable, ParameterCollectionRef,
};
use wfm_intervals::uccx::QueueVisitRow;

use super::decode::{self, RawInterval, RawVisit};
use super::error::{classify, statement_error, Cause};
use super::{sql, Dialect, HistoryError, QueueRecord, BATCH_ROWS};

mod states;

type N64 = Nullable<i64>;
type NTs = Nullable<Timestamp>;

/// One row of [`sql::QUEUE_VISITS`].
#[derive(Clone, Copy, Default, Fetch)]
struct VisitRow {
    session: N64,
    seq: N64,
    target_id: N64,
    csq_record: N64,
    csq_id: N64,
    queue_entry: NTs,
    leg_end: NTs,
    queue_disposition: N64,
    contact_disposition: N64,
    queue_time: N64,
    talk: N64,
    hold: N64,
    work: N64,
}

/// One row of [`sql::call_type_intervals`].
#[derive(Clone, Copy, Default, Fetch)]
struct IntervalRow {
    call_type_id: N64,
    datetime: NTs,
    time_zone: N64,
    calls_offered: N64,
    calls_handled: N64,
    total_calls_aband: N64,
    service_level_calls: N64,
    service_level_calls_offered: N64,
    service_level_aband: N64,
    answer_wait_time: N64,
    handle_time: N64,
    talk_time: N64,
    hold_time: N64,
    router_calls_dequeued: N64,
}

/// Longest `csqname` / `enterprisename` read, bytes (Cisco: varchar(50) / varchar(32)).
const NAME_BYTES: usize = 256;

pub(crate) struct OdbcBackend {
    shared: Arc<Shared>,
}

struct Shared {
    connection_string: String,
    target: String,
    timeout: Duration,
    idle: Mutex<Option<Connection<'static>>>,
}

impl OdbcBackend {
    pub(crate) async fn connect(
        connection_string: String,
        timeout: Duration,
    ) -> Result<Self, HistoryError> {
        let target = describe_target(&connection_string);
        let shared = Arc::new(Shared {
            connection_string,
            target: target.clone(),
            timeout,
            idle: Mutex::new(None),
        });
        let opener = shared.clone();
        let task = tokio::task::spawn_blocking(move || opener.open());
        // The driver's login timeout should end the attempt first; this is the backstop for
        // drivers that ignore it.
        let limit = timeout + Duration::from_millis(500);
        let conn = match tokio::time::timeout(limit, task).await {
            Err(_) => {
                return Err(HistoryError::Connect {
                    target,
                    message: format!("no answer within {} s", timeout.as_secs_f64()),
                })
            }
            Ok(Err(join)) => {
                return Err(HistoryError::Connect {
                    target,
                    message: format!("the connect task failed: {join}"),
                })
            }
            Ok(Ok(result)) => result?,
        };
        if let Ok(mut idle) = shared.idle.lock() {
            *idle = Some(conn);
        }
        Ok(OdbcBackend { shared })
    }

    pub(crate) fn target(&self) -> String {
        self.shared.target.clone()
    }

    async fn run<T, F>(&self, f: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection<'static>, &Shared) -> Result<T, HistoryError> + Send + 'static,
    {
        let shared = self.shared.clone();
        let task = tokio::task::spawn_blocking(move || shared.with_connection(f));
        match task.await {
            Ok(result) => result,
            Err(join) => Err(HistoryError::Query {
                table: "-".to_string(),
                message: format!("the ODBC reader task failed: {join}"),
            }),
        }
    }

    pub(crate) async fn probe(
        &self,
        dialect: Dialect,
        table: &str,
        probe: String,
    ) -> Result<(), HistoryError> {
        let table = table.to_string();
        self.run(move |conn, shared| {
            let secs = shared.timeout_secs();
            match conn.execute(&probe, (), Some(secs)) {
                Ok(_) => Ok(()),
                Err(e) => Err(shared.error(dialect, &table, e)),
            }
        })
        .await
    }

    pub(crate) async fn queues(
        &self,
        dialect: Dialect,
        limit: Duration,
    ) -> Result<Vec<QueueRecord>, HistoryError> {
        self.run(move |conn, shared| {
            let mut out = Vec::new();
            match dialect {
                Dialect::Uccx => {
                    type Row = (N64, N64, VarCharArray<NAME_BYTES>, N64, VarCharArray<16>);
                    let table = "contactservicequeue";
                    fetch::<Row, _>(
                        conn,
                        shared,
                        limit,
                        dialect,
                        table,
                        sql::QUEUES_UCCX,
                        (),
                        |r| {
                            let active = r.4.as_bytes().map(String::from_utf8_lossy);
                            out.push(decode::csq(
                                r.0.into_opt(),
                                r.1.into_opt(),
                                r.2.as_bytes()
                                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                                r.3.into_opt(),
                                active.as_deref(),
                            )?);
                            Ok(())
                        },
                    )?;
                }
                Dialect::Ucce => {
                    type Row = (N64, VarCharArray<NAME_BYTES>);
                    let table = "call_type";
                    fetch::<Row, _>(
                        conn,
                        shared,
                        limit,
                        dialect,
                        table,
                        sql::QUEUES_UCCE,
                        (),
                        |r| {
                            out.push(decode::call_type(
                                r.0.into_opt(),
                                r.1.as_bytes()
                                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                            )?);
                            Ok(())
                        },
                    )?;
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn queue_visits(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: Duration,
    ) -> Result<Vec<QueueVisitRow>, HistoryError> {
        self.run(move |conn, shared| {
            type Row = VisitRow;
            let acd_from = timestamp_param(from_ms.saturating_sub(sql::ACD_SLACK_MS));
            let acd_to = timestamp_param(to_ms.saturating_add(sql::ACD_AFTER_MS));
            let from = timestamp_param(from_ms);
            let to = timestamp_param(to_ms);
            let params = (&acd_from, &acd_to, &from, &to);
            let mut out = Vec::new();
            let table = "contactqueuedetail";
            fetch::<Row, _>(
                conn,
                shared,
                limit,
                Dialect::Uccx,
                table,
                sql::QUEUE_VISITS,
                params,
                |r| {
                    let raw = RawVisit {
                        session: r.session.into_opt(),
                        seq: r.seq.into_opt(),
                        target_id: r.target_id.into_opt(),
                        csq_record: r.csq_record.into_opt(),
                        csq_id: r.csq_id.into_opt(),
                        queue_entry: time_ms(&r.queue_entry),
                        leg_end: time_ms(&r.leg_end),
                        queue_disposition: r.queue_disposition.into_opt(),
                        contact_disposition: r.contact_disposition.into_opt(),
                        queue_time_s: r.queue_time.into_opt(),
                        talk_s: r.talk.into_opt(),
                        hold_s: r.hold.into_opt(),
                        work_s: r.work.into_opt(),
                    };
                    out.push(decode::visit(raw)?);
                    Ok(())
                },
            )?;
            Ok(out)
        })
        .await
    }

    pub(crate) async fn call_type_intervals(
        &self,
        lo_local_ms: i64,
        hi_local_ms: i64,
        with_dequeued: bool,
        limit: Duration,
    ) -> Result<Vec<RawInterval>, HistoryError> {
        self.run(move |conn, shared| {
            type Row = IntervalRow;
            let lo = timestamp_param(lo_local_ms);
            let hi = timestamp_param(hi_local_ms);
            let sql = sql::call_type_intervals(with_dequeued);
            let mut out = Vec::new();
            let table = "call_type_interval";
            fetch::<Row, _>(
                conn,
                shared,
                limit,
                Dialect::Ucce,
                table,
                &sql,
                (&lo, &hi),
                |r| {
                    out.push(RawInterval {
                        call_type_id: r.call_type_id.into_opt(),
                        local_ms: time_ms(&r.datetime),
                        time_zone_min: r.time_zone.into_opt(),
                        values: [
                            r.calls_offered.into_opt(),
                            r.calls_handled.into_opt(),
                            r.total_calls_aband.into_opt(),
                            r.service_level_calls.into_opt(),
                            r.service_level_calls_offered.into_opt(),
                            r.service_level_aband.into_opt(),
                            r.answer_wait_time.into_opt(),
                            r.handle_time.into_opt(),
                            r.talk_time.into_opt(),
                            r.hold_time.into_opt(),
                            r.router_calls_dequeued.into_opt(),
                        ],
                    });
                    Ok(())
                },
            )?;
            Ok(out)
        })
        .await
    }
}

impl Shared {
    fn timeout_secs(&self) -> usize {
        whole_secs(self.timeout)
    }

    fn open(&self) -> Result<Connection<'static>, HistoryError> {
        let env = odbc_api::environment().map_err(|e| HistoryError::Connect {
            target: self.target.clone(),
            message: format!("cannot set up the ODBC environment (is unixODBC installed?): {e}"),
        })?;
        let login = u32::try_from(self.timeout_secs()).unwrap_or(u32::MAX);
        let options = ConnectionOptions {
            login_timeout_sec: Some(login),
            packet_size: None,
        };
        match env.connect_with_connection_string(&self.connection_string, options) {
            Ok(conn) => Ok(conn),
            Err(e) => {
                let (state, message) = diagnostics(&e);
                let target = self.target.clone();
                match classify(&state, &message) {
                    Cause::Auth => Err(HistoryError::Auth { target, message }),
                    _ => Err(HistoryError::Connect { target, message }),
                }
            }
        }
    }

    /// Runs `f` on the kept connection (opening one if there is none) and keeps the connection
    /// unless it failed in a way that leaves it unusable.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&Connection<'static>, &Shared) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let kept = match self.idle.lock() {
            Ok(mut idle) => idle.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let conn = match kept {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = f(&conn, self);
        let unusable = matches!(
            result,
            Err(HistoryError::Disconnected { .. } | HistoryError::Timeout { .. })
        ) || conn.is_dead().unwrap_or(true);
        if !unusable {
            if let Ok(mut idle) = self.idle.lock() {
                if idle.is_none() {
                    *idle = Some(conn);
                }
            }
        }
        result
    }

    fn error(&self, dialect: Dialect, table: &str, e: odbc_api::Error) -> HistoryError {
        self.error_after(dialect, table, e, self.timeout)
    }

    fn error_after(
        &self,
        dialect: Dialect,
        table: &str,
        e: odbc_api::Error,
        limit: Duration,
    ) -> HistoryError {
        let (state, message) = diagnostics(&e);
        let cause = classify(&state, &message);
        statement_error(cause, dialect, table, message, limit)
    }
}

/// Executes `sql` and calls `each` for every row, fetched in blocks.
#[allow(clippy::too_many_arguments)]
fn fetch<R, P>(
    conn: &Connection<'static>,
    shared: &Shared,
    limit: Duration,
    dialect: Dialect,
    table: &str,
    sql: &str,
    params: P,
    mut each: impl FnMut(&R) -> Result<(), HistoryError>,
) -> Result<(), HistoryError>
where
    R: FetchRow + Default + Copy,
    P: ParameterCollectionRef,
{
    let cursor = conn
        .execute(sql, params, Some(whole_secs(limit)))
        .map_err(|e| shared.error_after(dialect, table, e, limit))?;
    let Some(cursor) = cursor else {
        return Err(HistoryError::Query {
            table: table.to_string(),
            message: "the statement returned no result set".to_string(),
        });
    };
    let buffer = RowVec::<R>::new(BATCH_ROWS);
    let mut block = cursor
        .bind_buffer(buffer)
        .map_err(|e| shared.error_after(dialect, table, e, limit))?;
    loop {
        let batch = match block.fetch_with_truncation_check(true) {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(e) => return Err(shared.error_after(dialect, table, e, limit)),
        };
        for row in batch.iter() {
            each(row)?;
        }
    }
    Ok(())
}

/// `d` in whole seconds, rounded up, at least 1 (ODBC timeouts are whole seconds; 0 = none).
fn whole_secs(d: Duration) -> usize {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    usize::try_from(secs.max(1)).unwrap_or(usize::MAX)
}

/// SQLSTATE and message of an ODBC error.
fn diagnostics(e: &odbc_api::Error) -> (String, String) {
    match e {
        odbc_api::Error::Diagnostics { record, .. } => {
            let full = record.to_string();
            let message = match full.split_once("Message: ") {
                Some((_, m)) => m.trim().to_string(),
                None => full.clone(),
            };
            let state = record.state.as_str().to_string();
            (state.clone(), format!("{message} (SQLSTATE {state})"))
        }
        other => (String::new(), other.to_string()),
    }
}

fn time_ms(t: &NTs) -> Option<i64> {
    let t = t.as_opt()?;
    decode::civil_millis(
        i64::from(t.year),
        u32::from(t.month),
        u32::from(t.day),
        u32::from(t.hour),
        u32::from(t.minute),
        u32::from(t.second),
        t.fraction,
    )
}

fn timestamp_param(ms: i64) -> WithDataType<Timestamp> {
    let (y, m, d, hh, mm, ss, ns) = decode::millis_civil(ms);
    let ts = Timestamp {
        year: i16::try_from(y).unwrap_or(if y < 0 { i16::MIN } else { i16::MAX }),
        month: m as u16,
        day: d as u16,
        hour: hh as u16,
        minute: mm as u16,
        second: ss as u16,
        fraction: ns,
    };
    WithDataType::new(ts, DataType::Timestamp { precision: 3 })
}

/// The server part of a connection string (driver, DSN, host, port, database), never the
/// credentials.
pub(crate) fn describe_target(connection_string: &str) -> String {
    let mut parts = Vec::new();
    for (key, value) in split_pairs(connection_string) {
        let k = key.to_ascii_lowercase();
        let keep = matches!(
            k.as_str(),
            "driver" | "dsn" | "server" | "host" | "hostname" | "port" | "database" | "db"
        );
        if keep {
            parts.push(format!("{key}={value}"));
        }
    }
    if parts.is_empty() {
        "(ODBC connection string without Server/DSN)".to_string()
    } else {
        parts.join(";")
    }
}

/// `key=value` pairs of an ODBC connection string (values may be `{...}` with `;` inside).
fn split_pairs(s: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    let tail = &braced[end + 1..];
                    let next = tail.find(';').map_or("", |i| &tail[i + 1..]);
                    (format!("{{{}}}", &braced[..end]), next)
                }
                None => (after.to_string(), ""),
            }
        } else {
            match after.find(';') {
                Some(i) => (after[..i].trim().to_string(), &after[i + 1..]),
                None => (after.trim().to_string(), ""),
            }
        };
        if !key.is_empty() {
            pairs.push((key, value));
        }
        rest = next;
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_target_drops_credentials() {
        let s = "Driver={PostgreSQL Unicode};Server=db.example;Port=5432;Database=hds;Uid=wfm;\
                 Pwd={se;cret}";
        let t = describe_target(s);
        assert_eq!(
            t,
            "Driver={PostgreSQL Unicode};Server=db.example;Port=5432;Database=hds"
        );
        assert!(!t.contains("cret"));
    }

    #[test]
    fn timestamp_param_round_trips() {
        let ms = 1_709_251_199_999;
        let p = timestamp_param(ms);
        let t = p.value;
        let back = decode::civil_millis(
            i64::from(t.year),
            u32::from(t.month),
            u32::from(t.day),
            u32::from(t.hour),
            u32::from(t.minute),
            u32::from(t.second),
            t.fraction,
        );
        assert_eq!(back, Some(ms));
    }
}

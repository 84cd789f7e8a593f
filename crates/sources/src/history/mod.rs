//! Historical (reporting) database reader: UCCX `db_cra` (Informix) or UCCE HDS (SQL Server)
//! over ODBC (cargo feature `odbc`), or a SQLite file (always compiled; used by the demo).
//!
//! # Contract
//!
//! * **Execution**: every call is one read-only statement (plus, for [`HistoryReader::check`],
//!   one probe per table). ODBC is blocking and runs on `tokio::task::spawn_blocking`, fetched in
//!   blocks of [`BATCH_ROWS`] rows; memory is proportional to the rows returned.
//! * **Time**: every window is `[from, to)` in UTC. UCCX stores GMT; UCCE stores the central
//!   controller's local time plus `timezone` (see [`CallTypeIntervalRow::start`]).
//! * **Timeouts**: `timeout` (given to [`HistoryReader::connect`]) bounds connecting and each
//!   [`HistoryReader::check`] probe. Data reads have their own statement timeout,
//!   [`DEFAULT_READ_TIMEOUT`] unless [`HistoryReader::set_read_timeout`] says otherwise: some
//!   drivers (psqlODBC without `UseDeclareFetch=1`) transfer the whole result inside the
//!   statement, so a short limit would fail large windows.
//! * **Errors**: [`HistoryError`], each naming the table, row or column and the fix. Nothing is
//!   retried here: a [`HistoryError::Disconnected`] drops the connection and the next call
//!   reconnects.
//! * **Validation**: rows are returned as read (NULL = `None`); the UCCX mapping and its checks
//!   are `wfm_intervals::uccx::map_queue_visit`. Only values the reader itself needs (keys, the
//!   UCCE time zone) are checked here.
//!
//! The SQL is in [`sql`]; the connection strings and error fixes are in `docs/history-sources.md`.

mod decode;
mod error;
#[cfg(feature = "odbc")]
mod odbc;
pub mod sql;
mod sqlite;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
pub use wfm_intervals::uccx::QueueVisitRow;

pub use error::HistoryError;

/// Statement timeout of data reads unless set with [`HistoryReader::set_read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(600);

/// Rows fetched per ODBC block.
pub const BATCH_ROWS: usize = 5_000;

/// Which reporting database schema is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// UCCX `db_cra`: `contactcalldetail`, `contactqueuedetail`, `agentconnectiondetail`,
    /// `contactservicequeue` (and `agentstatedetail` for agent states).
    Uccx,
    /// UCCE HDS: `call_type`, `call_type_interval` (and `agent_state_trace` for agent states).
    Ucce,
}

/// Where the reporting database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryConnection {
    /// An ODBC connection string (`Driver={...};Server=...;...` or `DSN=...`); needs the cargo
    /// feature `odbc`.
    Odbc {
        /// The full connection string, credentials included (never logged or shown).
        connection_string: String,
    },
    /// A SQLite file with the same tables (times as `YYYY-MM-DD HH:MM:SS.mmm` text); opened
    /// read-only.
    Sqlite {
        /// The file.
        path: PathBuf,
    },
}

/// One queue: a UCCX CSQ configuration row or a UCCE call type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    /// UCCX `contactservicequeue.recordid` (one per configuration version, what
    /// `contactqueuedetail.targetid` points at); UCCE `calltypeid`.
    pub record_id: i64,
    /// UCCX `contactservicequeueid` (the logical, stable id); UCCE `calltypeid`.
    pub queue_id: i64,
    /// UCCX `csqname`; UCCE `enterprisename`.
    pub name: String,
    /// UCCX `servicelevel` in seconds; `None` when NULL and for UCCE.
    pub service_level_s: Option<i64>,
    /// UCCX `active` (NULL reads as `false`); always `true` for UCCE.
    pub active: bool,
}

/// One UCCE `call_type_interval` row. Counts and times (seconds) as stored; NULL = `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTypeIntervalRow {
    /// `calltypeid`.
    pub call_type_id: i64,
    /// Interval start in UTC: `datetime` (central-controller local time) **plus** `timezone`
    /// minutes. Cisco: "the offset in minutes from UTC"; 300 is a zone 5 hours behind UTC
    /// (US Eastern standard time), so local 09:00 with 300 is 14:00 UTC.
    pub start: OffsetDateTime,
    /// `timezone` as stored (minutes; UTC = local + this).
    pub time_zone_min: i64,
    /// `callsoffered`.
    pub calls_offered: Option<i64>,
    /// `callshandled`.
    pub calls_handled: Option<i64>,
    /// `totalcallsaband`.
    pub total_calls_aband: Option<i64>,
    /// `servicelevelcalls`.
    pub service_level_calls: Option<i64>,
    /// `servicelevelcallsoffered`.
    pub service_level_calls_offered: Option<i64>,
    /// `servicelevelaband`.
    pub service_level_aband: Option<i64>,
    /// `answerwaittime`, seconds.
    pub answer_wait_time_s: Option<i64>,
    /// `handletime`, seconds.
    pub handle_time_s: Option<i64>,
    /// `talktime`, seconds.
    pub talk_time_s: Option<i64>,
    /// `holdtime`, seconds.
    pub hold_time_s: Option<i64>,
    /// `routercallsdequeued` (`None` also when the HDS has no such column).
    pub router_calls_dequeued: Option<i64>,
}

/// One agent state change: a UCCX `agentstatedetail` or UCCE `agent_state_trace` row. Values as
/// stored (the importer maps them to normalised states); the state lasts until the agent's next
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateRow {
    /// UCCX `agentid` (= `resource.resourceid`); UCCE `skilltargetid`.
    pub agent_id: i64,
    /// When the state began, UTC. UCCX `eventdatetime` (GMT); UCCE `datetime` **plus**
    /// `timezone` minutes, exactly as [`CallTypeIntervalRow::start`].
    pub at: OffsetDateTime,
    /// UCCX `eventtype` (1–7); UCCE `agentstate` (0–14).
    pub raw_state: i64,
    /// `reasoncode` as stored (`0` is "none" on both platforms); NULL = `None`.
    pub reason_code: Option<i64>,
}

/// Reader of one reporting database. Cheap to clone (the state is shared).
#[derive(Clone)]
pub struct HistoryReader {
    inner: Arc<Inner>,
}

struct Inner {
    dialect: Dialect,
    backend: Backend,
    /// Statement timeout of data reads, milliseconds.
    read_timeout_ms: AtomicU64,
    /// Set once `call_type_interval.routercallsdequeued` turned out not to exist.
    no_dequeued_column: AtomicBool,
}

enum Backend {
    #[cfg(feature = "odbc")]
    Odbc(odbc::OdbcBackend),
    Sqlite(sqlite::SqliteBackend),
}

impl std::fmt::Debug for HistoryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => b.target(),
            Backend::Sqlite(b) => b.target(),
        };
        f.debug_struct("HistoryReader")
            .field("dialect", &self.inner.dialect)
            .field("backend", &backend)
            .finish()
    }
}

impl HistoryReader {
    /// Opens the connection (within `timeout`) and keeps it for later calls. Errors:
    /// [`HistoryError::Connect`], [`HistoryError::Auth`], [`HistoryError::FeatureDisabled`].
    pub async fn connect(
        conn: HistoryConnection,
        dialect: Dialect,
        timeout: Duration,
    ) -> Result<Self, HistoryError> {
        let backend = match conn {
            #[cfg(feature = "odbc")]
            HistoryConnection::Odbc { connection_string } => {
                Backend::Odbc(odbc::OdbcBackend::connect(connection_string, timeout).await?)
            }
            #[cfg(not(feature = "odbc"))]
            HistoryConnection::Odbc { .. } => return Err(HistoryError::FeatureDisabled),
            HistoryConnection::Sqlite { path } => {
                Backend::Sqlite(sqlite::SqliteBackend::connect(path, timeout).await?)
            }
        };
        Ok(HistoryReader {
            inner: Arc::new(Inner {
                dialect,
                backend,
                read_timeout_ms: AtomicU64::new(duration_ms(DEFAULT_READ_TIMEOUT)),
                no_dequeued_column: AtomicBool::new(false),
            }),
        })
    }

    /// Sets the statement timeout of data reads ([`Self::queues`], [`Self::queue_visits`],
    /// [`Self::call_type_intervals`]) for this reader and its clones.
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.inner
            .read_timeout_ms
            .store(duration_ms(timeout), Ordering::Relaxed);
    }

    fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.read_timeout_ms.load(Ordering::Relaxed))
    }

    /// The dialect this reader was opened with.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Verifies the connection and that the dialect's tables (with the columns read) exist;
    /// returns the tables found. A missing table is [`HistoryError::MissingTable`] naming it and
    /// suggesting the other dialect.
    pub async fn check(&self) -> Result<Vec<String>, HistoryError> {
        let dialect = self.inner.dialect;
        let mut found = Vec::new();
        for table in sql::tables(dialect) {
            let probe = sql::probe(table);
            match &self.inner.backend {
                #[cfg(feature = "odbc")]
                Backend::Odbc(b) => b.probe(dialect, table, probe).await?,
                Backend::Sqlite(b) => b.probe(dialect, table, &probe).await?,
            }
            found.push(table.to_string());
        }
        Ok(found)
    }

    /// UCCX: every `contactservicequeue` row. UCCE: every `call_type` row (`calltypeid` as both
    /// ids, `enterprisename`). A NULL id or name is [`HistoryError::BadRow`].
    pub async fn queues(&self) -> Result<Vec<QueueRecord>, HistoryError> {
        let dialect = self.inner.dialect;
        match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => b.queues(dialect, self.read_timeout()).await,
            Backend::Sqlite(b) => {
                let table = match dialect {
                    Dialect::Uccx => "contactservicequeue",
                    Dialect::Ucce => "call_type",
                };
                limited(self.read_timeout(), table, b.queues(dialect)).await
            }
        }
    }

    /// UCCX only: one [`QueueVisitRow`] per `contactqueuedetail` row with `targettype = 0` whose
    /// `startdatetime` is in `[from, to)` (UTC), joined to `contactcalldetail`,
    /// `contactservicequeue` and the per-(leg, `qindex`) sums of `agentconnectiondetail` (see
    /// [`sql::QUEUE_VISITS`]). A `targetid` matching no CSQ is [`HistoryError::UnknownQueue`].
    pub async fn queue_visits(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<QueueVisitRow>, HistoryError> {
        if self.inner.dialect != Dialect::Uccx {
            return Err(HistoryError::WrongDialect {
                operation: "queue_visits",
                dialect: self.inner.dialect,
                hint: "UCCE has no per-call queue rows here; use call_type_intervals",
            });
        }
        let from_ms = decode::odt_millis(from);
        let to_ms = decode::odt_millis(to);
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => b.queue_visits(from_ms, to_ms, self.read_timeout()).await,
            Backend::Sqlite(b) => {
                let read = b.queue_visits(from_ms, to_ms);
                limited(self.read_timeout(), "contactqueuedetail", read).await
            }
        }
    }

    /// UCCE only: `call_type_interval` rows whose start, converted to UTC, is in `[from, to)`,
    /// ordered by start and call type. A NULL `calltypeid`, `datetime` or `timezone` is
    /// [`HistoryError::BadRow`].
    pub async fn call_type_intervals(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<CallTypeIntervalRow>, HistoryError> {
        if self.inner.dialect != Dialect::Ucce {
            return Err(HistoryError::WrongDialect {
                operation: "call_type_intervals",
                dialect: self.inner.dialect,
                hint: "UCCX intervals are aggregated from queue_visits",
            });
        }
        let from_ms = decode::odt_millis(from);
        let to_ms = decode::odt_millis(to);
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        let lo = from_ms.saturating_sub(sql::UCCE_LOCAL_SLACK_MS);
        let hi = to_ms.saturating_add(sql::UCCE_LOCAL_SLACK_MS);
        let with_dequeued = !self.inner.no_dequeued_column.load(Ordering::Relaxed);
        let raw = match self.read_intervals(lo, hi, with_dequeued).await {
            Err(HistoryError::Query { message, .. })
                if with_dequeued
                    && message.to_ascii_lowercase().contains("routercallsdequeued") =>
            {
                tracing::warn!(
                    "call_type_interval has no column routercallsdequeued; reading it as NULL"
                );
                self.inner.no_dequeued_column.store(true, Ordering::Relaxed);
                self.read_intervals(lo, hi, false).await?
            }
            other => other?,
        };
        let mut rows = Vec::with_capacity(raw.len());
        for r in raw {
            let row = decode::interval(r)?;
            let start = decode::odt_millis(row.start);
            if start >= from_ms && start < to_ms {
                rows.push(row);
            }
        }
        rows.sort_by_key(|r| (r.start, r.call_type_id));
        Ok(rows)
    }

    /// Probes the agent-state table of the dialect (`agentstatedetail` / `agent_state_trace`)
    /// with the columns [`Self::agent_states`] reads; returns its name.
    pub async fn check_states(&self) -> Result<String, HistoryError> {
        let dialect = self.inner.dialect;
        let table = sql::state_table(dialect);
        let probe = sql::state_probe(dialect);
        match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => b.probe(dialect, table, probe).await?,
            Backend::Sqlite(b) => b.probe(dialect, table, &probe).await?,
        }
        Ok(table.to_string())
    }

    /// Agent state changes that began in `[from, to)` (UTC), ordered by time, agent, state and
    /// reason. UCCX reads `agentstatedetail`; UCCE reads `agent_state_trace` with the same
    /// local-time widening and per-row time-zone conversion as [`Self::call_type_intervals`].
    /// A NULL agent, time or state (UCCE: time zone) is [`HistoryError::BadRow`].
    pub async fn agent_states(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<AgentStateRow>, HistoryError> {
        let dialect = self.inner.dialect;
        let from_ms = decode::odt_millis(from);
        let to_ms = decode::odt_millis(to);
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        let (lo, hi) = match dialect {
            Dialect::Uccx => (from_ms, to_ms),
            Dialect::Ucce => (
                from_ms.saturating_sub(sql::UCCE_LOCAL_SLACK_MS),
                to_ms.saturating_add(sql::UCCE_LOCAL_SLACK_MS),
            ),
        };
        let raw = match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => b.agent_states(dialect, lo, hi, self.read_timeout()).await?,
            Backend::Sqlite(b) => {
                let read = b.agent_states(dialect, lo, hi);
                limited(self.read_timeout(), sql::state_table(dialect), read).await?
            }
        };
        let mut rows = Vec::with_capacity(raw.len());
        for r in raw {
            let row = decode::agent_state(dialect, r)?;
            let at = decode::odt_millis(row.at);
            if at >= from_ms && at < to_ms {
                rows.push(row);
            }
        }
        rows.sort_by_key(|r| (r.at, r.agent_id, r.raw_state, r.reason_code));
        Ok(rows)
    }

    async fn read_intervals(
        &self,
        lo_local_ms: i64,
        hi_local_ms: i64,
        with_dequeued: bool,
    ) -> Result<Vec<decode::RawInterval>, HistoryError> {
        match &self.inner.backend {
            #[cfg(feature = "odbc")]
            Backend::Odbc(b) => {
                b.call_type_intervals(lo_local_ms, hi_local_ms, with_dequeued, self.read_timeout())
                    .await
            }
            Backend::Sqlite(b) => {
                let read = b.call_type_intervals(lo_local_ms, hi_local_ms, with_dequeued);
                limited(self.read_timeout(), "call_type_interval", read).await
            }
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `read` within `limit` (the SQLite driver has no statement timeout of its own).
async fn limited<T>(
    limit: Duration,
    table: &str,
    read: impl std::future::Future<Output = Result<T, HistoryError>>,
) -> Result<T, HistoryError> {
    match tokio::time::timeout(limit, read).await {
        Ok(result) => result,
        Err(_) => Err(HistoryError::Timeout {
            what: format!("reading `{table}`"),
            after: limit,
        }),
    }
}

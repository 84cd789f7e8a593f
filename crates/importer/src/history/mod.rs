//! Queue statistics from reporting databases (`[[history]]`): incremental import with a
//! look-back window, backfill, repair, and CSV exports. See `docs/queue-statistics.md`.
//!
//! Every unit of work is a *window* `[from, to)` aligned to the interval length: the importer
//! reads every row of the window, builds the complete set of intervals for it and sends it as
//! one batch that replaces the window at the hub (idempotent; late rows correct earlier
//! figures). The cursor only moves after the hub accepted a window.

pub mod batch;
mod deliver;
pub mod state;
pub mod states;

use std::path::Path;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::OnceCell;
use wfm_config::{HistoryConfig, HistoryDialect};
use wfm_intervals::csv::LegReader;
use wfm_intervals::Aggregator;
use wfm_protocol::intervals::{IntervalBatchResponse, IntervalOrigin, TimeRange};
use wfm_sources::history::{Dialect, HistoryConnection, HistoryError, HistoryReader};
use wfm_telemetry::Metrics;

use crate::delivery::{DeliveryError, Kind};
use crate::error::HubError;
use crate::hub_client::HubClient;
use batch::{aligned, floor_to, BatchError, BatchSpec, Built};
use state::{BackfillProgress, StateFile};

/// Why a history import stopped. Nothing of the failed window reached the hub, and the cursor
/// did not move past it.
#[derive(Debug, thiserror::Error)]
pub enum HistoryImportError {
    /// The reporting database failed.
    #[error("source '{source_id}': {error}")]
    Database {
        /// The `[[history]]` source.
        source_id: String,
        /// What the database said.
        error: Box<HistoryError>,
    },
    /// A row could not be used.
    #[error("source '{source_id}', window {window}: {error}")]
    Data {
        /// The `[[history]]` source.
        source_id: String,
        /// The window being imported.
        window: String,
        /// The row problem.
        error: BatchError,
    },
    /// The hub refused or could not be reached.
    #[error("source '{source_id}', window {window}: {error}")]
    Hub {
        /// The `[[history]]` source.
        source_id: String,
        /// The window being imported.
        window: String,
        /// What went wrong.
        error: Box<HubError>,
    },
    /// The window could not be put in the outbox, or was not delivered / was dead-lettered.
    #[error("source '{source_id}', window {window}: {error}")]
    Delivery {
        /// The `[[history]]` source.
        source_id: String,
        /// The window being imported.
        window: String,
        /// What went wrong.
        error: Box<DeliveryError>,
    },
    /// The state file could not be read or written.
    #[error("source '{source_id}': {message}")]
    State {
        /// The `[[history]]` source.
        source_id: String,
        /// What is wrong and the fix.
        message: String,
    },
    /// A wrong argument (range, file).
    #[error("{0}")]
    Usage(String),
}

/// The outcome of one window.
#[derive(Debug, Clone)]
pub struct WindowReport {
    /// The window.
    pub window: TimeRange,
    /// Rows read from the database / file.
    pub rows_read: u64,
    /// Interval rows sent.
    pub intervals: u64,
    /// Rows left out (bad_rows = "skip").
    pub skipped: Vec<String>,
    /// Duplicated rows counted once.
    pub duplicates: Vec<String>,
    /// The hub's answer.
    pub hub: IntervalBatchResponse,
    /// Time taken.
    pub elapsed: Duration,
}

/// Progress of a multi-window run (backfill, repair, catch-up).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Windows done so far.
    pub done: u64,
    /// Windows in all.
    pub total: u64,
    /// Rows read so far.
    pub rows: u64,
}

/// One `[[history]]` source bound to the hub.
pub struct HistoryJob {
    cfg: HistoryConfig,
    hub: HubClient,
    state: StateFile,
    /// The agent-state cursor (`<source>.states.json`).
    states: StateFile,
    metrics: Metrics,
    reader: OnceCell<HistoryReader>,
    /// Through the outbox (`None`: directly).
    through: Option<deliver::Through>,
}

fn fmt_range(w: &TimeRange) -> String {
    format!("{} .. {}", rfc3339(w.from), rfc3339(w.to))
}

/// RFC 3339 text of `t` (UTC).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Splits `[from, to)` into windows of at most `chunk`, aligned to `minutes`.
pub fn windows(
    from: OffsetDateTime,
    to: OffsetDateTime,
    chunk: Duration,
    minutes: u32,
) -> Vec<TimeRange> {
    let step = time::Duration::try_from(chunk).unwrap_or(time::Duration::DAY);
    let step = step.max(time::Duration::minutes(i64::from(minutes)));
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let mut end = floor_to(at + step, minutes).min(to);
        if end <= at {
            end = to;
        }
        out.push(TimeRange { from: at, to: end });
        at = end;
    }
    out
}

impl HistoryJob {
    /// A job for `cfg`, keeping its state under `data_dir`.
    pub fn new(cfg: HistoryConfig, hub: HubClient, data_dir: &Path, metrics: Metrics) -> Self {
        let state = StateFile::new(data_dir, cfg.source_id.as_str());
        let states = StateFile::for_agent_states(data_dir, cfg.source_id.as_str());
        HistoryJob {
            cfg,
            hub,
            state,
            states,
            metrics,
            reader: OnceCell::new(),
            through: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HistoryConfig {
        &self.cfg
    }

    /// The hub client.
    pub fn hub_client(&self) -> &HubClient {
        &self.hub
    }

    /// The state file.
    pub fn state(&self) -> &StateFile {
        &self.state
    }

    fn source_id(&self) -> String {
        self.cfg.source_id.to_string()
    }

    fn spec(&self) -> BatchSpec {
        BatchSpec {
            source: self.source_id(),
            interval_minutes: self.cfg.interval_minutes,
            time_zone: self.cfg.time_zone.clone(),
            default_service_level: self.cfg.service_level,
            bad_rows: self.cfg.bad_rows,
        }
    }

    fn db_error(&self, error: HistoryError) -> HistoryImportError {
        self.metrics
            .source_error(self.cfg.source_id.as_str(), "database");
        HistoryImportError::Database {
            source_id: self.source_id(),
            error: Box::new(error),
        }
    }

    fn state_error(&self, message: String) -> HistoryImportError {
        HistoryImportError::State {
            source_id: self.source_id(),
            message,
        }
    }

    /// The connection, opened on first use.
    pub async fn reader(&self) -> Result<&HistoryReader, HistoryImportError> {
        self.reader.get_or_try_init(|| self.connect()).await
    }

    /// Opens a new connection to the reporting database.
    async fn connect(&self) -> Result<HistoryReader, HistoryImportError> {
        let conn = match (&self.cfg.sqlite_path, self.cfg.odbc_connection_string()) {
            (Some(path), _) => HistoryConnection::Sqlite { path: path.clone() },
            (None, Some(cs)) => HistoryConnection::Odbc {
                connection_string: cs,
            },
            (None, None) => {
                return Err(HistoryImportError::Usage(format!(
                    "history source '{}' has no dsn, connection_string or sqlite_path",
                    self.cfg.source_id
                )))
            }
        };
        let dialect = match self.cfg.dialect {
            HistoryDialect::Uccx => Dialect::Uccx,
            HistoryDialect::Ucce => Dialect::Ucce,
        };
        HistoryReader::connect(conn, dialect, self.cfg.timeout)
            .await
            .map_err(|e| self.db_error(e))
    }

    /// `n` connections for concurrent reads: the shared one plus `n - 1` new ones.
    async fn readers(&self, n: usize) -> Result<Vec<HistoryReader>, HistoryImportError> {
        let mut readers = vec![self.reader().await?.clone()];
        while readers.len() < n {
            readers.push(self.connect().await?);
        }
        Ok(readers)
    }

    /// Imports `list` in order: up to `[[history]] concurrency` windows are read from the
    /// database at once (each on its own connection) while earlier ones are sent; windows reach
    /// the hub strictly in order, and `delivered` runs after each one the hub accepted (so a
    /// failure leaves every earlier window delivered and no later one).
    async fn import_in_order(
        &self,
        list: Vec<TimeRange>,
        mut next: impl FnMut(&TimeRange) -> Option<state::SourceState>,
        mut delivered: impl FnMut(&WindowReport) -> Result<(), HistoryImportError>,
    ) -> Result<Vec<WindowReport>, HistoryImportError> {
        use futures::StreamExt;
        let n = self.cfg.concurrency.clamp(1, 8).min(list.len().max(1));
        let readers = self.readers(n).await?;
        let builds = list.into_iter().enumerate().map(|(k, w)| {
            let reader = readers[k % n].clone();
            async move { (Instant::now(), self.build_window_with(&reader, w).await) }
        });
        let mut stream = futures::stream::iter(builds).buffered(n);
        let mut reports = Vec::new();
        while let Some((started, built)) = stream.next().await {
            let built = built?;
            let position = next(&built.batch.window);
            let report = self.send(built, started, position.as_ref()).await?;
            delivered(&report)?;
            reports.push(report);
        }
        Ok(reports)
    }

    /// Connects and checks the dialect's tables (for `wfm-importer check`).
    pub async fn check(&self) -> Result<Vec<String>, HistoryImportError> {
        let reader = self.reader().await?;
        reader.check().await.map_err(|e| self.db_error(e))
    }

    /// Reads, aggregates and builds the batch of one window (no hub involved).
    pub async fn build_window(&self, window: TimeRange) -> Result<Built, HistoryImportError> {
        let reader = self.reader().await?.clone();
        self.build_window_with(&reader, window).await
    }

    async fn build_window_with(
        &self,
        reader: &HistoryReader,
        window: TimeRange,
    ) -> Result<Built, HistoryImportError> {
        let queues = reader.queues().await.map_err(|e| self.db_error(e))?;
        let spec = self.spec();
        let data_error = |error| HistoryImportError::Data {
            source_id: self.source_id(),
            window: fmt_range(&window),
            error,
        };
        match self.cfg.dialect {
            HistoryDialect::Uccx => {
                let rows = reader
                    .queue_visits(window.from, window.to)
                    .await
                    .map_err(|e| self.db_error(e))?;
                batch::uccx_batch(&spec, window, &queues, &rows, IntervalOrigin::UccxLegs)
                    .map_err(data_error)
            }
            HistoryDialect::Ucce => {
                let rows = reader
                    .call_type_intervals(window.from, window.to)
                    .await
                    .map_err(|e| self.db_error(e))?;
                batch::ucce_batch(&spec, window, &queues, &rows).map_err(data_error)
            }
        }
    }

    async fn send(
        &self,
        built: Built,
        started: Instant,
        next: Option<&state::SourceState>,
    ) -> Result<WindowReport, HistoryImportError> {
        let window = built.batch.window;
        let key = uuid::Uuid::new_v4().to_string();
        let direct = self.hub.post_intervals(&built.batch, &key);
        let answer = self
            .deliver_window(Kind::Intervals, &window, &built.batch, next, direct)
            .await?;
        let source = self.cfg.source_id.as_str();
        let hub = answer.unwrap_or(IntervalBatchResponse {
            inserted: 0,
            updated: 0,
            unchanged: 0,
            removed: 0,
            new_queues: 0,
        });
        for (outcome, n) in [
            ("inserted", hub.inserted),
            ("updated", hub.updated),
            ("unchanged", hub.unchanged),
            ("removed", hub.removed),
        ] {
            self.metrics.sync_objects(source, "interval", outcome, n);
        }
        self.metrics.sync_objects(
            source,
            "interval_row",
            "skipped",
            built.skipped.len() as u64,
        );
        for s in &built.skipped {
            tracing::warn!(source, row = %s, "bad row left out (bad_rows = \"skip\")");
        }
        if !built.duplicates.is_empty() {
            tracing::warn!(
                source,
                count = built.duplicates.len(),
                first = %built.duplicates[0],
                "duplicated rows in the reporting database were counted once"
            );
        }
        Ok(WindowReport {
            window,
            rows_read: built.rows_read,
            intervals: built.batch.rows.len() as u64,
            skipped: built.skipped,
            duplicates: built.duplicates,
            hub,
            elapsed: started.elapsed(),
        })
    }

    /// Reads one window and replaces it at the hub (the cursor is not moved).
    pub async fn import_window(
        &self,
        window: TimeRange,
    ) -> Result<WindowReport, HistoryImportError> {
        let started = Instant::now();
        let built = self.build_window(window).await?;
        self.send(built, started, None).await
    }

    /// The newest instant whose interval may be sent at `now`: the start of the interval
    /// containing `now - close_delay`.
    pub fn closed_until(&self, now: OffsetDateTime) -> OffsetDateTime {
        let delay = time::Duration::try_from(self.cfg.close_delay).unwrap_or(time::Duration::ZERO);
        floor_to(now - delay, self.cfg.interval_minutes)
    }

    /// The windows of an incremental run at `now`: from `cursor` minus the look-back (or, the
    /// first time, from `now - look-back`) to the last closed interval.
    pub(crate) fn incremental_windows(
        &self,
        cursor: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Vec<TimeRange> {
        let until = self.closed_until(now);
        let lookback = time::Duration::try_from(self.cfg.lookback).unwrap_or(time::Duration::HOUR);
        let from = floor_to(
            cursor.unwrap_or(until) - lookback,
            self.cfg.interval_minutes,
        );
        if from >= until {
            return Vec::new();
        }
        windows(from, until, self.cfg.chunk, self.cfg.interval_minutes)
    }

    /// A hub failure while sending `window`.
    pub(crate) fn hub_error(&self, window: &TimeRange, error: HubError) -> HistoryImportError {
        HistoryImportError::Hub {
            source_id: self.source_id(),
            window: fmt_range(window),
            error: Box::new(error),
        }
    }

    /// One incremental run: from the cursor minus the look-back (or, the first time, from
    /// `now - look-back`) to the last closed interval, window by window; the cursor advances
    /// after each window the hub accepted.
    pub async fn incremental(
        &self,
        now: OffsetDateTime,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<WindowReport>, HistoryImportError> {
        let mut state = self.position(Kind::Intervals)?;
        let list = self.incremental_windows(state.complete_until, now);
        let mut reports = Vec::new();
        let total = list.len() as u64;
        let mut rows = 0;
        for (i, w) in list.into_iter().enumerate() {
            let started = Instant::now();
            let built = self.build_window(w).await?;
            if state.complete_until.is_none_or(|c| w.to > c) {
                state.complete_until = Some(w.to);
            }
            let report = self.send(built, started, Some(&state)).await?;
            rows += report.rows_read;
            self.metrics
                .sync_last_success
                .get_or_create(&wfm_telemetry::metrics::SourceLabels {
                    source: self.source_id(),
                })
                .set(now.unix_timestamp() as f64);
            progress(Progress {
                done: i as u64 + 1,
                total,
                rows,
            });
            reports.push(report);
        }
        Ok(reports)
    }

    /// Starts the backfill of `[from, to)` recorded in `file`, or resumes it after the last
    /// delivered window when the same range was interrupted (unless `restart`). Returns the
    /// state (with the backfill recorded), the windows still to import, the number of windows
    /// in all and how many are done already.
    pub(crate) fn begin_backfill(
        &self,
        kind: Kind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        restart: bool,
        what: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(state::SourceState, Vec<TimeRange>, u64, u64), HistoryImportError> {
        let file = self.state_file(kind);
        let mut state = self.position(kind)?;
        let resume_at = match state.backfill {
            Some(b) if !restart && b.from == from && b.to == to => {
                if b.done_until > from {
                    tracing::info!(source = %self.cfg.source_id, done_until = %rfc3339(b.done_until), "resuming the interrupted {what} backfill");
                }
                b.done_until
            }
            _ => from,
        };
        state.backfill = Some(BackfillProgress {
            from,
            to,
            done_until: resume_at,
        });
        file.store(&state).map_err(|m| self.state_error(m))?;
        let all = windows(from, to, self.cfg.chunk, self.cfg.interval_minutes);
        let total = all.len() as u64;
        let done_before = all.iter().filter(|w| w.to <= resume_at).count() as u64;
        progress(Progress {
            done: done_before,
            total,
            rows: 0,
        });
        let todo = all.into_iter().filter(|w| w.to > resume_at).collect();
        Ok((state, todo, total, done_before))
    }

    /// Imports `[from, to)` window by window. Resumes a backfill of the same range that was
    /// interrupted (unless `restart`); safe to re-run (each window replaces itself at the hub).
    pub async fn backfill(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        restart: bool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<WindowReport>, HistoryImportError> {
        let (from, to) = self.align_range(from, to)?;
        let (mut state, todo, total, done_before) = self.begin_backfill(
            Kind::Intervals,
            from,
            to,
            restart,
            "queue statistics",
            progress,
        )?;
        let mut done = done_before;
        let mut rows = 0;
        self.import_in_order(
            todo,
            |window| {
                state.backfill = Some(BackfillProgress {
                    from,
                    to,
                    done_until: window.to,
                });
                Some(state.clone())
            },
            |report| {
                rows += report.rows_read;
                done += 1;
                progress(Progress { done, total, rows });
                Ok(())
            },
        )
        .await
    }

    /// Asks the hub which parts of `[from, to)` no batch covered and imports exactly those.
    pub async fn repair(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(Vec<TimeRange>, Vec<WindowReport>), HistoryImportError> {
        let (from, to) = self.align_range(from, to)?;
        let missing = self
            .hub
            .intervals_missing(self.cfg.source_id.as_str(), from, to)
            .await
            .map_err(|error| self.hub_error(&TimeRange { from, to }, error))?
            .missing;
        let list: Vec<TimeRange> = missing
            .iter()
            .flat_map(|m| {
                let f = floor_to(m.from, self.cfg.interval_minutes);
                let t = ceil_to(m.to, self.cfg.interval_minutes);
                windows(f, t, self.cfg.chunk, self.cfg.interval_minutes)
            })
            .collect();
        let total = list.len() as u64;
        let (mut done, mut rows) = (0, 0);
        let reports = self
            .import_in_order(
                list,
                |_| None,
                |report| {
                    done += 1;
                    rows += report.rows_read;
                    progress(Progress { done, total, rows });
                    Ok(())
                },
            )
            .await?;
        Ok((missing, reports))
    }

    /// Imports a CSV export of UCCX call legs (columns: `wfm_intervals::csv`). The file is
    /// authoritative for `[from, to)`; by default the range of its queue-entry times, widened to
    /// whole intervals. Rows outside the range are left out.
    pub async fn import_csv(
        &self,
        path: &Path,
        range: Option<(OffsetDateTime, OffsetDateTime)>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<WindowReport>, HistoryImportError> {
        let started = Instant::now();
        let spec = self.spec();
        let usage = |m: String| HistoryImportError::Usage(m);
        let file = std::fs::File::open(path)
            .map_err(|e| usage(format!("cannot open {}: {e}", path.display())))?;
        let reader = LegReader::new(std::io::BufReader::new(file))
            .map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let config = batch::aggregation_config(&spec, &[]);
        let mut aggregator = Aggregator::new(&config);
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        let mut skipped = Vec::new();
        let mut duplicates = Vec::new();
        let mut rows = 0u64;
        for item in reader {
            rows += 1;
            let leg = match item {
                Ok(leg) => leg,
                Err(e) => {
                    let detail = format!("{}: {e}", path.display());
                    match spec.bad_rows {
                        wfm_config::BadRowPolicy::Stop => {
                            return Err(HistoryImportError::Data {
                                source_id: self.source_id(),
                                window: path.display().to_string(),
                                error: BatchError::BadRow {
                                    table: "CSV export",
                                    detail,
                                },
                            })
                        }
                        wfm_config::BadRowPolicy::Skip => {
                            skipped.push(detail);
                            continue;
                        }
                    }
                }
            };
            if let Some((f, t)) = range {
                if leg.queue_entry.0 < batch::millis(f) || leg.queue_entry.0 >= batch::millis(t) {
                    continue;
                }
            }
            first = first.min(leg.queue_entry.0);
            last = last.max(leg.queue_entry.0);
            if !aggregator.push(&leg) {
                duplicates.push(format!(
                    "session {} leg {} queue {}",
                    leg.session.0, leg.seq, leg.queue.0
                ));
            }
        }
        let (from, to) = match range {
            Some((f, t)) => self.align_range(f, t)?,
            None if first > last => {
                return Err(usage(format!("{} holds no call legs", path.display())))
            }
            None => self.align_range(
                batch::from_millis(first),
                batch::from_millis(last) + time::Duration::MILLISECOND,
            )?,
        };
        let aggregation = aggregator.finish();
        let list = windows(from, to, self.cfg.chunk, self.cfg.interval_minutes);
        let total = list.len() as u64;
        let mut reports = Vec::new();
        for (i, w) in list.into_iter().enumerate() {
            let b = batch::batch_from_intervals(
                &spec,
                w,
                Vec::new(),
                &aggregation.intervals,
                IntervalOrigin::CsvLegs,
            );
            let built = Built {
                batch: b,
                rows_read: if i == 0 { rows } else { 0 },
                skipped: if i == 0 {
                    std::mem::take(&mut skipped)
                } else {
                    Vec::new()
                },
                duplicates: if i == 0 {
                    std::mem::take(&mut duplicates)
                } else {
                    Vec::new()
                },
            };
            reports.push(self.send(built, started, None).await?);
            progress(Progress {
                done: i as u64 + 1,
                total,
                rows,
            });
        }
        Ok(reports)
    }

    fn align_range(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), HistoryImportError> {
        let m = self.cfg.interval_minutes;
        let (f, t) = (floor_to(from, m), ceil_to(to, m));
        if t <= f {
            return Err(HistoryImportError::Usage(format!(
                "the range {} .. {} is empty; --to must be after --from",
                rfc3339(from),
                rfc3339(to)
            )));
        }
        Ok((f, t))
    }
}

/// Rounds `t` up to a multiple of `minutes`.
pub fn ceil_to(t: OffsetDateTime, minutes: u32) -> OffsetDateTime {
    if aligned(t, minutes) {
        t
    } else {
        floor_to(t, minutes) + time::Duration::minutes(i64::from(minutes))
    }
}

/// Parses a `--from`/`--to` argument: RFC 3339 (`2026-03-01T00:00:00Z`) or a date
/// (`2026-03-01`, local midnight in `time_zone`).
pub fn parse_instant(text: &str, time_zone: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.to_offset(time::UtcOffset::UTC));
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        format!("'{text}' is neither a date (2026-03-01) nor an RFC 3339 instant (2026-03-01T00:00:00Z)")
    })?;
    let zoned = date
        .in_tz(time_zone)
        .map_err(|e| format!("cannot place {text} in {time_zone}: {e}"))?;
    let ts = zoned.timestamp();
    OffsetDateTime::from_unix_timestamp(ts.as_second())
        .map_err(|e| format!("'{text}' is out of range: {e}"))
}

#[cfg(test)]
mod tests;

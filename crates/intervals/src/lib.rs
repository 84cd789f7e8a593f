//! Call records -> per-queue 15- or 30-minute intervals (the forecasting input of a WFM system).
//!
//! This crate owns: the normalised call-leg model ([`CallLeg`]), the mapping from UCCX `db_cra`
//! rows to legs ([`uccx::map_queue_visit`]), the aggregation ([`aggregate`], [`Aggregator`]) into
//! [`QueueInterval`]s with the standard UCCX/UCCE metric definitions, and a streaming CSV reader
//! ([`csv::LegReader`]) for exports of those rows. It must not do any other I/O (no ODBC, files,
//! sockets or clocks), depend on tokio, or know about the hub or the outbox.
//!
//! # Rules
//!
//! * **Attribution**: a leg counts, with *all* its figures (including talk, hold and work time
//!   that happen later), in the interval in which it **entered the queue**
//!   (`ContactQueueDetail.startdatetime`), as UCCX's own reports do. A leg is never split across
//!   intervals, so the totals of an interval are final only once every leg that entered the queue
//!   in it has ended and been written (UCCX writes a leg only after wrap-up: re-read a trailing
//!   window, duplicates are detected).
//! * **UTC only**: intervals are `[k·L, (k+1)·L)` in milliseconds since the Unix epoch, UTC, with
//!   `L` = 15 or 30 minutes ([`IntervalLength`]). There is no DST here: a local-time day of 23 or
//!   25 hours is a view the hub builds from UTC intervals (every UTC offset in use is a multiple
//!   of 15 minutes, so each UTC interval falls into exactly one local interval).
//! * **Integer milliseconds** for every time and duration (no float drift); averages and ratios
//!   are computed only when asked for ([`QueueInterval::aht`], [`QueueInterval::sl_only_handled`],
//!   ...).
//! * **Duplicates**: legs with the same (session id, sequence number, queue) are counted once, the
//!   first one wins, and every ignored copy is reported in [`Aggregation::duplicates`].
//! * Dispositions: see [`Disposition`] and [`uccx::map_queue_visit`].
//!
//! # CSV input
//!
//! See [`csv`] for the columns (the result of one documented `db_cra` join), the timestamp format
//! (`YYYY-MM-DD HH:MM:SS.mmm`, UTC) and how NULLs are written.

pub mod aggregate;
pub mod csv;
pub mod error;
pub mod interval;
pub mod leg;
pub mod timestamp;
pub mod uccx;

pub use aggregate::{aggregate, Aggregation, AggregationConfig, Aggregator, DuplicateLeg};
pub use error::{Column, LegError, RowRef};
pub use interval::{IntervalLength, QueueInterval, ServiceLevelThresholds};
pub use leg::{CallLeg, Disposition, LegKey, Millis, QueueId, SessionId, UtcMillis};

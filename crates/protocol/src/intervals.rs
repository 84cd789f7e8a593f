//! Queue statistics (15- or 30-minute intervals) between importer and hub.
//!
//! # The replace-a-window rule
//!
//! An [`IntervalBatch`] says: "for source `source`, these are **all** the intervals whose start
//! lies in `[window.from, window.to)`". The hub replaces everything it holds for that source and
//! window with the batch (queues without a row in the batch have no calls in that window), in one
//! transaction, and records the window as *covered*. Re-sending a batch is harmless: a row whose
//! figures did not change keeps its version; a changed row gets `version + 1`. This is how late
//! rows (UCCX writes a leg only after wrap-up) correct earlier figures.
//!
//! `window.from` and `window.to` are multiples of `interval_minutes` (UTC); every row's `start`
//! lies in the window and is a multiple of the interval length; the batch holds at most one row
//! per (queue, start). The hub rejects a batch that breaks one of these rules with 422 and stores
//! nothing.
//!
//! # Coverage and repair
//!
//! `GET /api/v1/intervals/missing?source=S&from=&to=` answers the parts of the range that no
//! accepted batch covered ([`MissingResponse`]); `wfm-importer repair intervals` fetches exactly
//! those.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A half-open UTC range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// Exclusive end (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
}

/// One queue as the source names it (discovered automatically from the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// The source's stable queue id: UCCX `contactservicequeueid` (never `recordid`), UCCE
    /// `CallTypeID`.
    pub id: String,
    /// Display name (UCCX `csqname` of the newest record, UCCE `EnterpriseName`).
    pub name: String,
}

/// Where the figures come from, and so which fields are meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalOrigin {
    /// Aggregated by the importer from UCCX `db_cra` call legs (every field is set).
    UccxLegs,
    /// Read as-is from UCCE HDS `Call_Type_Interval` rows (fields UCCE does not report are 0:
    /// `handled_without_talk`, `aborted`, `handled_by_script`, `handled_by_other_queue`,
    /// `queued`, `queue_time_ms`, the three `longest_*`).
    UcceCallType,
    /// Aggregated from a CSV export of UCCX call legs.
    CsvLegs,
}

/// The figures of one queue in one interval. Counts are calls (queue visits); times are totals
/// in milliseconds. Definitions: `docs/queue-statistics.md`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalFigures {
    /// Calls presented (offered).
    pub presented: u64,
    /// Answered by an agent with talk time > 0.
    pub handled: u64,
    /// UCCX `CQD.disposition = 2` with no talk time.
    #[serde(default)]
    pub handled_without_talk: u64,
    /// Abandoned in queue (including aborted).
    pub abandoned: u64,
    /// Of `abandoned`, aborted by the system.
    #[serde(default)]
    pub aborted: u64,
    /// Dequeued.
    #[serde(default)]
    pub dequeued: u64,
    /// Handled by the script.
    #[serde(default)]
    pub handled_by_script: u64,
    /// Handled by another queue.
    #[serde(default)]
    pub handled_by_other_queue: u64,
    /// Σ talk time of handled calls.
    pub talk_ms: u64,
    /// Σ hold time of handled calls.
    pub hold_ms: u64,
    /// Σ wrap-up time of handled calls.
    pub work_ms: u64,
    /// Σ answer wait of handled calls (ASA = this / handled).
    pub answer_wait_ms: u64,
    /// Σ queue time of all calls.
    #[serde(default)]
    pub queue_time_ms: u64,
    /// Calls with queue time > 0.
    #[serde(default)]
    pub queued: u64,
    /// Handled calls answered within the service-level threshold.
    pub answered_within_sl: u64,
    /// Abandoned calls that abandoned within the service-level threshold.
    pub abandoned_within_sl: u64,
    /// Longest queue time of any call.
    #[serde(default)]
    pub longest_wait_ms: u64,
    /// Longest answer wait of a handled call.
    #[serde(default)]
    pub longest_answer_wait_ms: u64,
    /// Longest wait of an abandoned call.
    #[serde(default)]
    pub longest_abandon_wait_ms: u64,
}

impl IntervalFigures {
    /// Adds `other` (sums; maxima for the `longest_*` fields).
    pub fn add(&mut self, o: &IntervalFigures) {
        self.presented += o.presented;
        self.handled += o.handled;
        self.handled_without_talk += o.handled_without_talk;
        self.abandoned += o.abandoned;
        self.aborted += o.aborted;
        self.dequeued += o.dequeued;
        self.handled_by_script += o.handled_by_script;
        self.handled_by_other_queue += o.handled_by_other_queue;
        self.talk_ms += o.talk_ms;
        self.hold_ms += o.hold_ms;
        self.work_ms += o.work_ms;
        self.answer_wait_ms += o.answer_wait_ms;
        self.queue_time_ms += o.queue_time_ms;
        self.queued += o.queued;
        self.answered_within_sl += o.answered_within_sl;
        self.abandoned_within_sl += o.abandoned_within_sl;
        self.longest_wait_ms = self.longest_wait_ms.max(o.longest_wait_ms);
        self.longest_answer_wait_ms = self.longest_answer_wait_ms.max(o.longest_answer_wait_ms);
        self.longest_abandon_wait_ms = self.longest_abandon_wait_ms.max(o.longest_abandon_wait_ms);
    }
}

/// One row of an [`IntervalBatch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalRow {
    /// [`QueueInfo::id`] of a queue listed in the batch.
    pub queue: String,
    /// Interval start, UTC (RFC 3339), a multiple of the batch's interval length.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// The figures.
    #[serde(flatten)]
    pub figures: IntervalFigures,
}

/// Body of `POST /api/v1/intervals` (see the module docs for the replace-a-window rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalBatch {
    /// The importer source id (`[[history]] source_id`).
    pub source: String,
    /// Native interval length of this source: 15 or 30. Never split or merged.
    pub interval_minutes: u32,
    /// The site's IANA time zone (e.g. `America/New_York`), for local-day views.
    pub time_zone: String,
    /// Where the figures come from.
    pub origin: IntervalOrigin,
    /// The window this batch replaces.
    pub window: TimeRange,
    /// Queues seen in the window (new ones are created; names are updated).
    pub queues: Vec<QueueInfo>,
    /// Every non-empty (queue, interval) of the window.
    pub rows: Vec<IntervalRow>,
}

/// Answer to `POST /api/v1/intervals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalBatchResponse {
    /// Rows new at the hub.
    pub inserted: u64,
    /// Rows whose figures changed (their version went up).
    pub updated: u64,
    /// Rows identical to what the hub held.
    pub unchanged: u64,
    /// Rows the hub held in the window that the batch no longer has (removed).
    pub removed: u64,
    /// Queues seen for the first time.
    pub new_queues: u64,
}

/// A queue as the hub lists it (`GET /api/v1/queues`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// The importer source id.
    pub source: String,
    /// The source's queue id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// 15 or 30.
    pub interval_minutes: u32,
    /// The site's IANA time zone.
    pub time_zone: String,
    /// Start of the newest interval stored for this queue, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest_interval: Option<OffsetDateTime>,
}

/// Query of `GET /api/v1/intervals` (and of the CSV export `GET /api/v1/intervals.csv`).
///
/// Either `from` + `to` (RFC 3339 instants) or `date` (`YYYY-MM-DD`, a local day in `tz`, which
/// has 92, 96 or 100 quarter-hours) must be given. `queue` is a comma-separated list of queue ids
/// (all queues when absent); `source` restricts to one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalQuery {
    /// One source.
    #[serde(default)]
    pub source: Option<String>,
    /// Comma-separated queue ids.
    #[serde(default)]
    pub queue: Option<String>,
    /// Range start (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// Range end, exclusive (RFC 3339).
    #[serde(default)]
    pub to: Option<String>,
    /// A local day `YYYY-MM-DD` (needs `tz`, or the queue's own time zone).
    #[serde(default)]
    pub date: Option<String>,
    /// IANA time zone for `date` and for the `local_start` column.
    #[serde(default)]
    pub tz: Option<String>,
}

/// One interval as the hub returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalView {
    /// The importer source id.
    pub source: String,
    /// The queue id.
    pub queue: String,
    /// The queue name.
    pub queue_name: String,
    /// Interval start, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// The same instant in the asked time zone (`tz`), with its offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_start: Option<String>,
    /// 15 or 30.
    pub interval_minutes: u32,
    /// How many times the figures changed after the first import (0 = never).
    pub version: u64,
    /// The figures.
    #[serde(flatten)]
    pub figures: IntervalFigures,
}

/// Answer to `GET /api/v1/intervals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalsResponse {
    /// The range actually returned.
    pub range: TimeRange,
    /// The time zone of `local_start`, if one was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Rows ordered by (start, source, queue).
    pub intervals: Vec<IntervalView>,
    /// Sum over `intervals` (maxima for `longest_*`).
    pub totals: IntervalFigures,
}

/// Answer to `GET /api/v1/intervals/missing?source=&from=&to=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingResponse {
    /// The source asked about.
    pub source: String,
    /// Maximal sub-ranges of the asked range that no accepted batch covered, in order.
    pub missing: Vec<TimeRange>,
}

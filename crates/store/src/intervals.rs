//! Backend-neutral parts of the queue-interval store: batch validation, epoch-millisecond
//! conversions, the comparison of a batch with the stored rows of its window, and coverage
//! arithmetic. The SQL lives in `shared/intervals.rs` (included by both backends).

use crate::common::{Batch, Val};
use crate::error::StoreError;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use wfm_protocol::intervals::{IntervalBatch, IntervalBatchResponse, IntervalFigures, TimeRange};

/// Interval lengths the hub accepts, in minutes.
pub const INTERVAL_LENGTHS: [u32; 2] = [15, 30];

/// At most this many problems are listed in a rejection (the rest are counted).
const MAX_PROBLEMS: usize = 20;

/// The figure columns of `intervals`, in [`figures_to_array`] order.
pub(crate) const FIGURE_COLUMNS: &str = "presented, handled, handled_without_talk, abandoned, \
    aborted, dequeued, handled_by_script, handled_by_other_queue, talk_ms, hold_ms, work_ms, \
    answer_wait_ms, queue_time_ms, queued, answered_within_sl, abandoned_within_sl, \
    longest_wait_ms, longest_answer_wait_ms, longest_abandon_wait_ms";

/// Number of figure columns.
pub(crate) const FIGURE_COUNT: usize = 19;

/// Every column of `intervals`, in the order [`IntervalDiff::write`] rows are pushed.
pub(crate) const INTERVAL_COLUMNS: &[&str] = &[
    "project_id",
    "source",
    "queue_id",
    "start_ms",
    "interval_minutes",
    "presented",
    "handled",
    "handled_without_talk",
    "abandoned",
    "aborted",
    "dequeued",
    "handled_by_script",
    "handled_by_other_queue",
    "talk_ms",
    "hold_ms",
    "work_ms",
    "answer_wait_ms",
    "queue_time_ms",
    "queued",
    "answered_within_sl",
    "abandoned_within_sl",
    "longest_wait_ms",
    "longest_answer_wait_ms",
    "longest_abandon_wait_ms",
    "version",
    "updated_at",
];

/// The figures as an array, in [`FIGURE_COLUMNS`] order.
pub(crate) fn figures_to_array(f: &IntervalFigures) -> [u64; FIGURE_COUNT] {
    [
        f.presented,
        f.handled,
        f.handled_without_talk,
        f.abandoned,
        f.aborted,
        f.dequeued,
        f.handled_by_script,
        f.handled_by_other_queue,
        f.talk_ms,
        f.hold_ms,
        f.work_ms,
        f.answer_wait_ms,
        f.queue_time_ms,
        f.queued,
        f.answered_within_sl,
        f.abandoned_within_sl,
        f.longest_wait_ms,
        f.longest_answer_wait_ms,
        f.longest_abandon_wait_ms,
    ]
}

/// The figures from an array in [`FIGURE_COLUMNS`] order.
pub(crate) fn figures_from_array(a: [u64; FIGURE_COUNT]) -> IntervalFigures {
    IntervalFigures {
        presented: a[0],
        handled: a[1],
        handled_without_talk: a[2],
        abandoned: a[3],
        aborted: a[4],
        dequeued: a[5],
        handled_by_script: a[6],
        handled_by_other_queue: a[7],
        talk_ms: a[8],
        hold_ms: a[9],
        work_ms: a[10],
        answer_wait_ms: a[11],
        queue_time_ms: a[12],
        queued: a[13],
        answered_within_sl: a[14],
        abandoned_within_sl: a[15],
        longest_wait_ms: a[16],
        longest_answer_wait_ms: a[17],
        longest_abandon_wait_ms: a[18],
    }
}

/// UTC epoch milliseconds of an instant (sub-millisecond parts are dropped; saturates far
/// outside the supported years).
pub fn to_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The instant of stored epoch milliseconds.
pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt(format!("stored interval time {ms}: {e}")))
}

/// RFC 3339 text of an instant, for messages.
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// True when `t` is a whole multiple of `minutes` since the Unix epoch (UTC).
fn aligned(t: OffsetDateTime, minutes: u32) -> bool {
    let step = i128::from(minutes) * 60 * 1_000_000_000;
    step > 0 && t.unix_timestamp_nanos().rem_euclid(step) == 0
}

/// Collects problems, keeping the first [`MAX_PROBLEMS`] and counting the rest.
#[derive(Default)]
struct Problems {
    list: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list
                .push(format!("… and {} more problems of this kind", self.more));
        }
        self.list
    }
}

/// Checks the rules of the replace-a-window contract that need no stored data (see
/// [`wfm_protocol::intervals`]): a non-empty source and time zone, an interval length of 15 or
/// 30 minutes, a non-empty window aligned to it, non-empty unique queue ids, and rows that name
/// a listed queue, start inside the window on an interval boundary, appear once per
/// (queue, start) and hold figures below 2^63. Rows are numbered from 1 in the order sent.
/// Returns the problems (empty when the batch is valid).
pub fn validate_interval_batch(batch: &IntervalBatch) -> Vec<String> {
    let mut problems = Problems::default();
    let minutes = batch.interval_minutes;
    if batch.source.trim().is_empty() {
        problems.push("source is empty".to_string());
    }
    if batch.time_zone.trim().is_empty() {
        problems.push("time_zone is empty: give the site's IANA time zone".to_string());
    }
    let length_ok = INTERVAL_LENGTHS.contains(&minutes);
    if !length_ok {
        problems.push(format!(
            "interval_minutes is {minutes}: only 15 or 30 are accepted"
        ));
    }
    let window = batch.window;
    if window.from >= window.to {
        problems.push(format!(
            "window is empty: from {} is not before to {}",
            rfc3339(window.from),
            rfc3339(window.to)
        ));
    }
    if length_ok {
        for (name, t) in [("from", window.from), ("to", window.to)] {
            if !aligned(t, minutes) {
                problems.push(format!(
                    "window.{name} {} is not a multiple of {minutes} minutes",
                    rfc3339(t)
                ));
            }
        }
    }
    let mut queues: HashSet<&str> = HashSet::with_capacity(batch.queues.len());
    for queue in &batch.queues {
        if queue.id.is_empty() {
            problems.push("a queue has an empty id".to_string());
        } else if !queues.insert(queue.id.as_str()) {
            problems.push(format!("queue {} is listed twice", queue.id));
        }
    }
    let mut seen: HashSet<(&str, i128)> = HashSet::with_capacity(batch.rows.len());
    for (i, row) in batch.rows.iter().enumerate() {
        let n = i + 1;
        let start = rfc3339(row.start);
        if !queues.contains(row.queue.as_str()) {
            problems.push(format!(
                "row {n}: queue {} is not listed in queues",
                row.queue
            ));
        }
        if row.start < window.from || row.start >= window.to {
            problems.push(format!(
                "row {n}: start {start} is outside the window [{}, {})",
                rfc3339(window.from),
                rfc3339(window.to)
            ));
        }
        if length_ok && !aligned(row.start, minutes) {
            problems.push(format!(
                "row {n}: start {start} is not a multiple of {minutes} minutes"
            ));
        }
        if !seen.insert((row.queue.as_str(), row.start.unix_timestamp_nanos())) {
            problems.push(format!(
                "row {n}: queue {} at {start} appears more than once",
                row.queue
            ));
        }
        if figures_to_array(&row.figures)
            .iter()
            .any(|v| i64::try_from(*v).is_err())
        {
            problems.push(format!("row {n}: a figure is larger than {}", i64::MAX));
        }
    }
    problems.finish()
}

/// Checks the batch's interval length against the queues the hub holds for its source
/// (`stored`: queue id → interval minutes). A queue never changes its interval length.
pub(crate) fn check_stored_lengths(
    batch: &IntervalBatch,
    stored: &HashMap<String, i32>,
) -> Vec<String> {
    let mut problems = Problems::default();
    for queue in &batch.queues {
        let Some(&held) = stored.get(&queue.id) else {
            continue;
        };
        if i64::from(held) != i64::from(batch.interval_minutes) {
            problems.push(format!(
                "queue {}: the batch has {}-minute intervals but the hub holds {held}-minute \
                 intervals for this queue; a queue's interval length cannot change",
                queue.id, batch.interval_minutes
            ));
        }
    }
    problems.finish()
}

/// One stored interval of the batch's window.
pub(crate) struct StoredInterval {
    /// Queue id.
    pub queue: String,
    /// Start, epoch milliseconds.
    pub start_ms: i64,
    /// The figures.
    pub figures: IntervalFigures,
    /// Its version.
    pub version: i64,
}

/// What applying a batch changes.
pub(crate) struct IntervalDiff {
    /// Rows to insert: new ones (version 0) and changed ones (version + 1).
    pub write: Batch,
    /// Keys to delete first: changed rows (re-inserted from `write`) and removed rows.
    pub delete: Vec<(String, i64)>,
    /// The counts answered to the importer (`new_queues` is filled by the caller).
    pub counts: IntervalBatchResponse,
}

/// Compares the batch (already validated) with the stored rows of its window.
pub(crate) fn diff_intervals(
    project: &str,
    batch: &IntervalBatch,
    stored: Vec<StoredInterval>,
    stamp: &str,
) -> Result<IntervalDiff, StoreError> {
    let mut held: HashMap<(String, i64), (IntervalFigures, i64)> = stored
        .into_iter()
        .map(|s| ((s.queue, s.start_ms), (s.figures, s.version)))
        .collect();
    let mut diff = IntervalDiff {
        write: Batch::new("intervals", INTERVAL_COLUMNS),
        delete: Vec::new(),
        counts: IntervalBatchResponse {
            inserted: 0,
            updated: 0,
            unchanged: 0,
            removed: 0,
            new_queues: 0,
        },
    };
    for row in &batch.rows {
        let key = (row.queue.clone(), to_ms(row.start));
        let version = match held.remove(&key) {
            None => {
                diff.counts.inserted += 1;
                0
            }
            Some((figures, _)) if figures == row.figures => {
                diff.counts.unchanged += 1;
                continue;
            }
            Some((_, version)) => {
                diff.counts.updated += 1;
                diff.delete.push(key.clone());
                version.saturating_add(1)
            }
        };
        let mut values: Vec<Val> = Vec::with_capacity(INTERVAL_COLUMNS.len());
        values.push(Val::T(project.to_string()));
        values.push(Val::T(batch.source.clone()));
        values.push(Val::T(key.0));
        values.push(Val::L(key.1));
        values.push(Val::I(
            i32::try_from(batch.interval_minutes).unwrap_or(i32::MAX),
        ));
        for v in figures_to_array(&row.figures) {
            values.push(Val::L(i64::try_from(v).unwrap_or(i64::MAX)));
        }
        values.push(Val::L(version));
        values.push(Val::T(stamp.to_string()));
        let row: [Val; 26] = values
            .try_into()
            .map_err(|_| StoreError::corrupt("interval row has the wrong width"))?;
        diff.write.push(row)?;
    }
    diff.counts.removed = u64::try_from(held.len()).unwrap_or(u64::MAX);
    let mut removed: Vec<(String, i64)> = held.into_keys().collect();
    removed.sort();
    diff.delete.extend(removed);
    Ok(diff)
}

/// The range covering `new` and every stored range that overlaps or touches it.
pub(crate) fn merge_range(new: (i64, i64), touching: &[(i64, i64)]) -> (i64, i64) {
    touching
        .iter()
        .fold(new, |(from, to), &(f, t)| (from.min(f), to.max(t)))
}

/// The parts of `[from, to)` that the `covered` ranges (sorted by start) leave open.
pub(crate) fn gaps(covered: &[(i64, i64)], from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut cursor = from;
    for &(f, t) in covered {
        if t <= cursor {
            continue;
        }
        if f >= to {
            break;
        }
        if f > cursor {
            out.push((cursor, f.min(to)));
        }
        cursor = cursor.max(t);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out
}

/// A [`TimeRange`] from epoch milliseconds.
pub(crate) fn range_from_ms(from: i64, to: i64) -> Result<TimeRange, StoreError> {
    Ok(TimeRange {
        from: from_ms(from)?,
        to: from_ms(to)?,
    })
}

/// The newest stored interval of one queue (for the freshness metric).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewestInterval {
    /// The importer source id.
    pub source: String,
    /// The queue id.
    pub queue: String,
    /// Start of the newest stored interval.
    pub start: OffsetDateTime,
    /// Its length in minutes (15 or 30).
    pub interval_minutes: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_cover_the_open_parts_only() {
        assert_eq!(gaps(&[], 0, 10), vec![(0, 10)]);
        assert_eq!(gaps(&[(0, 10)], 0, 10), vec![]);
        assert_eq!(
            gaps(&[(2, 4), (6, 8)], 0, 10),
            vec![(0, 2), (4, 6), (8, 10)]
        );
        assert_eq!(gaps(&[(-5, 3), (9, 20)], 0, 10), vec![(3, 9)]);
        assert_eq!(gaps(&[(20, 30)], 0, 10), vec![(0, 10)]);
    }

    #[test]
    fn merged_ranges_span_every_touching_range() {
        assert_eq!(merge_range((5, 10), &[]), (5, 10));
        assert_eq!(merge_range((5, 10), &[(0, 5), (10, 12)]), (0, 12));
    }

    #[test]
    fn alignment_is_checked_to_the_nanosecond() {
        let t = time::macros::datetime!(2026-03-01 10:15:00 UTC);
        assert!(aligned(t, 15));
        assert!(!aligned(t, 30));
        assert!(!aligned(t + time::Duration::milliseconds(1), 15));
    }
}

//! Building one [`IntervalBatch`] from what a reporting database returned for a window (pure).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use time::OffsetDateTime;
use wfm_config::BadRowPolicy;
use wfm_intervals::uccx::{map_queue_visit, QueueVisitRow};
use wfm_intervals::{
    AggregationConfig, Aggregator, IntervalLength, QueueId, QueueInterval, ServiceLevelThresholds,
};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalFigures, IntervalOrigin, IntervalRow, QueueInfo, TimeRange,
};
use wfm_sources::history::{CallTypeIntervalRow, QueueRecord};

/// Where the batch goes and how its intervals are cut.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    /// `[[history]] source_id`.
    pub source: String,
    /// 15 or 30.
    pub interval_minutes: u32,
    /// IANA zone of the site.
    pub time_zone: String,
    /// Threshold for queues without their own.
    pub default_service_level: Duration,
    /// Stop or skip on a bad row.
    pub bad_rows: BadRowPolicy,
}

/// A built batch with what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Built {
    /// The batch to send.
    pub batch: IntervalBatch,
    /// Rows read from the database.
    pub rows_read: u64,
    /// Rows left out under `bad_rows = "skip"`, with the reason.
    pub skipped: Vec<String>,
    /// Duplicated legs counted once (key and a description).
    pub duplicates: Vec<String>,
}

/// Why a window cannot become a batch.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A row failed validation (and `bad_rows = "stop"`).
    #[error("{table} {detail}; fix the row in the reporting database, or set bad_rows = \"skip\" for this source to leave such rows out")]
    BadRow {
        /// Table(s) the row comes from.
        table: &'static str,
        /// What is wrong, naming the row and the column.
        detail: String,
    },
    /// The window is not aligned to the interval length.
    #[error("window {0} is not aligned to the interval length")]
    Misaligned(String),
}

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The interval length of `minutes` (15 unless 30).
pub fn length_of(minutes: u32) -> IntervalLength {
    if minutes == 30 {
        IntervalLength::Thirty
    } else {
        IntervalLength::Fifteen
    }
}

/// Floors `t` to a multiple of `minutes` (UTC).
pub fn floor_to(t: OffsetDateTime, minutes: u32) -> OffsetDateTime {
    let len = i64::from(minutes) * 60_000;
    from_millis(millis(t).div_euclid(len) * len)
}

/// Whether `t` is a multiple of `minutes`.
pub fn aligned(t: OffsetDateTime, minutes: u32) -> bool {
    millis(t).rem_euclid(i64::from(minutes) * 60_000) == 0
}

/// One [`QueueInfo`] per logical queue: the newest record's name (highest `recordid`).
pub fn queue_infos(records: &[QueueRecord]) -> Vec<QueueInfo> {
    let mut newest: BTreeMap<i64, &QueueRecord> = BTreeMap::new();
    for r in records {
        let keep = newest
            .get(&r.queue_id)
            .is_none_or(|n| r.record_id > n.record_id);
        if keep {
            newest.insert(r.queue_id, r);
        }
    }
    newest
        .values()
        .map(|r| QueueInfo {
            id: r.queue_id.to_string(),
            name: r.name.clone(),
        })
        .collect()
}

fn check_window(window: &TimeRange, minutes: u32) -> Result<(), BatchError> {
    if !aligned(window.from, minutes) || !aligned(window.to, minutes) || window.to <= window.from {
        return Err(BatchError::Misaligned(format!(
            "{} .. {}",
            window.from, window.to
        )));
    }
    Ok(())
}

fn figures(i: &QueueInterval) -> IntervalFigures {
    IntervalFigures {
        presented: i.presented,
        handled: i.handled,
        handled_without_talk: i.handled_without_talk,
        abandoned: i.abandoned,
        aborted: i.aborted,
        dequeued: i.dequeued,
        handled_by_script: i.handled_by_script,
        handled_by_other_queue: i.handled_by_other_queue,
        talk_ms: i.talk.0,
        hold_ms: i.hold.0,
        work_ms: i.work.0,
        answer_wait_ms: i.answer_wait.0,
        queue_time_ms: i.queue_time.0,
        queued: i.queued,
        answered_within_sl: i.answered_within_sl,
        abandoned_within_sl: i.abandoned_within_sl,
        longest_wait_ms: i.longest_wait.0,
        longest_answer_wait_ms: i.longest_answer_wait.0,
        longest_abandon_wait_ms: i.longest_abandon_wait.0,
    }
}

/// UCCX: validates and aggregates the legs of `window` into a batch replacing that window.
///
/// Legs entering a queue outside the window are an error of the reader, not expected here; they
/// are left out. Every queue of the CSQ table is listed (so a new CSQ appears at the hub before
/// its first call).
pub fn uccx_batch(
    spec: &BatchSpec,
    window: TimeRange,
    queues: &[QueueRecord],
    rows: &[QueueVisitRow],
    origin: IntervalOrigin,
) -> Result<Built, BatchError> {
    check_window(&window, spec.interval_minutes)?;
    let config = aggregation_config(spec, queues);
    let (from, to) = (millis(window.from), millis(window.to));
    let mut aggregator = Aggregator::with_capacity(&config, rows.len());
    let mut skipped = Vec::new();
    let mut duplicates = Vec::new();
    for row in rows {
        let leg = match map_queue_visit(row, None) {
            Ok(leg) => leg,
            Err(e) => {
                let detail = e.to_string();
                match spec.bad_rows {
                    BadRowPolicy::Stop => {
                        return Err(BatchError::BadRow {
                            table: "contactqueuedetail/contactcalldetail/agentconnectiondetail",
                            detail,
                        })
                    }
                    BadRowPolicy::Skip => {
                        skipped.push(detail);
                        continue;
                    }
                }
            }
        };
        if leg.queue_entry.0 < from || leg.queue_entry.0 >= to {
            continue;
        }
        if !aggregator.push(&leg) {
            duplicates.push(format!(
                "session {} leg {} queue {}",
                leg.session.0, leg.seq, leg.queue.0
            ));
        }
    }
    let aggregation = aggregator.finish();
    Ok(Built {
        batch: batch_from_intervals(
            spec,
            window,
            queue_infos(queues),
            &aggregation.intervals,
            origin,
        ),
        rows_read: rows.len() as u64,
        skipped,
        duplicates,
    })
}

/// The service-level thresholds per queue from the CSQ table (newest record wins).
pub fn aggregation_config(spec: &BatchSpec, queues: &[QueueRecord]) -> AggregationConfig {
    let default = ServiceLevelThresholds {
        answer_within: spec.default_service_level,
        abandon_within: spec.default_service_level,
    };
    let mut config = AggregationConfig {
        interval: length_of(spec.interval_minutes),
        service_level: default,
        queue_service_levels: BTreeMap::new(),
    };
    let mut newest: BTreeMap<i64, i64> = BTreeMap::new();
    for q in queues {
        let Some(sl) = q.service_level_s.filter(|s| *s > 0) else {
            continue;
        };
        let Ok(id) = u32::try_from(q.queue_id) else {
            continue;
        };
        if newest.get(&q.queue_id).is_none_or(|r| q.record_id > *r) {
            newest.insert(q.queue_id, q.record_id);
            let t = Duration::from_secs(sl.unsigned_abs());
            config.queue_service_levels.insert(
                QueueId(id),
                ServiceLevelThresholds {
                    answer_within: t,
                    abandon_within: t,
                },
            );
        }
    }
    config
}

/// A batch replacing `window` with the `intervals` that start in it (others are left out).
pub fn batch_from_intervals(
    spec: &BatchSpec,
    window: TimeRange,
    mut infos: Vec<QueueInfo>,
    intervals: &[QueueInterval],
    origin: IntervalOrigin,
) -> IntervalBatch {
    let known: BTreeSet<String> = infos.iter().map(|q| q.id.clone()).collect();
    let mut rows_out = Vec::new();
    for i in intervals {
        let start = from_millis(i.start.0);
        if start < window.from || start >= window.to {
            continue;
        }
        let id = i.queue.0.to_string();
        if !known.contains(&id) {
            // The reader joins the CSQ table, so this is only reachable from CSV input.
            infos.push(QueueInfo {
                id: id.clone(),
                name: format!("CSQ {id}"),
            });
        }
        rows_out.push(IntervalRow {
            queue: id,
            start,
            figures: figures(i),
        });
    }
    infos.sort_by(|a, b| a.id.cmp(&b.id));
    infos.dedup_by(|a, b| a.id == b.id);
    rows_out.sort_by(|a, b| (a.start, &a.queue).cmp(&(b.start, &b.queue)));
    IntervalBatch {
        source: spec.source.clone(),
        interval_minutes: spec.interval_minutes,
        time_zone: spec.time_zone.clone(),
        origin,
        window,
        queues: infos,
        rows: rows_out,
    }
}

fn count(v: Option<i64>, what: &str, row: &CallTypeIntervalRow) -> Result<u64, String> {
    match v {
        None => Ok(0),
        Some(n) if n < 0 => Err(format!(
            "call type {} at {}: {what} is negative ({n})",
            row.call_type_id, row.start
        )),
        Some(n) => Ok(n.unsigned_abs()),
    }
}

fn ucce_figures(r: &CallTypeIntervalRow) -> Result<IntervalFigures, String> {
    let talk = count(r.talk_time_s, "TalkTime", r)?;
    let hold = count(r.hold_time_s, "HoldTime", r)?;
    let handle = count(r.handle_time_s, "HandleTime", r)?;
    Ok(IntervalFigures {
        presented: count(r.calls_offered, "CallsOffered", r)?,
        handled: count(r.calls_handled, "CallsHandled", r)?,
        abandoned: count(r.total_calls_aband, "TotalCallsAband", r)?,
        dequeued: count(r.router_calls_dequeued, "RouterCallsDequeued", r)?,
        talk_ms: talk * 1000,
        hold_ms: hold * 1000,
        // HandleTime = talk + hold + work (UCCE), so work is what remains.
        work_ms: handle.saturating_sub(talk + hold) * 1000,
        answer_wait_ms: count(r.answer_wait_time_s, "AnswerWaitTime", r)? * 1000,
        answered_within_sl: count(r.service_level_calls, "ServiceLevelCalls", r)?,
        abandoned_within_sl: count(r.service_level_aband, "ServiceLevelAband", r)?,
        ..IntervalFigures::default()
    })
}

/// UCCE: takes `Call_Type_Interval` rows as they are (native length, never split).
pub fn ucce_batch(
    spec: &BatchSpec,
    window: TimeRange,
    queues: &[QueueRecord],
    rows: &[CallTypeIntervalRow],
) -> Result<Built, BatchError> {
    check_window(&window, spec.interval_minutes)?;
    let mut skipped = Vec::new();
    let mut out: BTreeMap<(OffsetDateTime, i64), IntervalFigures> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for r in rows {
        let problem = if !aligned(r.start, spec.interval_minutes) {
            Some(format!(
                "call type {} at {}: not on a {}-minute boundary (is the HDS configured for {} minutes? set interval_minutes to the HDS's own length)",
                r.call_type_id, r.start, spec.interval_minutes, if spec.interval_minutes == 15 { 30 } else { 15 }
            ))
        } else {
            None
        };
        let result = match problem {
            Some(p) => Err(p),
            None => ucce_figures(r),
        };
        let f = match result {
            Ok(f) => f,
            Err(detail) => match spec.bad_rows {
                BadRowPolicy::Stop => {
                    return Err(BatchError::BadRow {
                        table: "call_type_interval",
                        detail,
                    })
                }
                BadRowPolicy::Skip => {
                    skipped.push(detail);
                    continue;
                }
            },
        };
        if r.start < window.from || r.start >= window.to {
            continue;
        }
        match out.entry((r.start, r.call_type_id)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(f);
            }
            std::collections::btree_map::Entry::Occupied(_) => {
                duplicates.push(format!("call type {} at {}", r.call_type_id, r.start))
            }
        }
    }
    let mut infos = queue_infos(queues);
    let known: BTreeSet<String> = infos.iter().map(|q| q.id.clone()).collect();
    let mut rows_out = Vec::with_capacity(out.len());
    for ((start, id), figures) in out {
        let id = id.to_string();
        if !known.contains(&id) {
            infos.push(QueueInfo {
                id: id.clone(),
                name: format!("Call type {id}"),
            });
        }
        rows_out.push(IntervalRow {
            queue: id,
            start,
            figures,
        });
    }
    infos.sort_by(|a, b| a.id.cmp(&b.id));
    infos.dedup_by(|a, b| a.id == b.id);
    Ok(Built {
        batch: IntervalBatch {
            source: spec.source.clone(),
            interval_minutes: spec.interval_minutes,
            time_zone: spec.time_zone.clone(),
            origin: IntervalOrigin::UcceCallType,
            window,
            queues: infos,
            rows: rows_out,
        },
        rows_read: rows.len() as u64,
        skipped,
        duplicates,
    })
}

#[cfg(test)]
mod tests;

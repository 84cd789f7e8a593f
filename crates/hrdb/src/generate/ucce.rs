//! UCCE `call_type_interval`: the same legs aggregated per call type (= logical CSQ) and
//! native interval.
//!
//! Attribution (documented in the crate docs): offered in the interval the leg entered the
//! queue; answered, answer wait and service-level calls when the agent's phone rang; handled,
//! handle/talk/hold time when wrap-up completed; abandoned when the caller hung up; RONA when
//! the ring timed out; a leg's service-level outcome is decided at answer, at abandon, or when
//! the threshold passes while still queued.

use std::collections::BTreeMap;

use crate::clock::{UtcMillis, MINUTE};
use crate::model::{CallTypeIntervalRow, Centre};
use crate::spec::HrdbSpec;

/// What happened to one leg, for the aggregation.
#[derive(Clone, Debug)]
pub struct LegOutcome {
    csq: i32,
    entry: i64,
    threshold_ms: i64,
    /// (ring start, answer, queue wait ms)
    answered: Option<(i64, i64, i64)>,
    /// (hang-up, wait ms)
    abandoned: Option<(i64, i64)>,
    /// (left the queue, wait ms) for script-handled legs
    left: Option<(i64, i64)>,
    /// (wrap-up end, talk, hold, work)
    handled: Option<(i64, i32, i32, i32)>,
    rona: Option<i64>,
}

impl LegOutcome {
    /// A leg of logical CSQ `csq` that entered the queue at `entry`.
    pub fn new(csq: i32, entry: i64, threshold_ms: i64) -> LegOutcome {
        LegOutcome {
            csq,
            entry,
            threshold_ms,
            answered: None,
            abandoned: None,
            left: None,
            handled: None,
            rona: None,
        }
    }

    /// The caller hung up (or the call aborted) at `at` after waiting `wait_ms`.
    pub fn abandon(&mut self, at: i64, wait_ms: i64) {
        self.abandoned = Some((at, wait_ms));
    }

    /// The script took the leg out of the queue.
    pub fn left_queue(&mut self, at: i64, wait_ms: i64) {
        self.left = Some((at, wait_ms));
    }

    /// An agent's phone rang at `ring_start` and the agent answered at `answer`.
    pub fn answer(&mut self, ring_start: i64, answer: i64, wait_ms: i64) {
        self.answered = Some((ring_start, answer, wait_ms));
    }

    /// Wrap-up completed at `wrap_end`.
    pub fn handle(&mut self, wrap_end: i64, talk: i32, hold: i32, work: i32) {
        self.handled = Some((wrap_end, talk, hold, work));
    }

    /// A presentation rang out at `at`.
    pub fn rona(&mut self, at: i64) {
        self.rona = Some(at);
    }
}

/// Aggregates the outcomes into one row per call type per interval, from the range start to
/// the interval of the last event, zero rows included.
pub fn aggregate(
    spec: &HrdbSpec,
    from: UtcMillis,
    outcomes: &[LegOutcome],
) -> Vec<CallTypeIntervalRow> {
    let len = i64::from(spec.interval_minutes) * MINUTE;
    let offset = i64::from(spec.utc_offset_minutes) * MINUTE;
    // Intervals align on the central controller's local clock.
    let index = |at: i64| (at + offset).div_euclid(len);
    let first = index(from.0);
    let mut last = index(from.0 + i64::from(spec.days) * crate::clock::DAY - 1);
    let mut cells: BTreeMap<(i64, i32), CallTypeIntervalRow> = BTreeMap::new();
    fn cell(
        cells: &mut BTreeMap<(i64, i32), CallTypeIntervalRow>,
        idx: i64,
        csq: i32,
    ) -> &mut CallTypeIntervalRow {
        cells.entry((idx, csq)).or_default()
    }
    for o in outcomes {
        cell(&mut cells, index(o.entry), o.csq).callsoffered += 1;
        if let Some((ring_start, _answer, wait)) = o.answered {
            let row = cell(&mut cells, index(ring_start), o.csq);
            let wait_s = (wait / 1000) as i32;
            row.callsanswered += 1;
            row.answerwaittime += wait_s;
            row.routerqueuecalls += 1;
            row.routerqueuewaittime += wait_s;
            if wait <= o.threshold_ms {
                row.servicelevelcalls += 1;
                row.servicelevelcallsoffered += 1;
            }
        }
        if let Some((at, wait)) = o.abandoned {
            let row = cell(&mut cells, index(at), o.csq);
            let wait_s = (wait / 1000) as i32;
            row.totalcallsaband += 1;
            row.routercallsabandq += 1;
            row.calldelayabandtime += wait_s;
            row.routerqueuecalls += 1;
            row.routerqueuewaittime += wait_s;
            if wait <= o.threshold_ms {
                row.servicelevelaband += 1;
                row.servicelevelcallsoffered += 1;
            }
        }
        if let Some((at, wait)) = o.left {
            let row = cell(&mut cells, index(at), o.csq);
            row.routerqueuecalls += 1;
            row.routerqueuewaittime += (wait / 1000) as i32;
        }
        let waited = o
            .answered
            .map(|a| a.2)
            .or(o.abandoned.map(|a| a.1))
            .or(o.left.map(|l| l.1))
            .unwrap_or(0);
        if waited > o.threshold_ms {
            cell(&mut cells, index(o.entry + o.threshold_ms), o.csq).servicelevelcallsoffered += 1;
        }
        if let Some((at, talk, hold, work)) = o.handled {
            let row = cell(&mut cells, index(at), o.csq);
            row.callshandled += 1;
            row.handletime += talk + hold + work;
            row.talktime += talk;
            row.holdtime += hold;
        }
        if let Some(at) = o.rona {
            cell(&mut cells, index(at), o.csq).callsrona += 1;
        }
    }
    if let Some(((idx, _), _)) = cells.iter().next_back() {
        last = last.max(*idx);
    }
    let mut rows = Vec::new();
    for idx in first..=last {
        for csq in 1..=spec.csqs as i32 {
            let mut row = cells.remove(&(idx, csq)).unwrap_or_default();
            row.calltypeid = Centre::call_type_id(csq);
            row.start = UtcMillis(idx * len - offset);
            rows.push(row);
        }
    }
    rows
}

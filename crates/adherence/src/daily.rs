//! Daily adherence and conformance per agent, and team totals.

use std::time::Duration;

use serde::Serialize;
use wfm_protocol::intervals::TimeRange;

use crate::evaluate::{evaluate, from_ms, to_ms, Inputs};
use crate::model::Status;
use crate::rules::is_in_service;

/// How far around a shift worked time still counts for conformance (Calabrio shows states
/// outside the shift ±1 h and ignores the rest).
pub const CONFORMANCE_MARGIN: Duration = Duration::from_secs(3600);

/// Summable totals in milliseconds; the percentages are computed from them, so team totals
/// are sums of minutes, never averages of percentages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Scheduled time (every activity).
    pub scheduled_ms: i64,
    /// Scheduled time in adherence.
    pub in_ms: i64,
    /// Scheduled time out of adherence.
    pub out_ms: i64,
    /// Scheduled time neutral.
    pub neutral_ms: i64,
    /// Scheduled in-service (open) time.
    pub scheduled_in_service_ms: i64,
    /// Time in an in-service state within the shifts ±[`CONFORMANCE_MARGIN`], whatever was
    /// scheduled then.
    pub worked_ms: i64,
    /// Σ per agent-day of min(worked, scheduled in-service).
    pub worked_capped_ms: i64,
}

fn percent(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 * 100.0 / denominator as f64)
}

impl Totals {
    /// Adherence % = in ÷ (scheduled − neutral) × 100 (Calabrio); `None` when nothing counts.
    pub fn adherence_pct(&self) -> Option<f64> {
        percent(self.in_ms, self.scheduled_ms - self.neutral_ms)
    }

    /// Conformance % = worked ÷ scheduled in-service × 100, regardless of when; may exceed 100.
    pub fn conformance_pct(&self) -> Option<f64> {
        percent(self.worked_ms, self.scheduled_in_service_ms)
    }

    /// Capped conformance % (WFM Labs Σmin(Sₐ, Rₐ) ÷ ΣSₐ with a = agent-day); at most 100.
    pub fn conformance_capped_pct(&self) -> Option<f64> {
        percent(self.worked_capped_ms, self.scheduled_in_service_ms)
    }

    /// Adds another agent-day (or team).
    pub fn add(&mut self, other: &Totals) {
        self.scheduled_ms += other.scheduled_ms;
        self.in_ms += other.in_ms;
        self.out_ms += other.out_ms;
        self.neutral_ms += other.neutral_ms;
        self.scheduled_in_service_ms += other.scheduled_in_service_ms;
        self.worked_ms += other.worked_ms;
        self.worked_capped_ms += other.worked_capped_ms;
    }
}

/// One agent's figures for one (local) day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyAdherence {
    /// The agent id.
    pub agent: String,
    /// The shifts counted (each wholly, even when it crosses midnight).
    pub shifts: Vec<TimeRange>,
    /// Totals.
    pub totals: Totals,
}

/// The agent's shifts: maximal runs of schedule entries that touch or overlap, in order.
pub fn shifts(agent: &str, inputs: &Inputs<'_>) -> Vec<(i64, i64)> {
    let mut entries: Vec<(i64, i64)> = inputs
        .schedule
        .iter()
        .filter(|entry| entry.agent == agent)
        .map(|entry| (to_ms(entry.start), to_ms(entry.end)))
        .filter(|(start, end)| start < end)
        .collect();
    entries.sort_unstable();
    let mut shifts: Vec<(i64, i64)> = Vec::new();
    for (start, end) in entries {
        if let Some(last) = shifts.last_mut() {
            if start <= last.1 {
                last.1 = last.1.max(end);
                continue;
            }
        }
        shifts.push((start, end));
    }
    shifts
}

/// One agent's adherence and conformance for the day `[day.from, day.to)` (a local day's UTC
/// bounds): every shift that **starts** in the day counts wholly, so a night shift belongs
/// to the day it starts on. An agent without a shift that day gets zero totals.
pub fn daily(agent: &str, inputs: &Inputs<'_>, day: TimeRange) -> DailyAdherence {
    let day_from = to_ms(day.from);
    let day_to = to_ms(day.to);
    let margin = i64::try_from(CONFORMANCE_MARGIN.as_millis()).unwrap_or(0);
    let mut totals = Totals::default();
    let mut counted = Vec::new();
    let day_shifts: Vec<(i64, i64)> = shifts(agent, inputs)
        .into_iter()
        .filter(|(start, _)| day_from <= *start && *start < day_to)
        .collect();
    for (start, end) in &day_shifts {
        let window = TimeRange {
            from: from_ms(*start),
            to: from_ms(*end),
        };
        counted.push(window);
        for segment in evaluate(agent, inputs, window) {
            let Some(activity) = segment.activity.as_deref() else {
                continue;
            };
            let length = to_ms(segment.end) - to_ms(segment.start);
            totals.scheduled_ms += length;
            match segment.status {
                Status::In => totals.in_ms += length,
                Status::Out => totals.out_ms += length,
                Status::Neutral => totals.neutral_ms += length,
            }
            let in_service = inputs
                .rules
                .activity(activity)
                .is_some_and(|definition| definition.kind.in_service());
            if in_service {
                totals.scheduled_in_service_ms += length;
            }
        }
    }
    // Worked time over the union of the shifts ±margin (no double counting between shifts).
    let mut windows: Vec<(i64, i64)> = Vec::new();
    for (start, end) in &day_shifts {
        let (from, to) = (start.saturating_sub(margin), end.saturating_add(margin));
        if let Some(last) = windows.last_mut() {
            if from <= last.1 {
                last.1 = last.1.max(to);
                continue;
            }
        }
        windows.push((from, to));
    }
    for (from, to) in windows {
        let window = TimeRange {
            from: from_ms(from),
            to: from_ms(to),
        };
        for segment in evaluate(agent, inputs, window) {
            if segment.state.is_some_and(is_in_service) {
                totals.worked_ms += to_ms(segment.end) - to_ms(segment.start);
            }
        }
    }
    totals.worked_capped_ms = totals.worked_ms.min(totals.scheduled_in_service_ms);
    DailyAdherence {
        agent: agent.to_owned(),
        shifts: counted,
        totals,
    }
}

/// Team totals: the sum of the members' totals (minutes, not percentages).
pub fn team(days: &[DailyAdherence]) -> Totals {
    let mut totals = Totals::default();
    for day in days {
        totals.add(&day.totals);
    }
    totals
}

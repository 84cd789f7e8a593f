//! The output row: one queue, one UTC interval; raw integer totals plus derived metrics.

use std::time::Duration;

use crate::leg::{Millis, QueueId, UtcMillis};

/// Interval length. Only the two lengths contact-centre history uses (UCCE HDS: 15 or 30
/// minutes, "choose one and stay with it"); a leg is never split between intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum IntervalLength {
    /// 15 minutes: `[hh:00, hh:15)`, `[hh:15, hh:30)`, ...
    #[default]
    Fifteen,
    /// 30 minutes: `[hh:00, hh:30)`, `[hh:30, hh+1:00)`.
    Thirty,
}

impl IntervalLength {
    /// The length in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            IntervalLength::Fifteen => 900_000,
            IntervalLength::Thirty => 1_800_000,
        }
    }

    /// The length as minutes.
    pub const fn minutes(self) -> u32 {
        match self {
            IntervalLength::Fifteen => 15,
            IntervalLength::Thirty => 30,
        }
    }

    /// The start of the interval containing `t` (floor, also before 1970).
    pub const fn start_of(self, t: UtcMillis) -> UtcMillis {
        let len = self.millis();
        UtcMillis(t.0.div_euclid(len) * len)
    }
}

/// Service-level thresholds of one queue (UCCX `CSQ.servicelevel`; UCCE service level
/// threshold). A wait counts as *within* when `queue_time <= threshold` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceLevelThresholds {
    /// Handled legs whose answer wait is at most this count in `answered_within_sl`.
    pub answer_within: Duration,
    /// Abandoned (incl. aborted) legs whose wait is at most this count in `abandoned_within_sl`.
    pub abandon_within: Duration,
}

impl Default for ServiceLevelThresholds {
    /// 20 s for both, the common 80/20 target.
    fn default() -> Self {
        ServiceLevelThresholds {
            answer_within: Duration::from_secs(20),
            abandon_within: Duration::from_secs(20),
        }
    }
}

/// The figures of one queue in one interval: every leg that **entered** the queue in
/// `[start, start + length)`. Counts are legs (queue visits); times are totals in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueInterval {
    /// The queue (`contactservicequeueid`).
    pub queue: QueueId,
    /// Interval start, UTC.
    pub start: UtcMillis,
    /// Interval length.
    pub length: IntervalLength,
    /// Calls presented (offered): every leg, whatever its disposition.
    pub presented: u64,
    /// Answered by an agent of this queue with talk time > 0.
    pub handled: u64,
    /// `CQD.disposition = 2` with no talk time (presented, not handled).
    pub handled_without_talk: u64,
    /// Abandoned in queue, including aborted (`CQD.disposition = 1`).
    pub abandoned: u64,
    /// Of `abandoned`, those aborted by the system (`CCD.contactdisposition = 4`).
    pub aborted: u64,
    /// Dequeued (`CQD.disposition = 3`).
    pub dequeued: u64,
    /// Handled by the script (`CQD.disposition = 4`).
    pub handled_by_script: u64,
    /// Handled by another queue (`CQD.disposition = 5`).
    pub handled_by_other_queue: u64,
    /// Σ talk time of handled legs.
    pub talk: Millis,
    /// Σ hold time of handled legs.
    pub hold: Millis,
    /// Σ wrap-up (work) time of handled legs.
    pub work: Millis,
    /// Σ queue time of handled legs (answer wait, for ASA).
    pub answer_wait: Millis,
    /// Σ queue time of all legs.
    pub queue_time: Millis,
    /// Legs with queue time > 0 (the divisor of UCCX "Avg Queue Time").
    pub queued: u64,
    /// Handled legs with answer wait <= the answer threshold.
    pub answered_within_sl: u64,
    /// Abandoned (incl. aborted) legs with wait <= the abandon threshold.
    pub abandoned_within_sl: u64,
    /// Longest queue time of any leg (0 when none waited).
    pub longest_wait: Millis,
    /// Longest answer wait of a handled leg.
    pub longest_answer_wait: Millis,
    /// Longest wait of an abandoned (incl. aborted) leg.
    pub longest_abandon_wait: Millis,
}

fn average(total: Millis, count: u64) -> Option<Duration> {
    if count == 0 {
        return None;
    }
    let nanos = u128::from(total.0) * 1_000_000 / u128::from(count);
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    Some(numerator as f64 / denominator as f64)
}

impl QueueInterval {
    /// The exclusive end of the interval (saturating at the end of `i64`).
    pub fn end(&self) -> UtcMillis {
        UtcMillis(self.start.0.saturating_add(self.length.millis()))
    }

    /// Handled elsewhere: by the script or by another queue (`CQD.disposition` 4 or 5).
    pub fn handled_elsewhere(&self) -> u64 {
        self.handled_by_script
            .saturating_add(self.handled_by_other_queue)
    }

    /// Σ (talk + hold + work) of handled legs.
    pub fn handle_time(&self) -> Millis {
        Millis(
            self.talk
                .0
                .saturating_add(self.hold.0)
                .saturating_add(self.work.0),
        )
    }

    /// Average handle time = (talk + hold + work) / handled; `None` if nothing was handled.
    pub fn aht(&self) -> Option<Duration> {
        average(self.handle_time(), self.handled)
    }

    /// Average speed of answer = Σ answer wait / handled; `None` if nothing was handled.
    pub fn asa(&self) -> Option<Duration> {
        average(self.answer_wait, self.handled)
    }

    /// UCCX "Avg Queue Time" = Σ queue time / legs with queue time > 0.
    pub fn avg_queue_time(&self) -> Option<Duration> {
        average(self.queue_time, self.queued)
    }

    /// Handled / presented.
    pub fn handled_ratio(&self) -> Option<f64> {
        ratio(self.handled, self.presented)
    }

    /// Abandoned / presented.
    pub fn abandon_ratio(&self) -> Option<f64> {
        ratio(self.abandoned, self.presented)
    }

    /// UCCX service level, "only handled": SL handled / handled.
    pub fn sl_only_handled(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.handled)
    }

    /// UCCX service level, "without abandon": SL handled / (presented − abandoned within SL).
    pub fn sl_without_abandon(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl,
            self.presented.saturating_sub(self.abandoned_within_sl),
        )
    }

    /// UCCX service level, "positive abandon": (SL handled + abandoned within SL) / presented.
    pub fn sl_positive_abandon(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl
                .saturating_add(self.abandoned_within_sl),
            self.presented,
        )
    }

    /// UCCX service level, "negative abandon": SL handled / presented.
    pub fn sl_negative_abandon(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.presented)
    }

    /// UCCE "ignore abandoned": SL calls / (offered − SL abandoned − dequeued), with presented as
    /// ServiceLevelCallsOffered.
    pub fn ucce_sl_ignore_abandoned(&self) -> Option<f64> {
        let denominator = self
            .presented
            .saturating_sub(self.abandoned_within_sl.saturating_add(self.dequeued));
        ratio(self.answered_within_sl, denominator)
    }

    /// UCCE "abandoned affects negatively": SL calls / (offered − dequeued).
    pub fn ucce_sl_negative_abandon(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl,
            self.presented.saturating_sub(self.dequeued),
        )
    }

    /// UCCE "abandoned affects positively": (SL calls + SL abandoned) / (offered − dequeued).
    pub fn ucce_sl_positive_abandon(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl
                .saturating_add(self.abandoned_within_sl),
            self.presented.saturating_sub(self.dequeued),
        )
    }
}

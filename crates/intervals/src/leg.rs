//! The normalised call leg: one visit of one call leg to one queue, validated.

use std::time::Duration;

/// UCCX `ContactCallDetail.sessionid`: one id per call, shared by all its legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// Logical queue id: UCCX `ContactServiceQueue.contactservicequeueid` (stable across CSQ edits),
/// never `recordid` (a new `recordid` is written for every configuration change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u32);

/// An instant: milliseconds since 1970-01-01T00:00:00Z (UTC; `db_cra` stores GMT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcMillis(pub i64);

/// A non-negative duration in whole milliseconds (exact sums; see [`Millis::as_duration`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// Zero milliseconds.
    pub const ZERO: Millis = Millis(0);

    /// Whole seconds (the unit of every `db_cra` duration column) as milliseconds.
    pub const fn from_secs(secs: u64) -> Millis {
        Millis(secs.saturating_mul(1000))
    }

    /// The same span as a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }

    /// A [`Duration`] truncated to whole milliseconds (saturating at `u64::MAX` ms).
    pub fn from_duration(d: Duration) -> Millis {
        Millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// What happened to a leg in a queue, after [`crate::uccx::map_queue_visit`].
///
/// Every variant counts as *presented*; the others are disjoint, except that
/// [`Disposition::Aborted`] is also counted as abandoned (the reference defines Calls Abandoned as
/// `CQD.disposition = 1`, which includes aborted calls) and separately as `aborted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Disposition {
    /// Answered by an agent of this queue (`CQD.disposition = 2` and talk time > 0).
    Handled,
    /// `CQD.disposition = 2` but no talk time (e.g. answered and released within the second UCCX
    /// rounds to 0): presented, but not handled, so it is out of AHT, ASA and service level.
    HandledWithoutTalk,
    /// The caller hung up while queued (`CQD.disposition = 1`, `CCD.contactdisposition != 4`).
    Abandoned,
    /// The system aborted the call while queued (`CQD.disposition = 1`, `CCD.contactdisposition = 4`).
    Aborted,
    /// Removed from this queue by the script (`CQD.disposition = 3`).
    Dequeued,
    /// Handled by the script, not by an agent (`CQD.disposition = 4`).
    HandledByScript,
    /// Handled by another queue the leg was queued for at the same time (`CQD.disposition = 5`).
    HandledByOtherQueue,
}

/// The identity of a queue visit for de-duplication: (session id, sequence number, queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegKey {
    /// The call's session id.
    pub session: SessionId,
    /// The leg number within the session (`sessionseqnum`).
    pub seq: u16,
    /// The queue visited.
    pub queue: QueueId,
}

/// One leg's visit to one queue: validated (no missing values, no negative durations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLeg {
    /// The call (`sessionid`).
    pub session: SessionId,
    /// The leg (`sessionseqnum`).
    pub seq: u16,
    /// The queue (`contactservicequeueid`).
    pub queue: QueueId,
    /// When the leg entered the queue (`CQD.startdatetime`, UTC): selects the interval.
    pub queue_entry: UtcMillis,
    /// What happened in the queue.
    pub disposition: Disposition,
    /// Time spent in this queue (`CQD.queuetime`): the answer wait of a handled leg, the time to
    /// abandon of an abandoned one.
    pub queue_time: Millis,
    /// Agent talk time for this visit (Σ `ACD.talktime`).
    pub talk: Millis,
    /// Agent hold time for this visit (Σ `ACD.holdtime`).
    pub hold: Millis,
    /// Agent wrap-up (work) time for this visit (Σ `ACD.worktime`).
    pub work: Millis,
}

impl CallLeg {
    /// The de-duplication key of this leg.
    pub fn key(&self) -> LegKey {
        LegKey {
            session: self.session,
            seq: self.seq,
            queue: self.queue,
        }
    }
}

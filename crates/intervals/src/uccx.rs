//! UCCX `db_cra` rows -> [`CallLeg`]: the disposition codes and duration units.
//!
//! One [`QueueVisitRow`] is one `ContactQueueDetail` row for a CSQ (`targettype = 0`) joined to:
//!
//! * its `ContactCallDetail` leg (same `sessionid`, `sessionseqnum`, `nodeid`, `profileid`) for
//!   `enddatetime` and `contactdisposition`;
//! * `ContactServiceQueue` on `CQD.targetid = CSQ.recordid` for the logical
//!   `contactservicequeueid` (so a CSQ edit, which writes a new `recordid`, stays one queue);
//! * the sum of `AgentConnectionDetail.talktime`, `holdtime`, `worktime` over the agent
//!   connections of that leg and `qindex` (NULL when no agent was connected, e.g. abandoned or
//!   RONA-only legs; a RONA row has talk time 0 and adds nothing).
//!
//! `db_cra` durations are whole seconds; legs carry milliseconds.

use crate::error::{Column, LegError, RowRef};
use crate::leg::{CallLeg, Disposition, Millis, QueueId, SessionId, UtcMillis};

/// `ContactQueueDetail.disposition` 1: abandoned (also aborted calls, see [`CCD_ABORTED`]).
pub const CQD_ABANDONED: i64 = 1;
/// `ContactQueueDetail.disposition` 2: handled by this CSQ.
pub const CQD_HANDLED: i64 = 2;
/// `ContactQueueDetail.disposition` 3: dequeued from this CSQ.
pub const CQD_DEQUEUED: i64 = 3;
/// `ContactQueueDetail.disposition` 4: handled by the script.
pub const CQD_HANDLED_BY_SCRIPT: i64 = 4;
/// `ContactQueueDetail.disposition` 5: handled by another CSQ.
pub const CQD_HANDLED_BY_OTHER_CSQ: i64 = 5;

/// `ContactCallDetail.contactdisposition` 1: abandoned.
pub const CCD_ABANDONED: i64 = 1;
/// `ContactCallDetail.contactdisposition` 2: handled.
pub const CCD_HANDLED: i64 = 2;
/// `ContactCallDetail.contactdisposition` 3: believed "do not care" (unverified name).
pub const CCD_DO_NOT_CARE: i64 = 3;
/// `ContactCallDetail.contactdisposition` 4: aborted.
pub const CCD_ABORTED: i64 = 4;
/// `ContactCallDetail.contactdisposition` 5: believed "rejected" (unverified name).
pub const CCD_REJECTED: i64 = 5;

/// One CSQ visit of one leg as exported (NULL = `None`). Durations in seconds, as in `db_cra`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueVisitRow {
    /// `CCD.sessionid`. Required.
    pub session_id: Option<i64>,
    /// `CCD.sessionseqnum` (smallint, 0..=32767). Required.
    pub session_seq: Option<i64>,
    /// `CSQ.contactservicequeueid` (0..=4294967295). Required.
    pub csq_id: Option<i64>,
    /// `CQD.startdatetime`: queue entry. Required.
    pub queue_entry: Option<UtcMillis>,
    /// `CCD.enddatetime`: leg end; must not be before the queue entry. Required.
    pub leg_end: Option<UtcMillis>,
    /// `CQD.disposition` 1..=5. Required.
    pub queue_disposition: Option<i64>,
    /// `CCD.contactdisposition` 1..=5. Required (only 4, aborted, changes the mapping).
    pub contact_disposition: Option<i64>,
    /// `CQD.queuetime`, seconds. Required.
    pub queue_time_s: Option<i64>,
    /// Σ `ACD.talktime`, seconds. NULL = no agent connection = 0.
    pub talk_time_s: Option<i64>,
    /// Σ `ACD.holdtime`, seconds. NULL = 0.
    pub hold_time_s: Option<i64>,
    /// Σ `ACD.worktime`, seconds. NULL = 0.
    pub work_time_s: Option<i64>,
}

/// Maps a `ContactQueueDetail.disposition` code (with the leg's
/// `ContactCallDetail.contactdisposition` and talk time) to a [`Disposition`]:
///
/// | CQD.disposition | condition | result |
/// |---|---|---|
/// | 1 | CCD.contactdisposition = 4 | [`Disposition::Aborted`] (also counted as abandoned) |
/// | 1 | otherwise | [`Disposition::Abandoned`] |
/// | 2 | talk > 0 | [`Disposition::Handled`] |
/// | 2 | talk = 0 | [`Disposition::HandledWithoutTalk`] (the reference requires talk > 0 for handled) |
/// | 3 | | [`Disposition::Dequeued`] |
/// | 4 | | [`Disposition::HandledByScript`] |
/// | 5 | | [`Disposition::HandledByOtherQueue`] |
/// | other | | `None` (an error for the caller) |
pub fn map_disposition(cqd: i64, ccd: i64, talk: Millis) -> Option<Disposition> {
    let d = match cqd {
        CQD_ABANDONED if ccd == CCD_ABORTED => Disposition::Aborted,
        CQD_ABANDONED => Disposition::Abandoned,
        CQD_HANDLED if talk.0 > 0 => Disposition::Handled,
        CQD_HANDLED => Disposition::HandledWithoutTalk,
        CQD_DEQUEUED => Disposition::Dequeued,
        CQD_HANDLED_BY_SCRIPT => Disposition::HandledByScript,
        CQD_HANDLED_BY_OTHER_CSQ => Disposition::HandledByOtherQueue,
        _ => return None,
    };
    Some(d)
}

/// Whether `code` is a documented `ContactCallDetail.contactdisposition` (1..=5).
pub fn is_known_contact_disposition(code: i64) -> bool {
    (CCD_ABANDONED..=CCD_REJECTED).contains(&code)
}

fn required<T>(value: Option<T>, row: RowRef, column: Column) -> Result<T, LegError> {
    value.ok_or(LegError::Missing { row, column })
}

fn seconds(value: Option<i64>, row: RowRef, column: Column) -> Result<Millis, LegError> {
    match value {
        None => Ok(Millis::ZERO),
        Some(v) if v < 0 => Err(LegError::Negative {
            row,
            column,
            value: v,
        }),
        Some(v) => Ok(Millis::from_secs(v.unsigned_abs())),
    }
}

fn in_range(value: i64, max: i64, row: RowRef, column: Column) -> Result<i64, LegError> {
    if value < 0 {
        return Err(LegError::Negative { row, column, value });
    }
    if value > max {
        return Err(LegError::Invalid {
            row,
            column,
            value: value.to_string(),
        });
    }
    Ok(value)
}

/// Validates one exported row and maps it to a [`CallLeg`] (`line` is only for error messages).
///
/// Errors name the row and the column: a required value missing, a negative id or duration, an
/// id out of range, `leg_end` before `queue_entry`, an unknown disposition code.
pub fn map_queue_visit(r: &QueueVisitRow, line: Option<u64>) -> Result<CallLeg, LegError> {
    let row = RowRef {
        line,
        session: r.session_id,
        seq: r.session_seq,
    };
    let session = required(r.session_id, row, Column::SessionId)?;
    let session = in_range(session, i64::MAX, row, Column::SessionId)?;
    let seq = required(r.session_seq, row, Column::SessionSeq)?;
    let seq = in_range(seq, i64::from(i16::MAX), row, Column::SessionSeq)?;
    let csq = required(r.csq_id, row, Column::CsqId)?;
    let csq = in_range(csq, i64::from(u32::MAX), row, Column::CsqId)?;
    let queue_entry = required(r.queue_entry, row, Column::QueueEntry)?;
    let leg_end = required(r.leg_end, row, Column::LegEnd)?;
    if leg_end < queue_entry {
        return Err(LegError::EndBeforeStart {
            row,
            start_ms: queue_entry.0,
            end_ms: leg_end.0,
        });
    }
    let cqd = required(r.queue_disposition, row, Column::QueueDisposition)?;
    let ccd = required(r.contact_disposition, row, Column::ContactDisposition)?;
    if !is_known_contact_disposition(ccd) {
        return Err(LegError::UnknownCode {
            row,
            column: Column::ContactDisposition,
            code: ccd,
        });
    }
    let queue_time = required(r.queue_time_s, row, Column::QueueTime)?;
    let queue_time = seconds(Some(queue_time), row, Column::QueueTime)?;
    let talk = seconds(r.talk_time_s, row, Column::TalkTime)?;
    let hold = seconds(r.hold_time_s, row, Column::HoldTime)?;
    let work = seconds(r.work_time_s, row, Column::WorkTime)?;
    let Some(disposition) = map_disposition(cqd, ccd, talk) else {
        return Err(LegError::UnknownCode {
            row,
            column: Column::QueueDisposition,
            code: cqd,
        });
    };
    Ok(CallLeg {
        session: SessionId(session.unsigned_abs()),
        seq: seq as u16,
        queue: QueueId(csq as u32),
        queue_entry,
        disposition,
        queue_time,
        talk,
        hold,
        work,
    })
}

#[cfg(test)]
mod tests;

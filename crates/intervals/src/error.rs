//! Errors for bad input rows: each names the row (line, session id, sequence) and the column.

use std::fmt;

/// The input columns, by their CSV names (see [`crate::csv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// `session_id`: `CCD.sessionid`.
    SessionId,
    /// `session_seq`: `CCD.sessionseqnum`.
    SessionSeq,
    /// `csq_id`: `CSQ.contactservicequeueid`.
    CsqId,
    /// `queue_entry`: `CQD.startdatetime`.
    QueueEntry,
    /// `leg_end`: `CCD.enddatetime`.
    LegEnd,
    /// `queue_disposition`: `CQD.disposition`.
    QueueDisposition,
    /// `contact_disposition`: `CCD.contactdisposition`.
    ContactDisposition,
    /// `queue_time`: `CQD.queuetime`, seconds.
    QueueTime,
    /// `talk_time`: Σ `ACD.talktime`, seconds.
    TalkTime,
    /// `hold_time`: Σ `ACD.holdtime`, seconds.
    HoldTime,
    /// `work_time`: Σ `ACD.worktime`, seconds.
    WorkTime,
}

impl Column {
    /// Every column, in the canonical CSV order.
    pub const ALL: [Column; 11] = [
        Column::SessionId,
        Column::SessionSeq,
        Column::CsqId,
        Column::QueueEntry,
        Column::LegEnd,
        Column::QueueDisposition,
        Column::ContactDisposition,
        Column::QueueTime,
        Column::TalkTime,
        Column::HoldTime,
        Column::WorkTime,
    ];

    /// The CSV header name.
    pub const fn name(self) -> &'static str {
        match self {
            Column::SessionId => "session_id",
            Column::SessionSeq => "session_seq",
            Column::CsqId => "csq_id",
            Column::QueueEntry => "queue_entry",
            Column::LegEnd => "leg_end",
            Column::QueueDisposition => "queue_disposition",
            Column::ContactDisposition => "contact_disposition",
            Column::QueueTime => "queue_time",
            Column::TalkTime => "talk_time",
            Column::HoldTime => "hold_time",
            Column::WorkTime => "work_time",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a bad value is: the CSV line (1-based, if read from CSV) and the row's key as far as known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowRef {
    /// 1-based line in the CSV file (the header is line 1).
    pub line: Option<u64>,
    /// `session_id`, if it could be read.
    pub session: Option<i64>,
    /// `session_seq`, if it could be read.
    pub seq: Option<i64>,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}, ")?;
        }
        match self.session {
            Some(s) => write!(f, "session {s}")?,
            None => f.write_str("session ?")?,
        }
        match self.seq {
            Some(q) => write!(f, " seq {q}"),
            None => f.write_str(" seq ?"),
        }
    }
}

/// A row that cannot become a [`crate::CallLeg`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegError {
    /// A required value is NULL (empty) or the column is missing.
    #[error("{row}: {column} is missing")]
    Missing {
        /// The row.
        row: RowRef,
        /// The column.
        column: Column,
    },
    /// A value that must be a non-negative number is negative.
    #[error("{row}: {column} is negative ({value})")]
    Negative {
        /// The row.
        row: RowRef,
        /// The column.
        column: Column,
        /// The value as read.
        value: i64,
    },
    /// A value is not a number / timestamp, or out of the column's range.
    #[error("{row}: {column} is not valid: {value:?}")]
    Invalid {
        /// The row.
        row: RowRef,
        /// The column.
        column: Column,
        /// The value as read (truncated to 64 bytes).
        value: String,
    },
    /// The leg ended before it entered the queue.
    #[error("{row}: leg_end {end_ms} ms is before queue_entry {start_ms} ms")]
    EndBeforeStart {
        /// The row.
        row: RowRef,
        /// `queue_entry`, epoch ms.
        start_ms: i64,
        /// `leg_end`, epoch ms.
        end_ms: i64,
    },
    /// A disposition code outside the documented code list.
    #[error("{row}: unknown {column} code {code}")]
    UnknownCode {
        /// The row.
        row: RowRef,
        /// The column.
        column: Column,
        /// The code.
        code: i64,
    },
}

impl LegError {
    /// The row the error is about.
    pub fn row(&self) -> RowRef {
        match self {
            LegError::Missing { row, .. }
            | LegError::Negative { row, .. }
            | LegError::Invalid { row, .. }
            | LegError::EndBeforeStart { row, .. }
            | LegError::UnknownCode { row, .. } => *row,
        }
    }

    /// Bad data never fixes itself on retry.
    pub fn is_retriable(&self) -> bool {
        false
    }

    /// A bounded label for metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            LegError::Missing { .. } => "missing_value",
            LegError::Negative { .. } => "negative_value",
            LegError::Invalid { .. } => "invalid_value",
            LegError::EndBeforeStart { .. } => "end_before_start",
            LegError::UnknownCode { .. } => "unknown_code",
        }
    }
}

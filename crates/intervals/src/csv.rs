//! CSV exports of [`QueueVisitRow`]s: a streaming reader and the writers used by the tools.
//!
//! # Input format
//!
//! * First line: a header naming the columns, in any order, case-insensitive; unknown columns
//!   are ignored; the required ones are listed below.
//! * One row per CSQ visit of a leg (the `db_cra` join described in [`crate::uccx`]), `,`
//!   separated, `\n` or `\r\n` line ends. Values may be wrapped in `"` (no `"` or `,` inside).
//! * **NULL is an empty field.**
//! * Timestamps: `YYYY-MM-DD HH:MM:SS.mmm` (fraction optional, 1–3 digits), **UTC**, see
//!   [`crate::timestamp`].
//! * Durations: whole **seconds**, the `db_cra` unit.
//!
//! | column | source | type | NULL |
//! |---|---|---|---|
//! | `session_id` | `CCD.sessionid` | integer ≥ 0 | error |
//! | `session_seq` | `CCD.sessionseqnum` | 0..=32767 | error |
//! | `csq_id` | `CSQ.contactservicequeueid` | 0..=4294967295 | error |
//! | `queue_entry` | `CQD.startdatetime` | timestamp | error |
//! | `leg_end` | `CCD.enddatetime` | timestamp ≥ `queue_entry` | error |
//! | `queue_disposition` | `CQD.disposition` | 1..=5 | error |
//! | `contact_disposition` | `CCD.contactdisposition` | 1..=5 | error |
//! | `queue_time` | `CQD.queuetime` | seconds ≥ 0 | error |
//! | `talk_time` | Σ `ACD.talktime` | seconds ≥ 0 | 0 |
//! | `hold_time` | Σ `ACD.holdtime` | seconds ≥ 0 | 0 |
//! | `work_time` | Σ `ACD.worktime` | seconds ≥ 0 | 0 |
//!
//! The reader streams: it holds one buffer (1 MiB, lines up to 64 KiB) and never allocates per
//! row. A bad row is an error naming the line, session id, sequence and column; iteration can
//! continue after it.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::time::Duration;

use crate::error::{Column, LegError, RowRef};
use crate::interval::QueueInterval;
use crate::leg::{CallLeg, UtcMillis};
use crate::timestamp;
use crate::uccx::{map_queue_visit, QueueVisitRow};

const BUFFER: usize = 1 << 20;
const MAX_LINE: usize = 64 << 10;

/// Why a CSV export could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// Reading failed.
    #[error("reading the CSV: {0}")]
    Io(#[from] io::Error),
    /// The header is missing, lacks a required column or names one twice.
    #[error("CSV header: {0}")]
    Header(String),
    /// A line is longer than 64 KiB.
    #[error("line {line}: longer than {MAX_LINE} bytes")]
    LineTooLong {
        /// 1-based line.
        line: u64,
    },
    /// A row has fewer fields than the header.
    #[error("line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        /// 1-based line.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A row's values are bad.
    #[error(transparent)]
    Leg(#[from] LegError),
}

impl CsvError {
    /// Only I/O errors may go away on retry.
    pub fn is_retriable(&self) -> bool {
        matches!(self, CsvError::Io(_))
    }

    /// A bounded label for metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            CsvError::Io(_) => "io",
            CsvError::Header(_) => "header",
            CsvError::LineTooLong { .. } => "line_too_long",
            CsvError::FieldCount { .. } => "field_count",
            CsvError::Leg(e) => e.error_type(),
        }
    }
}

/// Streams [`CallLeg`]s (or raw [`QueueVisitRow`]s) from a CSV export.
pub struct LegReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line: u64,
    /// Field position -> column (None = ignored column).
    layout: Vec<Option<Column>>,
}

fn strip(field: &[u8]) -> &[u8] {
    if field.len() >= 2 && field[0] == b'"' && field[field.len() - 1] == b'"' {
        return &field[1..field.len() - 1];
    }
    field
}

fn parse_int(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if negative { -v } else { v })
}

fn shown(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned()
}

impl<R: Read> LegReader<R> {
    /// Reads the header line; errors if it lacks a required column (all of [`Column::ALL`]).
    pub fn new(inner: R) -> Result<LegReader<R>, CsvError> {
        let mut reader = LegReader {
            inner,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            line: 0,
            layout: Vec::new(),
        };
        let Some((from, to)) = reader.next_line()? else {
            return Err(CsvError::Header("empty input".into()));
        };
        let header = String::from_utf8_lossy(&reader.buf[from..to]).into_owned();
        let mut layout = Vec::new();
        for name in header.split(',') {
            let name = name.trim().trim_matches('"').to_ascii_lowercase();
            let column = Column::ALL.into_iter().find(|c| c.name() == name);
            if column.is_some() && layout.contains(&column) {
                return Err(CsvError::Header(format!("column {name} appears twice")));
            }
            layout.push(column);
        }
        for column in Column::ALL {
            if !layout.contains(&Some(column)) {
                return Err(CsvError::Header(format!("missing column {column}")));
            }
        }
        reader.layout = layout;
        Ok(reader)
    }

    /// The next line as a range of `buf` (without the line end), or `None` at the end.
    fn next_line(&mut self) -> Result<Option<(usize, usize)>, CsvError> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(at) = memchr::memchr(b'\n', pending) {
                let from = self.start;
                let mut to = from + at;
                self.start = to + 1;
                self.line += 1;
                if to > from && self.buf[to - 1] == b'\r' {
                    to -= 1;
                }
                if to - from > MAX_LINE {
                    return Err(CsvError::LineTooLong { line: self.line });
                }
                return Ok(Some((from, to)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let from = self.start;
                let mut to = self.end;
                self.start = self.end;
                self.line += 1;
                if self.buf[to - 1] == b'\r' {
                    to -= 1;
                }
                if to - from > MAX_LINE {
                    return Err(CsvError::LineTooLong { line: self.line });
                }
                return Ok(Some((from, to)));
            }
            if self.end - self.start > MAX_LINE {
                return Err(CsvError::LineTooLong {
                    line: self.line + 1,
                });
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let read = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(CsvError::Io(e)),
                }
            };
            if read == 0 {
                self.eof = true;
            }
            self.end += read;
        }
    }

    /// The next raw row (blank lines are skipped), `None` at the end of the input.
    pub fn next_row(&mut self) -> Option<Result<(QueueVisitRow, u64), CsvError>> {
        loop {
            let (from, to) = match self.next_line() {
                Ok(Some(range)) => range,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if from == to {
                continue;
            }
            return Some(self.parse_row(from, to).map(|row| (row, self.line)));
        }
    }

    fn parse_row(&self, from: usize, to: usize) -> Result<QueueVisitRow, CsvError> {
        let line = &self.buf[from..to];
        let mut row = QueueVisitRow::default();
        let mut invalid: Option<(Column, String)> = None;
        let mut fields = 0usize;
        let mut rest = line;
        loop {
            let (field, more) = match memchr::memchr(b',', rest) {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            if let Some(Some(column)) = self.layout.get(fields) {
                let value = strip(field);
                if !value.is_empty() && !set(&mut row, *column, value) && invalid.is_none() {
                    invalid = Some((*column, shown(value)));
                }
            }
            fields += 1;
            match more {
                Some(next) => rest = next,
                None => break,
            }
        }
        if fields < self.layout.len() {
            return Err(CsvError::FieldCount {
                line: self.line,
                expected: self.layout.len(),
                found: fields,
            });
        }
        if let Some((column, value)) = invalid {
            let row = RowRef {
                line: Some(self.line),
                session: row.session_id,
                seq: row.session_seq,
            };
            return Err(LegError::Invalid { row, column, value }.into());
        }
        Ok(row)
    }
}

/// Stores one non-empty value; `false` if it does not parse.
fn set(row: &mut QueueVisitRow, column: Column, value: &[u8]) -> bool {
    let slot = match column {
        Column::QueueEntry | Column::LegEnd => {
            let Some(t) = timestamp::parse(value) else {
                return false;
            };
            if column == Column::QueueEntry {
                row.queue_entry = Some(t);
            } else {
                row.leg_end = Some(t);
            }
            return true;
        }
        Column::SessionId => &mut row.session_id,
        Column::SessionSeq => &mut row.session_seq,
        Column::CsqId => &mut row.csq_id,
        Column::QueueDisposition => &mut row.queue_disposition,
        Column::ContactDisposition => &mut row.contact_disposition,
        Column::QueueTime => &mut row.queue_time_s,
        Column::TalkTime => &mut row.talk_time_s,
        Column::HoldTime => &mut row.hold_time_s,
        Column::WorkTime => &mut row.work_time_s,
    };
    match parse_int(value) {
        Some(v) => {
            *slot = Some(v);
            true
        }
        None => false,
    }
}

impl<R: Read> Iterator for LegReader<R> {
    type Item = Result<CallLeg, CsvError>;

    /// The next leg, mapped by [`map_queue_visit`]; an error does not end the iteration.
    fn next(&mut self) -> Option<Self::Item> {
        let result = match self.next_row()? {
            Ok((row, line)) => map_queue_visit(&row, Some(line)).map_err(CsvError::from),
            Err(e) => Err(e),
        };
        Some(result)
    }
}

/// The header line of the input format, canonical column order, no line end.
pub fn visit_header() -> String {
    let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    names.join(",")
}

/// Appends one input row (canonical order, `\n`-terminated). NULLs become empty fields.
pub fn push_visit_row(out: &mut String, r: &QueueVisitRow) {
    let int = |out: &mut String, v: Option<i64>| {
        if let Some(v) = v {
            let _ = write!(out, "{v}");
        }
    };
    let ts = |out: &mut String, v: Option<UtcMillis>| {
        if let Some(v) = v {
            out.push_str(&timestamp::format_millis(v));
        }
    };
    int(out, r.session_id);
    out.push(',');
    int(out, r.session_seq);
    out.push(',');
    int(out, r.csq_id);
    out.push(',');
    ts(out, r.queue_entry);
    out.push(',');
    ts(out, r.leg_end);
    out.push(',');
    int(out, r.queue_disposition);
    out.push(',');
    int(out, r.contact_disposition);
    out.push(',');
    int(out, r.queue_time_s);
    out.push(',');
    int(out, r.talk_time_s);
    out.push(',');
    int(out, r.hold_time_s);
    out.push(',');
    int(out, r.work_time_s);
    out.push('\n');
}

/// The header of the interval table written by [`push_interval_row`], no line end.
pub const INTERVAL_HEADER: &str = "queue_id,interval_start,interval_minutes,presented,handled,\
handled_without_talk,abandoned,aborted,dequeued,handled_by_script,handled_by_other_queue,\
talk_ms,hold_ms,work_ms,answer_wait_ms,queue_time_ms,queued,answered_within_sl,\
abandoned_within_sl,longest_wait_ms,longest_answer_wait_ms,longest_abandon_wait_ms,aht_ms,asa_ms,\
sl_only_handled,sl_without_abandon,sl_positive_abandon,sl_negative_abandon";

fn push_ms(out: &mut String, d: Option<Duration>) {
    if let Some(d) = d {
        let nanos = d.as_nanos();
        let _ = write!(out, "{}.{:06}", nanos / 1_000_000, nanos % 1_000_000);
    }
}

fn push_ratio(out: &mut String, r: Option<f64>) {
    if let Some(r) = r {
        let _ = write!(out, "{r:.6}");
    }
}

/// Appends one interval as a CSV line (`\n`-terminated): start as `YYYY-MM-DD HH:MM:SS` UTC,
/// times in ms, averages in ms with 6 decimals, ratios 0..1 with 6 decimals, empty when undefined.
pub fn push_interval_row(out: &mut String, i: &QueueInterval) {
    let _ = write!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},",
        i.queue.0,
        timestamp::format_seconds(i.start),
        i.length.minutes(),
        i.presented,
        i.handled,
        i.handled_without_talk,
        i.abandoned,
        i.aborted,
        i.dequeued,
        i.handled_by_script,
        i.handled_by_other_queue,
        i.talk.0,
        i.hold.0,
        i.work.0,
        i.answer_wait.0,
        i.queue_time.0,
        i.queued,
        i.answered_within_sl,
        i.abandoned_within_sl,
        i.longest_wait.0,
        i.longest_answer_wait.0,
        i.longest_abandon_wait.0,
    );
    push_ms(out, i.aht());
    out.push(',');
    push_ms(out, i.asa());
    out.push(',');
    push_ratio(out, i.sl_only_handled());
    out.push(',');
    push_ratio(out, i.sl_without_abandon());
    out.push(',');
    push_ratio(out, i.sl_positive_abandon());
    out.push(',');
    push_ratio(out, i.sl_negative_abandon());
    out.push('\n');
}

#[cfg(test)]
mod tests;

//! Shared row decoding of both backends: times, the CSQ join check, the UCCE time zone.

use time::OffsetDateTime;
use wfm_intervals::timestamp;
use wfm_intervals::uccx::QueueVisitRow;
use wfm_intervals::UtcMillis;

use super::{sql, AgentStateRow, CallTypeIntervalRow, Dialect, HistoryError, QueueRecord};

/// Milliseconds since the Unix epoch of `t` (rounded down).
pub(crate) fn odt_millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The UTC instant of `ms`, `None` when out of the `time` crate's range.
pub(crate) fn millis_odt(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// A window bound as SQLite text that compares correctly with stored `YYYY-MM-DD HH:MM:SS.mmm`
/// *and* `YYYY-MM-DD HH:MM:SS` values: without the fraction when it is zero (a prefix sorts
/// first, so `…:SS` ≤ `…:SS.000`), with it otherwise.
pub(crate) fn text_bound(ms: i64) -> String {
    if ms.rem_euclid(1000) == 0 {
        timestamp::format_seconds(UtcMillis(ms))
    } else {
        timestamp::format_millis(UtcMillis(ms))
    }
}

/// Parses a stored text time (`YYYY-MM-DD HH:MM:SS[.f{1,3}]`, also with a `T` separator or more
/// fraction digits, which are truncated).
pub(crate) fn parse_text_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut b = s.as_bytes().to_vec();
    if b.len() > 10 && b[10] == b'T' {
        b[10] = b' ';
    }
    if b.len() > 23 && b[19] == b'.' {
        b.truncate(23);
    }
    timestamp::parse(&b).map(|t| t.0)
}

/// Calendar fields (as in an ODBC `TIMESTAMP_STRUCT`, `fraction` in nanoseconds) → ms.
#[cfg_attr(not(feature = "odbc"), allow(dead_code))]
pub(crate) fn civil_millis(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    fraction_ns: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = timestamp::days_from_civil(year, month, day);
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    Some(days * 86_400_000 + secs * 1000 + i64::from(fraction_ns / 1_000_000))
}

/// Calendar fields of `ms` (for binding an ODBC timestamp parameter).
#[cfg_attr(not(feature = "odbc"), allow(dead_code))]
pub(crate) fn millis_civil(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = timestamp::civil_from_days(days);
    let secs = (in_day / 1000) as u32;
    let frac_ns = (in_day % 1000) as u32 * 1_000_000;
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60, frac_ns)
}

/// One row of [`super::sql::QUEUE_VISITS`] as read.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawVisit {
    pub session: Option<i64>,
    pub seq: Option<i64>,
    pub target_id: Option<i64>,
    pub csq_record: Option<i64>,
    pub csq_id: Option<i64>,
    pub queue_entry: Option<i64>,
    pub leg_end: Option<i64>,
    pub queue_disposition: Option<i64>,
    pub contact_disposition: Option<i64>,
    pub queue_time_s: Option<i64>,
    pub talk_s: Option<i64>,
    pub hold_s: Option<i64>,
    pub work_s: Option<i64>,
}

fn visit_key(session: Option<i64>, seq: Option<i64>) -> String {
    let show = |v: Option<i64>| v.map_or_else(|| "NULL".to_string(), |v| v.to_string());
    format!("(sessionid {}, sessionseqnum {})", show(session), show(seq))
}

/// Checks the CSQ join of one visit and converts it.
pub(crate) fn visit(r: RawVisit) -> Result<QueueVisitRow, HistoryError> {
    let Some(target_id) = r.target_id else {
        return Err(HistoryError::BadRow {
            table: "contactqueuedetail".to_string(),
            key: visit_key(r.session, r.seq),
            column: "targetid".to_string(),
            problem: "is NULL for a CSQ row (targettype 0), so the queue is unknown".to_string(),
        });
    };
    if r.csq_record.is_none() {
        return Err(HistoryError::UnknownQueue {
            session: r.session,
            seq: r.seq,
            target_id,
        });
    }
    Ok(QueueVisitRow {
        session_id: r.session,
        session_seq: r.seq,
        csq_id: r.csq_id,
        queue_entry: r.queue_entry.map(UtcMillis),
        leg_end: r.leg_end.map(UtcMillis),
        queue_disposition: r.queue_disposition,
        contact_disposition: r.contact_disposition,
        queue_time_s: r.queue_time_s,
        talk_time_s: r.talk_s,
        hold_time_s: r.hold_s,
        work_time_s: r.work_s,
    })
}

/// A time column that is present but unreadable (text backends only).
pub(crate) fn bad_time(table: &str, key: String, column: &str, value: &str) -> HistoryError {
    HistoryError::BadRow {
        table: table.to_string(),
        key,
        column: column.to_string(),
        problem: format!("holds {value:?}, not a time `YYYY-MM-DD HH:MM:SS[.mmm]`"),
    }
}

/// The key text of a visit row for [`bad_time`].
pub(crate) fn visit_row_key(session: Option<i64>, seq: Option<i64>) -> String {
    visit_key(session, seq)
}

/// One `contactservicequeue` row as read.
pub(crate) fn csq(
    record_id: Option<i64>,
    queue_id: Option<i64>,
    name: Option<String>,
    service_level_s: Option<i64>,
    active: Option<&str>,
) -> Result<QueueRecord, HistoryError> {
    let table = "contactservicequeue";
    let Some(record_id) = record_id else {
        return Err(HistoryError::BadRow {
            table: table.to_string(),
            key: format!("(csqname {name:?})"),
            column: "recordid".to_string(),
            problem: "is NULL".to_string(),
        });
    };
    let key = format!("(recordid {record_id})");
    let Some(queue_id) = queue_id else {
        return Err(HistoryError::BadRow {
            table: table.to_string(),
            key,
            column: "contactservicequeueid".to_string(),
            problem: "is NULL".to_string(),
        });
    };
    let Some(name) = name else {
        return Err(HistoryError::BadRow {
            table: table.to_string(),
            key,
            column: "csqname".to_string(),
            problem: "is NULL".to_string(),
        });
    };
    let active = match active {
        None => false,
        Some(text) => match parse_flag(text) {
            Some(v) => v,
            None => {
                return Err(HistoryError::BadRow {
                    table: table.to_string(),
                    key,
                    column: "active".to_string(),
                    problem: format!("holds {text:?}, not a boolean (t/f, 1/0, true/false)"),
                })
            }
        },
    };
    Ok(QueueRecord {
        record_id,
        queue_id,
        name: name.trim_end().to_string(),
        service_level_s,
        active,
    })
}

/// One `call_type` row as read.
pub(crate) fn call_type(
    id: Option<i64>,
    name: Option<String>,
) -> Result<QueueRecord, HistoryError> {
    let Some(id) = id else {
        return Err(HistoryError::BadRow {
            table: "call_type".to_string(),
            key: format!("(enterprisename {name:?})"),
            column: "calltypeid".to_string(),
            problem: "is NULL".to_string(),
        });
    };
    let Some(name) = name else {
        return Err(HistoryError::BadRow {
            table: "call_type".to_string(),
            key: format!("(calltypeid {id})"),
            column: "enterprisename".to_string(),
            problem: "is NULL".to_string(),
        });
    };
    Ok(QueueRecord {
        record_id: id,
        queue_id: id,
        name: name.trim_end().to_string(),
        service_level_s: None,
        active: true,
    })
}

/// A boolean as the databases print it: Informix `t`/`f`, PostgreSQL `1`/`0` through psqlODBC,
/// SQLite integers, SQL Server bits.
pub(crate) fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "t" | "1" | "true" | "y" | "yes" => Some(true),
        "f" | "0" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// One `call_type_interval` row as read; `local_ms` is `datetime` as if it were UTC.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawInterval {
    pub call_type_id: Option<i64>,
    pub local_ms: Option<i64>,
    pub time_zone_min: Option<i64>,
    /// callsoffered .. routercallsdequeued, in [`super::sql::call_type_intervals`] order.
    pub values: [Option<i64>; 11],
}

/// Converts the local `datetime` with the row's `timezone` to UTC (UTC = local + timezone).
pub(crate) fn interval(r: RawInterval) -> Result<CallTypeIntervalRow, HistoryError> {
    let bad = |key: String, column: &str, problem: &str| HistoryError::BadRow {
        table: "call_type_interval".to_string(),
        key,
        column: column.to_string(),
        problem: problem.to_string(),
    };
    let local_text = r.local_ms.map_or_else(
        || "NULL".to_string(),
        |ms| timestamp::format_millis(UtcMillis(ms)),
    );
    let Some(id) = r.call_type_id else {
        return Err(bad(
            format!("(datetime {local_text})"),
            "calltypeid",
            "is NULL",
        ));
    };
    let key = format!("(calltypeid {id}, datetime {local_text})");
    let Some(local) = r.local_ms else {
        return Err(bad(key, "datetime", "is NULL"));
    };
    let Some(tz) = r.time_zone_min else {
        return Err(bad(
            key,
            "timezone",
            "is NULL, so the local datetime cannot be converted to UTC",
        ));
    };
    if !(-24 * 60..=24 * 60).contains(&tz) {
        return Err(bad(
            key,
            "timezone",
            &format!("is {tz}, not an offset in minutes within ±1440"),
        ));
    }
    let Some(start) = millis_odt(local + tz * 60_000) else {
        return Err(bad(key, "datetime", "is out of range"));
    };
    let v = r.values;
    Ok(CallTypeIntervalRow {
        call_type_id: id,
        start,
        time_zone_min: tz,
        calls_offered: v[0],
        calls_handled: v[1],
        total_calls_aband: v[2],
        service_level_calls: v[3],
        service_level_calls_offered: v[4],
        service_level_aband: v[5],
        answer_wait_time_s: v[6],
        handle_time_s: v[7],
        talk_time_s: v[8],
        hold_time_s: v[9],
        router_calls_dequeued: v[10],
    })
}

/// One agent-state row as read. UCCX: `time_ms` is `eventdatetime` (UTC), `time_zone_min` is not
/// read. UCCE: `time_ms` is the local `datetime` as if it were UTC, plus `timezone`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawState {
    pub agent: Option<i64>,
    pub time_ms: Option<i64>,
    pub time_zone_min: Option<i64>,
    pub state: Option<i64>,
    pub reason: Option<i64>,
}

/// Checks the columns the reader needs and converts UCCE local time to UTC (UTC = local +
/// timezone, as for `call_type_interval`).
pub(crate) fn agent_state(dialect: Dialect, r: RawState) -> Result<AgentStateRow, HistoryError> {
    let table = sql::state_table(dialect);
    let (agent_col, time_col, state_col) = match dialect {
        Dialect::Uccx => ("agentid", "eventdatetime", "eventtype"),
        Dialect::Ucce => ("skilltargetid", "datetime", "agentstate"),
    };
    let time_text = r.time_ms.map_or_else(
        || "NULL".to_string(),
        |ms| timestamp::format_millis(UtcMillis(ms)),
    );
    let bad = |key: String, column: &str, problem: &str| HistoryError::BadRow {
        table: table.to_string(),
        key,
        column: column.to_string(),
        problem: problem.to_string(),
    };
    let Some(agent_id) = r.agent else {
        return Err(bad(
            format!("({time_col} {time_text})"),
            agent_col,
            "is NULL",
        ));
    };
    let key = format!("({agent_col} {agent_id}, {time_col} {time_text})");
    let Some(time_ms) = r.time_ms else {
        return Err(bad(key, time_col, "is NULL"));
    };
    let Some(raw_state) = r.state else {
        return Err(bad(key, state_col, "is NULL"));
    };
    let utc_ms = match dialect {
        Dialect::Uccx => time_ms,
        Dialect::Ucce => {
            let Some(tz) = r.time_zone_min else {
                return Err(bad(
                    key,
                    "timezone",
                    "is NULL, so the local datetime cannot be converted to UTC",
                ));
            };
            if !(-24 * 60..=24 * 60).contains(&tz) {
                return Err(bad(
                    key,
                    "timezone",
                    &format!("is {tz}, not an offset in minutes within ±1440"),
                ));
            }
            time_ms + tz * 60_000
        }
    };
    let Some(at) = millis_odt(utc_ms) else {
        return Err(bad(key, time_col, "is out of range"));
    };
    Ok(AgentStateRow {
        agent_id,
        at,
        raw_state,
        reason_code: r.reason,
    })
}

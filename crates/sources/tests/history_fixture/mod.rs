//! Small UCCX/UCCE reporting tables written for these tests from the reference
//! (shared/reference/historical-data.md, fixtures/uccx-hrdb): the same rows for PostgreSQL and
//! SQLite, and the expected reads.

#![allow(dead_code)]

use time::macros::datetime;
use time::OffsetDateTime;
use wfm_intervals::uccx::QueueVisitRow;
use wfm_intervals::UtcMillis;

/// Which database the statements are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Postgres,
    Sqlite,
}

fn ts(f: Flavor) -> &'static str {
    match f {
        Flavor::Postgres => "timestamp(3)",
        Flavor::Sqlite => "TEXT",
    }
}

/// `db_cra` tables (only the columns the reader uses plus a few more).
pub fn uccx_ddl(f: Flavor) -> Vec<String> {
    let ts = ts(f);
    let flag = match f {
        Flavor::Postgres => "boolean",
        Flavor::Sqlite => "TEXT",
    };
    vec![
        format!(
            "CREATE TABLE contactservicequeue (recordid INTEGER PRIMARY KEY, \
             contactservicequeueid INTEGER, csqname VARCHAR(50), servicelevel INTEGER, \
             servicelevelpercentage INTEGER, active {flag})"
        ),
        format!(
            "CREATE TABLE contactcalldetail (sessionid BIGINT, sessionseqnum SMALLINT, \
             nodeid SMALLINT, profileid INTEGER, contacttype SMALLINT, \
             contactdisposition SMALLINT, startdatetime {ts}, enddatetime {ts})"
        ),
        format!(
            "CREATE TABLE contactqueuedetail (sessionid BIGINT, sessionseqnum SMALLINT, \
             nodeid SMALLINT, profileid INTEGER, qindex SMALLINT, targetid INTEGER, \
             targettype SMALLINT, startdatetime {ts}, disposition SMALLINT, \
             metservicelevel SMALLINT, queuetime SMALLINT)"
        ),
        format!(
            "CREATE TABLE agentconnectiondetail (sessionid BIGINT, sessionseqnum SMALLINT, \
             nodeid SMALLINT, profileid INTEGER, resourceid INTEGER, qindex SMALLINT, \
             startdatetime {ts}, enddatetime {ts}, ringtime SMALLINT, talktime SMALLINT, \
             holdtime SMALLINT, worktime SMALLINT)"
        ),
    ]
}

/// The rows (see [`expected_visits`] for what the reader must make of them).
pub fn uccx_rows() -> Vec<&'static str> {
    vec![
        // CSQ 10 "Sales" was edited: recordid 1 then 2; CSQ 11 "Support".
        "INSERT INTO contactservicequeue VALUES (1, 10, 'Sales', 20, 80, 'f')",
        "INSERT INTO contactservicequeue VALUES (2, 10, 'Sales', 30, 80, 't')",
        "INSERT INTO contactservicequeue VALUES (3, 11, 'Support', NULL, 90, 't')",
        // Session 100 (reference "ACD Call Unanswered"): agent A rings, no answer (RONA), agent
        // B answers. Handled by CSQ recordid 1.
        "INSERT INTO contactcalldetail VALUES (100, 0, 1, 1, 1, 2, '2024-03-01 10:00:00.000', '2024-03-01 10:05:00.500')",
        "INSERT INTO contactqueuedetail VALUES (100, 0, 1, 1, 1, 1, 0, '2024-03-01 10:00:05.250', 2, 1, 25)",
        "INSERT INTO agentconnectiondetail VALUES (100, 0, 1, 1, 501, 1, '2024-03-01 10:00:10.000', '2024-03-01 10:00:20.000', 10, 0, 0, 0)",
        "INSERT INTO agentconnectiondetail VALUES (100, 0, 1, 1, 502, 1, '2024-03-01 10:00:30.000', '2024-03-01 10:05:00.000', 3, 120, 15, 30)",
        // The same leg also targeted an agent directly (targettype 1): not a CSQ visit.
        "INSERT INTO contactqueuedetail VALUES (100, 0, 1, 1, 2, 502, 1, '2024-03-01 10:00:06.000', 2, 1, 0)",
        // Session 101: abandoned in CSQ recordid 2 (new version of CSQ 10); no agent.
        "INSERT INTO contactcalldetail VALUES (101, 0, 1, 1, 1, 1, '2024-03-01 10:10:00.000', '2024-03-01 10:11:00.000')",
        "INSERT INTO contactqueuedetail VALUES (101, 0, 1, 1, 1, 2, 0, '2024-03-01 10:10:02.000', 1, 0, 58)",
        // Session 102: queued for CSQ 11, NULL queuetime and disposition (returned as None).
        "INSERT INTO contactcalldetail VALUES (102, 1, 1, 1, 5, 2, '2024-03-01 10:20:00.000', NULL)",
        "INSERT INTO contactqueuedetail VALUES (102, 1, 1, 1, 1, 3, 0, '2024-03-01 10:20:00.000', NULL, 0, NULL)",
        // Session 103: outside the window [10:00, 11:00).
        "INSERT INTO contactcalldetail VALUES (103, 0, 1, 1, 1, 2, '2024-03-01 11:00:00.000', '2024-03-01 11:02:00.000')",
        "INSERT INTO contactqueuedetail VALUES (103, 0, 1, 1, 1, 1, 0, '2024-03-01 11:00:00.000', 2, 1, 3)",
        // Session 99: just before the window.
        "INSERT INTO contactcalldetail VALUES (99, 0, 1, 1, 1, 2, '2024-03-01 09:59:00.000', '2024-03-01 10:02:00.000')",
        "INSERT INTO contactqueuedetail VALUES (99, 0, 1, 1, 1, 1, 0, '2024-03-01 09:59:59.999', 2, 1, 3)",
    ]
}

/// A CQD row whose CSQ recordid 77 does not exist.
pub const UNKNOWN_CSQ_ROW: &str = "INSERT INTO contactqueuedetail VALUES (104, 2, 1, 1, 1, 77, 0, '2024-03-01 10:30:00.000', 1, 0, 5)";

/// The window of [`expected_visits`].
pub fn window() -> (OffsetDateTime, OffsetDateTime) {
    (
        datetime!(2024-03-01 10:00 UTC),
        datetime!(2024-03-01 11:00 UTC),
    )
}

fn ms(t: OffsetDateTime) -> UtcMillis {
    UtcMillis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// What `queue_visits(window())` returns, in order.
pub fn expected_visits() -> Vec<QueueVisitRow> {
    vec![
        QueueVisitRow {
            session_id: Some(100),
            session_seq: Some(0),
            csq_id: Some(10),
            queue_entry: Some(ms(datetime!(2024-03-01 10:00:05.250 UTC))),
            leg_end: Some(ms(datetime!(2024-03-01 10:05:00.500 UTC))),
            queue_disposition: Some(2),
            contact_disposition: Some(2),
            queue_time_s: Some(25),
            talk_time_s: Some(120),
            hold_time_s: Some(15),
            work_time_s: Some(30),
        },
        QueueVisitRow {
            session_id: Some(101),
            session_seq: Some(0),
            csq_id: Some(10),
            queue_entry: Some(ms(datetime!(2024-03-01 10:10:02 UTC))),
            leg_end: Some(ms(datetime!(2024-03-01 10:11:00 UTC))),
            queue_disposition: Some(1),
            contact_disposition: Some(1),
            queue_time_s: Some(58),
            talk_time_s: None,
            hold_time_s: None,
            work_time_s: None,
        },
        QueueVisitRow {
            session_id: Some(102),
            session_seq: Some(1),
            csq_id: Some(11),
            queue_entry: Some(ms(datetime!(2024-03-01 10:20:00 UTC))),
            leg_end: None,
            queue_disposition: None,
            contact_disposition: Some(2),
            queue_time_s: None,
            talk_time_s: None,
            hold_time_s: None,
            work_time_s: None,
        },
    ]
}

/// UCCE HDS tables.
pub fn ucce_ddl(f: Flavor, with_dequeued: bool) -> Vec<String> {
    let ts = ts(f);
    let dequeued = if with_dequeued {
        ", routercallsdequeued INTEGER"
    } else {
        ""
    };
    vec![
        "CREATE TABLE call_type (calltypeid INTEGER PRIMARY KEY, enterprisename VARCHAR(32))"
            .to_string(),
        format!(
            "CREATE TABLE call_type_interval (datetime {ts}, calltypeid INTEGER, \
             timezone INTEGER, callsoffered INTEGER, callshandled INTEGER, \
             totalcallsaband INTEGER, servicelevelcalls INTEGER, \
             servicelevelcallsoffered INTEGER, servicelevelaband INTEGER, \
             answerwaittime INTEGER, handletime INTEGER, talktime INTEGER, holdtime INTEGER\
             {dequeued})"
        ),
    ]
}

/// Rows of [`ucce_ddl`] (without `routercallsdequeued` values; see [`ucce_rows_dequeued`]).
pub fn ucce_rows(with_dequeued: bool) -> Vec<String> {
    let d = |v: &str| {
        if with_dequeued {
            format!(", {v}")
        } else {
            String::new()
        }
    };
    vec![
        "INSERT INTO call_type VALUES (5000, 'CT_Sales')".to_string(),
        "INSERT INTO call_type VALUES (5001, 'CT_Support')".to_string(),
        // Central controller on US Eastern time: 300 in winter (UTC = local + 5 h).
        // Local 04:30 → 09:30 UTC: before the window [10:00, 11:00).
        format!("INSERT INTO call_type_interval VALUES ('2024-01-15 04:30:00.000', 5000, 300, 1, 1, 0, 1, 1, 0, 5, 100, 80, 0{})", d("0")),
        // Local 05:00 → 10:00 UTC: in.
        format!("INSERT INTO call_type_interval VALUES ('2024-01-15 05:00:00.000', 5000, 300, 12, 10, 2, 8, 11, 1, 140, 2400, 2000, 100{})", d("1")),
        // Local 05:30 → 10:30 UTC: in; NULL counts are returned as None.
        format!("INSERT INTO call_type_interval VALUES ('2024-01-15 05:30:00.000', 5001, 300, NULL, 3, 0, 3, 3, 0, 9, 300, 250, 10{})", d("NULL")),
        // Local 10:45 with 0 → 10:45 UTC: in (a row in UTC; the local-time bounds must widen).
        format!("INSERT INTO call_type_interval VALUES ('2024-01-15 10:45:00.000', 5001, 0, 1, 1, 0, 1, 1, 0, 2, 60, 50, 0{})", d("0")),
        // Local 06:00 → 11:00 UTC: out.
        format!("INSERT INTO call_type_interval VALUES ('2024-01-15 06:00:00.000', 5000, 300, 4, 4, 0, 4, 4, 0, 8, 400, 300, 0{})", d("0")),
    ]
}

/// The UTC window for [`ucce_rows`].
pub fn ucce_window() -> (OffsetDateTime, OffsetDateTime) {
    (
        datetime!(2024-01-15 10:00 UTC),
        datetime!(2024-01-15 11:00 UTC),
    )
}

/// Checks `call_type_intervals(ucce_window())`.
pub fn check_intervals(rows: &[wfm_sources::history::CallTypeIntervalRow], with_dequeued: bool) {
    let starts: Vec<_> = rows.iter().map(|r| (r.start, r.call_type_id)).collect();
    assert_eq!(
        starts,
        vec![
            (datetime!(2024-01-15 10:00 UTC), 5000),
            (datetime!(2024-01-15 10:30 UTC), 5001),
            (datetime!(2024-01-15 10:45 UTC), 5001),
        ]
    );
    let first = &rows[0];
    assert_eq!(first.time_zone_min, 300);
    assert_eq!(first.calls_offered, Some(12));
    assert_eq!(first.calls_handled, Some(10));
    assert_eq!(first.total_calls_aband, Some(2));
    assert_eq!(first.service_level_calls, Some(8));
    assert_eq!(first.service_level_calls_offered, Some(11));
    assert_eq!(first.service_level_aband, Some(1));
    assert_eq!(first.answer_wait_time_s, Some(140));
    assert_eq!(first.handle_time_s, Some(2400));
    assert_eq!(first.talk_time_s, Some(2000));
    assert_eq!(first.hold_time_s, Some(100));
    assert_eq!(first.router_calls_dequeued, with_dequeued.then_some(1));
    assert_eq!(rows[1].calls_offered, None);
    assert_eq!(rows[1].router_calls_dequeued, None);
}

/// Agent-state tables of both dialects (`agentstatedetail`, `agent_state_trace`).
pub fn state_ddl(f: Flavor) -> Vec<String> {
    let ts = ts(f);
    vec![
        format!(
            "CREATE TABLE agentstatedetail (agentid INTEGER, eventdatetime {ts}, \
             gmtoffset SMALLINT, eventtype SMALLINT, reasoncode INTEGER, profileid INTEGER)"
        ),
        format!(
            "CREATE TABLE agent_state_trace (datetime {ts}, skilltargetid INTEGER, \
             timezone INTEGER, mrdomainid INTEGER, agentstate SMALLINT, eventname INTEGER, \
             reasoncode INTEGER)"
        ),
    ]
}

/// Rows of [`state_ddl`]: UCCX in GMT, UCCE on US Eastern local time (timezone 300), both in
/// insertion order that is *not* time order.
pub fn state_rows() -> Vec<&'static str> {
    vec![
        // UCCX, window [10:00, 11:00) UTC.
        "INSERT INTO agentstatedetail VALUES (501, '2024-03-01 10:00:02.000', 0, 3, 0, 1)",
        "INSERT INTO agentstatedetail VALUES (501, '2024-03-01 10:00:00.000', 0, 1, 0, 1)",
        "INSERT INTO agentstatedetail VALUES (502, '2024-03-01 10:30:00.250', 0, 2, 32763, 1)",
        "INSERT INTO agentstatedetail VALUES (502, '2024-03-01 10:45:00.000', 0, 9, NULL, 1)",
        "INSERT INTO agentstatedetail VALUES (501, '2024-03-01 09:59:59.999', 0, 7, 0, 1)",
        "INSERT INTO agentstatedetail VALUES (501, '2024-03-01 11:00:00.000', 0, 3, 0, 1)",
        // UCCE: local 05:10 + 300 min = 10:10 UTC (in); local 06:00 = 11:00 UTC (out);
        // local 10:20 with timezone 0 = 10:20 UTC (in; the local bounds must widen).
        "INSERT INTO agent_state_trace VALUES ('2024-01-15 05:10:00.000', 5001, 300, 1, 2, 2, 7)",
        "INSERT INTO agent_state_trace VALUES ('2024-01-15 06:00:00.000', 5001, 300, 1, 3, 3, 0)",
        "INSERT INTO agent_state_trace VALUES ('2024-01-15 10:20:00.000', 5002, 0, 1, 4, 4, 0)",
        "INSERT INTO agent_state_trace VALUES ('2024-01-15 04:59:59.000', 5002, 300, 1, 0, 0, 0)",
    ]
}

/// Checks `agent_states(window())` on the UCCX dialect.
pub fn check_uccx_states(rows: &[wfm_sources::history::AgentStateRow]) {
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.agent_id, r.at, r.raw_state, r.reason_code))
        .collect();
    assert_eq!(
        got,
        vec![
            (501, datetime!(2024-03-01 10:00 UTC), 1, Some(0)),
            (501, datetime!(2024-03-01 10:00:02 UTC), 3, Some(0)),
            (502, datetime!(2024-03-01 10:30:00.250 UTC), 2, Some(32763)),
            (502, datetime!(2024-03-01 10:45 UTC), 9, None),
        ]
    );
}

/// Checks `agent_states(ucce_window())` on the UCCE dialect.
pub fn check_ucce_states(rows: &[wfm_sources::history::AgentStateRow]) {
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.agent_id, r.at, r.raw_state, r.reason_code))
        .collect();
    assert_eq!(
        got,
        vec![
            (5001, datetime!(2024-01-15 10:10 UTC), 2, Some(7)),
            (5002, datetime!(2024-01-15 10:20 UTC), 4, Some(0)),
        ]
    );
}

//! The SQL the reader runs: one text for every backend (PostgreSQL, SQLite, Informix, SQL
//! Server). Lower-case unquoted names, `?` parameters, ANSI joins, a derived table, no
//! backend-specific functions; window bounds are always bound parameters.

use super::Dialect;

/// UCCX `db_cra` tables the reader needs.
pub const UCCX_TABLES: [&str; 4] = [
    "contactcalldetail",
    "contactqueuedetail",
    "agentconnectiondetail",
    "contactservicequeue",
];

/// UCCE HDS tables the reader needs.
pub const UCCE_TABLES: [&str; 2] = ["call_type", "call_type_interval"];

/// The tables of `dialect`.
pub fn tables(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Uccx => &UCCX_TABLES,
        Dialect::Ucce => &UCCE_TABLES,
    }
}

/// A statement that returns no row but fails when `table` or one of the columns read from it is
/// missing (used by `check`).
pub fn probe(table: &str) -> String {
    let columns = match table {
        "contactcalldetail" => {
            "sessionid, sessionseqnum, nodeid, profileid, enddatetime, contactdisposition"
        }
        "contactqueuedetail" => {
            "sessionid, sessionseqnum, nodeid, profileid, qindex, targetid, targettype, \
             startdatetime, disposition, queuetime"
        }
        "agentconnectiondetail" => {
            "sessionid, sessionseqnum, nodeid, profileid, qindex, startdatetime, talktime, \
             holdtime, worktime"
        }
        "contactservicequeue" => QUEUES_UCCX_COLUMNS,
        "call_type" => QUEUES_UCCE_COLUMNS,
        "call_type_interval" => INTERVAL_COLUMNS_BASE,
        _ => "1",
    };
    format!("SELECT {columns} FROM {table} WHERE 1 = 0")
}

const QUEUES_UCCX_COLUMNS: &str = "recordid, contactservicequeueid, csqname, servicelevel, active";
const QUEUES_UCCE_COLUMNS: &str = "calltypeid, enterprisename";

/// UCCX queues: every `contactservicequeue` row (one per configuration version).
pub const QUEUES_UCCX: &str = "SELECT recordid, contactservicequeueid, csqname, servicelevel, \
     active FROM contactservicequeue ORDER BY recordid";

/// UCCE queues: every `call_type` row.
pub const QUEUES_UCCE: &str =
    "SELECT calltypeid, enterprisename FROM call_type ORDER BY calltypeid";

/// UCCX queue visits. Parameters: (1) lower and (2) upper bound for
/// `agentconnectiondetail.startdatetime` (the window start minus [`ACD_SLACK_MS`], the window end
/// plus [`ACD_AFTER_MS`]: the bounds only let the server skip rows that cannot belong to the
/// window's legs), (3) window start, (4) window end (exclusive), all UTC. No ORDER BY: sorting millions of rows costs the server more than it is worth, and
/// the aggregation does not depend on the order. Agent connections are summed over DISTINCT
/// rows: an ACD row written twice (a duplicated row in the reporting database) counts once, as
/// the de-duplication of the legs themselves does.
///
/// Result columns, in order: sessionid, sessionseqnum, targetid, CSQ recordid (NULL = no CSQ row
/// matched), contactservicequeueid, CQD startdatetime, CCD enddatetime, CQD disposition,
/// CCD contactdisposition, queuetime, Σ talktime, Σ holdtime, Σ worktime.
pub const QUEUE_VISITS: &str = "SELECT cqd.sessionid, cqd.sessionseqnum, cqd.targetid, \
     csq.recordid, csq.contactservicequeueid, cqd.startdatetime, ccd.enddatetime, \
     cqd.disposition, ccd.contactdisposition, cqd.queuetime, \
     acd.talktime, acd.holdtime, acd.worktime \
     FROM contactqueuedetail cqd \
     LEFT JOIN contactcalldetail ccd \
     ON ccd.sessionid = cqd.sessionid AND ccd.sessionseqnum = cqd.sessionseqnum \
     AND ccd.nodeid = cqd.nodeid AND ccd.profileid = cqd.profileid \
     LEFT JOIN contactservicequeue csq ON csq.recordid = cqd.targetid \
     LEFT JOIN (SELECT sessionid, sessionseqnum, nodeid, profileid, qindex, \
     SUM(talktime) AS talktime, SUM(holdtime) AS holdtime, SUM(worktime) AS worktime \
     FROM (SELECT DISTINCT sessionid, sessionseqnum, nodeid, profileid, qindex, resourceid, \
     startdatetime, talktime, holdtime, worktime \
     FROM agentconnectiondetail WHERE startdatetime >= ? AND startdatetime < ?) a \
     GROUP BY sessionid, sessionseqnum, nodeid, profileid, qindex) acd \
     ON acd.sessionid = cqd.sessionid AND acd.sessionseqnum = cqd.sessionseqnum \
     AND acd.nodeid = cqd.nodeid AND acd.profileid = cqd.profileid AND acd.qindex = cqd.qindex \
     WHERE cqd.targettype = 0 AND cqd.startdatetime >= ? AND cqd.startdatetime < ?";

/// How far before the window start agent connections are read (1 hour).
pub const ACD_SLACK_MS: i64 = 3_600_000;

/// How far after the window end agent connections are read: a connection starts while its leg
/// waits in the queue, and `CQD.queuetime` is a smallint of seconds (at most 32,767 s ≈ 9.1 h),
/// so 10 hours covers every leg that entered the queue in the window. Without an upper bound
/// every window would aggregate the rest of the table (quadratic in a backfill).
pub const ACD_AFTER_MS: i64 = 10 * 3_600_000;

const INTERVAL_COLUMNS_BASE: &str = "calltypeid, datetime, timezone, callsoffered, callshandled, \
     totalcallsaband, servicelevelcalls, servicelevelcallsoffered, servicelevelaband, \
     answerwaittime, handletime, talktime, holdtime";

/// UCCE call-type intervals. Parameters: local `datetime` lower and upper bound (the UTC window
/// widened by [`UCCE_LOCAL_SLACK_MS`] on each side; the exact UTC window is applied after the
/// per-row time-zone conversion).
pub fn call_type_intervals(with_dequeued: bool) -> String {
    let dequeued = if with_dequeued {
        "routercallsdequeued"
    } else {
        "NULL"
    };
    format!(
        "SELECT {INTERVAL_COLUMNS_BASE}, {dequeued} FROM call_type_interval \
         WHERE datetime >= ? AND datetime < ? ORDER BY datetime, calltypeid"
    )
}

/// Widening of the UCCE window in local time: 15 hours covers every UTC offset in use
/// (UTC-12 .. UTC+14).
pub const UCCE_LOCAL_SLACK_MS: i64 = 15 * 3_600_000;

/// The agent-state table of `dialect`: UCCX `agentstatedetail`, UCCE `agent_state_trace`.
pub fn state_table(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Uccx => "agentstatedetail",
        Dialect::Ucce => "agent_state_trace",
    }
}

/// A statement that returns no row but fails when the agent-state table of `dialect` or one of
/// the columns read from it is missing (used by `check_states`).
pub fn state_probe(dialect: Dialect) -> String {
    match dialect {
        Dialect::Uccx => format!("{AGENT_STATES_UCCX_SELECT} WHERE 1 = 0"),
        Dialect::Ucce => format!("{AGENT_STATES_UCCE_SELECT} WHERE 1 = 0"),
    }
}

const AGENT_STATES_UCCX_SELECT: &str =
    "SELECT agentid, eventdatetime, eventtype, reasoncode FROM agentstatedetail";

const AGENT_STATES_UCCE_SELECT: &str =
    "SELECT skilltargetid, datetime, timezone, agentstate, reasoncode FROM agent_state_trace";

/// UCCX agent state changes. Parameters: window start and end (exclusive), UTC (`eventdatetime`
/// is stored in GMT). No ORDER BY (the reader sorts). Result columns: agentid, eventdatetime,
/// eventtype, reasoncode.
pub const AGENT_STATES_UCCX: &str = "SELECT agentid, eventdatetime, eventtype, reasoncode \
     FROM agentstatedetail WHERE eventdatetime >= ? AND eventdatetime < ?";

/// UCCE agent state changes. Parameters: local `datetime` lower and upper bound (the UTC window
/// widened by [`UCCE_LOCAL_SLACK_MS`], as for [`call_type_intervals`]). Result columns:
/// skilltargetid, datetime, timezone, agentstate, reasoncode.
pub const AGENT_STATES_UCCE: &str = "SELECT skilltargetid, datetime, timezone, agentstate, \
     reasoncode FROM agent_state_trace WHERE datetime >= ? AND datetime < ?";

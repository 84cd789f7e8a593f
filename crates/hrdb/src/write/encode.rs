//! Row encoders shared by both backends: each table's columns in order, sent to a [`Sink`]
//! that renders PostgreSQL COPY text or SQL literals.

use std::fmt::Write as _;

use crate::clock::UtcMillis;
use crate::model::{
    AgentRow, CallLeg, CallTypeIntervalRow, Centre, CsqRow, Originator, QueueRow, ResourceRow,
    StateRow, NODE_ID, PROFILE_ID,
};

/// Column lists, in encoder order.
pub const CCD_COLUMNS: &str = "sessionid, sessionseqnum, nodeid, profileid, contactid, contacttype, contactdisposition, originatortype, originatorid, originatordn, destinationtype, destinationid, destinationdn, startdatetime, enddatetime, connecttime, applicationid, applicationname, callednumber, transfer, redirect, conference";
/// `contactqueuedetail` columns.
pub const CQD_COLUMNS: &str = "sessionid, sessionseqnum, nodeid, profileid, contactid, targetid, targettype, qindex, startdatetime, disposition, metservicelevel, queuetime";
/// `agentconnectiondetail` columns.
pub const ACD_COLUMNS: &str = "sessionid, sessionseqnum, nodeid, profileid, resourceid, startdatetime, enddatetime, qindex, gmtoffset, ringtime, talktime, holdtime, worktime, callwrapupdata, callresult, dialinglistid, rna, contactid, loginsessionid, csqrecordid, consultsessionid";
/// `agentstatedetail` columns.
pub const ASD_COLUMNS: &str = "agentid, eventdatetime, gmtoffset, eventtype, reasoncode, profileid";
/// `contactservicequeue` columns.
pub const CSQ_COLUMNS: &str = "recordid, contactservicequeueid, profileid, csqname, active, servicelevel, servicelevelpercentage, queuealgorithm, queuetypename, queuetype, resourcepooltype, skillgroupid, resourcegroupid";
/// `resource` columns.
pub const RESOURCE_COLUMNS: &str =
    "resourceid, profileid, resourceloginid, resourcename, extension, resourceskillmapid, active";
/// `call_type` columns.
pub const CALL_TYPE_COLUMNS: &str = "calltypeid, enterprisename, description, deleted";
/// `call_type_interval` columns.
pub const CTI_COLUMNS: &str = "datetime, calltypeid, timezone, recoverykey, dbdatetime, reportinginterval, callsoffered, callshandled, callsanswered, totalcallsaband, routercallsabandq, callsrona, servicelevelcalls, servicelevelcallsoffered, servicelevelaband, servicelevel, answerwaittime, handletime, talktime, holdtime, routerqueuecalls, routerqueuewaittime, calldelayabandtime";
/// `agent_state_trace` columns.
pub const AST_COLUMNS: &str = "datetime, skilltargetid, timezone, mrdomainid, agentstate, eventname, reasoncode, recoverykey, dbdatetime";

/// Where encoded values go.
pub trait Sink {
    /// An integer.
    fn int(&mut self, v: i64);
    /// A float.
    fn float(&mut self, v: f64);
    /// A string (any characters; the sink escapes).
    fn text(&mut self, v: &str);
    /// A boolean.
    fn boolean(&mut self, v: bool);
    /// An instant shifted to a wall clock `offset_minutes` from UTC.
    fn time(&mut self, v: UtcMillis, offset_minutes: i32);
    /// SQL NULL.
    fn null(&mut self);
    /// Ends the row.
    fn end_row(&mut self);
}

/// PostgreSQL `COPY … FROM STDIN` text format.
pub struct CopySink {
    /// The encoded rows.
    pub buf: String,
    first: bool,
}

impl CopySink {
    /// An empty buffer.
    pub fn new() -> CopySink {
        CopySink {
            buf: String::with_capacity(1 << 20),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.push('\t');
        }
        self.first = false;
    }
}

impl Default for CopySink {
    fn default() -> Self {
        CopySink::new()
    }
}

impl Sink for CopySink {
    fn int(&mut self, v: i64) {
        self.sep();
        let _ = write!(self.buf, "{v}");
    }
    fn float(&mut self, v: f64) {
        self.sep();
        let _ = write!(self.buf, "{v}");
    }
    fn text(&mut self, v: &str) {
        self.sep();
        for c in v.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
    }
    fn boolean(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { 't' } else { 'f' });
    }
    fn time(&mut self, v: UtcMillis, offset_minutes: i32) {
        self.sep();
        v.write_sql_text(offset_minutes, &mut self.buf);
    }
    fn null(&mut self) {
        self.sep();
        self.buf.push_str("\\N");
    }
    fn end_row(&mut self) {
        self.buf.push('\n');
        self.first = true;
    }
}

/// SQL literal tuples `(…),(…)` for a multi-row INSERT (SQLite: booleans as 0/1).
pub struct SqlSink {
    /// The encoded tuples.
    pub buf: String,
    /// Rows encoded so far.
    pub rows: usize,
    open: bool,
}

impl SqlSink {
    /// An empty buffer.
    pub fn new() -> SqlSink {
        SqlSink {
            buf: String::new(),
            rows: 0,
            open: false,
        }
    }

    fn sep(&mut self) {
        if self.open {
            self.buf.push(',');
        } else {
            if self.rows > 0 {
                self.buf.push(',');
            }
            self.buf.push('(');
            self.open = true;
        }
    }
}

impl Default for SqlSink {
    fn default() -> Self {
        SqlSink::new()
    }
}

impl Sink for SqlSink {
    fn int(&mut self, v: i64) {
        self.sep();
        let _ = write!(self.buf, "{v}");
    }
    fn float(&mut self, v: f64) {
        self.sep();
        let _ = write!(self.buf, "{v:?}");
    }
    fn text(&mut self, v: &str) {
        self.sep();
        self.buf.push('\'');
        self.buf.push_str(&v.replace('\'', "''"));
        self.buf.push('\'');
    }
    fn boolean(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { '1' } else { '0' });
    }
    fn time(&mut self, v: UtcMillis, offset_minutes: i32) {
        self.sep();
        self.buf.push('\'');
        v.write_sql_text(offset_minutes, &mut self.buf);
        self.buf.push('\'');
    }
    fn null(&mut self) {
        self.sep();
        self.buf.push_str("NULL");
    }
    fn end_row(&mut self) {
        self.buf.push(')');
        self.open = false;
        self.rows += 1;
    }
}

fn csq_name_of_app(centre: &Centre, applicationid: i32) -> String {
    let name = centre
        .csqs
        .iter()
        .find(|c| c.contactservicequeueid == applicationid)
        .map(|c| c.csqname.to_lowercase().replace(' ', "_"))
        .unwrap_or_else(|| "main".to_string());
    format!("app_{name}")
}

/// Per-centre lookups the encoders need (application names, extensions).
pub struct Lookups {
    app_names: Vec<String>,
    extensions: Vec<String>,
}

impl Lookups {
    /// Builds the lookups of a centre.
    pub fn new(centre: &Centre) -> Lookups {
        let app_names = (0..=centre.spec.csqs as i32)
            .map(|id| csq_name_of_app(centre, id))
            .collect();
        let extensions = centre
            .resources
            .iter()
            .map(|r| r.extension.clone())
            .collect();
        Lookups {
            app_names,
            extensions,
        }
    }

    fn extension(&self, resourceid: i32) -> &str {
        self.extensions
            .get((resourceid - 1).max(0) as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Encodes a `contactcalldetail` row.
pub fn ccd(leg: &CallLeg, lookups: &Lookups, sink: &mut impl Sink) {
    sink.int(leg.sessionid);
    sink.int(leg.sessionseqnum.into());
    sink.int(NODE_ID.into());
    sink.int(PROFILE_ID.into());
    sink.int(leg.contactid.into());
    sink.int(leg.contacttype.into());
    sink.int(leg.contactdisposition.into());
    match leg.originator {
        Originator::Caller(number) => {
            sink.int(2);
            sink.int(0);
            sink.text(&number.to_string());
        }
        Originator::Agent(id) => {
            sink.int(1);
            sink.int(id.into());
            sink.text(lookups.extension(id));
        }
    }
    if leg.destinationid > 0 {
        sink.int(1);
        sink.int(leg.destinationid.into());
        sink.text(lookups.extension(leg.destinationid));
    } else {
        sink.int(2);
        sink.int(0);
        sink.text("7001");
    }
    sink.time(leg.start, 0);
    sink.time(leg.end, 0);
    sink.int(leg.connecttime.into());
    sink.int(leg.applicationid.into());
    let app = lookups
        .app_names
        .get(leg.applicationid.max(0) as usize)
        .map(String::as_str)
        .unwrap_or("app_main");
    sink.text(app);
    sink.text(&format!("80055501{:02}", leg.applicationid % 100));
    sink.boolean(leg.transfer);
    sink.boolean(leg.redirect);
    sink.boolean(leg.conference);
    sink.end_row();
}

/// Encodes a `contactqueuedetail` row.
pub fn cqd(row: &QueueRow, sink: &mut impl Sink) {
    sink.int(row.sessionid);
    sink.int(row.sessionseqnum.into());
    sink.int(NODE_ID.into());
    sink.int(PROFILE_ID.into());
    sink.int(row.contactid.into());
    sink.int(row.targetid.into());
    sink.int(row.targettype.into());
    sink.int(row.qindex.into());
    sink.time(row.start, 0);
    sink.int(row.disposition.into());
    sink.boolean(row.metservicelevel);
    sink.int(row.queuetime.into());
    sink.end_row();
}

/// Encodes an `agentconnectiondetail` row.
pub fn acd(row: &AgentRow, sink: &mut impl Sink) {
    sink.int(row.sessionid);
    sink.int(row.sessionseqnum.into());
    sink.int(NODE_ID.into());
    sink.int(PROFILE_ID.into());
    sink.int(row.resourceid.into());
    sink.time(row.start, 0);
    sink.time(row.end, 0);
    sink.int(row.qindex.into());
    sink.int(0);
    sink.int(row.ringtime.into());
    sink.int(row.talktime.into());
    sink.int(row.holdtime.into());
    sink.int(row.worktime.into());
    sink.null();
    if row.rna {
        sink.null();
    } else {
        sink.int(1);
    }
    sink.null();
    sink.boolean(row.rna);
    sink.int(row.contactid.into());
    sink.null();
    sink.int(row.csqrecordid.into());
    sink.null();
    sink.end_row();
}

/// Encodes an `agentstatedetail` row.
pub fn asd(row: &StateRow, sink: &mut impl Sink) {
    sink.int(row.agentid.into());
    sink.time(row.at, 0);
    sink.int(0);
    sink.int(row.eventtype.into());
    sink.int(row.reasoncode.into());
    sink.int(PROFILE_ID.into());
    sink.end_row();
}

/// Encodes a `contactservicequeue` row as configured at `until` (active until replaced).
pub fn csq(row: &CsqRow, until: i64, sink: &mut impl Sink) {
    sink.int(row.recordid.into());
    sink.int(row.contactservicequeueid.into());
    sink.int(PROFILE_ID.into());
    sink.text(&row.csqname);
    sink.boolean(row.replaced_at.is_none_or(|r| r.0 > until));
    sink.int(row.servicelevel.into());
    sink.int(row.servicelevelpercentage.into());
    sink.text(row.queuealgorithm);
    sink.text("Voice");
    sink.int(1);
    sink.int(row.resourcepooltype.into());
    sink.int(row.contactservicequeueid.into());
    sink.null();
    sink.end_row();
}

/// Encodes a `resource` row.
pub fn resource(row: &ResourceRow, sink: &mut impl Sink) {
    sink.int(row.resourceid.into());
    sink.int(PROFILE_ID.into());
    sink.text(&row.resourceloginid);
    sink.text(&row.resourcename);
    sink.text(&row.extension);
    sink.int(row.resourceid.into());
    sink.boolean(true);
    sink.end_row();
}

/// Encodes a `call_type` row for a logical CSQ.
pub fn call_type(csq: &CsqRow, sink: &mut impl Sink) {
    sink.int(Centre::call_type_id(csq.contactservicequeueid).into());
    sink.text(&format!("CT_{}", csq.csqname.replace(' ', "_")));
    sink.text(&format!("Calls for CSQ {}", csq.contactservicequeueid));
    sink.text("N");
    sink.end_row();
}

/// The HDS `TimeZone` value of a site `utc_offset` minutes from UTC: Cisco's examples give 300
/// for US Eastern standard time (UTC-5), i.e. minutes *west* of UTC, so UTC = DateTime + TimeZone.
pub fn hds_timezone(utc_offset_minutes: i32) -> i64 {
    -i64::from(utc_offset_minutes)
}

/// Encodes a `call_type_interval` row; `recoverykey` is its position in the table.
pub fn cti(centre: &Centre, row: &CallTypeIntervalRow, recoverykey: f64, sink: &mut impl Sink) {
    let tz = centre.spec.utc_offset_minutes;
    sink.time(row.start, tz);
    sink.int(row.calltypeid.into());
    sink.int(hds_timezone(tz));
    sink.float(recoverykey);
    sink.time(centre.interval_write(row), tz);
    sink.int(centre.spec.interval_minutes.into());
    for v in [
        row.callsoffered,
        row.callshandled,
        row.callsanswered,
        row.totalcallsaband,
        row.routercallsabandq,
        row.callsrona,
        row.servicelevelcalls,
        row.servicelevelcallsoffered,
        row.servicelevelaband,
    ] {
        sink.int(v.into());
    }
    // ServiceLevel with abandons ignored: SLCalls / (SLCallsOffered − SLAband).
    let denominator = row.servicelevelcallsoffered - row.servicelevelaband;
    if denominator > 0 {
        sink.float(f64::from(row.servicelevelcalls) / f64::from(denominator));
    } else {
        sink.null();
    }
    for v in [
        row.answerwaittime,
        row.handletime,
        row.talktime,
        row.holdtime,
        row.routerqueuecalls,
        row.routerqueuewaittime,
        row.calldelayabandtime,
    ] {
        sink.int(v.into());
    }
    sink.end_row();
}

/// The UCCE trace state for a UCCX event type.
pub fn trace_state(eventtype: i16) -> i64 {
    match eventtype {
        1 => 1, // Log In → Logged On
        2 => 2, // Not Ready
        3 => 3, // Ready
        4 => 8, // Reserved
        5 => 4, // Talking
        6 => 5, // Work → Work Not Ready
        7 => 0, // Log Out → Logged Off
        _ => 14,
    }
}

/// Encodes an `agent_state_trace` row; `at` may be nudged by the caller to keep the key unique.
pub fn ast(centre: &Centre, row: &StateRow, at: UtcMillis, recoverykey: f64, sink: &mut impl Sink) {
    let tz = centre.spec.utc_offset_minutes;
    let state = trace_state(row.eventtype);
    sink.time(at, tz);
    sink.int(Centre::skill_target_id(row.agentid).into());
    sink.int(hds_timezone(tz));
    sink.int(1);
    sink.int(state);
    sink.int(state);
    sink.int(row.reasoncode.into());
    sink.float(recoverykey);
    sink.time(row.at, tz);
    sink.end_row();
}

-- UCCE HDS tables (subset), SQLite flavour of the emulator. Cisco spells them in mixed
-- case (Call_Type_Interval.CallsOffered); unquoted lower-case names here fold the same way.
-- datetime is the central controller's local wall-clock time; timezone is the offset of that
-- clock from UTC in minutes (local = UTC + timezone, e.g. -300 for UTC-5).

CREATE TABLE IF NOT EXISTS call_type (
    calltypeid INTEGER PRIMARY KEY,
    enterprisename TEXT,
    description TEXT,
    deleted TEXT
);

CREATE TABLE IF NOT EXISTS call_type_interval (
    datetime TEXT NOT NULL,
    calltypeid INTEGER NOT NULL,
    timezone INTEGER NOT NULL,
    recoverykey REAL,
    dbdatetime TEXT,
    reportinginterval INTEGER,
    callsoffered INTEGER,
    callshandled INTEGER,
    callsanswered INTEGER,
    totalcallsaband INTEGER,
    routercallsabandq INTEGER,
    callsrona INTEGER,
    servicelevelcalls INTEGER,
    servicelevelcallsoffered INTEGER,
    servicelevelaband INTEGER,
    servicelevel REAL,
    answerwaittime INTEGER,
    handletime INTEGER,
    talktime INTEGER,
    holdtime INTEGER,
    routerqueuecalls INTEGER,
    routerqueuewaittime INTEGER,
    calldelayabandtime INTEGER
);
CREATE INDEX IF NOT EXISTS call_type_interval_key ON call_type_interval (datetime, calltypeid);

CREATE TABLE IF NOT EXISTS agent_state_trace (
    datetime TEXT NOT NULL,
    skilltargetid INTEGER NOT NULL,
    timezone INTEGER NOT NULL,
    mrdomainid INTEGER NOT NULL,
    agentstate INTEGER,
    eventname INTEGER,
    reasoncode INTEGER,
    recoverykey REAL,
    dbdatetime TEXT
);
CREATE INDEX IF NOT EXISTS agent_state_trace_key ON agent_state_trace (datetime, skilltargetid);

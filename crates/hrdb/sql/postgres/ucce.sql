-- UCCE HDS tables (subset), PostgreSQL flavour of the emulator. Cisco spells them in mixed
-- case (Call_Type_Interval.CallsOffered); unquoted lower-case names here fold the same way.
-- datetime is the central controller's local wall-clock time; timezone is the offset of that
-- clock from UTC in minutes (local = UTC + timezone, e.g. -300 for UTC-5).

CREATE TABLE IF NOT EXISTS call_type (
    calltypeid integer PRIMARY KEY,
    enterprisename varchar(32),
    description varchar(255),
    deleted char(1)
);

CREATE TABLE IF NOT EXISTS call_type_interval (
    datetime timestamp(3) without time zone NOT NULL,
    calltypeid integer NOT NULL,
    timezone integer NOT NULL,
    recoverykey double precision,
    dbdatetime timestamp(3) without time zone,
    reportinginterval integer,
    callsoffered integer,
    callshandled integer,
    callsanswered integer,
    totalcallsaband integer,
    routercallsabandq integer,
    callsrona integer,
    servicelevelcalls integer,
    servicelevelcallsoffered integer,
    servicelevelaband integer,
    servicelevel double precision,
    answerwaittime integer,
    handletime integer,
    talktime integer,
    holdtime integer,
    routerqueuecalls integer,
    routerqueuewaittime integer,
    calldelayabandtime integer
);
CREATE INDEX IF NOT EXISTS call_type_interval_key ON call_type_interval (datetime, calltypeid);

CREATE TABLE IF NOT EXISTS agent_state_trace (
    datetime timestamp(3) without time zone NOT NULL,
    skilltargetid integer NOT NULL,
    timezone integer NOT NULL,
    mrdomainid integer NOT NULL,
    agentstate integer,
    eventname integer,
    reasoncode integer,
    recoverykey double precision,
    dbdatetime timestamp(3) without time zone
);
CREATE INDEX IF NOT EXISTS agent_state_trace_key ON agent_state_trace (datetime, skilltargetid);

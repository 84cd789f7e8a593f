-- UCCX historical reporting tables (db_cra), PostgreSQL flavour of the emulator.
-- Datetimes are timestamp(3) without time zone holding UTC (GMT), as db_cra stores them.
-- Durations are whole seconds. There are deliberately no primary-key or NOT NULL constraints
-- beyond the leg key, so tests can inject malformed and duplicated rows; the key columns have
-- plain indexes instead.

CREATE TABLE IF NOT EXISTS contactcalldetail (
    sessionid numeric(18,0) NOT NULL,
    sessionseqnum smallint NOT NULL,
    nodeid smallint NOT NULL,
    profileid integer NOT NULL,
    contactid integer,
    contacttype smallint,
    contactdisposition smallint,
    originatortype smallint,
    originatorid integer,
    originatordn varchar(30),
    destinationtype smallint,
    destinationid integer,
    destinationdn varchar(30),
    startdatetime timestamp(3) without time zone,
    enddatetime timestamp(3) without time zone,
    connecttime integer,
    applicationid integer,
    applicationname varchar(30),
    callednumber varchar(30),
    transfer boolean,
    redirect boolean,
    conference boolean,
    customvariable1 varchar(40),
    customvariable2 varchar(40),
    customvariable3 varchar(40),
    customvariable4 varchar(40),
    customvariable5 varchar(40),
    customvariable6 varchar(40),
    customvariable7 varchar(40),
    customvariable8 varchar(40),
    customvariable9 varchar(40),
    customvariable10 varchar(40)
);
CREATE INDEX IF NOT EXISTS contactcalldetail_key ON contactcalldetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS contactcalldetail_start ON contactcalldetail (startdatetime);

CREATE TABLE IF NOT EXISTS contactqueuedetail (
    sessionid numeric(18,0) NOT NULL,
    sessionseqnum smallint NOT NULL,
    nodeid smallint NOT NULL,
    profileid integer NOT NULL,
    contactid integer,
    targetid integer,
    targettype smallint,
    qindex smallint,
    startdatetime timestamp(3) without time zone,
    disposition smallint,
    metservicelevel boolean,
    queuetime smallint
);
CREATE INDEX IF NOT EXISTS contactqueuedetail_key ON contactqueuedetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS contactqueuedetail_start ON contactqueuedetail (startdatetime);

CREATE TABLE IF NOT EXISTS agentconnectiondetail (
    sessionid numeric(18,0) NOT NULL,
    sessionseqnum smallint NOT NULL,
    nodeid smallint NOT NULL,
    profileid integer NOT NULL,
    resourceid integer,
    startdatetime timestamp(3) without time zone,
    enddatetime timestamp(3) without time zone,
    qindex smallint,
    gmtoffset smallint,
    ringtime smallint,
    talktime integer,
    holdtime integer,
    worktime integer,
    callwrapupdata varchar(40),
    callresult smallint,
    dialinglistid integer,
    rna boolean,
    contactid integer,
    loginsessionid numeric(18,0),
    csqrecordid integer,
    consultsessionid numeric(18,0)
);
CREATE INDEX IF NOT EXISTS agentconnectiondetail_key ON agentconnectiondetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS agentconnectiondetail_start ON agentconnectiondetail (startdatetime);

CREATE TABLE IF NOT EXISTS agentstatedetail (
    agentid integer NOT NULL,
    eventdatetime timestamp(3) without time zone NOT NULL,
    gmtoffset smallint,
    eventtype smallint,
    reasoncode smallint,
    profileid integer
);
CREATE INDEX IF NOT EXISTS agentstatedetail_time ON agentstatedetail (eventdatetime);

CREATE TABLE IF NOT EXISTS contactservicequeue (
    recordid integer PRIMARY KEY,
    contactservicequeueid integer NOT NULL,
    profileid integer,
    csqname varchar(50),
    active boolean,
    servicelevel integer,
    servicelevelpercentage smallint,
    queuealgorithm varchar(30),
    queuetypename varchar(30),
    queuetype smallint,
    resourcepooltype smallint,
    skillgroupid integer,
    resourcegroupid integer
);

CREATE TABLE IF NOT EXISTS resource (
    resourceid integer PRIMARY KEY,
    profileid integer,
    resourceloginid varchar(50),
    resourcename varchar(50),
    extension varchar(50),
    resourceskillmapid integer,
    active boolean
);

-- UCCX historical reporting tables (db_cra), SQLite flavour of the emulator.
-- Datetimes are TEXT "YYYY-MM-DD HH:MM:SS.mmm" holding UTC (GMT), as db_cra stores them; booleans are 0/1.
-- Durations are whole seconds. There are deliberately no primary-key or NOT NULL constraints
-- beyond the leg key, so tests can inject malformed and duplicated rows; the key columns have
-- plain indexes instead.

CREATE TABLE IF NOT EXISTS contactcalldetail (
    sessionid INTEGER NOT NULL,
    sessionseqnum INTEGER NOT NULL,
    nodeid INTEGER NOT NULL,
    profileid INTEGER NOT NULL,
    contactid INTEGER,
    contacttype INTEGER,
    contactdisposition INTEGER,
    originatortype INTEGER,
    originatorid INTEGER,
    originatordn TEXT,
    destinationtype INTEGER,
    destinationid INTEGER,
    destinationdn TEXT,
    startdatetime TEXT,
    enddatetime TEXT,
    connecttime INTEGER,
    applicationid INTEGER,
    applicationname TEXT,
    callednumber TEXT,
    transfer INTEGER,
    redirect INTEGER,
    conference INTEGER,
    customvariable1 TEXT,
    customvariable2 TEXT,
    customvariable3 TEXT,
    customvariable4 TEXT,
    customvariable5 TEXT,
    customvariable6 TEXT,
    customvariable7 TEXT,
    customvariable8 TEXT,
    customvariable9 TEXT,
    customvariable10 TEXT
);
CREATE INDEX IF NOT EXISTS contactcalldetail_key ON contactcalldetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS contactcalldetail_start ON contactcalldetail (startdatetime);

CREATE TABLE IF NOT EXISTS contactqueuedetail (
    sessionid INTEGER NOT NULL,
    sessionseqnum INTEGER NOT NULL,
    nodeid INTEGER NOT NULL,
    profileid INTEGER NOT NULL,
    contactid INTEGER,
    targetid INTEGER,
    targettype INTEGER,
    qindex INTEGER,
    startdatetime TEXT,
    disposition INTEGER,
    metservicelevel INTEGER,
    queuetime INTEGER
);
CREATE INDEX IF NOT EXISTS contactqueuedetail_key ON contactqueuedetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS contactqueuedetail_start ON contactqueuedetail (startdatetime);

CREATE TABLE IF NOT EXISTS agentconnectiondetail (
    sessionid INTEGER NOT NULL,
    sessionseqnum INTEGER NOT NULL,
    nodeid INTEGER NOT NULL,
    profileid INTEGER NOT NULL,
    resourceid INTEGER,
    startdatetime TEXT,
    enddatetime TEXT,
    qindex INTEGER,
    gmtoffset INTEGER,
    ringtime INTEGER,
    talktime INTEGER,
    holdtime INTEGER,
    worktime INTEGER,
    callwrapupdata TEXT,
    callresult INTEGER,
    dialinglistid INTEGER,
    rna INTEGER,
    contactid INTEGER,
    loginsessionid INTEGER,
    csqrecordid INTEGER,
    consultsessionid INTEGER
);
CREATE INDEX IF NOT EXISTS agentconnectiondetail_key ON agentconnectiondetail (sessionid, sessionseqnum, nodeid, profileid);
CREATE INDEX IF NOT EXISTS agentconnectiondetail_start ON agentconnectiondetail (startdatetime);

CREATE TABLE IF NOT EXISTS agentstatedetail (
    agentid INTEGER NOT NULL,
    eventdatetime TEXT NOT NULL,
    gmtoffset INTEGER,
    eventtype INTEGER,
    reasoncode INTEGER,
    profileid INTEGER
);
CREATE INDEX IF NOT EXISTS agentstatedetail_time ON agentstatedetail (eventdatetime);

CREATE TABLE IF NOT EXISTS contactservicequeue (
    recordid INTEGER PRIMARY KEY,
    contactservicequeueid INTEGER NOT NULL,
    profileid INTEGER,
    csqname TEXT,
    active INTEGER,
    servicelevel INTEGER,
    servicelevelpercentage INTEGER,
    queuealgorithm TEXT,
    queuetypename TEXT,
    queuetype INTEGER,
    resourcepooltype INTEGER,
    skillgroupid INTEGER,
    resourcegroupid INTEGER
);

CREATE TABLE IF NOT EXISTS resource (
    resourceid INTEGER PRIMARY KEY,
    profileid INTEGER,
    resourceloginid TEXT,
    resourcename TEXT,
    extension TEXT,
    resourceskillmapid INTEGER,
    active INTEGER
);

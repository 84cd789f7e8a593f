//! Malformed rows for tests: a leg with one defect, or a duplicate of an existing leg.
//!
//! Fault legs use session ids from 900000000000 up, so a test can find (or exclude) them.
//! Each call inserts one leg (CCD + CQD + ACD rows) and returns what it did.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::Row;
use time::OffsetDateTime;

use crate::clock::{UtcMillis, SECOND};
use crate::error::HrdbError;

/// First session id of fault legs.
pub const FAULT_SESSION_BASE: i64 = 900_000_000_000;

/// A defect to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// NULL where a value is expected: `contactcalldetail.enddatetime` and
    /// `contactqueuedetail.queuetime` of a handled leg.
    NullValue,
    /// Negative durations: `agentconnectiondetail.talktime` = -30, `contactqueuedetail.queuetime` = -5.
    NegativeDuration,
    /// `enddatetime` one minute before `startdatetime` (CCD and ACD).
    EndBeforeStart,
    /// `contactqueuedetail.targetid` = 999999, which no `contactservicequeue.recordid` has.
    UnknownQueueTarget,
    /// The CCD, CQD and ACD rows of the first leg starting at or after `at`, inserted again.
    DuplicateRow,
}

/// What a fault injection inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    /// The fault.
    pub fault: Fault,
    /// The session id of the faulty (or duplicated) leg; `None` if there was nothing to duplicate.
    pub sessionid: Option<i64>,
    /// Rows inserted.
    pub rows: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

fn boolean(backend: Backend, v: bool) -> &'static str {
    match (backend, v) {
        (Backend::Postgres, true) => "true",
        (Backend::Postgres, false) => "false",
        (Backend::Sqlite, true) => "1",
        (Backend::Sqlite, false) => "0",
    }
}

/// The statements inserting a defective leg `sessionid` starting at `at` to CSQ recordid 1.
fn defect_statements(backend: Backend, fault: Fault, sessionid: i64, at: UtcMillis) -> Vec<String> {
    let start = format!("'{}'", at.sql_text(0));
    let ring = format!("'{}'", at.plus(20 * SECOND).sql_text(0));
    let mut end = format!("'{}'", at.plus(200 * SECOND).sql_text(0));
    let mut acd_end = end.clone();
    let mut queuetime = "15".to_string();
    let mut talktime = "170".to_string();
    let mut targetid = "1".to_string();
    match fault {
        Fault::NullValue => {
            end = "NULL".to_string();
            queuetime = "NULL".to_string();
        }
        Fault::NegativeDuration => {
            talktime = "-30".to_string();
            queuetime = "-5".to_string();
        }
        Fault::EndBeforeStart => {
            end = format!("'{}'", at.plus(-60 * SECOND).sql_text(0));
            acd_end = format!("'{}'", at.plus(-40 * SECOND).sql_text(0));
        }
        Fault::UnknownQueueTarget => targetid = "999999".to_string(),
        Fault::DuplicateRow => {}
    }
    let f = boolean(backend, false);
    let t = boolean(backend, true);
    vec![
        format!(
            "INSERT INTO contactcalldetail (sessionid, sessionseqnum, nodeid, profileid, contactid, contacttype, \
             contactdisposition, originatortype, originatorid, originatordn, destinationtype, destinationid, \
             destinationdn, startdatetime, enddatetime, connecttime, applicationid, applicationname, callednumber, \
             transfer, redirect, conference) VALUES ({sessionid}, 0, 1, 1, 0, 1, 2, 2, 0, '2125559999', 1, 1, \
             '20001', {start}, {end}, 170, 1, 'app_fault', '8005550101', {f}, {f}, {f})"
        ),
        format!(
            "INSERT INTO contactqueuedetail (sessionid, sessionseqnum, nodeid, profileid, contactid, targetid, \
             targettype, qindex, startdatetime, disposition, metservicelevel, queuetime) VALUES ({sessionid}, 0, 1, 1, \
             0, {targetid}, 0, 1, {start}, 2, {t}, {queuetime})"
        ),
        format!(
            "INSERT INTO agentconnectiondetail (sessionid, sessionseqnum, nodeid, profileid, resourceid, \
             startdatetime, enddatetime, qindex, gmtoffset, ringtime, talktime, holdtime, worktime, rna, contactid, \
             csqrecordid) VALUES ({sessionid}, 0, 1, 1, 1, {ring}, {acd_end}, 1, 0, 4, {talktime}, 0, 20, {f}, 0, \
             {targetid})"
        ),
    ]
}

const NEXT_FAULT_SESSION: &str =
    "SELECT CAST(MAX(sessionid) AS BIGINT) FROM contactcalldetail WHERE sessionid >= 900000000000";

fn duplicate_statements(sessionid: i64) -> Vec<String> {
    [
        "contactcalldetail",
        "contactqueuedetail",
        "agentconnectiondetail",
    ]
    .iter()
    .map(|t| {
        format!(
            "INSERT INTO {t} SELECT * FROM {t} WHERE sessionid = {sessionid} AND sessionseqnum = 0"
        )
    })
    .collect()
}

fn first_leg_query(at: UtcMillis) -> String {
    format!(
        "SELECT CAST(MIN(sessionid) AS BIGINT) FROM contactcalldetail WHERE sessionid < {FAULT_SESSION_BASE} \
         AND startdatetime >= '{}'",
        at.sql_text(0)
    )
}

/// Inserts a fault into the PostgreSQL emulator database.
pub async fn inject_fault_postgres(
    pool: &PgPool,
    fault: Fault,
    at: OffsetDateTime,
) -> Result<FaultInfo, HrdbError> {
    let at = UtcMillis::from_datetime(at);
    let (sessionid, statements) = if fault == Fault::DuplicateRow {
        let row = sqlx::query(&first_leg_query(at)).fetch_one(pool).await?;
        match row.try_get::<Option<i64>, _>(0)? {
            Some(id) => (id, duplicate_statements(id)),
            None => {
                return Ok(FaultInfo {
                    fault,
                    sessionid: None,
                    rows: 0,
                })
            }
        }
    } else {
        let row = sqlx::query(NEXT_FAULT_SESSION).fetch_one(pool).await?;
        let id = row
            .try_get::<Option<i64>, _>(0)?
            .map(|m| m + 1)
            .unwrap_or(FAULT_SESSION_BASE);
        (id, defect_statements(Backend::Postgres, fault, id, at))
    };
    let mut tx = pool.begin().await?;
    let mut rows = 0;
    for sql in statements {
        rows += sqlx::query(&sql).execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(FaultInfo {
        fault,
        sessionid: Some(sessionid),
        rows,
    })
}

/// Inserts a fault into the SQLite emulator database.
pub async fn inject_fault_sqlite(
    pool: &SqlitePool,
    fault: Fault,
    at: OffsetDateTime,
) -> Result<FaultInfo, HrdbError> {
    let at = UtcMillis::from_datetime(at);
    let (sessionid, statements) = if fault == Fault::DuplicateRow {
        let row = sqlx::query(&first_leg_query(at)).fetch_one(pool).await?;
        match row.try_get::<Option<i64>, _>(0)? {
            Some(id) => (id, duplicate_statements(id)),
            None => {
                return Ok(FaultInfo {
                    fault,
                    sessionid: None,
                    rows: 0,
                })
            }
        }
    } else {
        let row = sqlx::query(NEXT_FAULT_SESSION).fetch_one(pool).await?;
        let id = row
            .try_get::<Option<i64>, _>(0)?
            .map(|m| m + 1)
            .unwrap_or(FAULT_SESSION_BASE);
        (id, defect_statements(Backend::Sqlite, fault, id, at))
    };
    let mut tx = pool.begin().await?;
    let mut rows = 0;
    for sql in statements {
        rows += sqlx::query(&sql).execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(FaultInfo {
        fault,
        sessionid: Some(sessionid),
        rows,
    })
}

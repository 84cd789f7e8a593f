//! Emulator of the contact-centre reporting databases: the UCCX historical reporting tables
//! (Informix `db_cra`) and a subset of the UCCE HDS tables, on PostgreSQL or SQLite.
//!
//! This crate owns: the schema ([`write::create_schema_postgres`], [`write::create_schema_sqlite`];
//! DDL in `sql/{postgres,sqlite}/*.sql`), a deterministic generator of a realistic centre
//! ([`generate`] from an [`HrdbSpec`]) kept in memory as a [`Centre`], writers that load the
//! rows UCCX would have written by a given instant ([`write_postgres`], [`write_sqlite`]),
//! fault injection ([`fault`]) and the `wfm-hrdb` binary.
//!
//! It must not depend on `wfm-sources` or `wfm-intervals`: it is written only from the
//! reference documents (`historical-data.md`, `fixtures/uccx-hrdb/*.tsv`), so that the importer's
//! parser and this emulator cannot share one misunderstanding.
//!
//! # Tables and conventions
//!
//! * UCCX (`contactcalldetail`, `contactqueuedetail`, `agentconnectiondetail`,
//!   `agentstatedetail`, `contactservicequeue`, `resource`): lower-case unquoted names as in
//!   the reference. Datetimes are UTC (GMT) like `db_cra`: PostgreSQL
//!   `timestamp(3) without time zone`, SQLite TEXT `YYYY-MM-DD HH:MM:SS.mmm`. `gmtoffset` is 0.
//!   Durations are whole seconds. `sessionid` is `numeric(18,0)` in PostgreSQL (the type of the
//!   SQL-Server mirror in the reference; Informix uses decimal(18,0)): read it with
//!   `CAST(sessionid AS bigint)`. Flags are `boolean` (SQLite 0/1).
//! * `contactqueuedetail.startdatetime` equals the leg's `contactcalldetail.startdatetime`
//!   (a join column). `agentconnectiondetail.enddatetime` is the disconnect; `worktime`
//!   follows it. `targettype` is always 0 (CSQ → `contactservicequeue.recordid`).
//! * Rows of a leg (CCD, CQD, ACD) are written when the leg's last wrap-up ends (the
//!   reference's record-writing order); agent state rows as they happen; UCCE interval rows
//!   when their interval closes.
//! * UCCE HDS (`call_type`, `call_type_interval`, `agent_state_trace`): column names from the
//!   Cisco UCCE Database Schema Handbook / reporting guides (Call_Type_Interval: DateTime,
//!   CallTypeID, TimeZone, RecoveryKey, DbDateTime, ReportingInterval, CallsOffered,
//!   CallsHandled, CallsAnswered, TotalCallsAband, RouterCallsAbandQ, CallsRONA,
//!   ServiceLevelCalls, ServiceLevelCallsOffered, ServiceLevelAband, ServiceLevel,
//!   AnswerWaitTime, HandleTime, TalkTime, HoldTime, RouterQueueCalls, RouterQueueWaitTime,
//!   CallDelayAbandTime), lower-cased. `RouterCallsDequeued` is a Skill_Group_Interval /
//!   Call_Type_SG_Interval column, not a Call_Type_Interval one, so it is absent here.
//!   Cisco: "DateTime — the Central Controller date and time at the start of the interval";
//!   "TimeZone — the time zone for the dates and times. The value is the offset in minutes
//!   from UTC (formerly called GMT)", with 300 and 240 given for US Eastern (standard and
//!   daylight time): minutes *west* of UTC. So **UTC = datetime + timezone** (e.g. a site at
//!   UTC-5 has `timezone = 300`, and `datetime = 07:00` means 12:00 UTC), a fixed offset ([`HrdbSpec::utc_offset_minutes`]) without daylight saving.
//!   `call_type_interval.servicelevel` = ServiceLevelCalls / (ServiceLevelCallsOffered −
//!   ServiceLevelAband) (abandons ignored), NULL when nothing was offered.
//! * UCCE attribution: offered in the interval the leg entered the queue, answered (and
//!   answer wait, service-level calls) when the agent's phone rang, handled (handle, talk, hold
//!   time) when wrap-up completed, abandoned when the caller hung up. A leg's call type is its
//!   first CSQ's `calltypeid` = 5000 + `contactservicequeueid`.
//!
//! The tables have no primary keys and few NOT NULL constraints on purpose (fault injection
//! inserts duplicates and NULLs); idempotent loading relies on the emulator's own
//! `hrdb_load_state` table instead (see [`write`]).

pub mod clock;
pub mod error;
pub mod fault;
mod generate;
pub mod model;
pub mod spec;
pub mod write;

pub use clock::UtcMillis;
pub use error::HrdbError;
pub use fault::{inject_fault_postgres, inject_fault_sqlite, Fault, FaultInfo};
pub use generate::{curve, generate, CHANGING_CSQ};
pub use model::{
    AgentRow, CallLeg, CallTypeIntervalRow, Centre, CsqRow, Originator, QueueRow, ResourceRow,
    StateRow,
};
pub use spec::HrdbSpec;
pub use write::{
    connect_postgres, connect_sqlite, create_schema_postgres, create_schema_sqlite, write_postgres,
    write_postgres_with, write_sqlite, write_sqlite_with, WriteReport,
};

//! The generated centre in memory: one struct per table row, plus the write time of each
//! history row.
//!
//! Column names in field docs are the lower-case table columns. Durations are whole seconds
//! (the column values); instants are [`UtcMillis`]. Every history row carries `write`: the
//! instant UCCX (or the UCCE logger) writes it; writers load only rows with `write <= until`.

use crate::clock::UtcMillis;
use crate::spec::HrdbSpec;

/// UCCX node id of every generated row (single-node cluster).
pub const NODE_ID: i16 = 1;
/// UCCX profile id of every generated row.
pub const PROFILE_ID: i32 = 1;
/// `agentstatedetail.reasoncode` for "agent did not answer (RNA) → Not Ready".
pub const REASON_RNA: i16 = 32763;

/// A `contactservicequeue` row: one configuration version of a CSQ.
#[derive(Clone, Debug, PartialEq)]
pub struct CsqRow {
    /// `recordid`: primary key; a new one per configuration change.
    pub recordid: i32,
    /// `contactservicequeueid`: the logical CSQ id, stable across changes.
    pub contactservicequeueid: i32,
    /// `csqname`.
    pub csqname: String,
    /// `servicelevel`: seconds.
    pub servicelevel: i32,
    /// `servicelevelpercentage`.
    pub servicelevelpercentage: i16,
    /// `queuealgorithm`.
    pub queuealgorithm: &'static str,
    /// `resourcepooltype`: 1 = resource group, 2 = skill group.
    pub resourcepooltype: i16,
    /// When this version became current (`None`: before the range).
    pub valid_from: Option<UtcMillis>,
    /// When this version was replaced (`None`: still current). `active` is true until then.
    pub replaced_at: Option<UtcMillis>,
}

/// A `resource` row (an agent).
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRow {
    /// `resourceid`.
    pub resourceid: i32,
    /// `resourceloginid`.
    pub resourceloginid: String,
    /// `resourcename`.
    pub resourcename: String,
    /// `extension`.
    pub extension: String,
    /// Logical CSQ ids (`contactservicequeueid`) the agent is skilled for; the first is primary.
    pub csqs: Vec<i32>,
}

/// Who started a leg (`originatortype` / `originatorid` / `originatordn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Originator {
    /// An outside caller arriving on a CTI port: type 2 (device), dn = the caller's number.
    Caller(u64),
    /// An agent (transfer or consult): type 1, id = resourceid, dn = the agent's extension.
    Agent(i32),
}

/// A `contactcalldetail` row: one call leg.
#[derive(Clone, Debug, PartialEq)]
pub struct CallLeg {
    /// `sessionid`: the call; shared by all its legs.
    pub sessionid: i64,
    /// `sessionseqnum`: 0 for the first leg, +1 per leg.
    pub sessionseqnum: i16,
    /// `contactid`: a join column unique per leg in this emulator.
    pub contactid: i32,
    /// `contacttype`: 1 incoming, 5 transfer-in.
    pub contacttype: i16,
    /// `contactdisposition`: 1 abandoned, 2 handled, 4 aborted.
    pub contactdisposition: i16,
    /// The originator.
    pub originator: Originator,
    /// `destinationid`: the resourceid of the agent who finally connected (0 if none);
    /// `destinationtype` is 1 (agent) then, else 2 (device: the CTI port).
    pub destinationid: i32,
    /// `startdatetime`.
    pub start: UtcMillis,
    /// `enddatetime`.
    pub end: UtcMillis,
    /// `connecttime`: seconds the caller was connected to an agent (0 if never).
    pub connecttime: i32,
    /// `applicationid` (one script application per logical CSQ); `applicationname` follows.
    pub applicationid: i32,
    /// `transfer` flag: this leg was transferred onwards.
    pub transfer: bool,
    /// `redirect` flag.
    pub redirect: bool,
    /// `conference` flag.
    pub conference: bool,
    /// When the leg's rows (CCD, CQD, ACD) are written: after the last wrap-up ends.
    pub write: UtcMillis,
}

/// A `contactqueuedetail` row: a leg queued to one target.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueRow {
    /// `sessionid`.
    pub sessionid: i64,
    /// `sessionseqnum`.
    pub sessionseqnum: i16,
    /// `contactid` (the leg's).
    pub contactid: i32,
    /// `targetid`: `contactservicequeue.recordid` (targettype 0).
    pub targetid: i32,
    /// `targettype`: 0 CSQ.
    pub targettype: i16,
    /// `qindex`: 1-based order of queueing within the leg.
    pub qindex: i16,
    /// `startdatetime`: the leg's start (same as the CCD row, a join column).
    pub start: UtcMillis,
    /// `disposition`: 1 abandoned, 2 handled, 3 dequeued, 4 handled by script, 5 handled by
    /// another CSQ.
    pub disposition: i16,
    /// `metservicelevel`.
    pub metservicelevel: bool,
    /// `queuetime`: seconds in this queue.
    pub queuetime: i32,
    /// Write time (the leg's).
    pub write: UtcMillis,
}

/// An `agentconnectiondetail` row: one agent presented the leg.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRow {
    /// `sessionid`.
    pub sessionid: i64,
    /// `sessionseqnum`.
    pub sessionseqnum: i16,
    /// `contactid` (the leg's).
    pub contactid: i32,
    /// `resourceid`.
    pub resourceid: i32,
    /// `startdatetime`: when the phone started ringing.
    pub start: UtcMillis,
    /// `enddatetime`: when the agent's connection ended (disconnect; wrap-up follows).
    pub end: UtcMillis,
    /// `qindex` of the queue row this presentation came from.
    pub qindex: i16,
    /// `ringtime` seconds.
    pub ringtime: i32,
    /// `talktime` seconds (0 for RONA).
    pub talktime: i32,
    /// `holdtime` seconds.
    pub holdtime: i32,
    /// `worktime` seconds (wrap-up after `end`).
    pub worktime: i32,
    /// `csqrecordid`: the CSQ version the call came from.
    pub csqrecordid: i32,
    /// `rna`: ring-no-answer.
    pub rna: bool,
    /// Write time (the leg's).
    pub write: UtcMillis,
}

/// An `agentstatedetail` row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateRow {
    /// `agentid` (= resourceid).
    pub agentid: i32,
    /// `eventdatetime` (also the write time: state rows are written as they happen).
    pub at: UtcMillis,
    /// `eventtype`: 1 Log In, 2 Not Ready, 3 Ready, 4 Reserved, 5 Talking, 6 Work, 7 Log Out.
    pub eventtype: i16,
    /// `reasoncode` (0 when none).
    pub reasoncode: i16,
}

/// A UCCE `call_type_interval` row (one call type = one logical CSQ).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallTypeIntervalRow {
    /// `calltypeid`.
    pub calltypeid: i32,
    /// Interval start (UTC); the `datetime` column holds it in central-controller local time.
    pub start: UtcMillis,
    /// `callsoffered`: legs that entered the call type in the interval.
    pub callsoffered: i32,
    /// `callshandled`: handled legs whose wrap-up completed in the interval.
    pub callshandled: i32,
    /// `callsanswered`: legs answered by an agent in the interval.
    pub callsanswered: i32,
    /// `totalcallsaband`: legs abandoned (or aborted) in the interval.
    pub totalcallsaband: i32,
    /// `routercallsabandq`: legs abandoned while queued, in the interval.
    pub routercallsabandq: i32,
    /// `callsrona`: ring-no-answer presentations in the interval.
    pub callsrona: i32,
    /// `servicelevelcalls`: answered within the service-level threshold.
    pub servicelevelcalls: i32,
    /// `servicelevelcallsoffered`: legs whose service-level outcome was decided in the interval.
    pub servicelevelcallsoffered: i32,
    /// `servicelevelaband`: abandoned within the threshold.
    pub servicelevelaband: i32,
    /// `answerwaittime`: Σ queue seconds of answered legs.
    pub answerwaittime: i32,
    /// `handletime`: Σ talk + hold + work of handled legs.
    pub handletime: i32,
    /// `talktime`: Σ talk seconds of handled legs.
    pub talktime: i32,
    /// `holdtime`: Σ hold seconds of handled legs.
    pub holdtime: i32,
    /// `routerqueuecalls`: legs that left the queue in the interval.
    pub routerqueuecalls: i32,
    /// `routerqueuewaittime`: Σ queue seconds of those legs.
    pub routerqueuewaittime: i32,
    /// `calldelayabandtime`: Σ seconds abandoned legs waited.
    pub calldelayabandtime: i32,
}

/// The whole generated centre, in memory. Rows are in generation order; writers filter by
/// write time.
#[derive(Clone, Debug)]
pub struct Centre {
    /// The spec it was generated from.
    pub spec: HrdbSpec,
    /// First instant of the range.
    pub from: UtcMillis,
    /// End of the range (exclusive): `from + days`.
    pub to: UtcMillis,
    /// `contactservicequeue` rows (all versions).
    pub csqs: Vec<CsqRow>,
    /// `resource` rows.
    pub resources: Vec<ResourceRow>,
    /// `contactcalldetail` rows.
    pub legs: Vec<CallLeg>,
    /// `contactqueuedetail` rows.
    pub queue_rows: Vec<QueueRow>,
    /// `agentconnectiondetail` rows.
    pub agent_rows: Vec<AgentRow>,
    /// `agentstatedetail` rows, sorted by (eventdatetime, agentid).
    pub states: Vec<StateRow>,
    /// UCCE `call_type_interval` rows (written when their interval closes).
    pub call_type_intervals: Vec<CallTypeIntervalRow>,
}

impl Centre {
    /// The call legs (`contactcalldetail`).
    pub fn legs(&self) -> &[CallLeg] {
        &self.legs
    }

    /// The newest instant any row is written (everything is loaded at or after it).
    pub fn last_write(&self) -> UtcMillis {
        let legs = self.legs.iter().map(|l| l.write).max();
        let states = self.states.iter().map(|s| s.at).max();
        let intervals = self
            .call_type_intervals
            .iter()
            .map(|c| self.interval_write(c))
            .max();
        [legs, states, intervals]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.to)
    }

    /// When a `call_type_interval` row is written: as its interval closes.
    pub fn interval_write(&self, row: &CallTypeIntervalRow) -> UtcMillis {
        row.start
            .plus(i64::from(self.spec.interval_minutes) * crate::clock::MINUTE)
    }

    /// The `calltypeid` of a logical CSQ.
    pub fn call_type_id(contactservicequeueid: i32) -> i32 {
        5000 + contactservicequeueid
    }

    /// The UCCE `skilltargetid` of an agent.
    pub fn skill_target_id(resourceid: i32) -> i32 {
        100_000 + resourceid
    }

    /// The logical CSQ id of a `recordid`, if the recordid exists.
    pub fn logical_csq(&self, recordid: i32) -> Option<i32> {
        self.csqs
            .iter()
            .find(|c| c.recordid == recordid)
            .map(|c| c.contactservicequeueid)
    }
}

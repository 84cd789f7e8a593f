//! Loading a [`Centre`] into a database "as of" an instant.
//!
//! History rows (CCD, CQD, ACD, ASD, call_type_interval, agent_state_trace) are appended when
//! `previous until < write time <= until`; the previous `until` is kept in the emulator's own
//! `hrdb_load_state` table together with a fingerprint of the spec, so writing as of T2 after
//! T1 adds exactly the rows written in (T1, T2] and writing the same instant twice adds
//! nothing. Configuration tables (`contactservicequeue`, `resource`, `call_type`) are replaced
//! on every write with their state as of `until`.

pub mod encode;
mod postgres;
mod sqlite;

use std::collections::BTreeMap;

pub use postgres::{connect_postgres, create_schema_postgres, write_postgres, write_postgres_with};
pub use sqlite::{connect_sqlite, create_schema_sqlite, write_sqlite, write_sqlite_with};

use crate::clock::UtcMillis;
use crate::model::Centre;
use encode::{Lookups, Sink};

/// Progress callback: (table, rows written so far in this table).
pub type Progress<'a> = &'a (dyn Fn(&str, u64) + Sync);

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Rows appended (history tables) or replaced (configuration tables), per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// The `until` of the previous write (`None`: the database was empty).
    pub previous_until: Option<UtcMillis>,
    /// The `until` of this write (`None`: everything).
    pub until: Option<UtcMillis>,
}

impl WriteReport {
    /// Total rows written to history tables.
    pub fn history_rows(&self) -> u64 {
        self.rows
            .iter()
            .filter(|(t, _)| !CONFIG_TABLES.contains(t))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Configuration tables, replaced on every write.
pub const CONFIG_TABLES: [&str; 3] = ["contactservicequeue", "resource", "call_type"];

/// Every emulated table, configuration first, then history.
pub const TABLES: [&str; 9] = [
    "contactservicequeue",
    "resource",
    "call_type",
    "contactcalldetail",
    "contactqueuedetail",
    "agentconnectiondetail",
    "agentstatedetail",
    "call_type_interval",
    "agent_state_trace",
];

/// History tables in load order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum History {
    Ccd,
    Cqd,
    Acd,
    Asd,
    Cti,
    Ast,
}

impl History {
    pub(crate) const ALL: [History; 6] = [
        History::Ccd,
        History::Cqd,
        History::Acd,
        History::Asd,
        History::Cti,
        History::Ast,
    ];

    pub(crate) fn table(self) -> &'static str {
        match self {
            History::Ccd => "contactcalldetail",
            History::Cqd => "contactqueuedetail",
            History::Acd => "agentconnectiondetail",
            History::Asd => "agentstatedetail",
            History::Cti => "call_type_interval",
            History::Ast => "agent_state_trace",
        }
    }

    pub(crate) fn columns(self) -> &'static str {
        match self {
            History::Ccd => encode::CCD_COLUMNS,
            History::Cqd => encode::CQD_COLUMNS,
            History::Acd => encode::ACD_COLUMNS,
            History::Asd => encode::ASD_COLUMNS,
            History::Cti => encode::CTI_COLUMNS,
            History::Ast => encode::AST_COLUMNS,
        }
    }

    fn len(self, centre: &Centre) -> usize {
        match self {
            History::Ccd => centre.legs.len(),
            History::Cqd => centre.queue_rows.len(),
            History::Acd => centre.agent_rows.len(),
            History::Asd => centre.states.len(),
            History::Cti => centre.call_type_intervals.len(),
            History::Ast if centre.spec.agent_state_trace => centre.states.len(),
            History::Ast => 0,
        }
    }
}

/// Shared state of one write: the window and the lookups.
pub(crate) struct Plan<'a> {
    pub centre: &'a Centre,
    lookups: Lookups,
    /// Trace instants nudged by a millisecond where an agent has two events at one instant
    /// (the UCCE key is (datetime, skilltargetid, timezone, mrdomainid)).
    trace_times: Vec<UtcMillis>,
    after: i64,
    until: i64,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(
        centre: &'a Centre,
        after: Option<UtcMillis>,
        until: Option<UtcMillis>,
    ) -> Plan<'a> {
        let mut trace_times = Vec::new();
        if centre.spec.agent_state_trace {
            trace_times.reserve(centre.states.len());
            let agents = centre.resources.len() + 1;
            let mut last = vec![i64::MIN; agents];
            for s in &centre.states {
                let slot = usize::try_from(s.agentid).unwrap_or(0).min(agents - 1);
                let at = s.at.0.max(last[slot].saturating_add(1));
                last[slot] = at;
                trace_times.push(UtcMillis(at));
            }
        }
        Plan {
            centre,
            lookups: Lookups::new(centre),
            trace_times,
            after: after.map(|a| a.0).unwrap_or(i64::MIN),
            until: until.map(|u| u.0).unwrap_or(i64::MAX),
        }
    }

    /// The `until` instant as a number (i64::MAX when unbounded).
    pub(crate) fn until_ms(&self) -> i64 {
        self.until
    }

    fn due(&self, write: UtcMillis) -> bool {
        self.after < write.0 && write.0 <= self.until
    }

    /// Encodes rows of `table` from `*pos` on into `sink` until `full(sink)` or the end;
    /// returns how many rows were encoded.
    pub(crate) fn encode_chunk<S: Sink>(
        &self,
        table: History,
        pos: &mut usize,
        sink: &mut S,
        full: impl Fn(&S) -> bool,
    ) -> u64 {
        let c = self.centre;
        let len = table.len(c);
        let mut n = 0;
        while *pos < len && !full(sink) {
            let i = *pos;
            *pos += 1;
            match table {
                History::Ccd => {
                    let row = &c.legs[i];
                    if self.due(row.write) {
                        encode::ccd(row, &self.lookups, sink);
                        n += 1;
                    }
                }
                History::Cqd => {
                    let row = &c.queue_rows[i];
                    if self.due(row.write) {
                        encode::cqd(row, sink);
                        n += 1;
                    }
                }
                History::Acd => {
                    let row = &c.agent_rows[i];
                    if self.due(row.write) {
                        encode::acd(row, sink);
                        n += 1;
                    }
                }
                History::Asd => {
                    let row = &c.states[i];
                    if self.due(row.at) {
                        encode::asd(row, sink);
                        n += 1;
                    }
                }
                History::Cti => {
                    let row = &c.call_type_intervals[i];
                    if self.due(c.interval_write(row)) {
                        encode::cti(c, row, (i + 1) as f64, sink);
                        n += 1;
                    }
                }
                History::Ast => {
                    let row = &c.states[i];
                    if self.due(row.at) {
                        let at = self.trace_times.get(i).copied().unwrap_or(row.at);
                        encode::ast(c, row, at, (i + 1) as f64, sink);
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Encodes the configuration tables as of `until`: (table, columns, rows).
    pub(crate) fn config<S: Sink>(
        &self,
        make: impl Fn() -> S,
    ) -> Vec<(&'static str, &'static str, S, u64)> {
        let c = self.centre;
        let mut csq = make();
        for row in &c.csqs {
            encode::csq(row, self.until, &mut csq);
        }
        let mut res = make();
        for row in &c.resources {
            encode::resource(row, &mut res);
        }
        let mut ct = make();
        for row in c.csqs.iter().filter(|r| r.valid_from.is_none()) {
            encode::call_type(row, &mut ct);
        }
        let logical = c.csqs.iter().filter(|r| r.valid_from.is_none()).count() as u64;
        vec![
            (
                "contactservicequeue",
                encode::CSQ_COLUMNS,
                csq,
                c.csqs.len() as u64,
            ),
            (
                "resource",
                encode::RESOURCE_COLUMNS,
                res,
                c.resources.len() as u64,
            ),
            ("call_type", encode::CALL_TYPE_COLUMNS, ct, logical),
        ]
    }
}

/// The fingerprint of a centre's spec, stored with the load state.
pub(crate) fn fingerprint(centre: &Centre) -> String {
    let s = &centre.spec;
    format!(
        "seed={} agents={} csqs={} from={} days={} cpah={} interval={} offset={} trace={}",
        s.seed,
        s.agents,
        s.csqs,
        centre.from.0,
        s.days,
        s.calls_per_agent_hour,
        s.interval_minutes,
        s.utc_offset_minutes,
        s.agent_state_trace
    )
}

//! Helpers shared by the database tests.

#![allow(dead_code)]

use time::OffsetDateTime;
use wfm_hrdb::{Centre, HrdbSpec, UtcMillis};

/// A small centre: 40 agents, 5 CSQs, 3 days from Monday 2026-01-05.
pub fn small_spec() -> HrdbSpec {
    HrdbSpec {
        seed: 21,
        agents: 40,
        csqs: 5,
        days: 3,
        agent_state_trace: true,
        ..HrdbSpec::new()
    }
}

/// Legs, CQD rows and ACD rows with write time ≤ `until`.
pub fn expected_history(centre: &Centre, until: OffsetDateTime) -> (i64, i64, i64) {
    let until = UtcMillis::from_datetime(until);
    (
        centre.legs.iter().filter(|l| l.write <= until).count() as i64,
        centre
            .queue_rows
            .iter()
            .filter(|q| q.write <= until)
            .count() as i64,
        centre
            .agent_rows
            .iter()
            .filter(|a| a.write <= until)
            .count() as i64,
    )
}

/// A leg that ends before `t1` but is written after it (its wrap-up runs past `t1`).
pub fn late_leg(centre: &Centre, t1: OffsetDateTime, t2: OffsetDateTime) -> Option<i64> {
    let t1 = UtcMillis::from_datetime(t1);
    let t2 = UtcMillis::from_datetime(t2);
    centre
        .legs
        .iter()
        .find(|l| l.end <= t1 && l.write > t1 && l.write <= t2)
        .map(|l| l.sessionid)
}

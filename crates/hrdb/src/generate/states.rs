//! `agentstatedetail` rows: duty windows become Log In / Ready … Log Out around the
//! call-related events (Reserved, Talking, Work, Ready; Not Ready 32763 after a RONA).

use super::calls::AgentEvent;
use super::staffing::Staffing;
use crate::clock::{UtcMillis, SECOND};
use crate::model::{ResourceRow, StateRow};

const LOG_IN: i16 = 1;
const READY: i16 = 3;
const RESERVED: i16 = 4;
const LOG_OUT: i16 = 7;

/// Merges duty windows and call events into state rows sorted by (eventdatetime, agentid)
/// (time order keeps bulk loads append-only on the time index).
///
/// A call belongs to the window in which its phone rang (`Reserved`); a window's Log Out comes
/// at its end or one second after that call's last event, whichever is later.
pub fn agent_states(
    staffing: &Staffing,
    agent_events: Vec<Vec<AgentEvent>>,
    resources: &[ResourceRow],
) -> Vec<StateRow> {
    let mut rows = Vec::new();
    for (idx, events) in agent_events.into_iter().enumerate() {
        let Some(resource) = resources.get(idx) else {
            continue;
        };
        let agentid = resource.resourceid;
        let mut push = |at: i64, eventtype: i16, reasoncode: i16| {
            rows.push(StateRow {
                agentid,
                at: UtcMillis(at),
                eventtype,
                reasoncode,
            });
        };
        let mut next = 0usize;
        let mut prev_logout = i64::MIN / 2;
        for (start, end) in staffing.windows(idx) {
            let login = start.max(prev_logout + SECOND);
            push(login, LOG_IN, 0);
            push(login + SECOND, READY, 0);
            let mut last = login + SECOND;
            while let Some(&(at, eventtype, reasoncode)) = events.get(next) {
                if eventtype == RESERVED && at >= end {
                    break;
                }
                push(at.max(last), eventtype, reasoncode);
                last = at.max(last);
                next += 1;
            }
            let logout = end.max(last + SECOND);
            push(logout, LOG_OUT, 0);
            prev_logout = logout;
        }
        // Events outside every window cannot happen (agents are only chosen on duty); keep
        // them anyway rather than lose them.
        for &(at, eventtype, reasoncode) in events.get(next..).unwrap_or(&[]) {
            push(at, eventtype, reasoncode);
        }
    }
    rows.sort();
    rows.dedup_by(|a, b| a.agentid == b.agentid && a.at == b.at && a.eventtype == b.eventtype);
    rows.sort_by_key(|r| (r.at, r.agentid, r.eventtype));
    rows
}

//! CTI AGENT_STATE_EVENT → protocol [`StateEvent`]: the state mapping and per-agent instants.
//!
//! A CTI event carries no timestamp of its own, so `at` is the importer's clock when the event
//! was read, truncated to milliseconds and made strictly increasing per agent (events read in
//! one socket read can share a millisecond; the hub orders by `at` and treats an identical
//! (agent, instant, state, reason) as a duplicate, so equal instants would lose order or data).

use std::collections::HashMap;

use time::OffsetDateTime;
use wfm_protocol::states::{AgentState, StateEvent};
use wfm_sources::cti::{AgentState as CtiState, AgentStateEvent};

/// The protocol state of a CTI `AgentState` value, as documented on [`AgentState`]; values
/// the reference does not define (and 9 UNKNOWN, 12–14) are [`AgentState::Unknown`].
pub fn map_state(state: CtiState) -> AgentState {
    match state {
        CtiState::Login => AgentState::LoggedIn,
        CtiState::Logout => AgentState::LoggedOut,
        CtiState::NotReady => AgentState::NotReady,
        CtiState::Available => AgentState::Ready,
        CtiState::Talking | CtiState::Active => AgentState::Talking,
        CtiState::WorkNotReady | CtiState::WorkReady => AgentState::Work,
        CtiState::BusyOther => AgentState::BusyOther,
        CtiState::Reserved => AgentState::Reserved,
        CtiState::Hold => AgentState::Hold,
        CtiState::StateUnknown
        | CtiState::Paused
        | CtiState::Interrupted
        | CtiState::NotActive
        | CtiState::Unknown(_) => AgentState::Unknown,
    }
}

/// Builds state events from CTI events; remembers each agent's last instant.
#[derive(Debug, Default)]
pub struct Normaliser {
    last_at: HashMap<String, OffsetDateTime>,
}

impl Normaliser {
    /// A normaliser with no history.
    pub fn new() -> Self {
        Normaliser::default()
    }

    /// The state event for `ev` read at `now`; `None` when the event names no agent.
    pub fn event(&mut self, ev: &AgentStateEvent, now: OffsetDateTime) -> Option<StateEvent> {
        let agent = ev.agent_id.as_deref().map(str::trim).unwrap_or("");
        if agent.is_empty() {
            return None;
        }
        let mut at = truncate_ms(now);
        if let Some(last) = self.last_at.get(agent) {
            if at <= *last {
                at = *last + time::Duration::milliseconds(1);
            }
        }
        self.last_at.insert(agent.to_string(), at);
        let state = map_state(ev.agent_state);
        let reason_code = match state {
            AgentState::NotReady | AgentState::LoggedOut if ev.reason_code != 0 => {
                Some(i64::from(ev.reason_code))
            }
            _ => None,
        };
        Some(StateEvent {
            agent: agent.to_string(),
            at,
            state,
            reason_code,
            raw: format!("cti:{}", ev.agent_state.to_u16()),
        })
    }
}

/// `t` without its sub-millisecond part.
pub fn truncate_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t.replace_nanosecond(ns - ns % 1_000_000).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wfm_sources::cti::AgentStateEvent;

    fn cti(agent: Option<&str>, state: u16, reason: u16) -> AgentStateEvent {
        AgentStateEvent {
            monitor_id: 0,
            peripheral_id: 5000,
            session_id: 0,
            peripheral_type: 17,
            skill_group_state: CtiState::from_u16(state),
            agent_state: CtiState::from_u16(state),
            reason_code: reason,
            state_duration: 0,
            mrd_id: 0,
            num_tasks: 0,
            agent_mode: 1,
            max_task_limit: 1,
            icm_agent_id: 1,
            availability_status: 0,
            department_id: 0,
            agent_id: agent.map(str::to_string),
            agent_extension: None,
            agent_instrument: None,
            active_terminal: None,
            client_signature: None,
            duration: None,
            next_agent_state: None,
            direction: None,
            num_flt_skill_groups: 0,
            skill_groups: Vec::new(),
        }
    }

    #[test]
    fn every_cti_value_maps_as_documented_on_the_protocol_enum() {
        let expected = [
            (0, AgentState::LoggedIn),
            (1, AgentState::LoggedOut),
            (2, AgentState::NotReady),
            (3, AgentState::Ready),
            (4, AgentState::Talking),
            (5, AgentState::Work),
            (6, AgentState::Work),
            (7, AgentState::BusyOther),
            (8, AgentState::Reserved),
            (9, AgentState::Unknown),
            (10, AgentState::Hold),
            (11, AgentState::Talking),
            (12, AgentState::Unknown),
            (99, AgentState::Unknown),
            (u16::MAX, AgentState::Unknown),
        ];
        for (raw, state) in expected {
            assert_eq!(map_state(CtiState::from_u16(raw)), state, "cti {raw}");
        }
    }

    #[test]
    fn unknown_state_value_is_kept_with_its_raw_value() {
        let mut n = Normaliser::new();
        let now = OffsetDateTime::UNIX_EPOCH;
        let e = n.event(&cti(Some("5001"), 99, 0), now).unwrap();
        assert_eq!(e.state, AgentState::Unknown);
        assert_eq!(e.raw, "cti:99");
        assert_eq!(e.agent, "5001");
    }

    #[test]
    fn reason_codes_only_for_not_ready_and_logout() {
        let mut n = Normaliser::new();
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            n.event(&cti(Some("1"), 2, 7), now).unwrap().reason_code,
            Some(7)
        );
        assert_eq!(
            n.event(&cti(Some("1"), 1, 50), now).unwrap().reason_code,
            Some(50)
        );
        assert_eq!(
            n.event(&cti(Some("1"), 2, 0), now).unwrap().reason_code,
            None
        );
        assert_eq!(
            n.event(&cti(Some("1"), 3, 9), now).unwrap().reason_code,
            None
        );
    }

    #[test]
    fn events_without_agent_id_are_skipped() {
        let mut n = Normaliser::new();
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(n.event(&cti(None, 3, 0), now).is_none());
        assert!(n.event(&cti(Some("  "), 3, 0), now).is_none());
    }

    #[test]
    fn clock_skew_never_reorders_an_agents_states() {
        // AGENT_STATE_EVENT carries no time of its own, so the peripheral gateway's clock is
        // never used: events are stamped on receipt. If the importer's wall clock is stepped
        // back (NTP correcting a skew), an agent's later states still come after the earlier.
        let mut n = Normaliser::new();
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_000);
        let ready = n.event(&cti(Some("1"), 3, 0), t0).unwrap();
        let stepped_back = t0 - time::Duration::seconds(90);
        let talking = n.event(&cti(Some("1"), 4, 0), stepped_back).unwrap();
        assert!(talking.at > ready.at, "{} <= {}", talking.at, ready.at);
        assert_eq!(talking.at, ready.at + time::Duration::milliseconds(1));
        // Another agent first seen after the step takes the (skewed) clock as it is.
        let other = n.event(&cti(Some("2"), 3, 0), stepped_back).unwrap();
        assert_eq!(other.at, stepped_back);
        // Once the clock catches up, stamps follow it again.
        let later = n
            .event(&cti(Some("1"), 5, 0), t0 + time::Duration::seconds(5))
            .unwrap();
        assert_eq!(later.at, t0 + time::Duration::seconds(5));
    }

    #[test]
    fn instants_increase_per_agent_within_one_millisecond() {
        let mut n = Normaliser::new();
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::nanoseconds(1_500_000);
        let a = n.event(&cti(Some("1"), 3, 0), now).unwrap().at;
        let b = n.event(&cti(Some("1"), 4, 0), now).unwrap().at;
        let other = n.event(&cti(Some("2"), 4, 0), now).unwrap().at;
        assert_eq!(
            a,
            OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1)
        );
        assert_eq!(b, a + time::Duration::milliseconds(1));
        assert_eq!(other, a);
    }
}

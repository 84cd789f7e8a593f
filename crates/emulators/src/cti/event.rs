//! The events the emulator streams: AGENT_STATE_EVENT (30) and SYSTEM_EVENT (31), and the agent
//! roster they are drawn from.

use super::wire::{msg, tag, Frame, NULL_SKILL_GROUP};
use crate::ContactCentre;

/// The first AgentID (peripheral number) handed out: the same numbering as the UCCE emulator's
/// `agentId` for an unmutated data set (5000 + position in `resources`).
pub const FIRST_AGENT_ID: u32 = 5000;

/// Overall agent state (AGENT_STATE_EVENT `AgentState`, USHORT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum AgentState {
    /// 0 LOGIN.
    Login = 0,
    /// 1 LOGOUT.
    Logout = 1,
    /// 2 NOT_READY.
    NotReady = 2,
    /// 3 AVAILABLE.
    Available = 3,
    /// 4 TALKING.
    Talking = 4,
    /// 5 WORK_NOT_READY.
    WorkNotReady = 5,
    /// 6 WORK_READY.
    WorkReady = 6,
    /// 7 BUSY_OTHER.
    BusyOther = 7,
    /// 8 RESERVED.
    Reserved = 8,
    /// 9 UNKNOWN.
    Unknown = 9,
    /// 10 HOLD.
    Hold = 10,
}

/// SystemEventID values the emulator can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SystemEventId {
    /// 3 peripheral online.
    PeripheralOnline = 3,
    /// 4 peripheral offline.
    PeripheralOffline = 4,
    /// 6 PG offline.
    PgOffline = 6,
    /// 9 half-hour change.
    HalfHourChange = 9,
}

/// One skill group of an agent as the event carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillGroupRef {
    /// Peripheral number of the skill group (the data set's skill id).
    pub number: u32,
    /// ICM SkillGroupID (10 000 + skill id).
    pub id: u32,
    /// Priority (0: n/a).
    pub priority: u16,
}

/// One agent of the data set, as the CTI Server identifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtiAgent {
    /// UCCX/CUCM user id (ground truth for matching; not on the wire).
    pub user_id: String,
    /// AgentID (peripheral number, decimal string).
    pub agent_id: String,
    /// ICMAgentID (SkillTargetID): same number as `agent_id`.
    pub icm_agent_id: u32,
    /// AgentExtension (the data set's extension).
    pub extension: String,
    /// AgentInstrument (same as the extension).
    pub instrument: String,
    /// Skill groups (the agent's skills).
    pub skill_groups: Vec<SkillGroupRef>,
}

impl CtiAgent {
    /// An event putting this agent in `state` with `reason_code` (0 when not meaningful).
    pub fn event(&self, state: AgentState, reason_code: u16) -> AgentStateEvent {
        AgentStateEvent {
            agent_id: self.agent_id.clone(),
            icm_agent_id: self.icm_agent_id,
            extension: self.extension.clone(),
            instrument: self.instrument.clone(),
            state,
            reason_code,
            skill_groups: self.skill_groups.clone(),
        }
    }
}

/// The agents (resource type 1) of the data set, in data-set order.
pub fn roster(cc: &ContactCentre) -> Vec<CtiAgent> {
    let mut out = Vec::new();
    for (pos, r) in cc.resources.iter().enumerate() {
        if r.kind != 1 {
            continue;
        }
        let number = FIRST_AGENT_ID + pos as u32;
        let skill_groups = r
            .skills
            .iter()
            .take(99)
            .map(|(_, level, id)| SkillGroupRef {
                number: *id,
                id: 10_000 + *id,
                priority: u16::from(*level),
            })
            .collect();
        out.push(CtiAgent {
            user_id: r.user_id.clone(),
            agent_id: number.to_string(),
            icm_agent_id: number,
            extension: r.extension.clone(),
            instrument: r.extension.clone(),
            skill_groups,
        });
    }
    out
}

/// An AGENT_STATE_EVENT to send (what a test pushes, what a scenario generates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStateEvent {
    /// AgentID floating field (tag 5).
    pub agent_id: String,
    /// ICMAgentID (fixed part).
    pub icm_agent_id: u32,
    /// AgentExtension (tag 4).
    pub extension: String,
    /// AgentInstrument (tag 6).
    pub instrument: String,
    /// AgentState (fixed part; also SkillGroupState and every FltSkillGroupState).
    pub state: AgentState,
    /// EventReasonCode (fixed part).
    pub reason_code: u16,
    /// Skill groups: none ⇒ NULL_SKILL_GROUP in the fixed part; one ⇒ in the fixed part;
    /// more ⇒ NumFltSkillGroups and repeated floating groups (fixed part NULL).
    pub skill_groups: Vec<SkillGroupRef>,
}

/// What the emulator remembers of each event it wrote to a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStateEventSummary {
    /// Which connection it went to (1, 2, … in accept order).
    pub session: u64,
    /// AgentID.
    pub agent_id: String,
    /// AgentState.
    pub state: AgentState,
    /// EventReasonCode.
    pub reason_code: u16,
}

impl AgentStateEvent {
    /// The summary recorded when this event is sent on `session`.
    pub fn summary(&self, session: u64) -> AgentStateEventSummary {
        AgentStateEventSummary {
            session,
            agent_id: self.agent_id.clone(),
            state: self.state,
            reason_code: self.reason_code,
        }
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>, peripheral_id: u32, wide: bool) {
        let state = self.state as u16;
        let single = if self.skill_groups.len() == 1 {
            self.skill_groups.first()
        } else {
            None
        };
        let floating = if self.skill_groups.len() > 1 {
            self.skill_groups.len().min(99) as u16
        } else {
            0
        };
        let mut f = Frame::new(msg::AGENT_STATE_EVENT, wide);
        f.u32(0) // MonitorID
            .u32(peripheral_id)
            .u32(0) // SessionID
            .u16(17) // PT_ENTERPRISE_AGENT
            .u16(state) // SkillGroupState
            .u32(0) // StateDuration
            .u32(single.map_or(NULL_SKILL_GROUP, |s| s.number))
            .u32(single.map_or(NULL_SKILL_GROUP, |s| s.id))
            .u16(single.map_or(0, |s| s.priority))
            .u16(state)
            .u16(self.reason_code)
            .u32(0) // MRDID (voice)
            .u32(u32::from(matches!(
                self.state,
                AgentState::Talking | AgentState::Hold
            )))
            .u16(1) // AgentMode routable
            .u32(1) // MaxTaskLimit
            .u32(self.icm_agent_id)
            .u32(u32::from(self.state == AgentState::Available))
            .u16(floating)
            .u32(0); // DepartmentID
        f.string(tag::AGENT_ID, &self.agent_id, 12)
            .string(tag::AGENT_EXTENSION, &self.extension, 16)
            .string(tag::AGENT_INSTRUMENT, &self.instrument, 64);
        if floating > 0 {
            for sg in self.skill_groups.iter().take(99) {
                f.field(tag::SKILL_GROUP_NUMBER, &sg.number.to_be_bytes())
                    .field(tag::SKILL_GROUP_ID, &sg.id.to_be_bytes())
                    .field(tag::SKILL_GROUP_PRIORITY, &sg.priority.to_be_bytes())
                    .field(tag::SKILL_GROUP_STATE, &state.to_be_bytes());
            }
        }
        out.extend_from_slice(&f.finish());
    }
}

/// PGStatus bit PERIPHERAL_OFFLINE.
pub const PGS_PERIPHERAL_OFFLINE: u32 = 0x4;
/// PGStatus bit OPC_DOWN.
pub const PGS_OPC_DOWN: u32 = 0x1;

/// SYSTEM_EVENT (31): PGStatus UINT, ICMCentralControllerTime TIME, SystemEventID UINT,
/// SystemEventArg1..3 UINT (Arg1 = peripheral id), EventDeviceType USHORT; floating TEXT.
pub fn system_event(id: SystemEventId, pg_status: u32, peripheral_id: u32, wide: bool) -> Vec<u8> {
    let mut f = Frame::new(msg::SYSTEM_EVENT, wide);
    f.u32(pg_status)
        .u32(unix_now())
        .u32(id as u32)
        .u32(peripheral_id)
        .u32(0)
        .u32(0)
        .u16(0xFFFF);
    let text = match id {
        SystemEventId::PeripheralOnline => "peripheral online",
        SystemEventId::PeripheralOffline => "peripheral offline",
        SystemEventId::PgOffline => "pg offline",
        SystemEventId::HalfHourChange => "half hour change",
    };
    f.string(tag::TEXT, text, 255);
    f.finish()
}

/// Seconds since 1970 (TIME), 0 if the clock is before the epoch.
pub fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

//! The server's message types as decoded: message and tag numbers, agent states, records.

/// Message type numbers (GED-188 §1.2) used by this client.
pub mod msg_type {
    /// FAILURE_CONF.
    pub const FAILURE_CONF: u32 = 1;
    /// FAILURE_EVENT.
    pub const FAILURE_EVENT: u32 = 2;
    /// OPEN_REQ.
    pub const OPEN_REQ: u32 = 3;
    /// OPEN_CONF.
    pub const OPEN_CONF: u32 = 4;
    /// HEARTBEAT_REQ.
    pub const HEARTBEAT_REQ: u32 = 5;
    /// HEARTBEAT_CONF.
    pub const HEARTBEAT_CONF: u32 = 6;
    /// CLOSE_REQ.
    pub const CLOSE_REQ: u32 = 7;
    /// CLOSE_CONF.
    pub const CLOSE_CONF: u32 = 8;
    /// AGENT_STATE_EVENT.
    pub const AGENT_STATE_EVENT: u32 = 30;
    /// SYSTEM_EVENT.
    pub const SYSTEM_EVENT: u32 = 31;
}

/// Floating field tags used by this client.
pub mod tag {
    /// ClientID (OPEN_REQ).
    pub const CLIENT_ID: u16 = 1;
    /// ClientPassword (OPEN_REQ).
    pub const CLIENT_PASSWORD: u16 = 2;
    /// ClientSignature.
    pub const CLIENT_SIGNATURE: u16 = 3;
    /// AgentExtension (STRING 16).
    pub const AGENT_EXTENSION: u16 = 4;
    /// AgentID (STRING 12).
    pub const AGENT_ID: u16 = 5;
    /// AgentInstrument (STRING 64).
    pub const AGENT_INSTRUMENT: u16 = 6;
    /// Text.
    pub const TEXT: u16 = 7;
    /// FltSkillGroupNumber (INT).
    pub const SKILL_GROUP_NUMBER: u16 = 62;
    /// FltSkillGroupID (UINT).
    pub const SKILL_GROUP_ID: u16 = 63;
    /// FltSkillGroupPriority (USHORT).
    pub const SKILL_GROUP_PRIORITY: u16 = 64;
    /// FltSkillGroupState (USHORT).
    pub const SKILL_GROUP_STATE: u16 = 65;
    /// NextAgentState / EXT_AGENT_STATE (USHORT).
    pub const NEXT_AGENT_STATE: u16 = 123;
    /// Duration (UINT).
    pub const DURATION: u16 = 150;
    /// AgentIDLong.
    pub const AGENT_ID_LONG: u16 = 194;
    /// EventDeviceID.
    pub const EVENT_DEVICE_ID: u16 = 206;
    /// FltPeripheralID (UINT).
    pub const FLT_PERIPHERAL_ID: u16 = 208;
    /// NumPeripherals (USHORT).
    pub const NUM_PERIPHERALS: u16 = 228;
    /// Direction (UINT).
    pub const DIRECTION: u16 = 244;
    /// MaxBeyondTaskLimit (UINT).
    pub const MAX_BEYOND_TASK_LIMIT: u16 = 266;
    /// ActiveTerminal / FLT_TERM_DEVICE_NAME.
    pub const ACTIVE_TERMINAL: u16 = 303;
}

/// NULL_SKILL_GROUP / NULL_PERIPHERAL_ID.
pub const NULL_ID: u32 = 0xFFFF_FFFF;

/// Fixed-part size of AGENT_STATE_EVENT.
pub const AGENT_STATE_FIXED_LEN: usize = 62;
/// Fixed-part size of OPEN_CONF up to DepartmentID (SessionType follows from PV24 on).
pub const OPEN_CONF_FIXED_LEN: usize = 30;
/// Fixed-part size of SYSTEM_EVENT.
pub const SYSTEM_EVENT_FIXED_LEN: usize = 26;

/// An agent state (`AgentState` / `SkillGroupState`), every value of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// 0 LOGIN.
    Login,
    /// 1 LOGOUT.
    Logout,
    /// 2 NOT_READY.
    NotReady,
    /// 3 AVAILABLE.
    Available,
    /// 4 TALKING.
    Talking,
    /// 5 WORK_NOT_READY.
    WorkNotReady,
    /// 6 WORK_READY.
    WorkReady,
    /// 7 BUSY_OTHER.
    BusyOther,
    /// 8 RESERVED.
    Reserved,
    /// 9 UNKNOWN (the protocol's own "unknown" value).
    StateUnknown,
    /// 10 HOLD.
    Hold,
    /// 11 ACTIVE.
    Active,
    /// 12 PAUSED.
    Paused,
    /// 13 INTERRUPTED.
    Interrupted,
    /// 14 NOT_ACTIVE.
    NotActive,
    /// A value the reference does not list.
    Unknown(u16),
}

impl AgentState {
    /// Maps the wire value.
    pub fn from_u16(value: u16) -> Self {
        match value {
            0 => AgentState::Login,
            1 => AgentState::Logout,
            2 => AgentState::NotReady,
            3 => AgentState::Available,
            4 => AgentState::Talking,
            5 => AgentState::WorkNotReady,
            6 => AgentState::WorkReady,
            7 => AgentState::BusyOther,
            8 => AgentState::Reserved,
            9 => AgentState::StateUnknown,
            10 => AgentState::Hold,
            11 => AgentState::Active,
            12 => AgentState::Paused,
            13 => AgentState::Interrupted,
            14 => AgentState::NotActive,
            other => AgentState::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            AgentState::Login => 0,
            AgentState::Logout => 1,
            AgentState::NotReady => 2,
            AgentState::Available => 3,
            AgentState::Talking => 4,
            AgentState::WorkNotReady => 5,
            AgentState::WorkReady => 6,
            AgentState::BusyOther => 7,
            AgentState::Reserved => 8,
            AgentState::StateUnknown => 9,
            AgentState::Hold => 10,
            AgentState::Active => 11,
            AgentState::Paused => 12,
            AgentState::Interrupted => 13,
            AgentState::NotActive => 14,
            AgentState::Unknown(n) => n,
        }
    }
}

/// One skill group of an agent-state event (from the fixed part or the floating groups).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkillGroup {
    /// Peripheral skill-group number; `None` for NULL_SKILL_GROUP or when absent.
    pub number: Option<u32>,
    /// ICM SkillGroupID; `None` for 0xFFFFFFFF or when absent.
    pub id: Option<u32>,
    /// Priority; 0 = not applicable.
    pub priority: u16,
    /// The agent's state in this skill group, when sent.
    pub state: Option<AgentState>,
    /// MaxBeyondTaskLimit, when sent.
    pub max_beyond_task_limit: Option<u32>,
}

/// AGENT_STATE_EVENT (30): an agent changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateEvent {
    /// MonitorID (0 for ALL_EVENTS).
    pub monitor_id: u32,
    /// PeripheralID.
    pub peripheral_id: u32,
    /// SessionID (0 if none).
    pub session_id: u32,
    /// PeripheralType (17 = UCCE enterprise agent).
    pub peripheral_type: u16,
    /// SkillGroupState: the agent's state with respect to the fixed-part skill group.
    pub skill_group_state: AgentState,
    /// Overall agent state.
    pub agent_state: AgentState,
    /// EventReasonCode (meaningful for Not Ready and Logout).
    pub reason_code: u16,
    /// StateDuration in seconds (usually 0).
    pub state_duration: u32,
    /// MRDID (media routing domain).
    pub mrd_id: i32,
    /// NumTasks.
    pub num_tasks: u32,
    /// AgentMode (0 not routable, 1 routable).
    pub agent_mode: u16,
    /// MaxTaskLimit.
    pub max_task_limit: u32,
    /// ICMAgentID (SkillTargetID).
    pub icm_agent_id: i32,
    /// AgentAvailabilityStatus.
    pub availability_status: u32,
    /// DepartmentID.
    pub department_id: i32,
    /// AgentID (tag 5), or AgentIDLong (194) when only that is sent.
    pub agent_id: Option<String>,
    /// AgentExtension (tag 4).
    pub agent_extension: Option<String>,
    /// AgentInstrument (tag 6).
    pub agent_instrument: Option<String>,
    /// ActiveTerminal (tag 303).
    pub active_terminal: Option<String>,
    /// ClientSignature (tag 3).
    pub client_signature: Option<String>,
    /// Duration (tag 150): anticipated time in state.
    pub duration: Option<u32>,
    /// NextAgentState (tag 123).
    pub next_agent_state: Option<AgentState>,
    /// Direction (tag 244).
    pub direction: Option<u32>,
    /// NumFltSkillGroups as sent in the fixed part.
    pub num_flt_skill_groups: u16,
    /// Skill groups: the floating groups, or the single fixed-part group when there are none.
    pub skill_groups: Vec<SkillGroup>,
}

/// OPEN_CONF (4): the session is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenConf {
    /// InvokeID echoed from OPEN_REQ.
    pub invoke_id: u32,
    /// ServicesGranted.
    pub services_granted: u32,
    /// MonitorID.
    pub monitor_id: u32,
    /// PGStatus bitmask (0 = all fine).
    pub pg_status: u32,
    /// ICMCentralControllerTime (seconds since 1970 UTC).
    pub icm_time: u32,
    /// PeripheralOnline.
    pub peripheral_online: bool,
    /// PeripheralType.
    pub peripheral_type: u16,
    /// AgentState (CLIENT_EVENTS sessions only).
    pub agent_state: AgentState,
    /// DepartmentID.
    pub department_id: i32,
    /// SessionType (PV24+: 0 unknown, 1 active, 2 standby); `None` when not sent.
    pub session_type: Option<u16>,
    /// NumPeripherals (tag 228), if sent and the floating part decoded.
    pub num_peripherals: Option<u16>,
    /// FltPeripheralID (tag 208) values, if sent.
    pub peripheral_ids: Vec<u32>,
}

/// SYSTEM_EVENT (31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemEvent {
    /// PGStatus bitmask.
    pub pg_status: u32,
    /// ICMCentralControllerTime.
    pub icm_time: u32,
    /// SystemEventID (3 peripheral online, 4 peripheral offline, 6 PG offline, …).
    pub event_id: u32,
    /// SystemEventArg1 (the PeripheralID for events 3 and 4).
    pub arg1: u32,
    /// SystemEventArg2.
    pub arg2: u32,
    /// SystemEventArg3.
    pub arg3: u32,
    /// EventDeviceType.
    pub event_device_type: u16,
    /// Text (tag 7), when sent and decodable.
    pub text: Option<String>,
}

/// SystemEventID values.
pub mod system_event {
    /// Central controller online.
    pub const CENTRAL_CONTROLLER_ONLINE: u32 = 1;
    /// Central controller offline.
    pub const CENTRAL_CONTROLLER_OFFLINE: u32 = 2;
    /// Peripheral online (arg1 = PeripheralID).
    pub const PERIPHERAL_ONLINE: u32 = 3;
    /// Peripheral offline (arg1 = PeripheralID).
    pub const PERIPHERAL_OFFLINE: u32 = 4;
    /// TEXT_FYI.
    pub const TEXT_FYI: u32 = 5;
    /// PG offline.
    pub const PG_OFFLINE: u32 = 6;
    /// CTI server offline.
    pub const CTI_SERVER_OFFLINE: u32 = 7;
    /// CTI server online.
    pub const CTI_SERVER_ONLINE: u32 = 8;
    /// Half-hour change.
    pub const HALF_HOUR_CHANGE: u32 = 9;
}

/// A decoded server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// FAILURE_CONF (1): a request failed.
    FailureConf {
        /// InvokeID of the failed request.
        invoke_id: u32,
        /// Status code (E_CTI_*).
        status: u32,
    },
    /// FAILURE_EVENT (2).
    FailureEvent {
        /// Status code.
        status: u32,
    },
    /// OPEN_CONF (4).
    OpenConf(OpenConf),
    /// HEARTBEAT_CONF (6).
    HeartbeatConf {
        /// InvokeID of the HEARTBEAT_REQ.
        invoke_id: u32,
    },
    /// CLOSE_CONF (8).
    CloseConf {
        /// InvokeID of the CLOSE_REQ.
        invoke_id: u32,
    },
    /// SYSTEM_EVENT (31).
    SystemEvent(SystemEvent),
    /// AGENT_STATE_EVENT (30).
    AgentState(Box<AgentStateEvent>),
    /// Any other message type, skipped by its length.
    Unknown {
        /// MessageType.
        msg_type: u32,
        /// MessageLength (body bytes).
        len: u32,
    },
}

/// The name of a FAILURE_* status code, for error messages.
pub fn status_name(status: u32) -> &'static str {
    match status {
        0 => "E_CTI_NO_ERROR",
        1 => "E_CTI_INVALID_VERSION",
        2 => "E_CTI_INVALID_MESSAGE_LENGTH",
        3 => "E_CTI_INVALID_FIELD_TAG",
        4 => "E_CTI_SESSION_NOT_OPEN",
        5 => "E_CTI_SESSION_ALREADY_OPEN",
        6 => "E_CTI_REQUIRED_DATA_MISSING",
        7 => "E_CTI_INVALID_PERIPHERAL_ID",
        11 => "E_CTI_NEW_SESSION_OPENED",
        12 => "E_CTI_FUNCTION_NOT_AVAILABLE",
        15 => "E_CTI_CTI_SERVER_OFFLINE",
        16 => "E_CTI_TIMEOUT",
        17 => "E_CTI_UNSPECIFIED_FAILURE",
        18 => "E_CTI_INVALID_TIMEOUT",
        19 => "E_CTI_INVALID_SERVICE_MASK",
        20 => "E_CTI_INVALID_CALL_MSG_MASK",
        21 => "E_CTI_INVALID_AGENT_STATE_MASK",
        22 => "E_CTI_INVALID_RESERVED_FIELD",
        23 => "E_CTI_INVALID_FIELD_LENGTH",
        25 => "E_CTI_BAD_MESSAGE_FORMAT",
        36 => "E_CTI_INVALID_PASSWORD",
        37 => "E_CTI_CLIENT_DISCONNECTED",
        48 => "E_CTI_INVALID_MSG_TYPE_FOR_VERSION",
        49 => "E_CTI_INVALID_TAG_FOR_VERSION",
        92 => "E_CTI_SERVER_NOT_MASTER",
        95 => "E_CTI_INVALID_CONFIG_MSG_MASK",
        98 => "E_CTI_INVALID_REQUEST_TYPE",
        107 => "E_CTI_INVALID_CLIENT_FOR_STANDBY",
        110 => "E_CTI_SERVER_IN_MAINTENANCE_MODE",
        _ => "unknown status",
    }
}

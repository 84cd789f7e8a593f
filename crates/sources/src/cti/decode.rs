//! Decoding of the server's messages: fixed parts and floating fields (tag, length, value).
//!
//! Pure code, no I/O, no panics: every read is bounds-checked and reports the field and offset
//! where the message broke. Unknown message types and unknown floating tags are skipped.

use super::frame::{split_complete_frame, DecodeError, FieldWidth, FrameHeader};

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

/// Bounds-checked big-endian reader over a message body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos + N;
        match self.buf.get(self.pos..end) {
            Some(bytes) => {
                let mut out = [0u8; N];
                out.copy_from_slice(bytes);
                self.pos = end;
                Ok(out)
            }
            None => Err(DecodeError::Truncated {
                what: self.what,
                offset: self.pos,
                need: N,
                have: self.buf.len().saturating_sub(self.pos),
            }),
        }
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.take::<2>()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take::<4>()?))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take::<4>()?))
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
}

/// One floating field: tag, offset of its tag inside the body, and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatingField<'a> {
    /// The tag.
    pub tag: u16,
    /// The data bytes (FieldLength of them).
    pub data: &'a [u8],
}

/// Iterator over the floating part of a message. Yields an error (then stops) when a field's
/// header is cut off or its length overruns the message.
pub struct FloatingFields<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    width: FieldWidth,
    failed: bool,
}

impl<'a> FloatingFields<'a> {
    /// Iterates the floating part `buf`, which starts at byte `base` of the body (for offsets).
    pub fn new(buf: &'a [u8], base: usize, width: FieldWidth) -> Self {
        FloatingFields {
            buf,
            pos: 0,
            base,
            width,
            failed: false,
        }
    }
}

impl<'a> Iterator for FloatingFields<'a> {
    type Item = Result<FloatingField<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let head = self.width.header_len();
        if rest.len() < head {
            self.failed = true;
            return Some(Err(DecodeError::FieldHeaderCut {
                offset: self.base + self.pos,
                remaining: rest.len(),
                need: head,
            }));
        }
        let (tag, len) = match self.width {
            FieldWidth::Narrow => (u16::from(rest[0]), usize::from(rest[1])),
            FieldWidth::Wide => (
                u16::from_be_bytes([rest[0], rest[1]]),
                usize::from(u16::from_be_bytes([rest[2], rest[3]])),
            ),
        };
        let Some(data) = rest.get(head..head + len) else {
            self.failed = true;
            return Some(Err(DecodeError::FieldOverrun {
                tag,
                offset: self.base + self.pos,
                len,
                remaining: rest.len() - head,
            }));
        };
        self.pos += head + len;
        Some(Ok(FloatingField { tag, data }))
    }
}

fn field_u16(f: &FloatingField<'_>) -> Result<u16, DecodeError> {
    match f.data {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(DecodeError::FieldLength {
            tag: f.tag,
            len: f.data.len(),
            expected: "2 (USHORT)",
        }),
    }
}

fn field_u32(f: &FloatingField<'_>) -> Result<u32, DecodeError> {
    match f.data {
        [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(DecodeError::FieldLength {
            tag: f.tag,
            len: f.data.len(),
            expected: "4 (UINT)",
        }),
    }
}

/// A STRING field: ASCII up to the first NUL (a missing NUL is tolerated); non-ASCII bytes are
/// replaced rather than rejected.
fn field_string(f: &FloatingField<'_>) -> String {
    let end = f.data.iter().position(|b| *b == 0).unwrap_or(f.data.len());
    String::from_utf8_lossy(&f.data[..end]).into_owned()
}

fn null_to_none(v: u32) -> Option<u32> {
    if v == NULL_ID {
        None
    } else {
        Some(v)
    }
}

/// Decodes exactly one complete frame (header + body). A buffer shorter than the frame is a
/// `Truncated` error; trailing bytes after the frame are ignored (use [`super::frame::split_frame`]
/// or [`super::frame::FrameBuffer`] to walk a stream).
pub fn decode_frame(buf: &[u8], width: FieldWidth) -> Result<Message, DecodeError> {
    let (header, body) = split_complete_frame(buf)?;
    decode_body(header, body, width)
}

/// Decodes one message body whose header was already validated.
pub fn decode_body(
    header: FrameHeader,
    body: &[u8],
    width: FieldWidth,
) -> Result<Message, DecodeError> {
    match header.msg_type {
        msg_type::FAILURE_CONF => decode_failure_conf(body),
        msg_type::FAILURE_EVENT => {
            let mut r = Reader::new(body, "FAILURE_EVENT");
            Ok(Message::FailureEvent { status: r.u32()? })
        }
        msg_type::OPEN_CONF => decode_open_conf(body, width).map(Message::OpenConf),
        msg_type::HEARTBEAT_CONF => {
            let mut r = Reader::new(body, "HEARTBEAT_CONF");
            Ok(Message::HeartbeatConf {
                invoke_id: r.u32()?,
            })
        }
        msg_type::CLOSE_CONF => {
            let mut r = Reader::new(body, "CLOSE_CONF");
            Ok(Message::CloseConf {
                invoke_id: r.u32()?,
            })
        }
        msg_type::SYSTEM_EVENT => decode_system_event(body, width).map(Message::SystemEvent),
        msg_type::AGENT_STATE_EVENT => {
            decode_agent_state(body, width).map(|e| Message::AgentState(Box::new(e)))
        }
        other => Ok(Message::Unknown {
            msg_type: other,
            len: header.body_len as u32,
        }),
    }
}

/// FAILURE_CONF: InvokeID + Status UINT (8 bytes). The PV24 guide's alternative layout
/// (FailureCode USHORT + PeripheralErrorCode UINT, 10 bytes) is accepted too: its status is the
/// USHORT.
fn decode_failure_conf(body: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader::new(body, "FAILURE_CONF");
    let invoke_id = r.u32()?;
    let status = if body.len() == 10 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    Ok(Message::FailureConf { invoke_id, status })
}

fn decode_open_conf(body: &[u8], width: FieldWidth) -> Result<OpenConf, DecodeError> {
    let mut r = Reader::new(body, "OPEN_CONF");
    let mut conf = OpenConf {
        invoke_id: r.u32()?,
        services_granted: r.u32()?,
        monitor_id: r.u32()?,
        pg_status: r.u32()?,
        icm_time: r.u32()?,
        peripheral_online: r.u16()? != 0,
        peripheral_type: r.u16()?,
        agent_state: AgentState::from_u16(r.u16()?),
        department_id: r.i32()?,
        session_type: None,
        num_peripherals: None,
        peripheral_ids: Vec::new(),
    };
    // SessionType exists from PV24 on; the reference is unsure of the fixed size, so the
    // floating part (informative only) is decoded best-effort.
    if width == FieldWidth::Wide && r.remaining() >= 2 {
        let save = r.pos;
        let session_type = r.u16()?;
        if session_type <= 2 {
            conf.session_type = Some(session_type);
        } else {
            r.pos = save;
        }
    }
    let base = r.pos;
    let mut fields = Vec::new();
    for field in FloatingFields::new(r.rest(), base, width) {
        match field {
            Ok(f) => fields.push(f),
            Err(_) => {
                fields.clear();
                break;
            }
        }
    }
    for f in fields {
        match f.tag {
            tag::NUM_PERIPHERALS => conf.num_peripherals = field_u16(&f).ok(),
            tag::FLT_PERIPHERAL_ID => {
                if let Ok(id) = field_u32(&f) {
                    conf.peripheral_ids.push(id);
                }
            }
            _ => {}
        }
    }
    Ok(conf)
}

fn decode_system_event(body: &[u8], width: FieldWidth) -> Result<SystemEvent, DecodeError> {
    let mut r = Reader::new(body, "SYSTEM_EVENT");
    let mut ev = SystemEvent {
        pg_status: r.u32()?,
        icm_time: r.u32()?,
        event_id: r.u32()?,
        arg1: r.u32()?,
        arg2: r.u32()?,
        arg3: r.u32()?,
        event_device_type: r.u16()?,
        text: None,
    };
    // Implementations disagree on trailing fixed fields; the text is informative only.
    let base = r.pos;
    for f in FloatingFields::new(r.rest(), base, width) {
        let Ok(f) = f else { break };
        if f.tag == tag::TEXT {
            ev.text = Some(field_string(&f));
        }
    }
    Ok(ev)
}

/// Decodes an AGENT_STATE_EVENT body (fixed part of 62 bytes + floating fields).
pub fn decode_agent_state(body: &[u8], width: FieldWidth) -> Result<AgentStateEvent, DecodeError> {
    let mut r = Reader::new(body, "AGENT_STATE_EVENT");
    let monitor_id = r.u32()?;
    let peripheral_id = r.u32()?;
    let session_id = r.u32()?;
    let peripheral_type = r.u16()?;
    let skill_group_state = AgentState::from_u16(r.u16()?);
    let state_duration = r.u32()?;
    let sg_number = r.u32()?;
    let sg_id = r.u32()?;
    let sg_priority = r.u16()?;
    let agent_state = AgentState::from_u16(r.u16()?);
    let reason_code = r.u16()?;
    let mrd_id = r.i32()?;
    let num_tasks = r.u32()?;
    let agent_mode = r.u16()?;
    let max_task_limit = r.u32()?;
    let icm_agent_id = r.i32()?;
    let availability_status = r.u32()?;
    let num_flt_skill_groups = r.u16()?;
    let department_id = r.i32()?;

    let mut ev = AgentStateEvent {
        monitor_id,
        peripheral_id,
        session_id,
        peripheral_type,
        skill_group_state,
        agent_state,
        reason_code,
        state_duration,
        mrd_id,
        num_tasks,
        agent_mode,
        max_task_limit,
        icm_agent_id,
        availability_status,
        department_id,
        agent_id: None,
        agent_extension: None,
        agent_instrument: None,
        active_terminal: None,
        client_signature: None,
        duration: None,
        next_agent_state: None,
        direction: None,
        num_flt_skill_groups,
        skill_groups: Vec::new(),
    };
    let mut agent_id_long = None;
    let base = r.pos;
    for field in FloatingFields::new(r.rest(), base, width) {
        let f = field?;
        match f.tag {
            tag::CLIENT_SIGNATURE => ev.client_signature = Some(field_string(&f)),
            tag::AGENT_EXTENSION => ev.agent_extension = Some(field_string(&f)),
            tag::AGENT_ID => ev.agent_id = Some(field_string(&f)),
            tag::AGENT_INSTRUMENT => ev.agent_instrument = Some(field_string(&f)),
            tag::AGENT_ID_LONG => agent_id_long = Some(field_string(&f)),
            tag::ACTIVE_TERMINAL => ev.active_terminal = Some(field_string(&f)),
            tag::DURATION => ev.duration = Some(field_u32(&f)?),
            tag::NEXT_AGENT_STATE => {
                ev.next_agent_state = Some(AgentState::from_u16(field_u16(&f)?))
            }
            tag::DIRECTION => ev.direction = Some(field_u32(&f)?),
            // A new group starts at each FltSkillGroupNumber; the other members fill the
            // current group (or start one if the number is missing).
            tag::SKILL_GROUP_NUMBER => ev.skill_groups.push(SkillGroup {
                number: null_to_none(field_u32(&f)?),
                ..SkillGroup::default()
            }),
            tag::SKILL_GROUP_ID => {
                current_group(&mut ev.skill_groups, |g| g.id.is_some()).id =
                    null_to_none(field_u32(&f)?)
            }
            tag::SKILL_GROUP_PRIORITY => {
                let priority = field_u16(&f)?;
                current_group(&mut ev.skill_groups, |g| g.priority != 0).priority = priority;
            }
            tag::SKILL_GROUP_STATE => {
                let state = AgentState::from_u16(field_u16(&f)?);
                current_group(&mut ev.skill_groups, |g| g.state.is_some()).state = Some(state);
            }
            tag::MAX_BEYOND_TASK_LIMIT => {
                let limit = field_u32(&f)?;
                current_group(&mut ev.skill_groups, |g| g.max_beyond_task_limit.is_some())
                    .max_beyond_task_limit = Some(limit);
            }
            _ => {}
        }
    }
    if ev.agent_id.is_none() {
        ev.agent_id = agent_id_long;
    }
    if num_flt_skill_groups == 0 && ev.skill_groups.is_empty() && sg_number != NULL_ID {
        ev.skill_groups.push(SkillGroup {
            number: Some(sg_number),
            id: null_to_none(sg_id),
            priority: sg_priority,
            state: Some(skill_group_state),
            max_beyond_task_limit: None,
        });
    }
    Ok(ev)
}

/// The group a member field belongs to: the last one, unless it already has that member
/// (`filled`), in which case a new group starts.
fn current_group(
    groups: &mut Vec<SkillGroup>,
    filled: impl Fn(&SkillGroup) -> bool,
) -> &mut SkillGroup {
    let need_new = match groups.last() {
        Some(last) => filled(last),
        None => true,
    };
    if need_new {
        groups.push(SkillGroup::default());
    }
    let idx = groups.len() - 1;
    &mut groups[idx]
}

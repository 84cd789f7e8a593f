//! Decoding of the server's messages: fixed parts and floating fields (tag, length, value).
//!
//! Pure code, no I/O, no panics: every read is bounds-checked and reports the field and offset
//! where the message broke. Unknown message types and unknown floating tags are skipped.

use super::frame::{split_complete_frame, DecodeError, FieldWidth, FrameHeader};
pub use super::types::*;

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

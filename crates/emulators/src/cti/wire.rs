//! GED-188 bytes for the server side: an encoder for what the CTI Server sends and a minimal
//! decoder of what a client sends (OPEN_REQ, HEARTBEAT_REQ, CLOSE_REQ; anything else is
//! skipped by its length). Written from `cti-protocol.md` only; shares nothing with any client.

/// MessageType numbers used by the emulator.
pub mod msg {
    /// FAILURE_CONF.
    pub const FAILURE_CONF: u32 = 1;
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

/// Floating-field tags used by the emulator.
pub mod tag {
    /// ClientID (OPEN_REQ).
    pub const CLIENT_ID: u16 = 1;
    /// ClientPassword (OPEN_REQ).
    pub const CLIENT_PASSWORD: u16 = 2;
    /// TEXT.
    pub const TEXT: u16 = 7;
    /// AgentExtension.
    pub const AGENT_EXTENSION: u16 = 4;
    /// AgentID.
    pub const AGENT_ID: u16 = 5;
    /// AgentInstrument.
    pub const AGENT_INSTRUMENT: u16 = 6;
    /// FltSkillGroupNumber.
    pub const SKILL_GROUP_NUMBER: u16 = 62;
    /// FltSkillGroupID.
    pub const SKILL_GROUP_ID: u16 = 63;
    /// FltSkillGroupPriority.
    pub const SKILL_GROUP_PRIORITY: u16 = 64;
    /// FltSkillGroupState.
    pub const SKILL_GROUP_STATE: u16 = 65;
    /// FltPeripheralID.
    pub const PERIPHERAL_ID: u16 = 208;
    /// NumPeripherals.
    pub const NUM_PERIPHERALS: u16 = 228;
}

/// Header length (MessageLength + MessageType).
pub const HEADER_LEN: usize = 8;
/// Largest message body a reader accepts (12 500 bytes including the header).
pub const MAX_BODY: usize = 12_500 - HEADER_LEN;
/// The "none" value of skill-group numbers and ids.
pub const NULL_SKILL_GROUP: u32 = 0xFFFF_FFFF;

/// Builds one message: header written by [`Frame::finish`].
pub struct Frame {
    buf: Vec<u8>,
    wide: bool,
}

impl Frame {
    /// Starts a message of `msg_type`; `wide` selects 2-byte floating tags and lengths.
    pub fn new(msg_type: u32, wide: bool) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_be_bytes());
        buf.extend_from_slice(&msg_type.to_be_bytes());
        Frame { buf, wide }
    }

    /// Appends a big-endian UINT/INT.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a big-endian USHORT (also BOOL).
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends one floating field with raw data.
    pub fn field(&mut self, tag: u16, data: &[u8]) -> &mut Self {
        if self.wide {
            self.buf.extend_from_slice(&tag.to_be_bytes());
            self.buf
                .extend_from_slice(&(data.len().min(u16::MAX as usize) as u16).to_be_bytes());
        } else {
            self.buf.push(tag.min(255) as u8);
            self.buf.push(data.len().min(255) as u8);
        }
        self.buf.extend_from_slice(data);
        self
    }

    /// Appends a STRING floating field, NUL-terminated, truncated to `max` bytes with the NUL.
    pub fn string(&mut self, tag: u16, s: &str, max: usize) -> &mut Self {
        let keep = s.len().min(max.saturating_sub(1));
        let mut data = Vec::with_capacity(keep + 1);
        data.extend_from_slice(&s.as_bytes()[..keep]);
        data.push(0);
        self.field(tag, &data)
    }

    /// Writes MessageLength (body only) and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let body = (self.buf.len() - HEADER_LEN) as u32;
        self.buf[..4].copy_from_slice(&body.to_be_bytes());
        self.buf
    }
}

/// A request from the client, decoded as far as the emulator needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// OPEN_REQ.
    Open(OpenReq),
    /// HEARTBEAT_REQ with its InvokeID.
    Heartbeat(u32),
    /// CLOSE_REQ with its InvokeID and Status.
    Close(u32, u32),
    /// Any other message type, skipped by length.
    Other(u32),
}

/// The fields of OPEN_REQ the emulator checks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenReq {
    /// InvokeID, echoed.
    pub invoke_id: u32,
    /// VersionNumber.
    pub version: u32,
    /// IdleTimeout in seconds (`0xFFFFFFFF`: none).
    pub idle_timeout: u32,
    /// ServicesRequested.
    pub services: u32,
    /// Reserved1..3 all zero.
    pub reserved_zero: bool,
    /// ClientID (tag 1), if present.
    pub client_id: Option<String>,
    /// ClientPassword (tag 2), if present (may be empty).
    pub client_password: Option<Vec<u8>>,
}

/// Why a request body could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest;

fn be32(b: &[u8], off: usize) -> Result<u32, BadRequest> {
    let s = b.get(off..off + 4).ok_or(BadRequest)?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The floating-field width for a protocol version: 2-byte tag/length from version 18.
pub fn wide_fields(version: u32) -> bool {
    version >= 18
}

/// Decodes a request body of `msg_type`.
pub fn decode_request(msg_type: u32, body: &[u8]) -> Result<Request, BadRequest> {
    match msg_type {
        msg::OPEN_REQ => decode_open(body).map(Request::Open),
        msg::HEARTBEAT_REQ => Ok(Request::Heartbeat(be32(body, 0)?)),
        msg::CLOSE_REQ => Ok(Request::Close(be32(body, 0)?, be32(body, 4).unwrap_or(0))),
        other => Ok(Request::Other(other)),
    }
}

fn decode_open(body: &[u8]) -> Result<OpenReq, BadRequest> {
    let mut req = OpenReq {
        invoke_id: be32(body, 0)?,
        version: be32(body, 4)?,
        idle_timeout: be32(body, 8)?,
        services: be32(body, 16)?,
        reserved_zero: be32(body, 32)? == 0 && be32(body, 36)? == 0 && be32(body, 40)? == 0,
        ..OpenReq::default()
    };
    let wide = wide_fields(req.version);
    let mut rest = &body[44..];
    while !rest.is_empty() {
        let (tag, len, head) = if wide {
            if rest.len() < 4 {
                return Err(BadRequest);
            }
            (
                u16::from_be_bytes([rest[0], rest[1]]),
                u16::from_be_bytes([rest[2], rest[3]]) as usize,
                4,
            )
        } else {
            if rest.len() < 2 {
                return Err(BadRequest);
            }
            (rest[0] as u16, rest[1] as usize, 2)
        };
        let data = rest.get(head..head + len).ok_or(BadRequest)?;
        match tag {
            tag::CLIENT_ID => req.client_id = Some(c_string(data)),
            tag::CLIENT_PASSWORD => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                req.client_password = Some(data[..end].to_vec());
            }
            _ => {}
        }
        rest = &rest[head + len..];
    }
    Ok(req)
}

fn c_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// FAILURE_CONF: InvokeID + Status (UINT).
pub fn failure_conf(invoke_id: u32, status: u32) -> Vec<u8> {
    let mut f = Frame::new(msg::FAILURE_CONF, false);
    f.u32(invoke_id).u32(status);
    f.finish()
}

/// HEARTBEAT_CONF or CLOSE_CONF: InvokeID only.
pub fn invoke_only(msg_type: u32, invoke_id: u32) -> Vec<u8> {
    let mut f = Frame::new(msg_type, false);
    f.u32(invoke_id);
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_length_excludes_header() {
        let mut f = Frame::new(msg::HEARTBEAT_CONF, true);
        f.u32(7);
        assert_eq!(f.finish(), vec![0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7]);
    }

    #[test]
    fn narrow_and_wide_fields() {
        let mut f = Frame::new(30, false);
        f.string(tag::AGENT_ID, "12", 12);
        assert_eq!(&f.finish()[8..], &[5, 3, b'1', b'2', 0]);
        let mut f = Frame::new(30, true);
        f.string(tag::AGENT_ID, "12", 12);
        assert_eq!(&f.finish()[8..], &[0, 5, 0, 3, b'1', b'2', 0]);
    }
}

//! Encoding of the client's own requests: OPEN_REQ, HEARTBEAT_REQ and CLOSE_REQ.

use super::decode::{msg_type, tag, NULL_ID};
use super::frame::{FieldWidth, HEADER_LEN, MAX_MESSAGE_LEN};

/// CTI service mask ALL_EVENTS (0x10): every agent and call event of the peripheral(s).
pub const SERVICE_ALL_EVENTS: u32 = 0x10;

/// AgentStateMask with every state up to PV24 (LOGIN … HOLD = 0x3FF).
pub const AGENT_STATE_MASK_PV24: u32 = 0x3FF;

/// AgentStateMask with every state of PV25 (adds ACTIVE, PAUSED, INTERRUPTED, NOT_ACTIVE).
pub const AGENT_STATE_MASK_PV25: u32 = 0x3FFF;

/// Largest ClientID, NUL excluded (STRING 64 includes the NUL).
pub const MAX_CLIENT_ID_LEN: usize = 63;

/// Largest ClientPassword (UNSPEC 64).
pub const MAX_CLIENT_PASSWORD_LEN: usize = 64;

/// The fields of an OPEN_REQ.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenReq<'a> {
    /// InvokeID, echoed in OPEN_CONF.
    pub invoke_id: u32,
    /// Protocol version requested (also decides the floating field width).
    pub version: u32,
    /// IdleTimeout in seconds (`0xFFFFFFFF` = no heartbeats; ≥ 20 otherwise).
    pub idle_timeout_secs: u32,
    /// ServicesRequested mask.
    pub services: u32,
    /// CallMsgMask.
    pub call_msg_mask: u32,
    /// AgentStateMask.
    pub agent_state_mask: u32,
    /// ClientID (≤ 63 ASCII bytes).
    pub client_id: &'a str,
    /// ClientPassword (≤ 64 bytes, may be empty).
    pub client_password: &'a [u8],
}

impl std::fmt::Debug for OpenReq<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenReq")
            .field("invoke_id", &self.invoke_id)
            .field("version", &self.version)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("services", &self.services)
            .field("client_id", &self.client_id)
            .field("client_password", &"<redacted>")
            .finish()
    }
}

/// Why a request cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field is longer than the protocol allows.
    #[error("{field} is {len} bytes, the protocol allows at most {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// ClientID must be non-empty printable ASCII without NUL.
    #[error("client id must be 1..=63 printable ASCII characters")]
    BadClientId,
}

fn header(out: &mut Vec<u8>, msg_type: u32) {
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&msg_type.to_be_bytes());
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let body_len = (out.len() - HEADER_LEN) as u32;
    out[..4].copy_from_slice(&body_len.to_be_bytes());
    out
}

fn floating(out: &mut Vec<u8>, width: FieldWidth, tag: u16, data: &[u8]) {
    match width {
        FieldWidth::Narrow => {
            out.push(tag as u8);
            out.push(data.len() as u8);
        }
        FieldWidth::Wide => {
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(data);
}

/// Encodes an OPEN_REQ: 44-byte fixed part (PeripheralID = 0xFFFFFFFF, ConfigMsgMask and
/// reserved fields 0), then ClientID (tag 1, NUL-terminated) and ClientPassword (tag 2, raw).
pub fn encode_open_req(req: &OpenReq<'_>) -> Result<Vec<u8>, EncodeError> {
    let id = req.client_id.as_bytes();
    if id.is_empty() || !id.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(EncodeError::BadClientId);
    }
    if id.len() > MAX_CLIENT_ID_LEN {
        return Err(EncodeError::TooLong {
            field: "client id",
            len: id.len(),
            max: MAX_CLIENT_ID_LEN,
        });
    }
    if req.client_password.len() > MAX_CLIENT_PASSWORD_LEN {
        return Err(EncodeError::TooLong {
            field: "client password",
            len: req.client_password.len(),
            max: MAX_CLIENT_PASSWORD_LEN,
        });
    }
    let width = FieldWidth::for_version(req.version);
    let mut out = Vec::with_capacity(HEADER_LEN + 44 + 8 + 64 + 64);
    header(&mut out, msg_type::OPEN_REQ);
    for v in [
        req.invoke_id,
        req.version,
        req.idle_timeout_secs,
        NULL_ID,
        req.services,
        req.call_msg_mask,
        req.agent_state_mask,
        0, // ConfigMsgMask
        0, // Reserved1
        0, // Reserved2
        0, // Reserved3
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut id_z = Vec::with_capacity(id.len() + 1);
    id_z.extend_from_slice(id);
    id_z.push(0);
    floating(&mut out, width, tag::CLIENT_ID, &id_z);
    floating(&mut out, width, tag::CLIENT_PASSWORD, req.client_password);
    debug_assert!(out.len() <= MAX_MESSAGE_LEN);
    Ok(finish(out))
}

/// Encodes a HEARTBEAT_REQ (InvokeID only).
pub fn encode_heartbeat_req(invoke_id: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 4);
    header(&mut out, msg_type::HEARTBEAT_REQ);
    out.extend_from_slice(&invoke_id.to_be_bytes());
    finish(out)
}

/// Encodes a CLOSE_REQ (InvokeID + Status; 0 = E_CTI_NO_ERROR).
pub fn encode_close_req(invoke_id: u32, status: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 8);
    header(&mut out, msg_type::CLOSE_REQ);
    out.extend_from_slice(&invoke_id.to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
    finish(out)
}

//! Cisco CTI Server (GED-188) client: the real-time agent-state feed.
//!
//! [`frame`] owns the 8-byte header and size limits, [`decode`] the server's messages (fixed parts
//! and floating fields, 1-byte tags up to PV17 and 2-byte tags from PV20), [`encode`] the
//! client's own requests, and [`CtiClient`] the session: side A/B failover with back-off,
//! OPEN_REQ/OPEN_CONF, heartbeats, CLOSE_REQ, and a stream of [`CtiEvent`]s. Decoding is pure and
//! never panics or allocates more than one maximum-size message on hostile input.

mod client;
mod config;
pub mod decode;
pub mod encode;
mod error;
pub mod frame;
mod types;

#[cfg(test)]
mod tests;

pub use client::{CtiClient, CtiEvent, CtiHandle};
pub use config::{CtiSettings, CtiSide};
pub use decode::{
    decode_agent_state, decode_body, decode_frame, status_name, AgentState, AgentStateEvent,
    FloatingField, FloatingFields, Message, OpenConf, SkillGroup, SystemEvent,
};
pub use encode::{
    encode_close_req, encode_heartbeat_req, encode_open_req, EncodeError, OpenReq,
    SERVICE_ALL_EVENTS,
};
pub use error::CtiError;
pub use frame::{
    parse_header, split_frame, DecodeError, FieldWidth, FrameBuffer, FrameHeader, HEADER_LEN,
    MAX_BODY_LEN, MAX_MESSAGE_LEN,
};

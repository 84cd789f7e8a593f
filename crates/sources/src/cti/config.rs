//! Settings of a CTI session (local to this module; not part of the config crate).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::encode::{
    encode_open_req, OpenReq, AGENT_STATE_MASK_PV24, AGENT_STATE_MASK_PV25, SERVICE_ALL_EVENTS,
};
use super::error::CtiError;
use super::frame::FieldWidth;

/// Which CTI server of the duplexed pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtiSide {
    /// Side A (tried first).
    A,
    /// Side B.
    B,
}

impl fmt::Display for CtiSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CtiSide::A => f.write_str("A"),
            CtiSide::B => f.write_str("B"),
        }
    }
}

/// Settings of a CTI session.
#[derive(Clone)]
pub struct CtiSettings {
    /// Address of CTI server side A (no default port: the commonly quoted 42027 is unconfirmed).
    pub side_a: SocketAddr,
    /// Address of side B of a duplexed pair, if any.
    pub side_b: Option<SocketAddr>,
    /// ClientID sent in OPEN_REQ (1..=63 printable ASCII characters).
    pub client_id: String,
    /// ClientPassword sent in OPEN_REQ (≤ 64 bytes, may be empty). Never logged.
    pub client_password: String,
    /// Protocol version requested; ≥ 20 selects 2-byte floating tags/lengths. Default 24.
    pub version: u32,
    /// Interval between HEARTBEAT_REQs (the reference's minimum is 5 s). Default 30 s. The
    /// IdleTimeout sent is 4× this, at least 20 s.
    pub heartbeat: Duration,
    /// How many unanswered heartbeats end the session. Default 3.
    pub missed_heartbeats: u32,
    /// How long to wait for TCP connect and then for OPEN_CONF. Default 30 s (the reference
    /// says 60 s for servers with more than 500 clients).
    pub open_timeout: Duration,
    /// How long to wait for CLOSE_CONF on shutdown. Default 5 s.
    pub close_timeout: Duration,
    /// CallMsgMask: call events are not used by this client. Default 0.
    pub call_msg_mask: u32,
    /// AgentStateMask; `None` = every state of the requested version.
    pub agent_state_mask: Option<u32>,
    /// Upper bound of the random delay before the third attempt. Default 2 s.
    pub backoff_jitter: Duration,
    /// Delays before the fourth and later attempts; the last one repeats.
    /// Default 15, 30, 60, 120 s.
    pub backoff_steps: Vec<Duration>,
    /// Capacity of the event channel (back-pressure: a full channel pauses reading). Default 4096.
    pub event_buffer: usize,
}

impl fmt::Debug for CtiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtiSettings")
            .field("side_a", &self.side_a)
            .field("side_b", &self.side_b)
            .field("client_id", &self.client_id)
            .field("client_password", &"<redacted>")
            .field("version", &self.version)
            .field("heartbeat", &self.heartbeat)
            .field("missed_heartbeats", &self.missed_heartbeats)
            .field("open_timeout", &self.open_timeout)
            .finish_non_exhaustive()
    }
}

impl CtiSettings {
    /// Settings with the defaults documented on each field.
    pub fn new(
        side_a: SocketAddr,
        client_id: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        CtiSettings {
            side_a,
            side_b: None,
            client_id: client_id.into(),
            client_password: password.into(),
            version: 24,
            heartbeat: Duration::from_secs(30),
            missed_heartbeats: 3,
            open_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            call_msg_mask: 0,
            agent_state_mask: None,
            backoff_jitter: Duration::from_secs(2),
            backoff_steps: vec![
                Duration::from_secs(15),
                Duration::from_secs(30),
                Duration::from_secs(60),
                Duration::from_secs(120),
            ],
            event_buffer: 4096,
        }
    }

    /// The floating field width implied by [`CtiSettings::version`].
    pub fn field_width(&self) -> FieldWidth {
        FieldWidth::for_version(self.version)
    }

    pub(super) fn idle_timeout_secs(&self) -> u32 {
        let four = self.heartbeat.saturating_mul(4).as_secs_f64().ceil() as u32;
        four.max(20)
    }

    pub(super) fn open_req(&self, invoke_id: u32) -> Result<Vec<u8>, CtiError> {
        let mask = self.agent_state_mask.unwrap_or(if self.version >= 25 {
            AGENT_STATE_MASK_PV25
        } else {
            AGENT_STATE_MASK_PV24
        });
        encode_open_req(&OpenReq {
            invoke_id,
            version: self.version,
            idle_timeout_secs: self.idle_timeout_secs(),
            services: SERVICE_ALL_EVENTS,
            call_msg_mask: self.call_msg_mask,
            agent_state_mask: mask,
            client_id: &self.client_id,
            client_password: self.client_password.as_bytes(),
        })
        .map_err(|e| CtiError::Config {
            message: format!("cti: {e}"),
        })
    }

    /// Checks the settings without connecting.
    pub fn validate(&self) -> Result<(), CtiError> {
        let config = |message: &str| {
            Err(CtiError::Config {
                message: format!("cti: {message}"),
            })
        };
        if self.heartbeat.is_zero() {
            return config("heartbeat must be greater than zero");
        }
        if self.open_timeout.is_zero() || self.close_timeout.is_zero() {
            return config("open_timeout and close_timeout must be greater than zero");
        }
        if self.missed_heartbeats == 0 {
            return config("missed_heartbeats must be at least 1");
        }
        if self.backoff_steps.is_empty() {
            return config("backoff_steps must not be empty");
        }
        if self.event_buffer == 0 {
            return config("event_buffer must be at least 1");
        }
        self.open_req(0).map(|_| ())
    }

    pub(super) fn addr(&self, side: CtiSide) -> SocketAddr {
        match (side, self.side_b) {
            (CtiSide::B, Some(b)) => b,
            _ => self.side_a,
        }
    }

    pub(super) fn other(&self, side: CtiSide) -> CtiSide {
        match (side, self.side_b) {
            (CtiSide::A, Some(_)) => CtiSide::B,
            _ => CtiSide::A,
        }
    }
}

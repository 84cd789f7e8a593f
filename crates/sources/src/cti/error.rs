//! Errors of the CTI session, with retry classification and the mapping to [`SourceError`].

use std::net::SocketAddr;
use std::time::Duration;

use super::frame::DecodeError;
use crate::SourceError;

/// Why a CTI session could not be opened or ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtiError {
    /// The settings are unusable.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// TCP connect failed or timed out.
    #[error("cannot connect to CTI server {addr}: {detail}")]
    Connect {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        detail: String,
    },
    /// The TCP connection was accepted but no OPEN_CONF (or FAILURE_CONF) came in time.
    #[error("CTI server {addr} accepted TCP but sent no OPEN_CONF within {timeout:?}")]
    NoOpenConf {
        /// The address.
        addr: SocketAddr,
        /// The wait.
        timeout: Duration,
    },
    /// The server answered OPEN_REQ with FAILURE_CONF.
    #[error("CTI server {addr} rejected OPEN_REQ with {name} ({status}): {hint}")]
    Rejected {
        /// The address.
        addr: SocketAddr,
        /// Status code.
        status: u32,
        /// Its name.
        name: &'static str,
        /// What to check.
        hint: &'static str,
    },
    /// Too many heartbeats went unanswered.
    #[error("CTI server {addr} answered none of the last {missed} heartbeats")]
    HeartbeatLost {
        /// The address.
        addr: SocketAddr,
        /// How many.
        missed: u32,
    },
    /// The byte stream broke the protocol (length 0, over the maximum); the stream is reset.
    #[error("protocol error from CTI server {addr}: {source}")]
    Protocol {
        /// The address.
        addr: SocketAddr,
        /// The decoder's error.
        source: DecodeError,
    },
    /// The server closed the connection or an I/O error occurred.
    #[error("connection to CTI server {addr} lost: {detail}")]
    Closed {
        /// The address.
        addr: SocketAddr,
        /// What happened.
        detail: String,
    },
}

/// FAILURE_CONF statuses that another attempt (or the other side) may fix.
fn status_is_retriable(status: u32) -> bool {
    matches!(status, 11 | 15 | 16 | 17 | 37 | 92 | 107 | 110)
}

pub(super) fn rejection_hint(status: u32) -> &'static str {
    match status {
        36 | 6 => "check the CTI client id and password configured for the importer",
        1 | 48 | 49 => {
            "the server does not support the requested protocol version; lower `version`"
        }
        18 => "the idle timeout is invalid; check `heartbeat`",
        19..=22 | 95 => "the server rejected the OPEN_REQ masks; check the server's CTI settings",
        15 | 92 | 107 | 110 => "this side is not serving clients; the other side will be tried",
        _ => "check the CTI client id, password and protocol version",
    }
}

impl CtiError {
    /// Whether reconnecting may succeed. Configuration errors and OPEN_REQ rejections such as a
    /// wrong password or version are permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            CtiError::Config { .. } => false,
            CtiError::Rejected { status, .. } => status_is_retriable(*status),
            _ => true,
        }
    }

    /// A bounded label for metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            CtiError::Config { .. } => "config",
            CtiError::Connect { .. } => "connect",
            CtiError::NoOpenConf { .. } => "timeout",
            CtiError::Rejected { .. } => "rejected",
            CtiError::HeartbeatLost { .. } => "heartbeat_lost",
            CtiError::Protocol { .. } => "malformed",
            CtiError::Closed { .. } => "closed",
        }
    }
}

impl From<CtiError> for SourceError {
    fn from(e: CtiError) -> Self {
        let message = e.to_string();
        match e {
            CtiError::Config { message } => SourceError::Config { message },
            CtiError::Connect { addr, detail } => SourceError::Connect {
                url: format!("cti://{addr}"),
                detail,
            },
            CtiError::NoOpenConf { addr, .. } | CtiError::HeartbeatLost { addr, .. } => {
                SourceError::Timeout {
                    url: format!("cti://{addr}"),
                    detail: message,
                }
            }
            CtiError::Rejected { status, addr, .. } if status_is_retriable(status) => {
                SourceError::Connect {
                    url: format!("cti://{addr}"),
                    detail: message,
                }
            }
            CtiError::Rejected { .. } => SourceError::Unauthorized { message },
            CtiError::Protocol { addr, source } => SourceError::Malformed {
                what: format!("cti://{addr}"),
                detail: source.to_string(),
            },
            CtiError::Closed { addr, detail } => SourceError::Connect {
                url: format!("cti://{addr}"),
                detail,
            },
        }
    }
}

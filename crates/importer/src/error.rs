//! Importer errors, with retry classification and bounded type labels.

use std::time::Duration;

/// Talking to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The hub settings cannot work.
    #[error("hub configuration: {0}")]
    Config(String),
    /// No connection (DNS, refused, reset, timeout).
    #[error("cannot reach the hub at {0}")]
    Unreachable(String),
    /// The certificate could not be verified.
    #[error("TLS error talking to the hub: {0}")]
    Tls(String),
    /// The token was refused.
    #[error("the hub refused the token (HTTP 401): check hub.token and hub.project, and that the token belongs to that project")]
    Unauthorized,
    /// The hub is overloaded or failing; try again.
    #[error("the hub is unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// The hub's message.
        message: String,
        /// The hub's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The hub rejected the request for good.
    #[error("the hub rejected the request (HTTP {status}, {code}): {message}{}", if details.is_empty() { String::new() } else { format!("\n  - {}", details.join("\n  - ")) })]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// The hub's message.
        message: String,
        /// Individual problems.
        details: Vec<String>,
    },
    /// The hub answered something this importer does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl HubError {
    /// True when the same request may succeed later.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            HubError::Unreachable(_) | HubError::Unavailable { .. }
        )
    }

    /// The hub's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HubError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Bounded label for metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            HubError::Config(_) => "config",
            HubError::Unreachable(_) => "connect",
            HubError::Tls(_) => "tls",
            HubError::Unauthorized => "unauthorized",
            HubError::Unavailable { .. } => "unavailable",
            HubError::Rejected { .. } => "rejected",
            HubError::Protocol(_) => "protocol",
        }
    }
}

/// A sync run failed.
#[derive(Debug, thiserror::Error)]
pub enum ImporterError {
    /// The config names no source for this job.
    #[error("{0}")]
    NotConfigured(String),
    /// An upstream API failed.
    #[error("{0}")]
    Source(#[from] wfm_sources::SourceError),
    /// The source data cannot be mapped.
    #[error("{0}")]
    Mapping(#[from] crate::mapping::MappingError),
    /// The mapped snapshot breaks the directory's rules.
    #[error("the source data cannot be applied:\n  - {}", .0.join("\n  - "))]
    InvalidSnapshot(Vec<String>),
    /// The hub failed or refused.
    #[error("{0}")]
    Hub(#[from] HubError),
    /// The snapshot could not be put in the outbox, was not delivered, or was dead-lettered.
    #[error("{0}")]
    Delivery(#[from] crate::delivery::DeliveryError),
}

impl ImporterError {
    /// True when a later run may succeed without anyone changing anything.
    pub fn is_retriable(&self) -> bool {
        match self {
            ImporterError::Source(e) => e.is_retriable(),
            ImporterError::Hub(e) => e.is_retriable(),
            ImporterError::Delivery(e) => e.is_retriable(),
            _ => false,
        }
    }

    /// Bounded label for metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            ImporterError::NotConfigured(_) => "config",
            ImporterError::Source(e) => e.error_type(),
            ImporterError::Mapping(_) | ImporterError::InvalidSnapshot(_) => "invalid_data",
            ImporterError::Hub(e) => e.error_type(),
            ImporterError::Delivery(e) => e.error_type(),
        }
    }
}

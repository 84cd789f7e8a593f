//! The one error type of every source client, with retry classification and a bounded label.

use crate::axl::AxlFault;
use crate::uccx::ApiError;

/// Why a call to an upstream API failed. Messages never contain passwords or auth headers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// HTTP 401/403: bad credentials or missing rights; the message names host, user and the fix.
    #[error("{message}")]
    Unauthorized {
        /// Host, user and what to check.
        message: String,
    },
    /// HTTP 404 for a URL.
    #[error("not found (HTTP 404): {url}")]
    NotFound {
        /// The URL that was requested.
        url: String,
    },
    /// The request timed out (retriable).
    #[error("request to {url} timed out: {detail}")]
    Timeout {
        /// The URL.
        url: String,
        /// What the HTTP client said.
        detail: String,
    },
    /// Connection refused, reset or dropped (retriable).
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The URL.
        url: String,
        /// What the HTTP client said.
        detail: String,
    },
    /// HTTP 5xx without a more specific body (retriable).
    #[error("server error HTTP {status} from {url}")]
    Http5xx {
        /// The status code.
        status: u16,
        /// The URL.
        url: String,
    },
    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP {status} from {url}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The URL.
        url: String,
    },
    /// The body could not be decoded; the message names the endpoint and where it broke.
    #[error("malformed response from {what}: {detail}")]
    Malformed {
        /// The endpoint or document being decoded.
        what: String,
        /// What is wrong, with a byte offset or record position where known.
        detail: String,
    },
    /// The API answered with `apiErrors` (UCCX/UCCE).
    #[error("{what} answered HTTP {status} with API errors: {}", format_api_errors(.errors))]
    Api {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: u16,
        /// Every reported error.
        errors: Vec<ApiError>,
    },
    /// A SOAP fault (AXL) that is not a throttle.
    #[error("{what} answered with a SOAP fault: {fault}")]
    SoapFault {
        /// The endpoint.
        what: String,
        /// The decoded fault.
        fault: AxlFault,
    },
    /// The upstream throttled us and kept doing so after every retry.
    #[error("{what} is throttling requests: {message}")]
    Throttled {
        /// The endpoint.
        what: String,
        /// The server's message.
        message: String,
    },
    /// A body or document exceeded a size or structure limit.
    #[error("{what} is too large: {detail}")]
    TooLarge {
        /// The endpoint or document.
        what: String,
        /// Which limit was hit.
        detail: String,
    },
    /// The client configuration is unusable (e.g. plain HTTP not allowed, unreadable CA file).
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// TLS handshake or certificate verification failed.
    #[error("TLS error talking to {url}: {detail}")]
    Tls {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
}

fn format_api_errors(errors: &[ApiError]) -> String {
    let parts: Vec<String> = errors.iter().map(ApiError::to_string).collect();
    parts.join("; ")
}

impl SourceError {
    /// Whether trying the same request again later may succeed (5xx, timeouts, connection
    /// errors, throttling). Auth, not-found, malformed and config errors are permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            SourceError::Timeout { .. }
            | SourceError::Connect { .. }
            | SourceError::Http5xx { .. }
            | SourceError::Throttled { .. } => true,
            SourceError::Api { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// A bounded label for metrics (`wfm_source_errors_total{error_type=…}`).
    pub fn error_type(&self) -> &'static str {
        match self {
            SourceError::Unauthorized { .. } => "unauthorized",
            SourceError::NotFound { .. } => "not_found",
            SourceError::Timeout { .. } => "timeout",
            SourceError::Connect { .. } => "connect",
            SourceError::Http5xx { .. } => "http_5xx",
            SourceError::HttpStatus { .. } => "http_status",
            SourceError::Malformed { .. } => "malformed",
            SourceError::Api { .. } => "api_error",
            SourceError::SoapFault { .. } => "soap_fault",
            SourceError::Throttled { .. } => "throttled",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::Config { .. } => "config",
            SourceError::Tls { .. } => "tls",
        }
    }

    /// Shorthand for a [`SourceError::Malformed`].
    pub fn malformed(what: impl Into<String>, detail: impl Into<String>) -> Self {
        SourceError::Malformed {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_retriable_and_permanent_ones_are_not() {
        let t = SourceError::Timeout {
            url: "u".into(),
            detail: "d".into(),
        };
        assert!(t.is_retriable());
        assert_eq!(t.error_type(), "timeout");
        let h = SourceError::Http5xx {
            status: 503,
            url: "u".into(),
        };
        assert!(h.is_retriable());
        let u = SourceError::Unauthorized {
            message: "m".into(),
        };
        assert!(!u.is_retriable());
        assert!(!SourceError::malformed("x", "y").is_retriable());
        assert_eq!(SourceError::malformed("x", "y").error_type(), "malformed");
    }
}

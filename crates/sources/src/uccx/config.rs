//! Validated client settings derived from [`wfm_config::UccxConfig`].

use crate::error::SourceError;
use crate::http::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;
use wfm_config::{Scheme, Secret, UccxConfig};

/// Path of the resource list, relative to the base URL; also the metrics endpoint label `resource`.
pub const RESOURCE_ENDPOINT: &str = "/adminapi/resource";
/// Path of the team list; metrics endpoint label `team`.
pub const TEAM_ENDPOINT: &str = "/adminapi/team";

/// Everything the UCCX client needs, checked once at construction.
#[derive(Debug, Clone)]
pub struct UccxSettings {
    /// Source id used as the metrics label.
    pub source_id: String,
    /// `scheme://host:port`, no trailing slash.
    pub base_url: String,
    /// Host, for error messages.
    pub host: String,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password (redacted in `Debug`).
    pub password: Secret,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries and back-off for 5xx, timeouts and connection errors.
    pub retry: RetryPolicy,
    /// Extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Largest accepted response body.
    pub max_body_bytes: usize,
}

impl UccxSettings {
    /// Validates the config: plain HTTP is refused unless `allow_insecure_http` (then a loud
    /// warning is logged); host and user must be set.
    pub fn from_config(cfg: &UccxConfig) -> Result<Self, SourceError> {
        if cfg.host.trim().is_empty() {
            return Err(SourceError::Config {
                message: "uccx.host is empty".to_string(),
            });
        }
        if cfg.scheme == Scheme::Http {
            if !cfg.allow_insecure_http {
                return Err(SourceError::Config {
                    message: format!(
                        "uccx.scheme = \"http\" would send the UCCX password in clear text to {}; use https, or set uccx.allow_insecure_http = true for a lab",
                        cfg.host
                    ),
                });
            }
            tracing::warn!(
                target: "wfm_sources",
                host = %cfg.host,
                "INSECURE: talking to UCCX over plain http (allow_insecure_http = true); credentials and data travel unencrypted"
            );
        }
        Ok(UccxSettings {
            source_id: cfg.source_id.as_str().to_string(),
            base_url: cfg.base_url(),
            host: cfg.host.clone(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            timeout: cfg.timeout,
            retry: RetryPolicy::new(cfg.retries),
            ca_file: cfg.ca_file.clone(),
            max_body_bytes: 64 * 1024 * 1024,
        })
    }
}

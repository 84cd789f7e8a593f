//! Validated client settings derived from [`wfm_config::CucmConfig`].

use crate::error::SourceError;
use crate::http::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;
use wfm_config::{CucmConfig, Scheme, Secret};

/// The `source` label of AXL metrics (CUCM has no configurable source id).
pub const AXL_SOURCE_LABEL: &str = "cucm";

/// Everything the AXL client needs, checked once at construction.
#[derive(Debug, Clone)]
pub struct AxlSettings {
    /// The endpoint, with its trailing slash.
    pub url: String,
    /// Host, for error messages.
    pub host: String,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password (redacted in `Debug`).
    pub password: Secret,
    /// AXL schema version (namespace and `SOAPAction`).
    pub version: String,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries and back-off for throttling, 5xx, timeouts (first delay ~250 ms).
    pub retry: RetryPolicy,
    /// User ids per IN list (at least 1).
    pub batch_size: usize,
    /// Extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Largest accepted response body (AXL itself caps results at 8 MB).
    pub max_body_bytes: usize,
}

impl AxlSettings {
    /// Validates the config: plain HTTP refused unless `allow_insecure_http` (then warned
    /// loudly); the version must look like `12.5`.
    pub fn from_config(cfg: &CucmConfig) -> Result<Self, SourceError> {
        if cfg.host.trim().is_empty() {
            return Err(SourceError::Config {
                message: "cucm.host is empty".to_string(),
            });
        }
        let version_ok = !cfg.version.is_empty()
            && cfg.version.len() <= 16
            && cfg.version.chars().all(|c| c.is_ascii_digit() || c == '.');
        if !version_ok {
            return Err(SourceError::Config {
                message: format!(
                    "cucm.version {:?} is not an AXL schema version like \"12.5\"",
                    cfg.version
                ),
            });
        }
        if cfg.scheme == Scheme::Http {
            if !cfg.allow_insecure_http {
                return Err(SourceError::Config {
                    message: format!(
                        "cucm.scheme = \"http\" would send the AXL password in clear text to {}; use https, or set cucm.allow_insecure_http = true for a lab",
                        cfg.host
                    ),
                });
            }
            tracing::warn!(
                target: "wfm_sources",
                host = %cfg.host,
                "INSECURE: talking to CUCM AXL over plain http (allow_insecure_http = true); credentials and data travel unencrypted"
            );
        }
        Ok(AxlSettings {
            url: cfg.axl_url(),
            host: cfg.host.clone(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            version: cfg.version.clone(),
            timeout: cfg.timeout,
            retry: RetryPolicy::new(cfg.retries),
            batch_size: cfg.batch_size.max(1),
            ca_file: cfg.ca_file.clone(),
            max_body_bytes: 32 * 1024 * 1024,
        })
    }
}

//! Validated client settings derived from [`wfm_config::UcceConfig`].

use crate::error::SourceError;
use crate::http::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;
use wfm_config::{Scheme, Secret, UcceConfig};

/// Path of the agent list, relative to the base URL; metrics endpoint label `agent`.
pub const AGENT_ENDPOINT: &str = "/unifiedconfig/config/agent";
/// Path of the agent-team list; metrics endpoint label `agentteam`.
pub const AGENT_TEAM_ENDPOINT: &str = "/unifiedconfig/config/agentteam";
/// Path of the skill-group list; metrics endpoint label `skillgroup`.
pub const SKILL_GROUP_ENDPOINT: &str = "/unifiedconfig/config/skillgroup";

/// The largest `resultsPerPage` the ConfigAPI accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Everything the UCCE client needs, checked once at construction.
#[derive(Debug, Clone)]
pub struct UcceSettings {
    /// Source id used as the metrics label and in error messages.
    pub source_id: String,
    /// `scheme://host:port`, no trailing slash.
    pub base_url: String,
    /// Host, for error messages.
    pub host: String,
    /// Basic-auth user (`user@domain`).
    pub username: String,
    /// Basic-auth password (redacted in `Debug`).
    pub password: Secret,
    /// `resultsPerPage` asked for, 1–100.
    pub page_size: u32,
    /// Most requests in flight at once for this client, 1–16.
    pub concurrency: usize,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries and back-off for 5xx, 429, timeouts and connection errors.
    pub retry: RetryPolicy,
    /// Extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Largest accepted response body (one page).
    pub max_body_bytes: usize,
    /// Most pages one listing may take before it is refused as runaway.
    pub max_pages: usize,
}

impl UcceSettings {
    /// Validates the config: plain HTTP is refused unless `allow_insecure_http` (then a loud
    /// warning is logged); host and user must be set; page size 1–100; concurrency 1–16.
    pub fn from_config(cfg: &UcceConfig) -> Result<Self, SourceError> {
        if cfg.host.trim().is_empty() {
            return Err(SourceError::Config {
                message: format!("ucce.host of source '{}' is empty", cfg.source_id.as_str()),
            });
        }
        if cfg.username.trim().is_empty() {
            return Err(SourceError::Config {
                message: format!(
                    "ucce.username of source '{}' is empty (expected user@domain)",
                    cfg.source_id.as_str()
                ),
            });
        }
        if !(1..=MAX_PAGE_SIZE).contains(&cfg.page_size) {
            return Err(SourceError::Config {
                message: format!(
                    "ucce.page_size = {} is outside 1–{MAX_PAGE_SIZE}",
                    cfg.page_size
                ),
            });
        }
        if !(1..=16).contains(&cfg.concurrency) {
            return Err(SourceError::Config {
                message: format!("ucce.concurrency = {} is outside 1–16", cfg.concurrency),
            });
        }
        if cfg.scheme == Scheme::Http {
            if !cfg.allow_insecure_http {
                return Err(SourceError::Config {
                    message: format!(
                        "ucce.scheme = \"http\" would send the UCCE password in clear text to {}; use https, or set ucce.allow_insecure_http = true for a lab",
                        cfg.host
                    ),
                });
            }
            tracing::warn!(
                target: "wfm_sources",
                host = %cfg.host,
                "INSECURE: talking to UCCE over plain http (allow_insecure_http = true); credentials and data travel unencrypted"
            );
        }
        Ok(UcceSettings {
            source_id: cfg.source_id.as_str().to_string(),
            base_url: cfg.base_url(),
            host: cfg.host.clone(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            page_size: cfg.page_size,
            concurrency: cfg.concurrency,
            timeout: cfg.timeout,
            retry: RetryPolicy::new(cfg.retries),
            ca_file: cfg.ca_file.clone(),
            max_body_bytes: 16 * 1024 * 1024,
            max_pages: 10_000,
        })
    }
}

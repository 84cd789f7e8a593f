//! The Finesse REST client: GET with Basic auth, status mapping, retries and metrics.

use super::decode::{decode_api_errors, decode_reason_codes, ReasonCode};
use crate::error::SourceError;
use crate::http::{
    build_client, classify_transport, read_body_limited, with_retries, HttpOptions, RetryPolicy,
};
use crate::HealthReport;
use reqwest::header::ACCEPT;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wfm_config::Secret;
use wfm_telemetry::{Metrics, RequestOutcome};

/// Path of the reason code list, relative to the base URL.
pub const REASON_CODES_ENDPOINT: &str = "/finesse/api/ReasonCodes";
/// Metrics `source` label of this client.
const SOURCE_LABEL: &str = "finesse";
/// Largest accepted response body (reason code lists are small).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Connection settings of one Finesse server. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct FinesseSettings {
    /// `https://host:8445` (no path; a trailing slash is ignored).
    pub base_url: String,
    /// Basic-auth user (an administrator for `ReasonCodes`).
    pub username: String,
    /// Basic-auth password (redacted in `Debug`/`Display`).
    pub password: Secret,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries after the first attempt for 5xx, timeouts and connection errors.
    pub retries: u32,
    /// Extra CA certificate(s) (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Allow a plain `http://` base URL (labs only; a loud warning is logged).
    pub allow_insecure_http: bool,
}

/// Which reason codes to list (`?category=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryFilter {
    /// `NOT_READY`.
    NotReady,
    /// `LOGOUT`.
    Logout,
    /// `ALL`.
    All,
}

impl CategoryFilter {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryFilter::NotReady => "NOT_READY",
            CategoryFilter::Logout => "LOGOUT",
            CategoryFilter::All => "ALL",
        }
    }
}

/// Client of one Finesse server. Sends one request at a time; cheap to share behind an `Arc`.
pub struct FinesseClient {
    base_url: String,
    host: String,
    username: String,
    password: Secret,
    retry: RetryPolicy,
    http: reqwest::Client,
    metrics: Metrics,
    gate: Mutex<()>,
}

impl FinesseClient {
    /// Validates the settings and builds the client: the base URL must be `https` (or `http`
    /// with `allow_insecure_http`, then a warning is logged), without credentials, query or
    /// path; the user must be set; an unreadable `ca_file` is a config error.
    pub fn new(settings: FinesseSettings, metrics: Metrics) -> Result<Self, SourceError> {
        let config = |message: String| SourceError::Config { message };
        let trimmed = settings.base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed).map_err(|e| {
            config(format!(
                "finesse base_url {trimmed:?} is not a URL ({e}); expected e.g. https://finesse.example.com:8445"
            ))
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| config(format!("finesse base_url {trimmed:?} has no host")))?
            .to_string();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config(
                "finesse base_url must not carry credentials; use the username and password settings"
                    .to_string(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
            return Err(config(format!(
                "finesse base_url {} must be scheme://host[:port] without a path or query",
                url.origin().ascii_serialization()
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if settings.allow_insecure_http => {
                tracing::warn!(
                    target: "wfm_sources",
                    host = %host,
                    "INSECURE: talking to Finesse over plain http (allow_insecure_http = true); credentials and data travel unencrypted"
                );
            }
            "http" => {
                return Err(config(format!(
                    "finesse base_url uses http, which would send the Finesse password in clear text to {host}; use https, or set allow_insecure_http = true for a lab"
                )))
            }
            other => {
                return Err(config(format!(
                    "finesse base_url scheme {other:?} is not supported; use https"
                )))
            }
        }
        if settings.username.trim().is_empty() {
            return Err(config("finesse username is empty".to_string()));
        }
        let http = build_client(&HttpOptions {
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
            cookies: false,
        })?;
        Ok(FinesseClient {
            base_url: url.origin().ascii_serialization(),
            host,
            username: settings.username,
            password: settings.password,
            retry: RetryPolicy::new(settings.retries),
            http,
            metrics,
            gate: Mutex::new(()),
        })
    }

    /// Changes the retry back-off (first delay and cap); tests and the demo use short ones.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.retry.base = base;
        self.retry.max = max;
        self
    }

    /// The normalised base URL (`scheme://host:port`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET {base}/finesse/api/ReasonCodes?category=…`.
    pub async fn reason_codes(
        &self,
        category: CategoryFilter,
    ) -> Result<Vec<ReasonCode>, SourceError> {
        let url = format!(
            "{}{REASON_CODES_ENDPOINT}?category={}",
            self.base_url,
            category.as_str()
        );
        let what = format!(
            "Finesse {REASON_CODES_ENDPOINT}?category={}",
            category.as_str()
        );
        with_retries(&self.retry, &what, |_| async {
            let result = self.attempt(&url).await;
            match &result {
                Ok(_) => {
                    self.metrics
                        .source_request(SOURCE_LABEL, "reason_codes", RequestOutcome::Ok)
                }
                Err(e) => {
                    self.metrics.source_request(
                        SOURCE_LABEL,
                        "reason_codes",
                        RequestOutcome::Error,
                    );
                    self.metrics.source_error(SOURCE_LABEL, e.error_type());
                }
            }
            result
        })
        .await
    }

    /// Not Ready and Logout codes (two requests), merged by id: the first occurrence wins and
    /// the order is Not Ready then Logout as the server listed them.
    pub async fn all_reason_codes(&self) -> Result<Vec<ReasonCode>, SourceError> {
        let mut all = self.reason_codes(CategoryFilter::NotReady).await?;
        let logout = self.reason_codes(CategoryFilter::Logout).await?;
        all.extend(logout);
        let mut seen = HashSet::new();
        all.retain(|rc| seen.insert(rc.id.clone()));
        Ok(all)
    }

    /// Read-only check of connectivity and credentials: lists the Not Ready reason codes.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let codes = self.reason_codes(CategoryFilter::NotReady).await?;
        let latency = started.elapsed();
        Ok(HealthReport {
            endpoint: format!(
                "{}{REASON_CODES_ENDPOINT}?category={}",
                self.base_url,
                CategoryFilter::NotReady.as_str()
            ),
            latency,
            items: codes.len(),
            detail: format!(
                "Finesse {} answered as {}: {} Not Ready reason codes in {} ms",
                self.host,
                self.username,
                codes.len(),
                latency.as_millis()
            ),
        })
    }

    async fn attempt(&self, url: &str) -> Result<Vec<ReasonCode>, SourceError> {
        let _one_at_a_time = self.gate.lock().await;
        let resp = self
            .http
            .get(url)
            .basic_auth(&self.username, Some(self.password.expose()))
            .header(ACCEPT, "application/xml")
            .send()
            .await
            .map_err(|e| classify_transport(url, &e))?;
        let status = resp.status().as_u16();
        match status {
            401 | 403 => {
                return Err(SourceError::Unauthorized {
                    message: format!(
                        "Finesse {} refused user {:?} (HTTP {status}): check the Finesse username/password settings (FinesseSettings.username, FinesseSettings.password); ReasonCodes needs an administrator account",
                        self.host, self.username
                    ),
                })
            }
            404 => {
                return Err(SourceError::NotFound {
                    url: url.to_string(),
                })
            }
            _ => {}
        }
        let body = read_body_limited(resp, url, MAX_BODY_BYTES).await?;
        let api_error = |errors| SourceError::Api {
            what: url.to_string(),
            status,
            errors,
        };
        if (200..300).contains(&status) {
            return decode_reason_codes(&body).map_err(|e| {
                match decode_api_errors(&body).filter(|errs| !errs.is_empty()) {
                    Some(errors) => api_error(errors),
                    None => e,
                }
            });
        }
        if let Some(errors) = decode_api_errors(&body).filter(|e| !e.is_empty()) {
            return Err(api_error(errors));
        }
        if status >= 500 {
            return Err(SourceError::Http5xx {
                status,
                url: url.to_string(),
            });
        }
        Err(SourceError::HttpStatus {
            status,
            url: url.to_string(),
        })
    }
}

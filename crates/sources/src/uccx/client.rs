//! The UCCX Admin REST client: GET with Basic auth, content negotiation, status mapping,
//! retries and metrics.

use super::config::{UccxSettings, RESOURCE_ENDPOINT, TEAM_ENDPOINT};
use super::decode::{
    decode_api_errors, decode_resources_json, decode_resources_xml, decode_teams_json,
    decode_teams_xml, UccxResource, UccxTeam,
};
use crate::error::SourceError;
use crate::http::{build_client, classify_transport, read_body_limited, with_retries, HttpOptions};
use crate::HealthReport;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wfm_telemetry::{Metrics, RequestOutcome};

/// Client of one UCCX publisher. Sends one request at a time (UCCX publishes no rate limit, so
/// be polite); cheap to share behind an `Arc`.
pub struct UccxClient {
    settings: UccxSettings,
    http: reqwest::Client,
    metrics: Metrics,
    gate: Mutex<()>,
}

type Decoder<T> = fn(&[u8]) -> Result<Vec<T>, SourceError>;

impl UccxClient {
    /// Builds the client. Refuses `http` unless `allow_insecure_http` (and warns loudly when
    /// allowed); fails on an unreadable `ca_file`.
    pub fn new(cfg: &wfm_config::UccxConfig, metrics: Metrics) -> Result<Self, SourceError> {
        let settings = UccxSettings::from_config(cfg)?;
        Self::from_settings(settings, metrics)
    }

    /// Builds the client from already validated settings (e.g. with a custom back-off).
    pub fn from_settings(settings: UccxSettings, metrics: Metrics) -> Result<Self, SourceError> {
        let http = build_client(&HttpOptions {
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
            cookies: false,
        })?;
        Ok(UccxClient {
            settings,
            http,
            metrics,
            gate: Mutex::new(()),
        })
    }

    /// Changes the retry back-off (first delay and cap); tests and the demo use short ones.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.retry.base = base;
        self.settings.retry.max = max;
        self
    }

    /// `GET {base}/adminapi/resource`: every resource the account can see.
    pub async fn resources(&self) -> Result<Vec<UccxResource>, SourceError> {
        self.fetch(
            RESOURCE_ENDPOINT,
            "resource",
            decode_resources_xml,
            decode_resources_json,
        )
        .await
    }

    /// `GET {base}/adminapi/team`: every team the account can see.
    pub async fn teams(&self) -> Result<Vec<UccxTeam>, SourceError> {
        self.fetch(TEAM_ENDPOINT, "team", decode_teams_xml, decode_teams_json)
            .await
    }

    /// Read-only check of connectivity and credentials: lists teams, reports count and latency.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let teams = self.teams().await?;
        let latency = started.elapsed();
        Ok(HealthReport {
            endpoint: format!("{}{}", self.settings.base_url, TEAM_ENDPOINT),
            latency,
            items: teams.len(),
            detail: format!(
                "UCCX {} answered as {}: {} teams in {} ms",
                self.settings.host,
                self.settings.username,
                teams.len(),
                latency.as_millis()
            ),
        })
    }

    async fn fetch<T>(
        &self,
        path: &str,
        label: &'static str,
        xml: Decoder<T>,
        json: Decoder<T>,
    ) -> Result<Vec<T>, SourceError> {
        let url = format!("{}{}", self.settings.base_url, path);
        let what = format!("UCCX {path}");
        with_retries(&self.settings.retry, &what, |_| async {
            let result = self.attempt(&url, xml, json).await;
            let source = self.settings.source_id.as_str();
            match &result {
                Ok(_) => self
                    .metrics
                    .source_request(source, label, RequestOutcome::Ok),
                Err(e) => {
                    self.metrics
                        .source_request(source, label, RequestOutcome::Error);
                    self.metrics.source_error(source, e.error_type());
                }
            }
            result
        })
        .await
    }

    async fn attempt<T>(
        &self,
        url: &str,
        xml: Decoder<T>,
        json: Decoder<T>,
    ) -> Result<Vec<T>, SourceError> {
        let _one_at_a_time = self.gate.lock().await;
        let resp = self
            .http
            .get(url)
            .basic_auth(
                &self.settings.username,
                Some(self.settings.password.expose()),
            )
            .header(ACCEPT, "application/xml")
            .send()
            .await
            .map_err(|e| classify_transport(url, &e))?;
        let status = resp.status().as_u16();
        let is_json = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        match status {
            401 | 403 => {
                return Err(SourceError::Unauthorized {
                    message: format!(
                        "UCCX {} refused user {:?} (HTTP {status}): check uccx.username/uccx.password; the account needs admin rights",
                        self.settings.host, self.settings.username
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
        let body = read_body_limited(resp, url, self.settings.max_body_bytes).await?;
        if (200..300).contains(&status) {
            return if is_json { json(&body) } else { xml(&body) };
        }
        if let Some(errors) = decode_api_errors(&body).filter(|e| !e.is_empty()) {
            return Err(SourceError::Api {
                what: url.to_string(),
                status,
                errors,
            });
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

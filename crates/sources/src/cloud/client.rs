//! JSON GET with bearer auth for the cloud platforms: one token refresh after a 401, retries
//! with back-off on 5xx/timeouts/connection errors, 429 honouring `Retry-After`, bounded bodies,
//! and decode errors that name the URL and the page.

use super::config::CloudSettings;
use super::token::TokenProvider;
use crate::error::SourceError;
use crate::http::{build_client, classify_transport, read_body_limited, HttpOptions};
use crate::uccx::ApiError;
use reqwest::header::{ACCEPT, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::time::Duration;
use wfm_config::Secret;
use wfm_telemetry::{Metrics, RequestOutcome};

/// Decodes a platform's error body into API errors (`None` when the body is not one).
pub type ErrorDecoder = fn(&[u8]) -> Option<Vec<ApiError>>;

/// One decoded answer and how many HTTP requests it took (retries included, token requests not).
#[derive(Debug)]
pub struct Fetched<T> {
    /// The decoded body.
    pub value: T,
    /// HTTP requests sent for it.
    pub requests: u32,
}

enum Failure {
    /// 401: the token was refused.
    Unauthorized,
    /// 403: the token is valid but lacks rights.
    Forbidden(Option<Vec<ApiError>>),
    /// 429, with the server's `Retry-After` if it sent one.
    Throttled(Option<Duration>, String),
    /// Anything else.
    Other(SourceError),
}

/// The HTTP side shared by the Webex, Zoom and Graph clients. Execution: requests are sent one
/// at a time by each caller (no internal parallelism); retry contract: see [`CloudHttp::get_json`].
pub struct CloudHttp {
    settings: CloudSettings,
    http: reqwest::Client,
    tokens: TokenProvider,
    metrics: Metrics,
}

impl CloudHttp {
    /// Builds the HTTP client (TLS 1.2+, no redirects) and the token provider.
    pub fn new(settings: CloudSettings, metrics: Metrics) -> Result<Self, SourceError> {
        let http = build_client(&HttpOptions {
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
            cookies: false,
        })?;
        let tokens = TokenProvider::new(&settings, http.clone(), metrics.clone());
        Ok(CloudHttp {
            settings,
            http,
            tokens,
            metrics,
        })
    }

    /// Replaces the token provider (tests inject a clock this way).
    pub fn with_tokens(mut self, tokens: TokenProvider) -> Self {
        self.tokens = tokens;
        self
    }

    /// The validated settings.
    pub fn settings(&self) -> &CloudSettings {
        &self.settings
    }

    /// Mutable settings (back-off and limits; tests use short ones).
    pub fn settings_mut(&mut self) -> &mut CloudSettings {
        &mut self.settings
    }

    /// The token provider.
    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// The reqwest client (to build a token provider with another clock).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.base_url, path)
    }

    /// Turns a next link into a URL: absolute links are used verbatim but must stay on the
    /// base URL's origin (the bearer token must never go elsewhere); relative links
    /// (`/organization/…`) are resolved against the base URL.
    pub fn resolve_link(&self, link: &str, what: &str) -> Result<String, SourceError> {
        let link = link.trim();
        let lower = link.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            let origin = self.settings.origin();
            let same = link.len() >= origin.len()
                && link[..origin.len()].eq_ignore_ascii_case(origin)
                && matches!(link.as_bytes().get(origin.len()), None | Some(b'/' | b'?'));
            if !same {
                return Err(SourceError::malformed(
                    what,
                    format!("next link {link:?} leaves {origin}; refusing to send the token there"),
                ));
            }
            return Ok(link.to_string());
        }
        if !link.starts_with('/') {
            return Err(SourceError::malformed(
                what,
                format!("next link {link:?} is neither absolute nor rooted"),
            ));
        }
        let base = &self.settings.base_url;
        let origin = self.settings.origin();
        let prefix = &base[origin.len()..];
        if !prefix.is_empty() && link.starts_with(prefix) {
            return Ok(format!("{origin}{link}"));
        }
        Ok(format!("{base}{link}"))
    }

    /// `GET url` with the bearer token and decodes the JSON body as `T`.
    ///
    /// Retry contract: 5xx, timeouts and connection errors are retried with exponential
    /// back-off up to `retries` times; 429 is retried after `Retry-After` seconds (capped at
    /// `max_retry_after`, back-off when absent) and uses up a retry too; a 401 makes the OAuth
    /// provider fetch a new token and the request is repeated once (not counted), then it fails
    /// with [`SourceError::Unauthorized`] naming the config keys. Malformed JSON is never retried.
    /// `endpoint` is the metrics label; `page` names the page in errors (e.g. `page 3`).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        endpoint: &'static str,
        page: &str,
        decode_error: ErrorDecoder,
    ) -> Result<Fetched<T>, SourceError> {
        let key = self.settings.platform.key();
        let what = format!("{key} {endpoint} {page} ({url})");
        let policy = self.settings.retry;
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut requests = 0u32;
        loop {
            let result = match self.tokens.token().await {
                Ok(token) => {
                    requests += 1;
                    let r = self.attempt(url, &token, decode_error).await;
                    self.count(endpoint, &r);
                    r.map_err(|f| (f, Some(token)))
                }
                Err(e) => Err((Failure::Other(e), None)),
            };
            let failure = match result {
                Ok(body) => {
                    if crate::xml::looks_like_html(&body) {
                        return Err(SourceError::malformed(
                            &what,
                            "expected JSON but the server sent an HTML page (a login, proxy or error page?)",
                        ));
                    }
                    let value = serde_json::from_slice::<T>(&body)
                        .map_err(|e| SourceError::malformed(&what, format!("invalid JSON: {e}")))?;
                    return Ok(Fetched { value, requests });
                }
                Err(f) => f,
            };
            let (delay, error) = match failure {
                (Failure::Unauthorized, token) => {
                    if self.tokens.can_refresh() && !refreshed {
                        refreshed = true;
                        if let Some(t) = token {
                            self.tokens.invalidate(&t).await;
                        }
                        tracing::info!(target: "wfm_sources", source = %self.settings.source_id, endpoint, "token refused (HTTP 401); fetching a new one");
                        continue;
                    }
                    return Err(self.unauthorized(url, refreshed));
                }
                (Failure::Forbidden(errors), _) => {
                    let detail = errors
                        .map(|e| {
                            let parts: Vec<String> = e.iter().map(ApiError::to_string).collect();
                            format!(" ({})", parts.join("; "))
                        })
                        .unwrap_or_default();
                    return Err(SourceError::Unauthorized {
                        message: format!(
                            "{} denied access to {url} for source '{}' (HTTP 403){detail}: the token is valid but lacks rights; check the app's permissions and {}",
                            self.settings.platform.display(),
                            self.settings.source_id,
                            self.tokens.credential_keys()
                        ),
                    });
                }
                (Failure::Throttled(after, message), _) => {
                    let error = SourceError::Throttled {
                        what: what.clone(),
                        message,
                    };
                    let delay = after.map(|d| d.min(self.settings.max_retry_after));
                    (delay, error)
                }
                (Failure::Other(e), _) => {
                    let retriable = e.is_retriable()
                        || matches!(&e, SourceError::Api { status, .. } if *status >= 500);
                    if !retriable {
                        return Err(e);
                    }
                    (None, e)
                }
            };
            if attempt >= policy.retries {
                return Err(error);
            }
            attempt += 1;
            let delay = delay.unwrap_or_else(|| policy.delay(attempt));
            tracing::warn!(
                target: "wfm_sources",
                what = %what,
                attempt,
                retries = policy.retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "upstream request failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn unauthorized(&self, url: &str, refreshed: bool) -> SourceError {
        let how = if refreshed {
            "even with a freshly fetched token"
        } else {
            "the configured static token"
        };
        SourceError::Unauthorized {
            message: format!(
                "{} refused the access token of source '{}' at {url} (HTTP 401, {how}): check {}",
                self.settings.platform.display(),
                self.settings.source_id,
                self.tokens.credential_keys()
            ),
        }
    }

    fn count(&self, endpoint: &str, result: &Result<Vec<u8>, Failure>) {
        let source = self.settings.source_id.as_str();
        match result {
            Ok(_) => self
                .metrics
                .source_request(source, endpoint, RequestOutcome::Ok),
            Err(f) => {
                self.metrics
                    .source_request(source, endpoint, RequestOutcome::Error);
                let label = match f {
                    Failure::Unauthorized | Failure::Forbidden(_) => "unauthorized",
                    Failure::Throttled(..) => "throttled",
                    Failure::Other(e) => e.error_type(),
                };
                self.metrics.source_error(source, label);
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        token: &Secret,
        decode_error: ErrorDecoder,
    ) -> Result<Vec<u8>, Failure> {
        let resp = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Failure::Other(classify_transport(url, &e)))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_body_limited(resp, url, self.settings.max_body_bytes)
            .await
            .map_err(Failure::Other)?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let errors = decode_error(&body).filter(|e| !e.is_empty());
        match status {
            401 => return Err(Failure::Unauthorized),
            403 => return Err(Failure::Forbidden(errors)),
            429 => {
                let message = errors
                    .map(|e| {
                        let parts: Vec<String> = e.iter().map(ApiError::to_string).collect();
                        parts.join("; ")
                    })
                    .unwrap_or_else(|| "HTTP 429 Too Many Requests".to_string());
                return Err(Failure::Throttled(retry_after, message));
            }
            _ => {}
        }
        if let Some(errors) = errors {
            return Err(Failure::Other(SourceError::Api {
                what: url.to_string(),
                status,
                errors,
            }));
        }
        let error = match status {
            404 => SourceError::NotFound {
                url: url.to_string(),
            },
            500..=599 => SourceError::Http5xx {
                status,
                url: url.to_string(),
            },
            _ => SourceError::HttpStatus {
                status,
                url: url.to_string(),
            },
        };
        Err(Failure::Other(error))
    }
}

/// Percent-encodes one URL path segment (ids from the API are placed in paths).
pub fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Appends `name=value` to a URL's query, percent-encoding the value.
pub fn with_query(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut out = format!("{url}{sep}{name}=");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

//! Bearer tokens: a static token, or OAuth 2.0 client credentials fetched, cached and refreshed
//! shortly before they expire (and once more after a 401).

use super::config::{ClientAuth, CloudSettings, Credentials, Platform};
use crate::error::SourceError;
use crate::http::{classify_transport, read_body_limited};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wfm_config::{OAuthConfig, Secret};
use wfm_telemetry::{Metrics, RequestOutcome};

/// A source of "now", injectable so that expiry can be tested without sleeping.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// How long before `expires_in` runs out a token is refreshed (at most half its lifetime).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint does not say (`expires_in` missing).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// Hands out bearer tokens. Execution: one token request at a time (callers wait on a lock);
/// errors: [`SourceError::Unauthorized`] for refused client credentials (naming the config keys,
/// never the secret), transport/5xx errors as usual; no retries inside (the caller retries).
pub struct TokenProvider {
    platform: Platform,
    source_id: String,
    credentials: Credentials,
    client_auth: ClientAuth,
    http: reqwest::Client,
    metrics: Metrics,
    max_body_bytes: usize,
    clock: Clock,
    cached: Mutex<Option<Cached>>,
}

impl TokenProvider {
    /// A provider for the settings' credentials, sharing the client's HTTP connection pool.
    pub fn new(settings: &CloudSettings, http: reqwest::Client, metrics: Metrics) -> Self {
        TokenProvider {
            platform: settings.platform,
            source_id: settings.source_id.clone(),
            credentials: settings.credentials.clone(),
            client_auth: settings.client_auth,
            http,
            metrics,
            max_body_bytes: 1024 * 1024,
            clock: Arc::new(Instant::now),
            cached: Mutex::new(None),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Whether a refused token can be replaced by fetching a new one (OAuth) or not (static).
    pub fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::OAuth(_))
    }

    /// The config keys to check when the platform refuses our token.
    pub fn credential_keys(&self) -> String {
        let key = self.platform.key();
        match &self.credentials {
            Credentials::Static(_) => format!("{key}.token (expired or wrong?)"),
            Credentials::OAuth(_) => format!(
                "{key}.oauth.client_id, {key}.oauth.client_secret and {key}.oauth.scope (the app needs read access to users and groups)"
            ),
        }
    }

    /// The current token: the static one, the cached OAuth token while it is fresh, or a new one.
    pub async fn token(&self) -> Result<Secret, SourceError> {
        let oauth = match &self.credentials {
            Credentials::Static(t) => return Ok(t.clone()),
            Credentials::OAuth(o) => o,
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if (self.clock)() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch(oauth).await?;
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: (self.clock)() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Forgets `rejected` (after a 401) so that the next [`TokenProvider::token`] fetches a new
    /// one; a token that was already replaced by another caller is left alone.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == rejected) {
            *cached = None;
        }
    }

    async fn fetch(&self, oauth: &OAuthConfig) -> Result<(Secret, Duration), SourceError> {
        let result = self.request(oauth).await;
        let outcome = if result.is_ok() {
            RequestOutcome::Ok
        } else {
            RequestOutcome::Error
        };
        self.metrics
            .source_request(&self.source_id, "token", outcome);
        if let Err(e) = &result {
            self.metrics.source_error(&self.source_id, e.error_type());
        }
        result
    }

    async fn request(&self, oauth: &OAuthConfig) -> Result<(Secret, Duration), SourceError> {
        let url = oauth.token_url.as_str();
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if self.client_auth != ClientAuth::Basic {
            form.push(("client_id", &oauth.client_id));
            form.push(("client_secret", oauth.client_secret.expose()));
        }
        if let Some(scope) = oauth.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            form.push(("scope", scope));
        }
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        if self.client_auth != ClientAuth::Form {
            req = req.basic_auth(&oauth.client_id, Some(oauth.client_secret.expose()));
        }
        let resp = req.send().await.map_err(|e| classify_transport(url, &e))?;
        let status = resp.status().as_u16();
        let body = read_body_limited(resp, url, self.max_body_bytes).await?;
        let key = self.platform.key();
        if (200..300).contains(&status) {
            let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                SourceError::malformed(format!("{key} token endpoint {url}"), e.to_string())
            })?;
            let token = parsed
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    SourceError::malformed(
                        format!("{key} token endpoint {url}"),
                        "the answer has no access_token",
                    )
                })?;
            if let Some(tt) = parsed.token_type.as_deref() {
                if !tt.eq_ignore_ascii_case("bearer") {
                    tracing::warn!(target: "wfm_sources", token_type = tt, "token endpoint returned a non-bearer token type; using it as a bearer token");
                }
            }
            let lifetime = parse_expires_in(parsed.expires_in.as_ref()).unwrap_or(DEFAULT_LIFETIME);
            tracing::debug!(target: "wfm_sources", source = %self.source_id, lifetime_s = lifetime.as_secs(), "fetched an access token");
            return Ok((Secret::new(token), lifetime));
        }
        if status >= 500 {
            return Err(SourceError::Http5xx {
                status,
                url: url.to_string(),
            });
        }
        if status == 429 {
            return Err(SourceError::Throttled {
                what: format!("{key} token endpoint {url}"),
                message: "HTTP 429".to_string(),
            });
        }
        let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
        let mut reason = err.error.unwrap_or_else(|| format!("HTTP {status}"));
        if let Some(d) = err.error_description {
            reason = format!("{reason}: {}", truncate(&d, 200));
        }
        Err(SourceError::Unauthorized {
            message: format!(
                "{} token endpoint {url} refused client '{}' for source '{}' (HTTP {status}, {}): check {}",
                self.platform.display(),
                oauth.client_id,
                self.source_id,
                redact(&reason, oauth.client_secret.expose()),
                self.credential_keys()
            ),
        })
    }
}

/// `expires_in` as a number or a numeric string (some servers quote it).
fn parse_expires_in(v: Option<&serde_json::Value>) -> Option<Duration> {
    let secs = match v? {
        serde_json::Value::Number(n) => n.as_u64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// Removes a secret from server-provided text, in case the server echoes it.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_string();
    }
    text.replace(secret, "***")
}

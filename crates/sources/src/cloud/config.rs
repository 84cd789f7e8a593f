//! Validated settings of one cloud source, derived from [`wfm_config::CloudConfig`].

use crate::error::SourceError;
use crate::http::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;
use wfm_config::{CloudConfig, OAuthConfig, Secret};

/// Which cloud platform a client talks to; also the config table name used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Webex Contact Center (`[[webex]]`).
    Webex,
    /// Zoom (`[[zoom]]`).
    Zoom,
    /// Microsoft Graph (`[[graph]]`).
    Graph,
}

impl Platform {
    /// The config table name: `webex`, `zoom` or `graph`.
    pub fn key(self) -> &'static str {
        match self {
            Platform::Webex => "webex",
            Platform::Zoom => "zoom",
            Platform::Graph => "graph",
        }
    }

    /// A human name for messages.
    pub fn display(self) -> &'static str {
        match self {
            Platform::Webex => "Webex Contact Center",
            Platform::Zoom => "Zoom",
            Platform::Graph => "Microsoft Graph",
        }
    }

    /// The largest page size the platform accepts (also the default).
    pub fn max_page_size(self) -> u32 {
        match self {
            Platform::Webex => 1000,
            Platform::Zoom => 300,
            Platform::Graph => 999,
        }
    }
}

/// How the OAuth client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Form,
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    Basic,
    /// Both (for servers that insist on Basic but read the form too).
    Both,
}

/// Where the bearer token comes from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A static token (refused tokens cannot be refreshed).
    Static(Secret),
    /// OAuth 2.0 client credentials.
    OAuth(OAuthConfig),
}

/// Everything a cloud client needs, checked once at construction.
#[derive(Debug, Clone)]
pub struct CloudSettings {
    /// The platform (config table name in messages).
    pub platform: Platform,
    /// Source id, the metrics label.
    pub source_id: String,
    /// API base URL without a trailing slash.
    pub base_url: String,
    /// Bearer credentials.
    pub credentials: Credentials,
    /// How the OAuth client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// Page size asked for.
    pub page_size: u32,
    /// Only these groups (by name); empty = all.
    pub imported_groups: Vec<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries and back-off for 5xx, 429 without `Retry-After`, timeouts and connection errors.
    pub retry: RetryPolicy,
    /// Largest `Retry-After` honoured; longer waits are cut to this.
    pub max_retry_after: Duration,
    /// Extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Largest accepted response body (one page).
    pub max_body_bytes: usize,
    /// Consecutive empty pages that still link to a next page before paging gives up.
    pub max_empty_pages: u32,
    /// Hard cap on pages per listing (a runaway-paging guard).
    pub max_pages: u32,
}

fn check_url(url: &str, key: &str, allow_http: bool) -> Result<(), SourceError> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if lower.starts_with("http://") {
        if allow_http {
            tracing::warn!(
                target: "wfm_sources",
                url,
                "INSECURE: plain http allowed by allow_insecure_http; tokens and data travel unencrypted"
            );
            return Ok(());
        }
        return Err(SourceError::Config {
            message: format!(
                "{key} = {url:?} would send bearer tokens in clear text; use https, or set allow_insecure_http = true for a lab"
            ),
        });
    }
    Err(SourceError::Config {
        message: format!("{key} = {url:?} is not an http(s) URL"),
    })
}

impl CloudSettings {
    /// Validates the config for `platform`: https only unless `allow_insecure_http`, exactly
    /// one of `token` / `[oauth]`, a page size within the platform's limit.
    pub fn from_config(platform: Platform, cfg: &CloudConfig) -> Result<Self, SourceError> {
        let key = platform.key();
        let base_url = cfg.base_url.trim().trim_end_matches('/').to_string();
        check_url(
            &base_url,
            &format!("{key}.base_url"),
            cfg.allow_insecure_http,
        )?;
        let credentials = match (&cfg.token, &cfg.oauth) {
            (Some(t), None) if !t.is_empty() => Credentials::Static(t.clone()),
            (None, Some(o)) => {
                check_url(
                    &o.token_url,
                    &format!("{key}.oauth.token_url"),
                    cfg.allow_insecure_http,
                )?;
                Credentials::OAuth(o.clone())
            }
            _ => {
                return Err(SourceError::Config {
                    message: format!(
                        "{key} source '{}': set exactly one of {key}.token or [{key}.oauth]",
                        cfg.source_id.as_str()
                    ),
                })
            }
        };
        let max = platform.max_page_size();
        let page_size = cfg.page_size.unwrap_or(max);
        if page_size == 0 || page_size > max {
            return Err(SourceError::Config {
                message: format!("{key}.page_size must be 1–{max}"),
            });
        }
        Ok(CloudSettings {
            platform,
            source_id: cfg.source_id.as_str().to_string(),
            base_url,
            credentials,
            client_auth: ClientAuth::Form,
            page_size,
            imported_groups: cfg.imported_groups.clone(),
            timeout: cfg.timeout,
            retry: RetryPolicy::new(cfg.retries),
            max_retry_after: Duration::from_secs(60),
            ca_file: cfg.ca_file.clone(),
            max_body_bytes: 32 * 1024 * 1024,
            max_empty_pages: 3,
            max_pages: 100_000,
        })
    }

    /// `scheme://host[:port]` of the base URL.
    pub fn origin(&self) -> &str {
        origin_of(&self.base_url)
    }

    /// Whether a group name passes `imported_groups`.
    pub fn wants_group(&self, name: &str) -> bool {
        self.imported_groups.is_empty() || self.imported_groups.iter().any(|g| g == name)
    }
}

/// `scheme://host[:port]` of an absolute URL (the whole string if it has no path).
pub(crate) fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

//! Identity sources beyond UCCX: UCCE/PCCE ConfigAPI and the cloud platforms (Webex Contact
//! Center, Zoom, Microsoft Graph). Each table may appear several times (`[[ucce]]`, …), each with
//! its own stable `source_id`.

use crate::importer::{check_credentials, check_upstream, check_url, Scheme};
use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use wfm_model::SourceId;

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    3
}
fn default_https_port() -> u16 {
    443
}
fn default_ucce_page() -> u32 {
    100
}
fn default_concurrency() -> usize {
    4
}

/// Cisco UCCE/PCCE ConfigAPI (`/unifiedconfig/config`): agents, agent teams, skill groups.
#[derive(Debug, Clone, Deserialize)]
pub struct UcceConfig {
    /// Source id: first half of every synced object's key (e.g. `ucce-dc1`). Keep it stable.
    pub source_id: SourceId,
    /// `https` (default) or `http` (needs `allow_insecure_http`).
    #[serde(default)]
    pub scheme: Scheme,
    /// AW/ADS host.
    pub host: String,
    /// Port. Default 443.
    #[serde(default = "default_https_port")]
    pub port: u16,
    /// User as `user@domain`.
    pub username: String,
    /// Password (or `password_file`, or `${ENV}`).
    pub password: Secret,
    /// `resultsPerPage` (1–100). Default 100.
    #[serde(default = "default_ucce_page")]
    pub page_size: u32,
    /// Pages fetched in parallel once the total is known. Default 4.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Only these agent teams (by name); empty = all.
    #[serde(default)]
    pub imported_groups: Vec<String>,
    /// Extra CA certificate (PEM) to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow `scheme = "http"`. For labs only.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Timeout of one request. Default `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a 5xx, 429, timeout or connection error. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl UcceConfig {
    /// `https://host:port`.
    pub fn base_url(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

/// OAuth 2.0 client-credentials settings (used instead of a static `token`).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthConfig {
    /// Token endpoint, e.g. `https://webexapis.com/v1/access_token`.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (or `client_secret_file`, or `${ENV}`).
    pub client_secret: Secret,
    /// Space-separated scopes, if the platform needs them (Webex CC: `cjp:config_read`).
    #[serde(default)]
    pub scope: Option<String>,
}

/// Settings shared by the cloud identity sources.
#[derive(Debug, Clone, Deserialize)]
pub struct CloudConfig {
    /// Source id: first half of every synced object's key. Keep it stable.
    pub source_id: SourceId,
    /// API base URL, e.g. `https://api.wxcc-us1.cisco.com`, `https://api.zoom.us`,
    /// `https://graph.microsoft.com`.
    pub base_url: String,
    /// A static bearer token (or `token_file`, or `${ENV}`); alternatively `[…oauth]`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// OAuth client credentials; the token is fetched and refreshed before it expires.
    #[serde(default)]
    pub oauth: Option<OAuthConfig>,
    /// Webex Contact Center organisation id (Webex only).
    #[serde(default)]
    pub org_id: Option<String>,
    /// Webex API flavour: `v1` (bare arrays) or `v2` (`meta`/`data` envelope). Default `v2`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Page size asked for (Webex ≤ 1000, Zoom ≤ 300, Graph `$top` ≤ 999). Default: the
    /// platform's maximum.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Only these teams/groups (by name); empty = all.
    #[serde(default)]
    pub imported_groups: Vec<String>,
    /// Extra CA certificate (PEM) to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow a plain `http://` base URL. For labs only.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Timeout of one request. Default `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a 5xx, 429 (honouring `Retry-After`), timeout or connection error. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl UcceConfig {
    pub(crate) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        check_upstream(
            issues,
            path,
            &self.host,
            self.scheme,
            self.allow_insecure_http,
        );
        check_credentials(issues, path, &self.username, &self.password);
        if !self.username.contains('@') {
            issues.push(issue(
                format!("{path}.username"),
                "the ConfigAPI expects user@domain",
            ));
        }
        if !(1..=100).contains(&self.page_size) {
            issues.push(issue(format!("{path}.page_size"), "must be 1–100"));
        }
        if !(1..=16).contains(&self.concurrency) {
            issues.push(issue(format!("{path}.concurrency"), "must be 1–16"));
        }
    }
}

impl CloudConfig {
    pub(crate) fn validate(&self, path: &str, max_page: u32, issues: &mut Vec<ConfigIssue>) {
        check_url(
            issues,
            &format!("{path}.base_url"),
            &self.base_url,
            self.allow_insecure_http,
        );
        match (&self.token, &self.oauth) {
            (Some(_), Some(_)) => issues.push(issue(
                format!("{path}.token"),
                "set either token or [oauth], not both",
            )),
            (None, None) => issues.push(issue(
                format!("{path}.token"),
                "no credentials: set token (or token_file) or an [oauth] table",
            )),
            (Some(t), None) if t.is_empty() => {
                issues.push(issue(format!("{path}.token"), "is empty"))
            }
            (None, Some(o)) => {
                check_url(
                    issues,
                    &format!("{path}.oauth.token_url"),
                    &o.token_url,
                    self.allow_insecure_http,
                );
                if o.client_id.trim().is_empty() {
                    issues.push(issue(format!("{path}.oauth.client_id"), "is empty"));
                }
                if o.client_secret.is_empty() {
                    issues.push(issue(format!("{path}.oauth.client_secret"), "is empty"));
                }
            }
            _ => {}
        }
        if let Some(p) = self.page_size {
            if p == 0 || p > max_page {
                issues.push(issue(
                    format!("{path}.page_size"),
                    format!("must be 1–{max_page}"),
                ));
            }
        }
    }
}

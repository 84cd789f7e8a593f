//! `importer.toml`: what `wfm-importer` pulls from, where it pushes to, and how it syncs.

use crate::cloud::{CloudConfig, UcceConfig};
use crate::history::HistoryConfig;
use crate::hub::LogConfig;
use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use wfm_model::{ProjectId, SourceId, SourceRole};

/// The whole importer configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct ImporterConfig {
    /// Process-wide settings (data directory, metrics endpoint).
    #[serde(default)]
    pub importer: ImporterSection,
    /// Where results are pushed.
    pub hub: HubClientConfig,
    /// How and when the identity sync runs.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Cisco UCCX Admin REST source (agents, teams, skills, supervisors).
    #[serde(default)]
    pub uccx: Option<UccxConfig>,
    /// Cisco CUCM AXL, used to add e-mail addresses to UCCX users.
    #[serde(default)]
    pub cucm: Option<CucmConfig>,
    /// Cisco UCCE/PCCE ConfigAPI sources (`[[ucce]]`, one per instance).
    #[serde(default)]
    pub ucce: Vec<UcceConfig>,
    /// Webex Contact Center sources (`[[webex]]`).
    #[serde(default)]
    pub webex: Vec<CloudConfig>,
    /// Zoom sources (`[[zoom]]`).
    #[serde(default)]
    pub zoom: Vec<CloudConfig>,
    /// Microsoft Graph (Teams) sources (`[[graph]]`).
    #[serde(default)]
    pub graph: Vec<CloudConfig>,
    /// Reporting databases for queue statistics (`[[history]]`).
    #[serde(default)]
    pub history: Vec<HistoryConfig>,
    /// Cisco Finesse, the source of agent reason codes (`[finesse]`).
    #[serde(default)]
    pub finesse: Option<crate::finesse::FinesseConfig>,
    /// CTI Server live agent-state feeds (`[[cti]]`).
    #[serde(default)]
    pub cti: Vec<crate::cti::CtiConfig>,
    /// The outbox every batch goes through (`[outbox]`; every field has a default).
    #[serde(default)]
    pub outbox: crate::cti::OutboxSection,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
}

/// Process-wide importer settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ImporterSection {
    /// Directory for the importer's local state. Default `./wfm-importer-data`.
    pub data_dir: PathBuf,
    /// Address of the `/metrics` and `/healthz` endpoint; loopback by default. Default
    /// `127.0.0.1:9464`.
    pub metrics_bind: SocketAddr,
}

impl Default for ImporterSection {
    fn default() -> Self {
        ImporterSection {
            data_dir: PathBuf::from("./wfm-importer-data"),
            metrics_bind: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// URL scheme for an upstream API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// TLS (the default).
    #[default]
    Https,
    /// Plain HTTP: only accepted with `allow_insecure_http = true` (labs).
    Http,
}

impl Scheme {
    /// `https` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// The hub this importer pushes to.
#[derive(Debug, Clone, Deserialize)]
pub struct HubClientConfig {
    /// Base URL of the hub, e.g. `https://wfm-hub.example.com:8443`.
    pub url: String,
    /// The project (tenant) at the hub this importer writes into.
    pub project: ProjectId,
    /// Bearer token for the project (or `token_file`, or `${ENV}`).
    pub token: Secret,
    /// Extra CA certificate (PEM) to trust for the hub, e.g. a private CA or a self-signed cert.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow a plain `http://` hub URL. For labs only; logged loudly.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Timeout of one request to the hub. Default `60s`.
    #[serde(default = "default_hub_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Batches larger than this many bytes go through the hub's bulk path (encrypted upload to
    /// object storage on a pre-signed URL, then ingest; see docs/bulk-transfer.md) instead of
    /// being POSTed. Default 8 MiB; 0 = never. A hub without `[bulk]` gets them directly.
    #[serde(default = "default_bulk_threshold_bytes")]
    pub bulk_threshold_bytes: u64,
}

fn default_hub_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_bulk_threshold_bytes() -> u64 {
    8 * 1024 * 1024
}

/// The identity sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SyncConfig {
    /// How often `wfm-importer run` syncs users. Default `15m`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Safety limit: refuse a run that would disable more than this share of the source's enabled
    /// users (0.0–1.0), or that sees zero users, unless `--allow-mass-disable` is given. Default 0.2.
    pub max_disable_ratio: f64,
    /// Source role → hub role. Keys: `agent`, `supervisor`, `primary_supervisor`,
    /// `secondary_supervisor`. A source role with no entry gives no role mapping. Every target role
    /// must exist in the hub project, or the sync stops with an error naming it.
    pub role_equivalents: BTreeMap<String, String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval: Duration::from_secs(15 * 60),
            max_disable_ratio: 0.2,
            role_equivalents: BTreeMap::new(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    3
}
fn default_uccx_source() -> SourceId {
    SourceId::new("uccx").unwrap_or_else(|_| unreachable!("literal is a valid id"))
}

/// Cisco UCCX Admin REST API (`/adminapi`).
#[derive(Debug, Clone, Deserialize)]
pub struct UccxConfig {
    /// Source id: the first half of every synced object's key. Keep it stable. Default `uccx`.
    #[serde(default = "default_uccx_source")]
    pub source_id: SourceId,
    /// `https` (default) or `http` (needs `allow_insecure_http`).
    #[serde(default)]
    pub scheme: Scheme,
    /// Host name or address of the UCCX publisher.
    pub host: String,
    /// Port. Default 443 for https, 80 for http.
    #[serde(default)]
    pub port: Option<u16>,
    /// Admin user (a supervisor sees only their own teams).
    pub username: String,
    /// Password (or `password_file`, or `${ENV}`).
    pub password: Secret,
    /// Only these teams (by `teamname` or `teamId`) are imported; users outside them are treated
    /// as absent. Empty (default) imports every team.
    #[serde(default)]
    pub imported_groups: Vec<String>,
    /// Extra CA certificate (PEM) to trust for this host.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow `scheme = "http"`. For labs only; logged loudly.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Timeout of one request. Default `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a 5xx, a timeout or a connection error. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// Cisco CUCM AXL SOAP API, used to read `enduser.mailid` and `directoryuri`.
#[derive(Debug, Clone, Deserialize)]
pub struct CucmConfig {
    /// `https` (default) or `http` (needs `allow_insecure_http`).
    #[serde(default)]
    pub scheme: Scheme,
    /// Host name or address of the CUCM publisher.
    pub host: String,
    /// Port. Default 8443.
    #[serde(default = "default_axl_port")]
    pub port: u16,
    /// Application user with the "Standard AXL API Access" role.
    pub username: String,
    /// Password (or `password_file`, or `${ENV}`).
    pub password: Secret,
    /// AXL schema version, e.g. `12.5`; must match the CUCM release.
    #[serde(default = "default_axl_version")]
    pub version: String,
    /// Extra CA certificate (PEM) to trust for this host.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow `scheme = "http"`. For labs only; logged loudly.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Timeout of one request. Default `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a throttle fault, a 5xx or a timeout. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// User ids per `executeSQLQuery` IN list (1–1000). Default 500: ~50 requests for 24,000
    /// agents, each well under AXL's 8 MB result limit (larger results are paged anyway).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
}

fn default_axl_port() -> u16 {
    8443
}
fn default_axl_version() -> String {
    "12.5".to_string()
}
fn default_batch() -> usize {
    500
}

impl UccxConfig {
    /// The base URL, e.g. `https://uccx.example.com:443`.
    pub fn base_url(&self) -> String {
        let port = self.port.unwrap_or(match self.scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        });
        format!("{}://{}:{}", self.scheme.as_str(), self.host, port)
    }
}

impl CucmConfig {
    /// The AXL endpoint, with its required trailing slash.
    pub fn axl_url(&self) -> String {
        format!(
            "{}://{}:{}/axl/",
            self.scheme.as_str(),
            self.host,
            self.port
        )
    }
}

impl ImporterConfig {
    /// Checks everything that can be checked without the network; returns every problem.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        check_url(
            &mut issues,
            "hub.url",
            &self.hub.url,
            self.hub.allow_insecure_http,
        );
        if self.hub.token.is_empty() {
            issues.push(issue(
                "hub.token",
                "is empty: set token, token_file or ${ENV}",
            ));
        }
        let ratio = self.sync.max_disable_ratio;
        if !(0.0..=1.0).contains(&ratio) || ratio.is_nan() {
            issues.push(issue(
                "sync.max_disable_ratio",
                format!("{ratio} is outside 0.0–1.0 (0.2 means 20 %)"),
            ));
        }
        if self.sync.interval < Duration::from_secs(10) {
            issues.push(issue("sync.interval", "must be at least 10s"));
        }
        for (key, target) in &self.sync.role_equivalents {
            if SourceRole::from_key(key).is_none() {
                issues.push(issue(
                    format!("sync.role_equivalents.{key}"),
                    "unknown source role; use agent, supervisor, primary_supervisor or secondary_supervisor",
                ));
            }
            if target.trim().is_empty() {
                issues.push(issue(
                    format!("sync.role_equivalents.{key}"),
                    "target role is empty",
                ));
            }
        }
        let mut ids: Vec<(String, String)> = Vec::new();
        if let Some(u) = &self.uccx {
            ids.push((u.source_id.to_string(), "uccx.source_id".to_string()));
        }
        for (i, u) in self.ucce.iter().enumerate() {
            let path = format!("ucce[{i}]");
            u.validate(&path, &mut issues);
            ids.push((u.source_id.to_string(), format!("{path}.source_id")));
        }
        for (table, list, max_page) in [
            ("webex", &self.webex, 1000),
            ("zoom", &self.zoom, 300),
            ("graph", &self.graph, 999),
        ] {
            for (i, c) in list.iter().enumerate() {
                let path = format!("{table}[{i}]");
                c.validate(&path, max_page, &mut issues);
                if table == "webex" && c.org_id.as_deref().unwrap_or("").is_empty() {
                    issues.push(issue(
                        format!("{path}.org_id"),
                        "Webex Contact Center needs org_id",
                    ));
                }
                if let Some(v) = c.api_version.as_deref() {
                    if table != "webex" || (v != "v1" && v != "v2") {
                        issues.push(issue(
                            format!("{path}.api_version"),
                            "only Webex has api_version, v1 or v2",
                        ));
                    }
                }
                ids.push((c.source_id.to_string(), format!("{path}.source_id")));
            }
        }
        for (i, h) in self.history.iter().enumerate() {
            let path = format!("history[{i}]");
            h.validate(&path, &mut issues);
            ids.push((h.source_id.to_string(), format!("{path}.source_id")));
        }
        for (i, c) in self.cti.iter().enumerate() {
            let path = format!("cti[{i}]");
            c.validate(&path, &mut issues);
            ids.push((c.source_id.to_string(), format!("{path}.source_id")));
        }
        self.outbox.validate(&mut issues);
        if let Some(f) = &self.finesse {
            f.validate(&mut issues);
            ids.push((f.source_id.to_string(), "finesse.source_id".to_string()));
        }
        let mut seen = std::collections::HashSet::new();
        for (id, path) in &ids {
            if !seen.insert(id.clone()) {
                issues.push(issue(
                    path.clone(),
                    format!("source id '{id}' is used twice; every source needs its own"),
                ));
            }
        }
        if ids.is_empty() {
            issues.push(issue(
                "",
                "no source is configured: add a [uccx], [[ucce]], [[webex]], [[zoom]], [[graph]], [[history]] or [[cti]] table",
            ));
        }
        match &self.uccx {
            None => {
                if self.cucm.is_some() {
                    issues.push(issue(
                        "cucm",
                        "CUCM adds e-mails to UCCX users; it needs a [uccx] table",
                    ));
                }
            }
            Some(u) => {
                check_upstream(
                    &mut issues,
                    "uccx",
                    &u.host,
                    u.scheme,
                    u.allow_insecure_http,
                );
                check_credentials(&mut issues, "uccx", &u.username, &u.password);
                if u.imported_groups.iter().any(|g| g.trim().is_empty()) {
                    issues.push(issue("uccx.imported_groups", "contains an empty team name"));
                }
            }
        }
        if let Some(c) = &self.cucm {
            check_upstream(
                &mut issues,
                "cucm",
                &c.host,
                c.scheme,
                c.allow_insecure_http,
            );
            check_credentials(&mut issues, "cucm", &c.username, &c.password);
            let version_ok = c
                .version
                .split_once('.')
                .map(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.chars().all(|ch| ch.is_ascii_digit())
                        && b.chars().all(|ch| ch.is_ascii_digit())
                })
                .unwrap_or(false);
            if !version_ok {
                issues.push(issue(
                    "cucm.version",
                    format!("'{}' is not an AXL schema version like 12.5", c.version),
                ));
            }
            if c.batch_size == 0 || c.batch_size > 1000 {
                issues.push(issue("cucm.batch_size", "must be between 1 and 1000"));
            }
        }
        issues
    }
}

pub(crate) fn check_url(issues: &mut Vec<ConfigIssue>, path: &str, value: &str, insecure_ok: bool) {
    match url::Url::parse(value) {
        Err(e) => issues.push(issue(path, format!("'{value}' is not a URL: {e}"))),
        Ok(u) => match u.scheme() {
            "https" => {}
            "http" if insecure_ok => {}
            "http" => issues.push(issue(
                path,
                "plain http is refused; use https, or set allow_insecure_http = true for a lab",
            )),
            other => issues.push(issue(path, format!("scheme '{other}' is not http(s)"))),
        },
    }
}

pub(crate) fn check_upstream(
    issues: &mut Vec<ConfigIssue>,
    table: &str,
    host: &str,
    scheme: Scheme,
    insecure_ok: bool,
) {
    if host.trim().is_empty() || host.contains('/') || host.contains(' ') {
        issues.push(issue(
            format!("{table}.host"),
            format!("'{host}' is not a host name or address"),
        ));
    }
    if scheme == Scheme::Http && !insecure_ok {
        issues.push(issue(
            format!("{table}.scheme"),
            "plain http is refused; use https, or set allow_insecure_http = true for a lab",
        ));
    }
}

pub(crate) fn check_credentials(
    issues: &mut Vec<ConfigIssue>,
    table: &str,
    username: &str,
    password: &Secret,
) {
    if username.trim().is_empty() {
        issues.push(issue(format!("{table}.username"), "is empty"));
    }
    if password.is_empty() {
        issues.push(issue(
            format!("{table}.password"),
            "is empty: set password, password_file or ${ENV}",
        ));
    }
}

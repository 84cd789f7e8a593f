//! `hub.toml`: how `wfm-hub` listens, where it stores, and which projects it serves.

use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use wfm_model::ProjectId;

/// The whole hub configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct HubConfig {
    /// Listener and TLS.
    #[serde(default)]
    pub server: HubServerConfig,
    /// Storage backend.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Projects (tenants) and their tokens.
    #[serde(default)]
    pub projects: Vec<ProjectConfig>,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Object storage for the bulk path (pre-signed uploads); absent = off.
    #[serde(default)]
    pub bulk: Option<crate::BulkConfig>,
    /// Audit log retention (`[audit]`).
    #[serde(default)]
    pub audit: AuditConfig,
    /// Encryption at rest (`[encryption]`).
    #[serde(default)]
    pub encryption: EncryptionConfig,
    /// Retention of stored data (`[retention]`).
    #[serde(default)]
    pub retention: RetentionConfig,
}

/// `[encryption]`: encryption at rest of personal data and stored payloads (docs/encryption.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Seal personal data and stored payloads before they reach the database. Default `true`.
    pub enabled: bool,
    /// File holding the key-encryption key (32 raw bytes or 64 hex digits). Default: the
    /// variable named by `kek_env` when it is set; otherwise, on SQLite, `<database file>.kek`,
    /// created (mode 0600) on first start. PostgreSQL needs one of the two (every replica must
    /// use the same KEK).
    pub kek_file: Option<PathBuf>,
    /// Environment variable holding the KEK as 64 hex digits. Default `WFM_HUB_KEK`.
    pub kek_env: String,
    /// The KEK's id, recorded with every data key it wraps. Default `kek-1`.
    pub kek_id: String,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            enabled: true,
            kek_file: None,
            kek_env: "WFM_HUB_KEK".to_string(),
            kek_id: "kek-1".to_string(),
        }
    }
}

/// `[retention]`: how long stored data is kept (docs/retention.md). These are the defaults of
/// every project; `wfm-hub retention set` stores per-project overrides in the database. Each
/// keep is a duration (`"90d"`, `"3y"`, `"400d"`) or `"forever"`; at least `1d`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Agent state events (by event time), closed feed gaps, and agents left without events.
    /// Default `"90d"`.
    pub agent_states: RetentionKeep,
    /// Queue intervals (by interval start); coverage before the cutoff is merged so that
    /// purged time is not reported missing. Default `"1095d"` (3 years).
    pub intervals: RetentionKeep,
    /// Identity sync runs with their change logs (which hold personal data), by start time.
    /// Default `"400d"` (like `[audit] retain`).
    pub sync_runs: RetentionKeep,
    /// Idempotency records (the stored answers importer replays get). Default `"30d"`: an
    /// importer replays its outbox within hours; a key purged earlier than its replay would
    /// be applied again (harmless for the replace-a-window batches, but not a replay).
    pub idempotency: RetentionKeep,
    /// Adherence schedules and exceptions that ended before the cutoff. Default `"400d"`.
    pub adherence: RetentionKeep,
    /// Run the daily purge job in `serve`. Default `true` (`false`: purge only with
    /// `wfm-hub retention purge`, e.g. from cron).
    pub job: bool,
    /// How long after `serve` starts the job first runs (then every 24 h). Default `"5m"`.
    #[serde(with = "humantime_serde")]
    pub job_delay: std::time::Duration,
    /// Rows removed per statement (each its own short transaction). Default `10000`;
    /// 100 to 1,000,000.
    pub chunk_rows: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let days = |n: u64| RetentionKeep::For(std::time::Duration::from_secs(n * 86_400));
        RetentionConfig {
            agent_states: days(90),
            intervals: days(1095),
            sync_runs: days(400),
            idempotency: days(30),
            adherence: days(400),
            job: true,
            job_delay: std::time::Duration::from_secs(300),
            chunk_rows: 10_000,
        }
    }
}

/// How long one kind of data is kept: a duration, or forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionKeep {
    /// Never purged.
    Forever,
    /// Purged once older than this.
    For(std::time::Duration),
}

impl RetentionKeep {
    /// Reads `"forever"` or a humantime duration (`"90d"`, `"3y"`, `"12h"`, `"2w"`).
    pub fn parse(text: &str) -> Result<RetentionKeep, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("forever") {
            return Ok(RetentionKeep::Forever);
        }
        humantime_serde::re::humantime::parse_duration(text)
            .map(RetentionKeep::For)
            .map_err(|e| format!("cannot read '{text}': {e} (expected e.g. 90d, 3y or forever)"))
    }
}

impl<'de> Deserialize<'de> for RetentionKeep {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RetentionKeep::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `[audit]`: how long the audit log keeps its entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// Entries older than this are removed by `wfm-hub audit purge` and by a daily task of
    /// `serve` (the chain stays verifiable: the last removed entry becomes its anchor, and the
    /// purge itself is audited). Default `"400d"` (PCI DSS asks for 12 months); at least `1d`.
    #[serde(with = "humantime_serde")]
    pub retain: std::time::Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retain: std::time::Duration::from_secs(400 * 86_400),
        }
    }
}

/// Listener settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HubServerConfig {
    /// Address to listen on. Default `127.0.0.1:8443`.
    pub bind: SocketAddr,
    /// TLS certificate chain (PEM). Required unless `allow_insecure_http`.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM). Required unless `allow_insecure_http`.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP. For labs only; logged loudly.
    pub allow_insecure_http: bool,
    /// Largest accepted request body in bytes. Default 64 MiB (a 24,000-agent snapshot is ~15 MiB).
    pub max_body_bytes: usize,
}

impl Default for HubServerConfig {
    fn default() -> Self {
        HubServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls_cert: None,
            tls_key: None,
            allow_insecure_http: false,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Storage backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// `sqlite://path/to/hub.sqlite` (embedded, default `sqlite://wfm-hub.sqlite`) or
    /// `postgres://user@host:5432/db` (production; several hub replicas may share it).
    pub url: String,
    /// Most connections in the pool. Default 8.
    pub max_connections: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            url: "sqlite://wfm-hub.sqlite".to_string(),
            max_connections: 8,
        }
    }
}

/// One project (tenant).
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectConfig {
    /// Project id, used in URLs and importer configs.
    pub id: ProjectId,
    /// Human-readable name.
    #[serde(default)]
    pub name: Option<String>,
    /// Bearer token that grants access to this project (or `token_file`, or `${ENV}`); at least
    /// 32 characters.
    pub token: Secret,
    /// Roles that exist in this project; `role_equivalents` targets must be among them. Default
    /// `["agent", "supervisor"]`.
    #[serde(default = "default_roles")]
    pub roles: Vec<String>,
    /// How users of different sources are recognised as the same person: `email` (default,
    /// case-insensitive), `username`, or `none`. Users are only linked, never merged; an ambiguous
    /// key is reported at `GET /api/v1/people`.
    #[serde(default)]
    pub match_people_by: MatchPeopleBy,
}

/// The rule for linking users of different sources (see [`ProjectConfig::match_people_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MatchPeopleBy {
    /// Same e-mail address.
    #[default]
    Email,
    /// Same username.
    Username,
    /// Never link.
    None,
}

fn default_roles() -> Vec<String> {
    vec!["agent".to_string(), "supervisor".to_string()]
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings (shared by both programs).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `wfm_sources=debug,info`. Default `info`; `RUST_LOG`
    /// overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".to_string(),
        }
    }
}

impl HubConfig {
    /// Checks everything that can be checked without I/O; returns every problem.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let s = &self.server;
        match (&s.tls_cert, &s.tls_key) {
            (Some(_), Some(_)) => {}
            (None, None) if s.allow_insecure_http => {}
            (None, None) => issues.push(issue(
                "server.tls_cert",
                "TLS is required: set tls_cert and tls_key, or allow_insecure_http = true for a lab",
            )),
            (Some(_), None) => issues.push(issue("server.tls_key", "tls_cert is set but tls_key is not")),
            (None, Some(_)) => issues.push(issue("server.tls_cert", "tls_key is set but tls_cert is not")),
        }
        if s.max_body_bytes < 1024 {
            issues.push(issue("server.max_body_bytes", "must be at least 1024"));
        }
        let url = &self.storage.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            issues.push(issue(
                "storage.url",
                format!("'{url}' is neither sqlite://… nor postgres://…"),
            ));
        }
        if self.storage.max_connections == 0 {
            issues.push(issue("storage.max_connections", "must be at least 1"));
        }
        if self.projects.is_empty() {
            issues.push(issue(
                "projects",
                "no project configured: add a [[projects]] table",
            ));
        }
        if let Some(bulk) = &self.bulk {
            issues.extend(bulk.validate());
        }
        if self.audit.retain < std::time::Duration::from_secs(86_400) {
            issues.push(issue("audit.retain", "must be at least 1d"));
        }
        let mut ids = HashSet::new();
        let mut tokens = HashSet::new();
        for (i, p) in self.projects.iter().enumerate() {
            if !ids.insert(p.id.clone()) {
                issues.push(issue(
                    format!("projects[{i}].id"),
                    format!("project '{}' is listed twice", p.id),
                ));
            }
            if p.token.expose().len() < 32 {
                issues.push(issue(
                    format!("projects[{i}].token"),
                    "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
                ));
            }
            if !tokens.insert(p.token.expose().to_string()) {
                issues.push(issue(
                    format!("projects[{i}].token"),
                    "the same token is used by two projects",
                ));
            }
            if p.roles.iter().any(|r| r.trim().is_empty()) {
                issues.push(issue(
                    format!("projects[{i}].roles"),
                    "contains an empty role name",
                ));
            }
        }
        // [retention]
        let r = &self.retention;
        for (key, keep) in [
            ("agent_states", r.agent_states),
            ("intervals", r.intervals),
            ("sync_runs", r.sync_runs),
            ("idempotency", r.idempotency),
            ("adherence", r.adherence),
        ] {
            if let RetentionKeep::For(d) = keep {
                if d < std::time::Duration::from_secs(86_400) {
                    issues.push(issue(
                        format!("retention.{key}"),
                        "must be at least 1d (or \"forever\")",
                    ));
                }
            }
        }
        if !(100..=1_000_000).contains(&r.chunk_rows) {
            issues.push(issue("retention.chunk_rows", "must be 100 to 1000000"));
        }
        issues
    }
}

//! Configuration of `wfm-importer` and `wfm-hub`: TOML files, `${ENV}` expansion, secrets from
//! `*_file` paths, and a pure `validate()` that reports every problem with its TOML path.
//!
//! This crate owns the shape and the documentation of every config key (the doc comment on each
//! field is the reference). It does no network I/O and must not depend on sources, the hub, or
//! any runtime; it reads only the config file itself, environment variables and secret files.

pub mod bulk;
pub mod cloud;
pub mod cti;
pub mod finesse;
pub mod history;
pub mod hub;
pub mod importer;
mod load;
mod secret;

pub use bulk::BulkConfig;
pub use cloud::{CloudConfig, OAuthConfig, UcceConfig};
pub use cti::{CtiConfig, OutboxSection};
pub use finesse::FinesseConfig;
pub use history::{BadRowPolicy, HistoryConfig, HistoryDialect};
pub use hub::{
    AuditConfig, EncryptionConfig, HubConfig, HubServerConfig, LogConfig, LogFormat, MatchPeopleBy,
    ProjectConfig, RetentionConfig, StorageConfig,
};
pub use importer::{
    CucmConfig, HubClientConfig, ImporterConfig, ImporterSection, Scheme, SyncConfig, UccxConfig,
};
pub use load::{load_hub, load_importer, parse_hub, parse_importer};
pub use secret::Secret;

use std::fmt;

/// One configuration problem, with the TOML path it concerns (e.g. `uccx.port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted TOML path of the offending key (`""` for the whole file).
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a configuration could not be loaded. Binaries exit with code 78 (`EX_CONFIG`) on it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has keys of the wrong type or unknown keys, or failed validation.
    #[error("invalid configuration in {file}:\n{}", format_issues(.issues))]
    Invalid {
        /// The file (or `<string>`).
        file: String,
        /// Every problem found.
        issues: Vec<ConfigIssue>,
    },
}

impl ConfigError {
    /// The process exit code for configuration errors (`EX_CONFIG`).
    pub const EXIT_CODE: i32 = 78;

    /// The problems found, if the file was read.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { issues, .. } => issues,
        }
    }
}

fn format_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn issue(path: impl Into<String>, message: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        path: path.into(),
        message: message.into(),
    }
}

//! `[finesse]`: the Cisco Finesse server whose reason codes (Not Ready and Logout) label agent
//! states at the hub.

use crate::importer::{check_credentials, check_upstream, Scheme};
use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use wfm_model::SourceId;

fn default_source() -> SourceId {
    SourceId::new("finesse").unwrap_or_else(|_| unreachable!("literal is a valid id"))
}
fn default_port() -> u16 {
    8445
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    3
}

/// Cisco Finesse REST API (`/finesse/api/ReasonCodes`).
#[derive(Debug, Clone, Deserialize)]
pub struct FinesseConfig {
    /// Source id of the reason codes at the hub. Keep it stable. Default `finesse`.
    #[serde(default = "default_source")]
    pub source_id: SourceId,
    /// `https` (default) or `http` (needs `allow_insecure_http`).
    #[serde(default)]
    pub scheme: Scheme,
    /// Host name or address of the Finesse server (primary node).
    pub host: String,
    /// Port. Default 8445 (Finesse's HTTPS port).
    #[serde(default = "default_port")]
    pub port: u16,
    /// A Finesse administrator (listing reason codes needs the administrator role).
    pub username: String,
    /// Password (or `password_file`, or `${ENV}`).
    pub password: Secret,
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

impl FinesseConfig {
    /// The base URL, e.g. `https://finesse.example.com:8445`.
    pub fn base_url(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }

    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let path = "finesse";
        check_upstream(
            issues,
            path,
            &self.host,
            self.scheme,
            self.allow_insecure_http,
        );
        check_credentials(issues, path, &self.username, &self.password);
        if self.port == 0 {
            issues.push(issue(format!("{path}.port"), "must be 1–65535"));
        }
        if self.timeout.is_zero() {
            issues.push(issue(format!("{path}.timeout"), "must be longer than 0s"));
        }
        if self.retries > 10 {
            issues.push(issue(format!("{path}.retries"), "must be 0–10"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_importer;

    const BASE: &str = r#"
[hub]
url = "https://hub.example.com:8443"
project = "acme"
token = "t"

[[history]]
source_id = "uccx-hr"
dialect = "uccx"
sqlite_path = "db_cra.sqlite"
time_zone = "UTC"
"#;

    #[test]
    fn finesse_defaults_and_agent_states_default_to_on() {
        let text = format!(
            "{BASE}\n[finesse]\nhost = \"finesse.example.com\"\nusername = \"admin\"\npassword = \"${{FIN_PW}}\"\n"
        );
        let env = |k: &str| (k == "FIN_PW").then(|| "pw".to_string());
        let cfg = parse_importer(&text, "importer.toml", &env).unwrap();
        let f = cfg.finesse.unwrap();
        assert_eq!(f.source_id.as_str(), "finesse");
        assert_eq!(f.base_url(), "https://finesse.example.com:8445");
        assert_eq!(f.password.expose(), "pw");
        assert_eq!(f.retries, 3);
        assert!(cfg.history[0].agent_states);
        let off = BASE.replace(
            "time_zone = \"UTC\"",
            "time_zone = \"UTC\"\nagent_states = false",
        );
        let cfg = parse_importer(&off, "importer.toml", &|_| None).unwrap();
        assert!(!cfg.history[0].agent_states);
    }

    #[test]
    fn finesse_settings_are_validated_with_their_paths() {
        let text = format!(
            "{BASE}\n[finesse]\nsource_id = \"uccx-hr\"\nscheme = \"http\"\nhost = \"a b\"\nusername = \"\"\npassword = \"\"\nretries = 50\n"
        );
        let err = parse_importer(&text, "importer.toml", &|_| None).unwrap_err();
        let shown = err.to_string();
        for expected in [
            "finesse.host: 'a b' is not a host name",
            "finesse.scheme: plain http is refused",
            "finesse.username: is empty",
            "finesse.password: is empty",
            "finesse.retries: must be 0–10",
            "finesse.source_id: source id 'uccx-hr' is used twice",
        ] {
            assert!(shown.contains(expected), "missing {expected:?} in {shown}");
        }
    }
}

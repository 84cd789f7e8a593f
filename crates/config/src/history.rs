//! `[[history]]`: reporting databases that feed queue statistics (UCCX `db_cra`, UCCE HDS).

use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use wfm_model::SourceId;

/// Which reporting database schema a `[[history]]` source has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryDialect {
    /// UCCX `db_cra` (Informix): call legs, aggregated by the importer.
    Uccx,
    /// UCCE/PCCE HDS (SQL Server): `Call_Type_Interval` rows, taken as they are.
    Ucce,
}

/// What to do with a call-leg row that fails validation (NULL where a value is required,
/// negative duration, end before start, unknown code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRowPolicy {
    /// Stop the import of that window with an error naming the row; nothing is sent for the
    /// window and the cursor stays where it was (the default: figures are never silently wrong).
    #[default]
    Stop,
    /// Leave the row out, log it and count it in `wfm_history_bad_rows_total`; the rest of the
    /// window is imported.
    Skip,
}

fn default_lookback() -> Duration {
    Duration::from_secs(2 * 3600)
}
fn default_close_delay() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_poll() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_interval_minutes() -> u32 {
    15
}
fn default_service_level() -> Duration {
    Duration::from_secs(20)
}
fn default_agent_states() -> bool {
    true
}
fn default_concurrency() -> usize {
    2
}
fn default_chunk() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// One reporting database (`[[history]]`).
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryConfig {
    /// Source id of the statistics at the hub (e.g. `uccx-hr`). Keep it stable.
    pub source_id: SourceId,
    /// `uccx` (db_cra) or `ucce` (HDS).
    pub dialect: HistoryDialect,
    /// ODBC data source name from `odbc.ini` (or use `connection_string` / `sqlite_path`).
    #[serde(default)]
    pub dsn: Option<String>,
    /// A full ODBC connection string, e.g.
    /// `Driver={IBM INFORMIX ODBC DRIVER};Host=uccx1;Server=uccx1_uccx;Service=1504;Protocol=onsoctcp;Database=db_cra;`.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// An SQLite file with the same tables (the demo and tests; no ODBC needed).
    #[serde(default)]
    pub sqlite_path: Option<PathBuf>,
    /// Database user, added to the ODBC connection string as `UID` (e.g. `uccxhruser`).
    #[serde(default)]
    pub username: Option<String>,
    /// Database password (or `password_file`, or `${ENV}`), added as `PWD`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The site's IANA time zone, e.g. `America/Chicago`: the hub's local-day views use it.
    /// Times are read and stored in UTC whatever this is.
    pub time_zone: String,
    /// Interval length in minutes: 15 or 30. UCCX legs are aggregated to it; for UCCE it must
    /// be the HDS's own interval length (rows are never split or merged). Default 15.
    #[serde(default = "default_interval_minutes")]
    pub interval_minutes: u32,
    /// Every incremental run re-reads this much before its cursor, because UCCX writes a call's
    /// rows only after wrap-up. Default `2h`.
    #[serde(default = "default_lookback", with = "humantime_serde")]
    pub lookback: Duration,
    /// An interval is sent once it closed this long ago. Default `5m`.
    #[serde(default = "default_close_delay", with = "humantime_serde")]
    pub close_delay: Duration,
    /// How often `wfm-importer run` imports. Default `5m`.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Service-level threshold for queues whose own (`CSQ.servicelevel`) is unknown. Default `20s`.
    #[serde(default = "default_service_level", with = "humantime_serde")]
    pub service_level: Duration,
    /// Windows read per query during backfills and catch-up. Default `1d`.
    #[serde(default = "default_chunk", with = "humantime_serde")]
    pub chunk: Duration,
    /// Windows read from the database at once during backfills, repairs and catch-up, each on
    /// its own connection (1–8). Windows still reach the hub in order. Default 2.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// `stop` (default) or `skip` for rows that fail validation.
    #[serde(default)]
    pub bad_rows: BadRowPolicy,
    /// Connect and query timeout. Default `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Also import agent state history (UCCX `AgentStateDetail`, UCCE `Agent_State_Trace`)
    /// with its own cursor, the same look-back, close delay and chunk as the intervals. Default
    /// `true` for both dialects (UCCE: only agents with tracing enabled have rows).
    #[serde(default = "default_agent_states")]
    pub agent_states: bool,
}

impl HistoryConfig {
    pub(crate) fn validate(&self, path: &str, issues: &mut Vec<ConfigIssue>) {
        let set = [
            self.dsn.is_some(),
            self.connection_string.is_some(),
            self.sqlite_path.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            issues.push(issue(
                path,
                "set exactly one of dsn, connection_string (ODBC) or sqlite_path",
            ));
        }
        if self.sqlite_path.is_some() && (self.username.is_some() || self.password.is_some()) {
            issues.push(issue(
                format!("{path}.username"),
                "an SQLite file has no user or password; remove them",
            ));
        }
        if let Some(dsn) = &self.dsn {
            if dsn.trim().is_empty() || dsn.contains([';', '{', '}', '=']) {
                issues.push(issue(
                    format!("{path}.dsn"),
                    format!("'{dsn}' is not a data source name; use connection_string for a full ODBC string"),
                ));
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            issues.push(issue(
                format!("{path}.time_zone"),
                format!(
                    "'{}' is not an IANA time zone (e.g. America/New_York, Europe/London, UTC)",
                    self.time_zone
                ),
            ));
        }
        if self.interval_minutes != 15 && self.interval_minutes != 30 {
            issues.push(issue(
                format!("{path}.interval_minutes"),
                "must be 15 or 30 (UCCE: the HDS's own interval length)",
            ));
        }
        if self.lookback > Duration::from_secs(7 * 24 * 3600) {
            issues.push(issue(
                format!("{path}.lookback"),
                "is longer than 7 days; use `wfm-importer backfill intervals` for old data",
            ));
        }
        if !(1..=8).contains(&self.concurrency) {
            issues.push(issue(
                format!("{path}.concurrency"),
                "must be between 1 and 8",
            ));
        }
        if self.poll_interval < Duration::from_secs(10) {
            issues.push(issue(
                format!("{path}.poll_interval"),
                "must be at least 10s",
            ));
        }
        let interval = Duration::from_secs(u64::from(self.interval_minutes) * 60);
        if self.chunk < interval
            || !self
                .chunk
                .as_secs()
                .is_multiple_of(interval.as_secs().max(1))
        {
            issues.push(issue(
                format!("{path}.chunk"),
                format!(
                    "must be a whole number of {}-minute intervals",
                    self.interval_minutes
                ),
            ));
        }
    }

    /// The ODBC connection string to use (DSN or full string, plus UID/PWD), if ODBC.
    pub fn odbc_connection_string(&self) -> Option<String> {
        let mut s = match (&self.dsn, &self.connection_string) {
            (Some(dsn), _) => format!("DSN={dsn};"),
            (None, Some(c)) => {
                let mut c = c.trim().to_string();
                if !c.ends_with(';') {
                    c.push(';');
                }
                c
            }
            (None, None) => return None,
        };
        if let Some(u) = &self.username {
            s.push_str(&format!("UID={};", odbc_value(u)));
        }
        if let Some(p) = &self.password {
            s.push_str(&format!("PWD={};", odbc_value(p.expose())));
        }
        Some(s)
    }
}

/// Braces a connection-string value that contains a `;`, `{` or `}` (ODBC quoting).
fn odbc_value(v: &str) -> String {
    if v.contains([';', '{', '}']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("{{{}}}", v.replace('}', "}}"))
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::odbc_value;

    #[test]
    fn braces_values_that_need_it() {
        assert_eq!(odbc_value("plain"), "plain");
        assert_eq!(odbc_value("a;b"), "{a;b}");
        assert_eq!(odbc_value("x}y"), "{x}}y}");
    }
}

//! Reason codes from Cisco Finesse (`[finesse]`) → the hub (`PUT /api/v1/reason-codes`): the
//! Not Ready and Logout codes as one complete set, so agent-state events can be labelled.
//!
//! Run by `wfm-importer sync reason-codes`, and automatically before every agent-state import
//! of `run` and `sync states` (codes should reach the hub before the events that use them).
//! `wfm-importer` sends the set through the outbox (source `reason-codes:<source id>`) and
//! waits for the hub's answer ([`sync_reason_codes_through`]).

use std::sync::Arc;
use std::time::Instant;

use wfm_config::FinesseConfig;
use wfm_protocol::states::{ReasonCategory, ReasonCode, ReasonCodeSet, ReasonCodeSetResponse};
use wfm_sources::finesse::{self, FinesseClient, FinesseSettings};
use wfm_sources::SourceError;
use wfm_telemetry::Metrics;

use crate::delivery::{Delivery, DeliveryError, Final, Kind};
use crate::error::HubError;
use crate::hub_client::HubClient;

/// Why the reason codes could not be synced. Nothing was changed at the hub.
#[derive(Debug, thiserror::Error)]
pub enum ReasonCodeError {
    /// Finesse refused the credentials (HTTP 401/403).
    #[error("Finesse {host} refused user '{user}' (HTTP 401/403): set finesse.username and finesse.password to a Finesse administrator (listing reason codes needs the administrator role)")]
    Unauthorized {
        /// The Finesse host.
        host: String,
        /// The configured user.
        user: String,
    },
    /// Finesse failed otherwise (unreachable, TLS, malformed answer, bad settings).
    #[error("Finesse {host}: {error}")]
    Finesse {
        /// The Finesse host.
        host: String,
        /// What the client said.
        error: Box<SourceError>,
    },
    /// The hub refused or could not be reached.
    #[error("hub: {0}")]
    Hub(Box<HubError>),
    /// The set could not be put in the outbox, was not delivered, or was dead-lettered.
    #[error("{0}")]
    Delivery(Box<DeliveryError>),
}

/// What one reason-code sync did.
#[derive(Debug, Clone)]
pub struct ReasonCodeReport {
    /// The set's source id.
    pub source: String,
    /// Codes sent.
    pub codes: u64,
    /// The hub's answer.
    pub hub: ReasonCodeSetResponse,
    /// Time taken, milliseconds.
    pub elapsed_ms: u128,
}

/// The Finesse client of `cfg`.
pub fn client(cfg: &FinesseConfig, metrics: Metrics) -> Result<FinesseClient, ReasonCodeError> {
    let settings = FinesseSettings {
        base_url: cfg.base_url(),
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        timeout: cfg.timeout,
        retries: cfg.retries,
        ca_file: cfg.ca_file.clone(),
        allow_insecure_http: cfg.allow_insecure_http,
    };
    FinesseClient::new(settings, metrics).map_err(|error| finesse_error(cfg, error))
}

/// Maps a client error; 401/403 become [`ReasonCodeError::Unauthorized`] naming the config keys.
pub fn finesse_error(cfg: &FinesseConfig, error: SourceError) -> ReasonCodeError {
    match error {
        SourceError::Unauthorized { .. } => ReasonCodeError::Unauthorized {
            host: cfg.host.clone(),
            user: cfg.username.clone(),
        },
        error => ReasonCodeError::Finesse {
            host: cfg.host.clone(),
            error: Box::new(error),
        },
    }
}

/// Finesse codes → the wire set of `source` (sorted by category, code and id); a code of a
/// category other than Not Ready / Logout is left out with a warning.
pub fn reason_code_set(source: &str, codes: &[finesse::ReasonCode]) -> ReasonCodeSet {
    let mut out: Vec<ReasonCode> = Vec::with_capacity(codes.len());
    for c in codes {
        let category = match &c.category {
            finesse::ReasonCategory::NotReady => ReasonCategory::NotReady,
            finesse::ReasonCategory::Logout => ReasonCategory::Logout,
            finesse::ReasonCategory::Other(other) => {
                tracing::warn!(id = %c.id, category = %other, "Finesse reason code of an unknown category left out");
                continue;
            }
        };
        out.push(ReasonCode {
            id: c.id.clone(),
            code: i64::from(c.code),
            label: c.label.clone(),
            category,
            system_code: c.system_code,
            for_all: c.for_all,
        });
    }
    out.sort_by(|a, b| (a.category, a.code, &a.id).cmp(&(b.category, b.code, &b.id)));
    ReasonCodeSet {
        source: source.to_string(),
        codes: out,
    }
}

async fn fetch_set(
    cfg: &FinesseConfig,
    metrics: &Metrics,
) -> Result<ReasonCodeSet, ReasonCodeError> {
    let client = client(cfg, metrics.clone())?;
    let codes = client
        .all_reason_codes()
        .await
        .map_err(|e| finesse_error(cfg, e))?;
    Ok(reason_code_set(cfg.source_id.as_str(), &codes))
}

/// Reads every Not Ready and Logout code from Finesse and PUTs them as one set, directly.
pub async fn sync_reason_codes(
    cfg: &FinesseConfig,
    hub: &HubClient,
    metrics: &Metrics,
) -> Result<ReasonCodeReport, ReasonCodeError> {
    let started = Instant::now();
    let set = fetch_set(cfg, metrics).await?;
    let key = uuid::Uuid::new_v4().to_string();
    let answer = hub
        .put_reason_codes(&set, &key)
        .await
        .map_err(|e| ReasonCodeError::Hub(Box::new(e)))?;
    Ok(report(cfg, &set, answer, metrics, started))
}

/// [`sync_reason_codes`] through the outbox: the set is appended, then the hub's answer is
/// awaited. `periodic` (`run`): while an earlier set is still pending, no new one is read.
pub async fn sync_reason_codes_through(
    cfg: &FinesseConfig,
    delivery: &Arc<Delivery>,
    metrics: &Metrics,
    periodic: bool,
) -> Result<ReasonCodeReport, ReasonCodeError> {
    let started = Instant::now();
    let source = cfg.source_id.as_str();
    let fail = |e: DeliveryError| ReasonCodeError::Delivery(Box::new(e));
    if periodic {
        let name = crate::delivery::source_name(Kind::ReasonCodes, source);
        let pending = delivery.outbox().pending(&name, usize::MAX).len();
        if pending > 0 {
            return Err(fail(DeliveryError::Undelivered {
                pending,
                dir: delivery.outbox().dir().to_path_buf(),
                last_error: "an earlier reason-code set is still waiting for the hub".into(),
            }));
        }
    }
    let set = fetch_set(cfg, metrics).await?;
    let payload = serde_json::to_vec(&set)
        .map_err(|e| ReasonCodeError::Hub(Box::new(HubError::Protocol(e.to_string()))))?;
    let id = delivery
        .submit_waiting(Kind::ReasonCodes, source, payload, Vec::new())
        .await
        .map_err(fail)?;
    let answer = match delivery
        .wait(Kind::ReasonCodes, source, id)
        .await
        .map_err(fail)?
    {
        Final::Delivered { body, .. } => {
            serde_json::from_slice(&body).unwrap_or(ReasonCodeSetResponse {
                inserted: 0,
                updated: 0,
                unchanged: 0,
                deactivated: 0,
            })
        }
        Final::DeadLettered { status, body, .. } => {
            let reason = crate::hub_client::answer_error(status, &body).to_string();
            return Err(fail(DeliveryError::DeadLettered { id, reason }));
        }
    };
    Ok(report(cfg, &set, answer, metrics, started))
}

fn report(
    cfg: &FinesseConfig,
    set: &ReasonCodeSet,
    answer: ReasonCodeSetResponse,
    metrics: &Metrics,
    started: Instant,
) -> ReasonCodeReport {
    let source = cfg.source_id.as_str();
    for (outcome, n) in [
        ("inserted", answer.inserted),
        ("updated", answer.updated),
        ("unchanged", answer.unchanged),
        ("deactivated", answer.deactivated),
    ] {
        metrics.sync_objects(source, "reason_code", outcome, n);
    }
    ReasonCodeReport {
        source: source.to_string(),
        codes: set.codes.len() as u64,
        hub: answer,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// Read-only check for `wfm-importer check`: lists the Not Ready codes.
pub async fn check(cfg: &FinesseConfig, metrics: &Metrics) -> Result<String, ReasonCodeError> {
    let client = client(cfg, metrics.clone())?;
    let report = client
        .healthcheck()
        .await
        .map_err(|e| finesse_error(cfg, e))?;
    Ok(report.detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finesse_codes_become_one_sorted_set_of_the_source() {
        let code = |id: &str, category, code: u32, label: &str| finesse::ReasonCode {
            id: id.into(),
            uri: None,
            category,
            code,
            label: label.into(),
            for_all: true,
            system_code: false,
        };
        let set = reason_code_set(
            "finesse",
            &[
                code("9", finesse::ReasonCategory::Logout, 2, "Home"),
                code("3", finesse::ReasonCategory::NotReady, 5, "Lunch"),
                code("1", finesse::ReasonCategory::NotReady, 1, "Break"),
            ],
        );
        assert_eq!(set.source, "finesse");
        let got: Vec<_> = set
            .codes
            .iter()
            .map(|c| (c.id.as_str(), c.category, c.code))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", ReasonCategory::NotReady, 1),
                ("3", ReasonCategory::NotReady, 5),
                ("9", ReasonCategory::Logout, 2),
            ]
        );
    }
}

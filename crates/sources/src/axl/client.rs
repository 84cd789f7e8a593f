//! The AXL client: one request in flight, session cookie reuse, sequence check, batching,
//! paging on "query too large", back-off on the memory throttle, metrics.

use super::config::{AxlSettings, AXL_SOURCE_LABEL};
use super::decode::{
    build_execute_sql_request, decode_execute_sql_response, decode_fault, quote_sql_literal,
    AxlFault, EndUserRow, SqlRow,
};
use crate::error::SourceError;
use crate::http::{build_client, classify_transport, read_body_limited, with_retries, HttpOptions};
use crate::HealthReport;
use reqwest::header::CONTENT_TYPE;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wfm_telemetry::{Metrics, RequestOutcome};

const ENDPOINT: &str = "executeSQLQuery";
const COLUMNS: &str = "pkid, userid, mailid, directoryuri";

/// Client of one CUCM publisher's AXL service. Strictly one request in flight (the mutex also
/// guards the request sequence number); cheap to share behind an `Arc`.
pub struct AxlClient {
    settings: AxlSettings,
    http: reqwest::Client,
    metrics: Metrics,
    sequence: Mutex<u64>,
}

impl AxlClient {
    /// Builds the client. Refuses `http` unless `allow_insecure_http`; fails on an unreadable
    /// `ca_file` or a malformed `version`.
    pub fn new(cfg: &wfm_config::CucmConfig, metrics: Metrics) -> Result<Self, SourceError> {
        Self::from_settings(AxlSettings::from_config(cfg)?, metrics)
    }

    /// Builds the client from already validated settings.
    pub fn from_settings(settings: AxlSettings, metrics: Metrics) -> Result<Self, SourceError> {
        let http = build_client(&HttpOptions {
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
            cookies: true,
        })?;
        Ok(AxlClient {
            settings,
            http,
            metrics,
            sequence: Mutex::new(0),
        })
    }

    /// Changes the retry back-off (first delay and cap); tests and the demo use short ones.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.retry.base = base;
        self.settings.retry.max = max;
        self
    }

    /// Reads `pkid, userid, mailid, directoryuri` of these users (deduplicated, in batches of
    /// `batch_size`). Users unknown to CUCM simply have no row.
    pub async fn end_users(&self, userids: &[String]) -> Result<Vec<EndUserRow>, SourceError> {
        let mut seen = HashSet::new();
        let mut unique = Vec::new();
        for id in userids {
            if !id.is_empty() && seen.insert(id.as_str()) {
                unique.push(quote_sql_literal(id)?);
            }
        }
        let mut out = Vec::new();
        for batch in unique.chunks(self.settings.batch_size) {
            let condition = format!("userid IN ({})", batch.join(","));
            let rows = self.batch(&condition, batch.len()).await?;
            for (i, row) in rows.iter().enumerate() {
                out.push(EndUserRow::from_row(row, i + 1)?);
            }
        }
        Ok(out)
    }

    /// Read-only check of connectivity, credentials and AXL version:
    /// `SELECT FIRST 1 userid FROM enduser`.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let rows = self.query("SELECT FIRST 1 userid FROM enduser").await?;
        let latency = started.elapsed();
        Ok(HealthReport {
            endpoint: self.settings.url.clone(),
            latency,
            items: rows.len(),
            detail: format!(
                "CUCM AXL {} (schema {}) answered as {} in {} ms",
                self.settings.host,
                self.settings.version,
                self.settings.username,
                latency.as_millis()
            ),
        })
    }

    /// One batch of `asked` user ids; on "Query request too large" re-runs it in `SKIP s FIRST n`
    /// pages.
    async fn batch(&self, condition: &str, asked: usize) -> Result<Vec<SqlRow>, SourceError> {
        let sql = format!("SELECT {COLUMNS} FROM enduser WHERE {condition}");
        match self.query(&sql).await {
            Err(SourceError::SoapFault { what, fault }) => match fault.row_fetch_hint() {
                Some((total, less_than)) => {
                    tracing::info!(
                        target: "wfm_sources",
                        total,
                        less_than,
                        "axl result too large, paging"
                    );
                    self.paged(condition, total, less_than, asked as u64).await
                }
                None => Err(SourceError::SoapFault { what, fault }),
            },
            other => other,
        }
    }

    async fn paged(
        &self,
        condition: &str,
        total: u64,
        less_than: u64,
        asked: u64,
    ) -> Result<Vec<SqlRow>, SourceError> {
        let mut page = less_than.saturating_sub(1).max(1);
        let mut skip = 0u64;
        let mut out = Vec::new();
        // A server that keeps sending full pages past the announced total, or past the number
        // of user ids asked for (userid is unique: no more rows can match), is broken. The
        // total comes from the server's fault text: alone it bounds nothing (2^64-1 rows).
        let limit = total
            .min(asked)
            .saturating_mul(2)
            .saturating_add(page.min(1000));
        loop {
            let sql = format!(
                "SELECT SKIP {skip} FIRST {page} {COLUMNS} FROM enduser WHERE {condition} ORDER BY userid"
            );
            let rows = match self.query(&sql).await {
                Ok(rows) => rows,
                Err(SourceError::SoapFault { what, fault }) => match fault.row_fetch_hint() {
                    Some((_, smaller)) if smaller.saturating_sub(1).max(1) < page => {
                        page = smaller.saturating_sub(1).max(1);
                        continue;
                    }
                    _ => return Err(SourceError::SoapFault { what, fault }),
                },
                Err(e) => return Err(e),
            };
            let got = rows.len() as u64;
            out.extend(rows);
            if got < page {
                return Ok(out);
            }
            skip += got;
            if skip > limit {
                return Err(SourceError::malformed(
                    "CUCM AXL executeSQLQuery",
                    format!(
                        "paging did not end after {skip} rows (server announced {total}, {asked} user ids were asked for)"
                    ),
                ));
            }
        }
    }

    /// Runs one SQL query with retries (throttle, 5xx, timeouts) and metrics.
    async fn query(&self, sql: &str) -> Result<Vec<SqlRow>, SourceError> {
        with_retries(
            &self.settings.retry,
            "CUCM AXL executeSQLQuery",
            |_| async {
                let result = self.attempt(sql).await;
                match &result {
                    Ok(_) => {
                        self.metrics
                            .source_request(AXL_SOURCE_LABEL, ENDPOINT, RequestOutcome::Ok)
                    }
                    Err(e) => {
                        self.metrics.source_request(
                            AXL_SOURCE_LABEL,
                            ENDPOINT,
                            RequestOutcome::Error,
                        );
                        self.metrics.source_error(AXL_SOURCE_LABEL, e.error_type());
                    }
                }
                result
            },
        )
        .await
    }

    /// The memory-allocation throttle is retriable ([`SourceError::Throttled`]); every other
    /// fault (including "too large", handled by paging) is a [`SourceError::SoapFault`].
    fn fault_error(&self, fault: AxlFault) -> SourceError {
        let what = format!("CUCM AXL {}", self.settings.host);
        if fault.is_memory_throttle() {
            return SourceError::Throttled {
                what,
                message: fault.message().to_string(),
            };
        }
        SourceError::SoapFault { what, fault }
    }

    async fn attempt(&self, sql: &str) -> Result<Vec<SqlRow>, SourceError> {
        let mut sequence = self.sequence.lock().await;
        *sequence += 1;
        let sent = *sequence;
        let url = self.settings.url.as_str();
        let envelope = build_execute_sql_request(&self.settings.version, sent, sql);
        let resp = self
            .http
            .post(url)
            .basic_auth(
                &self.settings.username,
                Some(self.settings.password.expose()),
            )
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(
                "SOAPAction",
                format!("\"CUCM:DB ver={} executeSQLQuery\"", self.settings.version),
            )
            .body(envelope)
            .send()
            .await
            .map_err(|e| classify_transport(url, &e))?;
        let status = resp.status().as_u16();
        match status {
            401 | 403 => {
                return Err(SourceError::Unauthorized {
                    message: format!(
                        "CUCM AXL {} refused user {:?} (HTTP {status}): check cucm.username/cucm.password; the account needs the \"Standard AXL API Access\" role",
                        self.settings.host, self.settings.username
                    ),
                })
            }
            404 => {
                return Err(SourceError::NotFound {
                    url: url.to_string(),
                })
            }
            _ => {}
        }
        let body = read_body_limited(resp, url, self.settings.max_body_bytes).await?;
        if (200..300).contains(&status) {
            let (echo, rows) = match decode_execute_sql_response(&body) {
                Ok(decoded) => decoded,
                Err(SourceError::SoapFault { fault, .. }) => return Err(self.fault_error(fault)),
                Err(e) => return Err(e),
            };
            if let Some(echo) = echo {
                if echo != sent {
                    return Err(SourceError::malformed(
                        "CUCM AXL executeSQLQuery",
                        format!("response answers sequence {echo}, the request was {sent}"),
                    ));
                }
            }
            return Ok(rows);
        }
        if let Some(fault) = decode_fault(&body) {
            return Err(self.fault_error(fault));
        }
        if status >= 500 {
            return Err(SourceError::Http5xx {
                status,
                url: url.to_string(),
            });
        }
        Err(SourceError::HttpStatus {
            status,
            url: url.to_string(),
        })
    }
}

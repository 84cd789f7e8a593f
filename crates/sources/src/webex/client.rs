//! The Webex Contact Center client: lists users and teams over v1 or v2, with the shared paging
//! guards.

use super::decode::{decode_webex_error, ListBody, WebexTeam, WebexUser};
use crate::cloud::{CloudHttp, CloudSettings, FetchReport, PageCollector, Platform, TokenProvider};
use crate::error::SourceError;
use crate::HealthReport;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

/// Which list API flavour to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebexApiVersion {
    /// `/organization/{orgid}/user`: bare arrays, `page`/`pageSize`.
    V1,
    /// `/organization/{orgid}/v2/user`: `meta`/`data` envelopes.
    V2,
}

/// Client of one Webex Contact Center organisation. Requests run one at a time.
pub struct WebexClient {
    http: CloudHttp,
    org_id: String,
    version: WebexApiVersion,
}

impl WebexClient {
    /// Builds the client: needs `org_id`; `api_version` is `v1` or `v2` (default); refuses
    /// `http://` unless `allow_insecure_http`.
    pub fn new(cfg: &CloudConfig, metrics: Metrics) -> Result<Self, SourceError> {
        let org_id = cfg.org_id.as_deref().unwrap_or("").trim().to_string();
        if org_id.is_empty() {
            return Err(SourceError::Config {
                message: "webex.org_id is required".to_string(),
            });
        }
        if !org_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SourceError::Config {
                message: format!("webex.org_id {org_id:?} is not an organisation id"),
            });
        }
        let version = match cfg.api_version.as_deref().map(str::trim) {
            None | Some("") | Some("v2") => WebexApiVersion::V2,
            Some("v1") => WebexApiVersion::V1,
            Some(other) => {
                return Err(SourceError::Config {
                    message: format!("webex.api_version {other:?}: use \"v1\" or \"v2\""),
                })
            }
        };
        let settings = CloudSettings::from_config(Platform::Webex, cfg)?;
        Ok(WebexClient {
            http: CloudHttp::new(settings, metrics)?,
            org_id,
            version,
        })
    }

    /// Changes the retry back-off (tests and the demo use short ones).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        let s = self.http.settings_mut();
        s.retry.base = base;
        s.retry.max = max;
        self
    }

    /// Replaces the token provider (tests inject a clock).
    pub fn with_tokens(mut self, tokens: TokenProvider) -> Self {
        self.http = self.http.with_tokens(tokens);
        self
    }

    /// The shared HTTP layer (settings, token provider).
    pub fn http(&self) -> &CloudHttp {
        &self.http
    }

    /// The API flavour in use.
    pub fn version(&self) -> WebexApiVersion {
        self.version
    }

    /// Every user of the organisation (all pages; a failed page fails the call).
    pub async fn users(&self) -> Result<FetchReport<WebexUser>, SourceError> {
        self.list("user", "users", |u: &WebexUser| u.id.as_str())
            .await
    }

    /// Every team of the organisation, with the member ids the API reports.
    pub async fn teams(&self) -> Result<FetchReport<WebexTeam>, SourceError> {
        self.list("team", "teams", |t: &WebexTeam| t.id.as_str())
            .await
    }

    /// Read-only check: gets a token and reads one user.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let url = self.page_url("user", 0, 1);
        let fetched = self
            .http
            .get_json::<ListBody<WebexUser>>(&url, "user", "healthcheck", decode_webex_error)
            .await?;
        let items = match fetched.value {
            ListBody::Bare(v) => v.len(),
            ListBody::Envelope { data, .. } => data.len(),
        };
        let latency = started.elapsed();
        Ok(HealthReport {
            endpoint: url,
            latency,
            items,
            detail: format!(
                "Webex Contact Center org {} answered ({} API): {items} user(s) on a 1-record page in {} ms",
                self.org_id,
                match self.version {
                    WebexApiVersion::V1 => "v1",
                    WebexApiVersion::V2 => "v2",
                },
                latency.as_millis()
            ),
        })
    }

    fn page_url(&self, resource: &str, page: u64, size: u32) -> String {
        let v = match self.version {
            WebexApiVersion::V1 => "",
            WebexApiVersion::V2 => "v2/",
        };
        self.http.url(&format!(
            "/organization/{}/{v}{resource}?page={page}&pageSize={size}",
            self.org_id
        ))
    }

    async fn list<T: DeserializeOwned>(
        &self,
        resource: &'static str,
        plural: &str,
        id: fn(&T) -> &str,
    ) -> Result<FetchReport<T>, SourceError> {
        let s = self.http.settings();
        let size = s.page_size;
        let what = format!("webex {plural}");
        let mut pages = PageCollector::new(&what, s.max_empty_pages, s.max_pages);
        let mut url = self.page_url(resource, 0, size);
        let mut page_no: u64 = 0;
        let mut largest: Option<usize> = None;
        loop {
            pages.visit(&url)?;
            let label = format!("page {page_no}");
            let fetched = self
                .http
                .get_json::<ListBody<T>>(&url, resource, &label, decode_webex_error)
                .await?;
            let next = match fetched.value {
                ListBody::Bare(items) => {
                    let n = items.len();
                    // Stop at an empty page, or at a page shorter than both the size asked for
                    // and an earlier page (so a server that caps pageSize is still followed).
                    let short = n < size as usize && largest.is_some_and(|l| n < l);
                    let more = n > 0 && !short;
                    let added = pages.add_page(items, fetched.requests, id, more)?;
                    if n > 0 && added == 0 {
                        return Err(SourceError::malformed(
                            &what,
                            format!("{label} ({url}) repeated only records already seen; the server seems to ignore `page`"),
                        ));
                    }
                    largest = Some(largest.unwrap_or(0).max(n));
                    more.then(|| self.page_url(resource, page_no + 1, size))
                }
                ListBody::Envelope { meta, data } => {
                    let next = match meta.links.next.as_deref().filter(|l| !l.trim().is_empty()) {
                        Some(link) => Some(self.http.resolve_link(link, &what)?),
                        None => {
                            let current = meta.page.unwrap_or(page_no);
                            let total = meta.total_pages.unwrap_or(0);
                            (current + 1 < total)
                                .then(|| self.page_url(resource, current + 1, size))
                        }
                    };
                    pages.add_page(data, fetched.requests, id, next.is_some())?;
                    next
                }
            };
            match next {
                Some(n) => {
                    url = n;
                    page_no += 1;
                }
                None => break,
            }
        }
        Ok(pages.finish())
    }
}

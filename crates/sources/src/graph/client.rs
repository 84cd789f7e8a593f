//! The Microsoft Graph client: users, and groups with their user members.

use super::decode::{decode_graph_error, GraphGroup, GraphMember, GraphUser, ODataPage};
use crate::cloud::{
    path_segment, CloudHttp, CloudSettings, FetchReport, PageCollector, Platform, TokenProvider,
};
use crate::error::SourceError;
use crate::HealthReport;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

/// Client of one Microsoft Graph tenant. Requests run one at a time.
pub struct GraphClient {
    http: CloudHttp,
}

impl GraphClient {
    /// Builds the client; refuses `http://` unless `allow_insecure_http`.
    pub fn new(cfg: &CloudConfig, metrics: Metrics) -> Result<Self, SourceError> {
        let settings = CloudSettings::from_config(Platform::Graph, cfg)?;
        Ok(GraphClient {
            http: CloudHttp::new(settings, metrics)?,
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

    /// Every user of the tenant (`$top` = page size; follows `@odata.nextLink`).
    pub async fn users(&self) -> Result<FetchReport<GraphUser>, SourceError> {
        let size = self.http.settings().page_size;
        let url = self.http.url(&format!("/v1.0/users?$top={size}"));
        self.by_link(&url, "user", "graph users", |u: &GraphUser| u.id.as_str())
            .await
    }

    /// Every group (filtered by `imported_groups` when set), each with the ids of its members
    /// that are users (nested groups, devices and service principals are skipped).
    pub async fn teams(&self) -> Result<FetchReport<GraphGroup>, SourceError> {
        let size = self.http.settings().page_size;
        let url = self.http.url(&format!("/v1.0/groups?$top={size}"));
        let groups = self
            .by_link(&url, "group", "graph groups", |g: &GraphGroup| {
                g.id.as_str()
            })
            .await?;
        let mut report = FetchReport {
            items: Vec::new(),
            warnings: groups.warnings,
            requests: groups.requests,
        };
        for mut group in groups.items {
            if !self.http.settings().wants_group(&group.display_name) {
                continue;
            }
            let url = self.http.url(&format!(
                "/v1.0/groups/{}/members?$top={size}",
                path_segment(&group.id)
            ));
            let what = format!("graph members of group '{}'", group.display_name);
            let members = self
                .by_link(&url, "members", &what, |m: &GraphMember| m.id.as_str())
                .await?;
            report.requests += members.requests;
            report.warnings.extend(members.warnings);
            group.member_ids = members
                .items
                .into_iter()
                .filter(GraphMember::is_user)
                .map(|m| m.id)
                .collect();
            report.items.push(group);
        }
        Ok(report)
    }

    /// Read-only check: gets a token and reads one user.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let url = self.http.url("/v1.0/users?$top=1");
        let fetched = self
            .http
            .get_json::<ODataPage<GraphUser>>(&url, "user", "healthcheck", decode_graph_error)
            .await?;
        let latency = started.elapsed();
        let items = fetched.value.value.len();
        Ok(HealthReport {
            endpoint: url,
            latency,
            items,
            detail: format!(
                "Microsoft Graph answered: {items} user(s) on a 1-record page in {} ms",
                latency.as_millis()
            ),
        })
    }

    async fn by_link<T: DeserializeOwned>(
        &self,
        first: &str,
        endpoint: &'static str,
        what: &str,
        id: fn(&T) -> &str,
    ) -> Result<FetchReport<T>, SourceError> {
        let s = self.http.settings();
        let mut pages = PageCollector::new(what, s.max_empty_pages, s.max_pages);
        let mut url = first.to_string();
        loop {
            pages.visit(&url)?;
            let label = format!("page {}", pages.pages());
            let fetched = self
                .http
                .get_json::<ODataPage<T>>(&url, endpoint, &label, decode_graph_error)
                .await?;
            let next = match fetched.value.next_link.as_deref() {
                Some(link) if !link.trim().is_empty() => Some(self.http.resolve_link(link, what)?),
                _ => None,
            };
            pages.add_page(fetched.value.value, fetched.requests, id, next.is_some())?;
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        Ok(pages.finish())
    }
}

//! The Zoom client: active users, and groups with their members, paged by `next_page_token`.

use super::decode::{decode_zoom_error, GroupsPage, MembersPage, UsersPage, ZoomGroup, ZoomUser};
use crate::cloud::{
    path_segment, with_query, CloudHttp, CloudSettings, FetchReport, PageCollector, Platform,
    TokenProvider,
};
use crate::error::SourceError;
use crate::HealthReport;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

/// Client of one Zoom account. Requests run one at a time.
pub struct ZoomClient {
    http: CloudHttp,
}

impl ZoomClient {
    /// Builds the client; refuses `http://` unless `allow_insecure_http`. OAuth client
    /// credentials are sent both as HTTP Basic (what Zoom expects) and in the form.
    pub fn new(cfg: &CloudConfig, metrics: Metrics) -> Result<Self, SourceError> {
        let mut settings = CloudSettings::from_config(Platform::Zoom, cfg)?;
        settings.client_auth = crate::cloud::ClientAuth::Both;
        Ok(ZoomClient {
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

    /// Every active user (`status=active`; inactive users are absent, so they get disabled).
    pub async fn users(&self) -> Result<FetchReport<ZoomUser>, SourceError> {
        let size = self.http.settings().page_size;
        let url = self
            .http
            .url(&format!("/v2/users?status=active&page_size={size}"));
        self.by_token(
            &url,
            "user",
            "zoom users",
            |p: UsersPage| (p.users, p.next_page_token),
            |u: &ZoomUser| u.id.as_str(),
        )
        .await
    }

    /// Every group (filtered by `imported_groups` when set), each with its members' user ids.
    pub async fn teams(&self) -> Result<FetchReport<ZoomGroup>, SourceError> {
        let size = self.http.settings().page_size;
        let url = self.http.url(&format!("/v2/groups?page_size={size}"));
        let groups = self
            .by_token(
                &url,
                "group",
                "zoom groups",
                |p: GroupsPage| (p.groups, p.next_page_token),
                |g: &ZoomGroup| g.id.as_str(),
            )
            .await?;
        let mut report = FetchReport {
            items: Vec::new(),
            warnings: groups.warnings,
            requests: groups.requests,
        };
        for mut group in groups.items {
            if !self.http.settings().wants_group(&group.name) {
                continue;
            }
            let url = self.http.url(&format!(
                "/v2/groups/{}/members?page_size={size}",
                path_segment(&group.id)
            ));
            let what = format!("zoom members of group '{}'", group.name);
            let members = self
                .by_token(
                    &url,
                    "members",
                    &what,
                    |p: MembersPage| (p.members, p.next_page_token),
                    |m: &super::decode::ZoomMember| m.id.as_str(),
                )
                .await?;
            report.requests += members.requests;
            report.warnings.extend(members.warnings);
            group.member_ids = members.items.into_iter().map(|m| m.id).collect();
            report.items.push(group);
        }
        Ok(report)
    }

    /// Read-only check: gets a token and reads one user.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let url = self.http.url("/v2/users?status=active&page_size=1");
        let fetched = self
            .http
            .get_json::<UsersPage>(&url, "user", "healthcheck", decode_zoom_error)
            .await?;
        let latency = started.elapsed();
        let items = fetched.value.users.len();
        Ok(HealthReport {
            endpoint: url,
            latency,
            items,
            detail: format!(
                "Zoom answered: {items} user(s) on a 1-record page in {} ms",
                latency.as_millis()
            ),
        })
    }

    async fn by_token<P: DeserializeOwned, T>(
        &self,
        first: &str,
        endpoint: &'static str,
        what: &str,
        split: fn(P) -> (Vec<T>, Option<String>),
        id: fn(&T) -> &str,
    ) -> Result<FetchReport<T>, SourceError> {
        let s = self.http.settings();
        let mut pages = PageCollector::new(what, s.max_empty_pages, s.max_pages);
        let mut token: Option<String> = None;
        pages.visit("")?;
        loop {
            let url = match &token {
                None => first.to_string(),
                Some(t) => with_query(first, "next_page_token", t),
            };
            let label = format!("page {}", pages.pages());
            let fetched = self
                .http
                .get_json::<P>(&url, endpoint, &label, decode_zoom_error)
                .await?;
            let (items, next) = split(fetched.value);
            let next = next.filter(|t| !t.trim().is_empty());
            pages.add_page(items, fetched.requests, id, next.is_some())?;
            match next {
                Some(t) => {
                    pages.visit(&t)?;
                    token = Some(t);
                }
                None => break,
            }
        }
        Ok(pages.finish())
    }
}

//! The UCCE ConfigAPI client: paged GETs with Basic auth, concurrent page fetching once the total
//! is known, consistency checks across pages, status mapping, retries and metrics.

use super::config::{UcceSettings, AGENT_ENDPOINT, AGENT_TEAM_ENDPOINT, SKILL_GROUP_ENDPOINT};
use super::decode::{
    decode_agents_page, decode_api_errors, decode_skill_groups_page, decode_teams_page, PageInfo,
    UcceAgent, UcceSkillGroup, UcceTeam,
};
use crate::error::SourceError;
use crate::http::{build_client, classify_transport, read_body_limited, with_retries, HttpOptions};
use crate::FetchReport;
use crate::HealthReport;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::ACCEPT;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wfm_telemetry::{Metrics, RequestOutcome};

/// A listed record with a stable id, used to drop duplicates across pages.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for UcceAgent {
    fn key(&self) -> &str {
        &self.agent_id
    }
}

impl Keyed for UcceTeam {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for UcceSkillGroup {
    fn key(&self) -> &str {
        &self.id
    }
}

type PageDecoder<T> = fn(&[u8]) -> Result<(PageInfo, Vec<T>), SourceError>;

/// One list endpoint: path, metrics label, record kind for messages, decoder.
struct Endpoint<T> {
    path: &'static str,
    label: &'static str,
    kind: &'static str,
    decode: PageDecoder<T>,
    /// Requests sent for this listing so far (every attempt).
    requests: AtomicU32,
}

impl<T> Endpoint<T> {
    fn new(
        path: &'static str,
        label: &'static str,
        kind: &'static str,
        decode: PageDecoder<T>,
    ) -> Self {
        Endpoint {
            path,
            label,
            kind,
            decode,
            requests: AtomicU32::new(0),
        }
    }
}

/// One fetched page: the `startIndex` asked for, its page info and records.
struct Page<T> {
    start: u64,
    info: PageInfo,
    items: Vec<T>,
}

/// How one complete pass over a listing ended.
enum Pass<T> {
    Done(Vec<T>),
    TotalChanged { from: u64, to: u64 },
}

/// Client of one UCCE/PCCE AW (ConfigAPI). At most `concurrency` requests are in flight at once
/// across every call on this client; cheap to share behind an `Arc`.
///
/// Execution contract of every listing: read page 0; when `totalResults` is known, read the
/// remaining pages concurrently and reassemble them in order; any page that still fails after
/// the retries fails the whole listing (never a partial result).
pub struct UcceClient {
    settings: UcceSettings,
    http: reqwest::Client,
    metrics: Metrics,
    gate: Semaphore,
}

impl UcceClient {
    /// Builds the client. Refuses `http` unless `allow_insecure_http` (and warns loudly when
    /// allowed), a page size outside 1–100 and an unreadable `ca_file`.
    pub fn new(cfg: &wfm_config::UcceConfig, metrics: Metrics) -> Result<Self, SourceError> {
        Self::from_settings(UcceSettings::from_config(cfg)?, metrics)
    }

    /// Builds the client from already validated settings (e.g. with a smaller body limit).
    pub fn from_settings(settings: UcceSettings, metrics: Metrics) -> Result<Self, SourceError> {
        let http = build_client(&HttpOptions {
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
            cookies: false,
        })?;
        let gate = Semaphore::new(settings.concurrency.max(1));
        Ok(UcceClient {
            settings,
            http,
            metrics,
            gate,
        })
    }

    /// Changes the retry back-off (first delay and cap); tests and the demo use short ones.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.retry.base = base;
        self.settings.retry.max = max;
        self
    }

    /// Every agent (`GET /unifiedconfig/config/agent`); warnings are logged.
    pub async fn agents(&self) -> Result<Vec<UcceAgent>, SourceError> {
        Ok(self.agents_report().await?.items)
    }

    /// Every agent, with the warnings of the listing.
    pub async fn agents_report(&self) -> Result<FetchReport<UcceAgent>, SourceError> {
        self.list(&Endpoint::new(
            AGENT_ENDPOINT,
            "agent",
            "agent",
            decode_agents_page,
        ))
        .await
    }

    /// Every agent team (`GET /unifiedconfig/config/agentteam`); warnings are logged.
    pub async fn teams(&self) -> Result<Vec<UcceTeam>, SourceError> {
        Ok(self.teams_report().await?.items)
    }

    /// Every agent team, with the warnings of the listing.
    pub async fn teams_report(&self) -> Result<FetchReport<UcceTeam>, SourceError> {
        self.list(&teams_endpoint()).await
    }

    /// Every skill group (`GET /unifiedconfig/config/skillgroup`); warnings are logged.
    pub async fn skill_groups(&self) -> Result<Vec<UcceSkillGroup>, SourceError> {
        Ok(self.skill_groups_report().await?.items)
    }

    /// Every skill group, with the warnings of the listing.
    pub async fn skill_groups_report(&self) -> Result<FetchReport<UcceSkillGroup>, SourceError> {
        self.list(&Endpoint::new(
            SKILL_GROUP_ENDPOINT,
            "skillgroup",
            "skill group",
            decode_skill_groups_page,
        ))
        .await
    }

    /// Read-only check of connectivity and credentials: one agent-team page of one record;
    /// reports the team total (when the server gives it) and the latency.
    pub async fn healthcheck(&self) -> Result<HealthReport, SourceError> {
        let started = Instant::now();
        let page = self.page(&teams_endpoint(), 0, 1).await?;
        let latency = started.elapsed();
        let items = page
            .info
            .total_results
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(page.items.len());
        Ok(HealthReport {
            endpoint: format!("{}{}", self.settings.base_url, AGENT_TEAM_ENDPOINT),
            latency,
            items,
            detail: format!(
                "UCCE {} answered as {}: {items} agent teams in {} ms",
                self.settings.host,
                self.settings.username,
                latency.as_millis()
            ),
        })
    }

    /// A whole listing: one pass, and a second one when `totalResults` moved during the first.
    async fn list<T: Keyed>(&self, ep: &Endpoint<T>) -> Result<FetchReport<T>, SourceError> {
        let mut warnings = Vec::new();
        let mut previous: Option<(u64, u64)> = None;
        for _ in 0..2 {
            match self.pass(ep, &mut warnings).await? {
                Pass::Done(items) => {
                    let items = dedupe(items, ep.kind, &mut warnings);
                    for w in &warnings {
                        tracing::warn!(target: "wfm_sources", source = %self.settings.source_id, "{w}");
                    }
                    return Ok(FetchReport {
                        items,
                        warnings,
                        requests: ep.requests.load(Ordering::Relaxed),
                    });
                }
                Pass::TotalChanged { from, to } => {
                    push_unique(
                        &mut warnings,
                        format!(
                            "UCCE {}: totalResults changed from {from} to {to} while paging ({}s were added or removed); all pages were read again",
                            ep.path, ep.kind
                        ),
                    );
                    previous = Some((from, to));
                }
            }
        }
        let (from, to) = previous.unwrap_or_default();
        Err(SourceError::malformed(
            format!("UCCE {}", ep.path),
            format!(
                "totalResults kept changing while paging (last {from} -> {to}) in two passes; the {} list is being edited, nothing was imported; the next run will try again",
                ep.kind
            ),
        ))
    }

    /// One pass over every page.
    async fn pass<T: Keyed>(
        &self,
        ep: &Endpoint<T>,
        warnings: &mut Vec<String>,
    ) -> Result<Pass<T>, SourceError> {
        let page_size = u64::from(self.settings.page_size);
        let first = self.page(ep, 0, page_size).await?;
        let Some(total) = first.info.total_results else {
            return self.follow_next_pages(ep, first).await.map(Pass::Done);
        };
        let stride = first.items.len() as u64;
        if stride >= total {
            return Ok(Pass::Done(first.items));
        }
        if stride == 0 {
            return Err(empty_page(ep, 0, 1, total));
        }
        if stride != page_size {
            push_unique(
                warnings,
                format!(
                    "UCCE {} returned {stride} records per page (resultsPerPage={}) although {page_size} were asked; paging by {stride}",
                    ep.path,
                    first.info.results_per_page.map_or("absent".to_string(), |r| r.to_string())
                ),
            );
        }
        let pages_needed = total.div_ceil(stride);
        if pages_needed > self.settings.max_pages as u64 {
            return Err(self.too_many_pages(ep, total, stride));
        }
        let starts: Vec<u64> = (1..pages_needed).map(|k| k * stride).collect();
        let fetched: Vec<Page<T>> = futures::stream::iter(starts)
            .map(|start| self.page(ep, start, page_size))
            .buffer_unordered(self.settings.concurrency.max(1))
            .try_collect()
            .await?;
        let mut pages: BTreeMap<u64, Page<T>> = BTreeMap::new();
        pages.insert(0, first);
        for page in fetched {
            if let Some(to) = page.info.total_results.filter(|t| *t != total) {
                return Ok(Pass::TotalChanged { from: total, to });
            }
            pages.insert(page.start, page);
        }
        self.assemble(ep, pages, total, stride).await
    }

    /// Walks the pages in index order, dropping overlaps and reading any hole (a page that
    /// came back shorter than expected) sequentially, until `total` records are in hand.
    async fn assemble<T: Keyed>(
        &self,
        ep: &Endpoint<T>,
        mut pages: BTreeMap<u64, Page<T>>,
        total: u64,
        stride: u64,
    ) -> Result<Pass<T>, SourceError> {
        let page_size = u64::from(self.settings.page_size);
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let mut cursor = 0u64;
        let mut extra_fetches = 0usize;
        while cursor < total {
            let covering = pages
                .range(..=cursor)
                .rev()
                .find(|(start, p)| **start + p.items.len() as u64 > cursor)
                .map(|(start, _)| *start);
            if let Some(start) = covering {
                let Some(page) = pages.remove(&start) else {
                    break;
                };
                let skip = usize::try_from(cursor - start).unwrap_or(usize::MAX);
                let len = page.items.len() as u64;
                out.extend(page.items.into_iter().skip(skip));
                cursor = start + len;
                continue;
            }
            extra_fetches += 1;
            if extra_fetches > self.settings.max_pages {
                return Err(self.too_many_pages(ep, total, stride));
            }
            let page = self.page(ep, cursor, page_size).await?;
            if let Some(to) = page.info.total_results.filter(|t| *t != total) {
                return Ok(Pass::TotalChanged { from: total, to });
            }
            if page.items.is_empty() {
                return Err(empty_page(ep, cursor, cursor / stride + 1, total));
            }
            pages.insert(cursor, page);
        }
        Ok(Pass::Done(out))
    }

    /// Without `totalResults`: reads page after page while the server names a `nextPage`. The
    /// next `startIndex` is computed from what was received (so a `nextPage` that skips ahead
    /// misses nothing); a `nextPage` pointing at a page already read is a loop and an error.
    /// The `nextPage` URL itself is never requested (credentials stay on the configured host).
    async fn follow_next_pages<T: Keyed>(
        &self,
        ep: &Endpoint<T>,
        first: Page<T>,
    ) -> Result<Vec<T>, SourceError> {
        let page_size = u64::from(self.settings.page_size);
        let mut seen: HashSet<u64> = HashSet::from([first.start]);
        let mut cursor = first.items.len() as u64;
        let mut next = first
            .info
            .next_page
            .is_some()
            .then(|| first.info.next_start_index());
        let mut current_start = first.start;
        let mut current_empty = first.items.is_empty();
        let mut out = first.items;
        while let Some(named) = next {
            if let Some(target) = named.filter(|t| seen.contains(t) || *t < current_start) {
                return Err(SourceError::malformed(
                    format!("UCCE {}", ep.path),
                    format!(
                        "nextPage of the page at startIndex={current_start} points back to startIndex={target}: a paging loop; nothing was imported"
                    ),
                ));
            }
            if current_empty {
                return Err(SourceError::malformed(
                    format!("UCCE {}", ep.path),
                    format!(
                        "the page at startIndex={current_start} is empty but names a nextPage; nothing was imported"
                    ),
                ));
            }
            if seen.len() >= self.settings.max_pages {
                return Err(SourceError::TooLarge {
                    what: format!("UCCE {}", ep.path),
                    detail: format!("more than {} pages", self.settings.max_pages),
                });
            }
            let page = self.page(ep, cursor, page_size).await?;
            seen.insert(cursor);
            current_start = cursor;
            current_empty = page.items.is_empty();
            cursor += page.items.len() as u64;
            next = page
                .info
                .next_page
                .is_some()
                .then(|| page.info.next_start_index());
            out.extend(page.items);
        }
        Ok(out)
    }

    /// One page, with retries; checks that the server applied the `startIndex` asked for.
    async fn page<T>(
        &self,
        ep: &Endpoint<T>,
        start: u64,
        per_page: u64,
    ) -> Result<Page<T>, SourceError> {
        let url = format!(
            "{}{}?startIndex={start}&resultsPerPage={per_page}",
            self.settings.base_url, ep.path
        );
        let what = format!("UCCE {} (startIndex={start})", ep.path);
        let url = url.as_str();
        let (info, items) = with_retries(&self.settings.retry, &what, |attempt| async move {
            let last = attempt >= self.settings.retry.retries;
            ep.requests.fetch_add(1, Ordering::Relaxed);
            let result = self.attempt(url, ep.decode, last).await;
            let source = self.settings.source_id.as_str();
            match &result {
                Ok(_) => self
                    .metrics
                    .source_request(source, ep.label, RequestOutcome::Ok),
                Err(e) => {
                    self.metrics
                        .source_request(source, ep.label, RequestOutcome::Error);
                    self.metrics.source_error(source, e.error_type());
                }
            }
            result
        })
        .await?;
        if let Some(got) = info.start_index.filter(|s| *s != start) {
            return Err(SourceError::malformed(
                what,
                format!("asked for startIndex={start} but the server answered the page at startIndex={got}; nothing was imported"),
            ));
        }
        Ok(Page { start, info, items })
    }

    /// One request. A 429 waits out the server's `Retry-After` (capped at [`MAX_RETRY_AFTER`],
    /// not on the `last` attempt, without holding a concurrency slot) before it is reported as
    /// the retriable [`SourceError::Throttled`].
    async fn attempt<T>(
        &self,
        url: &str,
        decode: PageDecoder<T>,
        last: bool,
    ) -> Result<(PageInfo, Vec<T>), SourceError> {
        let answer = {
            let _permit = self.gate.acquire().await.map_err(|_| SourceError::Config {
                message: "the UCCE client is shutting down".to_string(),
            })?;
            let resp = self
                .http
                .get(url)
                .basic_auth(
                    &self.settings.username,
                    Some(self.settings.password.expose()),
                )
                .header(ACCEPT, "application/xml")
                .send()
                .await
                .map_err(|e| classify_transport(url, &e))?;
            let status = resp.status().as_u16();
            match status {
                401 | 403 => return Err(self.unauthorized(status)),
                404 => {
                    return Err(SourceError::NotFound {
                        url: url.to_string(),
                    })
                }
                429 => Err(retry_after(&resp)),
                _ => {
                    let body = read_body_limited(resp, url, self.settings.max_body_bytes).await?;
                    Ok((status, body))
                }
            }
        };
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(wait) => {
                if let Some(wait) = wait.filter(|_| !last) {
                    tokio::time::sleep(wait).await;
                }
                return Err(SourceError::Throttled {
                    what: url.to_string(),
                    message: format!(
                        "HTTP 429 Too Many Requests{}",
                        wait.map_or(String::new(), |w| format!(
                            " (Retry-After {} s)",
                            w.as_secs()
                        ))
                    ),
                });
            }
        };
        if (200..300).contains(&status) {
            return decode(&body);
        }
        if let Some(errors) = decode_api_errors(&body).filter(|e| !e.is_empty()) {
            return Err(SourceError::Api {
                what: url.to_string(),
                status,
                errors: errors.iter().map(|e| e.to_source()).collect(),
            });
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

    fn unauthorized(&self, status: u16) -> SourceError {
        SourceError::Unauthorized {
            message: format!(
                "UCCE {} refused user {:?} (HTTP {status}) for source '{}': check ucce.username (user@domain) and ucce.password; the account needs ConfigAPI read rights",
                self.settings.host, self.settings.username, self.settings.source_id
            ),
        }
    }

    fn too_many_pages<T>(&self, ep: &Endpoint<T>, total: u64, stride: u64) -> SourceError {
        SourceError::TooLarge {
            what: format!("UCCE {}", ep.path),
            detail: format!(
                "totalResults={total} at {stride} per page needs more than {} pages",
                self.settings.max_pages
            ),
        }
    }
}

/// The longest `Retry-After` honoured; longer waits are cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The `Retry-After` of a 429 in seconds (the HTTP-date form is ignored), capped.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs = value.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

fn teams_endpoint() -> Endpoint<UcceTeam> {
    Endpoint::new(
        AGENT_TEAM_ENDPOINT,
        "agentteam",
        "agent team",
        decode_teams_page,
    )
}

fn empty_page<T>(ep: &Endpoint<T>, start: u64, number: u64, total: u64) -> SourceError {
    SourceError::malformed(
        format!("UCCE {}", ep.path),
        format!(
            "page {number} (startIndex={start}) came back empty although totalResults={total}; nothing was imported"
        ),
    )
}

fn push_unique(warnings: &mut Vec<String>, w: String) {
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// Keeps the first record of every id; names the dropped duplicates in one warning.
fn dedupe<T: Keyed>(items: Vec<T>, kind: &str, warnings: &mut Vec<String>) -> Vec<T> {
    let mut seen: HashSet<String> = HashSet::with_capacity(items.len());
    let mut dups: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(item.key().to_string()) {
            out.push(item);
        } else {
            dups.push(item.key().to_string());
        }
    }
    if !dups.is_empty() {
        let sample: Vec<&str> = dups.iter().take(10).map(String::as_str).collect();
        warnings.push(format!(
            "{} duplicate {kind} record(s) across pages were dropped (the first copy was kept): {}{}",
            dups.len(),
            sample.join(", "),
            if dups.len() > sample.len() { ", …" } else { "" }
        ));
    }
    out
}

//! HTTP metrics: a middleware counting every request by route template, method and status; the
//! queue-interval metrics (ingested rows, and the freshness of every queue computed when
//! `/metrics` is scraped); and the `/metrics` exposition endpoint.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;
use wfm_protocol::intervals::IntervalBatchResponse;
use wfm_protocol::states::StateBatchResponse;
use wfm_telemetry::metrics::{HttpLabels, RouteLabels};

/// Content type of the exposition (`Metrics::encode` writes OpenMetrics text).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts the request into `wfm_hub_http_requests_total` and observes its latency in
/// `wfm_hub_http_request_duration_seconds`, labelled by route template (never a concrete id).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route: route.clone(),
            method: method.to_string(),
            status,
        })
        .inc();
    state
        .metrics
        .http_duration
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Labels of `wfm_hub_interval_rows_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntervalRowLabels {
    /// Project id.
    pub project: String,
    /// `inserted`, `updated`, `unchanged` or `removed`.
    pub outcome: String,
}

/// Labels of `wfm_hub_interval_freshness_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FreshnessLabels {
    /// Project id.
    pub project: String,
    /// Importer source id.
    pub source: String,
    /// Queue id.
    pub queue: String,
}

/// The hub's queue-interval metrics. Cheap to clone (shared handles).
#[derive(Debug, Clone, Default)]
pub struct IntervalMetrics {
    /// `wfm_hub_interval_rows_total`: rows of applied interval batches, by outcome (replays are
    /// not counted).
    pub rows: Family<IntervalRowLabels, Counter>,
}

impl IntervalMetrics {
    /// Counts the rows of one applied batch.
    pub fn count_batch(&self, project: &str, r: &IntervalBatchResponse) {
        for (outcome, n) in [
            ("inserted", r.inserted),
            ("updated", r.updated),
            ("unchanged", r.unchanged),
            ("removed", r.removed),
        ] {
            self.rows
                .get_or_create(&IntervalRowLabels {
                    project: project.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
    }
}

/// `wfm_hub_interval_rows_total` and `wfm_hub_interval_freshness_seconds` (now − end of the
/// newest stored interval of every queue of every configured project, read from the store with
/// the injected clock) as OpenMetrics text, ending with `# EOF`. A project whose queues cannot be
/// read is left out (and logged) rather than failing the scrape.
pub async fn interval_exposition(state: &AppState) -> String {
    let freshness = Family::<FreshnessLabels, Gauge<f64, AtomicU64>>::default();
    let now = (state.clock)();
    for project in state.projects.projects() {
        let newest = match state.store.newest_intervals(project).await {
            Ok(newest) => newest,
            Err(e) => {
                tracing::warn!(project = %project, error = %e, "freshness: cannot read the newest intervals");
                continue;
            }
        };
        for n in newest {
            let end = n.start + time::Duration::minutes(i64::from(n.interval_minutes));
            freshness
                .get_or_create(&FreshnessLabels {
                    project: project.to_string(),
                    source: n.source,
                    queue: n.queue,
                })
                .set((now - end).as_seconds_f64());
        }
    }
    let mut registry = Registry::default();
    registry.register(
        "wfm_hub_interval_rows",
        "Rows of applied interval batches, by outcome",
        state.interval_metrics.rows.clone(),
    );
    registry.register(
        "wfm_hub_interval_freshness_seconds",
        "Seconds from the end of the newest stored interval of a queue to now",
        freshness,
    );
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}

/// `GET /metrics`: Prometheus/OpenMetrics text of every metric of the process; no auth.
pub async fn exposition(State(state): State<AppState>) -> Response {
    let mut body = state.metrics.encode();
    // Both parts end with the OpenMetrics `# EOF` marker: keep only the last one.
    if let Some(stripped) = body.strip_suffix("# EOF\n") {
        body.truncate(stripped.len());
    }
    body.push_str(&interval_exposition(&state).await);
    if let Some(stripped) = body.strip_suffix("# EOF\n") {
        body.truncate(stripped.len());
    }
    body.push_str(&state_exposition(&state).await);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}

/// Labels of `wfm_hub_agent_state_events_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateEventLabels {
    /// Project id.
    pub project: String,
    /// `accepted` (stored, agent known), `unknown_agent` (stored, flagged) or `duplicate`
    /// (already held): the outcomes partition the events of applied batches.
    pub outcome: String,
}

/// Labels of `wfm_hub_agent_state_last_event_timestamp_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateSourceLabels {
    /// Project id.
    pub project: String,
    /// Importer source id.
    pub source: String,
}

/// The hub's agent-state metrics. Cheap to clone (shared handles).
#[derive(Debug, Clone, Default)]
pub struct StateMetrics {
    /// `wfm_hub_agent_state_events_total`: events of applied state batches, by outcome
    /// (replays are not counted).
    pub events: Family<StateEventLabels, Counter>,
}

impl StateMetrics {
    /// Counts the events of one applied batch.
    pub fn count_batch(&self, project: &str, r: &StateBatchResponse) {
        for (outcome, n) in [
            ("accepted", r.accepted.saturating_sub(r.unknown_agents)),
            ("unknown_agent", r.unknown_agents),
            ("duplicate", r.duplicates),
        ] {
            self.events
                .get_or_create(&StateEventLabels {
                    project: project.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
    }
}

/// `wfm_hub_agent_state_events_total` and `wfm_hub_agent_state_last_event_timestamp_seconds`
/// (the instant of the newest stored event of every source of every configured project, read
/// from the store at scrape time) as OpenMetrics text ending with `# EOF`. A project whose
/// events cannot be read is left out (and logged).
pub async fn state_exposition(state: &AppState) -> String {
    let newest = Family::<StateSourceLabels, Gauge<f64, AtomicU64>>::default();
    for project in state.projects.projects() {
        let sources = match state.store.newest_state_events(project).await {
            Ok(sources) => sources,
            Err(e) => {
                tracing::warn!(project = %project, error = %e, "agent states: cannot read the newest events");
                continue;
            }
        };
        for (source, at) in sources {
            newest
                .get_or_create(&StateSourceLabels {
                    project: project.to_string(),
                    source,
                })
                .set(at.unix_timestamp_nanos() as f64 / 1e9);
        }
    }
    let mut registry = Registry::default();
    registry.register(
        "wfm_hub_agent_state_events",
        "Events of applied agent-state batches, by outcome",
        state.state_metrics.events.clone(),
    );
    registry.register(
        "wfm_hub_agent_state_last_event_timestamp_seconds",
        "Unix time of the newest stored agent-state event of a source",
        newest,
    );
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}

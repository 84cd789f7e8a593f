//! Every metric, its name, type, unit and labels. Names follow Prometheus conventions: prefix
//! `wfm_`, base units, `_total` on counters.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Outcome of one request to an upstream API.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Answered successfully.
    Ok,
    /// Failed (the error type is counted separately).
    Error,
}

impl RequestOutcome {
    /// The label value: `ok` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Error => "error",
        }
    }
}

/// Labels of upstream requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceRequestLabels {
    /// Configured source id (or `cucm`).
    pub source: String,
    /// Fixed endpoint name, e.g. `resource`, `team`, `executeSQLQuery`.
    pub endpoint: String,
    /// `ok` or `error`.
    pub outcome: String,
}

/// Labels of upstream errors.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceErrorLabels {
    /// Configured source id.
    pub source: String,
    /// Bounded error type, e.g. `unauthorized`, `timeout`, `malformed`, `throttled`.
    pub error_type: String,
}

/// Labels of synced-object counts.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncObjectLabels {
    /// Configured source id.
    pub source: String,
    /// `user`, `group`, `membership` or `role`.
    pub kind: String,
    /// `created`, `updated`, `disabled`, `reenabled`, `unchanged`, `added`, `removed`.
    pub outcome: String,
}

/// Labels carrying only the source id.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// Configured source id.
    pub source: String,
}

/// Labels of sync runs.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncRunLabels {
    /// Configured source id.
    pub source: String,
    /// `applied`, `dry_run`, `refused` or `failed`.
    pub result: String,
}

/// Labels of hub HTTP requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Route template, e.g. `/api/v1/users/{id}` (never the concrete path).
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Status code class or code, e.g. `200`.
    pub status: String,
}

/// Labels of hub HTTP latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Route template.
    pub route: String,
}

/// All metrics of one process, registered in one registry. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `wfm_source_requests_total`: requests to upstream APIs.
    pub source_requests: Family<SourceRequestLabels, Counter>,
    /// `wfm_source_errors_total`: upstream errors by bounded type.
    pub source_errors: Family<SourceErrorLabels, Counter>,
    /// `wfm_sync_objects_total`: directory objects by outcome.
    pub sync_objects: Family<SyncObjectLabels, Counter>,
    /// `wfm_sync_runs_total`: sync runs by result.
    pub sync_runs: Family<SyncRunLabels, Counter>,
    /// `wfm_sync_run_duration_seconds`: wall time of a sync run (fetch + apply).
    pub sync_duration: Family<SourceLabels, Histogram>,
    /// `wfm_sync_last_success_timestamp_seconds`: Unix time of the last applied sync.
    pub sync_last_success: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    /// `wfm_hub_http_requests_total`: hub requests by route template, method and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `wfm_hub_http_request_duration_seconds`: hub request latency by route template.
    pub http_duration: Family<RouteLabels, Histogram>,
    /// `wfm_importer_outbox_*`: the importer's outbox (conservation, depth, freshness, disk).
    pub outbox: crate::outbox::OutboxMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let source_requests = Family::<SourceRequestLabels, Counter>::default();
        let source_errors = Family::<SourceErrorLabels, Counter>::default();
        let sync_objects = Family::<SyncObjectLabels, Counter>::default();
        let sync_runs = Family::<SyncRunLabels, Counter>::default();
        let sync_duration = Family::<SourceLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let sync_last_success = Family::<SourceLabels, Gauge<f64, AtomicU64>>::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let r = &mut registry;
        r.register(
            "wfm_source_requests",
            "Requests to upstream APIs",
            source_requests.clone(),
        );
        r.register(
            "wfm_source_errors",
            "Upstream errors by type",
            source_errors.clone(),
        );
        r.register(
            "wfm_sync_objects",
            "Directory objects synced, by outcome",
            sync_objects.clone(),
        );
        r.register(
            "wfm_sync_runs",
            "Identity sync runs, by result",
            sync_runs.clone(),
        );
        r.register(
            "wfm_sync_run_duration_seconds",
            "Wall time of an identity sync run",
            sync_duration.clone(),
        );
        r.register(
            "wfm_sync_last_success_timestamp_seconds",
            "Unix time of the last applied identity sync",
            sync_last_success.clone(),
        );
        r.register(
            "wfm_hub_http_requests",
            "Hub HTTP requests",
            http_requests.clone(),
        );
        r.register(
            "wfm_hub_http_request_duration_seconds",
            "Hub HTTP request latency",
            http_duration.clone(),
        );
        let outbox = crate::outbox::OutboxMetrics::default();
        outbox.register(&mut registry);
        Metrics {
            registry: Arc::new(registry),
            source_requests,
            source_errors,
            sync_objects,
            sync_runs,
            sync_duration,
            sync_last_success,
            http_requests,
            http_duration,
            outbox,
        }
    }

    /// Counts one upstream request.
    pub fn source_request(&self, source: &str, endpoint: &str, outcome: RequestOutcome) {
        self.source_requests
            .get_or_create(&SourceRequestLabels {
                source: source.to_string(),
                endpoint: endpoint.to_string(),
                outcome: outcome.as_str().to_string(),
            })
            .inc();
    }

    /// Counts one upstream error of a bounded type.
    pub fn source_error(&self, source: &str, error_type: &str) {
        self.source_errors
            .get_or_create(&SourceErrorLabels {
                source: source.to_string(),
                error_type: error_type.to_string(),
            })
            .inc();
    }

    /// Adds `n` directory objects of a kind and outcome.
    pub fn sync_objects(&self, source: &str, kind: &str, outcome: &str, n: u64) {
        self.sync_objects
            .get_or_create(&SyncObjectLabels {
                source: source.to_string(),
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc_by(n);
    }

    /// Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_prefixed_names_and_units() {
        let m = Metrics::new();
        m.source_request("uccx", "resource", RequestOutcome::Ok);
        m.source_error("uccx", "timeout");
        m.sync_objects("uccx", "user", "created", 3);
        m.sync_duration
            .get_or_create(&SourceLabels {
                source: "uccx".into(),
            })
            .observe(0.5);
        let text = m.encode();
        assert!(
            text.contains(
                "wfm_source_requests_total{source=\"uccx\",endpoint=\"resource\",outcome=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("wfm_source_errors_total{source=\"uccx\",error_type=\"timeout\"} 1"));
        assert!(text.contains(
            "wfm_sync_objects_total{source=\"uccx\",kind=\"user\",outcome=\"created\"} 3"
        ));
        assert!(text.contains("# TYPE wfm_sync_run_duration_seconds histogram"));
        assert!(text.ends_with("# EOF\n"));
    }
}

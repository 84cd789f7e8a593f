//! `wfm-importer run`: the periodic sync loop and the loopback metrics/health endpoint.

use crate::job::{SyncJob, SyncOptions};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wfm_telemetry::Metrics;

/// What `/healthz` reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Health {
    /// Runs finished (any result).
    pub runs: u64,
    /// The last run's result: `applied`, `refused`, `failed` or empty before the first.
    pub last_result: String,
    /// The last error, if the last run failed.
    pub last_error: Option<String>,
    /// Consecutive failed runs.
    pub consecutive_failures: u32,
}

#[derive(Clone)]
struct MetricsState {
    metrics: Metrics,
    health: Arc<Mutex<Health>>,
}

/// Serves `/metrics` and `/healthz` on `addr` until `shutdown` resolves; returns the bound address.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Metrics,
    health: Arc<Mutex<Health>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(health_handler))
        .with_state(MetricsState { metrics, health });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    Ok(bound)
}

async fn metrics_handler(State(s): State<MetricsState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn health_handler(State(s): State<MetricsState>) -> impl IntoResponse {
    let health = match s.health.lock() {
        Ok(h) => h.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    let status = if health.consecutive_failures >= 3 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(health))
}

/// Runs `job` every `interval` until `shutdown` resolves. A failed run is retried sooner (back-off
/// from 5 s up to the interval); a refused run waits for the operator (logged every interval).
pub async fn run_loop(
    job: &SyncJob,
    interval: Duration,
    health: Arc<Mutex<Health>>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut failures: u32 = 0;
    loop {
        let results = job.run_all(SyncOptions::default()).await;
        let mut failed = None;
        let mut refused = None;
        for (source, result) in &results {
            match result {
                Ok(report) if report.refused => {
                    tracing::error!(
                        source = %source,
                        run = %report.response.run.id,
                        reason = report.response.run.reason.as_deref().unwrap_or(""),
                        "sync refused by the safety limit; run `wfm-importer sync users --allow-mass-disable` once the source is confirmed"
                    );
                    refused = report.response.run.reason.clone();
                }
                Ok(report) => {
                    let s = &report.response.run.summary;
                    tracing::info!(
                        source = %source,
                        run = %report.response.run.id,
                        created = s.users_created,
                        updated = s.users_updated,
                        disabled = s.users_disabled,
                        reenabled = s.users_reenabled,
                        unchanged = s.users_unchanged,
                        "sync applied"
                    );
                }
                Err(e) => {
                    tracing::error!(source = %source, error = %e, error_type = e.error_type(), "sync failed");
                    failed = Some(format!("{source}: {e}"));
                }
            }
        }
        let wait = if failed.is_some() {
            failures = failures.saturating_add(1);
            let backoff = Duration::from_secs(5) * 2u32.saturating_pow(failures.min(10) - 1);
            backoff.min(interval)
        } else {
            failures = 0;
            interval
        };
        if let Ok(mut h) = health.lock() {
            h.runs += 1;
            h.consecutive_failures = failures;
            if let Some(error) = failed {
                h.last_result = "failed".into();
                h.last_error = Some(error);
            } else if let Some(reason) = refused {
                h.last_result = "refused".into();
                h.last_error = Some(reason);
            } else {
                h.last_result = "applied".into();
                h.last_error = None;
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

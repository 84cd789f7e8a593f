//! `wfm-hub`: the WFM side of the importer. An authenticated HTTPS API (axum) that accepts
//! idempotent directory syncs, queue-interval batches, reason codes and agent-state batches from
//! importers and serves the per-project user directory, sync-run history, queue statistics, agent
//! timelines, health and Prometheus metrics.
//!
//! Owns the HTTP surface: routing, bearer-token authentication (token → project), request limits,
//! error bodies, TLS, HTTP metrics, startup/shutdown and the `wfm-hub` binary. It must not hold
//! directory logic or SQL (that is `wfm-store` and `wfm-sync`), must never take the project from
//! the URL or the body, must never log tokens or storage passwords, and must not read the clock
//! ambiently in request logic (the clock is injected through [`AppState`]).

#![deny(missing_docs)]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod cli_keys;
pub mod encryption;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod retention;
pub mod routes;
pub mod scim;
pub mod server;
pub mod tls;

pub use auth::{Project, ProjectTokens};
pub use error::ApiError;
pub use server::{prepare_projects, redact_url, serve, start, RunningHub};
pub use tls::{self_signed_cert, try_self_signed_cert};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_protocol::routes as paths;
use wfm_store::Store;
use wfm_sync::MatchRule;
use wfm_telemetry::Metrics;

/// The clock the hub reads "now" from (injected so that tests control time).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The system clock in UTC.
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// Everything a request handler needs. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct AppState {
    /// Directory storage (SQLite or PostgreSQL).
    pub store: Store,
    /// Token digests → projects.
    pub projects: Arc<ProjectTokens>,
    /// Process metrics (HTTP requests are counted into them).
    pub metrics: Metrics,
    /// Largest accepted request body in bytes (bigger → 413).
    pub max_body_bytes: usize,
    /// Source of "now" for sync runs.
    pub clock: Clock,
    /// Each project's rule for linking users of different sources (default: e-mail).
    pub match_rules: Arc<HashMap<ProjectId, MatchRule>>,
    /// Queue-interval metrics (rows ingested; freshness is computed at scrape time).
    pub interval_metrics: metrics::IntervalMetrics,
    /// Adherence change notices and stream timing.
    pub adherence: routes::adherence::AdherenceFeed,
    /// Agent-state metrics (events ingested; the newest event is read at scrape time).
    pub state_metrics: metrics::StateMetrics,
    /// Object storage of the bulk path (`[bulk]`); `Default` = off.
    pub bulk: routes::bulk::Bulk,
}

/// The projects' person-matching rules, from the config.
pub fn match_rules(projects: &[wfm_config::ProjectConfig]) -> Arc<HashMap<ProjectId, MatchRule>> {
    let rules = projects
        .iter()
        .map(|p| {
            let rule = match p.match_people_by {
                wfm_config::MatchPeopleBy::Email => MatchRule::Email,
                wfm_config::MatchPeopleBy::Username => MatchRule::Username,
                wfm_config::MatchPeopleBy::None => MatchRule::None,
            };
            (p.id.clone(), rule)
        })
        .collect();
    Arc::new(rules)
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("projects", &self.projects)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// The hub's router: every route of API v1, `/healthz`, `/metrics`, JSON 404/405 fallbacks, the
/// body limit and the HTTP metrics middleware. Serve it, or drive it with `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let body_limit = state.max_body_bytes;
    Router::new()
        .route(paths::DIRECTORY_SYNC, post(routes::directory::sync))
        .route(paths::USERS, get(routes::directory::list_users))
        .route(paths::USER, get(routes::directory::get_user))
        .route(paths::GROUPS, get(routes::directory::list_groups))
        .route(paths::GROUP, get(routes::directory::get_group))
        .route(paths::ROLES, get(routes::directory::roles))
        .route(paths::WHOAMI, get(routes::directory::whoami))
        .route(paths::PEOPLE, get(routes::people::list_people))
        .route(paths::PEOPLE_CONFLICTS, get(routes::people::list_conflicts))
        .route(paths::SYNC_RUNS, get(routes::runs::list_runs))
        .route(paths::SYNC_RUN, get(routes::runs::get_run))
        .route(paths::SYNC_RUN_CHANGES, get(routes::runs::run_changes))
        .route(
            paths::INTERVALS,
            post(routes::intervals::post_batch).get(routes::intervals::get_intervals),
        )
        .route(
            paths::INTERVALS_CSV,
            get(routes::intervals::get_intervals_csv),
        )
        .route(
            paths::INTERVALS_MISSING,
            get(routes::intervals::get_missing),
        )
        .route(paths::QUEUES, get(routes::intervals::list_queues))
        .route(
            paths::REASON_CODES,
            put(routes::states::put_reason_codes).get(routes::states::get_reason_codes),
        )
        .route(
            paths::AGENT_STATES,
            post(routes::states::post_states).get(routes::states::get_states),
        )
        .route(
            routes::adherence::SCHEDULES,
            put(routes::adherence::put_schedules).get(routes::adherence::get_schedules),
        )
        .route(
            routes::adherence::SCHEDULES_CSV,
            put(routes::adherence::put_schedules_csv),
        )
        .route(routes::adherence::ADHERENCE, get(routes::adherence::daily))
        .route(
            routes::adherence::ADHERENCE_RULES,
            put(routes::adherence::put_rules).get(routes::adherence::get_rules),
        )
        .route(
            routes::adherence::ADHERENCE_EXCEPTIONS,
            post(routes::adherence::post_exception).get(routes::adherence::get_exceptions),
        )
        .route(
            routes::adherence::ADHERENCE_REALTIME,
            get(routes::adherence::realtime),
        )
        .route(
            routes::adherence::ADHERENCE_STREAM,
            get(routes::adherence::stream),
        )
        .route(
            wfm_protocol::bulk::BULK_UPLOADS,
            post(routes::bulk::create_upload),
        )
        .route(wfm_protocol::bulk::BULK_INGEST, post(routes::bulk::ingest))
        .nest(scim::BASE_PATH, scim::router())
        .route(paths::HEALTH, get(routes::health))
        .route(paths::METRICS, get(metrics::exposition))
        .route(openapi::OPENAPI_PATH, get(openapi::document))
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::adherence::notify_states,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

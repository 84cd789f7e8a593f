//! Helpers of the security tests: store-issued tokens, requests from a given client address,
//! a second hub over the same database, and the route table every route must be in.

#![allow(dead_code)]

use crate::common::{fixed_now, Resp, TestHub};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;
use wfm_hub::auth::token_digest_hex;
use wfm_hub::{app, AppState, ProjectTokens};
use wfm_model::ProjectId;
use wfm_store::{Db, NewApiToken, Store};

/// Issues a token of `project` with `scopes` straight into the store; answers (id, secret).
pub async fn issue(
    store: &Store,
    project: &str,
    scopes: &[&str],
    expires_at: Option<OffsetDateTime>,
) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let secret = format!("wfm_test_{}", uuid::Uuid::new_v4().simple());
    store
        .create_api_token(&NewApiToken {
            id: id.clone(),
            project: ProjectId::new(project).unwrap(),
            name: None,
            digest: token_digest_hex(&secret),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            created_at: fixed_now(),
            expires_at,
        })
        .await
        .unwrap();
    (id, secret)
}

/// A request with an optional bearer token, a JSON body for writes, and a client address.
pub fn request(
    method: &Method,
    path: &str,
    token: Option<&str>,
    from: Option<SocketAddr>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = if method == Method::GET {
        Body::empty()
    } else {
        builder = builder
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        Body::from("{}")
    };
    let mut request = builder.body(body).unwrap();
    if let Some(addr) = from {
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    request
}

/// Sends a request; for the event stream only the head is read (its body never ends).
pub async fn send(router: &axum::Router, request: Request<Body>) -> Resp {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let streaming = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let body = if streaming {
        Vec::new()
    } else {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// The storage URL of a test hub's store (to open a second pool on it).
pub fn store_url(store: &Store) -> String {
    match store.db() {
        Db::Sqlite(pool) => format!(
            "sqlite://{}",
            pool.connect_options().get_filename().display()
        ),
        Db::Postgres(pool) => {
            let o = pool.connect_options();
            format!(
                "postgres://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("test")
            )
        }
    }
}

/// A second hub (own store pool, own token table and limiter) over the same database.
pub async fn second_hub(hub: &TestHub) -> (axum::Router, AppState) {
    let store = Store::open(&store_url(&hub.state.store), 2).await.unwrap();
    let mut state = hub.state.clone();
    state.store = store;
    state.projects = Arc::new(ProjectTokens::new([
        (ProjectId::new("alpha").unwrap(), crate::common::TOKEN_A),
        (ProjectId::new("beta").unwrap(), crate::common::TOKEN_B),
    ]));
    (app(state.clone()), state)
}

/// One route: method, template, and what its `{id}` is (if it has one).
#[derive(Debug, Clone, Copy)]
pub struct RouteCase {
    /// Method.
    pub method: &'static str,
    /// Template as mounted (`{id}` placeholders).
    pub template: &'static str,
    /// The kind of object `{id}` names: `user`, `group`, `run`, `upload`, `static`.
    pub id: Option<&'static str>,
    /// Source text the route's registration has in `lib.rs`/`scim/mod.rs` (routes of modules
    /// that are not wired yet are skipped).
    pub marker: &'static str,
}

const fn r(
    method: &'static str,
    template: &'static str,
    id: Option<&'static str>,
    marker: &'static str,
) -> RouteCase {
    RouteCase {
        method,
        template,
        id,
        marker,
    }
}

/// Every route of the hub except `/healthz` and `/metrics`. A route registered in `app()` or the
/// SCIM router but missing here fails `the_route_table_lists_every_registered_route`.
pub const ROUTES: &[RouteCase] = &[
    r("POST", "/api/v1/directory/sync", None, "directory::sync"),
    r("GET", "/api/v1/users", None, "directory::list_users"),
    r(
        "GET",
        "/api/v1/users/{id}",
        Some("user"),
        "directory::get_user",
    ),
    r("GET", "/api/v1/groups", None, "directory::list_groups"),
    r(
        "GET",
        "/api/v1/groups/{id}",
        Some("group"),
        "directory::get_group",
    ),
    r("GET", "/api/v1/roles", None, "directory::roles"),
    r("GET", "/api/v1/whoami", None, "directory::whoami"),
    r("GET", "/api/v1/people", None, "people::list_people"),
    r(
        "GET",
        "/api/v1/people/conflicts",
        None,
        "people::list_conflicts",
    ),
    r("GET", "/api/v1/sync-runs", None, "runs::list_runs"),
    r(
        "GET",
        "/api/v1/sync-runs/{id}",
        Some("run"),
        "runs::get_run",
    ),
    r(
        "GET",
        "/api/v1/sync-runs/{id}/changes",
        Some("run"),
        "runs::run_changes",
    ),
    r("POST", "/api/v1/intervals", None, "intervals::post_batch"),
    r(
        "GET",
        "/api/v1/intervals?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "intervals::get_intervals",
    ),
    r(
        "GET",
        "/api/v1/intervals.csv?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "intervals::get_intervals_csv",
    ),
    r(
        "GET",
        "/api/v1/intervals/missing?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "intervals::get_missing",
    ),
    r("GET", "/api/v1/queues", None, "intervals::list_queues"),
    r(
        "PUT",
        "/api/v1/reason-codes",
        None,
        "states::put_reason_codes",
    ),
    r(
        "GET",
        "/api/v1/reason-codes",
        None,
        "states::get_reason_codes",
    ),
    r("POST", "/api/v1/agent-states", None, "states::post_states"),
    r(
        "GET",
        "/api/v1/agent-states?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "states::get_states",
    ),
    r("PUT", "/api/v1/schedules", None, "adherence::put_schedules"),
    r(
        "GET",
        "/api/v1/schedules?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "adherence::get_schedules",
    ),
    r(
        "PUT",
        "/api/v1/schedules.csv",
        None,
        "adherence::put_schedules_csv",
    ),
    r(
        "GET",
        "/api/v1/adherence?date=2025-06-01",
        None,
        "adherence::daily",
    ),
    r(
        "PUT",
        "/api/v1/adherence/rules",
        None,
        "adherence::put_rules",
    ),
    r(
        "GET",
        "/api/v1/adherence/rules",
        None,
        "adherence::get_rules",
    ),
    r(
        "POST",
        "/api/v1/adherence/exceptions",
        None,
        "adherence::post_exception",
    ),
    r(
        "GET",
        "/api/v1/adherence/exceptions?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z",
        None,
        "adherence::get_exceptions",
    ),
    r(
        "GET",
        "/api/v1/adherence/realtime",
        None,
        "adherence::realtime",
    ),
    r("GET", "/api/v1/adherence/stream", None, "adherence::stream"),
    r("POST", "/api/v1/bulk/uploads", None, "bulk::create_upload"),
    r(
        "POST",
        "/api/v1/bulk/uploads/{id}/ingest",
        Some("upload"),
        "bulk::ingest",
    ),
    r(
        "GET",
        "/scim/v2/ServiceProviderConfig",
        None,
        "scim::router",
    ),
    r("GET", "/scim/v2/Schemas", None, "scim::router"),
    r(
        "GET",
        "/scim/v2/Schemas/{id}",
        Some("static"),
        "scim::router",
    ),
    r("GET", "/scim/v2/ResourceTypes", None, "scim::router"),
    r(
        "GET",
        "/scim/v2/ResourceTypes/{id}",
        Some("static"),
        "scim::router",
    ),
    r("GET", "/scim/v2/Users", None, "scim::router"),
    r("POST", "/scim/v2/Users", None, "scim::router"),
    r("POST", "/scim/v2/Users/.search", None, "scim::router"),
    r("GET", "/scim/v2/Users/{id}", Some("user"), "scim::router"),
    r("PUT", "/scim/v2/Users/{id}", Some("user"), "scim::router"),
    r("PATCH", "/scim/v2/Users/{id}", Some("user"), "scim::router"),
    r(
        "DELETE",
        "/scim/v2/Users/{id}",
        Some("user"),
        "scim::router",
    ),
    r("GET", "/scim/v2/Groups", None, "scim::router"),
    r("POST", "/scim/v2/Groups", None, "scim::router"),
    r("POST", "/scim/v2/Groups/.search", None, "scim::router"),
    r("GET", "/scim/v2/Groups/{id}", Some("group"), "scim::router"),
    r("PUT", "/scim/v2/Groups/{id}", Some("group"), "scim::router"),
    r(
        "PATCH",
        "/scim/v2/Groups/{id}",
        Some("group"),
        "scim::router",
    ),
    r(
        "DELETE",
        "/scim/v2/Groups/{id}",
        Some("group"),
        "scim::router",
    ),
    r("POST", "/scim/v2/.search", None, "scim::router"),
];

/// The source of the router definitions (to check the table against).
pub const LIB_RS: &str = include_str!("../../src/lib.rs");

/// The routes of the table whose module is wired in this build.
pub fn wired_routes() -> Vec<RouteCase> {
    ROUTES
        .iter()
        .copied()
        .filter(|c| LIB_RS.contains(c.marker))
        .collect()
}

/// The route template without its query.
pub fn template_path(c: &RouteCase) -> &'static str {
    c.template.split('?').next().unwrap_or(c.template)
}

/// The method as an `http::Method`.
pub fn method(c: &RouteCase) -> Method {
    Method::from_bytes(c.method.as_bytes()).unwrap()
}

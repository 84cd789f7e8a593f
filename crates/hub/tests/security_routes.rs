//! Every route, from a table checked against the router's source: no token → 401; a token
//! without the needed scope → 403 naming it; a token of another project sees none of the data
//! and gets, for a foreign id, exactly the answer of a missing id. On SQLite and PostgreSQL.

mod common;
mod security_support;

use axum::http::{Method, StatusCode};
use common::{snapshot, TestHub, TOKEN_B};
use security_support::*;
use wfm_hub::auth::{required_scope, Scope};

/// Handlers registered as `get(module::…)`, `.post(module::…)`, … in `source` (only `modules`
/// when given), except the public ones.
fn count_registrations(source: &str, modules: Option<&[&str]>) -> usize {
    let mut n = 0;
    for m in ["get", "post", "put", "patch", "delete"] {
        let needle = format!("{m}(");
        for (at, _) in source.match_indices(&needle) {
            let before = source[..at].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' {
                continue;
            }
            let rest = &source[at + needle.len()..];
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() || !rest[ident.len()..].starts_with("::") {
                continue;
            }
            if modules.is_some_and(|ms| !ms.contains(&ident.as_str())) {
                continue;
            }
            if PUBLIC.iter().any(|p| rest.starts_with(p)) {
                continue;
            }
            n += 1;
        }
    }
    n
}

/// Handlers that need no token (health, metrics, the OpenAPI document).
const PUBLIC: &[&str] = &[
    "routes::health)",
    "metrics::exposition)",
    "openapi::document)",
];

#[test]
fn the_route_table_lists_every_registered_route() {
    // `app()` registers handlers as `get(routes::…)`, `.post(routes::…)`, …; the public ones
    // (`/healthz`, `/metrics`, the OpenAPI document) need no token.
    let registered = count_registrations(LIB_RS, None);
    let table = wired_routes()
        .iter()
        .filter(|c| !c.template.starts_with("/scim/"))
        .count();
    assert_eq!(
        registered, table,
        "a route was added to app() or removed: update ROUTES in tests/security_support/mod.rs \
         (and docs/security.md) so that its authentication, scope and project isolation are tested"
    );
    if LIB_RS.contains("scim::router") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/scim/mod.rs");
        let scim = std::fs::read_to_string(path).unwrap();
        let registered =
            count_registrations(&scim, Some(&["discovery", "users", "groups", "list"]));
        let table = wired_routes()
            .iter()
            .filter(|c| c.template.starts_with("/scim/"))
            .count();
        assert_eq!(
            registered, table,
            "a SCIM route was added or removed: update ROUTES in tests/security_support/mod.rs"
        );
    }
}

const BETA_MARK: &str = "zzbeta";

/// Beta's directory (user, group, run) with a marker in every name.
async fn beta_data(hub: &TestHub) -> (String, String, String) {
    let body = snapshot(
        "uccx",
        &[("b1", "zzbeta-user", "bt1")],
        &[("bt1", "zzbeta-team")],
    );
    let resp = hub.sync(TOKEN_B, "beta-seed", &body).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let users = hub.get("/api/v1/users", Some(TOKEN_B)).await.json();
    let groups = hub.get("/api/v1/groups", Some(TOKEN_B)).await.json();
    let runs = hub.get("/api/v1/sync-runs", Some(TOKEN_B)).await.json();
    let first_id = |v: &serde_json::Value| {
        let items = v["items"].as_array().or_else(|| v.as_array()).cloned();
        items.unwrap_or_default()[0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    (first_id(&users), first_id(&groups), first_id(&runs))
}

fn with_id(c: &RouteCase, id: &str) -> String {
    c.template.replace("{id}", id)
}

async fn every_route_checks_token_scope_and_project(hub: TestHub) {
    let (user, group, run) = beta_data(&hub).await;
    let store = &hub.state.store;
    let (_, admin_a) = issue(store, "alpha", &["admin"], None).await;
    let (_, read_a) = issue(store, "alpha", &["read"], None).await;
    let (_, ingest_a) = issue(store, "alpha", &["ingest"], None).await;
    let routes = wired_routes();
    assert!(routes.len() >= 30, "{}", routes.len());
    for (n, c) in routes.iter().enumerate() {
        let m = method(c);
        // Each anonymous attempt from its own address: the failure limiter is not under test here.
        let from = std::net::SocketAddr::from(([127, 0, 1, n as u8], 40_000));
        let missing = uuid::Uuid::new_v4().to_string();
        let foreign = match c.id {
            Some("user") => user.clone(),
            Some("group") => group.clone(),
            Some("run") => run.clone(),
            Some("static") => "User".to_string(),
            _ => missing.clone(),
        };
        let path = with_id(c, &foreign);

        let anonymous = send(&hub.router, request(&m, &path, None, Some(from))).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{} {path} without a token: {}",
            c.method,
            anonymous.text()
        );

        let needed = required_scope(&m, template_path(c));
        for (token, granted) in [(&read_a, Scope::Read), (&ingest_a, Scope::Ingest)] {
            let resp = send(&hub.router, request(&m, &path, Some(token), None)).await;
            match needed {
                Some(scope) if !scope.is_granted_by(&[granted]) => {
                    assert_eq!(
                        resp.status,
                        StatusCode::FORBIDDEN,
                        "{} {path} with a {granted} token: {}",
                        c.method,
                        resp.text()
                    );
                    assert!(
                        resp.text().contains(&format!("`{scope}` scope")),
                        "{}",
                        resp.text()
                    );
                }
                _ => assert!(
                    resp.status != StatusCode::FORBIDDEN && resp.status != StatusCode::UNAUTHORIZED,
                    "{} {path} with a {granted} token: {} {}",
                    c.method,
                    resp.status,
                    resp.text()
                ),
            }
        }

        // Alpha's admin token on beta's ids and lists: nothing of beta, foreign = missing.
        let resp = send(&hub.router, request(&m, &path, Some(&admin_a), None)).await;
        assert!(
            resp.status != StatusCode::INTERNAL_SERVER_ERROR
                && resp.status != StatusCode::FORBIDDEN
                && resp.status != StatusCode::UNAUTHORIZED,
            "{} {path}: {} {}",
            c.method,
            resp.status,
            resp.text()
        );
        assert!(
            !resp.text().contains(BETA_MARK),
            "{} {path} leaked beta's data: {}",
            c.method,
            resp.text()
        );
        if matches!(c.id, Some("user" | "group" | "run" | "upload")) {
            assert!(
                !resp.status.is_success(),
                "{} {path}: a foreign id answered {}",
                c.method,
                resp.status
            );
            let absent = send(
                &hub.router,
                request(&m, &with_id(c, &missing), Some(&admin_a), None),
            )
            .await;
            assert_eq!(resp.status, absent.status, "{} {path}", c.method);
            assert_eq!(
                resp.text().replace(&foreign, "ID"),
                absent.text().replace(&missing, "ID"),
                "{} {path}: a foreign id must answer like a missing one",
                c.method
            );
        }
    }
    // Beta's data is untouched by everything alpha sent.
    let users = hub.get("/api/v1/users", Some(TOKEN_B)).await;
    assert!(users.text().contains("zzbeta-user"), "{}", users.text());
    let one = hub
        .get(&format!("/api/v1/users/{user}"), Some(TOKEN_B))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    let one = hub
        .get(&format!("/api/v1/groups/{group}"), Some(TOKEN_B))
        .await;
    assert_eq!(one.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_token_scope_and_project_sqlite() {
    every_route_checks_token_scope_and_project(TestHub::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_token_scope_and_project_postgres() {
    every_route_checks_token_scope_and_project(TestHub::postgres().await).await;
}

#[test]
fn documented_scopes_of_some_routes() {
    let cases = [
        (Method::POST, "/api/v1/directory/sync", Some(Scope::Ingest)),
        (Method::PUT, "/api/v1/schedules", Some(Scope::Ingest)),
        (Method::POST, "/api/v1/bulk/uploads", Some(Scope::Ingest)),
        (Method::GET, "/api/v1/intervals.csv", Some(Scope::Read)),
        (Method::PUT, "/api/v1/adherence/rules", Some(Scope::Admin)),
        (
            Method::POST,
            "/api/v1/adherence/exceptions",
            Some(Scope::Admin),
        ),
        (Method::POST, "/scim/v2/Users", Some(Scope::Admin)),
        (Method::GET, "/scim/v2/Users", Some(Scope::Read)),
        (Method::GET, "/api/v1/whoami", None),
    ];
    for (m, path, scope) in cases {
        assert_eq!(required_scope(&m, path), scope, "{m} {path}");
    }
}

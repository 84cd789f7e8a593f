//! Store-issued tokens at the API, on SQLite and PostgreSQL: expired, revoked, unknown,
//! malformed and missing tokens get the same 401 (the audit log says which); a revocation is
//! effective at once, also for a second hub on the same database; failed attempts are limited
//! per client address (429 with Retry-After) while a valid token from that address still works;
//! every attempt, export and admin route is in a verifiable audit chain.

mod common;
mod security_support;

use axum::http::{Method, StatusCode};
use common::{fixed_now, TestHub, TOKEN_A};
use security_support::*;
use std::net::SocketAddr;
use wfm_store::AuditFilter;

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestHub::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(TestHub::postgres().await).await;
            }
        }
    };
}

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 50_000))
}

async fn get(router: &axum::Router, path: &str, token: Option<&str>, from: u8) -> common::Resp {
    send(router, request(&Method::GET, path, token, Some(addr(from)))).await
}

async fn every_bad_token_gets_the_same_401(hub: TestHub) {
    let store = &hub.state.store;
    let (_, good) = issue(store, "alpha", &["read"], None).await;
    let (_, expired) = issue(
        store,
        "alpha",
        &["read"],
        Some(fixed_now() - time::Duration::seconds(1)),
    )
    .await;
    let (revoked_id, revoked) = issue(store, "alpha", &["read"], None).await;
    store
        .revoke_api_token(&revoked_id, fixed_now())
        .await
        .unwrap();
    let ok = get(&hub.router, "/api/v1/users", Some(&good), 1).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());

    let mut bodies = Vec::new();
    for (n, token) in [
        Some(expired.as_str()),
        Some(revoked.as_str()),
        Some("wfm_unknown_unknown_unknown_unknown"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let resp = get(&hub.router, "/api/v1/users", token, 10 + n as u8).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text());
        bodies.push(resp.text());
    }
    let mut malformed = request(&Method::GET, "/api/v1/users", None, Some(addr(20)));
    malformed
        .headers_mut()
        .insert("authorization", "Basic abc".parse().unwrap());
    let resp = send(&hub.router, malformed).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    bodies.push(resp.text());
    for b in &bodies {
        assert_eq!(b, &bodies[0], "every 401 says the same");
    }

    let failures = store
        .audit_entries(&AuditFilter {
            outcome: Some("failure".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let reasons: Vec<&str> = failures.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "failure:expired",
            "failure:revoked",
            "failure:unknown",
            "failure:missing",
            "failure:malformed"
        ]
    );
    assert_eq!(failures[1].principal.as_deref(), Some(revoked_id.as_str()));
    assert_eq!(failures[1].project.as_deref(), Some("alpha"));
    assert_eq!(failures[0].source.as_deref(), Some("127.0.0.10:50000"));
    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.problem, None);
}
both!(every_bad_token_gets_the_same_401);

async fn revocation_is_immediate_for_a_second_hub(hub: TestHub) {
    let (router2, state2) = second_hub(&hub).await;
    let (id, token) = issue(&hub.state.store, "alpha", &["read"], None).await;
    assert_eq!(
        get(&hub.router, "/api/v1/users", Some(&token), 1)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&router2, "/api/v1/users", Some(&token), 1).await.status,
        StatusCode::OK
    );
    // Revoked through the second hub's store: the first hub refuses the very next request.
    state2
        .store
        .revoke_api_token(&id, fixed_now())
        .await
        .unwrap();
    assert_eq!(
        get(&hub.router, "/api/v1/users", Some(&token), 1)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&router2, "/api/v1/users", Some(&token), 1).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Both hubs wrote into one chain.
    let report = hub.state.store.verify_audit().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.checked, 4);
}
both!(revocation_is_immediate_for_a_second_hub);

async fn failures_are_limited_per_address_but_the_holder_gets_through(hub: TestHub) {
    let wrong = "wfm_wrong_wrong_wrong_wrong_wrong_wrong";
    for _ in 0..10 {
        let resp = get(&hub.router, "/api/v1/users", Some(wrong), 7).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    }
    let limited = get(&hub.router, "/api/v1/users", Some(wrong), 7).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The legitimate holder at the same address is not locked out (config and issued tokens).
    let ok = get(&hub.router, "/api/v1/users", Some(TOKEN_A), 7).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let (_, issued) = issue(&hub.state.store, "alpha", &["read"], None).await;
    let ok = get(&hub.router, "/api/v1/users", Some(&issued), 7).await;
    assert_eq!(ok.status, StatusCode::OK);
    // Another address is not affected.
    let other = get(&hub.router, "/api/v1/users", Some(wrong), 8).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    let audited = hub
        .state
        .store
        .audit_entries(&AuditFilter {
            outcome: Some("failure:unknown:rate_limited".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
}
both!(failures_are_limited_per_address_but_the_holder_gets_through);

async fn exports_admin_routes_and_denials_are_audited(hub: TestHub) {
    let store = &hub.state.store;
    let (admin_id, admin) = issue(store, "alpha", &["admin"], None).await;
    let (read_id, read) = issue(store, "alpha", &["read"], None).await;
    let csv = "/api/v1/intervals.csv?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z";
    assert_eq!(
        get(&hub.router, csv, Some(&read), 1).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&hub.router, "/api/v1/users", Some(&read), 1)
            .await
            .status,
        StatusCode::OK
    );
    let denied = send(
        &hub.router,
        request(
            &Method::PUT,
            "/api/v1/adherence/rules",
            Some(&read),
            Some(addr(1)),
        ),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.text().contains("`admin` scope"), "{}", denied.text());
    let allowed = send(
        &hub.router,
        request(
            &Method::PUT,
            "/api/v1/adherence/rules",
            Some(&admin),
            Some(addr(1)),
        ),
    )
    .await;
    assert_ne!(allowed.status, StatusCode::FORBIDDEN, "{}", allowed.text());

    let entries = store.audit_entries(&AuditFilter::default()).await.unwrap();
    let seen: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.action.clone(),
                e.principal.clone().unwrap_or_default(),
                e.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("export".into(), read_id.clone(), "success".into()),
            ("export".into(), read_id.clone(), "success".into()),
            ("admin".into(), read_id.clone(), "denied:needs_admin".into()),
            ("admin".into(), admin_id.clone(), "success".into()),
        ]
    );
    assert_eq!(
        entries[0].detail.as_deref(),
        Some("GET /api/v1/intervals.csv")
    );
    assert!(entries
        .iter()
        .all(|e| e.project.as_deref() == Some("alpha")));
    // Last use is recorded on the token.
    let row = store
        .api_tokens(None)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == read_id)
        .unwrap();
    assert!(row.last_used_at.is_some());
    assert_eq!(store.verify_audit().await.unwrap().problem, None);
}
both!(exports_admin_routes_and_denials_are_audited);

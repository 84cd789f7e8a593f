//! Microsoft Graph: `@odata.nextLink` paging (verbatim, loops, empty pages, ignored `$top`),
//! groups with user members only, 429 and error bodies.

use super::*;
use crate::cloud::test_server::{assert_no_secret, serve, static_config, Reply};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

fn client(cfg: &CloudConfig) -> GraphClient {
    GraphClient::new(cfg, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn user(id: &str) -> Value {
    json!({"id": id, "displayName": format!("User {id}"), "givenName": "G", "surname": id,
           "mail": format!("{id}@contoso.com"), "userPrincipalName": format!("{id}@contoso.onmicrosoft.com"),
           "jobTitle": "Agent", "businessPhones": []})
}

/// Serves `pages` (lists of user ids) chained by absolute nextLinks with a skiptoken, ignoring `$top`.
async fn chained(pages: Vec<Vec<&'static str>>) -> crate::cloud::test_server::Server {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let server = serve(move |_, req| {
        let n: usize = req
            .param("$skiptoken")
            .map(|t| t.parse().unwrap())
            .unwrap_or(0);
        let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                              "value": pages[n].iter().map(|id| user(id)).collect::<Vec<_>>()});
        if n + 1 < pages.len() {
            body["@odata.nextLink"] = json!(format!(
                "{}/v1.0/users?$top=999&$skiptoken={}",
                b.lock().unwrap(),
                n + 1
            ));
        }
        Reply::ok(body.to_string())
    })
    .await;
    *base.lock().unwrap() = server.base.clone();
    server
}

#[tokio::test]
async fn users_follow_next_links_verbatim_even_when_top_is_ignored() {
    let server = chained(vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]).await;
    let report = client(&static_config(&server.base)).users().await.unwrap();
    let ids: Vec<&str> = report.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(report.requests, 3);
    let reqs = server.requests();
    assert_eq!(reqs[0].uri(), "/v1.0/users?$top=999");
    assert_eq!(reqs[2].uri(), "/v1.0/users?$top=999&$skiptoken=2");
    let u = &report.items[0];
    assert_eq!(
        u.user_principal_name.as_deref(),
        Some("a@contoso.onmicrosoft.com")
    );
    assert_eq!(u.job_title.as_deref(), Some("Agent"));
    assert_eq!(u.given_name.as_deref(), Some("G"));
}

#[tokio::test]
async fn duplicates_across_pages_are_dropped_with_a_warning() {
    let server = chained(vec![vec!["a", "b"], vec!["b", "c"]]).await;
    let report = client(&static_config(&server.base)).users().await.unwrap();
    assert_eq!(report.items.len(), 3);
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("de-duplicated") && report.warnings[0].contains('b'));
}

#[tokio::test]
async fn an_empty_page_with_a_next_link_is_followed_but_not_forever() {
    let server = chained(vec![vec!["a"], vec![], vec!["b"]]).await;
    let report = client(&static_config(&server.base)).users().await.unwrap();
    assert_eq!(report.items.len(), 2);
    assert!(
        report.warnings.iter().any(|w| w.contains("empty")),
        "{:?}",
        report.warnings
    );
    let server = chained(vec![vec!["a"], vec![], vec![], vec![], vec!["b"]]).await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("3 consecutive empty pages"),
        "{err}"
    );
}

#[tokio::test]
async fn a_next_link_loop_and_a_foreign_next_link_are_errors() {
    let server = serve(|_, req| {
        let host = req.headers.get("host").unwrap().to_str().unwrap().to_string();
        Reply::ok(json!({"value": [user("a")], "@odata.nextLink": format!("http://{host}/v1.0/users?$top=999")}).to_string())
    })
    .await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paging loop"), "{err}");
    let server = serve(|_, _| {
        Reply::ok(
            json!({"value": [user("a")], "@odata.nextLink": "https://attacker.example/v1.0/users"})
                .to_string(),
        )
    })
    .await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("refusing to send the token"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_page_failing_midway_fails_everything_with_the_graph_error() {
    let server = serve(|_, req| {
        if req.param("$skiptoken").is_some() {
            return Reply::json(503, r#"{"error":{"code":"serviceNotAvailable","message":"try later","innerError":{"request-id":"r-1"}}}"#);
        }
        let host = req.headers.get("host").unwrap().to_str().unwrap().to_string();
        Reply::ok(json!({"value": [user("a")], "@odata.nextLink": format!("http://{host}/v1.0/users?$skiptoken=1")}).to_string())
    })
    .await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("serviceNotAvailable: try later (request-id r-1)"),
        "{text}"
    );
    assert!(err.is_retriable());
    assert_eq!(server.requests().len(), 4);
    assert_no_secret(&text);
}

#[tokio::test]
async fn throttling_with_retry_after_then_success() {
    let server = serve(|n, _| {
        if n == 0 {
            return Reply::json(
                429,
                r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
            )
            .header("retry-after", "1");
        }
        Reply::ok(json!({"value": [user("a")]}).to_string())
    })
    .await;
    let started = std::time::Instant::now();
    let report = client(&static_config(&server.base)).users().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(report.requests, 2);
}

#[tokio::test]
async fn groups_keep_only_user_members_and_honour_imported_groups() {
    let server = serve(|_, req| match req.path.as_str() {
        "/v1.0/groups" => Reply::ok(
            json!({"value": [
            {"id": "g1", "displayName": "Sales", "mailEnabled": false},
            {"id": "g2", "displayName": "Other"}]})
            .to_string(),
        ),
        "/v1.0/groups/g1/members" => Reply::ok(
            json!({"value": [
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
            {"@odata.type": "#microsoft.graph.group", "id": "g9"},
            {"@odata.type": "#microsoft.graph.device", "id": "d1"},
            {"@odata.type": "#microsoft.graph.user", "id": "u2"}]})
            .to_string(),
        ),
        other => panic!("unexpected {other}"),
    })
    .await;
    let cfg = CloudConfig {
        imported_groups: vec!["Sales".into()],
        ..static_config(&server.base)
    };
    let report = client(&cfg).teams().await.unwrap();
    assert_eq!(report.items.len(), 1);
    assert_eq!(report.items[0].display_name, "Sales");
    assert_eq!(report.items[0].member_ids, ["u1", "u2"]);
    assert_eq!(report.requests, 2);
}

#[tokio::test]
async fn healthcheck_asks_for_one_user() {
    let server = serve(|_, _| Reply::ok(json!({"value": [user("a")]}).to_string())).await;
    let h = client(&static_config(&server.base))
        .healthcheck()
        .await
        .unwrap();
    assert_eq!(h.items, 1);
    assert_eq!(server.requests()[0].uri(), "/v1.0/users?$top=1");
}

//! Webex Contact Center: the public fixtures decode; v1 and v2 paging; error bodies.

use super::*;
use crate::cloud::test_server::{assert_no_secret, serve, static_config, Reply};
use serde_json::{json, Value};
use std::time::Duration;
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../../shared/fixtures/cloud/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn example(doc: &Value, status: &str) -> Value {
    doc["responseExamples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == status)
        .unwrap()["example"]
        .clone()
}

fn client(cfg: &CloudConfig) -> WebexClient {
    WebexClient::new(cfg, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn v(version: &str, base: &str, page_size: u32) -> CloudConfig {
    CloudConfig {
        api_version: Some(version.to_string()),
        page_size: Some(page_size),
        ..static_config(base)
    }
}

fn user(id: &str) -> Value {
    json!({"id": id, "email": format!("{id}@example.com"), "firstName": "F", "lastName": id, "active": true,
           "teamIds": ["t1"], "someFutureField": {"x": 1}})
}

#[test]
fn the_public_user_and_team_fixtures_decode_with_the_typo_and_unknown_fields() {
    let doc = fixture("webexcc_list_users_v1_getAllConfig_16.json");
    let body = serde_json::to_vec(&example(&doc, "200")).unwrap();
    let users = match serde_json::from_slice::<ListBody<WebexUser>>(&body).unwrap() {
        ListBody::Bare(u) => u,
        ListBody::Envelope { .. } => panic!("v1 is a bare array"),
    };
    assert_eq!(
        users,
        vec![WebexUser {
            id: "93912f11-6017-404b-bf14-5331890b1797".into(),
            ci_user_id: Some("1dq21e23-1234-5578-9a83-2afdae0d4ba1".into()),
            email: Some("johnwick@company.com".into()),
            first_name: Some("John".into()),
            last_name: Some("Wick".into()),
            active: true,
            site_id: Some("8e6bb6da-2a78-4768-bef9-7e229f92af22".into()),
            team_ids: vec![],
            agent_profile_id: Some("8e6bb6da-2a78-4768-bef9-7e229f92af22".into()),
            external_identifier: Some("121212".into()),
            contact_center_enabled: Some(true),
        }]
    );
    for status in ["401", "429"] {
        let body = serde_json::to_vec(&example(&doc, status)).unwrap();
        let errors = decode_webex_error(&body).unwrap();
        assert_eq!(errors[0].error_type.as_deref(), Some(status));
        assert_eq!(
            errors[0].error_message.as_deref(),
            Some("Test reason: Test error")
        );
        assert!(errors[0]
            .error_data
            .as_deref()
            .unwrap()
            .contains("ccconfig_af9eecc5"));
    }
    let doc = fixture("webexcc_list_teams_v1_getAllConfig_1.json");
    let body = serde_json::to_vec(&example(&doc, "200")).unwrap();
    let ListBody::Bare(teams) = serde_json::from_slice::<ListBody<WebexTeam>>(&body).unwrap()
    else {
        panic!("v1 is a bare array")
    };
    assert_eq!(teams[0].name, "inline-pcs-team");
    assert_eq!(teams[0].team_type.as_deref(), Some("AGENT"));
    assert_eq!(teams[0].team_status.as_deref(), Some("IN_SERVICE"));
    assert!(teams[0].user_ids.is_empty());
}

#[test]
fn the_v2_envelope_schema_example_meta_decodes() {
    let schema = fixture("webexcc_UserDetailsResponseEnvelopeDTO.schema.json");
    let meta = schema["properties"]["meta"]["example"].clone();
    let body = serde_json::to_vec(&json!({"meta": meta, "data": [user("u1")]})).unwrap();
    let ListBody::Envelope { meta, data } =
        serde_json::from_slice::<ListBody<WebexUser>>(&body).unwrap()
    else {
        panic!("an envelope")
    };
    assert_eq!(meta.total_pages, Some(3));
    assert_eq!(meta.page, Some(1));
    assert!(meta.links.next.unwrap().ends_with("page=2&pageSize=100"));
    assert_eq!(data[0].team_ids, vec!["t1".to_string()]);
    // nulls are tolerated
    let body = br#"[{"id":"x","teamIds":null,"active":null,"email":null}]"#;
    let ListBody::Bare(u) = serde_json::from_slice::<ListBody<WebexUser>>(body).unwrap() else {
        panic!()
    };
    assert!(u[0].active && u[0].team_ids.is_empty() && u[0].email.is_none());
}

/// v1 server with `total` users that caps pages at `cap` records.
async fn v1_server(total: usize, cap: usize) -> crate::cloud::test_server::Server {
    serve(move |_, req| {
        let page: usize = req.param("page").unwrap().parse().unwrap();
        let size: usize = req.param("pageSize").unwrap().parse().unwrap();
        let size = size.min(cap);
        let items: Vec<Value> = (page * size..((page + 1) * size).min(total))
            .map(|i| user(&format!("u{i}")))
            .collect();
        Reply::ok(Value::Array(items).to_string())
    })
    .await
}

#[tokio::test]
async fn v1_pages_by_page_number_and_stops_at_a_short_page() {
    let server = v1_server(5, 100).await;
    let c = client(&v("v1", &server.base, 2));
    let report = c.users().await.unwrap();
    assert_eq!(report.items.len(), 5);
    assert_eq!(report.requests, 3);
    let reqs = server.requests();
    assert_eq!(reqs[0].uri(), "/organization/org-1/user?page=0&pageSize=2");
    assert_eq!(reqs[2].param("page").as_deref(), Some("2"));
    assert_eq!(
        reqs[0].bearer().as_deref(),
        Some(crate::cloud::test_server::STATIC_TOKEN)
    );
}

#[tokio::test]
async fn v1_follows_a_server_that_ignores_the_page_size() {
    // We ask for 1000; the server caps at 3 per page.
    let server = v1_server(7, 3).await;
    let c = client(&v("v1", &server.base, 1000));
    let report = c.users().await.unwrap();
    assert_eq!(report.items.len(), 7);
    assert_eq!(report.requests, 3);
}

#[tokio::test]
async fn v1_a_server_that_ignores_the_page_number_is_an_error_not_a_loop() {
    let server = serve(|_, _| Reply::ok(json!([user("a"), user("b")]).to_string())).await;
    let err = client(&v("v1", &server.base, 2)).users().await.unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    assert!(err.to_string().contains("ignore `page`"), "{err}");
}

#[tokio::test]
async fn v2_follows_meta_links_next_then_falls_back_to_total_pages() {
    let server = serve(|_, req| {
        let page: u64 = req.param("page").unwrap_or_default().parse().unwrap_or(0);
        assert!(req.path.ends_with("/v2/team"), "{}", req.path);
        let mut meta = json!({"orgid": "org-1", "page": page, "pageSize": 1, "totalPages": 3, "totalRecords": 3, "links": {}});
        if page == 0 {
            meta["links"]["next"] = json!("/organization/org-1/v2/team?page=1&pageSize=1");
        }
        let team = json!({"id": format!("t{page}"), "name": format!("Team {page}"), "teamType": "AGENT",
                          "teamStatus": "IN_SERVICE", "siteId": "s1", "userIds": ["u1", "u2"]});
        Reply::ok(json!({"meta": meta, "data": [team]}).to_string())
    })
    .await;
    let c = client(&v("v2", &server.base, 1));
    let report = c.teams().await.unwrap();
    let ids: Vec<&str> = report.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["t0", "t1", "t2"]);
    assert_eq!(report.items[0].user_ids, ["u1", "u2"]);
    assert_eq!(report.requests, 3);
    assert!(report.warnings.is_empty());
}

#[tokio::test]
async fn v2_duplicates_are_dropped_and_a_page_failing_midway_fails_the_fetch() {
    let server = serve(|_, req| {
        let page: u64 = req.param("page").unwrap().parse().unwrap();
        let data = if page == 0 {
            json!([user("a"), user("b")])
        } else {
            json!([user("b"), user("c")])
        };
        Reply::ok(json!({"meta": {"page": page, "totalPages": 2}, "data": data}).to_string())
    })
    .await;
    let report = client(&v("v2", &server.base, 2)).users().await.unwrap();
    assert_eq!(report.items.len(), 3);
    assert!(report.warnings[0].contains("b"), "{:?}", report.warnings);

    let server = serve(|_, req| {
        let page: u64 = req.param("page").unwrap().parse().unwrap();
        if page == 1 {
            return Reply::json(500, r#"{"trackingId":"tr-9","error":{"key":"500","reason":"Internal","message":[{"description":"db down"}]}}"#);
        }
        Reply::ok(json!({"meta": {"page": page, "totalPages": 3}, "data": [user(&format!("u{page}"))]}).to_string())
    })
    .await;
    let err = client(&v("v2", &server.base, 1)).users().await.unwrap_err();
    assert_eq!(err.error_type(), "api_error");
    let text = err.to_string();
    assert!(
        text.contains("Internal: db down") && text.contains("tr-9"),
        "{text}"
    );
    assert_eq!(
        server.count("/organization"),
        1 + 3,
        "page 1 tried 3 times, page 2 never"
    );
    assert_no_secret(&text);
}

#[tokio::test]
async fn v2_a_next_link_loop_is_an_error() {
    let server = serve(|_, _| {
        Reply::ok(json!({"meta": {"page": 0, "totalPages": 9, "links": {"next": "/organization/org-1/v2/user?page=1&pageSize=5"}},
                         "data": [user("a")]}).to_string())
    })
    .await;
    let err = client(&v("v2", &server.base, 5)).users().await.unwrap_err();
    assert!(err.to_string().contains("paging loop"), "{err}");
}

#[tokio::test]
async fn webex_errors_and_bad_config_are_reported_clearly() {
    let server = serve(|_, _| {
        Reply::json(400, r#"{"trackingId":"ccconfig_1","error":{"key":"400","reason":"Bad orgid","message":[{"description":"org not found"}]}}"#)
    })
    .await;
    let err = client(&v("v2", &server.base, 5)).users().await.unwrap_err();
    assert!(
        err.to_string().contains("Bad orgid: org not found"),
        "{err}"
    );
    assert!(!err.is_retriable());
    let mut cfg = static_config(&server.base);
    cfg.org_id = None;
    assert!(WebexClient::new(&cfg, Metrics::new()).is_err());
    cfg.org_id = Some("../x".into());
    assert!(WebexClient::new(&cfg, Metrics::new()).is_err());
    let cfg = CloudConfig {
        api_version: Some("v3".into()),
        ..static_config(&server.base)
    };
    assert!(WebexClient::new(&cfg, Metrics::new())
        .err()
        .unwrap()
        .to_string()
        .contains("api_version"));
    let c = WebexClient::new(&static_config(&server.base), Metrics::new()).unwrap();
    assert_eq!(c.version(), WebexApiVersion::V2);
}

#[tokio::test]
async fn healthcheck_reads_one_user() {
    let server = serve(|_, _| {
        Reply::ok(json!({"meta": {"page": 0, "totalPages": 1}, "data": [user("a")]}).to_string())
    })
    .await;
    let h = client(&static_config(&server.base))
        .healthcheck()
        .await
        .unwrap();
    assert_eq!(h.items, 1);
    assert!(
        h.endpoint
            .ends_with("/organization/org-1/v2/user?page=0&pageSize=1"),
        "{}",
        h.endpoint
    );
}

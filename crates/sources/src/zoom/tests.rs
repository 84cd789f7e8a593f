//! Zoom: `next_page_token` paging, groups and members, error bodies, OAuth with Basic.

use super::*;
use crate::cloud::test_server::{
    assert_no_secret, oauth_config, serve, static_config, token_reply, Reply,
};
use serde_json::{json, Value};
use std::time::Duration;
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

fn client(cfg: &CloudConfig) -> ZoomClient {
    ZoomClient::new(cfg, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn user(id: &str) -> Value {
    json!({"id": id, "first_name": "F", "last_name": id, "display_name": format!("F {id}"),
           "email": format!("{id}@example.com"), "type": 2, "dept": "Care", "status": "active",
           "role_id": "2", "group_ids": ["g1"], "pmi": 123})
}

#[tokio::test]
async fn users_follow_next_page_tokens_until_an_empty_one() {
    let server = serve(|_, req| {
        assert_eq!(req.param("status").as_deref(), Some("active"));
        let (users, next) = match req.param("next_page_token").as_deref() {
            None => (vec![user("a"), user("b")], "t 1/x"),
            Some("t 1/x") => (vec![user("c")], "t2"),
            Some("t2") => (vec![user("d")], ""),
            Some(other) => panic!("unexpected token {other}"),
        };
        Reply::ok(json!({"page_count": 3, "page_size": 300, "total_records": 4, "next_page_token": next, "users": users}).to_string())
    })
    .await;
    let report = client(&static_config(&server.base)).users().await.unwrap();
    let ids: Vec<&str> = report.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert_eq!(report.requests, 3);
    assert_eq!(
        server.requests()[0].uri(),
        "/v2/users?status=active&page_size=300"
    );
    let u = &report.items[0];
    assert_eq!(u.user_type.as_deref(), Some("2"));
    assert_eq!(u.dept.as_deref(), Some("Care"));
    assert_eq!(u.role_id.as_deref(), Some("2"));
    assert_eq!(u.group_ids, ["g1"]);
}

#[tokio::test]
async fn a_repeated_token_is_a_paging_loop() {
    let server = serve(|_, _| {
        Reply::ok(json!({"next_page_token": "same", "users": [user("a")]}).to_string())
    })
    .await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paging loop"), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn groups_list_their_members_page_by_page() {
    let server = serve(|_, req| match (req.path.as_str(), req.param("next_page_token").as_deref()) {
        ("/v2/groups", _) => Reply::ok(json!({"total_records": 1, "groups": [{"id": "g1", "name": "Care", "total_members": 3}]}).to_string()),
        ("/v2/groups/g1/members", None) => Reply::ok(json!({"next_page_token": "m2", "members": [{"id": "a", "email": "a@x"}, {"id": "b"}]}).to_string()),
        ("/v2/groups/g1/members", Some("m2")) => Reply::ok(json!({"next_page_token": "", "members": [{"id": "c"}]}).to_string()),
        other => panic!("unexpected {other:?}"),
    })
    .await;
    let report = client(&static_config(&server.base)).teams().await.unwrap();
    assert_eq!(report.items[0].name, "Care");
    assert_eq!(report.items[0].member_ids, ["a", "b", "c"]);
    assert_eq!(report.requests, 3);
}

#[tokio::test]
async fn zoom_errors_are_decoded_and_a_failed_members_page_fails_the_call() {
    let server = serve(|_, req| match req.path.as_str() {
        "/v2/groups" => Reply::ok(json!({"groups": [{"id": "g1", "name": "Care"}]}).to_string()),
        _ => Reply::json(
            404,
            r#"{"code":4130,"message":"Group does not exist: g1."}"#,
        ),
    })
    .await;
    let err = client(&static_config(&server.base))
        .teams()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("code 4130: Group does not exist"), "{text}");
    assert_no_secret(&text);
}

#[tokio::test]
async fn oauth_uses_basic_auth_and_the_form() {
    let server = serve(|_, req| {
        if req.path == "/token" {
            assert!(req
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("Basic "));
            assert_eq!(
                req.form("grant_type").as_deref(),
                Some("client_credentials")
            );
            return token_reply("tok-z", 3599);
        }
        assert_eq!(req.bearer().as_deref(), Some("tok-z"));
        Reply::ok(json!({"users": [user("a")]}).to_string())
    })
    .await;
    let h = client(&oauth_config(&server.base))
        .healthcheck()
        .await
        .unwrap();
    assert_eq!(h.items, 1);
    assert_eq!(
        server.requests()[1].uri(),
        "/v2/users?status=active&page_size=1"
    );
}

#[tokio::test]
async fn malformed_json_names_the_url_and_page() {
    let server = serve(|_, req| {
        if req.param("next_page_token").is_some() {
            return Reply::ok("{\"users\": [ {\"id\": 1");
        }
        Reply::ok(json!({"next_page_token": "p2", "users": [user("a")]}).to_string())
    })
    .await;
    let err = client(&static_config(&server.base))
        .users()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("zoom user page 1") && text.contains("next_page_token=p2"),
        "{text}"
    );
}

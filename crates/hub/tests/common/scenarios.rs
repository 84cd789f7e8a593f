//! Scenarios every storage backend must pass: authentication, project isolation, the sync flow
//! and idempotent replay.

use super::{snapshot, TestHub, TOKEN_A, TOKEN_B};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

/// 401 without a token, with a wrong token and with a non-bearer header; the body names no project.
pub async fn unauthorized_requests_learn_nothing(hub: &TestHub) {
    let wrong = "x".repeat(44);
    let cases = [
        hub.get("/api/v1/users", None).await,
        hub.get("/api/v1/users", Some(&wrong)).await,
        hub.get("/api/v1/whoami", Some(&wrong)).await,
        hub.get("/api/v1/users/some-id", Some("")).await,
        hub.send(
            Request::builder()
                .uri("/api/v1/groups")
                .header(header::AUTHORIZATION, format!("Basic {TOKEN_A}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    ];
    for resp in cases {
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text());
        assert_eq!(resp.header("www-authenticate").as_deref(), Some("Bearer"));
        assert_eq!(resp.code(), "unauthorized");
        let text = resp.text().to_lowercase();
        assert!(!text.contains("alpha") && !text.contains("beta"), "{text}");
    }
    // A wrong token on the sync route is refused before anything is read or stored.
    let body =
        serde_json::to_vec(&snapshot("uccx", &[("u1", "eve", "t1")], &[("t1", "T")])).unwrap();
    let resp = hub
        .post_sync_raw(&wrong, Some("k-unauth"), Some("application/json"), body)
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(hub.counts(TOKEN_A).await, (0, 0));
    assert_eq!(hub.counts(TOKEN_B).await, (0, 0));
}

/// Sync, then read everything back: users, one user, groups, one group, runs, one run, changes,
/// roles, whoami.
pub async fn sync_then_read_back(hub: &TestHub) {
    let body = snapshot(
        "uccx-main",
        &[
            ("u1", "alice", "t1"),
            ("u2", "bob", "t1"),
            ("u3", "carol", "t2"),
        ],
        &[("t1", "Sales"), ("t2", "Support")],
    );
    let resp = hub.sync(TOKEN_A, "key-1", &body).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(resp.header("idempotent-replay").is_none());
    let sync = resp.json();
    assert_eq!(sync["run"]["result"], "applied", "{sync}");
    let run_id = sync["run"]["id"].as_str().unwrap().to_string();

    let users = hub.get("/api/v1/users", Some(TOKEN_A)).await;
    assert_eq!(users.status, StatusCode::OK);
    let users = users.json();
    assert_eq!(users["total"], 3, "{users}");
    assert_eq!(users["limit"], 100);
    let alice = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap()
        .clone();
    let alice_id = alice["id"].as_str().unwrap();
    let one = hub
        .get(&format!("/api/v1/users/{alice_id}"), Some(TOKEN_A))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["email"], "alice@example.com");
    assert_eq!(one.json()["external_id"], "u1");

    let filtered = hub
        .get("/api/v1/users?username=bob", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(filtered["total"], 1, "{filtered}");
    let paged = hub
        .get("/api/v1/users?limit=1&offset=1", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    assert_eq!(paged["total"], 3);

    let groups = hub.get("/api/v1/groups", Some(TOKEN_A)).await.json();
    assert_eq!(groups["total"], 2, "{groups}");
    let sales = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Sales")
        .unwrap()
        .clone();
    let sales_id = sales["id"].as_str().unwrap();
    let group = hub
        .get(&format!("/api/v1/groups/{sales_id}"), Some(TOKEN_A))
        .await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(group.json()["member_ids"].as_array().unwrap().len(), 2);

    let runs = hub.get("/api/v1/sync-runs", Some(TOKEN_A)).await.json();
    assert_eq!(runs["total"], 1);
    let run = hub
        .get(&format!("/api/v1/sync-runs/{run_id}"), Some(TOKEN_A))
        .await;
    assert_eq!(run.status, StatusCode::OK);
    assert_eq!(run.json()["source"], "uccx-main");
    let changes = hub
        .get(
            &format!("/api/v1/sync-runs/{run_id}/changes?limit=2"),
            Some(TOKEN_A),
        )
        .await;
    assert_eq!(changes.status, StatusCode::OK, "{}", changes.text());
    assert_eq!(changes.json()["items"].as_array().unwrap().len(), 2);

    let roles = hub.get("/api/v1/roles", Some(TOKEN_A)).await.json();
    assert_eq!(roles["roles"], serde_json::json!(["agent", "supervisor"]));
    let me = hub.get("/api/v1/whoami", Some(TOKEN_A)).await.json();
    assert_eq!(me["project"], "alpha");
}

/// Project B's token sees none of A's objects: lists are empty and A's ids answer 404 exactly as
/// nonexistent ids do.
pub async fn projects_are_isolated(hub: &TestHub) {
    let a = snapshot("uccx-main", &[("u1", "alice", "t1")], &[("t1", "Sales")]);
    let b = snapshot("uccx-main", &[("u9", "zed", "t9")], &[("t9", "Night")]);
    let ra = hub.sync(TOKEN_A, "same-key", &a).await;
    assert_eq!(ra.status, StatusCode::OK, "{}", ra.text());
    // The same idempotency key in another project is a different request, not a replay.
    let rb = hub.sync(TOKEN_B, "same-key", &b).await;
    assert_eq!(rb.status, StatusCode::OK, "{}", rb.text());
    assert!(rb.header("idempotent-replay").is_none());

    let a_users = hub.get("/api/v1/users", Some(TOKEN_A)).await.json();
    assert_eq!(a_users["total"], 1);
    assert_eq!(a_users["items"][0]["username"], "alice");
    let b_users = hub.get("/api/v1/users", Some(TOKEN_B)).await.json();
    assert_eq!(b_users["total"], 1);
    assert_eq!(b_users["items"][0]["username"], "zed");

    let a_user = a_users["items"][0]["id"].as_str().unwrap().to_string();
    let a_groups = hub.get("/api/v1/groups", Some(TOKEN_A)).await.json();
    let a_group = a_groups["items"][0]["id"].as_str().unwrap().to_string();
    let a_run = ra.json()["run"]["id"].as_str().unwrap().to_string();
    let b_groups = hub.get("/api/v1/groups", Some(TOKEN_B)).await.json();
    assert_eq!(b_groups["total"], 1);
    assert_eq!(b_groups["items"][0]["name"], "Night");

    for (path, missing) in [
        (
            format!("/api/v1/users/{a_user}"),
            "/api/v1/users/no-such-user".to_string(),
        ),
        (
            format!("/api/v1/groups/{a_group}"),
            "/api/v1/groups/no-such-group".to_string(),
        ),
        (
            format!("/api/v1/sync-runs/{a_run}"),
            "/api/v1/sync-runs/no-such-run".to_string(),
        ),
        (
            format!("/api/v1/sync-runs/{a_run}/changes"),
            "/api/v1/sync-runs/no-such-run/changes".to_string(),
        ),
    ] {
        let foreign = hub.get(&path, Some(TOKEN_B)).await;
        let absent = hub.get(&missing, Some(TOKEN_B)).await;
        assert_eq!(
            foreign.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            foreign.text()
        );
        assert_eq!(absent.status, StatusCode::NOT_FOUND);
        assert_eq!(foreign.code(), "not_found");
        assert_eq!(absent.code(), "not_found");
        assert!(!foreign.text().contains("alpha"));
        // Same shape: only the echoed id differs.
        let shape = |r: &super::Resp, id: &str| r.text().replace(id, "ID");
        let foreign_id = path.split('/').nth(4).unwrap_or_default();
        let absent_id = missing.split('/').nth(4).unwrap_or_default();
        assert_eq!(shape(&foreign, foreign_id), shape(&absent, absent_id));
        // The owner still sees it.
        assert_eq!(hub.get(&path, Some(TOKEN_A)).await.status, StatusCode::OK);
    }
    let b_runs = hub.get("/api/v1/sync-runs", Some(TOKEN_B)).await.json();
    assert_eq!(b_runs["total"], 1);
}

/// Replaying a key returns the stored body with `Idempotent-Replay: true`; the same key with a
/// different body is a 422 conflict; nothing is applied twice.
pub async fn replay_returns_the_same_answer(hub: &TestHub) {
    let body = snapshot("uccx-main", &[("u1", "alice", "t1")], &[("t1", "Sales")]);
    let first = hub.sync(TOKEN_A, "replay-key", &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = hub.sync(TOKEN_A, "replay-key", &body).await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replay").as_deref(), Some("true"));
    assert_eq!(hub.counts(TOKEN_A).await, (1, 1));

    let other = snapshot("uccx-main", &[("u2", "bob", "t1")], &[("t1", "Sales")]);
    let conflict = hub.sync(TOKEN_A, "replay-key", &other).await;
    assert_eq!(
        conflict.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        conflict.text()
    );
    assert_eq!(conflict.code(), "conflict");
    assert!(conflict.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key reused with a different request"));
    assert_eq!(hub.counts(TOKEN_A).await, (1, 1));
}

/// Users of two sources sharing an e-mail are linked as one person; a key shared inside one
/// source is reported as a conflict and not linked; project B sees none of it.
pub async fn people_are_linked_across_sources(hub: &TestHub) {
    let ucce = snapshot(
        "ucce-dc1",
        &[
            ("1", "alice", "t1"),
            ("2", "bob", "t1"),
            ("3", "dave", "t1"),
        ],
        &[("t1", "Sales")],
    );
    let mut webex = snapshot(
        "webex",
        &[
            ("w1", "alice", "x"),
            ("w2", "bob2", "x"),
            ("w3", "erin", "x"),
        ],
        &[("x", "Sales")],
    );
    // w2 carries bob's e-mail (linked; the names differ); w1 and w3 share alice's e-mail inside
    // one source (a conflict: not linked).
    webex["snapshot"]["users"][1]["email"] = "BOB@example.com".into();
    webex["snapshot"]["users"][2]["email"] = "alice@example.com".into();
    assert_eq!(
        hub.sync(TOKEN_A, "people-1", &ucce).await.status,
        StatusCode::OK
    );
    assert_eq!(
        hub.sync(TOKEN_A, "people-2", &webex).await.status,
        StatusCode::OK
    );

    let people = hub.get("/api/v1/people", Some(TOKEN_A)).await;
    assert_eq!(people.status, StatusCode::OK, "{}", people.text());
    let body = people.json();
    assert_eq!(body["total"], 1, "{body}");
    let bob = &body["items"][0];
    assert_eq!(bob["key"], "bob@example.com");
    let sources: Vec<&str> = bob["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec!["ucce-dc1", "webex"]);
    assert!(bob["notes"][0].as_str().unwrap().contains("name"), "{bob}");

    let conflicts = hub
        .get("/api/v1/people/conflicts", Some(TOKEN_A))
        .await
        .json();
    assert_eq!(conflicts["total"], 1, "{conflicts}");
    assert_eq!(conflicts["items"][0]["key"], "alice@example.com");
    assert_eq!(conflicts["items"][0]["users"].as_array().unwrap().len(), 3);
    assert!(conflicts["items"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("webex"));

    let other = hub.get("/api/v1/people", Some(TOKEN_B)).await.json();
    assert_eq!(other["total"], 0, "project B sees nothing of A: {other}");
    let anonymous = hub.get("/api/v1/people", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

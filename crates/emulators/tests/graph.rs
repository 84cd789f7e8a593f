//! Microsoft Graph emulator: token flow, nextLink paging, $top/$skip rules, groups, faults.

mod common;

use common::{data, get, get_url, Reply};

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use wfm_emulators::graph::{self, GraphConfig, GraphEmulator};
use wfm_emulators::paging::PageFailure;
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

const STATIC: &str = "wfm-demo-static-token";

async fn start(cfg: GraphConfig, d: SharedData) -> EmulatorHandle {
    GraphEmulator::spawn(cfg, d).await.expect("spawn")
}

async fn token(h: &EmulatorHandle) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "wfm-demo-client"),
            ("client_secret", "wfm-demo-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn assert_graph_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().len(), 1);
    let e = &v["error"];
    assert_eq!(e["code"], code);
    assert!(e["message"].is_string());
    assert!(e["innerError"]["request-id"].is_string());
    assert!(e["innerError"]["date"].is_string());
}

/// Follows `@odata.nextLink` verbatim; the `value` items and the number of pages.
async fn walk(h: &EmulatorHandle, first: &str, tok: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}{first}", h.base_url());
    let (mut items, mut pages) = (Vec::new(), 0);
    loop {
        let r = get_url(&url, tok).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        pages += 1;
        assert!(pages < 2000, "runaway walk");
        items.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => return (items, pages),
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn token_flow_and_expiry() {
    let mut cfg = GraphConfig::default();
    cfg.auth.token_lifetime = Duration::from_secs(1);
    let h = start(cfg, data(5)).await;
    let tok = token(&h).await;
    assert_eq!(get(&h, "/v1.0/users", &tok).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&h, "/v1.0/users", &tok).await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    assert!(r.body.contains("expired"));
    assert_graph_error(
        &get(&h, "/v1.0/users", "garbage").await,
        401,
        "InvalidAuthenticationToken",
    );
    let r = get_url(&format!("{}/v1.0/users", h.base_url()), "").await;
    assert_eq!(r.status, 401);
    assert_eq!(get(&h, "/v1.0/users", STATIC).await.status, 200);
}

#[tokio::test]
async fn next_link_followed_verbatim_reaches_the_end() {
    let d = data(230);
    let h = start(GraphConfig::default(), d.clone()).await;
    let tok = token(&h).await;
    let v = get(&h, "/v1.0/users", &tok).await.json();
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users"
    );
    assert_eq!(
        v["value"].as_array().unwrap().len(),
        100,
        "default page 100"
    );
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/users?", h.base_url())),
        "{next}"
    );
    assert!(next.contains("$skiptoken="));
    assert!(!next.contains("skip=100"), "opaque token");
    let u = &v["value"][0];
    for f in [
        "id",
        "displayName",
        "givenName",
        "surname",
        "mail",
        "userPrincipalName",
        "jobTitle",
    ] {
        assert!(u.get(f).is_some(), "missing {f}: {u}");
    }
    let (items, pages) = walk(&h, "/v1.0/users", &tok).await;
    assert_eq!((items.len(), pages), (233, 3));
    assert_eq!(ids(&items).iter().collect::<HashSet<_>>().len(), 233);
    let cc = d.snapshot();
    for u in &items {
        let uid = u["userPrincipalName"]
            .as_str()
            .unwrap()
            .split('@')
            .next()
            .unwrap();
        let r = cc
            .resources
            .iter()
            .find(|r| r.user_id.to_lowercase() == uid)
            .unwrap();
        assert_eq!(
            cc.end_user(&r.user_id).unwrap().mailid.as_deref(),
            u["mail"].as_str()
        );
    }
    let (items, pages) = walk(&h, "/v1.0/users?$top=999", &tok).await;
    assert_eq!((items.len(), pages), (233, 1));
    // A forged token is refused.
    let r = get(&h, "/v1.0/users?$skiptoken=AAAA", &tok).await;
    assert_graph_error(&r, 400, "Directory_ExpiredPageToken");
}

#[tokio::test]
async fn skip_and_top_over_999_are_refused() {
    let h = start(GraphConfig::default(), data(5)).await;
    let r = get(&h, "/v1.0/users?$skip=10", STATIC).await;
    assert_graph_error(&r, 400, "Request_UnsupportedQuery");
    let r = get(&h, "/v1.0/users?%24top=1000", STATIC).await;
    assert_graph_error(&r, 400, "Request_UnsupportedQuery");
    assert!(r.body.contains("Must be between 1 and 999 inclusive"));
    assert_graph_error(
        &get(&h, "/v1.0/users?$top=0", STATIC).await,
        400,
        "Request_UnsupportedQuery",
    );
    assert_graph_error(
        &get(&h, "/v1.0/users?$top=x", STATIC).await,
        400,
        "Request_BadRequest",
    );
}

#[tokio::test]
async fn groups_and_members_are_paged_with_user_objects() {
    let d = data(60);
    let h = start(GraphConfig::default(), d.clone()).await;
    let (groups, pages) = walk(&h, "/v1.0/groups?$top=3", STATIC).await;
    assert_eq!((groups.len(), pages), (4, 2));
    let cc = d.snapshot();
    for g in &groups {
        let team = cc
            .teams
            .iter()
            .find(|t| t.name == g["displayName"])
            .unwrap();
        assert_eq!(g["id"], graph::group_id(team.team_id));
        let first = format!("/v1.0/groups/{}/members?$top=5", g["id"].as_str().unwrap());
        let (members, _) = walk(&h, &first, STATIC).await;
        assert_eq!(members.len(), cc.team_members(team.team_id).count());
        for m in &members {
            assert_eq!(m["@odata.type"], "#microsoft.graph.user");
            assert!(m["userPrincipalName"].is_string());
        }
    }
    let r = get(&h, "/v1.0/groups/nope/members", STATIC).await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn throttling_carries_retry_after() {
    let cfg = GraphConfig::default();
    cfg.control.set_faults(|k| {
        k.throttle_every = Some(2);
        k.retry_after_secs = 4;
    });
    let h = start(cfg, data(5)).await;
    assert_eq!(get(&h, "/v1.0/users", STATIC).await.status, 200);
    let r = get(&h, "/v1.0/users", STATIC).await;
    assert_graph_error(&r, 429, "TooManyRequests");
    assert_eq!(r.retry_after.as_deref(), Some("4"));
    h.faults().push_for_path("/v1.0/users", Fault::Status(429));
    let r = get(&h, "/v1.0/users", STATIC).await;
    assert_graph_error(&r, 429, "TooManyRequests");
    assert_eq!(r.retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn fault_modes_are_observable() {
    let cfg = GraphConfig::default();
    let ctl = cfg.control.clone();
    let h = start(cfg, data(40)).await;
    let base = h.base_url();
    // Page 1 fails once with 503; following the same link again works.
    ctl.set_faults(|k| k.fail_page_once = Some((1, PageFailure::Status(503))));
    let v = get(&h, "/v1.0/users?$top=10", STATIC).await.json();
    let next = v["@odata.nextLink"].as_str().unwrap().to_string();
    assert_graph_error(&get_url(&next, STATIC).await, 503, "UnknownError");
    assert_eq!(get_url(&next, STATIC).await.status, 200);
    // Malformed JSON once.
    ctl.set_faults(|k| k.fail_page_once = Some((0, PageFailure::Malformed)));
    let r = get(&h, "/v1.0/users?$top=10", STATIC).await;
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    // Loop: page 2 links back to page 1.
    ctl.set_faults(|k| k.next_loop = Some((2, 1)));
    let p1 = get_url(&next, STATIC).await.json();
    let to_p2 = p1["@odata.nextLink"].as_str().unwrap();
    let p2 = get_url(to_p2, STATIC).await.json();
    let back = p2["@odata.nextLink"].as_str().unwrap();
    assert_eq!(
        get_url(back, STATIC).await.body,
        get_url(&next, STATIC).await.body
    );
    // Duplicates across pages; forced page size; empty page with a next link.
    ctl.clear_faults();
    ctl.set_faults(|k| k.duplicate_across_pages = 3);
    let (items, _) = walk(&h, "/v1.0/users?$top=10", STATIC).await;
    assert_eq!(items.len(), 43 + 4 * 3);
    assert_eq!(ids(&items).iter().collect::<HashSet<_>>().len(), 43);
    ctl.set_faults(|k| {
        k.duplicate_across_pages = 0;
        k.forced_page_size = Some(25);
    });
    let (items, pages) = walk(&h, "/v1.0/users?$top=999", STATIC).await;
    assert_eq!((items.len(), pages), (43, 2));
    ctl.set_faults(|k| {
        k.forced_page_size = None;
        k.empty_page = Some(2);
    });
    let (items, pages) = walk(&h, "/v1.0/users?$top=10", STATIC).await;
    assert_eq!((items.len(), pages), (43, 6));
    // Unknown member.
    ctl.clear_faults();
    ctl.set_faults(|k| k.unknown_member = true);
    let (users, _) = walk(&h, "/v1.0/users?$top=999", STATIC).await;
    let known: HashSet<String> = ids(&users).into_iter().collect();
    let gid = graph::group_id(1);
    let (members, _) = walk(&h, &format!("/v1.0/groups/{gid}/members"), STATIC).await;
    let strangers: Vec<_> = ids(&members)
        .into_iter()
        .filter(|i| !known.contains(i))
        .collect();
    assert_eq!(strangers.len(), 1);
    assert!(base.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn rename_and_move_keep_the_id() {
    let d = data(10);
    let h = start(GraphConfig::default(), d.clone()).await;
    let (uid, mail) = {
        let cc = d.read();
        let r = &cc.resources[2];
        (
            r.user_id.clone(),
            cc.end_user(&r.user_id).unwrap().mailid.clone(),
        )
    };
    let find = |items: &[Value], m: &Option<String>| {
        items
            .iter()
            .find(|u| u["mail"].as_str() == m.as_deref())
            .cloned()
            .unwrap()
    };
    let (before, _) = walk(&h, "/v1.0/users", STATIC).await;
    let old = find(&before, &mail);
    d.write().rename_user(&uid, "graph.renamed");
    d.write().move_to_team("graph.renamed", Some(4));
    let (after, _) = walk(&h, "/v1.0/users", STATIC).await;
    let new = find(&after, &mail);
    assert_eq!(new["id"], old["id"]);
    assert_eq!(
        new["userPrincipalName"],
        "graph.renamed@wfmdemo.onmicrosoft.com"
    );
    let (members, _) = walk(
        &h,
        &format!("/v1.0/groups/{}/members", graph::group_id(4)),
        STATIC,
    )
    .await;
    assert!(ids(&members).contains(&old["id"].as_str().unwrap().to_string()));
}

#[tokio::test]
async fn twenty_four_thousand_users_page_through_quickly() {
    let d = SharedData::generate(&DatasetSpec {
        agents: 24_000,
        supervisors: 0,
        teams: 50,
        skills: 5,
        ..DatasetSpec::default()
    });
    let h = start(GraphConfig::default(), d).await;
    let t0 = Instant::now();
    let (items, pages) = walk(&h, "/v1.0/users?$top=999", STATIC).await;
    assert_eq!((items.len(), pages), (24_000, 25));
    assert_eq!(ids(&items).iter().collect::<HashSet<_>>().len(), 24_000);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
}

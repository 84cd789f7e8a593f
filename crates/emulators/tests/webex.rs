//! Webex Contact Center emulator: token flow, v1 arrays vs v2 envelope, paging, errors, faults.

mod common;

use common::{data, get, Reply};

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use wfm_emulators::oauth::CloudControl;
use wfm_emulators::paging::PageFailure;
use wfm_emulators::webex::{self, WebexConfig, WebexEmulator, DEFAULT_ORG_ID};
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

const STATIC: &str = "wfm-demo-static-token";

async fn start(cfg: WebexConfig, d: SharedData) -> EmulatorHandle {
    WebexEmulator::spawn(cfg, d).await.expect("spawn")
}

fn users_path(v2: bool) -> String {
    let v = if v2 { "/v2" } else { "" };
    format!("/organization/{DEFAULT_ORG_ID}{v}/user")
}

async fn token_with(h: &EmulatorHandle, form: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

async fn token(h: &EmulatorHandle) -> String {
    let form =
        "grant_type=client_credentials&client_id=wfm-demo-client&client_secret=wfm-demo-secret";
    let (status, v) = token_with(h, form).await;
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

fn assert_webex_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 2, "{v}");
    assert!(v["trackingId"].as_str().unwrap().starts_with("ccconfig_"));
    assert_eq!(v["error"]["key"], status.to_string());
    assert!(v["error"]["reason"].is_string());
    let m = &v["error"]["message"][0];
    assert!(m["description"].is_string());
    assert_eq!(m["code"], status.to_string());
    assert!(m["references"].is_array());
}

/// Walks v2 following `links.next`; returns every user id in order and the number of pages.
async fn walk_v2(h: &EmulatorHandle, tok: &str, size: usize) -> (Vec<String>, usize) {
    let mut path = format!("{}?page=0&pageSize={size}", users_path(true));
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let r = get(h, &path, tok).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        pages += 1;
        assert!(pages < 1000, "runaway walk");
        for u in v["data"].as_array().unwrap() {
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        match v["meta"]["links"]["next"].as_str() {
            Some(next) => path = next.to_string(),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn token_flow_scope_and_expiry() {
    let mut cfg = WebexConfig::default();
    cfg.auth.token_lifetime = Duration::from_secs(1);
    let h = start(cfg, data(10)).await;
    let tok = token(&h).await;
    assert_eq!(get(&h, &users_path(false), &tok).await.status, 200);
    // Basic client authentication works too and reports expires_in.
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.base_url()))
        .basic_auth("wfm-demo-client", Some("wfm-demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1);
    // Wrong secret, wrong grant, scope not granted.
    let (s, v) = token_with(
        &h,
        "grant_type=client_credentials&client_id=wfm-demo-client&client_secret=nope",
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")));
    let (s, v) = token_with(&h, "grant_type=password&client_id=wfm-demo-client").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, v) = token_with(
        &h,
        "grant_type=client_credentials&client_id=wfm-demo-client&client_secret=wfm-demo-secret&scope=spark:all",
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_scope")));
    // A token without cjp:config_read is refused with 403.
    let (_, v) = token_with(
        &h,
        "grant_type=client_credentials&client_id=wfm-demo-client&client_secret=wfm-demo-secret&scope=cjp:config",
    )
    .await;
    let narrow = v["access_token"].as_str().unwrap();
    assert_webex_error(&get(&h, &users_path(false), narrow).await, 403);
    // Expiry.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&h, &users_path(false), &tok).await;
    assert_webex_error(&r, 401);
    assert!(r.body.contains("expired"));
    // Wrong token, no token; the static token always works.
    assert_webex_error(&get(&h, &users_path(false), "garbage").await, 401);
    let r = reqwest::get(format!("{}{}", h.base_url(), users_path(false)))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(get(&h, &users_path(false), STATIC).await.status, 200);
}

#[tokio::test]
async fn expire_tokens_knob_invalidates_issued_tokens() {
    let cfg = WebexConfig::default();
    let ctl = cfg.control.clone();
    let h = start(cfg, data(5)).await;
    let tok = token(&h).await;
    assert_eq!(get(&h, &users_path(false), &tok).await.status, 200);
    ctl.expire_tokens();
    assert_webex_error(&get(&h, &users_path(false), &tok).await, 401);
    assert_eq!(ctl.tokens_issued(), 1);
}

#[tokio::test]
async fn v1_is_a_bare_array_and_walking_pages_returns_every_user_once() {
    let d = data(40);
    let h = start(WebexConfig::default(), d.clone()).await;
    let tok = token(&h).await;
    let mut seen = Vec::new();
    for page in 0.. {
        let r = get(
            &h,
            &format!("{}?page={page}&pageSize=7", users_path(false)),
            &tok,
        )
        .await;
        assert_eq!(r.status, 200);
        let v = r.json();
        let arr = v.as_array().expect("bare array");
        if arr.is_empty() {
            break;
        }
        for u in arr {
            for f in [
                "id",
                "ciUserId",
                "email",
                "firstName",
                "lastName",
                "active",
                "siteId",
                "teamIds",
                "agentProfileId",
                "externalIdentifier",
                "deafultDialledNumber",
                "organizationId",
                "contactCenterEnabled",
            ] {
                assert!(u.get(f).is_some(), "missing {f}: {u}");
            }
            seen.push((
                u["externalIdentifier"].as_str().unwrap().to_string(),
                u["email"].as_str().unwrap().to_string(),
                u["id"].as_str().unwrap().to_string(),
            ));
        }
    }
    let cc = d.snapshot();
    assert_eq!(seen.len(), cc.resources.len());
    let ids: HashSet<_> = seen.iter().map(|s| s.2.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "ids unique");
    for (uid, email, _) in &seen {
        assert_eq!(
            cc.end_user(uid).unwrap().mailid.as_deref(),
            Some(email.as_str())
        );
    }
}

#[tokio::test]
async fn v2_envelope_meta_and_links_reach_the_end() {
    let d = data(40);
    let h = start(WebexConfig::default(), d.clone()).await;
    let tok = token(&h).await;
    let r = get(
        &h,
        &format!("{}?page=1&pageSize=10", users_path(true)),
        &tok,
    )
    .await;
    let v = r.json();
    let meta = &v["meta"];
    assert_eq!(meta["orgid"], DEFAULT_ORG_ID);
    assert_eq!(meta["page"], 1);
    assert_eq!(meta["pageSize"], 10);
    assert_eq!(meta["totalRecords"], 43);
    assert_eq!(meta["totalPages"], 5);
    let links = &meta["links"];
    let p = users_path(true);
    assert_eq!(links["self"], format!("{p}?page=1&pageSize=10"));
    assert_eq!(links["next"], format!("{p}?page=2&pageSize=10"));
    assert_eq!(links["prev"], format!("{p}?page=0&pageSize=10"));
    assert_eq!(links["first"], format!("{p}?page=0&pageSize=10"));
    assert_eq!(links["last"], format!("{p}?page=4&pageSize=10"));
    assert_eq!(v["data"].as_array().unwrap().len(), 10);
    let (ids, pages) = walk_v2(&h, &tok, 10).await;
    assert_eq!((ids.len(), pages), (43, 5));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 43);
    // Past the end: empty data, no next.
    let v = get(&h, &format!("{p}?page=9&pageSize=10"), &tok)
        .await
        .json();
    assert!(v["data"].as_array().unwrap().is_empty());
    assert!(v["meta"]["links"].get("next").is_none());
}

#[tokio::test]
async fn teams_list_members_and_users_point_back() {
    let d = data(30);
    let h = start(WebexConfig::default(), d.clone()).await;
    let tok = token(&h).await;
    let teams = get(&h, &format!("/organization/{DEFAULT_ORG_ID}/team"), &tok)
        .await
        .json();
    let teams = teams.as_array().unwrap().clone();
    assert_eq!(teams.len(), 4);
    let users = get(&h, &format!("{}?pageSize=1000", users_path(false)), &tok)
        .await
        .json();
    let cc = d.snapshot();
    for t in &teams {
        assert_eq!(t["teamType"], "AGENT");
        assert_eq!(t["teamStatus"], "IN_SERVICE");
        let uccx = cc.teams.iter().find(|x| x.name == t["name"]).unwrap();
        assert_eq!(t["id"], webex::json::team_id(uccx.team_id));
        let members = t["userIds"].as_array().unwrap();
        assert_eq!(members.len(), cc.team_members(uccx.team_id).count());
        for m in members {
            let u = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["id"] == *m)
                .expect("member is a user");
            assert_eq!(u["teamIds"][0], t["id"]);
        }
    }
    let v2 = get(&h, &format!("/organization/{DEFAULT_ORG_ID}/v2/team"), &tok)
        .await
        .json();
    assert_eq!(v2["meta"]["totalRecords"], 4);
    assert_eq!(v2["data"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn errors_page_size_too_big_wrong_org_unknown_path() {
    let h = start(WebexConfig::default(), data(5)).await;
    let tok = token(&h).await;
    let r = get(&h, &format!("{}?pageSize=1001", users_path(false)), &tok).await;
    assert_webex_error(&r, 400);
    assert_eq!(
        get(&h, &format!("{}?pageSize=1000", users_path(false)), &tok)
            .await
            .status,
        200
    );
    assert_webex_error(
        &get(&h, &format!("{}?page=x", users_path(true)), &tok).await,
        400,
    );
    let r = get(
        &h,
        "/organization/00000000-0000-0000-0000-000000000000/user",
        &tok,
    )
    .await;
    assert_webex_error(&r, 404);
    assert_webex_error(&get(&h, "/nope", &tok).await, 404);
}

#[tokio::test]
async fn throttling_carries_retry_after() {
    let cfg = WebexConfig::default();
    cfg.control.set_faults(|k| {
        k.throttle_every = Some(3);
        k.retry_after_secs = 7;
    });
    let h = start(cfg, data(5)).await;
    let p = users_path(false);
    let statuses = [
        get(&h, &p, STATIC).await,
        get(&h, &p, STATIC).await,
        get(&h, &p, STATIC).await,
    ];
    assert_eq!(statuses[0].status, 200);
    assert_eq!(statuses[1].status, 200);
    assert_webex_error(&statuses[2], 429);
    assert_eq!(statuses[2].retry_after.as_deref(), Some("7"));
    // A FaultPlan 429 has the default Retry-After of 1.
    h.faults().push(Fault::Status(429));
    let r = get(&h, &p, STATIC).await;
    assert_webex_error(&r, 429);
    assert_eq!(r.retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_page_fails_once_then_recovers() {
    let cfg = WebexConfig::default();
    let ctl = cfg.control.clone();
    let h = start(cfg, data(40)).await;
    ctl.set_faults(|k| k.fail_page_once = Some((2, PageFailure::Status(500))));
    let p = format!("{}?page=2&pageSize=10", users_path(false));
    assert_webex_error(&get(&h, &p, STATIC).await, 500);
    assert_eq!(get(&h, &p, STATIC).await.status, 200);
    ctl.set_faults(|k| k.fail_page_once = Some((1, PageFailure::Malformed)));
    let r = get(
        &h,
        &format!("{}?page=1&pageSize=10", users_path(true)),
        STATIC,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    assert_eq!(ctl.faults().fail_page_once, None);
}

#[tokio::test]
async fn fault_modes_loop_duplicates_forced_size_empty_page_unknown_member() {
    let cfg = WebexConfig::default();
    let ctl = cfg.control.clone();
    let h = start(cfg, data(40)).await;
    let p = users_path(true);
    // Loop: page 2's next points back to page 0.
    ctl.set_faults(|k| k.next_loop = Some((2, 0)));
    let v = get(&h, &format!("{p}?page=2&pageSize=10"), STATIC)
        .await
        .json();
    assert_eq!(
        v["meta"]["links"]["next"],
        format!("{p}?page=0&pageSize=10")
    );
    // Duplicates: each page repeats the previous page's last 2 users.
    ctl.set_faults(|k| {
        k.next_loop = None;
        k.duplicate_across_pages = 2;
    });
    let (ids, _) = walk_v2(&h, STATIC, 10).await;
    assert_eq!(ids.len(), 43 + 4 * 2);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 43);
    // Forced page size.
    ctl.set_faults(|k| {
        k.duplicate_across_pages = 0;
        k.forced_page_size = Some(25);
    });
    let v = get(&h, &format!("{}?pageSize=100", users_path(false)), STATIC)
        .await
        .json();
    assert_eq!(v.as_array().unwrap().len(), 25);
    let (ids, pages) = walk_v2(&h, STATIC, 100).await;
    assert_eq!((ids.len(), pages), (43, 2));
    // Empty page with a next link: following the links still gets everyone.
    ctl.set_faults(|k| {
        k.forced_page_size = None;
        k.empty_page = Some(1);
    });
    let v = get(&h, &format!("{p}?page=1&pageSize=10"), STATIC)
        .await
        .json();
    assert!(v["data"].as_array().unwrap().is_empty());
    assert!(v["meta"]["links"]["next"].is_string());
    let (ids, pages) = walk_v2(&h, STATIC, 10).await;
    assert_eq!((ids.len(), pages), (43, 6));
    // A team lists an unknown user id.
    ctl.clear_faults();
    ctl.set_faults(|k| k.unknown_member = true);
    let teams = get(&h, &format!("/organization/{DEFAULT_ORG_ID}/team"), STATIC)
        .await
        .json();
    let unknown = webex::json::unknown_user_id();
    assert!(teams.as_array().unwrap().iter().all(|t| t["userIds"]
        .as_array()
        .unwrap()
        .contains(&Value::from(unknown.clone()))));
}

#[tokio::test]
async fn rename_and_move_are_visible_with_the_same_id() {
    let d = data(20);
    let h = start(WebexConfig::default(), d.clone()).await;
    let find = |v: &Value, ext: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|u| u["externalIdentifier"] == ext)
            .cloned()
    };
    let p = format!("{}?pageSize=100", users_path(false));
    let before = get(&h, &p, STATIC).await.json();
    let (uid, old_team) = {
        let cc = d.read();
        let r = cc.resources.iter().find(|r| r.team.is_some()).unwrap();
        (r.user_id.clone(), r.team.clone().unwrap().0)
    };
    let old = find(&before, &uid).unwrap();
    let new_team = d
        .read()
        .teams
        .iter()
        .find(|t| t.team_id != old_team)
        .unwrap()
        .team_id;
    assert!(d.write().rename_user(&uid, "renamed.user"));
    assert!(d.write().move_to_team("renamed.user", Some(new_team)));
    let after = get(&h, &p, STATIC).await.json();
    assert!(find(&after, &uid).is_none());
    let new = find(&after, "renamed.user").unwrap();
    assert_eq!(new["id"], old["id"]);
    assert_eq!(new["ciUserId"], old["ciUserId"]);
    assert_eq!(new["teamIds"][0], webex::json::team_id(new_team));
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
    let h = start(WebexConfig::default(), d).await;
    let t0 = Instant::now();
    let (ids, pages) = walk_v2(&h, STATIC, 1000).await;
    assert_eq!((ids.len(), pages), (24_000, 24));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 24_000);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn control_is_shared_between_clones() {
    let ctl = CloudControl::default();
    let other = ctl.clone();
    ctl.set_faults(|k| k.unknown_member = true);
    assert!(other.faults().unknown_member);
}

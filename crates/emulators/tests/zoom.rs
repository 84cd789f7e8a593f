//! Zoom emulator: token flow, next_page_token paging, groups and members, errors, faults.

mod common;

use common::{data, get};

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wfm_emulators::paging::PageFailure;
use wfm_emulators::zoom::{self, ZoomConfig, ZoomEmulator};
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

const STATIC: &str = "wfm-demo-static-token";

async fn start(cfg: ZoomConfig, d: SharedData) -> EmulatorHandle {
    ZoomEmulator::spawn(cfg, d).await.expect("spawn")
}

async fn token(h: &EmulatorHandle) -> String {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/oauth/token?grant_type=account_credentials&account_id=x",
            h.base_url()
        ))
        .basic_auth("wfm-demo-client", Some("wfm-demo-secret"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Walks `/v2/users` until an empty `next_page_token`; user ids and page count.
async fn walk(h: &EmulatorHandle, tok: &str, size: usize) -> (Vec<String>, usize) {
    let (mut ids, mut pages) = (Vec::new(), 0);
    let mut token = String::new();
    loop {
        let mut path = format!("/v2/users?status=active&page_size={size}");
        if !token.is_empty() {
            path.push_str(&format!("&next_page_token={token}"));
        }
        let r = get(h, &path, tok).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        pages += 1;
        assert!(pages < 1000, "runaway walk");
        for u in v["users"].as_array().unwrap() {
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        token = v["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            return (ids, pages);
        }
    }
}

#[tokio::test]
async fn token_flow_and_expiry() {
    let mut cfg = ZoomConfig::default();
    cfg.auth.token_lifetime = Duration::from_secs(1);
    let h = start(cfg, data(5)).await;
    let tok = token(&h).await;
    assert_eq!(get(&h, "/v2/users", &tok).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&h, "/v2/users", &tok).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"code": 124, "message": "Access token is expired."})
    );
    let r = get(&h, "/v2/users", "garbage").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"code": 124, "message": "Invalid access token."})
    );
    assert_eq!(get(&h, "/v2/users", STATIC).await.status, 200);
}

#[tokio::test]
async fn users_page_until_empty_token_with_every_user_once() {
    let d = data(40);
    let h = start(ZoomConfig::default(), d.clone()).await;
    let tok = token(&h).await;
    let v = get(&h, "/v2/users?status=active&page_size=10", &tok)
        .await
        .json();
    assert_eq!(v["page_count"], 5);
    assert_eq!(v["page_number"], 1);
    assert_eq!(v["page_size"], 10);
    assert_eq!(v["total_records"], 43);
    let u = &v["users"][0];
    for f in [
        "id",
        "first_name",
        "last_name",
        "display_name",
        "email",
        "type",
        "dept",
        "status",
        "role_id",
        "group_ids",
    ] {
        assert!(u.get(f).is_some(), "missing {f}: {u}");
    }
    let (ids, pages) = walk(&h, &tok, 10).await;
    assert_eq!((ids.len(), pages), (43, 5));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 43);
    // E-mails come from CUCM.
    let all = get(&h, "/v2/users?page_size=300", &tok).await.json();
    let cc = d.snapshot();
    for u in all["users"].as_array().unwrap() {
        let r = cc
            .resources
            .iter()
            .find(|r| r.display_name() == u["display_name"] && r.user_id == u["employee_unique_id"])
            .unwrap();
        assert_eq!(
            cc.end_user(&r.user_id).unwrap().mailid.as_deref(),
            u["email"].as_str()
        );
    }
    // Other statuses are empty.
    let v = get(&h, "/v2/users?status=inactive", &tok).await.json();
    assert_eq!(v["total_records"], 0);
    assert_eq!(v["next_page_token"], "");
}

#[tokio::test]
async fn page_size_is_clamped_to_300() {
    let h = start(ZoomConfig::default(), data(400)).await;
    let v = get(&h, "/v2/users?page_size=1000", STATIC).await.json();
    assert_eq!(v["page_size"], 300);
    assert_eq!(v["users"].as_array().unwrap().len(), 300);
    let v = get(&h, "/v2/users", STATIC).await.json();
    assert_eq!(v["page_size"], 30);
}

#[tokio::test]
async fn groups_and_members() {
    let d = data(30);
    let h = start(ZoomConfig::default(), d.clone()).await;
    let v = get(&h, "/v2/groups", STATIC).await.json();
    assert_eq!(v["total_records"], 4);
    let cc = d.snapshot();
    for g in v["groups"].as_array().unwrap() {
        let team = cc.teams.iter().find(|t| t.name == g["name"]).unwrap();
        assert_eq!(g["id"], zoom::group_id(team.team_id));
        let n = cc.team_members(team.team_id).count();
        assert_eq!(g["total_members"], n);
        let id = g["id"].as_str().unwrap();
        let mut got = Vec::new();
        let mut token = String::new();
        loop {
            let path = format!("/v2/groups/{id}/members?page_size=3&next_page_token={token}");
            let m = get(&h, &path, STATIC).await.json();
            for x in m["members"].as_array().unwrap() {
                assert!(x["email"].is_string() && x["type"].is_number());
                got.push(x["id"].as_str().unwrap().to_string());
            }
            token = m["next_page_token"].as_str().unwrap().to_string();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(got.len(), n);
    }
    let r = get(&h, "/v2/groups/nope/members", STATIC).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"code": 4130, "message": "Group does not exist: nope."})
    );
}

#[tokio::test]
async fn bad_token_and_throttling() {
    let cfg = ZoomConfig::default();
    cfg.control.set_faults(|k| {
        k.throttle_next = 1;
        k.retry_after_secs = 3;
    });
    let h = start(cfg, data(5)).await;
    let r = get(&h, "/v2/users", STATIC).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.retry_after.as_deref(), Some("3"));
    assert_eq!(r.json()["code"], 429);
    let r = get(&h, "/v2/users?next_page_token=forged", STATIC).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"code": 300, "message": "The next page token is invalid or expired."})
    );
    h.faults().push(Fault::Status(429));
    let r = get(&h, "/v2/users", STATIC).await;
    assert_eq!((r.status, r.retry_after.as_deref()), (429, Some("1")));
}

#[tokio::test]
async fn fault_modes_are_observable() {
    let cfg = ZoomConfig::default();
    let ctl = cfg.control.clone();
    let h = start(cfg, data(40)).await;
    // Page 2 (0-based) fails once with 500, then the walk succeeds.
    ctl.set_faults(|k| k.fail_page_once = Some((2, PageFailure::Status(500))));
    let first = get(&h, "/v2/users?page_size=10", STATIC).await.json();
    let t1 = first["next_page_token"].as_str().unwrap().to_string();
    let second = get(
        &h,
        &format!("/v2/users?page_size=10&next_page_token={t1}"),
        STATIC,
    )
    .await
    .json();
    let t2 = second["next_page_token"].as_str().unwrap().to_string();
    let p3 = format!("/v2/users?page_size=10&next_page_token={t2}");
    assert_eq!(get(&h, &p3, STATIC).await.status, 500);
    assert_eq!(get(&h, &p3, STATIC).await.status, 200);
    // Loop: page 1's token leads back to page 0.
    ctl.set_faults(|k| k.next_loop = Some((1, 0)));
    let again = get(
        &h,
        &format!("/v2/users?page_size=10&next_page_token={t1}"),
        STATIC,
    )
    .await
    .json();
    let back = again["next_page_token"].as_str().unwrap();
    let looped = get(
        &h,
        &format!("/v2/users?page_size=10&next_page_token={back}"),
        STATIC,
    )
    .await
    .json();
    assert_eq!(looped["page_number"], 1);
    assert_eq!(looped["users"][0]["id"], first["users"][0]["id"]);
    // Duplicates, forced size, empty page.
    ctl.clear_faults();
    ctl.set_faults(|k| k.duplicate_across_pages = 1);
    let (ids, _) = walk(&h, STATIC, 10).await;
    assert_eq!(
        (ids.len(), ids.iter().collect::<HashSet<_>>().len()),
        (47, 43)
    );
    ctl.set_faults(|k| {
        k.duplicate_across_pages = 0;
        k.forced_page_size = Some(25);
    });
    let (ids, pages) = walk(&h, STATIC, 300).await;
    assert_eq!((ids.len(), pages), (43, 2));
    ctl.set_faults(|k| {
        k.forced_page_size = None;
        k.empty_page = Some(0);
    });
    let v = get(&h, "/v2/users?page_size=10", STATIC).await.json();
    assert!(v["users"].as_array().unwrap().is_empty());
    assert_ne!(v["next_page_token"], "");
    let (ids, pages) = walk(&h, STATIC, 10).await;
    assert_eq!((ids.len(), pages), (43, 6));
    // Malformed page.
    ctl.clear_faults();
    ctl.set_faults(|k| k.fail_page_once = Some((0, PageFailure::Malformed)));
    let r = get(&h, "/v2/users", STATIC).await;
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    // Unknown member in a group.
    ctl.set_faults(|k| k.unknown_member = true);
    let g = get(&h, "/v2/groups", STATIC).await.json();
    let gid = g["groups"][0]["id"].as_str().unwrap().to_string();
    let m = get(
        &h,
        &format!("/v2/groups/{gid}/members?page_size=300"),
        STATIC,
    )
    .await
    .json();
    let users = get(&h, "/v2/users?page_size=300", STATIC).await.json();
    let known: HashSet<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let unknown: Vec<_> = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !known.contains(x["id"].as_str().unwrap()))
        .collect();
    assert_eq!(unknown.len(), 1);
}

#[tokio::test]
async fn rename_and_move_keep_the_id() {
    let d = data(10);
    let h = start(ZoomConfig::default(), d.clone()).await;
    let uid = d.read().resources[0].user_id.clone();
    let find = |v: &Value, ext: &str| {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["employee_unique_id"] == ext)
            .cloned()
    };
    let before = find(
        &get(&h, "/v2/users?page_size=300", STATIC).await.json(),
        &uid,
    )
    .unwrap();
    let target = d.read().teams[3].team_id;
    d.write().rename_user(&uid, "zoom.renamed");
    d.write().move_to_team("zoom.renamed", Some(target));
    d.write().resource_mut("zoom.renamed").unwrap().last_name = "Newname".into();
    let after = get(&h, "/v2/users?page_size=300", STATIC).await.json();
    let u = find(&after, "zoom.renamed").unwrap();
    assert_eq!(u["id"], before["id"]);
    assert_eq!(u["last_name"], "Newname");
    assert_eq!(u["group_ids"], json!([zoom::group_id(target)]));
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
    let h = start(ZoomConfig::default(), d).await;
    let t0 = Instant::now();
    let (ids, pages) = walk(&h, STATIC, 300).await;
    assert_eq!((ids.len(), pages), (24_000, 80));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 24_000);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
}

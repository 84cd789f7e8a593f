//! UCCX Admin REST emulator: shapes, JSON, errors, auth, faults, latency, mutations, recording.

use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;
use wfm_emulators::uccx::{UccxConfig, UccxEmulator};
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

fn small() -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents: 30,
        supervisors: 4,
        teams: 3,
        skills: 5,
        ..DatasetSpec::default()
    })
}

async fn start(data: SharedData) -> EmulatorHandle {
    UccxEmulator::spawn(UccxConfig::default(), data)
        .await
        .expect("spawn")
}

async fn get(h: &EmulatorHandle, path: &str, json: bool) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", h.base_url()))
        .basic_auth("administrator", Some("ciscopsdt"));
    if json {
        req = req.header("Accept", "application/json");
    }
    let resp = req.send().await.expect("send");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// Every element name and the text of every `userID`, checking well-formedness on the way.
fn scan(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = Reader::from_str(xml);
    let (mut names, mut ids, mut in_id) = (Vec::new(), Vec::new(), false);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let n = String::from_utf8_lossy(e.local_name().as_ref().as_bytes()).into_owned();
                in_id = n == "userID";
                names.push(n);
            }
            Event::Text(t) if in_id => ids.push(t.xml10_content().into_owned()),
            Event::End(_) => in_id = false,
            Event::Eof => return (names, ids),
            _ => {}
        }
    }
}

#[tokio::test]
async fn resource_list_is_well_formed_and_complete() {
    let data = small();
    let h = start(data.clone()).await;
    let (status, body) = get(&h, "/adminapi/resource", false).await;
    assert_eq!(status, 200);
    assert!(body.contains("\n\t<resource>\n\t\t<self>"), "tab-indented");
    let (names, ids) = scan(&body);
    let expected: Vec<String> = data
        .read()
        .resources
        .iter()
        .map(|r| r.user_id.clone())
        .collect();
    assert_eq!(ids, expected);
    for n in [
        "resources",
        "self",
        "userID",
        "firstName",
        "lastName",
        "extension",
        "skillMap",
        "skillCompetency",
        "competencelevel",
        "skillNameUriPair",
        "refURL",
        "autoAvailable",
        "type",
        "team",
        "primarySupervisorOf",
        "secondarySupervisorOf",
        "supervisorOfTeamName",
    ] {
        assert!(names.iter().any(|x| x == n), "missing <{n}>");
    }
    assert!(body.contains(&format!(
        "<self>{}/adminapi/resource/{}</self>",
        h.base_url(),
        expected[0]
    )));
}

#[tokio::test]
async fn names_with_markup_characters_are_escaped() {
    let data = small();
    let first = data.read().resources[0].user_id.clone();
    data.write().resource_mut(&first).unwrap().last_name = "O'Brien & <Sons>".into();
    let team = data.read().teams[0].team_id;
    data.write().teams[0].name = "R&D <1>".into();
    let h = start(data).await;
    let (_, body) = get(&h, &format!("/adminapi/resource/{first}"), false).await;
    scan(&body);
    assert!(
        body.contains("<lastName>O&apos;Brien &amp; &lt;Sons&gt;</lastName>"),
        "{body}"
    );
    let (_, teams) = get(&h, &format!("/adminapi/team/{team}"), false).await;
    scan(&teams);
    assert!(teams.contains("<teamname>R&amp;D &lt;1&gt;</teamname>"));
    let (_, json) = get(&h, &format!("/adminapi/resource/{first}"), true).await;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["lastName"], "O'Brien & <Sons>");
}

#[tokio::test]
async fn team_list_is_one_line_with_the_real_misspelling() {
    let data = small();
    let sup = data.read().resources[31].user_id.clone();
    data.write().teams[0].secondary_supervisors = vec![sup];
    let h = start(data).await;
    let (status, body) = get(&h, "/adminapi/team", false).await;
    assert_eq!(status, 200);
    assert!(!body.trim_end().contains('\n'), "one line");
    let (names, _) = scan(&body);
    for n in [
        "teams",
        "team",
        "self",
        "teamId",
        "teamname",
        "primarySupervisor",
        "secondarySupervisors",
        "secondrySupervisor",
    ] {
        assert!(names.iter().any(|x| x == n), "missing <{n}>");
    }
    let (_, one) = get(&h, "/adminapi/team/1", false).await;
    assert!(
        one.starts_with("<?xml")
            && one.contains("<team><self>")
            && one.contains("<resources><resource name=")
    );
}

#[tokio::test]
async fn json_variant_has_typed_values_and_switchable_single_item_lists() {
    let data = small();
    let h = start(data.clone()).await;
    let (status, body) = get(&h, "/adminapi/resource", true).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["@type"], "resourceXMLList");
    let list = v["resource"].as_array().unwrap();
    assert_eq!(list.len(), 34);
    let r = &list[0];
    assert!(r["extension"].is_string() && r["type"].is_number() && r["autoAvailable"].is_boolean());
    let agent = list.iter().find(|r| r["type"] == 1).unwrap();
    assert_eq!(agent["primarySupervisorOf"], serde_json::json!({}));
    // Shrink to one resource: a single object by default, an array when switched.
    let keep = data.read().resources[0].clone();
    data.write().resources = vec![keep];
    let (_, body) = get(&h, "/adminapi/resource", true).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["resource"].is_object());
    let cfg = UccxConfig {
        json_single_as_object: false,
        ..UccxConfig::default()
    };
    let h2 = UccxEmulator::spawn(cfg, data).await.unwrap();
    let (_, body) = get(&h2, "/adminapi/resource", true).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["resource"].is_array());
    assert!(v["resource"][0]["skillMap"]["skillCompetency"].is_array());
}

#[tokio::test]
async fn unknown_ids_answer_404_api_errors_in_both_formats() {
    let h = start(small()).await;
    let (status, body) = get(&h, "/adminapi/resource/nobody", false).await;
    assert_eq!(status, 404);
    assert!(body.contains("<apiErrors><apiError><errorData>"), "{body}");
    let (status, body) = get(&h, "/adminapi/team/9999", true).await;
    assert_eq!(status, 404);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["apiError"][0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("9999"));
}

#[tokio::test]
async fn bad_password_gets_html_401() {
    let h = start(small()).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/adminapi/resource", h.base_url()))
        .basic_auth("administrator", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn faults_fire_once_in_order_then_clear() {
    let h = start(small()).await;
    h.faults().push(Fault::Status(503));
    h.faults().push(Fault::Unauthorized);
    h.faults().push(Fault::MalformedXml);
    h.faults().push(Fault::TruncatedBody);
    h.faults().push(Fault::EmptyList);
    let (s, b) = get(&h, "/adminapi/resource", false).await;
    assert_eq!(s, 503);
    assert!(b.contains("<errorType>InternalServerError</errorType>"));
    assert_eq!(get(&h, "/adminapi/resource", false).await.0, 401);
    let (s, b) = get(&h, "/adminapi/resource", false).await;
    assert_eq!(s, 200);
    assert!(
        Reader::from_str(&b)
            .read_to_end(quick_xml::name::QName("resources"))
            .is_err()
            || b.contains(" & ")
    );
    let (full_status, full) = {
        h.faults().clear();
        get(&h, "/adminapi/resource", false).await
    };
    assert_eq!(full_status, 200);
    h.faults().push(Fault::TruncatedBody);
    let (_, cut) = get(&h, "/adminapi/resource", false).await;
    assert_eq!(cut.len(), full.len() / 2);
    h.faults().push(Fault::EmptyList);
    let (_, empty) = get(&h, "/adminapi/resource", false).await;
    assert!(empty.ends_with("<resources/>"), "{empty}");
    assert_eq!(
        get(&h, "/adminapi/resource", false).await.1,
        full,
        "normal service resumes"
    );
    assert_eq!(h.faults().pending(), 0);
}

#[tokio::test]
async fn per_path_fault_and_hang() {
    let h = start(small()).await;
    h.faults().push_for_path("/adminapi/team", Fault::Hang);
    assert_eq!(get(&h, "/adminapi/resource", false).await.0, 200);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/adminapi/team", h.base_url()))
        .basic_auth("administrator", Some("ciscopsdt"))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(get(&h, "/adminapi/team", false).await.0, 200);
}

#[tokio::test]
async fn latency_is_applied() {
    let cfg = UccxConfig {
        latency: Duration::from_millis(150),
        ..UccxConfig::default()
    };
    let h = UccxEmulator::spawn(cfg, small()).await.unwrap();
    let start = Instant::now();
    assert_eq!(get(&h, "/adminapi/team", false).await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_mutation_is_visible_on_the_next_request() {
    let data = small();
    let h = start(data.clone()).await;
    let old = data.read().resources[0].user_id.clone();
    h.data().write().rename_user(&old, "renamed9999");
    let (_, body) = get(&h, "/adminapi/resource", false).await;
    assert!(
        body.contains("<userID>renamed9999</userID>")
            && !body.contains(&format!("<userID>{old}</userID>"))
    );
    h.data().write().remove_resource("renamed9999");
    assert_eq!(
        get(&h, "/adminapi/resource/renamed9999", false).await.0,
        404
    );
    let agent = data.read().resources[0].user_id.clone();
    data.write().move_to_team(&agent, None);
    let (_, one) = get(&h, &format!("/adminapi/resource/{agent}"), false).await;
    assert!(
        !one.contains("<team name="),
        "agent without team has no <team>"
    );
}

#[tokio::test]
async fn requests_are_recorded_without_credentials() {
    let h = start(small()).await;
    get(&h, "/adminapi/resource?detail=none", true).await;
    let reqs = h.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(h.request_count(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/adminapi/resource");
    assert_eq!(reqs[0].query.as_deref(), Some("detail=none"));
    assert_eq!(reqs[0].header("Accept"), Some("application/json"));
    assert!(reqs[0].authorization_present);
    h.clear_requests();
    assert_eq!(h.request_count(), 0);
}

#[tokio::test]
async fn serves_https_with_a_self_signed_certificate() {
    let pem = wfm_emulators::tls::self_signed(&[]).unwrap();
    let cfg = UccxConfig {
        tls: Some((pem.cert_pem.clone(), pem.key_pem)),
        ..UccxConfig::default()
    };
    let h = UccxEmulator::spawn(cfg, small()).await.unwrap();
    assert!(h.base_url().starts_with("https://"));
    let root = reqwest::Certificate::from_pem(pem.cert_pem.as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let url = format!(
        "{}/adminapi/team",
        h.base_url().replace("127.0.0.1", "localhost")
    );
    let resp = client
        .get(url)
        .basic_auth("administrator", Some("ciscopsdt"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

//! CUCM AXL emulator with hand-written SOAP requests (as the reference doc describes them).

use std::time::Duration;

use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

fn data() -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents: 60,
        supervisors: 5,
        teams: 4,
        ..DatasetSpec::default()
    })
}

fn envelope(version: &str, sequence: Option<u64>, sql: &str) -> String {
    let seq = sequence
        .map(|s| format!(" sequence=\"{s}\""))
        .unwrap_or_default();
    let sql = sql.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns=\"http://www.cisco.com/AXL/API/{version}\">\
<soapenv:Header/><soapenv:Body><ns:executeSQLQuery{seq}><sql>{sql}</sql></ns:executeSQLQuery></soapenv:Body></soapenv:Envelope>"
    )
}

async fn post_raw(
    h: &EmulatorHandle,
    path: &str,
    action: &str,
    body: String,
) -> (u16, String, Option<String>) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", h.base_url()))
        .basic_auth("axladmin", Some("ciscopsdt"))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", action)
        .body(body)
        .send()
        .await
        .expect("send");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), resp.text().await.unwrap(), cookie)
}

async fn query(h: &EmulatorHandle, sql: &str) -> (u16, String) {
    let (s, b, _) = post_raw(
        h,
        "/axl/",
        "\"CUCM:DB ver=12.5 executeSQLQuery\"",
        envelope("12.5", Some(1), sql),
    )
    .await;
    (s, b)
}

fn count_rows(body: &str) -> usize {
    body.matches("<row>").count()
}

#[tokio::test]
async fn select_returns_rows_and_echoes_the_sequence() {
    let d = data();
    let h = AxlEmulator::spawn(AxlConfig::default(), d.clone())
        .await
        .unwrap();
    let ids: Vec<String> = d
        .read()
        .end_users
        .iter()
        .take(3)
        .map(|u| u.userid.clone())
        .collect();
    d.write().delete_email(&ids[2]);
    let sql = format!(
        "SELECT userid, mailid, directoryuri FROM enduser WHERE userid IN ('{}', '{}', '{}')",
        ids[0], ids[1], ids[2]
    );
    let (s, body, cookie) = post_raw(
        &h,
        "/axl/",
        "\"CUCM:DB ver=12.5 executeSQLQuery\"",
        envelope("12.5", Some(4242), &sql),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("<ns:executeSQLQueryResponse xmlns:ns=\"http://www.cisco.com/AXL/API/12.5\" sequence=\"4242\">"));
    assert_eq!(count_rows(&body), 3);
    let mail = d.read().end_user(&ids[0]).unwrap().mailid.clone().unwrap();
    assert!(body.contains(&format!(
        "<row><userid>{}</userid><mailid>{mail}</mailid>",
        ids[0]
    )));
    assert!(
        body.contains(&format!(
            "<row><userid>{}</userid><mailid/><directoryuri/></row>",
            ids[2]
        )),
        "NULL as empty"
    );
    assert!(cookie.unwrap().starts_with("JSESSIONIDSSO="));
    let rec = &h.requests()[0];
    assert_eq!(
        rec.header("soapaction"),
        Some("\"CUCM:DB ver=12.5 executeSQLQuery\"")
    );
}

#[tokio::test]
async fn null_columns_can_be_left_out() {
    let d = data();
    let id = d.read().end_users[0].userid.clone();
    d.write().delete_email(&id);
    let h = AxlEmulator::spawn(
        AxlConfig {
            null_as_empty: false,
            ..AxlConfig::default()
        },
        d,
    )
    .await
    .unwrap();
    let (_, body) = query(
        &h,
        &format!("select userid, mailid from enduser where userid = '{id}'"),
    )
    .await;
    assert!(
        body.contains(&format!("<row><userid>{id}</userid></row>")),
        "{body}"
    );
}

#[tokio::test]
async fn skip_first_pages_through_everything_in_order() {
    let d = data();
    let h = AxlEmulator::spawn(AxlConfig::default(), d.clone())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for page in 0.. {
        let (s, body) = query(
            &h,
            &format!(
                "select skip {} first 20 userid from enduser order by userid",
                page * 20
            ),
        )
        .await;
        assert_eq!(s, 200);
        let n = count_rows(&body);
        seen.extend(
            body.split("<userid>")
                .skip(1)
                .map(|p| p.split('<').next().unwrap().to_string()),
        );
        if n < 20 {
            break;
        }
    }
    let mut expected: Vec<String> = d
        .read()
        .end_users
        .iter()
        .map(|u| u.userid.clone())
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn too_large_result_faults_and_paging_fixes_it() {
    let cfg = AxlConfig {
        max_rows_per_query: 50,
        ..AxlConfig::default()
    };
    let h = AxlEmulator::spawn(cfg, data()).await.unwrap();
    let (s, body) = query(&h, "select * from enduser").await;
    assert_eq!(s, 500);
    assert!(body.contains("Query request too large. Total rows matched: 65 rows. Suggestive Row Fetch: less than 50 rows"), "{body}");
    assert!(
        body.contains("<axlcode>-1</axlcode>")
            && body.contains("<request>executeSQLQuery</request>")
    );
    let (s, body) = query(&h, "select first 50 * from enduser").await;
    assert_eq!(s, 200);
    assert_eq!(count_rows(&body), 50);
}

#[tokio::test]
async fn concurrent_requests_hit_the_memory_allocation_throttle() {
    let cfg = AxlConfig {
        latency: Duration::from_millis(300),
        ..AxlConfig::default()
    };
    let h = AxlEmulator::spawn(cfg, data()).await.unwrap();
    let (a, b) = tokio::join!(
        query(&h, "select userid from enduser"),
        query(&h, "select userid from enduser")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 500]);
    let fault = if a.0 == 500 { a.1 } else { b.1 };
    assert!(
        fault.contains("Maximum AXL Memory Allocation Consumed")
            && fault.contains("<axlcode>-1</axlcode>")
    );
    assert_eq!(
        query(&h, "select userid from enduser").await.0,
        200,
        "one at a time is fine"
    );
}

#[tokio::test]
async fn version_mismatch_is_a_clear_fault() {
    let h = AxlEmulator::spawn(AxlConfig::default(), data())
        .await
        .unwrap();
    let sql = "select userid from enduser";
    let (s, body, _) = post_raw(
        &h,
        "/axl/",
        "\"CUCM:DB ver=11.5 executeSQLQuery\"",
        envelope("11.5", None, sql),
    )
    .await;
    assert_eq!(s, 500);
    assert!(
        body.contains("<faultcode>soapenv:Client</faultcode>") && body.contains("11.5"),
        "{body}"
    );
    let (s, body, _) = post_raw(
        &h,
        "/axl/",
        "\"CUCM:DB ver=12.5 executeSQLQuery\"",
        envelope("11.5", None, sql),
    )
    .await;
    assert_eq!(s, 500);
    assert!(body.contains("namespace"), "{body}");
    let (s, body, _) = post_raw(
        &h,
        "/axl/",
        "CUCM:DB ver=12.5 executeSQLQuery",
        envelope("12.5", None, sql),
    )
    .await;
    assert_eq!(s, 500);
    assert!(body.contains("quoted"), "{body}");
    let (s, _, _) = post_raw(
        &h,
        "/axl",
        "\"CUCM:DB ver=12.5 executeSQLQuery\"",
        envelope("12.5", None, sql),
    )
    .await;
    assert_eq!(s, 404, "no trailing slash");
}

#[tokio::test]
async fn doubled_quote_in_an_in_list_matches_obrien() {
    let d = data();
    let id = d.read().end_users[3].userid.clone();
    d.write().rename_user(&id, "o'brien0004");
    let h = AxlEmulator::spawn(AxlConfig::default(), d).await.unwrap();
    let (s, body) = query(
        &h,
        "SELECT userid FROM enduser WHERE userid IN ('o''brien0004', 'nobody')",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(count_rows(&body), 1);
    assert!(
        body.contains("<userid>o&apos;brien0004</userid>")
            || body.contains("<userid>o'brien0004</userid>")
    );
}

#[tokio::test]
async fn syntax_and_column_errors_have_the_real_shape() {
    let h = AxlEmulator::spawn(AxlConfig::default(), data())
        .await
        .unwrap();
    let (s, body) = query(&h, "select * from enduser, device").await;
    assert_eq!(s, 500);
    assert!(
        body.contains("<detail><axlError><axlcode>201</axlcode><axlmessage>"),
        "{body}"
    );
    let (s, body) = query(&h, "select nosuch from enduser").await;
    assert_eq!(s, 500);
    assert!(
        body.contains("<axlcode>217</axlcode>") && body.contains("nosuch"),
        "{body}"
    );
    let (s, body, _) = post_raw(
        &h,
        "/axl/",
        "\"CUCM:DB ver=12.5 executeSQLQuery\"",
        "<not xml".into(),
    )
    .await;
    assert_eq!(s, 500);
    assert!(body.contains("soapenv:Fault"));
}

#[tokio::test]
async fn bad_login_is_html_401_and_faults_apply_once() {
    let h = AxlEmulator::spawn(AxlConfig::default(), data())
        .await
        .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/axl/", h.base_url()))
        .basic_auth("axladmin", Some("nope"))
        .body(envelope("12.5", None, "select userid from enduser"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.text().await.unwrap().contains("<html"));
    h.faults().push(Fault::AxlThrottle);
    h.faults().push(Fault::EmptyList);
    let (s, body) = query(&h, "select userid from enduser").await;
    assert_eq!(s, 500);
    assert!(body.contains("Maximum AXL Memory Allocation Consumed"));
    let (s, body) = query(&h, "select userid from enduser").await;
    assert_eq!(s, 200);
    assert!(body.contains("<return/>"));
    assert_eq!(
        count_rows(&query(&h, "select userid from enduser").await.1),
        65
    );
}

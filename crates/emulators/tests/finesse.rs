//! Finesse REST emulator: reason-code lists, single codes, element order, escaping, errors,
//! auth, runtime mutations and faults.

use quick_xml::events::Event;
use quick_xml::Reader;
use wfm_emulators::finesse::{
    Category, FinesseConfig, FinesseEmulator, ReasonCode, ReasonCodeStore,
};
use wfm_emulators::{EmulatorHandle, Fault, SharedData};

async fn start_with(store: ReasonCodeStore) -> EmulatorHandle {
    let cfg = FinesseConfig {
        reason_codes: store,
        ..FinesseConfig::default()
    };
    FinesseEmulator::spawn(cfg, SharedData::default())
        .await
        .expect("spawn")
}

async fn start() -> EmulatorHandle {
    start_with(ReasonCodeStore::defaults()).await
}

async fn get_as(h: &EmulatorHandle, path: &str, user: &str, pass: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", h.base_url()))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .expect("send");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

async fn get(h: &EmulatorHandle, path: &str) -> (u16, String) {
    get_as(h, path, "administrator", "ciscopsdt").await
}

/// A parsed `<ReasonCode>`: the child element names in order and their texts.
type Parsed = Vec<(String, String)>;

/// Root name, root `category` attribute, and every `<ReasonCode>` (well-formedness checked).
fn parse(xml: &str) -> (String, Option<String>, Vec<Parsed>) {
    let mut reader = Reader::from_str(xml);
    let (mut root, mut cat, mut codes) = (String::new(), None, Vec::new());
    let mut current: Option<Parsed> = None;
    let mut leaf: Option<String> = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let n = String::from_utf8_lossy(e.local_name().as_ref().as_bytes()).into_owned();
                if root.is_empty() {
                    root = n.clone();
                    cat = e.try_get_attribute("category").expect("attr").map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("attr value")
                            .into_owned()
                    });
                }
                if n == "ReasonCode" {
                    current = Some(Vec::new());
                } else if let Some(c) = current.as_mut() {
                    c.push((n.clone(), String::new()));
                    leaf = Some(n);
                }
            }
            Event::Text(t) => {
                if let (Some(c), Some(_)) = (current.as_mut(), leaf.as_ref()) {
                    c.last_mut().expect("leaf").1 += &t.xml10_content();
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(c), Some(_)) = (current.as_mut(), leaf.as_ref()) {
                    let resolved = match r.resolve_char_ref().expect("char ref") {
                        Some(ch) => ch.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r)
                            .expect("predefined entity")
                            .to_string(),
                    };
                    c.last_mut().expect("leaf").1 += &resolved;
                }
            }
            Event::End(e) => {
                if e.local_name().as_ref().as_bytes() == b"ReasonCode" {
                    codes.push(current.take().expect("open ReasonCode"));
                }
                leaf = None;
            }
            Event::Eof => return (root, cat, codes),
            _ => {}
        }
    }
}

fn field<'a>(c: &'a Parsed, name: &str) -> &'a str {
    &c.iter().find(|(n, _)| n == name).expect(name).1
}

const ORDER: [&str; 7] = [
    "uri",
    "id",
    "category",
    "code",
    "label",
    "forAll",
    "systemCode",
];

#[tokio::test]
async fn not_ready_list_has_user_and_system_codes_in_documented_order() {
    let store = ReasonCodeStore::defaults();
    let h = start_with(store.clone()).await;
    let (status, body) = get(&h, "/finesse/api/ReasonCodes?category=NOT_READY").await;
    assert_eq!(status, 200);
    let (root, cat, codes) = parse(&body);
    assert_eq!(root, "ReasonCodes");
    assert_eq!(cat.as_deref(), Some("NOT_READY"));
    let expected = store.by_category(Some(Category::NotReady));
    assert_eq!(codes.len(), expected.len());
    assert!(codes.len() >= 20, "12 user + 8 system codes");
    for (c, e) in codes.iter().zip(&expected) {
        let names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ORDER);
        assert_eq!(field(c, "uri"), format!("/finesse/api/ReasonCode/{}", e.id));
        assert_eq!(field(c, "id"), e.id.to_string());
        assert_eq!(field(c, "category"), "NOT_READY");
        assert_eq!(field(c, "code"), e.code.to_string());
        assert_eq!(field(c, "label"), e.label);
        assert_eq!(field(c, "forAll"), e.for_all.to_string());
        assert_eq!(field(c, "systemCode"), e.system_code.to_string());
    }
    let labels: Vec<&str> = codes.iter().map(|c| field(c, "label")).collect();
    for l in ["Break", "Lunch", "Meeting", "Training", "Coaching"] {
        assert!(labels.contains(&l), "{l}");
    }
    let system: Vec<u32> = codes
        .iter()
        .filter(|c| field(c, "systemCode") == "true")
        .map(|c| field(c, "code").parse().expect("code"))
        .collect();
    for code in 32760..=32767 {
        assert!(system.contains(&code), "system code {code}");
    }
}

#[tokio::test]
async fn logout_and_all_lists() {
    let store = ReasonCodeStore::defaults();
    let h = start_with(store.clone()).await;
    let (status, body) = get(&h, "/finesse/api/ReasonCodes?category=LOGOUT").await;
    assert_eq!(status, 200);
    let (_, cat, logout) = parse(&body);
    assert_eq!(cat.as_deref(), Some("LOGOUT"));
    assert!(logout.iter().all(|c| field(c, "category") == "LOGOUT"));
    let user = logout
        .iter()
        .filter(|c| field(c, "systemCode") == "false")
        .count();
    assert_eq!(user, 4);

    let (status, body) = get(&h, "/finesse/api/ReasonCodes?category=ALL").await;
    assert_eq!(status, 200);
    let (_, cat, all) = parse(&body);
    assert_eq!(cat.as_deref(), Some("ALL"));
    assert_eq!(all.len(), store.all().len());
    let (_, _, nr) = parse(
        &get(&h, "/finesse/api/ReasonCodes?category=NOT_READY")
            .await
            .1,
    );
    assert_eq!(all.len(), nr.len() + logout.len());
}

#[tokio::test]
async fn single_reason_code() {
    let store = ReasonCodeStore::defaults();
    let h = start_with(store.clone()).await;
    let want = store.by_category(Some(Category::Logout))[0].clone();
    let (status, body) = get(&h, &format!("/finesse/api/ReasonCode/{}", want.id)).await;
    assert_eq!(status, 200);
    let (root, cat, codes) = parse(&body);
    assert_eq!(root, "ReasonCode");
    assert_eq!(cat, None);
    assert_eq!(codes.len(), 1);
    let names: Vec<&str> = codes[0].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ORDER);
    assert_eq!(field(&codes[0], "label"), want.label);
    assert_eq!(field(&codes[0], "category"), "LOGOUT");
}

#[tokio::test]
async fn labels_are_escaped() {
    let h = start().await;
    let (_, body) = get(&h, "/finesse/api/ReasonCodes?category=ALL").await;
    assert!(body.contains("Q&amp;A Session"), "{body}");
    assert!(
        body.contains("Agent&apos;s Admin") || body.contains("Agent&#39;s Admin"),
        "{body}"
    );
    let (_, _, codes) = parse(&body);
    let labels: Vec<&str> = codes.iter().map(|c| field(c, "label")).collect();
    assert!(labels.contains(&"Q&A Session"));
    assert!(labels.contains(&"Agent's Admin"));

    let store = ReasonCodeStore::new(vec![ReasonCode {
        id: 7,
        category: Category::NotReady,
        code: 1,
        label: "<b>\"x\" & 'y'</b>".into(),
        for_all: true,
        system_code: false,
    }]);
    let h = start_with(store).await;
    let (_, body) = get(&h, "/finesse/api/ReasonCode/7").await;
    let (_, _, codes) = parse(&body);
    assert_eq!(field(&codes[0], "label"), "<b>\"x\" & 'y'</b>");
}

fn assert_api_error(body: &str, error_type: &str) {
    let mut reader = Reader::from_str(body);
    let mut names = Vec::new();
    let mut texts = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                names.push(String::from_utf8_lossy(e.local_name().as_ref().as_bytes()).into_owned())
            }
            Event::Text(t) => texts.push(t.xml10_content().into_owned()),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        names,
        ["ApiErrors", "ApiError", "ErrorType", "ErrorMessage"],
        "{body}"
    );
    assert_eq!(texts[0], error_type);
    assert!(!texts[1].is_empty());
}

#[tokio::test]
async fn missing_or_invalid_category_is_400_invalid_input() {
    let h = start().await;
    for path in [
        "/finesse/api/ReasonCodes",
        "/finesse/api/ReasonCodes?category=",
        "/finesse/api/ReasonCodes?category=READY",
        "/finesse/api/ReasonCodes?category=bogus",
    ] {
        let (status, body) = get(&h, path).await;
        assert_eq!(status, 400, "{path}");
        assert_api_error(&body, "Invalid Input");
    }
}

#[tokio::test]
async fn unknown_id_is_404_and_bad_id_is_400() {
    let h = start().await;
    let (status, body) = get(&h, "/finesse/api/ReasonCode/999999").await;
    assert_eq!(status, 404);
    assert_api_error(&body, "Not Found");
    let (status, body) = get(&h, "/finesse/api/ReasonCode/abc").await;
    assert_eq!(status, 400);
    assert_api_error(&body, "Invalid Input");
}

#[tokio::test]
async fn bad_credentials_are_401() {
    let h = start().await;
    let (status, _) = get_as(
        &h,
        "/finesse/api/ReasonCodes?category=ALL",
        "administrator",
        "wrong",
    )
    .await;
    assert_eq!(status, 401);
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/finesse/api/ReasonCodes?category=ALL",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_eq!(h.request_count(), 2);
    assert!(!h.requests()[1].authorization_present);
}

#[tokio::test]
async fn mutations_are_visible_on_the_next_request() {
    let store = ReasonCodeStore::defaults();
    let h = start_with(store.clone()).await;
    let count = |body: &str| -> usize { parse(body).2.len() };
    let before = count(
        &get(&h, "/finesse/api/ReasonCodes?category=NOT_READY")
            .await
            .1,
    );

    let id = store.add_new(Category::NotReady, 77, "Fire Drill & Evacuation", true);
    let (_, body) = get(&h, "/finesse/api/ReasonCodes?category=NOT_READY").await;
    assert_eq!(count(&body), before + 1);
    assert!(body.contains("Fire Drill &amp; Evacuation"));

    assert!(store.rename(id, "Fire Drill"));
    let (status, body) = get(&h, &format!("/finesse/api/ReasonCode/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(field(&parse(&body).2[0], "label"), "Fire Drill");

    assert!(store.remove(id).is_some());
    let (status, _) = get(&h, &format!("/finesse/api/ReasonCode/{id}")).await;
    assert_eq!(status, 404);
    let after = count(
        &get(&h, "/finesse/api/ReasonCodes?category=NOT_READY")
            .await
            .1,
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn seeded_sets_are_reproducible() {
    let a = ReasonCodeStore::generate(7, 15, 5).all();
    let b = ReasonCodeStore::generate(7, 15, 5).all();
    let c = ReasonCodeStore::generate(8, 15, 5).all();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let user_nr = a
        .iter()
        .filter(|r| r.category == Category::NotReady && !r.system_code)
        .count();
    assert_eq!(user_nr, 15);
    let mut ids: Vec<u32> = a.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), a.len(), "ids are distinct");
    let h = start_with(ReasonCodeStore::generate(7, 15, 5)).await;
    let (_, body) = get(&h, "/finesse/api/ReasonCodes?category=ALL").await;
    assert_eq!(parse(&body).2.len(), a.len());
}

#[tokio::test]
async fn faults_through_the_shared_middleware() {
    let h = start().await;
    let path = "/finesse/api/ReasonCodes?category=ALL";

    h.faults().push(Fault::Status(503));
    let (status, body) = get(&h, path).await;
    assert_eq!(status, 503);
    assert_api_error(&body, "Internal Server Error");

    h.faults().push(Fault::Unauthorized);
    assert_eq!(get(&h, path).await.0, 401);

    h.faults().push(Fault::MalformedXml);
    let (status, body) = get(&h, path).await;
    assert_eq!(status, 200);
    let mut reader = Reader::from_str(&body);
    let broken = loop {
        match reader.read_event() {
            Err(_) => break true,
            Ok(Event::Eof) => break false,
            Ok(_) => {}
        }
    };
    assert!(broken, "malformed: {body}");

    let (_, full) = get(&h, path).await;
    h.faults().push(Fault::TruncatedBody);
    let (status, cut) = get(&h, path).await;
    assert_eq!(status, 200);
    assert_eq!(cut.len(), full.len() / 2);

    h.faults()
        .push(Fault::Delay(std::time::Duration::from_millis(200)));
    let t = std::time::Instant::now();
    assert_eq!(get(&h, path).await.0, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(200));

    h.faults().push(Fault::EmptyList);
    let (status, body) = get(&h, path).await;
    assert_eq!(status, 200);
    assert_eq!(parse(&body).2.len(), 0);

    h.faults()
        .push_for_path("/finesse/api/ReasonCode/", Fault::Status(500));
    assert_eq!(get(&h, path).await.0, 200, "other path unaffected");
    assert_eq!(get(&h, "/finesse/api/ReasonCode/1").await.0, 500);
    assert_eq!(h.faults().pending(), 0);
    assert_eq!(get(&h, path).await.0, 200);
}

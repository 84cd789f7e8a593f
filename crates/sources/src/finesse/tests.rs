//! Finesse decoder and client tests: golden XML written from the reference, tolerant variants,
//! hostile input, a no-panic property, and the client against a tiny in-test HTTP server.

use super::*;
use crate::error::SourceError;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use proptest::prelude::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wfm_config::Secret;
use wfm_telemetry::Metrics;

/// `GET /finesse/api/ReasonCodes?category=NOT_READY`, shaped as the reference describes.
const GOLDEN_NOT_READY: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<ReasonCodes category="NOT_READY">
  <ReasonCode>
    <uri>/finesse/api/ReasonCode/29</uri>
    <id>29</id>
    <category>NOT_READY</category>
    <code>32763</code>
    <label>Lunch &amp; Break</label>
    <forAll>true</forAll>
    <systemCode>false</systemCode>
  </ReasonCode>
  <ReasonCode>
    <uri>/finesse/api/ReasonCode/30</uri>
    <id>30</id>
    <category>NOT_READY</category>
    <code>50002</code>
    <label>Call Ended</label>
    <forAll>true</forAll>
    <systemCode>true</systemCode>
  </ReasonCode>
  <ReasonCode>
    <uri>/finesse/api/ReasonCode/31</uri>
    <id>31</id>
    <category>NOT_READY</category>
    <code>12</code>
    <label>Team Meeting</label>
    <forAll>false</forAll>
    <systemCode>false</systemCode>
  </ReasonCode>
</ReasonCodes>
"#;

/// `GET /finesse/api/ReasonCodes?category=LOGOUT`.
const GOLDEN_LOGOUT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ReasonCodes category="LOGOUT">
  <ReasonCode>
    <uri>/finesse/api/ReasonCode/40</uri>
    <id>40</id>
    <category>LOGOUT</category>
    <code>7</code>
    <label>End of Shift</label>
    <forAll>true</forAll>
    <systemCode>false</systemCode>
  </ReasonCode>
</ReasonCodes>
"#;

const GOLDEN_ERRORS: &str = r#"<ApiErrors>
  <ApiError>
    <ErrorData>category</ErrorData>
    <ErrorMessage>Invalid category: BOGUS</ErrorMessage>
    <ErrorType>Invalid Input</ErrorType>
  </ApiError>
</ApiErrors>"#;

fn rc(id: &str, cat: ReasonCategory, code: u32, label: &str, all: bool, sys: bool) -> ReasonCode {
    ReasonCode {
        id: id.into(),
        uri: Some(format!("/finesse/api/ReasonCode/{id}")),
        category: cat,
        code,
        label: label.into(),
        for_all: all,
        system_code: sys,
    }
}

#[test]
fn golden_not_ready_list_decodes_to_the_exact_records() {
    let got = decode_reason_codes(GOLDEN_NOT_READY.as_bytes()).unwrap();
    let nr = ReasonCategory::NotReady;
    assert_eq!(
        got,
        vec![
            rc("29", nr.clone(), 32763, "Lunch & Break", true, false),
            rc("30", nr.clone(), 50002, "Call Ended", true, true),
            rc("31", nr, 12, "Team Meeting", false, false),
        ]
    );
    let got = decode_reason_codes(GOLDEN_LOGOUT.as_bytes()).unwrap();
    assert_eq!(
        got,
        vec![rc(
            "40",
            ReasonCategory::Logout,
            7,
            "End of Shift",
            true,
            false
        )]
    );
}

#[test]
fn golden_api_errors_decode_and_other_documents_do_not() {
    let errors = decode_api_errors(GOLDEN_ERRORS.as_bytes()).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].error_type.as_deref(), Some("Invalid Input"));
    assert_eq!(
        errors[0].error_message.as_deref(),
        Some("Invalid category: BOGUS")
    );
    assert_eq!(errors[0].error_data.as_deref(), Some("category"));
    let two = b"<ApiErrors><ApiError><ErrorType>A</ErrorType></ApiError><Junk/><ApiError><ErrorMessage>m</ErrorMessage></ApiError></ApiErrors>";
    let errors = decode_api_errors(two).unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[1].error_type, None);
    assert_eq!(errors[1].error_message.as_deref(), Some("m"));
    assert!(decode_api_errors(GOLDEN_NOT_READY.as_bytes()).is_none());
    assert!(decode_api_errors(b"<html><body>500</body></html>").is_none());
    assert!(decode_api_errors(b"not xml").is_none());
    // A decoder fed an error document says so instead of returning an empty list.
    let err = decode_reason_codes(GOLDEN_ERRORS.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("Invalid category"), "{err}");
}

#[test]
fn reordered_unknown_missing_single_and_escaped_variants_decode() {
    let xml = "<ReasonCodes category=\"NOT_READY\"><ReasonCode><systemCode>TRUE</systemCode>\
        <extra><deep>x</deep></extra><label> O&apos;Brien&#x27;s &lt;meeting&gt; &quot;1&quot; </label>\
        <code> 5 </code><id>7</id></ReasonCode>\n\t<!-- comment --><Unknown/>\
        <ReasonCode><uri>/finesse/api/ReasonCode/8/</uri><label><![CDATA[Training & <QA>]]></label>\
        <code>0</code><category>logout</category><forAll>False</forAll></ReasonCode>\
        <ReasonCode><id>9</id><category>SUPERVISOR</category><code>65535</code><label/></ReasonCode></ReasonCodes>";
    let got = decode_reason_codes(xml.as_bytes()).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0],
        ReasonCode {
            id: "7".into(),
            uri: None,
            category: ReasonCategory::NotReady,
            code: 5,
            label: "O'Brien's <meeting> \"1\"".into(),
            for_all: false,
            system_code: true,
        }
    );
    assert_eq!(got[1].id, "8", "id taken from the uri");
    assert_eq!(got[1].category, ReasonCategory::Logout);
    assert_eq!(got[1].label, "Training & <QA>");
    assert_eq!(got[1].code, 0);
    assert_eq!(got[2].category, ReasonCategory::Other("SUPERVISOR".into()));
    assert_eq!(got[2].category.to_string(), "SUPERVISOR");
    assert_eq!(got[2].label, "");
    // A single ReasonCode without the wrapper, with a namespace prefix.
    let one = b"<f:ReasonCode xmlns:f=\"urn:x\"><f:id>1</f:id><f:category>NOT_READY</f:category><f:code>3</f:code><f:label>Solo</f:label></f:ReasonCode>";
    let got = decode_reason_codes(one).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].label, "Solo");
    // Empty lists in both spellings.
    assert!(decode_reason_codes(b"<ReasonCodes category=\"LOGOUT\"/>")
        .unwrap()
        .is_empty());
    assert!(decode_reason_codes(b"<ReasonCodes>\n</ReasonCodes>")
        .unwrap()
        .is_empty());
}

#[test]
fn invalid_records_are_refused_with_their_position() {
    let cases = [
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>1</code><label>a</label></ReasonCode><ReasonCode><id>2</id><label>b</label></ReasonCode></ReasonCodes>",
            "ReasonCode #2 (id \"2\") has no <code>",
        ),
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>-4</code><label>a</label></ReasonCode></ReasonCodes>",
            "not a non-negative number",
        ),
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>99999999999</code><label>a</label></ReasonCode></ReasonCodes>",
            "not a non-negative number",
        ),
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><code>1</code><label>a</label></ReasonCode></ReasonCodes>",
            "neither <id> nor <uri>",
        ),
        (
            "<ReasonCodes><ReasonCode><id>1</id><code>1</code><label>a</label></ReasonCode></ReasonCodes>",
            "no <category>",
        ),
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>1</code></ReasonCode></ReasonCodes>",
            "no <label>",
        ),
        (
            "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>1</code><label>a</label><forAll>yes</forAll></ReasonCode></ReasonCodes>",
            "<forAll> \"yes\" is not true/false",
        ),
        ("<Users><User/></Users>", "expected root <ReasonCodes>"),
    ];
    for (xml, needle) in cases {
        let err = decode_reason_codes(xml.as_bytes()).unwrap_err();
        assert_eq!(err.error_type(), "malformed", "{xml}");
        assert!(err.to_string().contains(needle), "{xml}: {err}");
        assert!(err.to_string().contains("Finesse ReasonCodes"), "{err}");
    }
}

#[test]
fn hostile_documents_are_refused_without_expansion() {
    let mut laughs =
        String::from("<?xml version=\"1.0\"?><!DOCTYPE ReasonCodes [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    laughs.push_str("]><ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>1</code><label>&lol9;</label></ReasonCode></ReasonCodes>");
    let err = decode_reason_codes(laughs.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("DOCTYPE"), "{err}");

    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><ReasonCodes><ReasonCode><label>&x;</label></ReasonCode></ReasonCodes>";
    assert!(decode_reason_codes(xxe.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("DOCTYPE"));
    let undefined = "<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>1</code><label>&x;</label></ReasonCode></ReasonCodes>";
    assert!(decode_reason_codes(undefined.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("entity"));

    let truncated = &GOLDEN_NOT_READY[..GOLDEN_NOT_READY.len() / 2];
    let err = decode_reason_codes(truncated.as_bytes()).unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(err.to_string().contains("line "), "{err}");

    let html = "<!DOCTYPE html>\n<html><head><title>Finesse - Sign in</title></head><body>Sign in</body></html>";
    let err = decode_reason_codes(html.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("HTML page"), "{err}");

    let deep = format!(
        "<ReasonCodes>{}{}</ReasonCodes>",
        "<a>".repeat(500),
        "</a>".repeat(500)
    );
    assert_eq!(
        decode_reason_codes(deep.as_bytes())
            .unwrap_err()
            .error_type(),
        "too_large"
    );
    for bad in [
        &b""[..],
        b"   ",
        b"{\"ReasonCodes\":[]}",
        b"<ReasonCodes>\xff\xfe</ReasonCodes>",
        b"<ReasonCodes></ReasonCode>",
        b"<ReasonCodes/><ReasonCodes/>",
    ] {
        assert!(decode_reason_codes(bad).is_err(), "{bad:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_decoders_never_panic_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_reason_codes(&body);
        let _ = decode_api_errors(&body);
    }

    #[test]
    fn the_decoders_never_panic_on_mangled_golden_xml(cut in 0usize..GOLDEN_NOT_READY.len(), junk in "[<>&;/a-zA-Z0-9#\"' =!\\[\\]-]{0,24}") {
        let mut doc = GOLDEN_NOT_READY.as_bytes()[..cut].to_vec();
        doc.extend_from_slice(junk.as_bytes());
        doc.extend_from_slice(&GOLDEN_NOT_READY.as_bytes()[cut..]);
        let _ = decode_reason_codes(&doc);
        let _ = decode_api_errors(&doc);
    }

    #[test]
    fn any_label_and_code_round_trip(label in "[^\u{0}-\u{1f}\u{7f}\u{fffe}\u{ffff}]{1,40}", code in any::<u32>()) {
        let escaped = label.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let xml = format!("<ReasonCodes category=\"NOT_READY\"><ReasonCode><id>1</id><code>{code}</code><label>{escaped}</label></ReasonCode></ReasonCodes>");
        let got = decode_reason_codes(xml.as_bytes()).unwrap();
        prop_assert_eq!(got[0].code, code);
        prop_assert_eq!(&got[0].label, label.trim());
    }
}

// ---------------------------------------------------------------------------------------------
// Client tests against a tiny axum server that records the full request URI.

const PASSWORD: &str = "f1nesse-s3cret-never-shown";

#[derive(Clone, Debug)]
struct Seen {
    uri: String,
    headers: HeaderMap,
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

type Answer = (u16, String, Duration);

async fn serve(answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static) -> Server {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let answer = Arc::new(answer);
    let rec = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let rec = rec.clone();
        let answer = answer.clone();
        async move {
            let n = {
                let mut s = rec.lock().unwrap();
                s.push(Seen {
                    uri: uri.to_string(),
                    headers,
                });
                s.len() - 1
            };
            let (status, body, delay) = answer(n, &uri.to_string());
            tokio::time::sleep(delay).await;
            let resp: Response = (
                StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, "application/xml")],
                body,
            )
                .into_response();
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, seen }
}

fn ok(body: &str) -> Answer {
    (200, body.to_string(), Duration::ZERO)
}

fn settings(base_url: String) -> FinesseSettings {
    FinesseSettings {
        base_url,
        username: "fadmin".into(),
        password: Secret::new(PASSWORD),
        timeout: Duration::from_secs(5),
        retries: 2,
        ca_file: None,
        allow_insecure_http: true,
    }
}

fn client(srv: &Server) -> FinesseClient {
    FinesseClient::new(settings(format!("http://{}/", srv.addr)), Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

#[tokio::test]
async fn sends_basic_auth_accept_and_the_category_query() {
    use base64::Engine;
    let srv = serve(|_, _| ok(GOLDEN_NOT_READY)).await;
    let got = client(&srv)
        .reason_codes(CategoryFilter::NotReady)
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].uri, "/finesse/api/ReasonCodes?category=NOT_READY");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("fadmin:{PASSWORD}"))
    );
    assert_eq!(seen[0].headers["authorization"], expected.as_str());
    assert!(seen[0].headers["accept"]
        .to_str()
        .unwrap()
        .contains("application/xml"));
    let c = client(&srv);
    c.reason_codes(CategoryFilter::All).await.unwrap();
    c.reason_codes(CategoryFilter::Logout).await.unwrap();
    let uris: Vec<_> = srv.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(
        uris[1..],
        [
            "/finesse/api/ReasonCodes?category=ALL",
            "/finesse/api/ReasonCodes?category=LOGOUT"
        ]
    );
}

#[tokio::test]
async fn unauthorized_names_the_settings_but_never_the_password_and_is_not_retried() {
    let srv = serve(|_, _| (401, "<html>Unauthorized</html>".into(), Duration::ZERO)).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::NotReady)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "unauthorized");
    let text = format!("{err} {err:?}");
    assert!(text.contains("username"), "{text}");
    assert!(text.contains("password"), "{text}");
    assert!(text.contains("fadmin"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(srv.seen().len(), 1);
    let dbg = format!("{:?}", settings("https://h:8445".into()));
    assert!(!dbg.contains(PASSWORD), "{dbg}");
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let srv = serve(|n, _| {
        if n == 0 {
            (503, "Service Unavailable".into(), Duration::ZERO)
        } else {
            ok(GOLDEN_LOGOUT)
        }
    })
    .await;
    let got = client(&srv)
        .reason_codes(CategoryFilter::Logout)
        .await
        .unwrap();
    assert_eq!(got[0].code, 7);
    assert_eq!(srv.seen().len(), 2);
    // Persistent 5xx gives up after 1 + retries attempts.
    let srv = serve(|_, _| (500, String::new(), Duration::ZERO)).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::Logout)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "http_5xx");
    assert_eq!(srv.seen().len(), 3);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let srv = serve(|n, _| {
        let delay = if n == 0 {
            Duration::from_millis(1500)
        } else {
            Duration::ZERO
        };
        (200, GOLDEN_LOGOUT.into(), delay)
    })
    .await;
    let mut s = settings(format!("http://{}", srv.addr));
    s.timeout = Duration::from_millis(300);
    let c = FinesseClient::new(s, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let got = c.reason_codes(CategoryFilter::Logout).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(srv.seen().len(), 2);
}

#[tokio::test]
async fn api_errors_become_an_api_error_and_other_statuses_map() {
    let srv = serve(|_, _| (400, GOLDEN_ERRORS.into(), Duration::ZERO)).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::All)
        .await
        .unwrap_err();
    match &err {
        SourceError::Api { status, errors, .. } => {
            assert_eq!(*status, 400);
            assert_eq!(errors[0].error_type.as_deref(), Some("Invalid Input"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("Invalid category: BOGUS"), "{err}");
    assert_eq!(srv.seen().len(), 1, "a 400 is not retried");
    // An error document with HTTP 200 is still an API error, not an empty list.
    let srv = serve(|_, _| ok(GOLDEN_ERRORS)).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::All)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "api_error");
    let srv = serve(|_, _| (404, String::new(), Duration::ZERO)).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::All)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "not_found");
    let srv = serve(|_, _| ok("<!DOCTYPE html><html>login</html>")).await;
    let err = client(&srv)
        .reason_codes(CategoryFilter::All)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTML page"), "{err}");
}

#[tokio::test]
async fn all_reason_codes_merges_not_ready_and_logout_by_id() {
    let srv = serve(|_, uri| {
        if uri.ends_with("category=NOT_READY") {
            ok(GOLDEN_NOT_READY)
        } else {
            // 29 again (duplicate id) plus the logout code.
            ok(&GOLDEN_LOGOUT.replace(
                "<ReasonCodes category=\"LOGOUT\">",
                "<ReasonCodes category=\"LOGOUT\"><ReasonCode><id>29</id><category>LOGOUT</category><code>1</code><label>dup</label></ReasonCode>",
            ))
        }
    })
    .await;
    let got = client(&srv).all_reason_codes().await.unwrap();
    let ids: Vec<_> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["29", "30", "31", "40"]);
    assert_eq!(got[0].label, "Lunch & Break", "the first occurrence wins");
    assert_eq!(got[3].category, ReasonCategory::Logout);
    let uris: Vec<_> = srv.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(
        uris,
        [
            "/finesse/api/ReasonCodes?category=NOT_READY",
            "/finesse/api/ReasonCodes?category=LOGOUT"
        ]
    );
}

#[tokio::test]
async fn healthcheck_reports_count_and_endpoint_without_credentials() {
    let srv = serve(|_, _| ok(GOLDEN_NOT_READY)).await;
    let report = client(&srv).healthcheck().await.unwrap();
    assert_eq!(report.items, 3);
    assert_eq!(
        report.endpoint,
        format!(
            "http://{}/finesse/api/ReasonCodes?category=NOT_READY",
            srv.addr
        )
    );
    assert!(report.detail.contains("fadmin"));
    assert!(!report.detail.contains(PASSWORD));
}

#[test]
fn settings_are_validated() {
    let m = Metrics::new;
    let mut s = settings("http://finesse.lab:8445".into());
    s.allow_insecure_http = false;
    let err = FinesseClient::new(s, m()).err().unwrap();
    assert_eq!(err.error_type(), "config");
    assert!(err.to_string().contains("allow_insecure_http"), "{err}");
    let c = FinesseClient::new(settings("https://finesse.example.com:8445/".into()), m()).unwrap();
    assert_eq!(c.base_url(), "https://finesse.example.com:8445");
    for bad in [
        "finesse.example.com",
        "ftp://finesse.example.com",
        "https://u:p@finesse.example.com",
        "https://finesse.example.com/finesse",
        "https://finesse.example.com/?x=1",
    ] {
        let err = FinesseClient::new(settings(bad.into()), m()).err().unwrap();
        assert_eq!(err.error_type(), "config", "{bad}");
        assert!(!err.to_string().contains(PASSWORD));
    }
    let mut s = settings("https://finesse.example.com".into());
    s.username = " ".into();
    assert!(FinesseClient::new(s, m()).is_err());
    let mut s = settings("https://finesse.example.com".into());
    s.ca_file = Some("/nonexistent/ca.pem".into());
    assert_eq!(
        FinesseClient::new(s, m()).err().unwrap().error_type(),
        "config"
    );
}

//! AXL tests: golden fixtures, request building, quoting, response and fault decoding, hostile
//! input, and the client against a tiny in-test SOAP server.

use super::*;
use crate::error::SourceError;
use crate::test_support::{serve, Canned, Recorded};
use crate::xml::{parse_document, Element, XmlLimits};
use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use wfm_config::{CucmConfig, Scheme, Secret};
use wfm_telemetry::Metrics;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../../shared/fixtures/axl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

const PASSWORD: &str = "axl-secret-never-shown";

fn config(port: u16) -> CucmConfig {
    CucmConfig {
        scheme: Scheme::Http,
        host: "127.0.0.1".into(),
        port,
        username: "axluser".into(),
        password: Secret::new(PASSWORD),
        version: "12.5".into(),
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(5),
        retries: 2,
        batch_size: 200,
    }
}

fn client_with(cfg: &CucmConfig) -> AxlClient {
    AxlClient::new(cfg, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn parse(s: &str) -> Element {
    parse_document(s.as_bytes(), "test", &XmlLimits::default()).unwrap()
}

/// (sequence, sql) of a recorded request.
fn request_of(req: &Recorded) -> (u64, String) {
    let root = parse(&req.body);
    let q = root.find("executeSQLQuery").unwrap();
    (
        q.attr("sequence").unwrap().parse().unwrap(),
        q.child("sql").unwrap().text.clone(),
    )
}

fn response(sequence: u64, rows: &[&str]) -> String {
    let rows: String = rows
        .iter()
        .map(|u| format!("<row><pkid>pk-{u}</pkid><userid>{u}</userid><mailid>{u}@example.com</mailid><directoryuri/></row>"))
        .collect();
    format!("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><ns:executeSQLQueryResponse xmlns:ns=\"http://www.cisco.com/AXL/API/12.5\" sequence=\"{sequence}\"><return>{rows}</return></ns:executeSQLQueryResponse></soapenv:Body></soapenv:Envelope>")
}

fn ok(req: &Recorded, rows: &[&str]) -> Canned {
    let (seq, _) = request_of(req);
    Canned::new(200, "text/xml; charset=utf-8", response(seq, rows))
}

fn fault(message: &str) -> Canned {
    Canned::new(500, "text/xml", format!("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{message}</faultstring><detail><axlError><axlcode>-1</axlcode><axlmessage>{message}</axlmessage><request>executeSQLQuery</request></axlError></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"))
}

fn without_sequence(mut el: Element) -> Element {
    el.attrs.retain(|(k, _)| k != "sequence");
    el.children = el.children.into_iter().map(without_sequence).collect();
    el
}

#[test]
fn golden_request_fixture_matches_the_builder_structure() {
    let ours = build_execute_sql_request("10.0", 7, "select * from enduser, device");
    let theirs =
        String::from_utf8(fixture("request_executeSQLQuery_devguide_normalized.xml")).unwrap();
    let ours_el = parse(&ours);
    assert_eq!(
        ours_el.find("executeSQLQuery").unwrap().attr("sequence"),
        Some("7")
    );
    assert_eq!(without_sequence(ours_el), without_sequence(parse(&theirs)));
}

#[test]
fn golden_throttle_faults_decode_with_code_and_hint() {
    let mem = decode_fault(&fixture(
        "fault_throttle_memory_allocation_devguide_normalized.xml",
    ))
    .unwrap();
    assert_eq!(mem.faultcode, "soapenv:Server");
    assert_eq!(mem.axlcode, Some(-1));
    assert!(mem.is_memory_throttle());
    assert_eq!(mem.row_fetch_hint(), None);
    let big = decode_fault(&fixture(
        "fault_throttle_query_too_large_devguide_normalized.xml",
    ))
    .unwrap();
    assert_eq!(big.axlcode, Some(-1));
    assert!(!big.is_memory_throttle());
    assert_eq!(big.row_fetch_hint(), Some((2816, 844)));
    assert!(matches!(
        decode_execute_sql_response(&fixture(
            "fault_throttle_query_too_large_devguide_normalized.xml"
        )),
        Err(SourceError::SoapFault { .. })
    ));
}

#[test]
fn row_fetch_hint_accepts_both_spellings_in_any_case() {
    assert_eq!(
        parse_row_fetch_hint("Query request too large. Total rows matched: 10 rows. Suggested Row Fetch: less than 4 rows"),
        Some((10, 4))
    );
    assert_eq!(
        parse_row_fetch_hint("QUERY REQUEST TOO LARGE. TOTAL ROWS MATCHED: 5 ROWS. SUGGESTIVE ROW FETCH: LESS THAN 2 ROWS"),
        Some((5, 2))
    );
    assert_eq!(
        parse_row_fetch_hint("Maximum AXL Memory Allocation Consumed"),
        None
    );
}

#[test]
fn sql_literals_double_quotes_and_refuse_control_characters() {
    assert_eq!(quote_sql_literal("O'Brien").unwrap(), "'O''Brien'");
    assert_eq!(quote_sql_literal("a''b").unwrap(), "'a''''b'");
    assert!(quote_sql_literal("a\0b").is_err());
    assert!(quote_sql_literal("a\nb").is_err());
    let req = build_execute_sql_request("12.5", 1, "WHERE userid IN ('R&D<x>')");
    assert!(
        req.contains("<sql>WHERE userid IN ('R&amp;D&lt;x&gt;')</sql>"),
        "{req}"
    );
    assert_eq!(
        parse(&req).find("sql").unwrap().text,
        "WHERE userid IN ('R&D<x>')"
    );
}

#[test]
fn responses_decode_with_any_prefix_and_null_columns() {
    let body = "<env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\"><env:Body>\n\t<axl:executeSQLQueryResponse xmlns:axl=\"x\" sequence=\"42\">\n<return>\
        <row><userid>a</userid><mailid></mailid><unknowncol>z</unknowncol></row>\
        <row><directoryuri>b@x</directoryuri><userid>b</userid><pkid>p2</pkid><mailid>b@x.com</mailid></row></return></axl:executeSQLQueryResponse></env:Body></env:Envelope>";
    let (seq, rows) = decode_execute_sql_response(body.as_bytes()).unwrap();
    assert_eq!(seq, Some(42));
    let a = EndUserRow::from_row(&rows[0], 1).unwrap();
    assert_eq!(
        a,
        EndUserRow {
            pkid: None,
            userid: "a".into(),
            mailid: None,
            directoryuri: None
        }
    );
    let b = EndUserRow::from_row(&rows[1], 2).unwrap();
    assert_eq!(b.pkid.as_deref(), Some("p2"));
    assert_eq!(b.directoryuri.as_deref(), Some("b@x"));
    let empty = decode_execute_sql_response(b"<Envelope><Body><executeSQLQueryResponse><return/></executeSQLQueryResponse></Body></Envelope>").unwrap();
    assert_eq!(empty, (None, vec![]));
    let err = EndUserRow::from_row(&SqlRow::new(), 3).unwrap_err();
    assert!(err.to_string().contains("row #3 has no userid"));
}

#[test]
fn hostile_axl_bodies_are_refused() {
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Envelope><Body>&x;</Body></Envelope>";
    assert!(decode_execute_sql_response(xxe.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("DOCTYPE"));
    assert!(decode_fault(xxe.as_bytes()).is_none());
    let html = b"<html><body>HTTP Status 401</body></html>";
    assert!(decode_execute_sql_response(html)
        .unwrap_err()
        .to_string()
        .contains("HTML"));
    let truncated = &response(1, &["a", "b"]).into_bytes()[..150];
    assert_eq!(
        decode_execute_sql_response(truncated)
            .unwrap_err()
            .error_type(),
        "malformed"
    );
    assert!(decode_execute_sql_response(b"<a>\xff</a>").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn axl_decoders_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), text in ".{0,200}") {
        let _ = decode_execute_sql_response(&body);
        let _ = decode_fault(&body);
        let _ = parse_row_fetch_hint(&text);
        let _ = quote_sql_literal(&text);
    }

    #[test]
    fn axl_decoders_never_panic_on_mutated_faults(cut in 0usize..600, pos in 0usize..600, byte in any::<u8>()) {
        let mut body = fixture("fault_throttle_query_too_large_devguide_normalized.xml");
        let p = pos % body.len();
        body[p] = byte;
        body.truncate(cut.min(body.len()));
        let _ = decode_execute_sql_response(&body);
        if let Some(f) = decode_fault(&body) {
            let _ = f.row_fetch_hint();
        }
    }
}

#[tokio::test]
async fn requests_carry_soap_action_auth_quoting_and_reuse_the_session_cookie() {
    let srv = serve(|n, req| {
        let mut c = ok(req, &["O'Brien"]);
        if n == 0 {
            c.extra_headers
                .push(("set-cookie", "JSESSIONIDSSO=abc123; Path=/".into()));
        }
        c
    })
    .await;
    let c = client_with(&config(srv.addr.port()));
    let rows = c.end_users(&["O'Brien".to_string()]).await.unwrap();
    assert_eq!(rows[0].userid, "O'Brien");
    assert_eq!(rows[0].mailid.as_deref(), Some("O'Brien@example.com"));
    c.healthcheck().await.unwrap();
    let reqs = srv.requests();
    let first = &reqs[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/axl/");
    assert_eq!(
        first.headers["soapaction"],
        "\"CUCM:DB ver=12.5 executeSQLQuery\""
    );
    assert_eq!(first.headers["content-type"], "text/xml; charset=utf-8");
    assert!(first.headers["authorization"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert!(first
        .body
        .contains("xmlns:ns=\"http://www.cisco.com/AXL/API/12.5\""));
    let (_, sql) = request_of(first);
    assert_eq!(
        sql,
        "SELECT pkid, userid, mailid, directoryuri FROM enduser WHERE userid IN ('O''Brien')"
    );
    assert_eq!(request_of(&reqs[1]).1, "SELECT FIRST 1 userid FROM enduser");
    assert!(request_of(&reqs[1]).0 > request_of(first).0);
    assert!(reqs[1].headers["cookie"]
        .to_str()
        .unwrap()
        .contains("JSESSIONIDSSO=abc123"));
}

#[tokio::test]
async fn ids_are_deduplicated_and_sent_in_batches() {
    let srv = serve(|_, req| ok(req, &[])).await;
    let mut ids: Vec<String> = (0..450).map(|i| format!("user{i:03}")).collect();
    ids.extend(ids.clone());
    client_with(&config(srv.addr.port()))
        .end_users(&ids)
        .await
        .unwrap();
    let counts: Vec<usize> = srv
        .requests()
        .iter()
        .map(|r| request_of(r).1.matches("'user").count())
        .collect();
    assert_eq!(counts, [200, 200, 50]);
}

#[tokio::test]
async fn a_wrong_sequence_echo_is_detected() {
    let srv = serve(|_, _| Canned::new(200, "text/xml", response(999, &["a"]))).await;
    let err = client_with(&config(srv.addr.port()))
        .end_users(&["a".into()])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    assert!(err.to_string().contains("sequence 999"), "{err}");
}

#[tokio::test]
async fn too_large_results_are_paged_with_skip_first() {
    let users: Vec<String> = (0..10).map(|i| format!("u{i:02}")).collect();
    let data = users.clone();
    let srv = serve(move |_, req| {
        let (_, sql) = request_of(req);
        let Some(rest) = sql.strip_prefix("SELECT SKIP ") else {
            return fault("Query request too large. Total rows matched: 10 rows. Suggested Row Fetch: less than 4 rows");
        };
        assert!(sql.ends_with("ORDER BY userid"), "{sql}");
        let nums: Vec<usize> = rest
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .take(2)
            .collect();
        let page: Vec<&str> = data.iter().skip(nums[0]).take(nums[1]).map(String::as_str).collect();
        ok(req, &page)
    })
    .await;
    let rows = client_with(&config(srv.addr.port()))
        .end_users(&users)
        .await
        .unwrap();
    let got: Vec<String> = rows.into_iter().map(|r| r.userid).collect();
    assert_eq!(got, users);
    let sqls: Vec<String> = srv.requests().iter().map(|r| request_of(r).1).collect();
    assert_eq!(sqls.len(), 5, "{sqls:?}");
    assert!(sqls[1].starts_with("SELECT SKIP 0 FIRST 3 "));
    assert!(sqls[4].starts_with("SELECT SKIP 9 FIRST 3 "));
}

#[tokio::test]
async fn memory_throttle_backs_off_and_then_succeeds_or_gives_throttled() {
    const MEM: &str = "Maximum AXL Memory Allocation Consumed. Please retry once requests in progress have completed";
    let srv = serve(|n, req| if n < 2 { fault(MEM) } else { ok(req, &["a"]) }).await;
    let rows = client_with(&config(srv.addr.port()))
        .end_users(&["a".into()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(srv.count(), 3);

    let srv = serve(|_, _| fault(MEM)).await;
    let err = client_with(&config(srv.addr.port()))
        .end_users(&["a".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Throttled { .. }), "{err}");
    assert_eq!(srv.count(), 3);
}

#[tokio::test]
async fn other_faults_are_not_retried_and_plain_5xx_is() {
    let srv = serve(|_, _| {
        let mut c = fault("Column (mailidx) not found in any table in the query");
        c.body = c
            .body
            .replace("<axlcode>-1</axlcode>", "<axlcode>217</axlcode>");
        c
    })
    .await;
    let err = client_with(&config(srv.addr.port()))
        .healthcheck()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::SoapFault { fault, .. } if fault.axlcode == Some(217)),
        "{err}"
    );
    assert_eq!(srv.count(), 1);

    let srv = serve(|n, req| {
        if n == 0 {
            Canned::new(502, "text/html", "<html>bad gateway</html>")
        } else {
            ok(req, &[])
        }
    })
    .await;
    client_with(&config(srv.addr.port()))
        .healthcheck()
        .await
        .unwrap();
    assert_eq!(srv.count(), 2);
}

#[tokio::test]
async fn unauthorized_names_the_role_and_never_the_password() {
    let srv = serve(|_, _| {
        Canned::new(
            401,
            "text/html",
            "<html><body>HTTP Status 401</body></html>",
        )
    })
    .await;
    let err = client_with(&config(srv.addr.port()))
        .end_users(&["a".into()])
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, SourceError::Unauthorized { .. }));
    assert!(
        text.contains("Standard AXL API Access")
            && text.contains("axluser")
            && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD));
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn never_two_requests_in_flight() {
    let srv = serve(|_, req| Canned {
        delay: Duration::from_millis(20),
        ..ok(req, &[])
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.batch_size = 2;
    let c = Arc::new(client_with(&cfg));
    let ids: Vec<String> = (0..6).map(|i| format!("x{i}")).collect();
    let (a, b, h) = tokio::join!(c.end_users(&ids), c.end_users(&ids), c.healthcheck());
    assert!(a.is_ok() && b.is_ok() && h.is_ok());
    assert_eq!(srv.count(), 7);
    assert_eq!(srv.max_in_flight(), 1);
    let mut seqs: Vec<u64> = srv.requests().iter().map(|r| request_of(r).0).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 7, "every request has its own sequence");
}

#[test]
fn plain_http_and_bad_versions_are_refused() {
    let mut cfg = config(8443);
    cfg.allow_insecure_http = false;
    assert_eq!(
        AxlClient::new(&cfg, Metrics::new())
            .err()
            .unwrap()
            .error_type(),
        "config"
    );
    cfg.scheme = Scheme::Https;
    assert!(AxlClient::new(&cfg, Metrics::new()).is_ok());
    cfg.version = "12.5\"><x".into();
    assert_eq!(
        AxlClient::new(&cfg, Metrics::new())
            .err()
            .unwrap()
            .error_type(),
        "config"
    );
}

//! UCCE decoder and client tests: the golden error fixture, hand-written pages in both agent
//! shapes, tolerant variants, hostile input, and the paging client against a tiny in-test server
//! that sees the query string (startIndex/resultsPerPage).

use super::*;
use crate::error::SourceError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use proptest::prelude::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wfm_config::{Scheme, Secret, UcceConfig};
use wfm_model::SourceId;
use wfm_telemetry::Metrics;

const PASSWORD: &str = "s3cret-ucce-never-shown";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../../shared/fixtures/ucce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

// ---------------------------------------------------------------- test server

#[derive(Debug, Clone)]
struct Req {
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
}

impl Req {
    fn start(&self) -> u64 {
        self.query["startIndex"].parse().unwrap()
    }
    fn per_page(&self) -> u64 {
        self.query["resultsPerPage"].parse().unwrap()
    }
}

struct Answer {
    status: u16,
    body: String,
    delay: Duration,
    retry_after: Option<&'static str>,
}

fn ok(body: String) -> Answer {
    Answer {
        status: 200,
        body,
        delay: Duration::from_millis(2),
        retry_after: None,
    }
}

fn status(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        delay: Duration::ZERO,
        retry_after: None,
    }
}

type Responder = dyn Fn(usize, &Req) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    responder: Arc<Responder>,
    requests: Arc<Mutex<Vec<Req>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

struct Server {
    addr: SocketAddr,
    shared: Shared,
}

impl Server {
    fn requests(&self) -> Vec<Req> {
        self.shared.requests.lock().unwrap().clone()
    }
    fn count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }
    fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let query = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let req = Req {
        path: uri.path().to_string(),
        query,
        headers,
    };
    let n = {
        let mut all = s.requests.lock().unwrap();
        all.push(req.clone());
        all.len() - 1
    };
    let answer = (s.responder)(n, &req);
    tokio::time::sleep(answer.delay).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let code = StatusCode::from_u16(answer.status).unwrap();
    let mut resp = (
        code,
        [(axum::http::header::CONTENT_TYPE, "application/xml")],
        answer.body,
    )
        .into_response();
    if let Some(v) = answer.retry_after {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v.parse().unwrap());
    }
    resp
}

async fn serve(responder: impl Fn(usize, &Req) -> Answer + Send + Sync + 'static) -> Server {
    let shared = Shared {
        responder: Arc::new(responder),
        requests: Arc::default(),
        in_flight: Arc::default(),
        max_in_flight: Arc::default(),
    };
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, shared }
}

fn config(port: u16) -> UcceConfig {
    UcceConfig {
        source_id: SourceId::new("ucce-dc1").unwrap(),
        scheme: Scheme::Http,
        host: "127.0.0.1".to_string(),
        port,
        username: "admin@example.com".to_string(),
        password: Secret::new(PASSWORD),
        page_size: 100,
        concurrency: 4,
        imported_groups: vec![],
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(5),
        retries: 2,
    }
}

fn client_with(cfg: &UcceConfig) -> UcceClient {
    UcceClient::new(cfg, Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn client(port: u16) -> UcceClient {
    client_with(&config(port))
}

// ---------------------------------------------------------------- XML builders

fn agent_xml(id: u64) -> String {
    format!(
        "<agent><refURL>/unifiedconfig/config/agent/{id}</refURL><changeStamp>3</changeStamp><agentId>{id}</agentId>\
         <person><firstName>F{id}</firstName><lastName>L{id}</lastName><userName>user{id}@example.com</userName>\
         <loginEnabled>true</loginEnabled></person>\
         <agentTeam><refURL>/unifiedconfig/config/agentteam/5{}</refURL><name>Team {}</name></agentTeam>\
         <supervisor>false</supervisor></agent>",
        id % 10,
        id % 10
    )
}

fn page_xml(items: &str, start: u64, rpp: u64, total: Option<u64>, next: Option<u64>) -> String {
    let total = total.map_or(String::new(), |t| {
        format!("<totalResults>{t}</totalResults>")
    });
    let next = next.map_or(String::new(), |n| {
        format!("<nextPage>https://aw/unifiedconfig/config/agent?startIndex={n}&amp;resultsPerPage={rpp}</nextPage>")
    });
    format!(
        "<results><pageInfo><resultsPerPage>{rpp}</resultsPerPage><startIndex>{start}</startIndex>{total}\
         <firstPage>https://aw/unifiedconfig/config/agent?startIndex=0</firstPage>{next}</pageInfo><agents>{items}</agents></results>"
    )
}

/// A well-behaved server of `n` agents (ids 1000…): honours startIndex and resultsPerPage.
fn honest(n: u64) -> impl Fn(usize, &Req) -> Answer + Send + Sync + 'static {
    move |_, req| {
        let (start, rpp) = (req.start(), req.per_page());
        let end = (start + rpp).min(n);
        let items: String = (start..end).map(|i| agent_xml(1000 + i)).collect();
        let next = (end < n).then_some(end);
        ok(page_xml(&items, start, rpp, Some(n), next))
    }
}

// ---------------------------------------------------------------- decoding

#[test]
fn golden_out_of_range_error_decodes_with_its_range() {
    let errors =
        decode_api_errors(&fixture("error_invalidInput_outOfRange_devref_12.6.xml")).unwrap();
    let expected = ApiError {
        error_type: Some("invalidInput.outOfRange".into()),
        error_message: Some("This field must contain a value from 1 to 2147483647".into()),
        error_data: Some("serviceLevelThreshold".into()),
        min: Some("1".into()),
        max: Some("2147483647".into()),
    };
    assert_eq!(errors, vec![expected]);
    let text = errors[0].to_string();
    assert!(text.contains("invalidInput.outOfRange"), "{text}");
    assert!(
        text.contains("serviceLevelThreshold, allowed 1..2147483647"),
        "{text}"
    );
    assert!(decode_api_errors(b"<results/>").is_none());
    assert!(decode_api_errors(b"not xml").is_none());
}

#[test]
fn full_agent_shape_decodes_to_the_exact_record() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<results>\n  <pageInfo>\n    <resultsPerPage>25</resultsPerPage>\n    <startIndex>0</startIndex>\n\
        <totalResults>1</totalResults>\n    <firstPage>/unifiedconfig/config/agent?startIndex=0</firstPage><lastPage>/x</lastPage><prevPage/>\n  </pageInfo>\n  <agents>\n\
        <agent>\n <refURL>/unifiedconfig/config/agent/5000</refURL>\n <changeStamp>12</changeStamp>\n <agentId>1001</agentId>\n\
        <person><firstName>Ann</firstName><lastName>O&apos;Lee</lastName><userName>ann@corp.example</userName><loginEnabled>true</loginEnabled><ssoEnabled>false</ssoEnabled><password/></person>\n\
        <agentTeam><refURL>/unifiedconfig/config/agentteam/5001</refURL><name>Sales &amp; Care</name></agentTeam>\n\
        <skillGroups><skillGroup><refURL>/unifiedconfig/config/skillgroup/5010</refURL><name>SG_Sales</name></skillGroup>\
        <skillGroup><refURL>/unifiedconfig/config/skillgroup/5011</refURL><name>SG_Care</name></skillGroup></skillGroups>\n\
        <defaultSkillGroup><refURL>/unifiedconfig/config/skillgroup/5010</refURL><name>SG_Sales</name></defaultSkillGroup>\n\
        <supervisor>true</supervisor>\n<supervisorTeams><supervisorTeam><refURL>/unifiedconfig/config/agentteam/5001</refURL><name>Sales &amp; Care</name></supervisorTeam></supervisorTeams>\n\
        <department>Retail</department><description>night shift</description><peripheral>CUCM_PG_1</peripheral>\n</agent>\n  </agents>\n</results>";
    let (info, agents) = decode_agents_page(xml.as_bytes()).unwrap();
    assert_eq!(
        info,
        PageInfo {
            results_per_page: Some(25),
            start_index: Some(0),
            total_results: Some(1),
            next_page: None,
        }
    );
    let team = UcceRef {
        id: Some("5001".into()),
        name: "Sales & Care".into(),
        ref_url: Some("/unifiedconfig/config/agentteam/5001".into()),
    };
    let sg = |id: &str, name: &str| UcceRef {
        id: Some(id.into()),
        name: name.into(),
        ref_url: Some(format!("/unifiedconfig/config/skillgroup/{id}")),
    };
    let expected = UcceAgent {
        agent_id: "1001".into(),
        ref_url: Some("/unifiedconfig/config/agent/5000".into()),
        change_stamp: Some(12),
        first_name: Some("Ann".into()),
        last_name: Some("O'Lee".into()),
        user_name: "ann@corp.example".into(),
        login_enabled: Some(true),
        sso_enabled: Some(false),
        team: Some(team.clone()),
        skill_groups: vec![sg("5010", "SG_Sales"), sg("5011", "SG_Care")],
        default_skill_group: Some(sg("5010", "SG_Sales")),
        supervisor: true,
        supervisor_teams: vec![team],
        department: Some("Retail".into()),
        description: Some("night shift".into()),
        peripheral: Some("CUCM_PG_1".into()),
    };
    assert_eq!(agents, vec![expected]);
}

#[test]
fn summary_shape_reads_names_directly_under_agent() {
    let xml = "<results><pageInfo><totalResults>2</totalResults></pageInfo><agents>\
        <agent xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"agentSummary\">\
        <refURL>/unifiedconfig/config/agent/5002</refURL><agentId>1002</agentId><firstName>Bo</firstName><lastName>Ng</lastName>\
        <userName>bo@corp.example</userName><agentTeam><refURL>/unifiedconfig/config/agentteam/7</refURL><name>T7</name></agentTeam></agent>\
        <agent xsi:type=\"agentSummary\"><userName>cy@corp.example</userName><agentId> 1003 </agentId><supervisor>TRUE</supervisor><agentTeam/></agent>\
        </agents></results>";
    let (info, agents) = decode_agents_page(xml.as_bytes()).unwrap();
    assert_eq!(info.total_results, Some(2));
    assert_eq!(info.results_per_page, None);
    assert_eq!(agents[0].first_name.as_deref(), Some("Bo"));
    assert_eq!(agents[0].user_name, "bo@corp.example");
    assert_eq!(agents[0].team.as_ref().unwrap().id.as_deref(), Some("7"));
    assert!(!agents[0].supervisor);
    assert_eq!(agents[1].agent_id, "1003");
    assert!(agents[1].supervisor);
    assert_eq!(agents[1].team, None, "an empty agentTeam is no team");
    assert!(agents[1].skill_groups.is_empty());
}

#[test]
fn reordered_unknown_and_reference_shaped_fields_decode() {
    // Items directly under <results>, fields in any order, department/peripheral as references,
    // a single <agent> as the whole document.
    let xml = "<results><agent><unknown><deep>x</deep></unknown><peripheral><refURL>/unifiedconfig/config/peripheral/5000</refURL><name>PG1</name></peripheral>\
        <department><refURL>/unifiedconfig/config/department/9</refURL><name>Billing</name></department>\
        <person><userName>dee@x</userName></person><agentId>7</agentId></agent>\
        <pageInfo><startIndex>0</startIndex></pageInfo></results>";
    let (info, agents) = decode_agents_page(xml.as_bytes()).unwrap();
    assert_eq!(info.start_index, Some(0));
    assert_eq!(agents[0].peripheral.as_deref(), Some("PG1"));
    assert_eq!(agents[0].department.as_deref(), Some("Billing"));
    let (info, one) = decode_agents_page(agent_xml(42).as_bytes()).unwrap();
    assert_eq!(info, PageInfo::default());
    assert_eq!(one[0].agent_id, "42");
    assert_eq!(one[0].team.as_ref().unwrap().id.as_deref(), Some("52"));
}

#[test]
fn teams_and_skill_groups_take_their_id_from_the_ref_url() {
    let teams = "<results><pageInfo><resultsPerPage>100</resultsPerPage><startIndex>0</startIndex><totalResults>2</totalResults></pageInfo><agentTeams>\
        <agentTeam><refURL>/unifiedconfig/config/agentteam/5001</refURL><changeStamp>1</changeStamp><name>Sales</name>\
        <agents><agent><refURL>/unifiedconfig/config/agent/5000</refURL><firstName>Ann</firstName><userName>ann@x</userName><agentId>1001</agentId></agent></agents>\
        <agentCount>1</agentCount><supervisors><supervisor><refURL>/unifiedconfig/config/agent/5009</refURL><userName>sup@x</userName></supervisor></supervisors>\
        <supervisorCount>1</supervisorCount></agentTeam>\
        <agentTeam><id>5002</id><name>Care</name></agentTeam></agentTeams></results>";
    let (_, got) = decode_teams_page(teams.as_bytes()).unwrap();
    assert_eq!(
        got,
        vec![
            UcceTeam {
                id: "5001".into(),
                name: "Sales".into(),
                agent_count: Some(1),
                supervisor_user_names: vec!["sup@x".into()],
            },
            UcceTeam {
                id: "5002".into(),
                name: "Care".into(),
                agent_count: None,
                supervisor_user_names: vec![],
            }
        ]
    );
    let sgs = "<results><pageInfo/><skillGroups><skillGroup><refURL>/unifiedconfig/config/skillgroup/5010/</refURL><name>SG_Sales</name><peripheral/></skillGroup></skillGroups></results>";
    let (_, got) = decode_skill_groups_page(sgs.as_bytes()).unwrap();
    assert_eq!(
        got,
        vec![UcceSkillGroup {
            id: "5010".into(),
            name: "SG_Sales".into()
        }]
    );
    let err = decode_teams_page(
        b"<results><agentTeams><agentTeam><name>x</name></agentTeam></agentTeams></results>",
    )
    .unwrap_err();
    assert!(err.to_string().contains("agent team #1"), "{err}");
}

#[test]
fn missing_ids_and_bad_values_are_errors_naming_the_record() {
    let no_id = "<results><agents><agent><agentId>1</agentId><person><userName>a</userName></person></agent><agent><person><userName>b</userName></person></agent></agents></results>";
    let err = decode_agents_page(no_id.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("agent #2 on this page has no agentId"),
        "{err}"
    );
    let no_user = "<results><agents><agent><agentId>77</agentId><person><userName> </userName></person></agent></agents></results>";
    let err = decode_agents_page(no_user.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("agent 77") && err.to_string().contains("userName"),
        "{err}"
    );
    let bad_bool =
        "<agent><agentId>78</agentId><userName>u</userName><supervisor>maybe</supervisor></agent>";
    let err = decode_agents_page(bad_bool.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("agent 78") && err.to_string().contains("supervisor"),
        "{err}"
    );
    let bad_total = "<results><pageInfo><totalResults>many</totalResults></pageInfo></results>";
    let err = decode_agents_page(bad_total.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("totalResults"), "{err}");
    let wrong_root = decode_agents_page(b"<teams/>").unwrap_err();
    assert!(
        wrong_root.to_string().contains("expected root <results>"),
        "{wrong_root}"
    );
    let api = decode_agents_page(&fixture("error_invalidInput_outOfRange_devref_12.6.xml"));
    assert!(matches!(api, Err(SourceError::Api { .. })));
}

#[test]
fn hostile_documents_are_refused_with_clear_errors() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><results>&b;</results>";
    let err = decode_agents_page(laughs.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    let err = decode_teams_page(b"<html><body>Login</body></html>").unwrap_err();
    assert!(err.to_string().contains("HTML page"), "{err}");
    let page = page_xml(&agent_xml(1), 0, 100, Some(1), None);
    let err = decode_agents_page(&page.as_bytes()[..page.len() / 2]).unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    assert!(
        err.to_string().contains("/unifiedconfig/config/agent"),
        "{err}"
    );
}

#[test]
fn next_start_index_is_read_from_the_next_page_url() {
    let info = |next: &str| PageInfo {
        next_page: Some(next.to_string()),
        ..PageInfo::default()
    };
    assert_eq!(
        info("https://aw/unifiedconfig/config/agent?startIndex=200&resultsPerPage=100")
            .next_start_index(),
        Some(200)
    );
    assert_eq!(
        info("/x?resultsPerPage=100&startindex=50").next_start_index(),
        Some(50)
    );
    assert_eq!(info("/x?resultsPerPage=100").next_start_index(), None);
    assert_eq!(PageInfo::default().next_start_index(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn decoders_never_panic_on_random_or_mutated_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        cut in 0usize..2000, pos in 0usize..2000, byte in any::<u8>(),
    ) {
        let _ = decode_agents_page(&body);
        let _ = decode_teams_page(&body);
        let _ = decode_skill_groups_page(&body);
        let _ = decode_api_errors(&body);
        let mut doc = page_xml(&format!("{}{}", agent_xml(1), agent_xml(2)), 0, 100, Some(2), None).into_bytes();
        let p = pos % doc.len();
        doc[p] = byte;
        doc.truncate(cut.min(doc.len()));
        let _ = decode_agents_page(&doc);
    }
}

// ---------------------------------------------------------------- client

#[tokio::test]
async fn client_pages_with_basic_auth_and_the_configured_page_size() {
    let srv = serve(honest(3)).await;
    let mut cfg = config(srv.addr.port());
    cfg.page_size = 2;
    let report = client_with(&cfg).agents_report().await.unwrap();
    let ids: Vec<_> = report.items.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, ["1000", "1001", "1002"]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/unifiedconfig/config/agent");
    assert_eq!((reqs[0].start(), reqs[0].per_page()), (0, 2));
    assert_eq!((reqs[1].start(), reqs[1].per_page()), (2, 2));
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin@example.com:{PASSWORD}"))
    );
    assert_eq!(reqs[0].headers["authorization"], expected.as_str());
    assert_eq!(reqs[0].headers["accept"], "application/xml");
}

#[tokio::test]
async fn twenty_four_thousand_agents_at_2ms_latency_arrive_in_order_well_under_5s() {
    let srv = serve(honest(24_000)).await;
    let started = Instant::now();
    let agents = client(srv.addr.port()).agents().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(agents.len(), 24_000);
    assert!(agents
        .iter()
        .enumerate()
        .all(|(i, a)| a.agent_id == (1000 + i).to_string()));
    assert_eq!(srv.count(), 240);
    assert!(
        srv.max_in_flight() > 1,
        "pages were not fetched concurrently"
    );
    assert!(
        srv.max_in_flight() <= 4,
        "more than ucce.concurrency in flight"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test]
async fn a_page_that_keeps_failing_fails_the_whole_listing() {
    let inner = honest(500);
    let srv = serve(move |n, req| {
        if req.start() == 300 {
            status(503, "busy")
        } else {
            inner(n, req)
        }
    })
    .await;
    let err = client(srv.addr.port()).agents().await.unwrap_err();
    assert!(
        matches!(err, SourceError::Http5xx { status: 503, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("startIndex=300"), "{err}");
    let tries = srv.requests().iter().filter(|r| r.start() == 300).count();
    assert_eq!(tries, 3, "retries + 1 attempts");
}

#[tokio::test]
async fn transient_503_and_429_are_retried_and_the_listing_completes() {
    let inner = honest(250);
    let srv = serve(move |n, req| match n {
        1 => status(503, "busy"),
        2 => status(429, "slow down"),
        _ => inner(n, req),
    })
    .await;
    let agents = client(srv.addr.port()).agents().await.unwrap();
    assert_eq!(agents.len(), 250);
    assert_eq!(srv.count(), 5);
}

#[tokio::test]
async fn the_report_counts_every_request_of_the_listing_retries_included() {
    let inner = honest(250);
    let srv = serve(move |n, req| match n {
        1 => status(503, "busy"),
        _ => inner(n, req),
    })
    .await;
    let report = client(srv.addr.port()).agents_report().await.unwrap();
    assert_eq!(report.items.len(), 250);
    assert_eq!(report.requests as usize, srv.count(), "3 pages + 1 retry");
    assert_eq!(report.requests, 4);
}

#[tokio::test]
async fn a_server_that_ignores_the_page_size_is_paged_by_what_it_returns() {
    let srv = serve(|_, req| {
        let start = req.start();
        let end = (start + 25).min(110);
        let items: String = (start..end).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(
            &items,
            start,
            25,
            Some(110),
            (end < 110).then_some(end),
        ))
    })
    .await;
    let report = client(srv.addr.port()).agents_report().await.unwrap();
    assert_eq!(report.items.len(), 110);
    let ids: Vec<u64> = report
        .items
        .iter()
        .map(|a| a.agent_id.parse().unwrap())
        .collect();
    assert_eq!(ids, (1000..1110).collect::<Vec<_>>());
    let mut starts: Vec<u64> = srv.requests().iter().map(Req::start).collect();
    starts.sort();
    assert_eq!(starts, [0, 25, 50, 75, 100]);
    assert!(
        report.warnings[0].contains("returned 25 records per page"),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn a_short_page_in_the_middle_leaves_no_hole() {
    // The page at 100 returns only 60 records: the client reads from 160 to fill the gap.
    let srv = serve(|_, req| {
        let start = req.start();
        let len = if start == 100 { 60 } else { req.per_page() };
        let end = (start + len).min(300);
        let items: String = (start..end).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(&items, start, 100, Some(300), None))
    })
    .await;
    let agents = client(srv.addr.port()).agents().await.unwrap();
    let ids: Vec<u64> = agents.iter().map(|a| a.agent_id.parse().unwrap()).collect();
    assert_eq!(ids, (1000..1300).collect::<Vec<_>>());
    assert!(srv.requests().iter().any(|r| r.start() == 160));
}

#[tokio::test]
async fn duplicated_agents_across_pages_are_kept_once_with_a_warning() {
    // Page 2 repeats agent 1099 (an agent moved while paging).
    let srv = serve(|_, req| {
        let start = req.start();
        let items: String = if start == 0 {
            (0..100).map(|i| agent_xml(1000 + i)).collect()
        } else {
            (99..199).map(|i| agent_xml(1000 + i)).collect()
        };
        ok(page_xml(&items, start, 100, Some(200), None))
    })
    .await;
    let report = client(srv.addr.port()).agents_report().await.unwrap();
    assert_eq!(report.items.len(), 199);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("1099"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_next_page_loop_is_detected_and_fails() {
    // No totalResults: the client follows nextPage; page 2 points back to page 1.
    let srv = serve(|_, req| {
        let start = req.start();
        let items: String = (start..start + 2).map(|i| agent_xml(1000 + i)).collect();
        let next = if start == 0 { 2 } else { 0 };
        ok(page_xml(&items, start, 2, None, Some(next)))
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.page_size = 2;
    let err = client_with(&cfg).agents().await.unwrap_err();
    assert!(err.to_string().contains("paging loop"), "{err}");
    assert!(err.to_string().contains("startIndex=0"), "{err}");
    assert_eq!(srv.count(), 2);
}

#[tokio::test]
async fn without_total_results_next_pages_are_followed_to_the_end() {
    let srv = serve(|_, req| {
        let start = req.start();
        let end = (start + 2).min(5);
        let items: String = (start..end).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(&items, start, 2, None, (end < 5).then_some(end)))
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.page_size = 2;
    let agents = client_with(&cfg).agents().await.unwrap();
    assert_eq!(agents.len(), 5);
    assert_eq!(srv.count(), 3);
}

#[tokio::test]
async fn an_empty_page_before_the_total_is_reached_names_the_page() {
    let srv = serve(|_, req| {
        let start = req.start();
        let items: String = if start == 200 {
            String::new()
        } else {
            (start..start + 100).map(|i| agent_xml(1000 + i)).collect()
        };
        ok(page_xml(&items, start, 100, Some(400), None))
    })
    .await;
    let err = client(srv.addr.port()).agents().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("page 3 (startIndex=200)") && text.contains("totalResults=400"),
        "{text}"
    );
}

#[tokio::test]
async fn a_total_that_changes_between_pages_is_reread_and_warned_about() {
    // The first pass sees 250 then 251; the second pass is consistent at 251.
    let srv = serve(|n, req| {
        let total = if n == 0 { 250 } else { 251 };
        let start = req.start();
        let end = (start + 100).min(total);
        let items: String = (start..end).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(&items, start, 100, Some(total), None))
    })
    .await;
    let report = client(srv.addr.port()).agents_report().await.unwrap();
    assert_eq!(report.items.len(), 251);
    assert!(
        report.warnings[0].contains("totalResults changed from 250 to 251"),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn a_total_that_keeps_changing_fails_instead_of_guessing() {
    let srv = serve(|n, req| {
        let total = 250 + n as u64;
        let start = req.start();
        let items: String = (start..start + 100).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(&items, start, 100, Some(total), None))
    })
    .await;
    let err = client(srv.addr.port()).agents().await.unwrap_err();
    assert!(err.to_string().contains("kept changing"), "{err}");
}

#[tokio::test]
async fn a_server_that_ignores_start_index_is_refused() {
    let srv = serve(|_, _| {
        let items: String = (0..100).map(|i| agent_xml(1000 + i)).collect();
        ok(page_xml(&items, 0, 100, Some(300), None))
    })
    .await;
    let err = client(srv.addr.port()).agents().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("server answered the page at startIndex=0"),
        "{err}"
    );
}

#[tokio::test]
async fn unauthorized_names_the_settings_but_never_the_password() {
    let srv = serve(|_, _| status(401, "<html><body>401</body></html>")).await;
    let metrics = Metrics::new();
    let c = UcceClient::new(&config(srv.addr.port()), metrics.clone()).unwrap();
    let err = c.agents().await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }));
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("ucce.username") && text.contains("ucce.password"),
        "{text}"
    );
    assert!(
        text.contains("admin@example.com") && text.contains("ucce-dc1"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(srv.count(), 1, "auth errors are not retried");
    let exposition = metrics.encode();
    assert!(
        exposition.contains("error_type=\"unauthorized\""),
        "{exposition}"
    );
}

#[tokio::test]
async fn api_errors_are_reported_with_their_messages() {
    let body = String::from_utf8(fixture("error_invalidInput_outOfRange_devref_12.6.xml")).unwrap();
    let srv = serve(move |_, _| status(400, &body)).await;
    let err = client(srv.addr.port()).skill_groups().await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Api { status: 400, errors, .. } if errors.len() == 1),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("invalidInput.outOfRange") && text.contains("from 1 to 2147483647"),
        "{text}"
    );
    assert!(!err.is_retriable());
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn a_slow_server_gives_a_retriable_timeout() {
    let srv = serve(|_, req| Answer {
        delay: Duration::from_secs(3),
        ..honest(1)(0, req)
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.timeout = Duration::from_millis(200);
    cfg.retries = 0;
    let err = client_with(&cfg).agents().await.unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err}");
    assert!(err.is_retriable());
}

#[tokio::test]
async fn teams_skill_groups_healthcheck_and_metrics_labels() {
    let srv = serve(|_, req| {
        let body = match req.path.as_str() {
            "/unifiedconfig/config/agentteam" => "<results><pageInfo><resultsPerPage>1</resultsPerPage><startIndex>0</startIndex><totalResults>1</totalResults></pageInfo>\
                <agentTeams><agentTeam><refURL>/unifiedconfig/config/agentteam/5001</refURL><name>Sales</name></agentTeam></agentTeams></results>",
            "/unifiedconfig/config/skillgroup" => "<results><pageInfo><totalResults>1</totalResults></pageInfo><skillGroups>\
                <skillGroup><refURL>/unifiedconfig/config/skillgroup/5010</refURL><name>SG</name></skillGroup></skillGroups></results>",
            _ => "<results><pageInfo><totalResults>0</totalResults></pageInfo><agents/></results>",
        };
        ok(body.to_string())
    })
    .await;
    let metrics = Metrics::new();
    let c = UcceClient::new(&config(srv.addr.port()), metrics.clone()).unwrap();
    assert_eq!(c.teams().await.unwrap()[0].id, "5001");
    assert_eq!(c.skill_groups().await.unwrap()[0].name, "SG");
    assert!(c.agents().await.unwrap().is_empty());
    let health = c.healthcheck().await.unwrap();
    assert_eq!(health.items, 1);
    assert!(health.endpoint.ends_with("/unifiedconfig/config/agentteam"));
    assert_eq!(srv.requests().last().unwrap().per_page(), 1);
    let exposition = metrics.encode();
    for label in ["agent", "agentteam", "skillgroup"] {
        let needle = format!("endpoint=\"{label}\"");
        assert!(
            exposition.contains(&needle),
            "{needle} missing: {exposition}"
        );
    }
}

#[test]
fn plain_http_and_out_of_range_settings_are_refused() {
    let mut cfg = config(80);
    cfg.allow_insecure_http = false;
    let err = UcceClient::new(&cfg, Metrics::new()).err().unwrap();
    assert!(err.to_string().contains("allow_insecure_http"), "{err}");
    cfg.scheme = Scheme::Https;
    assert!(UcceClient::new(&cfg, Metrics::new()).is_ok());
    cfg.page_size = 101;
    let err = UcceClient::new(&cfg, Metrics::new()).err().unwrap();
    assert!(err.to_string().contains("page_size"), "{err}");
    cfg.page_size = 100;
    cfg.concurrency = 0;
    assert_eq!(
        UcceClient::new(&cfg, Metrics::new())
            .err()
            .unwrap()
            .error_type(),
        "config"
    );
}

#[tokio::test]
async fn a_429_waits_for_retry_after_but_not_on_the_last_attempt() {
    let inner = honest(1);
    let srv = serve(move |n, req| {
        if n == 0 {
            Answer {
                retry_after: Some("1"),
                ..status(429, "slow down")
            }
        } else {
            inner(n, req)
        }
    })
    .await;
    let started = Instant::now();
    let agents = client(srv.addr.port()).agents().await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(srv.count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    let srv = serve(|_, _| Answer {
        retry_after: Some("20"),
        ..status(429, "slow down")
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.retries = 0;
    let started = Instant::now();
    let err = client_with(&cfg).agents().await.unwrap_err();
    assert!(matches!(err, SourceError::Throttled { .. }), "{err}");
    assert!(err.to_string().contains("Retry-After 20 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no wait after the last attempt"
    );
}

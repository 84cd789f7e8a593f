//! UCCX decoder and client tests: golden fixtures, tolerant variants, hostile input, and the
//! client against a tiny in-test HTTP server.

use super::*;
use crate::error::SourceError;
use crate::test_support::{serve, Canned};
use proptest::prelude::*;
use std::time::Duration;
use wfm_config::{Scheme, Secret, UccxConfig};
use wfm_model::SourceId;
use wfm_telemetry::Metrics;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../../shared/fixtures/uccx/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

const PASSWORD: &str = "pa55-w0rd-never-shown";

fn config(port: u16) -> UccxConfig {
    UccxConfig {
        source_id: SourceId::new("uccx").unwrap(),
        scheme: Scheme::Http,
        host: "127.0.0.1".to_string(),
        port: Some(port),
        username: "admin".to_string(),
        password: Secret::new(PASSWORD),
        imported_groups: vec![],
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(5),
        retries: 2,
    }
}

fn client(port: u16) -> UccxClient {
    UccxClient::new(&config(port), Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

#[test]
fn golden_doc_sample_decodes_to_the_exact_record() {
    let got = decode_resources_xml(&fixture("resource_list_doc_sample.xml")).unwrap();
    let team = TeamRef {
        name: "Default".into(),
        team_id: Some("1".into()),
        ref_url: Some("https://uccx-server/adminapi/team/1".into()),
    };
    let expected = UccxResource {
        user_id: "agent1333".into(),
        first_name: None,
        last_name: Some("agent1333".into()),
        extension: Some("2244333".into()),
        alias: Some("uccx".into()),
        resource_type: Some(1),
        auto_available: Some(true),
        skills: vec![UccxSkill {
            name: "OBAgentSkill".into(),
            competence: 5,
            ref_url: Some("https://uccx-server/adminapi/skill/3".into()),
        }],
        team: Some(team),
        primary_supervisor_of: vec![],
        secondary_supervisor_of: vec![],
        resource_group: None,
    };
    assert_eq!(got, vec![expected]);
}

#[test]
fn golden_error_500_json_decodes_as_api_errors() {
    let errors = decode_api_errors(&fixture("error_500.json")).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].error_type.as_deref(), Some("InternalServerError"));
    assert_eq!(
        errors[0].error_message.as_deref(),
        Some("The maximum number of feedIds was exceeded. Max=100")
    );
    assert_eq!(errors[0].error_data.as_deref(), Some("Exception Occured"));
    let xml = b"<apiErrors><apiError><errorData>x</errorData><errorMessage>bad id</errorMessage><errorType>InvalidInput</errorType></apiError></apiErrors>";
    let errors = decode_api_errors(xml).unwrap();
    assert_eq!(errors[0].error_type.as_deref(), Some("InvalidInput"));
    assert!(decode_api_errors(b"<resources/>").is_none());
}

#[test]
fn reordered_unknown_one_line_and_entity_variants_decode_alike() {
    let xml = "<resources><resource>\t<unknown><deep><deeper>x</deeper></deep></unknown><type>2</type>\
        <team name=\"R&amp;D\"><refURL>https://h/adminapi/team/7</refURL></team><lastName>O&apos;Brien</lastName>\
        <userID>jdoe</userID><firstName><![CDATA[Jane]]></firstName><resourceGroup name=\"RG1\"><refURL>u</refURL></resourceGroup>\
        <primarySupervisorOf><supervisorOfTeamName name=\"R&amp;D\"><refURL>https://h/adminapi/team/7</refURL></supervisorOfTeamName></primarySupervisorOf>\
        <secondarySupervisorOf>\n\t<supervisorOfTeamName name=\"Sales\"><refURL>https://h/adminapi/team/9</refURL></supervisorOfTeamName>\n</secondarySupervisorOf>\
        </resource><resource><userID>min</userID></resource></resources>";
    let got = decode_resources_xml(xml.as_bytes()).unwrap();
    assert_eq!(got.len(), 2);
    let r = &got[0];
    assert_eq!(r.user_id, "jdoe");
    assert_eq!(r.first_name.as_deref(), Some("Jane"));
    assert_eq!(r.last_name.as_deref(), Some("O'Brien"));
    assert_eq!(r.resource_type, Some(2));
    assert_eq!(r.team.as_ref().unwrap().name, "R&D");
    assert_eq!(r.team.as_ref().unwrap().team_id.as_deref(), Some("7"));
    assert_eq!(r.resource_group.as_deref(), Some("RG1"));
    assert_eq!(r.primary_supervisor_of[0].team_id.as_deref(), Some("7"));
    assert_eq!(r.secondary_supervisor_of[0].name, "Sales");
    let m = &got[1];
    assert_eq!(m.first_name, None);
    assert_eq!(m.team, None);
    assert!(m.skills.is_empty());
    // A single resource without the wrapper.
    let one = decode_resources_xml(b"<resource><userID> solo </userID></resource>").unwrap();
    assert_eq!(one[0].user_id, "solo");
}

#[test]
fn teams_accept_the_real_secondry_spelling_and_the_correct_one() {
    let xml = "<teams>\n\t<team>\n\t\t<self>https://h/adminapi/team/3</self>\n\t\t<teamId>3</teamId>\n\t\t<teamname>Sales &amp; Care</teamname>\n\
        \t\t<primarySupervisor name=\"Ann Lee\"><refURL>https://h/adminapi/resource/alee</refURL></primarySupervisor>\n\
        \t\t<secondarySupervisors><secondrySupervisor name=\"Bo\"><refURL>https://h/adminapi/resource/bo</refURL></secondrySupervisor>\
        <secondarySupervisor name=\"Cy\"><refURL>https://h/adminapi/resource/cy</refURL></secondarySupervisor></secondarySupervisors>\n\
        \t</team><team><teamname>Empty</teamname><teamId>4</teamId><primarySupervisor/><secondarySupervisors/></team></teams>";
    let got = decode_teams_xml(xml.as_bytes()).unwrap();
    assert_eq!(got[0].team_id, "3");
    assert_eq!(got[0].name, "Sales & Care");
    assert_eq!(
        got[0].primary_supervisor,
        Some(PersonRef {
            name: "Ann Lee".into(),
            user_id: Some("alee".into())
        })
    );
    let ids: Vec<_> = got[0]
        .secondary_supervisors
        .iter()
        .map(|p| p.user_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["bo", "cy"]);
    assert_eq!(got[1].primary_supervisor, None);
    assert!(got[1].secondary_supervisors.is_empty());
}

#[test]
fn json_single_item_and_list_forms_decode_alike() {
    let list = r#"{"resource":[{"userID":"a1","firstName":{},"lastName":"Lee","extension":"1001","type":1,"autoAvailable":true,
        "skillMap":{"skillCompetency":[{"competencelevel":7,"skillNameUriPair":{"@name":"Sales","refURL":"https://h/adminapi/skill/2"}}]},
        "team":{"@name":"T","refURL":"https://h/adminapi/team/5"},"primarySupervisorOf":{},"secondarySupervisorOf":{"supervisorOfTeamName":{"@name":"T","refURL":"https://h/adminapi/team/5"}},
        "resourceGroup":{"@name":"RG"}}]}"#;
    let one = r#"{"resource":{"userID":"a1","firstName":{},"lastName":"Lee","extension":1001,"type":"1","autoAvailable":"true",
        "skillMap":{"skillCompetency":{"competencelevel":"7","skillNameUriPair":{"@name":"Sales","refURL":"https://h/adminapi/skill/2"}}},
        "team":{"@name":"T","refURL":"https://h/adminapi/team/5"},"primarySupervisorOf":{},"secondarySupervisorOf":{"supervisorOfTeamName":[{"@name":"T","refURL":"https://h/adminapi/team/5"}]},
        "resourceGroup":{"@name":"RG"}}}"#;
    let a = decode_resources_json(list.as_bytes()).unwrap();
    let b = decode_resources_json(one.as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].first_name, None);
    assert_eq!(a[0].skills[0].competence, 7);
    assert_eq!(
        a[0].secondary_supervisor_of[0].team_id.as_deref(),
        Some("5")
    );
    let teams = decode_teams_json(
        br#"{"team":{"teamId":5,"teamname":"T","primarySupervisor":{"@name":"A","refURL":"https://h/adminapi/resource/a"},
        "secondarySupervisors":{"secondrySupervisor":{"@name":"B","refURL":"https://h/adminapi/resource/b"}}}}"#,
    )
    .unwrap();
    assert_eq!(teams[0].team_id, "5");
    assert_eq!(
        teams[0].secondary_supervisors[0].user_id.as_deref(),
        Some("b")
    );
    assert!(matches!(
        decode_resources_json(&fixture("error_500.json")),
        Err(SourceError::Api { .. })
    ));
}

#[test]
fn a_resource_without_user_id_is_an_error_naming_its_position() {
    let xml = "<resources><resource><userID>a</userID></resource><resource><userID>  </userID></resource></resources>";
    let err = decode_resources_xml(xml.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("resource #2 has no userID"),
        "{err}"
    );
}

#[test]
fn a_bad_competence_level_names_the_user_and_the_skill() {
    for level in ["0", "256", "high", ""] {
        let xml = format!("<resource><userID>u7</userID><skillMap><skillCompetency><competencelevel>{level}</competencelevel><skillNameUriPair name=\"Chat\"/></skillCompetency></skillMap></resource>");
        let err = decode_resources_xml(xml.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("u7") && err.contains("Chat"), "{err}");
    }
}

#[test]
fn hostile_documents_are_refused_with_clear_errors() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><resources>&b;</resources>";
    let err = decode_resources_xml(laughs.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    let html = b"<html><head><title>401 Unauthorized</title></head></html>";
    assert!(decode_teams_xml(html)
        .unwrap_err()
        .to_string()
        .contains("HTML page"));
    let truncated = &fixture("resource_list_doc_sample.xml")[..300];
    let err = decode_resources_xml(truncated).unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    assert!(err.to_string().contains("/adminapi/resource"), "{err}");
    let deep = format!(
        "<resources>{}{}</resources>",
        "<x>".repeat(200),
        "</x>".repeat(200)
    );
    assert!(decode_resources_xml(deep.as_bytes()).is_err());
    assert!(decode_resources_xml(b"<resources>\xc3\x28</resources>").is_err());
    assert!(decode_resources_json(b"{\"resource\": [").is_err());
}

/// A `<resources>` list like the emulator's (tab-indented, every field, 3 skills each).
fn big_resource_list(n: usize) -> String {
    let mut xml = String::with_capacity(n * 1200);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<resources>\n");
    for i in 0..n {
        let team = i % 1000;
        xml.push_str(&format!(
            "\t<resource>\n\t\t<self>https://uccx/adminapi/resource/agent{i:05}</self>\n\t\t<userID>agent{i:05}</userID>\n\
             \t\t<firstName>First{i}</firstName>\n\t\t<lastName>O&apos;Last{i}</lastName>\n\t\t<extension>{ext}</extension>\n\
             \t\t<alias>a{i}</alias>\n\t\t<resourceGroup name=\"RG{rg}\"><refURL>https://uccx/adminapi/resourceGroup/{rg}</refURL></resourceGroup>\n\
             \t\t<skillMap>"
        , ext = 100_000 + i, rg = i % 7));
        for s in 0..3 {
            xml.push_str(&format!(
                "<skillCompetency><competencelevel>{}</competencelevel><skillNameUriPair name=\"Skill{}\"><refURL>https://uccx/adminapi/skill/{}</refURL></skillNameUriPair></skillCompetency>",
                1 + (i + s) % 10,
                (i + s) % 50,
                (i + s) % 50
            ));
        }
        xml.push_str(&format!(
            "</skillMap>\n\t\t<autoAvailable>{}</autoAvailable>\n\t\t<type>{}</type>\n\
             \t\t<team name=\"Team {team}\"><refURL>https://uccx/adminapi/team/{team}</refURL></team>\n\
             \t\t<primarySupervisorOf/>\n\t\t<secondarySupervisorOf/>\n\t</resource>\n",
            i % 2 == 0,
            if i % 60 == 0 { 2 } else { 1 }
        ));
    }
    xml.push_str("</resources>\n");
    xml
}

#[test]
fn a_24000_resource_list_decodes_record_by_record() {
    let xml = big_resource_list(24_000);
    assert!(xml.len() > 20_000_000, "{} bytes", xml.len());
    let got = decode_resources_xml(xml.as_bytes()).unwrap();
    assert_eq!(got.len(), 24_000);
    let r = &got[12_345];
    assert_eq!(r.user_id, "agent12345");
    assert_eq!(r.first_name.as_deref(), Some("First12345"));
    assert_eq!(r.last_name.as_deref(), Some("O'Last12345"));
    assert_eq!(r.extension.as_deref(), Some("112345"));
    assert_eq!(r.resource_type, Some(1));
    assert_eq!(r.auto_available, Some(false));
    assert_eq!(r.resource_group.as_deref(), Some("RG4"));
    assert_eq!(r.team.as_ref().unwrap().team_id.as_deref(), Some("345"));
    let skills: Vec<_> = r
        .skills
        .iter()
        .map(|s| (s.name.as_str(), s.competence))
        .collect();
    assert_eq!(skills, [("Skill45", 6), ("Skill46", 7), ("Skill47", 8)]);
    assert_eq!(got[0].resource_type, Some(2));
    assert_eq!(got[23_999].user_id, "agent23999");
    assert!(got
        .iter()
        .all(|r| r.skills.len() == 3 && r.primary_supervisor_of.is_empty()));
}

/// Both decoders, streaming and tree, give the same records or the same error text.
fn assert_same_as_tree(body: &[u8]) {
    let stream = decode_resources_xml(body).map_err(|e| e.to_string());
    let tree = super::decode::decode_resources_xml_tree(body).map_err(|e| e.to_string());
    assert_eq!(
        stream,
        tree,
        "resources of {:?}",
        String::from_utf8_lossy(body)
    );
    let stream = decode_teams_xml(body).map_err(|e| e.to_string());
    let tree = super::decode::decode_teams_xml_tree(body).map_err(|e| e.to_string());
    assert_eq!(stream, tree, "teams of {:?}", String::from_utf8_lossy(body));
}

#[test]
fn streaming_and_tree_decoders_agree_on_edge_cases() {
    let cases: &[&str] = &[
        "<resources/>",
        "<resources></resources>",
        "<resources><resource/></resources>",
        "<resources><resource><userID>a</userID></resource><resource/><apiErrors><apiError><errorType>X</errorType></apiError></apiErrors></resources>",
        "<resources><resource><userID>a</userID></resource><resource/><bad></resources>",
        "<resources><resource><userID>a</userID></resource><resource><userID>b</userID><type>x</type></resource><resource/></resources>",
        "<resources><x><resource><userID>deep</userID></resource></x><resource><userID>top</userID></resource></resources>",
        "<resources>text<resource><userID>a</userID></resource> &amp; <![CDATA[c]]></resources>",
        "<foo><resource><userID>a</userID></resource></foo>",
        "<foo><apiErrors><apiError><errorMessage>m</errorMessage></apiError></apiErrors></foo>",
        "<apiErrors><apiError><errorType>InvalidInput</errorType></apiError></apiErrors>",
        "<resource><userID>solo</userID><apiErrors/></resource>",
        "<teams><team><teamId>1</teamId><teamname>A</teamname></team><team><teamId>2</teamId></team></teams>",
        "<team><teamId>1</teamId><teamname>A</teamname></team>",
        "<ns:resources xmlns:ns=\"u\"><ns:resource><ns:userID>p</ns:userID></ns:resource></ns:resources>",
        "<resources><resource><userID>a</userID></resource></resources><resources/>",
        "<resources><resource><userID>a</userID></resource></resources>trailing",
        "<resources><resource><userID>a</userID></resource>",
        "<resources><resource><userID>&bogus;</userID></resource></resources>",
        "<:x><userID>e</userID></:x>",
        "  <!-- c --><?pi x?>\n<resources>\n</resources>\n<!-- after -->\n",
        "",
        "   ",
    ];
    for case in cases {
        assert_same_as_tree(case.as_bytes());
    }
    assert_same_as_tree(&fixture("resource_list_doc_sample.xml"));
    assert_same_as_tree(big_resource_list(50).as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn streaming_and_tree_decoders_agree_on_mutated_lists(cut in 0usize..6000, pos in 0usize..6000, byte in any::<u8>()) {
        let mut body = big_resource_list(5).into_bytes();
        let p = pos % body.len();
        body[p] = byte;
        body.truncate(cut.min(body.len()));
        assert_same_as_tree(&body);
    }

    #[test]
    fn decoders_never_panic_on_random_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_resources_xml(&body);
        let _ = decode_teams_xml(&body);
        let _ = decode_resources_json(&body);
        let _ = decode_teams_json(&body);
        let _ = decode_api_errors(&body);
    }

    #[test]
    fn decoders_never_panic_on_mutated_documents(cut in 0usize..800, pos in 0usize..800, byte in any::<u8>()) {
        let mut body = fixture("resource_list_doc_sample.xml");
        let p = pos % body.len();
        body[p] = byte;
        body.truncate(cut.min(body.len()));
        let _ = decode_resources_xml(&body);
        let _ = decode_teams_xml(&body);
        let _ = decode_api_errors(&body);
    }
}

#[tokio::test]
async fn client_sends_basic_auth_and_accept_xml_and_decodes() {
    let body = String::from_utf8(fixture("resource_list_doc_sample.xml")).unwrap();
    let srv = serve(move |_, _| Canned::new(200, "application/xml", body.clone())).await;
    let got = client(srv.addr.port()).resources().await.unwrap();
    assert_eq!(got[0].user_id, "agent1333");
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/adminapi/resource");
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}"))
    );
    assert_eq!(req.headers["authorization"], expected.as_str());
    assert_eq!(req.headers["accept"], "application/xml");
}

#[tokio::test]
async fn client_decodes_json_when_the_server_answers_json() {
    let srv = serve(|_, _| {
        Canned::new(
            200,
            "application/json",
            r#"{"team":[{"teamId":"1","teamname":"Default"}]}"#,
        )
    })
    .await;
    let report = client(srv.addr.port()).healthcheck().await.unwrap();
    assert_eq!(report.items, 1);
    assert_eq!(srv.requests()[0].path, "/adminapi/team");
    assert_eq!(srv.requests()[0].method, "GET");
}

#[tokio::test]
async fn unauthorized_names_host_and_user_but_never_the_password() {
    let srv = serve(|_, _| Canned::new(401, "text/html", "<html><body>401</body></html>")).await;
    let metrics = Metrics::new();
    let c = UccxClient::new(&config(srv.addr.port()), metrics.clone()).unwrap();
    let err = c.resources().await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }));
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("127.0.0.1") && text.contains("admin"),
        "{text}"
    );
    assert!(text.contains("uccx.password"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(srv.count(), 1, "auth errors are not retried");
    let exposition = metrics.encode();
    assert!(
        exposition.contains("error_type=\"unauthorized\""),
        "{exposition}"
    );
}

#[tokio::test]
async fn two_503s_then_200_succeeds_after_retries() {
    let srv = serve(|n, _| {
        if n < 2 {
            Canned::new(503, "text/plain", "busy")
        } else {
            Canned::new(
                200,
                "application/xml",
                "<teams><team><teamId>1</teamId><teamname>A</teamname></team></teams>",
            )
        }
    })
    .await;
    let teams = client(srv.addr.port()).teams().await.unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(srv.count(), 3);
}

#[tokio::test]
async fn persistent_5xx_fails_after_retries_plus_one_attempts() {
    let srv = serve(|_, _| Canned::new(500, "text/plain", "boom")).await;
    let err = client(srv.addr.port()).teams().await.unwrap_err();
    assert!(
        matches!(err, SourceError::Http5xx { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_retriable());
    assert_eq!(srv.count(), 3);
}

#[tokio::test]
async fn not_found_and_api_errors_are_reported() {
    let srv = serve(|n, _| {
        if n == 0 {
            Canned::new(404, "text/html", "<html/>")
        } else {
            Canned::new(400, "application/xml", "<apiErrors><apiError><errorMessage>bad</errorMessage><errorType>InvalidInput</errorType></apiError></apiErrors>")
        }
    })
    .await;
    let c = client(srv.addr.port());
    let err = c.teams().await.unwrap_err();
    assert!(err.to_string().contains("/adminapi/team"), "{err}");
    assert_eq!(err.error_type(), "not_found");
    let err = c.teams().await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Api { status: 400, errors, .. } if errors[0].error_type.as_deref() == Some("InvalidInput")),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_server_gives_a_retriable_timeout() {
    let srv = serve(|_, _| Canned {
        delay: Duration::from_secs(3),
        ..Canned::new(200, "application/xml", "<teams/>")
    })
    .await;
    let mut cfg = config(srv.addr.port());
    cfg.timeout = Duration::from_millis(200);
    cfg.retries = 0;
    let err = UccxClient::new(&cfg, Metrics::new())
        .unwrap()
        .teams()
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err}");
    assert!(err.is_retriable());
}

#[test]
fn plain_http_is_refused_unless_explicitly_allowed() {
    let mut cfg = config(80);
    cfg.allow_insecure_http = false;
    let err = UccxClient::new(&cfg, Metrics::new()).err().unwrap();
    assert_eq!(err.error_type(), "config");
    assert!(err.to_string().contains("allow_insecure_http"), "{err}");
    cfg.scheme = Scheme::Https;
    assert!(UccxClient::new(&cfg, Metrics::new()).is_ok());
}

#[tokio::test]
async fn concurrent_calls_send_one_request_at_a_time() {
    let srv = serve(|_, _| Canned {
        delay: Duration::from_millis(30),
        ..Canned::new(200, "application/xml", "<teams/>")
    })
    .await;
    let c = client(srv.addr.port());
    let (a, b, h) = tokio::join!(c.teams(), c.resources(), c.healthcheck());
    assert!(a.is_ok() && h.is_ok());
    // `<teams/>` is not a resource list: the decoder says so instead of returning nothing.
    assert!(b
        .unwrap_err()
        .to_string()
        .contains("expected root <resources>"));
    assert_eq!(srv.count(), 3);
    assert_eq!(srv.max_in_flight(), 1);
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_buffering_it() {
    let srv = serve(|_, _| Canned::new(200, "application/xml", "<teams>".repeat(10_000))).await;
    let mut settings = UccxSettings::from_config(&config(srv.addr.port())).unwrap();
    settings.max_body_bytes = 1024;
    let err = UccxClient::from_settings(settings, Metrics::new())
        .unwrap()
        .teams()
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "too_large");
    assert_eq!(srv.count(), 1, "a too-large body is not retried");
}

//! UCCE ConfigAPI emulator: paging, shapes, errors, auth, mutations, faults, quirks, scale.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;
use wfm_emulators::ucce::{PageFaults, SummaryShape, UcceConfig, UcceEmulator, FIRST_AGENT_ID};
use wfm_emulators::{DatasetSpec, EmulatorHandle, Fault, SharedData};

const AGENTS: &str = "/unifiedconfig/config/agent";

/// A parsed XML element.
#[derive(Debug, Default, Clone)]
struct Node {
    name: String,
    xsi_type: Option<String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// Text of the descendant at `path` (`a/b/c`).
    fn at(&self, path: &str) -> Option<&str> {
        let mut n = self;
        for part in path.split('/') {
            n = n.child(part)?;
        }
        Some(n.text.as_str())
    }

    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses a whole document (panics when it is not well-formed).
fn parse(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    let start = |e: &quick_xml::events::BytesStart<'_>| Node {
        name: e.name().as_ref().to_string(),
        xsi_type: e
            .try_get_attribute("xsi:type")
            .expect("attribute")
            .map(|a| a.value.to_string()),
        ..Node::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(start(&e)),
            Event::Empty(e) => {
                let n = start(&e);
                stack.last_mut().expect("parent").children.push(n);
            }
            Event::End(_) => {
                let n = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(n);
            }
            Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                stack.last_mut().expect("open").text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content().into_owned();
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    resolve_predefined_entity(&name).map(str::to_string)
                };
                let s = resolved.expect("known entity");
                stack.last_mut().expect("open").text.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "every element closed");
    stack.pop().expect("root").children.remove(0)
}

fn data(agents: usize) -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents,
        supervisors: 10,
        teams: 8,
        skills: 12,
        ..DatasetSpec::default()
    })
}

async fn start_with(cfg: UcceConfig, data: SharedData) -> EmulatorHandle {
    UcceEmulator::spawn(cfg, data).await.expect("spawn")
}

async fn start(data: SharedData) -> EmulatorHandle {
    start_with(UcceConfig::default(), data).await
}

async fn get_url(url: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(url)
        .basic_auth("administrator@example.com", Some("ciscopsdt"))
        .send()
        .await
        .expect("send");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

async fn get(h: &EmulatorHandle, path_and_query: &str) -> (u16, String) {
    get_url(&format!("{}{path_and_query}", h.base_url())).await
}

/// One parsed page: `(pageInfo, entries)`.
fn page(body: &str, list: &str, item: &str) -> (Node, Vec<Node>) {
    let root = parse(body);
    assert_eq!(root.name, "results");
    let info = root.child("pageInfo").expect("pageInfo").clone();
    let items = root
        .child(list)
        .expect("list element")
        .all(item)
        .into_iter()
        .cloned()
        .collect();
    (info, items)
}

fn agent_ids(items: &[Node]) -> Vec<u32> {
    items
        .iter()
        .map(|a| a.at("agentId").expect("agentId").parse().expect("number"))
        .collect()
}

/// Follows `nextPage` from `first`, at most `limit` pages: every agentId seen and the pages.
async fn walk(first: &str, limit: usize) -> (Vec<u32>, Vec<Node>) {
    let mut url = Some(first.to_string());
    let (mut ids, mut infos) = (Vec::new(), Vec::new());
    while let Some(u) = url.take() {
        if infos.len() == limit {
            break;
        }
        let (status, body) = get_url(&u).await;
        assert_eq!(status, 200, "{u}: {body}");
        let (info, items) = page(&body, "agents", "agent");
        ids.extend(agent_ids(&items));
        url = info.at("nextPage").map(str::to_string);
        infos.push(info);
    }
    (ids, infos)
}

#[tokio::test]
async fn pagination_walks_every_agent_exactly_once() {
    let d = data(240);
    let h = start(d.clone()).await;
    let first = format!("{}{AGENTS}?startIndex=0&resultsPerPage=100", h.base_url());
    let (ids, infos) = walk(&first, 10).await;
    assert_eq!(infos.len(), 3);
    let expected: Vec<u32> = (0..250).map(|i| FIRST_AGENT_ID + i).collect();
    assert_eq!(ids, expected, "sorted by agentId, each once");
    for (i, info) in infos.iter().enumerate() {
        assert_eq!(info.at("totalResults"), Some("250"));
        assert_eq!(info.at("resultsPerPage"), Some("100"));
        assert_eq!(info.at("startIndex"), Some(&*(i * 100).to_string()));
        assert_eq!(info.child("prevPage").is_some(), i > 0);
        assert_eq!(
            info.child("nextPage").is_some(),
            i < 2,
            "absent on the last page"
        );
        assert!(info.at("lastPage").unwrap().contains("startIndex=200&"));
        assert_eq!(
            info.names()[..5],
            [
                "resultsPerPage",
                "startIndex",
                "totalResults",
                "firstPage",
                "lastPage"
            ]
        );
    }
    assert_eq!(
        infos[1].at("nextPage"),
        Some(&*format!(
            "{}{AGENTS}?startIndex=200&resultsPerPage=100",
            h.base_url()
        ))
    );
    // Default page size is 25, beyond the end is an empty page.
    let (_, body) = get(&h, AGENTS).await;
    let (info, items) = page(&body, "agents", "agent");
    assert_eq!((info.at("resultsPerPage"), items.len()), (Some("25"), 25));
    let (_, body) = get(&h, &format!("{AGENTS}?startIndex=900")).await;
    let (info, items) = page(&body, "agents", "agent");
    assert!(items.is_empty() && info.child("nextPage").is_none());
}

#[tokio::test]
async fn results_per_page_101_is_400_out_of_range_exactly() {
    let h = start(data(20)).await;
    let (status, body) = get(&h, &format!("{AGENTS}?resultsPerPage=101")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><apiErrors><apiError>\
<errorData>resultsPerPage</errorData><errorDetail><min>1</min><max>100</max></errorDetail>\
<errorMessage>This field must contain a value from 1 to 100</errorMessage>\
<errorType>invalidInput.outOfRange</errorType></apiError></apiErrors>"
    );
    let (status, body) = get(&h, &format!("{AGENTS}?resultsPerPage=0")).await;
    assert_eq!(status, 400);
    assert!(body.contains("<errorType>invalidInput.outOfRange</errorType>"));
    let (status, body) = get(&h, &format!("{AGENTS}?startIndex=-1")).await;
    assert_eq!(status, 400);
    let e = parse(&body);
    assert_eq!(e.at("apiError/errorData"), Some("startIndex"));
    assert_eq!(e.at("apiError/errorDetail/min"), Some("0"));
    let (status, body) = get(&h, &format!("{AGENTS}?startIndex=abc")).await;
    assert_eq!(status, 400);
    assert_eq!(
        parse(&body).at("apiError/errorType"),
        Some("invalidInput.invalidNumber")
    );
    let (status, _) = get(&h, "/unifiedconfig/config/agentteam?resultsPerPage=101").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn page_size_can_be_clamped_or_ignored() {
    let d = data(140);
    let clamp = start_with(
        UcceConfig {
            clamp_page_size: true,
            ..UcceConfig::default()
        },
        d.clone(),
    )
    .await;
    let (status, body) = get(&clamp, &format!("{AGENTS}?resultsPerPage=500")).await;
    assert_eq!(status, 200);
    let (info, items) = page(&body, "agents", "agent");
    assert_eq!((info.at("resultsPerPage"), items.len()), (Some("100"), 100));
    let ignore = start_with(
        UcceConfig {
            ignore_page_size: true,
            ..UcceConfig::default()
        },
        d,
    )
    .await;
    let first = format!("{}{AGENTS}?resultsPerPage=100", ignore.base_url());
    let (ids, infos) = walk(&first, 20).await;
    assert_eq!(infos.len(), 6, "150 agents in pages of 25");
    assert_eq!(infos[0].at("resultsPerPage"), Some("25"));
    assert_eq!(ids.len(), 150);
}

#[tokio::test]
async fn full_agents_carry_every_field_and_some_lack_optional_ones() {
    let d = data(200);
    let h = start(d.clone()).await;
    let (_, body) = get(&h, &format!("{AGENTS}?resultsPerPage=100&startIndex=110")).await;
    let (_, items) = page(&body, "agents", "agent");
    let cc = d.snapshot();
    let (mut no_dept, mut no_desc, mut no_default) = (0, 0, 0);
    for a in &items {
        assert_eq!(a.xsi_type, None);
        let id: u32 = a.at("agentId").unwrap().parse().unwrap();
        let r = &cc.resources[(id - FIRST_AGENT_ID) as usize];
        assert_eq!(a.at("refURL"), Some(&*format!("{AGENTS}/{id}")));
        assert!(a.at("changeStamp").unwrap().parse::<u32>().is_ok());
        assert_eq!(a.at("person/firstName"), Some(r.first_name.as_str()));
        assert_eq!(a.at("person/lastName"), Some(r.last_name.as_str()));
        assert_eq!(a.at("person/userName"), Some(r.user_id.as_str()));
        assert_eq!(a.at("person/loginEnabled"), Some("true"));
        assert_eq!(a.at("person/ssoEnabled"), Some("false"));
        match &r.team {
            Some((tid, name)) => {
                assert_eq!(a.at("agentTeam/name"), Some(name.as_str()));
                assert_eq!(
                    a.at("agentTeam/refURL"),
                    Some(&*format!("/unifiedconfig/config/agentteam/{tid}"))
                );
            }
            None => assert!(a.child("agentTeam").is_none()),
        }
        let skills = a
            .child("skillGroups")
            .expect("skillGroups")
            .all("skillGroup");
        assert_eq!(skills.len(), r.skills.len());
        for (s, (name, _, sid)) in skills.iter().zip(&r.skills) {
            assert_eq!(s.at("name"), Some(name.as_str()));
            assert_eq!(
                s.at("refURL"),
                Some(&*format!("/unifiedconfig/config/skillgroup/{sid}"))
            );
        }
        assert_eq!(
            a.at("supervisor"),
            Some(if r.kind == 2 { "true" } else { "false" })
        );
        let sup_teams = a.child("supervisorTeams").expect("supervisorTeams");
        assert_eq!(
            sup_teams.all("supervisorTeam").len(),
            r.primary_supervisor_of.len() + r.secondary_supervisor_of.len()
        );
        assert_eq!(a.at("peripheral/id"), Some("5000"));
        assert!(a.at("peripheral/name").is_some());
        no_dept += usize::from(a.child("department").is_none());
        no_desc += usize::from(a.child("description").is_none());
        no_default += usize::from(a.child("defaultSkillGroup").is_none());
    }
    assert!(items.iter().any(|a| a.at("department/name").is_some()));
    assert!(items.iter().any(|a| a.at("description").is_some()));
    assert!(items
        .iter()
        .any(|a| a.at("defaultSkillGroup/refURL").is_some()));
    assert!(no_dept > 0 && no_desc > 0 && no_default > 0);
    assert!(items.iter().any(|a| a.at("supervisor") == Some("true")));
    // A single agent is the same document.
    let id = FIRST_AGENT_ID + 7;
    let (status, body) = get(&h, &format!("{AGENTS}/{id}")).await;
    assert_eq!(status, 200);
    let a = parse(&body);
    assert_eq!(a.name, "agent");
    assert_eq!(
        a.at("person/userName"),
        Some(cc.resources[7].user_id.as_str())
    );
}

#[tokio::test]
async fn summary_agents_have_names_directly_and_the_xsi_type() {
    let d = data(30);
    let h = start(d.clone()).await;
    let (_, body) = get(&h, &format!("{AGENTS}?summary=true&resultsPerPage=10")).await;
    assert!(body.contains("xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""));
    let (info, items) = page(&body, "agents", "agent");
    assert!(info.at("nextPage").unwrap().contains("summary=true"));
    assert_eq!(items.len(), 10);
    let first = d.read().resources[0].clone();
    let a = &items[0];
    assert_eq!(a.xsi_type.as_deref(), Some("agentSummary"));
    assert!(a.child("person").is_none());
    assert_eq!(a.at("firstName"), Some(first.first_name.as_str()));
    assert_eq!(a.at("lastName"), Some(first.last_name.as_str()));
    assert_eq!(a.at("userName"), Some(first.user_id.as_str()));
    assert_eq!(a.at("agentId"), Some(&*FIRST_AGENT_ID.to_string()));
    assert!(a.at("refURL").is_some());
    // Forced on by configuration.
    let always = start_with(
        UcceConfig {
            summary_shape: SummaryShape::Always,
            ..UcceConfig::default()
        },
        d,
    )
    .await;
    let (_, body) = get(&always, AGENTS).await;
    let (_, items) = page(&body, "agents", "agent");
    assert!(items
        .iter()
        .all(|a| a.xsi_type.as_deref() == Some("agentSummary")));
}

#[tokio::test]
async fn unknown_ids_answer_404_api_errors() {
    let h = start(data(10)).await;
    for path in [
        format!("{AGENTS}/99999"),
        format!("{AGENTS}/abc"),
        "/unifiedconfig/config/agentteam/999".to_string(),
        "/unifiedconfig/config/skillgroup/999".to_string(),
        "/unifiedconfig/config/nothing".to_string(),
    ] {
        let (status, body) = get(&h, &path).await;
        assert_eq!(status, 404, "{path}");
        let e = parse(&body);
        assert_eq!(e.name, "apiErrors");
        assert_eq!(e.at("apiError/errorType"), Some("notFound"));
        assert!(e.at("apiError/errorMessage").is_some());
    }
}

#[tokio::test]
async fn bad_or_missing_credentials_get_401() {
    let h = start(data(10)).await;
    let url = format!("{}{AGENTS}", h.base_url());
    let client = reqwest::Client::new();
    let resp = client
        .get(&url)
        .basic_auth("administrator@example.com", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let resp = client
        .get(&url)
        .basic_auth("administrator", Some("ciscopsdt"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        401,
        "the domain is part of the user"
    );
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn names_with_ampersand_and_apostrophe_are_escaped() {
    let d = data(10);
    {
        let mut cc = d.write();
        cc.resources[0].last_name = "O'Brien & Sons".into();
        cc.teams[0].name = "R&D 'A'".into();
        cc.resources[1].team = Some((cc.teams[0].team_id, cc.teams[0].name.clone()));
    }
    let h = start(d).await;
    let (_, body) = get(&h, &format!("{AGENTS}?q=Brien")).await;
    assert!(
        body.contains("<lastName>O&apos;Brien &amp; Sons</lastName>"),
        "{body}"
    );
    let (info, items) = page(&body, "agents", "agent");
    assert_eq!(info.at("totalResults"), Some("1"));
    assert_eq!(items[0].at("person/lastName"), Some("O'Brien & Sons"));
    let (_, body) = get(&h, &format!("{AGENTS}/{}", FIRST_AGENT_ID + 1)).await;
    assert_eq!(parse(&body).at("agentTeam/name"), Some("R&D 'A'"));
    let (_, body) = get(&h, "/unifiedconfig/config/agentteam?q=R%26D").await;
    let (_, teams) = page(&body, "agentTeams", "agentTeam");
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0].at("name"), Some("R&D 'A'"));
}

#[tokio::test]
async fn a_rename_and_a_team_move_show_on_the_next_page_with_the_same_agent_id() {
    let d = data(120);
    let h = start(d.clone()).await;
    let (_, body) = get(&h, &format!("{AGENTS}?resultsPerPage=100")).await;
    let (_, before) = page(&body, "agents", "agent");
    let target = before[30].clone();
    let id = target.at("agentId").unwrap().to_string();
    let old_user = target.at("person/userName").unwrap().to_string();
    let other_team = d
        .read()
        .teams
        .iter()
        .find(|t| Some(t.name.as_str()) != target.at("agentTeam/name"))
        .map(|t| (t.team_id, t.name.clone()))
        .unwrap();
    {
        let mut cc = d.write();
        assert!(cc.rename_user(&old_user, "renamed.agent"));
        assert!(cc.move_to_team("renamed.agent", Some(other_team.0)));
        let gone = cc.resources[0].user_id.clone();
        cc.remove_resource(&gone);
    }
    let (_, body) = get(&h, &format!("{AGENTS}?resultsPerPage=100")).await;
    let (info, after) = page(&body, "agents", "agent");
    assert_eq!(info.at("totalResults"), Some("129"));
    let moved = after
        .iter()
        .find(|a| a.at("agentId") == Some(id.as_str()))
        .expect("same agentId");
    assert_eq!(moved.at("person/userName"), Some("renamed.agent"));
    assert_eq!(moved.at("agentTeam/name"), Some(other_team.1.as_str()));
    let old: u32 = target.at("changeStamp").unwrap().parse().unwrap();
    let new: u32 = moved.at("changeStamp").unwrap().parse().unwrap();
    assert!(new > old, "changeStamp moves on a change");
    assert_eq!(
        after[0].at("agentId"),
        Some(&*(FIRST_AGENT_ID + 1).to_string())
    );
    let (status, _) = get(&h, &format!("{AGENTS}/{FIRST_AGENT_ID}")).await;
    assert_eq!(status, 404, "the removed agent is gone");
}

#[tokio::test]
async fn a_fault_on_the_third_page_fires_once() {
    let faults = PageFaults::new();
    let cfg = UcceConfig {
        page_faults: faults.clone(),
        ..UcceConfig::default()
    };
    let h = start_with(cfg, data(290)).await;
    faults.at_start_index(AGENTS, 200, Fault::Status(503));
    let base = h.base_url();
    let url = |s: u32| format!("{base}{AGENTS}?startIndex={s}&resultsPerPage=100");
    assert_eq!(get_url(&url(0)).await.0, 200);
    assert_eq!(get_url(&url(100)).await.0, 200);
    let (status, body) = get_url(&url(200)).await;
    assert_eq!(status, 503);
    assert_eq!(parse(&body).name, "apiErrors");
    assert_eq!(get_url(&url(200)).await.0, 200, "the retry succeeds");
    assert_eq!(faults.pending(), 0);

    // The n-th request from now, whatever its startIndex; other kinds of fault.
    faults.at_nth_request(AGENTS, 3, Fault::MalformedXml);
    assert_eq!(get_url(&url(0)).await.0, 200);
    assert_eq!(get(&h, "/unifiedconfig/config/agentteam").await.0, 200);
    assert_eq!(get_url(&url(100)).await.0, 200);
    let (status, body) = get_url(&url(200)).await;
    assert_eq!(status, 200);
    let mut reader = Reader::from_str(&body);
    assert!((0..50).any(|_| reader.read_event().is_err()), "malformed");
    faults.at_start_index(AGENTS, 100, Fault::TruncatedBody);
    let (_, body) = get_url(&url(100)).await;
    assert!(!body.ends_with("</results>"));
    faults.at_start_index(AGENTS, 0, Fault::EmptyList);
    let (_, body) = get_url(&url(0)).await;
    let (info, items) = page(&body, "agents", "agent");
    assert!(items.is_empty() && info.at("totalResults") == Some("0"));
    faults.at_start_index(AGENTS, 0, Fault::Unauthorized);
    assert_eq!(get_url(&url(0)).await.0, 401);
    faults.at_start_index(AGENTS, 0, Fault::Hang);
    let hung = tokio::time::timeout(Duration::from_millis(300), get_url(&url(0))).await;
    assert!(hung.is_err(), "hangs");

    // The shared per-request plan works too.
    h.faults().push_for_path(AGENTS, Fault::Status(500));
    assert_eq!(get_url(&url(0)).await.0, 500);
    assert_eq!(get_url(&url(0)).await.0, 200);
}

#[tokio::test]
async fn duplicate_mode_repeats_the_previous_page_s_last_agent() {
    let cfg = UcceConfig {
        duplicate_across_pages: true,
        ..UcceConfig::default()
    };
    let h = start_with(cfg, data(240)).await;
    let first = format!("{}{AGENTS}?resultsPerPage=100", h.base_url());
    let (ids, infos) = walk(&first, 10).await;
    assert_eq!(infos.len(), 3);
    assert_eq!(ids.len(), 252, "two duplicates");
    let unique: HashSet<u32> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 250, "nothing lost");
    assert_eq!(ids[99], ids[100]);
    assert_eq!(ids[200], ids[201]);
}

#[tokio::test]
async fn next_page_loop_mode_points_back_to_the_first_page() {
    let cfg = UcceConfig {
        next_page_loop: true,
        ..UcceConfig::default()
    };
    let h = start_with(cfg, data(240)).await;
    let first = format!("{}{AGENTS}?resultsPerPage=100", h.base_url());
    let (ids, infos) = walk(&first, 5).await;
    assert_eq!(infos.len(), 5, "a blind client never stops");
    let starts: Vec<&str> = infos.iter().map(|i| i.at("startIndex").unwrap()).collect();
    assert_eq!(starts, ["0", "100", "0", "100", "0"]);
    assert_eq!(ids.len(), 500);
}

#[tokio::test]
async fn sort_and_query_select_and_order_the_agents() {
    let d = data(60);
    let h = start(d.clone()).await;
    let (_, body) = get(
        &h,
        &format!("{AGENTS}?resultsPerPage=100&sort=userName%20desc"),
    )
    .await;
    let (info, items) = page(&body, "agents", "agent");
    let users: Vec<&str> = items
        .iter()
        .map(|a| a.at("person/userName").unwrap())
        .collect();
    let mut expected: Vec<String> = d
        .read()
        .resources
        .iter()
        .map(|r| r.user_id.clone())
        .collect();
    expected.sort();
    expected.reverse();
    assert_eq!(users, expected);
    assert!(info
        .at("firstPage")
        .unwrap()
        .contains("sort=userName%20desc"));
    let user = d.read().resources[3].user_id.clone();
    let (_, body) = get(&h, &format!("{AGENTS}?q=userName:{user}")).await;
    let (info, items) = page(&body, "agents", "agent");
    assert_eq!(info.at("totalResults"), Some("1"));
    assert_eq!(
        items[0].at("agentId"),
        Some(&*(FIRST_AGENT_ID + 3).to_string())
    );
    let (status, body) = get(&h, &format!("{AGENTS}?sort=shoeSize")).await;
    assert_eq!(status, 400);
    assert!(body.contains("<errorData>sort</errorData>"));
}

#[tokio::test]
async fn teams_list_their_members_and_supervisors() {
    let d = data(100);
    let h = start(d.clone()).await;
    let (_, body) = get(&h, "/unifiedconfig/config/agentteam?resultsPerPage=5").await;
    let (info, teams) = page(&body, "agentTeams", "agentTeam");
    assert_eq!(info.at("totalResults"), Some("8"));
    assert!(info.child("nextPage").is_some());
    assert_eq!(teams.len(), 5);
    let cc = d.snapshot();
    for t in &teams {
        let id: u32 = t
            .at("refURL")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let team = cc.team(id).expect("team");
        assert_eq!(t.at("name"), Some(team.name.as_str()));
        assert!(t.at("changeStamp").is_some() && t.at("peripheral/id").is_some());
        let members = t.child("agents").expect("agents").all("agent");
        let expected: Vec<&str> = cc.team_members(id).map(|r| r.user_id.as_str()).collect();
        let got: Vec<&str> = members.iter().map(|m| m.at("userName").unwrap()).collect();
        assert_eq!(got, expected);
        assert_eq!(t.at("agentCount"), Some(&*members.len().to_string()));
        for m in members {
            let aid = m.at("agentId").unwrap();
            assert_eq!(m.at("refURL"), Some(&*format!("{AGENTS}/{aid}")));
            assert!(m.at("firstName").is_some() && m.at("lastName").is_some());
        }
        let sups = t
            .child("supervisors")
            .expect("supervisors")
            .all("supervisor");
        let want = team.primary_supervisor.iter().count() + team.secondary_supervisors.len();
        assert_eq!(sups.len(), want);
        assert_eq!(t.at("supervisorCount"), Some(&*want.to_string()));
        for s in sups {
            assert!(s.at("refURL").unwrap().starts_with(AGENTS));
        }
    }
    let (status, body) = get(&h, "/unifiedconfig/config/agentteam/1").await;
    assert_eq!(status, 200);
    assert_eq!(parse(&body).at("name"), Some(cc.teams[0].name.as_str()));
}

#[tokio::test]
async fn skill_groups_are_listed_once_each() {
    let d = data(100);
    let h = start(d.clone()).await;
    let (_, body) = get(&h, "/unifiedconfig/config/skillgroup?resultsPerPage=100").await;
    let (info, groups) = page(&body, "skillGroups", "skillGroup");
    let mut expected: Vec<u32> = d
        .read()
        .resources
        .iter()
        .flat_map(|r| r.skills.iter().map(|s| s.2))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    expected.sort();
    assert_eq!(info.at("totalResults"), Some(&*expected.len().to_string()));
    let ids: Vec<u32> = groups
        .iter()
        .map(|g| g.at("peripheralNumber").unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, expected);
    for g in &groups {
        for f in [
            "refURL",
            "changeStamp",
            "name",
            "description",
            "media",
            "peripheral",
        ] {
            assert!(g.child(f).is_some(), "{f}");
        }
    }
}

#[tokio::test]
async fn twenty_four_thousand_agents_page_quickly() {
    let d = SharedData::generate(&DatasetSpec {
        agents: 23_900,
        supervisors: 100,
        teams: 400,
        skills: 60,
        ..DatasetSpec::default()
    });
    let h = start(d).await;
    let began = Instant::now();
    let first = format!("{}{AGENTS}?resultsPerPage=100", h.base_url());
    let (ids, infos) = walk(&first, 1000).await;
    let took = began.elapsed();
    assert_eq!(infos.len(), 240);
    assert_eq!(ids.len(), 24_000);
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>().len(), 24_000);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // The server side alone (no XML parsing in the client): well under a millisecond per agent.
    let began = Instant::now();
    for start in (0..24_000).step_by(100) {
        let (status, body) = get(
            &h,
            &format!("{AGENTS}?startIndex={start}&resultsPerPage=100"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.len() > 100 * 500);
    }
    let raw = began.elapsed();
    eprintln!("24,000 agents in 240 pages: {took:?} with parsing, {raw:?} without");
    assert!(raw < Duration::from_secs(8), "took {raw:?}");
}

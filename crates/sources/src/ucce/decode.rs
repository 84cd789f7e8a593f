//! Decoders for UCCE/PCCE ConfigAPI list pages (`<results><pageInfo/>…</results>`) and
//! `apiErrors` bodies. Tolerant of element order, whitespace, unknown and empty elements, the
//! full agent shape (`person/firstName`) and the collection summary shape (`xsi:type="agentSummary"`,
//! `firstName` directly under `agent`), and references given as `{refURL,name}` or as plain text.

use crate::error::SourceError;
use crate::xml::{parse_document, Element, XmlLimits};
use serde::{Deserialize, Serialize};
use std::fmt;

const AGENTS: &str = "UCCE /unifiedconfig/config/agent";
const TEAMS: &str = "UCCE /unifiedconfig/config/agentteam";
const SKILL_GROUPS: &str = "UCCE /unifiedconfig/config/skillgroup";

/// One UCCE agent (full or summary shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UcceAgent {
    /// `agentId`: the peripheral number, immutable; never empty.
    pub agent_id: String,
    /// `refURL`, e.g. `/unifiedconfig/config/agent/5000`.
    pub ref_url: Option<String>,
    /// `changeStamp` (optimistic-locking version).
    pub change_stamp: Option<u64>,
    /// `person/firstName` (or `firstName` in the summary shape).
    pub first_name: Option<String>,
    /// `person/lastName`.
    pub last_name: Option<String>,
    /// `person/userName`: the login, never empty.
    pub user_name: String,
    /// `person/loginEnabled`.
    pub login_enabled: Option<bool>,
    /// `person/ssoEnabled`.
    pub sso_enabled: Option<bool>,
    /// `agentTeam`: the team the agent belongs to.
    pub team: Option<UcceRef>,
    /// `skillGroups/skillGroup`.
    pub skill_groups: Vec<UcceRef>,
    /// `defaultSkillGroup`.
    pub default_skill_group: Option<UcceRef>,
    /// `supervisor` (`false` when absent).
    pub supervisor: bool,
    /// `supervisorTeams/supervisorTeam`: teams this agent supervises.
    pub supervisor_teams: Vec<UcceRef>,
    /// `department` (its text, or its `name` when given as a reference).
    pub department: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `peripheral` (its text, or its `name`, or its id when given as a reference).
    pub peripheral: Option<String>,
}

/// One UCCE agent team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UcceTeam {
    /// The team id: last segment of `refURL` (or an `id` element); never empty.
    pub id: String,
    /// `name`, never empty.
    pub name: String,
    /// `agentCount`.
    pub agent_count: Option<u64>,
    /// `supervisors/supervisor/userName`, in document order.
    pub supervisor_user_names: Vec<String>,
}

/// One UCCE skill group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UcceSkillGroup {
    /// The skill-group id: last segment of `refURL` (or an `id` element); never empty.
    pub id: String,
    /// `name`, never empty.
    pub name: String,
}

/// A reference to another ConfigAPI object (`{refURL, name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UcceRef {
    /// The last path segment of `refURL` (the object id), if any.
    pub id: Option<String>,
    /// `name` (empty when the reference carries none).
    pub name: String,
    /// `refURL` as sent (usually a relative path).
    pub ref_url: Option<String>,
}

/// The `pageInfo` of one list page. Every field is optional on the wire; `None` means absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    /// `resultsPerPage` as the server applied it.
    pub results_per_page: Option<u64>,
    /// `startIndex` (0-based) of this page as the server applied it.
    pub start_index: Option<u64>,
    /// `totalResults` of the whole listing.
    pub total_results: Option<u64>,
    /// `nextPage` URL; absent on the last page.
    pub next_page: Option<String>,
}

impl PageInfo {
    /// The `startIndex` query parameter of `nextPage`, if it has a usable one.
    pub fn next_start_index(&self) -> Option<u64> {
        let url = self.next_page.as_deref()?;
        let query = url.split_once('?')?.1;
        let query = query.split('#').next().unwrap_or(query);
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            if k.eq_ignore_ascii_case("startIndex") {
                v.trim().parse::<u64>().ok()
            } else {
                None
            }
        })
    }
}

/// One entry of an `apiErrors` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// `errorType`, e.g. `invalidInput.outOfRange`.
    pub error_type: Option<String>,
    /// `errorMessage`.
    pub error_message: Option<String>,
    /// `errorData`: usually the offending field.
    pub error_data: Option<String>,
    /// `errorDetail/min`.
    pub min: Option<String>,
    /// `errorDetail/max`.
    pub max: Option<String>,
}

impl ApiError {
    /// The shared form carried by [`SourceError::Api`]; the allowed range is folded into
    /// `error_data` so that it shows up in the error text.
    pub fn to_source(&self) -> crate::uccx::ApiError {
        let range = match (&self.min, &self.max) {
            (None, None) => None,
            (min, max) => Some(format!(
                "allowed {}..{}",
                min.as_deref().unwrap_or(""),
                max.as_deref().unwrap_or("")
            )),
        };
        let error_data = match (&self.error_data, range) {
            (Some(d), Some(r)) => Some(format!("{d}, {r}")),
            (Some(d), None) => Some(d.clone()),
            (None, r) => r,
        };
        crate::uccx::ApiError {
            error_type: self.error_type.clone(),
            error_message: self.error_message.clone(),
            error_data,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_source())
    }
}

/// Decodes one page of `GET /unifiedconfig/config/agent` (full or summary shape), or a single
/// `<agent>` document (then the page info is empty).
pub fn decode_agents_page(body: &[u8]) -> Result<(PageInfo, Vec<UcceAgent>), SourceError> {
    let root = parse_document(body, AGENTS, &XmlLimits::tree())?;
    let (info, list) = page_items(&root, "agents", "agent", AGENTS)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, el) in list.into_iter().enumerate() {
        out.push(agent_from(el, i + 1)?);
    }
    Ok((info, out))
}

/// Decodes one page of `GET /unifiedconfig/config/agentteam`.
pub fn decode_teams_page(body: &[u8]) -> Result<(PageInfo, Vec<UcceTeam>), SourceError> {
    let root = parse_document(body, TEAMS, &XmlLimits::tree())?;
    let (info, list) = page_items(&root, "agentTeams", "agentTeam", TEAMS)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, el) in list.into_iter().enumerate() {
        out.push(team_from(el, i + 1)?);
    }
    Ok((info, out))
}

/// Decodes one page of `GET /unifiedconfig/config/skillgroup`.
pub fn decode_skill_groups_page(
    body: &[u8],
) -> Result<(PageInfo, Vec<UcceSkillGroup>), SourceError> {
    let root = parse_document(body, SKILL_GROUPS, &XmlLimits::tree())?;
    let (info, list) = page_items(&root, "skillGroups", "skillGroup", SKILL_GROUPS)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, el) in list.into_iter().enumerate() {
        let (id, name) = id_and_name(el, i + 1, "skill group", SKILL_GROUPS)?;
        out.push(UcceSkillGroup { id, name });
    }
    Ok((info, out))
}

/// Decodes an `<apiErrors>` body; `None` when the body is not one.
pub fn decode_api_errors(body: &[u8]) -> Option<Vec<ApiError>> {
    let root = parse_document(body, "UCCE apiErrors", &XmlLimits::tree()).ok()?;
    api_errors_from(&root)
}

fn api_errors_from(root: &Element) -> Option<Vec<ApiError>> {
    let holder = if root.name == "apiErrors" {
        root
    } else {
        root.child("apiErrors")?
    };
    let errors = holder
        .children_named("apiError")
        .map(|e| {
            let detail = e.child("errorDetail");
            ApiError {
                error_type: e.child_text("errorType"),
                error_message: e.child_text("errorMessage"),
                error_data: e.child_text("errorData"),
                min: detail.and_then(|d| d.child_text("min")),
                max: detail.and_then(|d| d.child_text("max")),
            }
        })
        .collect();
    Some(errors)
}

/// Splits a page into its page info and its items. Accepts `<results>` with the items under
/// the `list` wrapper or directly under `<results>`, or a single `item` as the root.
fn page_items<'a>(
    root: &'a Element,
    list: &str,
    item: &'a str,
    what: &str,
) -> Result<(PageInfo, Vec<&'a Element>), SourceError> {
    if let Some(errors) = api_errors_from(root) {
        return Err(SourceError::Api {
            what: what.to_string(),
            status: 200,
            errors: errors.iter().map(ApiError::to_source).collect(),
        });
    }
    if root.name == item {
        return Ok((PageInfo::default(), vec![root]));
    }
    if root.name != "results" && root.name != list {
        return Err(SourceError::malformed(
            what,
            format!("expected root <results>, got <{}>", root.name),
        ));
    }
    let info = match root.child("pageInfo") {
        Some(p) => page_info(p, what)?,
        None => PageInfo::default(),
    };
    let holder = root.child(list).unwrap_or(root);
    Ok((info, holder.children_named(item).collect()))
}

fn page_info(p: &Element, what: &str) -> Result<PageInfo, SourceError> {
    Ok(PageInfo {
        results_per_page: number(p, "resultsPerPage", what, "pageInfo")?,
        start_index: number(p, "startIndex", what, "pageInfo")?,
        total_results: number(p, "totalResults", what, "pageInfo")?,
        next_page: p.child_text("nextPage"),
    })
}

fn number(el: &Element, name: &str, what: &str, owner: &str) -> Result<Option<u64>, SourceError> {
    let Some(text) = el.child_text(name) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(SourceError::malformed(
            what,
            format!(
                "{owner} has {name} {:?}, expected a whole number",
                clip(&text)
            ),
        )),
    }
}

fn boolean(el: &Element, name: &str, owner: &str) -> Result<Option<bool>, SourceError> {
    let Some(text) = el.child_text(name) else {
        return Ok(None);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(SourceError::malformed(
            AGENTS,
            format!(
                "{owner} has {name} {:?}, expected true or false",
                clip(&text)
            ),
        )),
    }
}

fn agent_from(el: &Element, pos: usize) -> Result<UcceAgent, SourceError> {
    let Some(agent_id) = el.child_text("agentId") else {
        return Err(SourceError::malformed(
            AGENTS,
            format!("agent #{pos} on this page has no agentId"),
        ));
    };
    let owner = format!("agent {agent_id}");
    // Full shape: person/…; summary shape: the same elements directly under agent.
    let person = el.child("person");
    let pick = |name: &str| {
        person
            .and_then(|p| p.child_text(name))
            .or_else(|| el.child_text(name))
    };
    let Some(user_name) = pick("userName") else {
        return Err(SourceError::malformed(
            AGENTS,
            format!("agent {agent_id} (#{pos} on this page) has no userName"),
        ));
    };
    let flag = |name: &str| -> Result<Option<bool>, SourceError> {
        match person
            .map(|p| boolean(p, name, &owner))
            .transpose()?
            .flatten()
        {
            Some(v) => Ok(Some(v)),
            None => boolean(el, name, &owner),
        }
    };
    Ok(UcceAgent {
        ref_url: el.child_text("refURL"),
        change_stamp: number(el, "changeStamp", AGENTS, &owner)?,
        first_name: pick("firstName"),
        last_name: pick("lastName"),
        login_enabled: flag("loginEnabled")?,
        sso_enabled: flag("ssoEnabled")?,
        team: el.child("agentTeam").and_then(reference),
        skill_groups: refs(el.child("skillGroups"), "skillGroup"),
        default_skill_group: el.child("defaultSkillGroup").and_then(reference),
        supervisor: boolean(el, "supervisor", &owner)?.unwrap_or(false),
        supervisor_teams: refs(el.child("supervisorTeams"), "supervisorTeam"),
        department: el.child("department").and_then(label),
        description: el.child_text("description"),
        peripheral: el.child("peripheral").and_then(label),
        user_name,
        agent_id,
    })
}

fn team_from(el: &Element, pos: usize) -> Result<UcceTeam, SourceError> {
    let (id, name) = id_and_name(el, pos, "agent team", TEAMS)?;
    let owner = format!("agent team {id}");
    let mut supervisor_user_names = Vec::new();
    if let Some(list) = el.child("supervisors") {
        for s in list.children_named("supervisor") {
            let person = s.child("person");
            let user = person
                .and_then(|p| p.child_text("userName"))
                .or_else(|| s.child_text("userName"));
            supervisor_user_names.extend(user);
        }
    }
    Ok(UcceTeam {
        agent_count: number(el, "agentCount", TEAMS, &owner)?,
        supervisor_user_names,
        id,
        name,
    })
}

/// The id (from `refURL`, else an `id` element) and the name of a listed object.
fn id_and_name(
    el: &Element,
    pos: usize,
    kind: &str,
    what: &str,
) -> Result<(String, String), SourceError> {
    let id = el
        .child_text("refURL")
        .as_deref()
        .and_then(last_segment)
        .or_else(|| el.child_text("id"));
    let Some(id) = id else {
        return Err(SourceError::malformed(
            what,
            format!("{kind} #{pos} on this page has neither a refURL nor an id"),
        ));
    };
    let Some(name) = el.child_text("name") else {
        return Err(SourceError::malformed(
            what,
            format!("{kind} {id} (#{pos} on this page) has no name"),
        ));
    };
    Ok((id, name))
}

fn refs(list: Option<&Element>, item: &str) -> Vec<UcceRef> {
    let Some(list) = list else {
        return Vec::new();
    };
    list.children_named(item).filter_map(reference).collect()
}

/// `{refURL, name}` → a reference; an element with neither is no reference.
fn reference(el: &Element) -> Option<UcceRef> {
    let ref_url = el.child_text("refURL");
    let name = el.child_text("name");
    let id = ref_url
        .as_deref()
        .and_then(last_segment)
        .or_else(|| el.child_text("id"));
    if name.is_none() && id.is_none() {
        return None;
    }
    Some(UcceRef {
        id,
        name: name.unwrap_or_default(),
        ref_url,
    })
}

/// Plain text, or the `name` (else the id) of a reference.
fn label(el: &Element) -> Option<String> {
    if el.children.is_empty() {
        return el.trimmed_text();
    }
    let r = reference(el)?;
    if r.name.is_empty() {
        r.id
    } else {
        Some(r.name)
    }
}

/// The last non-empty path segment of a URL, without query or fragment, percent-decoded.
pub(crate) fn last_segment(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let seg = path.trim_end_matches('/').rsplit('/').next()?;
    if seg.is_empty() || seg.contains(':') {
        return None;
    }
    Some(percent_decode(seg))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

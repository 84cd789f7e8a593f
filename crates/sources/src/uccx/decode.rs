//! Decoders for UCCX Admin REST bodies (XML and JSON), tolerant of element order, whitespace,
//! unknown elements, empty elements, single-vs-list, and the real `secondrySupervisor` spelling.
//! JSON is first turned into the same element tree as XML so that one set of rules decodes both.
//!
//! The XML lists are decoded while streaming: one `<resource>` (or `<team>`) at a time is built as
//! a small tree and turned into its record, so a 28 MB list of 24,000 agents is never held as a
//! tree of the whole document.

use crate::error::SourceError;
use crate::xml::{parse_document, Element, XmlLimits, XmlNode, XmlStream};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

const RESOURCES: &str = "UCCX /adminapi/resource";
const TEAMS: &str = "UCCX /adminapi/team";

/// One UCCX resource (agent or supervisor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UccxResource {
    /// `userID`: the login, never empty.
    pub user_id: String,
    /// `firstName` (`None` when absent or empty).
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `extension`.
    pub extension: Option<String>,
    /// `alias`.
    pub alias: Option<String>,
    /// `type`: 1 agent, 2 supervisor.
    pub resource_type: Option<u8>,
    /// `autoAvailable`.
    pub auto_available: Option<bool>,
    /// `skillMap/skillCompetency` entries.
    pub skills: Vec<UccxSkill>,
    /// The team the resource belongs to (`team`).
    pub team: Option<TeamRef>,
    /// Teams this resource is primary supervisor of.
    pub primary_supervisor_of: Vec<TeamRef>,
    /// Teams this resource is secondary supervisor of.
    pub secondary_supervisor_of: Vec<TeamRef>,
    /// `resourceGroup@name`.
    pub resource_group: Option<String>,
}

/// One skill with its competence level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UccxSkill {
    /// `skillNameUriPair@name`.
    pub name: String,
    /// `competencelevel`, 1–255 (UCCX uses 1–10).
    pub competence: u8,
    /// `skillNameUriPair/refURL`.
    pub ref_url: Option<String>,
}

/// A reference to a team by name and URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    /// The `name` attribute.
    pub name: String,
    /// The last path segment of `refURL` (the `teamId`).
    pub team_id: Option<String>,
    /// The `refURL`.
    pub ref_url: Option<String>,
}

/// One UCCX team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UccxTeam {
    /// `teamId`, never empty.
    pub team_id: String,
    /// `teamname`.
    pub name: String,
    /// `primarySupervisor`.
    pub primary_supervisor: Option<PersonRef>,
    /// `secondarySupervisors/secondrySupervisor`.
    pub secondary_supervisors: Vec<PersonRef>,
}

/// A reference to a resource by display name and URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    /// The `name` attribute (display name).
    pub name: String,
    /// The last path segment of `refURL` (the `userID`).
    pub user_id: Option<String>,
}

/// One entry of an `apiErrors` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// `errorType`, e.g. `InvalidInput`.
    pub error_type: Option<String>,
    /// `errorMessage`.
    pub error_message: Option<String>,
    /// `errorData`.
    pub error_data: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.error_type.as_deref().unwrap_or("error"),
            self.error_message.as_deref().unwrap_or("(no message)")
        )?;
        if let Some(d) = &self.error_data {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// Decodes `GET /adminapi/resource` XML: root `<resources>`, or a single `<resource>`.
pub fn decode_resources_xml(body: &[u8]) -> Result<Vec<UccxResource>, SourceError> {
    stream_list(body, &RESOURCE_LIST, resource_from, resources_from_root)
}

/// Decodes `GET /adminapi/team` XML: root `<teams>`, or a single `<team>`.
pub fn decode_teams_xml(body: &[u8]) -> Result<Vec<UccxTeam>, SourceError> {
    stream_list(body, &TEAM_LIST, team_from, teams_from_root)
}

/// Decodes the JSON form of `GET /adminapi/resource` (`{"resource":[…]}`, a bare array, or one
/// resource object).
pub fn decode_resources_json(body: &[u8]) -> Result<Vec<UccxResource>, SourceError> {
    let root = json_root(body, "resource", RESOURCES)?;
    resources_from_root(&root, RESOURCES)
}

/// Decodes the JSON form of `GET /adminapi/team`.
pub fn decode_teams_json(body: &[u8]) -> Result<Vec<UccxTeam>, SourceError> {
    let root = json_root(body, "team", TEAMS)?;
    teams_from_root(&root, TEAMS)
}

/// Decodes an `apiErrors` body (XML `<apiErrors>` or JSON `{"apiError":[…]}`); `None` when the
/// body is not one.
pub fn decode_api_errors(body: &[u8]) -> Option<Vec<ApiError>> {
    let trimmed = body.iter().find(|b| !b.is_ascii_whitespace())?;
    let root = if *trimmed == b'<' {
        parse_document(body, "apiErrors", &XmlLimits::tree()).ok()?
    } else {
        json_root(body, "apiError", "apiErrors").ok()?
    };
    api_errors_from(&root)
}

fn api_errors_from(root: &Element) -> Option<Vec<ApiError>> {
    let holder = if root.name == "apiErrors" {
        root
    } else if let Some(inner) = root.child("apiErrors") {
        inner
    } else if root.name.is_empty() && root.child("apiError").is_some() {
        root
    } else {
        return None;
    };
    let errors: Vec<ApiError> = holder
        .children_named("apiError")
        .map(|e| ApiError {
            error_type: e.child_text("errorType"),
            error_message: e.child_text("errorMessage"),
            error_data: e.child_text("errorData"),
        })
        .collect();
    Some(errors)
}

/// The tree decoders the streaming ones replaced, kept for tests that compare both.
#[cfg(test)]
pub(super) fn decode_resources_xml_tree(body: &[u8]) -> Result<Vec<UccxResource>, SourceError> {
    let root = parse_document(body, RESOURCES, &XmlLimits::default())?;
    resources_from_root(&root, RESOURCES)
}

#[cfg(test)]
pub(super) fn decode_teams_xml_tree(body: &[u8]) -> Result<Vec<UccxTeam>, SourceError> {
    let root = parse_document(body, TEAMS, &XmlLimits::default())?;
    teams_from_root(&root, TEAMS)
}

/// The shape of one XML list body.
struct ListShape {
    /// Endpoint named in errors.
    what: &'static str,
    /// Wrapper element (`resources`).
    list: &'static str,
    /// Item element (`resource`).
    item: &'static str,
}

const RESOURCE_LIST: ListShape = ListShape {
    what: RESOURCES,
    list: "resources",
    item: "resource",
};

const TEAM_LIST: ListShape = ListShape {
    what: TEAMS,
    list: "teams",
    item: "team",
};

/// Decodes an XML list body while reading it: each `<item>` child of the `<list>` root is built as
/// a small tree and decoded (`decode(item, 1-based position, what)`) before the next one is read.
/// Any other root (a single item, an `apiErrors` body) is small and goes through the tree and
/// `from_root`, which is also what the JSON form uses. The outcome is that of the tree decoder
/// over the whole document: a document error wins, then an `<apiErrors>` child of the root, then
/// a wrong root name, then the first item that does not decode.
fn stream_list<T>(
    body: &[u8],
    shape: &ListShape,
    decode: fn(&Element, usize, &str) -> Result<T, SourceError>,
    from_root: fn(&Element, &str) -> Result<Vec<T>, SourceError>,
) -> Result<Vec<T>, SourceError> {
    let what = shape.what;
    let mut xml = XmlStream::new(body, what, &XmlLimits::default())?;
    let root = xml.root()?;
    let is_list = root.name == shape.list;
    if !is_list && (root.name == shape.item || root.name == "apiErrors" || root.name.is_empty()) {
        xml.limit_nodes(XmlLimits::TREE_MAX_NODES);
        let root = xml.read_element(root)?;
        xml.finish()?;
        return from_root(&root, what);
    }
    let mut out = Vec::new();
    let mut api_errors: Option<Element> = None;
    let mut failed: Option<SourceError> = None;
    let mut pos = 0usize;
    while let Some(node) = xml.next_node()? {
        // Only the root's children matter here; deeper nodes belong to skipped elements.
        let XmlNode::Open(el) = node else { continue };
        if xml.depth() != 2 {
            continue;
        }
        if is_list && el.name == shape.item {
            pos += 1;
            let el = xml.read_element(el)?;
            if failed.is_none() {
                match decode(&el, pos, what) {
                    Ok(record) => out.push(record),
                    Err(e) => {
                        failed = Some(e);
                        out = Vec::new();
                    }
                }
            }
        } else if el.name == "apiErrors" && api_errors.is_none() {
            api_errors = Some(xml.read_element(el)?);
        }
    }
    if let Some(errors) = api_errors.as_ref().and_then(api_errors_from) {
        return Err(SourceError::Api {
            what: what.to_string(),
            status: 200,
            errors,
        });
    }
    if !is_list {
        return Err(SourceError::malformed(
            what,
            format!(
                "expected root <{}> or <{}>, got <{}>",
                shape.list, shape.item, root.name
            ),
        ));
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Pulls the list items out of a root element; `list` is the XML wrapper name (`resources`),
/// `item` the item name (`resource`), `marker` a child that only a single item has (`userID`).
fn items<'a>(
    root: &'a Element,
    list: &str,
    item: &'a str,
    marker: &str,
    what: &str,
) -> Result<Vec<&'a Element>, SourceError> {
    if let Some(errors) = api_errors_from(root) {
        return Err(SourceError::Api {
            what: what.to_string(),
            status: 200,
            errors,
        });
    }
    if root.name == item || (root.name.is_empty() && root.child(marker).is_some()) {
        return Ok(vec![root]);
    }
    let holder = if root.name.is_empty() {
        root.child(list).unwrap_or(root)
    } else if root.name == list {
        root
    } else {
        return Err(SourceError::malformed(
            what,
            format!("expected root <{list}> or <{item}>, got <{}>", root.name),
        ));
    };
    Ok(holder.children_named(item).collect())
}

fn resources_from_root(root: &Element, what: &str) -> Result<Vec<UccxResource>, SourceError> {
    let list = items(root, "resources", "resource", "userID", what)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, el) in list.into_iter().enumerate() {
        out.push(resource_from(el, i + 1, what)?);
    }
    Ok(out)
}

fn teams_from_root(root: &Element, what: &str) -> Result<Vec<UccxTeam>, SourceError> {
    let list = items(root, "teams", "team", "teamId", what)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, el) in list.into_iter().enumerate() {
        out.push(team_from(el, i + 1, what)?);
    }
    Ok(out)
}

fn resource_from(el: &Element, pos: usize, what: &str) -> Result<UccxResource, SourceError> {
    let Some(user_id) = el.child_text("userID") else {
        return Err(SourceError::malformed(
            what,
            format!("resource #{pos} has no userID"),
        ));
    };
    let resource_type = match el.child_text("type") {
        None => None,
        Some(t) => match t.parse::<u8>() {
            Ok(v) => Some(v),
            Err(_) => {
                return Err(SourceError::malformed(
                    what,
                    format!("resource {user_id} has type {t:?}, expected 1 or 2"),
                ))
            }
        },
    };
    let auto_available = match el.child_text("autoAvailable") {
        None => None,
        Some(t) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                return Err(SourceError::malformed(
                    what,
                    format!("resource {user_id} has autoAvailable {t:?}, expected true or false"),
                ))
            }
        },
    };
    let mut skills = Vec::new();
    if let Some(map) = el.child("skillMap") {
        for sc in map.children_named("skillCompetency") {
            skills.push(skill_from(sc, &user_id, what)?);
        }
    }
    Ok(UccxResource {
        first_name: el.child_text("firstName"),
        last_name: el.child_text("lastName"),
        extension: el.child_text("extension"),
        alias: el.child_text("alias"),
        resource_type,
        auto_available,
        skills,
        team: el.child("team").and_then(team_ref),
        primary_supervisor_of: supervisor_of(el.child("primarySupervisorOf")),
        secondary_supervisor_of: supervisor_of(el.child("secondarySupervisorOf")),
        resource_group: el
            .child("resourceGroup")
            .and_then(|g| non_empty(g.attr("name"))),
        user_id,
    })
}

fn skill_from(sc: &Element, user_id: &str, what: &str) -> Result<UccxSkill, SourceError> {
    let pair = sc.child("skillNameUriPair");
    let name = pair.and_then(|p| non_empty(p.attr("name")));
    let Some(name) = name else {
        return Err(SourceError::malformed(
            what,
            format!("resource {user_id} has a skill without a name"),
        ));
    };
    let level = sc.child_text("competencelevel").unwrap_or_default();
    let competence = match level.parse::<u8>() {
        Ok(v) if v >= 1 => v,
        _ => {
            return Err(SourceError::malformed(
                what,
                format!(
                    "resource {user_id} has competencelevel {level:?} for skill {name:?}, expected a number 1-255"
                ),
            ))
        }
    };
    Ok(UccxSkill {
        name,
        competence,
        ref_url: pair.and_then(|p| p.child_text("refURL")),
    })
}

fn team_ref(el: &Element) -> Option<TeamRef> {
    let name = non_empty(el.attr("name"));
    let ref_url = el.child_text("refURL");
    if name.is_none() && ref_url.is_none() {
        return None;
    }
    Some(TeamRef {
        name: name.unwrap_or_default(),
        team_id: ref_url.as_deref().and_then(last_segment),
        ref_url,
    })
}

fn supervisor_of(el: Option<&Element>) -> Vec<TeamRef> {
    let Some(el) = el else {
        return Vec::new();
    };
    el.children_named("supervisorOfTeamName")
        .filter_map(team_ref)
        .collect()
}

fn person_ref(el: &Element) -> Option<PersonRef> {
    let name = non_empty(el.attr("name"));
    let ref_url = el.child_text("refURL");
    if name.is_none() && ref_url.is_none() {
        return None;
    }
    Some(PersonRef {
        name: name.unwrap_or_default(),
        user_id: ref_url.as_deref().and_then(last_segment),
    })
}

fn team_from(el: &Element, pos: usize, what: &str) -> Result<UccxTeam, SourceError> {
    let Some(team_id) = el.child_text("teamId") else {
        return Err(SourceError::malformed(
            what,
            format!("team #{pos} has no teamId"),
        ));
    };
    let Some(name) = el.child_text("teamname") else {
        return Err(SourceError::malformed(
            what,
            format!("team #{pos} (teamId {team_id}) has no teamname"),
        ));
    };
    let mut secondary_supervisors = Vec::new();
    if let Some(list) = el.child("secondarySupervisors") {
        for s in &list.children {
            if s.name == "secondrySupervisor" || s.name == "secondarySupervisor" {
                secondary_supervisors.extend(person_ref(s));
            }
        }
    }
    Ok(UccxTeam {
        team_id,
        name,
        primary_supervisor: el.child("primarySupervisor").and_then(person_ref),
        secondary_supervisors,
    })
}

fn non_empty(v: Option<&str>) -> Option<String> {
    let t = v?.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_string())
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

/// Parses JSON and turns it into an element tree with an anonymous (empty-named) root; a bare
/// array becomes a root whose children are named `item`.
fn json_root(body: &[u8], item: &str, what: &str) -> Result<Element, SourceError> {
    if body.len() > XmlLimits::default().max_bytes {
        return Err(SourceError::TooLarge {
            what: what.to_string(),
            detail: format!("{} bytes", body.len()),
        });
    }
    let containers = json_containers(body);
    if containers > XmlLimits::TREE_MAX_NODES {
        // Counted before parsing: a serde_json value and then a tree cost about 55 bytes per
        // body byte for tiny records (6 MB of `{},` took 336 MB).
        return Err(SourceError::TooLarge {
            what: what.to_string(),
            detail: format!(
                "more than {} JSON objects and arrays (UCCX has at most 400 agents)",
                XmlLimits::TREE_MAX_NODES
            ),
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        SourceError::malformed(
            what,
            format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    match &value {
        Value::Array(list) => {
            let mut root = Element::default();
            for v in list {
                root.children.push(json_element(item, v));
            }
            Ok(root)
        }
        Value::Object(_) => Ok(json_element("", &value)),
        _ => Err(SourceError::malformed(
            what,
            "expected a JSON object or array",
        )),
    }
}

/// The number of objects and arrays in a JSON text (`{` and `[` outside strings), read in one
/// pass without allocating; malformed text is counted as far as it goes (the parser then
/// names the problem).
fn json_containers(body: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// `"@x"` keys become attributes, arrays become repeated children, `{}` an empty element and
/// scalars text. serde_json already bounds nesting (128 levels).
fn json_element(name: &str, v: &Value) -> Element {
    let mut el = Element {
        name: name.to_string(),
        ..Element::default()
    };
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if let Some(attr) = k.strip_prefix('@') {
                    el.attrs.push((attr.to_string(), scalar_text(val)));
                } else if k == "#text" || k == "$" {
                    el.text = scalar_text(val);
                } else if let Value::Array(list) = val {
                    for item in list {
                        el.children.push(json_element(k, item));
                    }
                } else {
                    el.children.push(json_element(k, val));
                }
            }
        }
        Value::Array(list) => {
            for item in list {
                el.children.push(json_element(name, item));
            }
        }
        other => el.text = scalar_text(other),
    }
    el
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_containers_are_counted_outside_strings_only() {
        assert_eq!(json_containers(br#"{"a":[1,{"b":"[{"}],"c":"\"{"}"#), 3);
        assert_eq!(json_containers(b"[]"), 1);
        assert_eq!(json_containers(b"\"unterminated {"), 0);
        let many = format!("[{}{{}}]", "{},".repeat(XmlLimits::TREE_MAX_NODES));
        let err = json_root(many.as_bytes(), "item", "resources")
            .unwrap_err()
            .to_string();
        assert!(err.contains("JSON objects and arrays"), "{err}");
    }

    #[test]
    fn last_segment_takes_the_id_from_a_ref_url() {
        assert_eq!(
            last_segment("https://uccx/adminapi/team/12").as_deref(),
            Some("12")
        );
        assert_eq!(
            last_segment("https://uccx/adminapi/resource/o%27brien/?x=1").as_deref(),
            Some("o'brien")
        );
        assert_eq!(last_segment("%4"), Some("%4".to_string()));
    }
}

//! JSON rendering of UCCX documents: attributes as `"@name"`, empty elements as `{}`,
//! numbers for `competencelevel`/`type`, boolean `autoAvailable`, string `extension`.

use serde_json::{json, Map, Value};

use crate::dataset::{ContactCentre, Resource, Team};
use crate::faults::ApiErrorSpec;

/// A list: an array, or a single object when it has one item and `single_as_object`.
fn list(mut items: Vec<Value>, single_as_object: bool) -> Value {
    if single_as_object && items.len() == 1 {
        items.remove(0)
    } else {
        Value::Array(items)
    }
}

fn named_ref(name: &str, url: String) -> Value {
    json!({"@name": name, "refURL": url})
}

/// `{}` when empty, else `{item: list}`.
fn wrapper(item: &str, items: Vec<Value>, single: bool) -> Value {
    if items.is_empty() {
        return json!({});
    }
    let mut m = Map::new();
    m.insert(item.to_string(), list(items, single));
    Value::Object(m)
}

fn team_refs(base: &str, teams: &[(u32, String)]) -> Vec<Value> {
    teams
        .iter()
        .map(|(id, n)| named_ref(n, format!("{base}/adminapi/team/{id}")))
        .collect()
}

/// One resource object.
pub fn resource(base: &str, r: &Resource, single: bool) -> Value {
    let mut m = Map::new();
    m.insert(
        "self".into(),
        json!(format!("{base}/adminapi/resource/{}", r.user_id)),
    );
    m.insert("userID".into(), json!(r.user_id));
    m.insert("firstName".into(), json!(r.first_name));
    m.insert("lastName".into(), json!(r.last_name));
    m.insert("extension".into(), json!(r.extension));
    if let Some(alias) = &r.alias {
        m.insert("alias".into(), json!(alias));
    }
    if let Some((id, name)) = &r.resource_group {
        m.insert(
            "resourceGroup".into(),
            named_ref(name, format!("{base}/adminapi/resourceGroup/{id}")),
        );
    }
    let skills: Vec<Value> = r
        .skills
        .iter()
        .map(|(name, level, id)| {
            json!({
                "competencelevel": level,
                "skillNameUriPair": named_ref(name, format!("{base}/adminapi/skill/{id}")),
            })
        })
        .collect();
    m.insert(
        "skillMap".into(),
        wrapper("skillCompetency", skills, single),
    );
    m.insert("autoAvailable".into(), json!(r.auto_available));
    m.insert("type".into(), json!(r.kind));
    if let Some((id, name)) = &r.team {
        m.insert(
            "team".into(),
            named_ref(name, format!("{base}/adminapi/team/{id}")),
        );
    }
    let primary = team_refs(base, &r.primary_supervisor_of);
    m.insert(
        "primarySupervisorOf".into(),
        wrapper("supervisorOfTeamName", primary, single),
    );
    let secondary = team_refs(base, &r.secondary_supervisor_of);
    m.insert(
        "secondarySupervisorOf".into(),
        wrapper("supervisorOfTeamName", secondary, single),
    );
    Value::Object(m)
}

fn top_list(
    item: &str,
    type_name: &str,
    items: Vec<Value>,
    single: bool,
    with_type: bool,
) -> String {
    let mut m = Map::new();
    if with_type {
        m.insert("@type".into(), json!(type_name));
    }
    if !items.is_empty() {
        m.insert(item.into(), list(items, single));
    }
    Value::Object(m).to_string()
}

/// `GET /adminapi/resource` in JSON.
pub fn resource_list(base: &str, list: &[&Resource], single: bool, with_type: bool) -> String {
    let items = list.iter().map(|r| resource(base, r, single)).collect();
    top_list("resource", "resourceXMLList", items, single, with_type)
}

/// Supervisor display names by user id ([`ContactCentre::supervisor_names`]).
type Names<'a> = std::collections::HashMap<&'a str, String>;

fn supervisor_ref(base: &str, names: &Names<'_>, user_id: &str) -> Value {
    let name = names
        .get(user_id)
        .cloned()
        .unwrap_or_else(|| user_id.to_string());
    named_ref(&name, format!("{base}/adminapi/resource/{user_id}"))
}

/// One team object (`detail` adds `resources` and `csqs`, as the single-team endpoint does).
pub fn team(base: &str, cc: &ContactCentre, t: &Team, detail: bool, single: bool) -> Value {
    team_with(base, cc, &cc.supervisor_names(), t, detail, single)
}

fn team_with(
    base: &str,
    cc: &ContactCentre,
    names: &Names<'_>,
    t: &Team,
    detail: bool,
    single: bool,
) -> Value {
    let mut m = Map::new();
    m.insert(
        "self".into(),
        json!(format!("{base}/adminapi/team/{}", t.team_id)),
    );
    m.insert("teamId".into(), json!(t.team_id.to_string()));
    m.insert("teamname".into(), json!(t.name));
    if let Some(p) = &t.primary_supervisor {
        m.insert("primarySupervisor".into(), supervisor_ref(base, names, p));
    }
    let secondary = t
        .secondary_supervisors
        .iter()
        .map(|s| supervisor_ref(base, names, s))
        .collect();
    m.insert(
        "secondarySupervisors".into(),
        wrapper("secondrySupervisor", secondary, single),
    );
    if detail {
        let members = cc
            .team_members(t.team_id)
            .map(|r| {
                named_ref(
                    &r.display_name(),
                    format!("{base}/adminapi/resource/{}", r.user_id),
                )
            })
            .collect();
        m.insert("resources".into(), wrapper("resource", members, single));
        m.insert("csqs".into(), json!({}));
    }
    Value::Object(m)
}

/// `GET /adminapi/team` in JSON.
pub fn team_list(
    base: &str,
    cc: &ContactCentre,
    list: &[&Team],
    single: bool,
    with_type: bool,
) -> String {
    let names = cc.supervisor_names();
    let items = list
        .iter()
        .map(|t| team_with(base, cc, &names, t, false, single))
        .collect();
    top_list("team", "teamXMLList", items, single, with_type)
}

/// `{"apiError":[{…}]}`.
pub fn api_errors(errors: &[ApiErrorSpec]) -> String {
    let items: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({"errorData": e.error_data, "errorMessage": e.error_message, "errorType": e.error_type})
        })
        .collect();
    json!({ "apiError": items }).to_string()
}

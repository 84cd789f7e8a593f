//! The UCCE view of the shared data set: resources as agents, teams as agent teams, skills as
//! skill groups, rendered into a [`W`].

use std::collections::{BTreeMap, HashMap};

use super::ids::{
    hash_of, mix, resource_hash, AgentIndex, Stamps, KIND_AGENT, KIND_SKILL, KIND_TEAM,
};
use super::xml::W;
use crate::dataset::{ContactCentre, Resource, Team};

/// Collection paths (relative `refURL`s are `{path}/{id}`).
pub(crate) const AGENT_PATH: &str = "/unifiedconfig/config/agent";
/// See [`AGENT_PATH`].
pub(crate) const TEAM_PATH: &str = "/unifiedconfig/config/agentteam";
/// See [`AGENT_PATH`].
pub(crate) const SKILL_PATH: &str = "/unifiedconfig/config/skillgroup";
const DEPARTMENT_PATH: &str = "/unifiedconfig/config/department";
const MEDIA_PATH: &str = "/unifiedconfig/config/mediaroutingdomain";

/// The one peripheral (agent PG) every object belongs to.
const PERIPHERAL_ID: u32 = 5000;
const PERIPHERAL_NAME: &str = "CUCM_PG_1";

/// What one render needs.
pub(crate) struct Ctx<'a> {
    pub cc: &'a ContactCentre,
    pub idx: &'a AgentIndex,
    pub stamps: &'a mut Stamps,
    /// Seed of the "randomly" absent optional elements.
    pub seed: u64,
}

fn peripheral(w: &mut W) {
    w.open("peripheral");
    w.num("id", PERIPHERAL_ID);
    w.leaf("name", PERIPHERAL_NAME);
    w.close("peripheral");
}

/// The department of a resource: the first word of its team name ("Sales 01" → "Sales").
fn department(r: &Resource) -> Option<(u32, &str)> {
    let (_, team) = r.team.as_ref()?;
    let name = team.split(' ').next().filter(|n| !n.is_empty())?;
    Some((5000 + (hash_of(&name) % 1000) as u32, name))
}

/// Which optional elements an agent lacks: (department, description, defaultSkillGroup).
fn absent(seed: u64, id: u32) -> (bool, bool, bool) {
    let h = mix(seed, id);
    (
        h.is_multiple_of(5),
        (h >> 8).is_multiple_of(4),
        (h >> 16).is_multiple_of(4),
    )
}

fn description(r: &Resource) -> String {
    let role = if r.kind == 2 { "Supervisor" } else { "Agent" };
    format!("{role} {}", r.display_name())
}

/// One `<agent>`: full, or `xsi:type="agentSummary"` with the names directly inside.
pub(crate) fn agent(w: &mut W, cx: &mut Ctx<'_>, pos: usize, summary: bool) {
    let Some(r) = cx.cc.resources.get(pos) else {
        return;
    };
    let id = cx.idx.id_at(pos);
    let stamp = cx.stamps.stamp(KIND_AGENT, id, resource_hash(r));
    let supervisor =
        r.kind == 2 || !r.primary_supervisor_of.is_empty() || !r.secondary_supervisor_of.is_empty();
    if summary {
        w.open_typed("agent", "agentSummary");
    } else {
        w.open("agent");
    }
    w.open("refURL");
    w.out.push_str(AGENT_PATH);
    w.out.push('/');
    w.out.push_str(&id.to_string());
    w.close("refURL");
    w.num("changeStamp", stamp);
    w.num("agentId", id);
    if summary {
        w.leaf("firstName", &r.first_name);
        w.leaf("lastName", &r.last_name);
        w.leaf("userName", &r.user_id);
        if let Some((team_id, name)) = &r.team {
            w.named_ref("agentTeam", TEAM_PATH, *team_id, name);
        }
        w.bool("supervisor", supervisor);
        w.close("agent");
        return;
    }
    let (no_department, no_description, no_default_skill) = absent(cx.seed, id);
    w.open("person");
    w.leaf("firstName", &r.first_name);
    w.leaf("lastName", &r.last_name);
    w.leaf("userName", &r.user_id);
    w.bool("loginEnabled", true);
    w.bool("ssoEnabled", false);
    w.close("person");
    if let Some((team_id, name)) = &r.team {
        w.named_ref("agentTeam", TEAM_PATH, *team_id, name);
    }
    if r.skills.is_empty() {
        w.empty("skillGroups");
    } else {
        w.open("skillGroups");
        for (name, _, skill_id) in &r.skills {
            w.named_ref("skillGroup", SKILL_PATH, *skill_id, name);
        }
        w.close("skillGroups");
    }
    if let Some((name, _, skill_id)) = r.skills.first().filter(|_| !no_default_skill) {
        w.named_ref("defaultSkillGroup", SKILL_PATH, *skill_id, name);
    }
    w.bool("supervisor", supervisor);
    let supervised: Vec<&(u32, String)> = r
        .primary_supervisor_of
        .iter()
        .chain(&r.secondary_supervisor_of)
        .collect();
    if supervised.is_empty() {
        w.empty("supervisorTeams");
    } else {
        w.open("supervisorTeams");
        for (team_id, name) in supervised {
            w.named_ref("supervisorTeam", TEAM_PATH, *team_id, name);
        }
        w.close("supervisorTeams");
    }
    if let Some((dept_id, name)) = department(r).filter(|_| !no_department) {
        w.named_ref("department", DEPARTMENT_PATH, dept_id, name);
    }
    if !no_description {
        w.leaf("description", &description(r));
    }
    peripheral(w);
    w.close("agent");
}

/// Members (positions, by agentId) of the given teams: one pass over the resources.
pub(crate) fn members_of(cx: &Ctx<'_>, teams: &[&Team]) -> HashMap<u32, Vec<usize>> {
    let mut map: HashMap<u32, Vec<usize>> = teams.iter().map(|t| (t.team_id, Vec::new())).collect();
    for &pos in cx.idx.order() {
        let Some((team_id, _)) = cx.cc.resources.get(pos).and_then(|r| r.team.as_ref()) else {
            continue;
        };
        if let Some(list) = map.get_mut(team_id) {
            list.push(pos);
        }
    }
    map
}

/// One `<agentTeam>` with its member and supervisor lists.
pub(crate) fn team(w: &mut W, cx: &mut Ctx<'_>, t: &Team, members: &[usize]) {
    let supervisors: Vec<usize> = t
        .primary_supervisor
        .iter()
        .chain(&t.secondary_supervisors)
        .filter_map(|u| cx.idx.position_of_user(u))
        .collect();
    let member_ids: Vec<u32> = members.iter().map(|&p| cx.idx.id_at(p)).collect();
    let content = hash_of(&(
        &t.name,
        &member_ids,
        &t.primary_supervisor,
        &t.secondary_supervisors,
    ));
    let stamp = cx.stamps.stamp(KIND_TEAM, t.team_id, content);
    w.open("agentTeam");
    w.open("refURL");
    w.out.push_str(TEAM_PATH);
    w.out.push('/');
    w.out.push_str(&t.team_id.to_string());
    w.close("refURL");
    w.num("changeStamp", stamp);
    w.leaf("name", &t.name);
    w.leaf("description", &format!("Team {}", t.name));
    peripheral(w);
    w.num("agentCount", members.len());
    if members.is_empty() {
        w.empty("agents");
    } else {
        w.open("agents");
        for &pos in members {
            let Some(r) = cx.cc.resources.get(pos) else {
                continue;
            };
            let id = cx.idx.id_at(pos);
            w.open("agent");
            w.open("refURL");
            w.out.push_str(AGENT_PATH);
            w.out.push('/');
            w.out.push_str(&id.to_string());
            w.close("refURL");
            w.leaf("firstName", &r.first_name);
            w.leaf("lastName", &r.last_name);
            w.leaf("userName", &r.user_id);
            w.num("agentId", id);
            w.close("agent");
        }
        w.close("agents");
    }
    w.num("supervisorCount", supervisors.len());
    if supervisors.is_empty() {
        w.empty("supervisors");
    } else {
        w.open("supervisors");
        for pos in supervisors {
            let Some(r) = cx.cc.resources.get(pos) else {
                continue;
            };
            w.open("supervisor");
            w.open("refURL");
            w.out.push_str(AGENT_PATH);
            w.out.push('/');
            w.out.push_str(&cx.idx.id_at(pos).to_string());
            w.close("refURL");
            w.leaf("userName", &r.user_id);
            w.close("supervisor");
        }
        w.close("supervisors");
    }
    w.close("agentTeam");
}

/// One skill group: id, name and number of agents having it.
#[derive(Clone, Debug, Hash)]
pub(crate) struct SkillGroup {
    pub id: u32,
    pub name: String,
    pub agents: usize,
}

/// Every skill group used by some resource, by id.
pub(crate) fn skill_groups(cc: &ContactCentre) -> Vec<SkillGroup> {
    let mut map: BTreeMap<u32, SkillGroup> = BTreeMap::new();
    for r in &cc.resources {
        for (name, _, id) in &r.skills {
            map.entry(*id)
                .or_insert_with(|| SkillGroup {
                    id: *id,
                    name: name.clone(),
                    agents: 0,
                })
                .agents += 1;
        }
    }
    map.into_values().collect()
}

/// One `<skillGroup>`.
pub(crate) fn skill_group(w: &mut W, cx: &mut Ctx<'_>, s: &SkillGroup) {
    let stamp = cx.stamps.stamp(KIND_SKILL, s.id, hash_of(s));
    w.open("skillGroup");
    w.open("refURL");
    w.out.push_str(SKILL_PATH);
    w.out.push('/');
    w.out.push_str(&s.id.to_string());
    w.close("refURL");
    w.num("changeStamp", stamp);
    w.leaf("name", &s.name);
    w.num("peripheralNumber", s.id);
    w.leaf("description", &format!("Skill group {}", s.name));
    w.named_ref("media", MEDIA_PATH, 1, "Cisco_Voice");
    peripheral(w);
    w.num("agentCount", s.agents);
    w.close("skillGroup");
}

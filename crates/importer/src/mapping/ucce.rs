//! UCCE/PCCE ConfigAPI agents, agent teams and skill groups → a directory snapshot (DESIGN §3).
//!
//! Pure: no I/O. Users are keyed on `agentId` (the immutable peripheral number), so a login
//! rename never makes a second user. Membership comes from each agent's own `agentTeam`, not
//! from the team list. UCCE skill groups have no competence level: every skill is mapped with
//! competence 1 ([`UCCE_SKILL_COMPETENCE`]).

use super::uccx::{Mapped, MappingError, MappingOptions};
use super::{ext, group, set};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use wfm_model::directory::{ATTR_AGENT_ID, ATTR_PRIMARY_SUPERVISOR_OF, ATTR_RESOURCE_TYPE};
use wfm_model::{
    Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, ExternalId, SourceId, SourceRole,
};
use wfm_sources::ucce::{UcceAgent, UcceRef, UcceSkillGroup, UcceTeam};

/// Competence given to every UCCE skill: skill groups carry no level, membership is all there is.
pub const UCCE_SKILL_COMPETENCE: u8 = 1;
/// Attribute key holding the agent's department.
pub const ATTR_DEPARTMENT: &str = "department";
/// Attribute key holding the agent's description.
pub const ATTR_DESCRIPTION: &str = "description";
/// Attribute key holding `person/loginEnabled` (`true`/`false`).
pub const ATTR_LOGIN_ENABLED: &str = "loginEnabled";
/// Attribute key holding the agent's peripheral (PG) name.
pub const ATTR_PERIPHERAL: &str = "peripheral";

/// Values that occur more than once, sorted.
fn repeated<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *seen.entry(v).or_default() += 1;
    }
    let mut dups: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(v, _)| v.to_string())
        .collect();
    dups.sort();
    dups
}

/// Team lookups: by id, and by name for references that carry no `refURL`.
struct Teams<'a> {
    by_id: HashMap<&'a str, &'a UcceTeam>,
    by_name: HashMap<&'a str, &'a UcceTeam>,
}

impl Teams<'_> {
    /// `(id, name)` of a team reference; the listed name wins over the reference's (renames).
    fn resolve(&self, r: &UcceRef) -> Option<(String, String)> {
        match r.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let name = self.by_id.get(id).map_or(r.name.as_str(), |t| &t.name);
                Some((id.to_string(), name.to_string()))
            }
            None => self
                .by_name
                .get(r.name.as_str())
                .map(|t| (t.id.clone(), t.name.clone())),
        }
    }
}

/// Builds the snapshot. Agents whose team is outside `imported_groups` (team name or id; when
/// set) are left out, so the sync treats them as absent; agents without a team are only kept
/// when no filter is set.
pub fn map_ucce(
    source: &SourceId,
    agents: &[UcceAgent],
    teams: &[UcceTeam],
    skill_groups: &[UcceSkillGroup],
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let dup_ids = repeated(agents.iter().map(|a| a.agent_id.as_str()));
    if !dup_ids.is_empty() {
        return Err(MappingError::InvalidId(format!(
            "UCCE returned agentId(s) {} more than once; each agent must appear once (fix the duplicate agent(s) in UCCE before syncing)",
            dup_ids.join(", ")
        )));
    }
    let dup_names = repeated(agents.iter().map(|a| a.user_name.as_str()));
    if !dup_names.is_empty() {
        return Err(MappingError::InvalidId(format!(
            "UCCE returned userName(s) {} for more than one agentId; usernames must be unique (fix the duplicate agent(s) in UCCE before syncing)",
            dup_names.join(", ")
        )));
    }

    let mut warnings = Vec::new();
    let filter: BTreeSet<&str> = options.imported_groups.iter().map(String::as_str).collect();
    let wanted =
        |id: &str, name: &str| filter.is_empty() || filter.contains(id) || filter.contains(name);
    let lookup = Teams {
        by_id: teams.iter().map(|t| (t.id.as_str(), t)).collect(),
        by_name: teams.iter().map(|t| (t.name.as_str(), t)).collect(),
    };
    let skill_names: HashMap<&str, &str> = skill_groups
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();

    let mut groups: BTreeMap<String, DirectoryGroup> = BTreeMap::new();
    for team in teams {
        if wanted(&team.id, &team.name) {
            groups.insert(
                team.id.clone(),
                group(&team.id, &team.name, "agent team id")?,
            );
        }
    }
    for name in &filter {
        if !lookup.by_id.contains_key(name) && !lookup.by_name.contains_key(name) {
            warnings.push(format!(
                "ucce.imported_groups lists '{name}', which is not a UCCE agent team name or id"
            ));
        }
    }

    let mut users = Vec::with_capacity(agents.len());
    for agent in agents {
        let team = agent.team.as_ref().and_then(|t| {
            let key = lookup.resolve(t);
            if key.is_none() {
                warnings.push(format!(
                    "agent {} ('{}') references agent team '{}' without an id that UCCE lists; the membership is skipped",
                    agent.agent_id, agent.user_name, t.name
                ));
            }
            key
        });
        let in_scope = match &team {
            Some((id, name)) => wanted(id, name),
            None => filter.is_empty(),
        };
        if !in_scope {
            continue;
        }
        let mut member_of = BTreeSet::new();
        if let Some((id, name)) = &team {
            if !groups.contains_key(id) {
                warnings.push(format!(
                    "agent team '{name}' (id {id}) is referenced by agent {} but not listed by /unifiedconfig/config/agentteam; created from the reference",
                    agent.agent_id
                ));
                groups.insert(id.clone(), group(id, name, "agent team id")?);
            }
            member_of.insert(ext(id, "agent team id")?);
        }
        users.push(user(agent, member_of, &lookup, &skill_names, options)?);
    }
    Ok(Mapped {
        snapshot: DirectorySnapshot {
            source: source.clone(),
            users,
            groups: groups.into_values().collect(),
        },
        warnings,
    })
}

fn user(
    agent: &UcceAgent,
    groups: BTreeSet<ExternalId>,
    teams: &Teams<'_>,
    skill_names: &HashMap<&str, &str>,
    options: &MappingOptions,
) -> Result<DirectoryUser, MappingError> {
    let mut attributes = Attributes::new();
    set(&mut attributes, ATTR_AGENT_ID, Some(agent.agent_id.clone()));
    let kind = if agent.supervisor {
        SourceRole::Supervisor
    } else {
        SourceRole::Agent
    };
    set(
        &mut attributes,
        ATTR_RESOURCE_TYPE,
        Some(kind.key().to_string()),
    );
    set(&mut attributes, ATTR_DEPARTMENT, agent.department.clone());
    set(&mut attributes, ATTR_DESCRIPTION, agent.description.clone());
    set(
        &mut attributes,
        ATTR_LOGIN_ENABLED,
        agent.login_enabled.map(|b| b.to_string()),
    );
    set(&mut attributes, ATTR_PERIPHERAL, agent.peripheral.clone());
    let mut supervised: Vec<String> = agent
        .supervisor_teams
        .iter()
        .filter_map(|t| teams.resolve(t).map(|(id, _)| id))
        .collect();
    supervised.sort();
    supervised.dedup();
    let mut source_roles = vec![kind];
    if !supervised.is_empty() {
        source_roles.push(SourceRole::PrimarySupervisor);
        attributes.insert(ATTR_PRIMARY_SUPERVISOR_OF.to_string(), supervised);
    }
    let roles = source_roles
        .into_iter()
        .filter_map(|role| options.role_equivalents.get(role.key()).cloned())
        .collect();
    let mut skills = BTreeMap::new();
    for sg in &agent.skill_groups {
        // The listed name wins (renames); a reference without a name uses its id.
        let listed = sg.id.as_deref().and_then(|id| skill_names.get(id).copied());
        let name = listed
            .map(str::to_string)
            .or_else(|| Some(sg.name.clone()).filter(|n| !n.is_empty()))
            .or_else(|| sg.id.clone());
        if let Some(name) = name {
            skills.insert(name, UCCE_SKILL_COMPETENCE);
        }
    }
    Ok(DirectoryUser {
        external_id: ext(
            &agent.agent_id,
            &format!("agent '{}' agentId", agent.user_name),
        )?,
        username: agent.user_name.clone(),
        first_name: agent.first_name.clone().filter(|s| !s.is_empty()),
        last_name: agent.last_name.clone().filter(|s| !s.is_empty()),
        email: None,
        attributes,
        skills,
        groups,
        roles,
    })
}

#[cfg(test)]
#[path = "ucce_tests.rs"]
mod tests;

//! UCCX resources and teams, plus CUCM end users, → one directory snapshot (DESIGN §3).
//!
//! Pure: no I/O. Membership comes from each resource's own `team`, not from the team list.

use super::{ext, group, set};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use wfm_model::directory::{
    ATTR_AGENT_ID, ATTR_ALIAS, ATTR_AUTO_AVAILABLE, ATTR_PHONE_EXTENSION,
    ATTR_PRIMARY_SUPERVISOR_OF, ATTR_RESOURCE_TYPE, ATTR_SECONDARY_EMAIL,
    ATTR_SECONDARY_SUPERVISOR_OF,
};
use wfm_model::{
    Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, ExternalId, SourceId, SourceRole,
};
use wfm_sources::axl::EndUserRow;
use wfm_sources::uccx::{TeamRef, UccxResource, UccxTeam};

/// Options of the UCCX mapping.
#[derive(Debug, Clone, Default)]
pub struct MappingOptions {
    /// Only these teams (by name or id); empty = all.
    pub imported_groups: Vec<String>,
    /// Source role key → hub role.
    pub role_equivalents: BTreeMap<String, String>,
    /// Whether CUCM was queried (if not, missing e-mails are not worth a warning).
    pub cucm_configured: bool,
}

/// Why the source data cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The same UCCX user id appears more than once.
    #[error("UCCX returned user id(s) {} more than once; fix the duplicate resource(s) in UCCX before syncing", .0.join(", "))]
    DuplicateUserIds(Vec<String>),
    /// A user or team id cannot be used as a key.
    #[error("{0}")]
    InvalidId(String),
}

/// The snapshot and the warnings found while building it.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// What the directory should hold for this source.
    pub snapshot: DirectorySnapshot,
    /// Things the operator should know (kept with the sync run at the hub).
    pub warnings: Vec<String>,
}

fn team_key(team: &TeamRef, by_name: &HashMap<&str, &UccxTeam>) -> Option<(String, String)> {
    match &team.team_id {
        Some(id) if !id.is_empty() => Some((id.clone(), team.name.clone())),
        _ => by_name
            .get(team.name.as_str())
            .map(|t| (t.team_id.clone(), t.name.clone())),
    }
}

/// Builds the snapshot. Users outside `imported_groups` (when set) are left out, so the sync
/// treats them as absent.
pub fn map_uccx(
    source: &SourceId,
    resources: &[UccxResource],
    teams: &[UccxTeam],
    end_users: &[EndUserRow],
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let mut warnings = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in resources {
        *seen.entry(r.user_id.as_str()).or_default() += 1;
    }
    let mut dups: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    if !dups.is_empty() {
        dups.sort();
        return Err(MappingError::DuplicateUserIds(dups));
    }

    let filter: BTreeSet<&str> = options.imported_groups.iter().map(String::as_str).collect();
    let wanted =
        |id: &str, name: &str| filter.is_empty() || filter.contains(id) || filter.contains(name);
    let by_name: HashMap<&str, &UccxTeam> = teams.iter().map(|t| (t.name.as_str(), t)).collect();

    let mut groups: BTreeMap<String, DirectoryGroup> = BTreeMap::new();
    for team in teams {
        if !wanted(&team.team_id, &team.name) {
            continue;
        }
        groups.insert(
            team.team_id.clone(),
            group(&team.team_id, &team.name, "team id")?,
        );
    }
    if !filter.is_empty() {
        let known: BTreeSet<&str> = teams
            .iter()
            .flat_map(|t| [t.team_id.as_str(), t.name.as_str()])
            .collect();
        for name in &filter {
            if !known.contains(name) {
                warnings.push(format!(
                    "uccx.imported_groups lists '{name}', which is not a UCCX team name or id"
                ));
            }
        }
    }

    let cucm: HashMap<&str, &EndUserRow> =
        end_users.iter().map(|u| (u.userid.as_str(), u)).collect();
    let mut missing_in_cucm = Vec::new();
    let mut users = Vec::with_capacity(resources.len());
    for r in resources {
        let team = r.team.as_ref().and_then(|t| {
            let key = team_key(t, &by_name);
            if key.is_none() {
                warnings.push(format!(
                    "user '{}' references team '{}' without an id that UCCX lists; the membership is skipped",
                    r.user_id, t.name
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
                    "team '{name}' (id {id}) is referenced by user '{}' but not listed by /adminapi/team; created from the reference",
                    r.user_id
                ));
                groups.insert(id.clone(), group(id, name, "team id")?);
            }
            member_of.insert(ext(id, "team id")?);
        }
        let row = cucm.get(r.user_id.as_str()).copied();
        if row.is_none() && options.cucm_configured {
            missing_in_cucm.push(r.user_id.clone());
        }
        users.push(user(r, row, member_of, &by_name, options)?);
    }
    if !missing_in_cucm.is_empty() {
        missing_in_cucm.sort();
        let sample: Vec<&str> = missing_in_cucm
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        warnings.push(format!(
            "{} user(s) have no CUCM end user record, so no e-mail: {}{}",
            missing_in_cucm.len(),
            sample.join(", "),
            if missing_in_cucm.len() > sample.len() {
                ", …"
            } else {
                ""
            }
        ));
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

fn team_ids(refs: &[TeamRef], by_name: &HashMap<&str, &UccxTeam>) -> Vec<String> {
    let mut ids: Vec<String> = refs
        .iter()
        .filter_map(|t| team_key(t, by_name).map(|(id, _)| id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn user(
    r: &UccxResource,
    row: Option<&EndUserRow>,
    groups: BTreeSet<ExternalId>,
    by_name: &HashMap<&str, &UccxTeam>,
    options: &MappingOptions,
) -> Result<DirectoryUser, MappingError> {
    // Key on the CUCM pkid (immutable) when CUCM knows the user; else on the UCCX user id.
    let key = row
        .and_then(|u| u.pkid.as_deref())
        .filter(|p| !p.is_empty())
        .unwrap_or(&r.user_id);
    let mut attributes = Attributes::new();
    set(&mut attributes, ATTR_AGENT_ID, Some(r.user_id.clone()));
    set(&mut attributes, ATTR_PHONE_EXTENSION, r.extension.clone());
    set(&mut attributes, ATTR_ALIAS, r.alias.clone());
    let kind = match r.resource_type {
        Some(2) => Some("supervisor"),
        Some(1) => Some("agent"),
        _ => None,
    };
    set(
        &mut attributes,
        ATTR_RESOURCE_TYPE,
        kind.map(str::to_string),
    );
    set(
        &mut attributes,
        ATTR_AUTO_AVAILABLE,
        r.auto_available.map(|b| b.to_string()),
    );
    set(
        &mut attributes,
        ATTR_SECONDARY_EMAIL,
        row.and_then(|u| u.directoryuri.clone()),
    );
    let primary = team_ids(&r.primary_supervisor_of, by_name);
    let secondary = team_ids(&r.secondary_supervisor_of, by_name);
    let mut source_roles = Vec::new();
    match kind {
        Some("supervisor") => source_roles.push(SourceRole::Supervisor),
        Some(_) => source_roles.push(SourceRole::Agent),
        None => {}
    }
    if !primary.is_empty() {
        source_roles.push(SourceRole::PrimarySupervisor);
        attributes.insert(ATTR_PRIMARY_SUPERVISOR_OF.to_string(), primary);
    }
    if !secondary.is_empty() {
        source_roles.push(SourceRole::SecondarySupervisor);
        attributes.insert(ATTR_SECONDARY_SUPERVISOR_OF.to_string(), secondary);
    }
    let roles = source_roles
        .into_iter()
        .filter_map(|role| options.role_equivalents.get(role.key()).cloned())
        .collect();
    let mut skills = BTreeMap::new();
    for s in &r.skills {
        skills.insert(s.name.clone(), s.competence);
    }
    Ok(DirectoryUser {
        external_id: ext(key, &format!("user '{}'", r.user_id))?,
        username: r.user_id.clone(),
        first_name: r.first_name.clone().filter(|s| !s.is_empty()),
        last_name: r.last_name.clone().filter(|s| !s.is_empty()),
        email: row.and_then(|u| u.mailid.clone()).filter(|s| !s.is_empty()),
        attributes,
        skills,
        groups,
        roles,
    })
}

#[cfg(test)]
#[path = "uccx_tests.rs"]
mod tests;

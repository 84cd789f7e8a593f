//! The planner.

use crate::types::{
    CurrentGroup, CurrentState, CurrentUser, FieldChange, GroupChange, Op, Plan, PlanSummary,
    SafetyLimits, SyncError, UserChange,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use wfm_model::{Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, ExternalId};

/// Compares `desired` (what the source says) with `current` (what the hub holds for that source)
/// and returns the plan. Pure and deterministic.
///
/// Users are matched on external id first; a desired user whose external id is unknown may then
/// claim an unmatched stored user with the same username (a re-link, e.g. when CUCM starts
/// answering for a user who was keyed on the UCCX user id). Errors when the snapshot breaks its
/// invariants or maps to roles the project lacks; a plan over the safety limit is returned with
/// `refusal` set and must not be applied.
pub fn plan(
    current: &CurrentState,
    desired: &DirectorySnapshot,
    known_roles: &BTreeSet<String>,
    limits: &SafetyLimits,
) -> Result<Plan, SyncError> {
    let problems = desired.problems();
    if !problems.is_empty() {
        return Err(SyncError::InvalidSnapshot(problems));
    }
    let unknown: BTreeSet<&String> = desired
        .users
        .iter()
        .flat_map(|u| u.roles.iter())
        .filter(|r| !known_roles.contains(*r))
        .collect();
    if !unknown.is_empty() {
        return Err(SyncError::UnknownRoles(
            unknown.into_iter().cloned().collect(),
        ));
    }

    let mut summary = PlanSummary::default();
    let groups = plan_groups(&current.groups, &desired.groups, &mut summary);
    let users = plan_users(&current.users, &desired.users, &mut summary);
    let enabled_before = current.users.iter().filter(|u| u.enabled).count() as u64;
    let (refusal, warnings) = safety(
        enabled_before,
        desired.users.len(),
        summary.users_disabled,
        limits,
    );
    Ok(Plan {
        source: desired.source.clone(),
        groups,
        users,
        summary,
        refusal,
        warnings,
    })
}

fn safety(
    enabled_before: u64,
    desired_users: usize,
    disabling: u64,
    limits: &SafetyLimits,
) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let reason = if desired_users == 0 && enabled_before > 0 {
        Some(format!(
            "the source returned no users while {enabled_before} are enabled; this looks like an outage or a wrong filter"
        ))
    } else if enabled_before > 0
        && disabling as f64 / enabled_before as f64 > limits.max_disable_ratio
    {
        Some(format!(
            "this run would disable {disabling} of {enabled_before} enabled users ({:.1} %), over the limit of {:.1} %",
            100.0 * disabling as f64 / enabled_before as f64,
            100.0 * limits.max_disable_ratio
        ))
    } else {
        None
    };
    match reason {
        Some(reason) if limits.allow_mass_disable => {
            warnings.push(format!("safety limit overridden: {reason}"));
            (None, warnings)
        }
        Some(reason) => (
            Some(format!(
                "{reason}. Nothing was changed. Check the source; if this is intended, run again with --allow-mass-disable"
            )),
            warnings,
        ),
        None => (None, warnings),
    }
}

fn plan_groups(
    current: &[CurrentGroup],
    desired: &[DirectoryGroup],
    summary: &mut PlanSummary,
) -> Vec<GroupChange> {
    let by_id: HashMap<&ExternalId, &CurrentGroup> =
        current.iter().map(|g| (&g.group.external_id, g)).collect();
    let mut changes = Vec::new();
    for want in desired {
        let Some(have) = by_id.get(&want.external_id) else {
            summary.groups_created += 1;
            let mut fields = vec![field("name", None, Some(&want.name))];
            diff_attributes(&Attributes::new(), &want.attributes, &mut fields);
            changes.push(GroupChange {
                op: Op::Create,
                id: None,
                external_id: want.external_id.clone(),
                name: want.name.clone(),
                desired: Some(want.clone()),
                fields,
            });
            continue;
        };
        let mut fields = Vec::new();
        if have.group.name != want.name {
            fields.push(field("name", Some(&have.group.name), Some(&want.name)));
        }
        diff_attributes(&have.group.attributes, &want.attributes, &mut fields);
        let op = if !have.enabled {
            summary.groups_reenabled += 1;
            Op::Reenable
        } else if !fields.is_empty() {
            summary.groups_updated += 1;
            Op::Update
        } else {
            summary.groups_unchanged += 1;
            continue;
        };
        changes.push(GroupChange {
            op,
            id: Some(have.id.clone()),
            external_id: want.external_id.clone(),
            name: want.name.clone(),
            desired: Some(want.clone()),
            fields,
        });
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name).then(a.external_id.cmp(&b.external_id)));
    let wanted: BTreeSet<&ExternalId> = desired.iter().map(|g| &g.external_id).collect();
    let mut disables: Vec<GroupChange> = current
        .iter()
        .filter(|g| g.enabled && !wanted.contains(&g.group.external_id))
        .map(|g| GroupChange {
            op: Op::Disable,
            id: Some(g.id.clone()),
            external_id: g.group.external_id.clone(),
            name: g.group.name.clone(),
            desired: None,
            fields: Vec::new(),
        })
        .collect();
    summary.groups_disabled += disables.len() as u64;
    disables.sort_by(|a, b| a.name.cmp(&b.name));
    changes.extend(disables);
    changes
}

fn plan_users(
    current: &[CurrentUser],
    desired: &[DirectoryUser],
    summary: &mut PlanSummary,
) -> Vec<UserChange> {
    let by_id: HashMap<&ExternalId, usize> = current
        .iter()
        .enumerate()
        .map(|(i, u)| (&u.user.external_id, i))
        .collect();
    let mut claimed = vec![false; current.len()];
    let mut matches: Vec<Option<usize>> = Vec::with_capacity(desired.len());
    for want in desired {
        let hit = by_id.get(&want.external_id).copied();
        if let Some(i) = hit {
            claimed[i] = true;
        }
        matches.push(hit);
    }
    // Re-link: unmatched desired users may claim an unmatched stored user with the same username.
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, u) in current.iter().enumerate() {
        if !claimed[i] {
            by_name.insert(u.user.username.as_str(), i);
        }
    }
    for (slot, want) in matches.iter_mut().zip(desired) {
        if slot.is_none() {
            if let Some(i) = by_name.remove(want.username.as_str()) {
                claimed[i] = true;
                *slot = Some(i);
            }
        }
    }

    let mut changes = Vec::new();
    for (want, hit) in desired.iter().zip(matches) {
        let change = match hit {
            None => Some(create_user(want, summary)),
            Some(i) => compare_user(&current[i], want, summary),
        };
        changes.extend(change);
    }
    for (i, have) in current.iter().enumerate() {
        if claimed[i] || !have.enabled {
            continue;
        }
        summary.users_disabled += 1;
        changes.push(UserChange {
            op: Op::Disable,
            id: Some(have.id.clone()),
            external_id: have.user.external_id.clone(),
            username: have.user.username.clone(),
            desired: None,
            fields: vec![field("enabled", Some("true"), Some("false"))],
            groups_added: Vec::new(),
            groups_removed: Vec::new(),
            roles_added: Vec::new(),
            roles_removed: Vec::new(),
        });
    }
    changes.sort_by(|a, b| {
        a.username
            .cmp(&b.username)
            .then(a.external_id.cmp(&b.external_id))
    });
    changes
}

fn create_user(want: &DirectoryUser, summary: &mut PlanSummary) -> UserChange {
    summary.users_created += 1;
    summary.memberships_added += want.groups.len() as u64;
    summary.roles_added += want.roles.len() as u64;
    let empty = DirectoryUser {
        external_id: want.external_id.clone(),
        username: String::new(),
        first_name: None,
        last_name: None,
        email: None,
        attributes: Attributes::new(),
        skills: BTreeMap::new(),
        groups: BTreeSet::new(),
        roles: BTreeSet::new(),
    };
    let mut fields = Vec::new();
    diff_user_fields(&empty, want, &mut fields);
    UserChange {
        op: Op::Create,
        id: None,
        external_id: want.external_id.clone(),
        username: want.username.clone(),
        desired: Some(want.clone()),
        fields,
        groups_added: want.groups.iter().cloned().collect(),
        groups_removed: Vec::new(),
        roles_added: want.roles.iter().cloned().collect(),
        roles_removed: Vec::new(),
    }
}

fn compare_user(
    have: &CurrentUser,
    want: &DirectoryUser,
    summary: &mut PlanSummary,
) -> Option<UserChange> {
    let mut fields = Vec::new();
    if have.user.external_id != want.external_id {
        fields.push(field(
            "external_id",
            Some(have.user.external_id.as_str()),
            Some(want.external_id.as_str()),
        ));
    }
    diff_user_fields(&have.user, want, &mut fields);
    let groups_added: Vec<ExternalId> =
        want.groups.difference(&have.user.groups).cloned().collect();
    let groups_removed: Vec<ExternalId> =
        have.user.groups.difference(&want.groups).cloned().collect();
    let roles_added: Vec<String> = want.roles.difference(&have.user.roles).cloned().collect();
    let roles_removed: Vec<String> = have.user.roles.difference(&want.roles).cloned().collect();
    let changed = !fields.is_empty()
        || !groups_added.is_empty()
        || !groups_removed.is_empty()
        || !roles_added.is_empty()
        || !roles_removed.is_empty();
    let op = if !have.enabled {
        summary.users_reenabled += 1;
        fields.push(field("enabled", Some("false"), Some("true")));
        Op::Reenable
    } else if changed {
        summary.users_updated += 1;
        Op::Update
    } else {
        summary.users_unchanged += 1;
        return None;
    };
    summary.memberships_added += groups_added.len() as u64;
    summary.memberships_removed += groups_removed.len() as u64;
    summary.roles_added += roles_added.len() as u64;
    summary.roles_removed += roles_removed.len() as u64;
    Some(UserChange {
        op,
        id: Some(have.id.clone()),
        external_id: want.external_id.clone(),
        username: want.username.clone(),
        desired: Some(want.clone()),
        fields,
        groups_added,
        groups_removed,
        roles_added,
        roles_removed,
    })
}

fn diff_user_fields(have: &DirectoryUser, want: &DirectoryUser, out: &mut Vec<FieldChange>) {
    let scalar = [
        ("username", Some(&have.username), Some(&want.username)),
        (
            "first_name",
            have.first_name.as_ref(),
            want.first_name.as_ref(),
        ),
        (
            "last_name",
            have.last_name.as_ref(),
            want.last_name.as_ref(),
        ),
        ("email", have.email.as_ref(), want.email.as_ref()),
    ];
    for (name, old, new) in scalar {
        let old = old.filter(|s| !(name == "username" && s.is_empty()));
        if old != new {
            out.push(field(
                name,
                old.map(String::as_str),
                new.map(String::as_str),
            ));
        }
    }
    diff_attributes(&have.attributes, &want.attributes, out);
    let keys: BTreeSet<&String> = have.skills.keys().chain(want.skills.keys()).collect();
    for key in keys {
        let old = have.skills.get(key);
        let new = want.skills.get(key);
        if old != new {
            out.push(FieldChange {
                field: format!("skill:{key}"),
                old: old.map(u8::to_string),
                new: new.map(u8::to_string),
            });
        }
    }
}

fn diff_attributes(have: &Attributes, want: &Attributes, out: &mut Vec<FieldChange>) {
    let keys: BTreeSet<&String> = have.keys().chain(want.keys()).collect();
    for key in keys {
        let old = have.get(key).filter(|v| !v.is_empty());
        let new = want.get(key).filter(|v| !v.is_empty());
        if old != new {
            out.push(FieldChange {
                field: format!("attribute:{key}"),
                old: old.map(|v| v.join(", ")),
                new: new.map(|v| v.join(", ")),
            });
        }
    }
}

fn field(name: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: name.to_string(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    }
}

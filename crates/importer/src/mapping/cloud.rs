//! Webex Contact Center, Zoom and Microsoft Graph users and teams → directory snapshots.
//!
//! Pure: no I/O. Users are keyed on the platform's immutable id; the username is the e-mail
//! (Webex, Zoom) or the userPrincipalName (Graph). Membership comes from the team/group member
//! lists (and, on Webex and Zoom, from each user's own team ids: the union). Every user gets the
//! `agent` source role, mapped through `role_equivalents`.

use super::uccx::{Mapped, MappingError, MappingOptions};
use super::{ext, set};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use wfm_model::directory::{ATTR_AGENT_ID, ATTR_EXTERNAL_GROUP_ID};
use wfm_model::{
    Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, SourceId, SourceRole,
};
use wfm_sources::graph::{GraphGroup, GraphUser};
use wfm_sources::webex::{WebexTeam, WebexUser};
use wfm_sources::zoom::{ZoomGroup, ZoomUser};

/// User attribute: Webex Common Identity user id.
pub const ATTR_CI_USER_ID: &str = "ciUserId";
/// User attribute: Webex site id.
pub const ATTR_SITE_ID: &str = "siteId";
/// User attribute: Webex agent profile id.
pub const ATTR_AGENT_PROFILE_ID: &str = "agentProfileId";
/// User attribute: Webex external identifier.
pub const ATTR_EXTERNAL_IDENTIFIER: &str = "externalIdentifier";
/// User attribute: Zoom department.
pub const ATTR_DEPT: &str = "dept";
/// User attribute: Graph job title.
pub const ATTR_JOB_TITLE: &str = "jobTitle";

/// A user in platform-neutral form.
struct Person {
    id: String,
    username: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    attributes: Attributes,
    /// Team ids the user record itself lists.
    team_ids: Vec<String>,
}

/// A team in platform-neutral form.
struct Team {
    id: String,
    name: String,
    member_ids: Vec<String>,
}

fn clean(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Webex Contact Center: username = e-mail; inactive users (`active=false`) are left out, so the
/// sync treats them as absent (disabled). Membership = user.teamIds ∪ team.userIds.
pub fn map_webex(
    source: &SourceId,
    users: &[WebexUser],
    teams: &[WebexTeam],
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let mut people = Vec::new();
    let mut inactive = HashSet::new();
    for u in users {
        if !u.active {
            inactive.insert(u.id.as_str());
            continue;
        }
        let mut attributes = Attributes::new();
        set(&mut attributes, ATTR_AGENT_ID, Some(&u.id));
        set(&mut attributes, ATTR_CI_USER_ID, u.ci_user_id.as_deref());
        set(&mut attributes, ATTR_SITE_ID, u.site_id.as_deref());
        set(
            &mut attributes,
            ATTR_AGENT_PROFILE_ID,
            u.agent_profile_id.as_deref(),
        );
        set(
            &mut attributes,
            ATTR_EXTERNAL_IDENTIFIER,
            u.external_identifier.as_deref(),
        );
        people.push(Person {
            id: u.id.clone(),
            username: clean(u.email.as_ref()),
            email: clean(u.email.as_ref()),
            first_name: clean(u.first_name.as_ref()),
            last_name: clean(u.last_name.as_ref()),
            attributes,
            team_ids: u.team_ids.clone(),
        });
    }
    let teams = teams
        .iter()
        .map(|t| Team {
            id: t.id.clone(),
            name: if t.name.trim().is_empty() {
                t.id.clone()
            } else {
                t.name.clone()
            },
            member_ids: t.user_ids.clone(),
        })
        .collect();
    build(
        "webex", "e-mail", source, people, teams, &inactive, true, options,
    )
}

/// Zoom: username = e-mail; only active users are listed by the client. Membership = group
/// members ∪ user.group_ids.
pub fn map_zoom(
    source: &SourceId,
    users: &[ZoomUser],
    groups: &[ZoomGroup],
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let mut people = Vec::new();
    for u in users {
        let mut attributes = Attributes::new();
        set(&mut attributes, ATTR_AGENT_ID, Some(&u.id));
        set(&mut attributes, ATTR_DEPT, u.dept.as_deref());
        people.push(Person {
            id: u.id.clone(),
            username: clean(u.email.as_ref()),
            email: clean(u.email.as_ref()),
            first_name: clean(u.first_name.as_ref()),
            last_name: clean(u.last_name.as_ref()),
            attributes,
            team_ids: u.group_ids.clone(),
        });
    }
    let teams = groups
        .iter()
        .map(|g| Team {
            id: g.id.clone(),
            name: g.name.clone(),
            member_ids: g.member_ids.clone(),
        })
        .collect();
    build(
        "zoom",
        "e-mail",
        source,
        people,
        teams,
        &HashSet::new(),
        false,
        options,
    )
}

/// Microsoft Graph: username = userPrincipalName, e-mail = mail. Membership = group members.
pub fn map_graph(
    source: &SourceId,
    users: &[GraphUser],
    groups: &[GraphGroup],
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let mut people = Vec::new();
    for u in users {
        let mut attributes = Attributes::new();
        set(&mut attributes, ATTR_AGENT_ID, Some(&u.id));
        set(&mut attributes, ATTR_JOB_TITLE, u.job_title.as_deref());
        people.push(Person {
            id: u.id.clone(),
            username: clean(u.user_principal_name.as_ref()),
            email: clean(u.mail.as_ref()),
            first_name: clean(u.given_name.as_ref()),
            last_name: clean(u.surname.as_ref()),
            attributes,
            team_ids: Vec::new(),
        });
    }
    let teams = groups
        .iter()
        .map(|g| Team {
            id: g.id.clone(),
            name: g.display_name.clone(),
            member_ids: g.member_ids.clone(),
        })
        .collect();
    build(
        "graph",
        "userPrincipalName",
        source,
        people,
        teams,
        &HashSet::new(),
        false,
        options,
    )
}

fn sample(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
    let more = if items.len() > shown.len() {
        ", …"
    } else {
        ""
    };
    format!("{}{more}", shown.join(", "))
}

#[allow(clippy::too_many_arguments)]
fn build(
    platform: &str,
    username_field: &str,
    source: &SourceId,
    people: Vec<Person>,
    teams: Vec<Team>,
    inactive: &HashSet<&str>,
    warn_unknown_user_teams: bool,
    options: &MappingOptions,
) -> Result<Mapped, MappingError> {
    let mut warnings = Vec::new();

    // Duplicate ids, then duplicate usernames (case-insensitive: they are logins/e-mails).
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for p in &people {
        *ids.entry(p.id.as_str()).or_default() += 1;
    }
    let mut dup_ids: Vec<String> = ids
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    if !dup_ids.is_empty() {
        dup_ids.sort();
        return Err(MappingError::InvalidId(format!(
            "{platform} returned user id(s) {} more than once",
            dup_ids.join(", ")
        )));
    }
    let mut people_ok = Vec::with_capacity(people.len());
    let mut no_username = Vec::new();
    for p in people {
        if p.username.is_some() {
            people_ok.push(p);
        } else {
            no_username.push(p.id);
        }
    }
    if !no_username.is_empty() {
        no_username.sort();
        warnings.push(format!(
            "{platform}: {} user(s) have no {username_field} and are skipped (no username): {}",
            no_username.len(),
            sample(&no_username)
        ));
    }
    let mut names: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in &people_ok {
        if let Some(u) = &p.username {
            names.entry(u.to_lowercase()).or_default().push(u);
        }
    }
    let dup_names: Vec<String> = names
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k)
        .collect();
    if !dup_names.is_empty() {
        return Err(MappingError::InvalidId(format!(
            "{platform}: username(s) ({username_field}) {} are used by more than one user; fix the duplicates in {platform} before syncing",
            dup_names.join(", ")
        )));
    }

    // Groups in scope.
    let filter: BTreeSet<&str> = options.imported_groups.iter().map(String::as_str).collect();
    if !filter.is_empty() {
        let known: BTreeSet<&str> = teams.iter().map(|t| t.name.as_str()).collect();
        for name in &filter {
            if !known.contains(name) {
                warnings.push(format!(
                    "{platform}.imported_groups lists '{name}', which is not a {platform} team/group name"
                ));
            }
        }
    }
    let wanted: Vec<&Team> = teams
        .iter()
        .filter(|t| filter.is_empty() || filter.contains(t.name.as_str()))
        .collect();
    let all_team_ids: HashSet<&str> = teams.iter().map(|t| t.id.as_str()).collect();
    let mut groups = BTreeMap::new();
    for t in &wanted {
        let mut attributes = Attributes::new();
        attributes.insert(ATTR_EXTERNAL_GROUP_ID.to_string(), vec![t.id.clone()]);
        groups.insert(
            t.id.clone(),
            DirectoryGroup {
                external_id: ext(&t.id, &format!("{platform} team '{}'", t.name))?,
                name: t.name.clone(),
                attributes,
            },
        );
    }

    // Memberships: team member lists ∪ each user's own team ids.
    let person_ids: HashSet<String> = people_ok.iter().map(|p| p.id.clone()).collect();
    let mut member_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    for t in &wanted {
        let mut unknown = Vec::new();
        for m in &t.member_ids {
            if person_ids.contains(m.as_str()) {
                member_of.entry(m.clone()).or_default().insert(t.id.clone());
            } else if !inactive.contains(m.as_str()) && !no_username.contains(m) {
                unknown.push(m.clone());
            }
        }
        if !unknown.is_empty() {
            warnings.push(format!(
                "{platform} team '{}' lists {} member(s) that are not among the users; skipped: {}",
                t.name,
                unknown.len(),
                sample(&unknown)
            ));
        }
    }
    let mut unknown_refs = Vec::new();
    for p in &people_ok {
        for tid in &p.team_ids {
            if groups.contains_key(tid) {
                member_of
                    .entry(p.id.clone())
                    .or_default()
                    .insert(tid.clone());
            } else if warn_unknown_user_teams && !all_team_ids.contains(tid.as_str()) {
                unknown_refs.push(format!("{} → {tid}", p.id));
            }
        }
    }
    if !unknown_refs.is_empty() {
        warnings.push(format!(
            "{platform}: {} user membership(s) reference teams that are not listed; skipped: {}",
            unknown_refs.len(),
            sample(&unknown_refs)
        ));
    }

    let roles: BTreeSet<String> = options
        .role_equivalents
        .get(SourceRole::Agent.key())
        .cloned()
        .into_iter()
        .collect();
    let mut users = Vec::with_capacity(people_ok.len());
    for p in people_ok {
        let team_ids = member_of.remove(p.id.as_str()).unwrap_or_default();
        if !filter.is_empty() && team_ids.is_empty() {
            continue;
        }
        let mut member = BTreeSet::new();
        for tid in &team_ids {
            member.insert(ext(tid, &format!("{platform} team id"))?);
        }
        users.push(DirectoryUser {
            external_id: ext(&p.id, &format!("{platform} user '{}'", p.id))?,
            username: p.username.unwrap_or_default(),
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            attributes: p.attributes,
            skills: BTreeMap::new(),
            groups: member,
            roles: roles.clone(),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn src(id: &str) -> SourceId {
        SourceId::new(id).unwrap()
    }

    fn options(groups: &[&str]) -> MappingOptions {
        let mut role_equivalents = BTreeMap::new();
        role_equivalents.insert("agent".to_string(), "wfm-agent".to_string());
        MappingOptions {
            imported_groups: groups.iter().map(|g| g.to_string()).collect(),
            role_equivalents,
            cucm_configured: false,
        }
    }

    fn wx_user(id: &str, teams: &[&str], active: bool) -> WebexUser {
        WebexUser {
            id: id.into(),
            ci_user_id: Some(format!("ci-{id}")),
            email: Some(format!("{id}@example.com")),
            first_name: Some("Ann".into()),
            last_name: Some(id.to_uppercase()),
            active,
            site_id: Some("site-1".into()),
            team_ids: teams.iter().map(|t| t.to_string()).collect(),
            agent_profile_id: Some("prof-1".into()),
            external_identifier: Some("HR-7".into()),
            contact_center_enabled: Some(true),
        }
    }

    fn wx_team(id: &str, name: &str, users: &[&str]) -> WebexTeam {
        WebexTeam {
            id: id.into(),
            name: name.into(),
            team_type: Some("AGENT".into()),
            team_status: Some("IN_SERVICE".into()),
            site_id: None,
            user_ids: users.iter().map(|u| u.to_string()).collect(),
        }
    }

    fn groups_of(m: &Mapped, username: &str) -> Vec<String> {
        let u = m
            .snapshot
            .users
            .iter()
            .find(|u| u.username == username)
            .unwrap();
        u.groups.iter().map(|g| g.as_str().to_string()).collect()
    }

    #[test]
    fn webex_users_map_with_attributes_union_membership_and_the_agent_role() {
        let users = [wx_user("u1", &["t1"], true), wx_user("u2", &[], true)];
        let teams = [
            wx_team("t1", "Care", &[]),
            wx_team("t2", "Sales", &["u1", "u2", "ghost"]),
        ];
        let m = map_webex(&src("wx"), &users, &teams, &options(&[])).unwrap();
        assert!(
            m.snapshot.problems().is_empty(),
            "{:?}",
            m.snapshot.problems()
        );
        let u1 = &m.snapshot.users[0];
        assert_eq!(u1.external_id.as_str(), "u1");
        assert_eq!(u1.username, "u1@example.com");
        assert_eq!(u1.email.as_deref(), Some("u1@example.com"));
        assert_eq!(u1.first_name.as_deref(), Some("Ann"));
        assert_eq!(u1.last_name.as_deref(), Some("U1"));
        assert_eq!(u1.attributes[ATTR_AGENT_ID], ["u1"]);
        assert_eq!(u1.attributes[ATTR_CI_USER_ID], ["ci-u1"]);
        assert_eq!(u1.attributes[ATTR_SITE_ID], ["site-1"]);
        assert_eq!(u1.attributes[ATTR_AGENT_PROFILE_ID], ["prof-1"]);
        assert_eq!(u1.attributes[ATTR_EXTERNAL_IDENTIFIER], ["HR-7"]);
        assert_eq!(u1.roles.iter().collect::<Vec<_>>(), ["wfm-agent"]);
        assert_eq!(groups_of(&m, "u1@example.com"), ["t1", "t2"]);
        assert_eq!(groups_of(&m, "u2@example.com"), ["t2"]);
        let g = &m.snapshot.groups[0];
        assert_eq!((g.external_id.as_str(), g.name.as_str()), ("t1", "Care"));
        assert_eq!(g.attributes[ATTR_EXTERNAL_GROUP_ID], ["t1"]);
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("ghost") && m.warnings[0].contains("Sales"));
    }

    #[test]
    fn webex_inactive_users_are_left_out_without_warnings() {
        let users = [wx_user("u1", &[], true), wx_user("u2", &["t1"], false)];
        let teams = [wx_team("t1", "Care", &["u1", "u2"])];
        let m = map_webex(&src("wx"), &users, &teams, &options(&[])).unwrap();
        assert_eq!(m.snapshot.users.len(), 1);
        assert_eq!(m.snapshot.users[0].external_id.as_str(), "u1");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn webex_unknown_team_references_and_missing_emails_are_warnings() {
        let mut no_mail = wx_user("u3", &[], true);
        no_mail.email = None;
        let users = [wx_user("u1", &["nope"], true), no_mail];
        let m = map_webex(&src("wx"), &users, &[], &options(&[])).unwrap();
        assert_eq!(m.snapshot.users.len(), 1);
        assert!(m.snapshot.users[0].groups.is_empty());
        assert!(
            m.warnings.iter().any(|w| w.contains("u1 → nope")),
            "{:?}",
            m.warnings
        );
        assert!(
            m.warnings.iter().any(|w| w.contains("u3")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn duplicate_usernames_and_ids_are_errors_naming_them() {
        let mut a = wx_user("u1", &[], true);
        a.email = Some("Same@Example.com".into());
        let mut b = wx_user("u2", &[], true);
        b.email = Some("same@example.com".into());
        let err = map_webex(&src("wx"), &[a, b], &[], &options(&[])).unwrap_err();
        assert!(err.to_string().contains("same@example.com"), "{err}");
        let err = map_webex(
            &src("wx"),
            &[wx_user("u1", &[], true), wx_user("u1", &[], true)],
            &[],
            &options(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("u1"), "{err}");
    }

    #[test]
    fn imported_groups_filter_by_name_and_warn_about_unknown_names() {
        let users = [wx_user("u1", &["t1"], true), wx_user("u2", &["t2"], true)];
        let teams = [wx_team("t1", "Care", &[]), wx_team("t2", "Sales", &[])];
        let m = map_webex(&src("wx"), &users, &teams, &options(&["Care", "Typo"])).unwrap();
        assert_eq!(m.snapshot.groups.len(), 1);
        assert_eq!(m.snapshot.users.len(), 1);
        assert_eq!(m.snapshot.users[0].external_id.as_str(), "u1");
        assert!(
            m.warnings.iter().any(|w| w.contains("'Typo'")),
            "{:?}",
            m.warnings
        );
        assert!(m.snapshot.problems().is_empty());
    }

    fn zoom_user(id: &str, groups: &[&str]) -> ZoomUser {
        ZoomUser {
            id: id.into(),
            first_name: Some("Zed".into()),
            last_name: Some(id.into()),
            display_name: Some(format!("Zed {id}")),
            email: Some(format!("{id}@zoom.example")),
            user_type: Some("2".into()),
            dept: Some("Care".into()),
            status: Some("active".into()),
            role_id: Some("2".into()),
            group_ids: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn zoom_users_and_groups_map_with_dept_and_members() {
        let users = [zoom_user("z1", &[]), zoom_user("z2", &["g1"])];
        let groups = [ZoomGroup {
            id: "g1".into(),
            name: "Care".into(),
            total_members: Some(2),
            member_ids: vec!["z1".into(), "inactive-one".into()],
        }];
        let m = map_zoom(&src("zm"), &users, &groups, &options(&[])).unwrap();
        assert!(m.snapshot.problems().is_empty());
        let z1 = &m.snapshot.users[0];
        assert_eq!(z1.username, "z1@zoom.example");
        assert_eq!(z1.attributes[ATTR_DEPT], ["Care"]);
        assert_eq!(z1.attributes[ATTR_AGENT_ID], ["z1"]);
        assert_eq!(groups_of(&m, "z1@zoom.example"), ["g1"]);
        assert_eq!(groups_of(&m, "z2@zoom.example"), ["g1"]);
        assert!(m.warnings[0].contains("inactive-one"), "{:?}", m.warnings);
    }

    #[test]
    fn graph_users_key_on_the_object_id_with_upn_as_username() {
        let users = [
            GraphUser {
                id: "oid-1".into(),
                display_name: Some("Ann Lee".into()),
                given_name: Some("Ann".into()),
                surname: Some("Lee".into()),
                mail: Some("ann@contoso.com".into()),
                user_principal_name: Some("ann@contoso.onmicrosoft.com".into()),
                job_title: Some("Agent".into()),
            },
            GraphUser {
                id: "oid-2".into(),
                display_name: None,
                given_name: None,
                surname: None,
                mail: None,
                user_principal_name: Some("bo@contoso.onmicrosoft.com".into()),
                job_title: None,
            },
        ];
        let groups = [
            GraphGroup {
                id: "grp-1".into(),
                display_name: "Contact Center".into(),
                member_ids: vec!["oid-1".into()],
            },
            GraphGroup {
                id: "grp-2".into(),
                display_name: "Everyone".into(),
                member_ids: vec!["oid-1".into(), "oid-2".into()],
            },
        ];
        let m = map_graph(&src("ms"), &users, &groups, &options(&["Contact Center"])).unwrap();
        assert_eq!(
            m.snapshot.users.len(),
            1,
            "oid-2 is outside the imported group"
        );
        let u = &m.snapshot.users[0];
        assert_eq!(u.external_id.as_str(), "oid-1");
        assert_eq!(u.username, "ann@contoso.onmicrosoft.com");
        assert_eq!(u.email.as_deref(), Some("ann@contoso.com"));
        assert_eq!(u.attributes[ATTR_JOB_TITLE], ["Agent"]);
        assert_eq!(groups_of(&m, "ann@contoso.onmicrosoft.com"), ["grp-1"]);
        assert_eq!(m.snapshot.groups.len(), 1);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let all = map_graph(&src("ms"), &users, &groups, &MappingOptions::default()).unwrap();
        assert_eq!(all.snapshot.users.len(), 2);
        assert!(
            all.snapshot.users[1].roles.is_empty(),
            "no role_equivalents, no roles"
        );
        assert_eq!(all.snapshot.users[1].email, None);
    }
}

use super::*;

fn team_ref(id: &str, name: &str) -> UcceRef {
    UcceRef {
        id: Some(id.to_string()),
        name: name.to_string(),
        ref_url: Some(format!("/unifiedconfig/config/agentteam/{id}")),
    }
}

fn sg_ref(id: &str, name: &str) -> UcceRef {
    UcceRef {
        id: Some(id.to_string()),
        name: name.to_string(),
        ref_url: Some(format!("/unifiedconfig/config/skillgroup/{id}")),
    }
}

fn agent(agent_id: &str, user: &str, team: Option<UcceRef>) -> UcceAgent {
    UcceAgent {
        agent_id: agent_id.to_string(),
        ref_url: Some(format!("/unifiedconfig/config/agent/{agent_id}")),
        change_stamp: Some(1),
        first_name: Some("Ann".into()),
        last_name: Some("Lee".into()),
        user_name: user.to_string(),
        login_enabled: Some(true),
        sso_enabled: None,
        team,
        skill_groups: vec![sg_ref("5010", "SG_Sales")],
        default_skill_group: None,
        supervisor: false,
        supervisor_teams: vec![],
        department: Some("Retail".into()),
        description: None,
        peripheral: Some("CUCM_PG_1".into()),
    }
}

fn team(id: &str, name: &str) -> UcceTeam {
    UcceTeam {
        id: id.to_string(),
        name: name.to_string(),
        agent_count: None,
        supervisor_user_names: vec![],
    }
}

fn skill_groups() -> Vec<UcceSkillGroup> {
    vec![UcceSkillGroup {
        id: "5010".into(),
        name: "SG_Sales".into(),
    }]
}

fn options() -> MappingOptions {
    MappingOptions {
        imported_groups: vec![],
        role_equivalents: [
            ("agent".to_string(), "agent".to_string()),
            ("supervisor".to_string(), "supervisor".to_string()),
            ("primary_supervisor".to_string(), "team-lead".to_string()),
        ]
        .into(),
        cucm_configured: false,
    }
}

fn source() -> SourceId {
    SourceId::new("ucce-dc1").unwrap()
}

fn attr(user: &DirectoryUser, key: &str) -> Option<Vec<String>> {
    user.attributes.get(key).cloned()
}

#[test]
fn an_agent_maps_to_a_user_keyed_on_agent_id_with_attributes_skills_and_membership() {
    let agents = [agent("1001", "ann@corp", Some(team_ref("5001", "Sales")))];
    let teams = [team("5001", "Sales")];
    let mapped = map_ucce(&source(), &agents, &teams, &skill_groups(), &options()).unwrap();
    assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
    assert!(mapped.snapshot.problems().is_empty());
    let u = &mapped.snapshot.users[0];
    assert_eq!(u.external_id.as_str(), "1001");
    assert_eq!(u.username, "ann@corp");
    assert_eq!(u.first_name.as_deref(), Some("Ann"));
    assert_eq!(u.last_name.as_deref(), Some("Lee"));
    assert_eq!(u.email, None);
    assert_eq!(attr(u, "agentId"), Some(vec!["1001".to_string()]));
    assert_eq!(attr(u, "resourceType"), Some(vec!["agent".to_string()]));
    assert_eq!(attr(u, "department"), Some(vec!["Retail".to_string()]));
    assert_eq!(attr(u, "loginEnabled"), Some(vec!["true".to_string()]));
    assert_eq!(attr(u, "peripheral"), Some(vec!["CUCM_PG_1".to_string()]));
    assert_eq!(attr(u, "description"), None, "absent values are not set");
    assert_eq!(attr(u, "primarySupervisorOf"), None);
    assert_eq!(u.skills, BTreeMap::from([("SG_Sales".to_string(), 1)]));
    let groups: Vec<&str> = u.groups.iter().map(ExternalId::as_str).collect();
    assert_eq!(groups, ["5001"]);
    assert_eq!(u.roles, BTreeSet::from(["agent".to_string()]));
    let g = &mapped.snapshot.groups[0];
    assert_eq!((g.external_id.as_str(), g.name.as_str()), ("5001", "Sales"));
    assert_eq!(
        g.attributes.get("externalGroupId"),
        Some(&vec!["5001".to_string()])
    );
}

#[test]
fn a_supervisor_of_teams_gets_supervisor_and_primary_supervisor_roles() {
    let mut sup = agent("1002", "sup@corp", Some(team_ref("5001", "Sales")));
    sup.supervisor = true;
    sup.supervisor_teams = vec![
        team_ref("5002", "Care"),
        team_ref("5001", "Sales"),
        team_ref("5001", "Sales"),
    ];
    let mut plain_sup = agent("1003", "sup2@corp", None);
    plain_sup.supervisor = true;
    let teams = [team("5001", "Sales"), team("5002", "Care")];
    let mapped = map_ucce(
        &source(),
        &[sup, plain_sup],
        &teams,
        &skill_groups(),
        &options(),
    )
    .unwrap();
    let u = &mapped.snapshot.users[0];
    assert_eq!(
        attr(u, "resourceType"),
        Some(vec!["supervisor".to_string()])
    );
    assert_eq!(
        attr(u, "primarySupervisorOf"),
        Some(vec!["5001".to_string(), "5002".to_string()])
    );
    assert_eq!(
        u.roles,
        BTreeSet::from(["supervisor".to_string(), "team-lead".to_string()])
    );
    let v = &mapped.snapshot.users[1];
    assert_eq!(v.roles, BTreeSet::from(["supervisor".to_string()]));
    assert!(v.groups.is_empty());
}

#[test]
fn roles_without_an_equivalent_are_not_mapped() {
    let mut sup = agent("1002", "sup@corp", None);
    sup.supervisor = true;
    sup.supervisor_teams = vec![team_ref("5001", "Sales")];
    let opts = MappingOptions {
        role_equivalents: [("primary_supervisor".to_string(), "lead".to_string())].into(),
        ..options()
    };
    let mapped = map_ucce(&source(), &[sup], &[team("5001", "Sales")], &[], &opts).unwrap();
    assert_eq!(
        mapped.snapshot.users[0].roles,
        BTreeSet::from(["lead".to_string()])
    );
}

#[test]
fn a_team_missing_from_the_list_is_created_from_the_reference_with_a_warning() {
    let agents = [agent("1001", "ann@corp", Some(team_ref("5009", "Night")))];
    let mapped = map_ucce(&source(), &agents, &[], &[], &options()).unwrap();
    assert_eq!(mapped.snapshot.groups.len(), 1);
    assert_eq!(mapped.snapshot.groups[0].name, "Night");
    assert_eq!(mapped.snapshot.groups[0].external_id.as_str(), "5009");
    assert_eq!(mapped.warnings.len(), 1);
    assert!(
        mapped.warnings[0].contains("'Night' (id 5009)"),
        "{:?}",
        mapped.warnings
    );
    assert!(mapped.snapshot.problems().is_empty());
}

#[test]
fn team_references_without_an_id_resolve_by_name_or_are_skipped_with_a_warning() {
    let by_name = UcceRef {
        id: None,
        name: "Sales".into(),
        ref_url: None,
    };
    let unknown = UcceRef {
        id: None,
        name: "Ghost".into(),
        ref_url: None,
    };
    let agents = [
        agent("1001", "a@corp", Some(by_name)),
        agent("1002", "b@corp", Some(unknown)),
    ];
    let mapped = map_ucce(
        &source(),
        &agents,
        &[team("5001", "Sales")],
        &[],
        &options(),
    )
    .unwrap();
    let groups: Vec<&str> = mapped.snapshot.users[0]
        .groups
        .iter()
        .map(ExternalId::as_str)
        .collect();
    assert_eq!(groups, ["5001"]);
    assert!(mapped.snapshot.users[1].groups.is_empty());
    assert!(
        mapped.warnings[0].contains("Ghost"),
        "{:?}",
        mapped.warnings
    );
}

#[test]
fn the_listed_team_name_wins_over_a_stale_reference_name() {
    let agents = [agent("1001", "a@corp", Some(team_ref("5001", "Old name")))];
    let mapped = map_ucce(
        &source(),
        &agents,
        &[team("5001", "New name")],
        &[],
        &options(),
    )
    .unwrap();
    assert_eq!(mapped.snapshot.groups.len(), 1);
    assert_eq!(mapped.snapshot.groups[0].name, "New name");
    assert!(mapped.warnings.is_empty());
}

#[test]
fn imported_groups_filter_agents_and_teams_by_name_or_id() {
    let agents = [
        agent("1001", "a@corp", Some(team_ref("5001", "Sales"))),
        agent("1002", "b@corp", Some(team_ref("5002", "Care"))),
        agent("1003", "c@corp", None),
        agent("1004", "d@corp", Some(team_ref("5003", "Billing"))),
    ];
    let teams = [
        team("5001", "Sales"),
        team("5002", "Care"),
        team("5003", "Billing"),
    ];
    let opts = MappingOptions {
        imported_groups: vec!["Sales".into(), "5003".into(), "Nope".into()],
        ..options()
    };
    let mapped = map_ucce(&source(), &agents, &teams, &[], &opts).unwrap();
    let users: Vec<&str> = mapped
        .snapshot
        .users
        .iter()
        .map(|u| u.username.as_str())
        .collect();
    assert_eq!(users, ["a@corp", "d@corp"]);
    let groups: Vec<&str> = mapped
        .snapshot
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(groups, ["Sales", "Billing"]);
    assert_eq!(mapped.warnings.len(), 1, "{:?}", mapped.warnings);
    assert!(mapped.warnings[0].contains("'Nope'"));
    assert!(mapped.snapshot.problems().is_empty());
}

#[test]
fn duplicate_agent_ids_are_an_error_naming_them() {
    let agents = [
        agent("1001", "a@corp", None),
        agent("1002", "b@corp", None),
        agent("1001", "c@corp", None),
    ];
    let err = map_ucce(&source(), &agents, &[], &[], &options()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("agentId(s) 1001 more than once"), "{text}");
}

#[test]
fn duplicate_user_names_are_an_error_naming_them() {
    let agents = [
        agent("1001", "same@corp", None),
        agent("1002", "same@corp", None),
        agent("1003", "other@corp", None),
    ];
    let err = map_ucce(&source(), &agents, &[], &[], &options()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("userName(s) same@corp"), "{text}");
}

#[test]
fn skill_names_come_from_the_skill_group_list_and_every_competence_is_one() {
    let mut a = agent("1001", "a@corp", None);
    a.skill_groups = vec![
        sg_ref("5010", "Stale name"),
        sg_ref("5011", "SG_Care"),
        UcceRef {
            id: Some("5012".into()),
            name: String::new(),
            ref_url: None,
        },
    ];
    let mapped = map_ucce(&source(), &[a], &[], &skill_groups(), &options()).unwrap();
    let skills = &mapped.snapshot.users[0].skills;
    assert_eq!(
        skills,
        &BTreeMap::from([
            ("5012".to_string(), UCCE_SKILL_COMPETENCE),
            ("SG_Care".to_string(), 1),
            ("SG_Sales".to_string(), 1),
        ])
    );
}

#[test]
fn a_renamed_login_keeps_the_same_external_id() {
    let before = map_ucce(
        &source(),
        &[agent("1001", "ann@corp", None)],
        &[],
        &[],
        &options(),
    )
    .unwrap();
    let after = map_ucce(
        &source(),
        &[agent("1001", "ann.lee@corp", None)],
        &[],
        &[],
        &options(),
    )
    .unwrap();
    assert_eq!(
        before.snapshot.users[0].external_id,
        after.snapshot.users[0].external_id
    );
    assert_ne!(
        before.snapshot.users[0].username,
        after.snapshot.users[0].username
    );
}

#[test]
fn an_unusable_agent_id_is_an_invalid_id_error() {
    let err = map_ucce(
        &source(),
        &[agent("bad\u{7}id", "a@corp", None)],
        &[],
        &[],
        &options(),
    )
    .unwrap_err();
    assert!(matches!(err, MappingError::InvalidId(_)), "{err}");
    assert!(err.to_string().contains("a@corp"), "{err}");
}

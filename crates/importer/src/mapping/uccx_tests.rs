use super::*;
use wfm_sources::uccx::{PersonRef, UccxSkill};

fn team_ref(id: &str, name: &str) -> TeamRef {
    TeamRef {
        name: name.to_string(),
        team_id: Some(id.to_string()),
        ref_url: Some(format!("https://uccx/adminapi/team/{id}")),
    }
}

fn resource(user_id: &str, team: Option<TeamRef>) -> UccxResource {
    UccxResource {
        user_id: user_id.to_string(),
        first_name: Some("Ann".into()),
        last_name: Some("Lee".into()),
        extension: Some("4001".into()),
        alias: None,
        resource_type: Some(1),
        auto_available: Some(true),
        skills: vec![UccxSkill {
            name: "Sales_EN".into(),
            competence: 7,
            ref_url: None,
        }],
        team,
        primary_supervisor_of: vec![],
        secondary_supervisor_of: vec![],
        resource_group: None,
    }
}

fn team(id: &str, name: &str) -> UccxTeam {
    UccxTeam {
        team_id: id.to_string(),
        name: name.to_string(),
        primary_supervisor: None::<PersonRef>,
        secondary_supervisors: vec![],
    }
}

fn row(userid: &str, pkid: &str, mail: Option<&str>) -> EndUserRow {
    EndUserRow {
        pkid: Some(pkid.to_string()),
        userid: userid.to_string(),
        mailid: mail.map(str::to_string),
        directoryuri: Some(format!("{userid}@sip.example.com")),
    }
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
        cucm_configured: true,
    }
}

fn source() -> SourceId {
    SourceId::new("uccx").unwrap()
}

#[test]
fn every_field_of_the_mapping_table_lands_where_design_says() {
    let mut sup = resource("boss", Some(team_ref("1", "Billing")));
    sup.resource_type = Some(2);
    sup.alias = Some("B".into());
    sup.primary_supervisor_of = vec![team_ref("1", "Billing"), team_ref("2", "Sales")];
    let resources = vec![resource("ann", Some(team_ref("1", "Billing"))), sup];
    let teams = vec![team("1", "Billing"), team("2", "Sales")];
    let rows = vec![
        row("ann", "pk-ann", Some("ann.lee@example.com")),
        row("boss", "pk-boss", None),
    ];
    let m = map_uccx(&source(), &resources, &teams, &rows, &options()).unwrap();
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let ann = m
        .snapshot
        .users
        .iter()
        .find(|u| u.username == "ann")
        .unwrap();
    assert_eq!(ann.external_id.as_str(), "pk-ann", "keyed on the CUCM pkid");
    assert_eq!(ann.email.as_deref(), Some("ann.lee@example.com"));
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_eq!(ann.attributes["agentId"], vec!["ann"]);
    assert_eq!(ann.attributes["phoneExtension"], vec!["4001"]);
    assert_eq!(
        ann.attributes["secondaryEmail"],
        vec!["ann@sip.example.com"]
    );
    assert_eq!(ann.attributes["resourceType"], vec!["agent"]);
    assert_eq!(ann.skills["Sales_EN"], 7);
    assert_eq!(
        ann.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        vec!["1"]
    );
    assert_eq!(ann.roles.iter().collect::<Vec<_>>(), vec!["agent"]);
    let boss = m
        .snapshot
        .users
        .iter()
        .find(|u| u.username == "boss")
        .unwrap();
    assert_eq!(boss.attributes["alias"], vec!["B"]);
    assert_eq!(boss.attributes["primarySupervisorOf"], vec!["1", "2"]);
    let roles: Vec<&String> = boss.roles.iter().collect();
    assert_eq!(roles, vec!["supervisor", "team-lead"]);
    assert_eq!(boss.email, None);
    let billing = &m.snapshot.groups[0];
    assert_eq!(billing.name, "Billing");
    assert_eq!(billing.attributes["externalGroupId"], vec!["1"]);
    assert!(m.snapshot.problems().is_empty());
}

#[test]
fn imported_groups_limit_users_and_teams() {
    let resources = vec![
        resource("ann", Some(team_ref("1", "Billing"))),
        resource("bob", Some(team_ref("2", "Sales"))),
        resource("cy", None),
    ];
    let teams = vec![team("1", "Billing"), team("2", "Sales")];
    let mut opts = options();
    opts.imported_groups = vec!["Billing".into(), "Nope".into()];
    let m = map_uccx(&source(), &resources, &teams, &[], &opts).unwrap();
    let names: Vec<&str> = m
        .snapshot
        .users
        .iter()
        .map(|u| u.username.as_str())
        .collect();
    assert_eq!(names, vec!["ann"]);
    assert_eq!(m.snapshot.groups.len(), 1);
    assert!(m.warnings.iter().any(|w| w.contains("'Nope'")));
}

#[test]
fn a_team_referenced_but_not_listed_is_created_from_the_reference_with_a_warning() {
    let resources = vec![resource("ann", Some(team_ref("9", "Hidden")))];
    let m = map_uccx(&source(), &resources, &[], &[], &options()).unwrap();
    assert_eq!(m.snapshot.groups[0].name, "Hidden");
    assert!(m.warnings.iter().any(|w| w.contains("not listed")));
    assert!(m.snapshot.problems().is_empty());
}

#[test]
fn a_resource_with_no_team_has_no_membership() {
    let m = map_uccx(&source(), &[resource("ann", None)], &[], &[], &options()).unwrap();
    assert!(m.snapshot.users[0].groups.is_empty());
}

#[test]
fn duplicate_user_ids_are_refused_by_name() {
    let resources = vec![resource("ann", None), resource("ann", None)];
    let err = map_uccx(&source(), &resources, &[], &[], &options()).unwrap_err();
    assert_eq!(err, MappingError::DuplicateUserIds(vec!["ann".into()]));
    assert!(err.to_string().contains("fix the duplicate"));
}

#[test]
fn users_missing_in_cucm_keep_the_uccx_id_and_are_reported() {
    let m = map_uccx(&source(), &[resource("ann", None)], &[], &[], &options()).unwrap();
    assert_eq!(m.snapshot.users[0].external_id.as_str(), "ann");
    assert_eq!(m.snapshot.users[0].email, None);
    assert!(m.warnings[0].contains("no CUCM end user record"));
    assert!(m.warnings[0].contains("ann"));
}

#[test]
fn unmapped_source_roles_give_no_role() {
    let mut opts = options();
    opts.role_equivalents.clear();
    let m = map_uccx(&source(), &[resource("ann", None)], &[], &[], &opts).unwrap();
    assert!(m.snapshot.users[0].roles.is_empty());
}

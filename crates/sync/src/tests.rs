use crate::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use wfm_model::*;

fn uid(s: &str) -> ExternalId {
    ExternalId::new(s).unwrap()
}

fn user(id: &str, name: &str, groups: &[&str], roles: &[&str]) -> DirectoryUser {
    DirectoryUser {
        external_id: uid(id),
        username: name.to_string(),
        first_name: Some(format!("First {name}")),
        last_name: Some("Last".into()),
        email: Some(format!("{name}@example.com")),
        attributes: [("agentId".to_string(), vec![name.to_string()])].into(),
        skills: [("Sales".to_string(), 5u8)].into(),
        groups: groups.iter().map(|g| uid(g)).collect(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn group(id: &str, name: &str) -> DirectoryGroup {
    DirectoryGroup {
        external_id: uid(id),
        name: name.to_string(),
        attributes: [("externalGroupId".to_string(), vec![id.to_string()])].into(),
    }
}

fn snapshot(users: Vec<DirectoryUser>, groups: Vec<DirectoryGroup>) -> DirectorySnapshot {
    DirectorySnapshot {
        source: SourceId::new("uccx").unwrap(),
        users,
        groups,
    }
}

fn roles() -> BTreeSet<String> {
    ["agent", "supervisor"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A model of what the store does with a plan, so that plans can be checked by re-planning.
fn apply(current: &CurrentState, plan: &Plan) -> CurrentState {
    let mut next = current.clone();
    let mut counter = next.users.len() + next.groups.len();
    for change in &plan.groups {
        match change.op {
            Op::Create => {
                counter += 1;
                next.groups.push(CurrentGroup {
                    id: format!("g{counter}"),
                    enabled: true,
                    group: change.desired.clone().unwrap(),
                });
            }
            Op::Update | Op::Reenable => {
                let g = next
                    .groups
                    .iter_mut()
                    .find(|g| Some(&g.id) == change.id.as_ref())
                    .unwrap();
                g.group = change.desired.clone().unwrap();
                g.enabled = true;
            }
            Op::Disable => {
                let g = next
                    .groups
                    .iter_mut()
                    .find(|g| Some(&g.id) == change.id.as_ref())
                    .unwrap();
                g.enabled = false;
            }
        }
    }
    for change in &plan.users {
        match change.op {
            Op::Create => {
                counter += 1;
                next.users.push(CurrentUser {
                    id: format!("u{counter}"),
                    enabled: true,
                    user: change.desired.clone().unwrap(),
                });
            }
            Op::Update | Op::Reenable => {
                let u = next
                    .users
                    .iter_mut()
                    .find(|u| Some(&u.id) == change.id.as_ref())
                    .unwrap();
                u.user = change.desired.clone().unwrap();
                u.enabled = true;
            }
            Op::Disable => {
                let u = next
                    .users
                    .iter_mut()
                    .find(|u| Some(&u.id) == change.id.as_ref())
                    .unwrap();
                u.enabled = false;
            }
        }
    }
    next
}

fn run(current: &CurrentState, desired: &DirectorySnapshot) -> Plan {
    plan(current, desired, &roles(), &SafetyLimits::default()).unwrap()
}

#[test]
fn first_sync_creates_everything_with_memberships_and_roles() {
    let desired = snapshot(
        vec![
            user("p1", "alice", &["10"], &["agent"]),
            user("p2", "bob", &["10", "11"], &["agent", "supervisor"]),
        ],
        vec![group("10", "Billing"), group("11", "Sales")],
    );
    let p = run(&CurrentState::default(), &desired);
    assert_eq!(p.summary.users_created, 2);
    assert_eq!(p.summary.groups_created, 2);
    assert_eq!(p.summary.memberships_added, 3);
    assert_eq!(p.summary.roles_added, 3);
    assert!(p.refusal.is_none());
    let alice = p.users.iter().find(|c| c.username == "alice").unwrap();
    assert_eq!(alice.op, Op::Create);
    assert!(alice.fields.iter().any(|f| f.field == "email"));
}

#[test]
fn a_second_identical_sync_changes_nothing() {
    let desired = snapshot(
        vec![user("p1", "alice", &["10"], &["agent"])],
        vec![group("10", "Billing")],
    );
    let first = run(&CurrentState::default(), &desired);
    let state = apply(&CurrentState::default(), &first);
    let second = run(&state, &desired);
    assert!(second.summary.is_noop(), "{:?}", second.summary);
    assert!(second.users.is_empty() && second.groups.is_empty());
    assert_eq!(second.summary.users_unchanged, 1);
    assert_eq!(second.summary.groups_unchanged, 1);
}

#[test]
fn renamed_user_with_same_external_id_is_updated_not_duplicated() {
    let before = snapshot(vec![user("p1", "alice", &[], &[])], vec![]);
    let state = apply(
        &CurrentState::default(),
        &run(&CurrentState::default(), &before),
    );
    let mut renamed = user("p1", "alice.smith", &[], &[]);
    renamed.first_name = Some("First alice".into());
    renamed.email = Some("alice@example.com".into());
    renamed.attributes = [("agentId".to_string(), vec!["alice".to_string()])].into();
    let after = snapshot(vec![renamed], vec![]);
    let p = run(&state, &after);
    assert_eq!(p.summary.users_created, 0);
    assert_eq!(p.summary.users_updated, 1);
    let change = &p.users[0];
    assert_eq!(change.id.as_deref(), Some(state.users[0].id.as_str()));
    assert_eq!(
        change.fields,
        vec![FieldChange {
            field: "username".into(),
            old: Some("alice".into()),
            new: Some("alice.smith".into())
        }]
    );
}

#[test]
fn a_user_whose_external_id_changes_is_relinked_by_username() {
    let before = snapshot(vec![user("userid:alice", "alice", &[], &[])], vec![]);
    let state = apply(
        &CurrentState::default(),
        &run(&CurrentState::default(), &before),
    );
    let after = snapshot(vec![user("pkid-1", "alice", &[], &[])], vec![]);
    let p = run(&state, &after);
    assert_eq!(p.summary.users_created, 0);
    assert_eq!(p.summary.users_disabled, 0);
    assert_eq!(p.users[0].op, Op::Update);
    assert_eq!(p.users[0].fields[0].field, "external_id");
}

#[test]
fn vanished_users_are_disabled_and_come_back_reenabled() {
    let all: Vec<DirectoryUser> = (0..10)
        .map(|i| user(&format!("p{i}"), &format!("u{i}"), &[], &[]))
        .collect();
    let s0 = CurrentState::default();
    let s1 = apply(&s0, &run(&s0, &snapshot(all.clone(), vec![])));
    let p = run(&s1, &snapshot(all[1..].to_vec(), vec![]));
    assert_eq!(p.summary.users_disabled, 1);
    assert_eq!(p.users[0].op, Op::Disable);
    let s2 = apply(&s1, &p);
    assert_eq!(s2.users.len(), 10, "nobody is deleted");
    let back = run(&s2, &snapshot(all, vec![]));
    assert_eq!(back.summary.users_reenabled, 1);
    assert_eq!(back.users[0].op, Op::Reenable);
}

#[test]
fn mass_disable_is_refused_unless_overridden() {
    let all: Vec<DirectoryUser> = (0..10)
        .map(|i| user(&format!("p{i}"), &format!("u{i}"), &[], &[]))
        .collect();
    let s0 = CurrentState::default();
    let s1 = apply(&s0, &run(&s0, &snapshot(all.clone(), vec![])));
    // 3 of 10 = 30 % > 20 %
    let fewer = snapshot(all[3..].to_vec(), vec![]);
    let refused = run(&s1, &fewer);
    assert!(refused.refusal.as_deref().unwrap().contains("3 of 10"));
    assert!(refused
        .refusal
        .as_deref()
        .unwrap()
        .contains("--allow-mass-disable"));
    // 2 of 10 = 20 % is within the limit
    assert!(run(&s1, &snapshot(all[2..].to_vec(), vec![]))
        .refusal
        .is_none());
    let limits = SafetyLimits {
        max_disable_ratio: 0.2,
        allow_mass_disable: true,
    };
    let allowed = plan(&s1, &fewer, &roles(), &limits).unwrap();
    assert!(allowed.refusal.is_none());
    assert!(allowed.warnings[0].contains("overridden"));
}

#[test]
fn an_empty_source_is_refused_even_with_a_ratio_of_one() {
    let s0 = CurrentState::default();
    let s1 = apply(
        &s0,
        &run(&s0, &snapshot(vec![user("p1", "a", &[], &[])], vec![])),
    );
    let limits = SafetyLimits {
        max_disable_ratio: 1.0,
        allow_mass_disable: false,
    };
    let p = plan(&s1, &snapshot(vec![], vec![]), &roles(), &limits).unwrap();
    assert!(p.refusal.unwrap().contains("no users"));
}

#[test]
fn unknown_roles_are_named() {
    let desired = snapshot(vec![user("p1", "a", &[], &["team-lead"])], vec![]);
    let err = plan(
        &CurrentState::default(),
        &desired,
        &roles(),
        &SafetyLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err, SyncError::UnknownRoles(vec!["team-lead".into()]));
    assert!(err.to_string().contains("role_equivalents"));
}

#[test]
fn duplicate_users_are_an_error_not_a_partial_plan() {
    let desired = snapshot(
        vec![user("p1", "a", &[], &[]), user("p1", "b", &[], &[])],
        vec![],
    );
    let err = run_err(&desired);
    assert!(matches!(err, SyncError::InvalidSnapshot(_)));
    assert!(err.to_string().contains("'p1'"));
}

fn run_err(desired: &DirectorySnapshot) -> SyncError {
    plan(
        &CurrentState::default(),
        desired,
        &roles(),
        &SafetyLimits::default(),
    )
    .unwrap_err()
}

#[test]
fn membership_and_group_changes_are_reported() {
    let s0 = CurrentState::default();
    let before = snapshot(
        vec![user("p1", "a", &["10"], &["agent"])],
        vec![group("10", "Billing"), group("11", "Sales")],
    );
    let s1 = apply(&s0, &run(&s0, &before));
    let after = snapshot(
        vec![user("p1", "a", &["12"], &["agent", "supervisor"])],
        vec![group("10", "Billing EMEA"), group("12", "Support")],
    );
    let p = run(&s1, &after);
    assert_eq!(p.summary.groups_created, 1);
    assert_eq!(p.summary.groups_updated, 1);
    assert_eq!(p.summary.groups_disabled, 1);
    assert_eq!(
        p.groups.last().unwrap().op,
        Op::Disable,
        "disables come last"
    );
    let u = &p.users[0];
    assert_eq!(u.groups_added, vec![uid("12")]);
    assert_eq!(u.groups_removed, vec![uid("10")]);
    assert_eq!(u.roles_added, vec!["supervisor".to_string()]);
    assert_eq!(p.summary.memberships_added, 1);
    assert_eq!(p.summary.memberships_removed, 1);
}

#[test]
fn skill_and_attribute_changes_are_field_level() {
    let s0 = CurrentState::default();
    let s1 = apply(
        &s0,
        &run(&s0, &snapshot(vec![user("p1", "a", &[], &[])], vec![])),
    );
    let mut changed = user("p1", "a", &[], &[]);
    changed.skills = BTreeMap::from([("Sales".to_string(), 7u8), ("Billing".to_string(), 2)]);
    changed
        .attributes
        .insert("phoneExtension".into(), vec!["4001".into()]);
    let p = run(&s1, &snapshot(vec![changed], vec![]));
    let fields: Vec<&str> = p.users[0].fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["attribute:phoneExtension", "skill:Billing", "skill:Sales"]
    );
}

fn arb_user(max_groups: usize) -> impl Strategy<Value = DirectoryUser> {
    (
        0u8..20,
        0u8..3,
        proptest::option::of("[a-c]{1,2}"),
        proptest::collection::btree_set(0..max_groups, 0..3),
        proptest::collection::btree_map("[AB]", 1u8..4, 0..2),
        any::<bool>(),
    )
        .prop_map(|(id, name_variant, email, groups, skills, sup)| {
            let mut u = user(
                &format!("p{id}"),
                &format!("user{id}v{name_variant}"),
                &[],
                if sup { &["supervisor"] } else { &["agent"] },
            );
            u.email = email;
            u.groups = groups.into_iter().map(|g| uid(&format!("g{g}"))).collect();
            u.skills = skills;
            u
        })
}

fn arb_snapshot() -> impl Strategy<Value = DirectorySnapshot> {
    (
        proptest::collection::vec(arb_user(4), 0..12),
        proptest::collection::btree_map(0usize..4, "[xy]{1,2}", 0..4),
    )
        .prop_map(|(users, names)| {
            let mut seen_ids = BTreeSet::new();
            let mut seen_names = BTreeSet::new();
            let users: Vec<DirectoryUser> = users
                .into_iter()
                .filter(|u| {
                    seen_ids.insert(u.external_id.clone()) && seen_names.insert(u.username.clone())
                })
                .collect();
            let mut groups: Vec<DirectoryGroup> = (0..4)
                .map(|g| group(&format!("g{g}"), &format!("Team {g}")))
                .collect();
            for (g, name) in names {
                groups[g].name = name;
            }
            snapshot(users, groups)
        })
}

proptest! {
    #[test]
    fn applying_any_plan_converges_and_never_deletes(
        steps in proptest::collection::vec(arb_snapshot(), 1..5)
    ) {
        let limits = SafetyLimits { max_disable_ratio: 1.0, allow_mass_disable: true };
        let mut state = CurrentState::default();
        for desired in &steps {
            let before = state.users.len();
            let p = plan(&state, desired, &roles(), &limits).unwrap();
            state = apply(&state, &p);
            prop_assert!(state.users.len() >= before, "a user was deleted");
            // Every desired user is present, enabled and equal to the desired state.
            for want in &desired.users {
                let found = state.users.iter().find(|u| u.user.external_id == want.external_id);
                prop_assert!(found.is_some());
                let found = found.unwrap();
                prop_assert!(found.enabled);
                prop_assert_eq!(&found.user, want);
            }
            // Every other user of the source is disabled.
            let wanted: BTreeSet<_> = desired.users.iter().map(|u| &u.external_id).collect();
            for have in &state.users {
                if !wanted.contains(&have.user.external_id) {
                    prop_assert!(!have.enabled);
                }
            }
            // Re-planning the same snapshot is a no-op.
            let again = plan(&state, desired, &roles(), &limits).unwrap();
            prop_assert!(again.summary.is_noop(), "{:?}", again.summary);
        }
    }
}

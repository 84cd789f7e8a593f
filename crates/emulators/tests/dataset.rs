//! Dataset generator: determinism, sizes, consistency, scale.

use std::collections::HashSet;
use std::time::Instant;

use wfm_emulators::{generate, DatasetSpec};

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let spec = DatasetSpec::default();
    assert_eq!(generate(&spec), generate(&spec));
    let other = generate(&DatasetSpec {
        seed: 7,
        ..spec.clone()
    });
    assert_ne!(generate(&spec), other);
}

#[test]
fn sizes_and_kinds_are_honoured() {
    let spec = DatasetSpec::default();
    let cc = generate(&spec);
    assert_eq!(cc.resources.len(), spec.agents + spec.supervisors);
    assert_eq!(cc.teams.len(), spec.teams);
    assert_eq!(
        cc.resources.iter().filter(|r| r.kind == 1).count(),
        spec.agents
    );
    assert_eq!(
        cc.resources.iter().filter(|r| r.kind == 2).count(),
        spec.supervisors
    );
    let skills: HashSet<_> = cc
        .resources
        .iter()
        .flat_map(|r| r.skills.iter().map(|s| s.2))
        .collect();
    assert!(
        skills.len() <= spec.skills
            && skills
                .iter()
                .all(|id| (1..=spec.skills as u32).contains(id))
    );
    let ids: HashSet<_> = cc.resources.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(ids.len(), cc.resources.len(), "user ids are unique");
    let exts: HashSet<_> = cc.resources.iter().map(|r| r.extension.as_str()).collect();
    assert_eq!(exts.len(), cc.resources.len(), "extensions are unique");
    for r in &cc.resources {
        assert!((4..=7).contains(&r.extension.len()), "{}", r.extension);
        assert!(r.skills.iter().all(|s| (1..=10).contains(&s.1)));
        let u = cc
            .end_user(&r.user_id)
            .expect("every resource has an end user");
        assert_eq!(
            u.mailid.as_deref().map(|m| m.ends_with("@example.com")),
            Some(true)
        );
        assert_eq!(u.pkid.len(), 36);
        assert_eq!(u.pkid, u.pkid.to_lowercase());
    }
}

#[test]
fn every_team_supervisor_exists_and_supervisors_lead_one_to_three_teams() {
    let cc = generate(&DatasetSpec::default());
    for t in &cc.teams {
        let p = t
            .primary_supervisor
            .as_ref()
            .expect("default spec gives every team a primary");
        let r = cc.resource(p).expect("primary supervisor exists");
        assert_eq!(r.kind, 2);
        assert!(r
            .primary_supervisor_of
            .iter()
            .any(|(id, _)| *id == t.team_id));
        for s in &t.secondary_supervisors {
            let r = cc.resource(s).expect("secondary supervisor exists");
            assert!(r
                .secondary_supervisor_of
                .iter()
                .any(|(id, _)| *id == t.team_id));
        }
    }
    for r in cc.resources.iter().filter(|r| r.kind == 2) {
        let n = r.primary_supervisor_of.len() + r.secondary_supervisor_of.len();
        assert!((1..=3).contains(&n), "{} supervises {n} teams", r.user_id);
    }
}

#[test]
fn missing_email_share_is_applied() {
    let cc = generate(&DatasetSpec {
        missing_email_share: 0.5,
        ..DatasetSpec::default()
    });
    let missing = cc.end_users.iter().filter(|u| u.mailid.is_none()).count();
    assert!(
        (120..=320).contains(&missing),
        "{missing} of 440 without e-mail"
    );
}

#[test]
fn generates_24k_agents_and_1k_teams_quickly() {
    let spec = DatasetSpec {
        agents: 24_000,
        teams: 1_000,
        supervisors: 400,
        ..DatasetSpec::default()
    };
    let start = Instant::now();
    let cc = generate(&spec);
    let took = start.elapsed();
    assert_eq!(cc.resources.len(), 24_400);
    assert_eq!(cc.teams.len(), 1_000);
    assert!(took.as_secs_f64() < 5.0, "generate took {took:?}");
}

#[test]
fn mutations_keep_the_data_consistent() {
    let mut cc = generate(&DatasetSpec::default());
    let sup = cc.teams[0].primary_supervisor.clone().unwrap();
    assert!(cc.rename_user(&sup, "renamed0001"));
    assert_eq!(
        cc.teams[0].primary_supervisor.as_deref(),
        Some("renamed0001")
    );
    assert!(cc.end_user("renamed0001").is_some());
    assert!(cc.remove_resource("renamed0001").is_some());
    assert_eq!(cc.teams[0].primary_supervisor, None);
    let agent = cc.resources[0].user_id.clone();
    assert!(cc.move_to_team(&agent, Some(2)));
    assert_eq!(cc.resource(&agent).unwrap().team.as_ref().unwrap().0, 2);
    assert!(cc.delete_email(&agent));
    assert_eq!(cc.end_user(&agent).unwrap().mailid, None);
}

//! The store suite: every scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use wfm_protocol::{GroupQuery, ObjectChange, RunResult, SyncResponse, UserQuery};
use wfm_store::{Store, StoreError};
use wfm_sync::Op;

fn run_of(body: &serde_json::Value) -> SyncResponse {
    serde_json::from_value(body.clone()).unwrap()
}

store_test!(
    open_migrates_and_projects_exist,
    |store: Store| async move {
        let p = project("acme");
        assert!(!store.project_exists(&p).await.unwrap());
        store.ping().await.unwrap();
        store
            .ensure_project(&p, Some("Acme"), &["agent".into(), "supervisor".into()])
            .await
            .unwrap();
        store
            .ensure_project(&p, None, &["admin".into()])
            .await
            .unwrap();
        assert!(store.project_exists(&p).await.unwrap());
        let roles: Vec<String> = store.roles(&p).await.unwrap().into_iter().collect();
        assert_eq!(roles, vec!["admin", "agent", "supervisor"]);
    }
);

store_test!(
    first_sync_creates_everything_and_reads_show_it_exactly,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let (status, body) = sync(&store, &p, &request(base_snapshot()), 1).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(resp.run.result, RunResult::Applied);
        assert_eq!(resp.run.summary.users_created, 3);
        assert_eq!(resp.run.summary.groups_created, 2);
        assert_eq!(resp.run.change_count, 5);
        assert_eq!(resp.changes.len(), 5);
        assert!(matches!(resp.changes[0], ObjectChange::Group(_)));
        assert!(matches!(resp.changes[4], ObjectChange::User(_)));

        let groups = all_groups(&store, &p).await;
        assert_eq!(
            groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["Sales", "Support"]
        );
        assert_eq!(groups[0].member_count, 2);
        assert_eq!(groups[0].external_id, "10");
        assert_eq!(groups[0].source, "uccx");
        assert!(groups[0].enabled);
        assert_eq!(groups[0].attributes, group("10", "Sales").attributes);

        let users = all_users(&store, &p).await;
        assert_eq!(users.len(), 3);
        let bob = &users[1];
        let want = user("2", "bob", &["10", "20"], &["agent", "supervisor"]);
        assert_eq!(bob.username, "bob");
        assert_eq!(bob.external_id, "2");
        assert_eq!(bob.source, "uccx");
        assert_eq!(bob.first_name, want.first_name);
        assert_eq!(bob.last_name, want.last_name);
        assert_eq!(bob.email, want.email);
        assert!(bob.enabled);
        assert_eq!(bob.attributes, want.attributes);
        assert_eq!(bob.skills, want.skills);
        assert_eq!(bob.roles, vec!["agent", "supervisor"]);
        let names: Vec<&str> = bob.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["Sales", "Support"]);
        assert_eq!(bob.created_at, "2025-01-06T08:00:01.000000Z");

        let got = store.get_user(&p, &bob.id).await.unwrap().unwrap();
        assert_eq!(&got, bob);
        let detail = store.get_group(&p, &groups[0].id).await.unwrap().unwrap();
        assert_eq!(detail.group, groups[0]);
        assert_eq!(
            detail.member_ids,
            vec![users[0].id.clone(), users[1].id.clone()]
        );
        assert!(store.get_user(&p, "no-such-id").await.unwrap().is_none());
        assert!(store.get_group(&p, "no-such-id").await.unwrap().is_none());
    }
);

store_test!(
    resync_without_change_writes_only_the_run,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        sync(&store, &p, &request(base_snapshot()), 1).await;
        let users_before = all_users(&store, &p).await;
        let groups_before = all_groups(&store, &p).await;
        let (status, body) = sync(&store, &p, &request(base_snapshot()), 2).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(resp.run.result, RunResult::Applied);
        assert!(resp.run.summary.is_noop());
        assert_eq!(resp.run.summary.users_unchanged, 3);
        assert_eq!(resp.run.summary.groups_unchanged, 2);
        assert_eq!(resp.run.change_count, 0);
        assert!(resp.changes.is_empty());
        // Nothing was rewritten: not even updated_at moved.
        assert_eq!(all_users(&store, &p).await, users_before);
        assert_eq!(all_groups(&store, &p).await, groups_before);
        assert_eq!(store.list_runs(&p, 0, 10).await.unwrap().total, 2);
    }
);

store_test!(
    username_change_updates_the_same_user_and_logs_the_field,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        sync(&store, &p, &request(base_snapshot()), 1).await;
        let before = all_users(&store, &p).await;
        let mut snap = base_snapshot();
        snap.users[0].username = "alice.smith".into();
        let (status, body) = sync(&store, &p, &request(snap), 2).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(resp.run.summary.users_updated, 1);
        assert_eq!(resp.run.summary.users_created, 0);
        let after = all_users(&store, &p).await;
        assert_eq!(after.len(), 3, "a rename must not create a second user");
        let renamed = after.iter().find(|u| u.username == "alice.smith").unwrap();
        assert_eq!(renamed.id, before[0].id);
        assert_eq!(renamed.external_id, "1");
        assert_eq!(renamed.groups, before[0].groups);
        assert_eq!(renamed.roles, before[0].roles);
        assert_eq!(renamed.created_at, before[0].created_at);
        assert_eq!(renamed.updated_at, "2025-01-06T08:00:02.000000Z");
        let changes = store
            .run_changes(&p, &resp.run.id, 0, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changes.total, 1);
        let ObjectChange::User(change) = &changes.items[0] else {
            panic!("expected a user change");
        };
        assert_eq!(change.op, Op::Update);
        assert_eq!(change.id.as_deref(), Some(before[0].id.as_str()));
        let field = change
            .fields
            .iter()
            .find(|f| f.field == "username")
            .unwrap();
        assert_eq!(field.old.as_deref(), Some("alice"));
        assert_eq!(field.new.as_deref(), Some("alice.smith"));
    }
);

store_test!(
    missing_user_is_disabled_and_reenabled_when_back,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut users: Vec<_> = (0..10)
            .map(|i| user(&format!("{i}"), &format!("user{i:02}"), &["10"], &["agent"]))
            .collect();
        let groups = vec![group("10", "Sales")];
        sync(
            &store,
            &p,
            &request(snapshot("uccx", users.clone(), groups.clone())),
            1,
        )
        .await;
        let gone = users.remove(3);
        let (status, body) = sync(
            &store,
            &p,
            &request(snapshot("uccx", users.clone(), groups.clone())),
            2,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(run_of(&body).run.summary.users_disabled, 1);
        let listed = all_users(&store, &p).await;
        assert_eq!(listed.len(), 10, "disabled users stay listed");
        let disabled = listed.iter().find(|u| u.username == "user03").unwrap();
        assert!(!disabled.enabled);
        assert_eq!(
            disabled.roles,
            vec!["agent"],
            "a disable keeps everything else"
        );
        assert_eq!(disabled.groups.len(), 1);
        let detail = store
            .get_group(&p, &disabled.groups[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detail.group.member_count, 9);
        assert_eq!(detail.member_ids.len(), 10);

        users.push(gone);
        let (status, body) = sync(&store, &p, &request(snapshot("uccx", users, groups)), 3).await;
        assert_eq!(status, 200);
        assert_eq!(run_of(&body).run.summary.users_reenabled, 1);
        let back = store.get_user(&p, &disabled.id).await.unwrap().unwrap();
        assert!(back.enabled);
        assert_eq!(back.roles, vec!["agent"]);
    }
);

/// Ten users synced, then a snapshot with only the first `keep`.
async fn shrink(store: &Store, p: &wfm_model::ProjectId, keep: usize) -> wfm_protocol::SyncRequest {
    let users: Vec<_> = (0..10)
        .map(|i| user(&format!("{i}"), &format!("user{i:02}"), &["10"], &["agent"]))
        .collect();
    let groups = vec![group("10", "Sales")];
    sync(
        store,
        p,
        &request(snapshot("uccx", users.clone(), groups.clone())),
        1,
    )
    .await;
    request(snapshot("uccx", users[..keep].to_vec(), groups))
}

store_test!(
    mass_disable_over_the_limit_is_refused_and_nothing_changes,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let req = shrink(&store, &p, 5).await;
        let before = all_users(&store, &p).await;
        let (status, body) = sync(&store, &p, &req, 2).await;
        assert_eq!(status, 409);
        let resp = run_of(&body);
        assert_eq!(resp.run.result, RunResult::Refused);
        assert!(resp
            .run
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("disable 5 of 10"));
        assert_eq!(resp.run.summary.users_disabled, 5);
        assert_eq!(all_users(&store, &p).await, before);
        let run = store.get_run(&p, &resp.run.id).await.unwrap().unwrap();
        assert_eq!(run, resp.run);
    }
);

store_test!(allow_mass_disable_applies_it, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let mut req = shrink(&store, &p, 5).await;
    req.allow_mass_disable = true;
    let (status, body) = sync(&store, &p, &req, 2).await;
    assert_eq!(status, 200);
    let resp = run_of(&body);
    assert_eq!(resp.run.result, RunResult::Applied);
    assert!(
        !resp.run.warnings.is_empty(),
        "the override is recorded as a warning"
    );
    let users = all_users(&store, &p).await;
    assert_eq!(users.iter().filter(|u| !u.enabled).count(), 5);
});

store_test!(
    dry_run_records_a_run_and_changes_nothing,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut req = request(base_snapshot());
        req.dry_run = true;
        req.warnings = vec!["2 users missing in CUCM".into()];
        let (status, body) = sync(&store, &p, &req, 1).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(resp.run.result, RunResult::DryRun);
        assert_eq!(resp.run.summary.users_created, 3);
        assert_eq!(resp.run.warnings, vec!["2 users missing in CUCM"]);
        assert!(all_users(&store, &p).await.is_empty());
        assert!(all_groups(&store, &p).await.is_empty());
        let changes = store
            .run_changes(&p, &resp.run.id, 0, 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changes.total, 5, "a dry run keeps the would-be change log");
    }
);

store_test!(
    unknown_role_fails_with_422_and_nothing_changes,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        sync(&store, &p, &request(base_snapshot()), 1).await;
        let before = all_users(&store, &p).await;
        let mut snap = base_snapshot();
        snap.users[0].roles.insert("wizard".into());
        snap.users[1].first_name = Some("Robert".into());
        let (status, body) = sync(&store, &p, &request(snap), 2).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["code"], "unknown_roles");
        assert_eq!(body["error"]["details"], serde_json::json!(["wizard"]));
        assert_eq!(all_users(&store, &p).await, before);
        let runs = store.list_runs(&p, 0, 10).await.unwrap();
        assert_eq!(runs.items[0].result, RunResult::Failed);
        assert!(runs.items[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("wizard"));
        assert_eq!(runs.items[0].change_count, 0);
    }
);

store_test!(
    invalid_snapshot_fails_with_422_and_nothing_changes,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        sync(&store, &p, &request(base_snapshot()), 1).await;
        let before = all_users(&store, &p).await;
        let mut snap = base_snapshot();
        snap.users.push(user("1", "alice2", &[], &[]));
        let (status, body) = sync(&store, &p, &request(snap), 2).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["code"], "invalid_snapshot");
        assert!(!body["error"]["details"].as_array().unwrap().is_empty());
        assert_eq!(all_users(&store, &p).await, before);
        assert_eq!(
            store.list_runs(&p, 0, 10).await.unwrap().items[0].result,
            RunResult::Failed
        );
    }
);

store_test!(
    same_key_and_hash_replays_without_applying_twice,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let req = request(base_snapshot());
        let first = store
            .sync_directory(&p, &req, "k1", "h1", at(1))
            .await
            .unwrap();
        assert!(!first.is_replay());
        // Even with a changed directory in between, the replay answers the stored response.
        let again = store
            .sync_directory(&p, &req, "k1", "h1", at(2))
            .await
            .unwrap();
        assert!(again.is_replay());
        assert_eq!(again.status(), first.status());
        assert_eq!(again.body(), first.body());
        assert_eq!(store.list_runs(&p, 0, 10).await.unwrap().total, 1);
        assert_eq!(all_users(&store, &p).await.len(), 3);
        // A replayed failure replays its 422 too.
        let mut bad = base_snapshot();
        bad.users[0].roles.insert("wizard".into());
        let failed = store
            .sync_directory(&p, &request(bad.clone()), "k2", "h2", at(3))
            .await
            .unwrap();
        let replayed = store
            .sync_directory(&p, &request(bad), "k2", "h2", at(4))
            .await
            .unwrap();
        assert_eq!((failed.status(), replayed.status()), (422, 422));
        assert_eq!(failed.body(), replayed.body());
    }
);

store_test!(
    same_key_with_another_hash_is_a_conflict,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let req = request(base_snapshot());
        store
            .sync_directory(&p, &req, "k1", "h1", at(1))
            .await
            .unwrap();
        let err = store
            .sync_directory(&p, &req, "k1", "h2", at(2))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyConflict), "{err:?}");
        assert!(!err.is_retriable());
        // Keys are per project: another project may use the same key.
        let q = setup(&store, "other").await;
        let fresh = store
            .sync_directory(&q, &req, "k1", "h2", at(3))
            .await
            .unwrap();
        assert!(!fresh.is_replay());
    }
);

store_test!(
    unknown_project_is_an_error_and_writes_nothing,
    |store: Store| async move {
        let p = project("ghost");
        let err = store
            .sync_directory(&p, &request(base_snapshot()), "k", "h", at(1))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UnknownProject(_)), "{err:?}");
        assert!(!store.project_exists(&p).await.unwrap());
    }
);

store_test!(
    projects_cannot_see_each_others_objects,
    |store: Store| async move {
        let a = setup(&store, "a").await;
        let b = setup(&store, "b").await;
        let (_, body) = sync(&store, &a, &request(base_snapshot()), 1).await;
        let run_id = run_of(&body).run.id;
        let users = all_users(&store, &a).await;
        let groups = all_groups(&store, &a).await;
        assert!(all_users(&store, &b).await.is_empty());
        assert!(all_groups(&store, &b).await.is_empty());
        assert!(store.get_user(&b, &users[0].id).await.unwrap().is_none());
        assert!(store.get_group(&b, &groups[0].id).await.unwrap().is_none());
        assert!(store.get_run(&b, &run_id).await.unwrap().is_none());
        assert!(store
            .run_changes(&b, &run_id, 0, 10)
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.list_runs(&b, 0, 10).await.unwrap().total, 0);
        // The same source and external ids in B make B's own objects.
        sync(&store, &b, &request(base_snapshot()), 2).await;
        let b_users = all_users(&store, &b).await;
        assert_eq!(b_users.len(), 3);
        assert!(b_users.iter().all(|u| users.iter().all(|v| v.id != u.id)));
        assert_eq!(all_users(&store, &a).await, users);
    }
);

store_test!(users_page_and_filter, |store: Store| async move {
    let p = setup(&store, "acme").await;
    let mut users: Vec<_> = (0..25)
        .map(|i| {
            let team = if i % 2 == 0 { "10" } else { "20" };
            user(
                &format!("{i}"),
                &format!("agent{i:02}"),
                &[team],
                &["agent"],
            )
        })
        .collect();
    users[7].last_name = Some("O'Hara_%".into());
    users[8].email = Some("Special.Person@Example.COM".into());
    let snap = snapshot(
        "uccx",
        users.clone(),
        vec![group("10", "Even"), group("20", "Odd")],
    );
    sync(&store, &p, &request(snap), 1).await;
    users.remove(24);
    let mut req = request(snapshot(
        "uccx",
        users,
        vec![group("10", "Even"), group("20", "Odd")],
    ));
    req.allow_mass_disable = true;
    sync(&store, &p, &req, 2).await;

    let page = |offset, limit| UserQuery {
        offset: Some(offset),
        limit: Some(limit),
        ..Default::default()
    };
    let first = store.list_users(&p, &page(0, 10)).await.unwrap();
    assert_eq!((first.total, first.items.len(), first.limit), (25, 10, 10));
    assert_eq!(first.items[0].username, "agent00");
    let third = store.list_users(&p, &page(20, 10)).await.unwrap();
    assert_eq!(third.items.len(), 5);
    assert_eq!(third.items[4].username, "agent24");
    let beyond = store.list_users(&p, &page(100, 10)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 25);
    let default = store.list_users(&p, &UserQuery::default()).await.unwrap();
    assert_eq!((default.limit, default.items.len()), (100, 25));

    let groups = all_groups(&store, &p).await;
    let even = groups.iter().find(|g| g.name == "Even").unwrap();
    let q = UserQuery {
        group: Some(even.id.clone()),
        ..Default::default()
    };
    let members = store.list_users(&p, &q).await.unwrap();
    assert_eq!(members.total, 13);
    assert!(members.items.iter().all(|u| u.groups[0].name == "Even"));

    let q = UserQuery {
        enabled: Some(false),
        ..Default::default()
    };
    let disabled = store.list_users(&p, &q).await.unwrap();
    assert_eq!(
        disabled
            .items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["agent24"]
    );
    let q = UserQuery {
        enabled: Some(true),
        group: Some(even.id.clone()),
        ..Default::default()
    };
    assert_eq!(store.list_users(&p, &q).await.unwrap().total, 12);

    let search = |s: &str| UserQuery {
        q: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(
        store.list_users(&p, &search("AGENT1")).await.unwrap().total,
        10
    );
    let hit = store
        .list_users(&p, &search("special.person@"))
        .await
        .unwrap();
    assert_eq!(hit.items[0].username, "agent08");
    let hit = store.list_users(&p, &search("'hara_%")).await.unwrap();
    assert_eq!(
        hit.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["agent07"]
    );
    assert_eq!(
        store.list_users(&p, &search("_%")).await.unwrap().total,
        1,
        "wildcards are literal"
    );
    assert_eq!(
        store.list_users(&p, &search("first1")).await.unwrap().total,
        11
    );

    let q = UserQuery {
        username: Some("agent03".into()),
        ..Default::default()
    };
    assert_eq!(store.list_users(&p, &q).await.unwrap().total, 1);
    let q = UserQuery {
        source: Some("ucce".into()),
        ..Default::default()
    };
    assert_eq!(store.list_users(&p, &q).await.unwrap().total, 0);

    let gq = GroupQuery {
        name: Some("Odd".into()),
        ..Default::default()
    };
    let odd = store.list_groups(&p, &gq).await.unwrap();
    assert_eq!((odd.total, odd.items[0].member_count), (1, 12));
});

store_test!(
    run_history_is_newest_first_and_change_logs_page,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let users: Vec<_> = (0..30)
            .map(|i| user(&format!("{i}"), &format!("u{i:02}"), &[], &[]))
            .collect();
        let (_, body) = sync(
            &store,
            &p,
            &request(snapshot("uccx", users.clone(), vec![])),
            1,
        )
        .await;
        let first_id = run_of(&body).run.id;
        sync(
            &store,
            &p,
            &request(snapshot("uccx", users.clone(), vec![])),
            2,
        )
        .await;
        // Same hub time for two runs: still newest first.
        let (_, body) = sync(
            &store,
            &p,
            &request(snapshot("ucce", users[..2].to_vec(), vec![])),
            2,
        )
        .await;
        let last_id = run_of(&body).run.id;

        let runs = store.list_runs(&p, 0, 2).await.unwrap();
        assert_eq!((runs.total, runs.items.len()), (3, 2));
        assert_eq!(runs.items[0].id, last_id);
        assert_eq!(runs.items[0].source, "ucce");
        let rest = store.list_runs(&p, 2, 2).await.unwrap();
        assert_eq!(
            rest.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [first_id.as_str()]
        );

        let page1 = store
            .run_changes(&p, &first_id, 0, 20)
            .await
            .unwrap()
            .unwrap();
        let page2 = store
            .run_changes(&p, &first_id, 20, 20)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (page1.total, page1.items.len(), page2.items.len()),
            (30, 20, 10)
        );
        let names: Vec<String> = page1
            .items
            .iter()
            .chain(&page2.items)
            .map(|c| match c {
                ObjectChange::User(u) => u.username.clone(),
                ObjectChange::Group(g) => g.name.clone(),
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "the log keeps the plan order");
        assert!(store
            .run_changes(&p, "nope", 0, 10)
            .await
            .unwrap()
            .is_none());
    }
);

store_test!(
    groups_are_renamed_disabled_and_reenabled,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        sync(&store, &p, &request(base_snapshot()), 1).await;
        let mut snap = base_snapshot();
        snap.groups[0].name = "Sales EMEA".into();
        snap.groups.pop();
        for u in &mut snap.users {
            u.groups.remove(&ext("20"));
        }
        let (status, body) = sync(&store, &p, &request(snap), 2).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(
            (
                resp.run.summary.groups_updated,
                resp.run.summary.groups_disabled
            ),
            (1, 1)
        );
        let groups = all_groups(&store, &p).await;
        assert_eq!(
            groups
                .iter()
                .map(|g| (g.name.as_str(), g.enabled))
                .collect::<Vec<_>>(),
            [("Sales EMEA", true), ("Support", false)]
        );
        let carol = all_users(&store, &p)
            .await
            .into_iter()
            .find(|u| u.username == "carol")
            .unwrap();
        assert!(carol.groups.is_empty());
        let (_, body) = sync(&store, &p, &request(base_snapshot()), 3).await;
        assert_eq!(run_of(&body).run.summary.groups_reenabled, 1);
        let groups = all_groups(&store, &p).await;
        assert!(groups.iter().all(|g| g.enabled));
        assert_eq!(groups.len(), 2);
    }
);

store_test!(
    concurrent_syncs_of_one_source_both_succeed,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let snap = base_snapshot();
        let mut later = base_snapshot();
        later.users.push(user("4", "dave", &["10"], &["agent"]));
        // Either may run first; the smaller one then disables 1 of 4, which this limit allows.
        let lenient = |snap| {
            let mut req = request(snap);
            req.max_disable_ratio = 0.5;
            req
        };
        let (req_a, req_b) = (lenient(snap), lenient(later));
        let (s1, s2) = (store.clone(), store.clone());
        let (p1, p2) = (p.clone(), p.clone());
        let a = tokio::spawn(async move { s1.sync_directory(&p1, &req_a, "a", "a", at(1)).await });
        let b = tokio::spawn(async move { s2.sync_directory(&p2, &req_b, "b", "b", at(1)).await });
        let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
        assert_eq!((a.status(), b.status()), (200, 200));
        let users = all_users(&store, &p).await;
        let mut ids: Vec<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), users.len(), "no duplicate users");
        assert!(users.len() == 3 || users.len() == 4);
        assert_eq!(all_groups(&store, &p).await.len(), 2);
        assert_eq!(store.list_runs(&p, 0, 10).await.unwrap().total, 2);
    }
);

store_test!(
    concurrent_requests_with_one_key_apply_once,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (s, p) = (store.clone(), p.clone());
            tasks.push(tokio::spawn(async move {
                s.sync_directory(&p, &request(base_snapshot()), "same", "h", at(1))
                    .await
            }));
        }
        let mut fresh = 0;
        for t in tasks {
            let outcome = t.await.unwrap().unwrap();
            assert_eq!(outcome.status(), 200);
            if !outcome.is_replay() {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1);
        assert_eq!(store.list_runs(&p, 0, 10).await.unwrap().total, 1);
        assert_eq!(all_users(&store, &p).await.len(), 3);
    }
);

store_test!(
    two_thousand_users_round_trip_in_bulk,
    |store: Store| async move {
        let p = setup(&store, "acme").await;
        let groups: Vec<_> = (0..100)
            .map(|g| group(&format!("g{g}"), &format!("Team {g:03}")))
            .collect();
        let users: Vec<_> = (0..2000)
            .map(|i| {
                let g1 = format!("g{}", i % 100);
                let g2 = format!("g{}", (i * 7) % 100);
                user(
                    &format!("{i}"),
                    &format!("agent{i:05}"),
                    &[&g1, &g2],
                    &["agent"],
                )
            })
            .collect();
        let snap = snapshot("uccx", users.clone(), groups.clone());
        let (status, body) = sync(&store, &p, &request(snap.clone()), 1).await;
        assert_eq!(status, 200);
        let resp = run_of(&body);
        assert_eq!(resp.run.summary.users_created, 2000);
        assert_eq!(resp.changes.len(), wfm_protocol::SYNC_RESPONSE_CHANGES);
        let (_, body) = sync(&store, &p, &request(snap), 2).await;
        assert_eq!(run_of(&body).run.summary.users_unchanged, 2000);
        // Change a tenth of the users' skills and teams.
        let mut changed = users;
        for u in changed.iter_mut().step_by(10) {
            u.skills.insert("Billing".into(), 3);
            u.groups = [ext("g0")].into_iter().collect();
        }
        let (_, body) = sync(
            &store,
            &p,
            &request(snapshot("uccx", changed.clone(), groups.clone())),
            3,
        )
        .await;
        assert_eq!(run_of(&body).run.summary.users_updated, 200);
        let (_, body) = sync(&store, &p, &request(snapshot("uccx", changed, groups)), 4).await;
        assert!(
            run_of(&body).run.summary.is_noop(),
            "what was written reads back identically"
        );
        let q = UserQuery {
            q: Some("agent00010".into()),
            ..Default::default()
        };
        let u = store.list_users(&p, &q).await.unwrap().items.remove(0);
        assert_eq!(u.skills.get("Billing"), Some(&3));
        assert_eq!(u.groups.len(), 1);
    }
);

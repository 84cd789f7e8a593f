//! Projects, API tokens and the hash-chained audit log, on SQLite and PostgreSQL: tokens by
//! digest, revocation, project deletion refused while data exists, audit verify naming modified,
//! removed and reordered entries (edited with SQL), purge keeping the chain verifiable, and
//! concurrent appenders (two pools on one database) yielding one valid chain.

mod common;

use common::*;
use wfm_store::testing::exec;
use wfm_store::{
    AuditEvent, AuditFilter, AuditProblem, Db, NewApiToken, ProjectDeletion, Store, StoreError,
};

fn token(id: &str, project: &str, digest: &str, scopes: &[&str]) -> NewApiToken {
    NewApiToken {
        id: id.into(),
        project: common::project(project),
        name: Some(format!("label {id}")),
        digest: digest.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        created_at: at(0),
        expires_at: Some(at(3600)),
    }
}

fn event(n: i64, action: &str, outcome: &str) -> AuditEvent {
    AuditEvent {
        at: Some(at(n)),
        project: Some("acme".into()),
        principal: Some(format!("token-{n}")),
        source: Some("127.0.0.1:4000".into()),
        action: action.into(),
        outcome: outcome.into(),
        detail: None,
    }
}

async fn five_entries(store: &Store) {
    for n in 1..=5 {
        store
            .append_audit(&event(n, "auth", "success"))
            .await
            .unwrap();
    }
    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.checked, 5);
    assert_eq!(report.head_seq, 5);
}

store_test!(
    tokens_are_found_by_digest_listed_and_revoked,
    |store: Store| async move {
        store
            .ensure_project(&project("acme"), None, &[])
            .await
            .unwrap();
        store
            .ensure_project(&project("beta"), None, &[])
            .await
            .unwrap();
        store
            .create_api_token(&token("t1", "acme", &"a".repeat(64), &["ingest", "read"]))
            .await
            .unwrap();
        store
            .create_api_token(&token("t2", "beta", &"b".repeat(64), &["admin"]))
            .await
            .unwrap();
        let err = store
            .create_api_token(&token("t3", "nope", &"c".repeat(64), &["read"]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UnknownProject(_)), "{err}");

        let found = store
            .api_token_by_digest(&"a".repeat(64))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, "t1");
        assert_eq!(found.project_id, "acme");
        assert_eq!(found.scopes, vec!["ingest", "read"]);
        assert_eq!(
            found.expires_at.as_deref(),
            Some("2025-01-06T09:00:00.000000Z")
        );
        assert_eq!(found.revoked_at, None);
        assert!(store
            .api_token_by_digest(&"c".repeat(64))
            .await
            .unwrap()
            .is_none());

        assert_eq!(store.api_tokens(None).await.unwrap().len(), 2);
        let acme = store.api_tokens(Some(&project("acme"))).await.unwrap();
        assert_eq!(acme.len(), 1);

        store.touch_api_token("t1", at(10)).await.unwrap();
        let revoked = store.revoke_api_token("t1", at(20)).await.unwrap().unwrap();
        assert_eq!(
            revoked.revoked_at.as_deref(),
            Some("2025-01-06T08:00:20.000000Z")
        );
        assert_eq!(
            revoked.last_used_at.as_deref(),
            Some("2025-01-06T08:00:10.000000Z")
        );
        let again = store.revoke_api_token("t1", at(30)).await.unwrap().unwrap();
        assert_eq!(
            again.revoked_at, revoked.revoked_at,
            "the first revocation time stays"
        );
        assert!(store
            .revoke_api_token("nope", at(30))
            .await
            .unwrap()
            .is_none());

        let projects = store.projects().await.unwrap();
        let ids: Vec<_> = projects.iter().map(|p| (p.id.as_str(), p.tokens)).collect();
        assert_eq!(ids, vec![("acme", 1), ("beta", 1)]);
    }
);

store_test!(
    deleting_a_project_with_data_needs_the_explicit_flag,
    |store: Store| async move {
        let p = project("acme");
        store
            .ensure_project(&p, Some("Acme"), &["agent".into()])
            .await
            .unwrap();
        store
            .create_api_token(&token("t1", "acme", &"a".repeat(64), &["read"]))
            .await
            .unwrap();
        let req = request(snapshot(
            "uccx",
            vec![user("1", "alice", &["g1"], &[])],
            vec![group("g1", "Team")],
        ));
        let (status, _) = sync(&store, &p, &req, 0).await;
        assert_eq!(status, 200);
        let rows = store.project_data_rows(&p).await.unwrap();
        assert!(rows > 0);
        assert_eq!(
            store.delete_project(&p, false).await.unwrap(),
            ProjectDeletion::HasData { data_rows: rows }
        );
        assert!(store.project_exists(&p).await.unwrap());
        assert_eq!(
            store.delete_project(&p, true).await.unwrap(),
            ProjectDeletion::Deleted { data_rows: rows }
        );
        assert!(!store.project_exists(&p).await.unwrap());
        assert!(store
            .api_token_by_digest(&"a".repeat(64))
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            store.delete_project(&p, true).await.unwrap(),
            ProjectDeletion::NotFound
        );
        // The same id can be created again, empty.
        store.ensure_project(&p, None, &[]).await.unwrap();
        assert_eq!(store.project_data_rows(&p).await.unwrap(), 0);
        assert!(all_users(&store, &p).await.is_empty());
        let empty = project("empty");
        store.ensure_project(&empty, None, &[]).await.unwrap();
        assert_eq!(
            store.delete_project(&empty, false).await.unwrap(),
            ProjectDeletion::Deleted { data_rows: 0 }
        );
    }
);

store_test!(audit_entries_chain_and_filter, |store: Store| async move {
    five_entries(&store).await;
    store
        .append_audit(&event(6, "token.issue", "failure:unknown_project"))
        .await
        .unwrap();
    let all = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].seq, 1);
    assert_eq!(all[0].prev_hash, wfm_store::GENESIS_HASH);
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let failures = store
        .audit_entries(&AuditFilter {
            outcome: Some("failure".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].action, "token.issue");
    let recent = store
        .audit_entries(&AuditFilter {
            since: Some(at(4)),
            action: Some("auth".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    let limited = store
        .audit_entries(&AuditFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        limited.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![5, 6]
    );
    assert_eq!(store.verify_audit().await.unwrap().problem, None);
});

store_test!(verify_names_a_modified_entry, |store: Store| async move {
    five_entries(&store).await;
    exec(
        &store,
        "UPDATE audit_log SET outcome = 'success' WHERE seq = 3",
    )
    .await;
    assert_eq!(
        store.verify_audit().await.unwrap().problem,
        None,
        "same content, same hash"
    );
    exec(
        &store,
        "UPDATE audit_log SET principal = 'someone-else' WHERE seq = 3",
    )
    .await;
    let problem = store.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!(problem, AuditProblem::Modified { seq: 3 });
    assert!(
        problem.to_string().contains("entry 3 was modified"),
        "{problem}"
    );
});

store_test!(verify_names_a_removed_entry, |store: Store| async move {
    five_entries(&store).await;
    exec(&store, "DELETE FROM audit_log WHERE seq = 2").await;
    let problem = store.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!(
        problem,
        AuditProblem::Removed {
            seq: 2,
            before: 1,
            after: 3
        }
    );
    assert!(
        problem.to_string().contains("entry 2 was removed"),
        "{problem}"
    );
});

store_test!(
    verify_names_a_removed_last_entry,
    |store: Store| async move {
        five_entries(&store).await;
        exec(&store, "DELETE FROM audit_log WHERE seq = 5").await;
        let problem = store.verify_audit().await.unwrap().problem.unwrap();
        assert_eq!(
            problem,
            AuditProblem::Removed {
                seq: 5,
                before: 4,
                after: 5
            }
        );
    }
);

store_test!(verify_names_reordered_entries, |store: Store| async move {
    five_entries(&store).await;
    exec(&store, "UPDATE audit_log SET seq = 100 WHERE seq = 3").await;
    exec(&store, "UPDATE audit_log SET seq = 3 WHERE seq = 4").await;
    exec(&store, "UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
    let problem = store.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!(problem, AuditProblem::Reordered { seq: 3, before: 2 });
    assert!(
        problem.to_string().contains("entry 3 is out of order"),
        "{problem}"
    );
});

store_test!(
    purge_keeps_the_rest_verifiable_and_is_recorded,
    |store: Store| async move {
        five_entries(&store).await;
        let mut purge = event(100, "audit.purge", "success");
        purge.principal = Some("cli".into());
        let removed = store.purge_audit(at(3), &purge).await.unwrap();
        assert_eq!(removed, 2);
        let report = store.verify_audit().await.unwrap();
        assert_eq!(report.problem, None, "{report:?}");
        assert_eq!(report.anchor_seq, 2);
        assert_eq!(report.head_seq, 6);
        let entries = store.audit_entries(&AuditFilter::default()).await.unwrap();
        assert_eq!(entries.first().map(|e| e.seq), Some(3));
        let last = entries.last().unwrap();
        assert_eq!(last.action, "audit.purge");
        assert!(
            last.detail
                .as_deref()
                .unwrap_or("")
                .contains("removed 2 entries"),
            "{last:?}"
        );
        // A removal right after the anchor is still found.
        exec(&store, "DELETE FROM audit_log WHERE seq = 3").await;
        let problem = store.verify_audit().await.unwrap().problem.unwrap();
        assert_eq!(
            problem,
            AuditProblem::Removed {
                seq: 3,
                before: 2,
                after: 4
            }
        );
    }
);

store_test!(
    concurrent_appenders_on_two_pools_yield_one_chain,
    |store: Store| async move {
        let url = match store.db() {
            Db::Sqlite(pool) => format!(
                "sqlite://{}",
                pool.connect_options().get_filename().display()
            ),
            Db::Postgres(pool) => {
                let o = pool.connect_options();
                format!(
                    "postgres://{}@{}:{}/{}",
                    o.get_username(),
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or("test")
                )
            }
        };
        let second = Store::open(&url, 4).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..40i64 {
            let s = if n % 2 == 0 {
                store.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                s.append_audit(&event(n, "auth", "success")).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let report = store.verify_audit().await.unwrap();
        assert_eq!(report.problem, None);
        assert_eq!(report.checked, 40);
        assert_eq!(report.head_seq, 40);
        match second.db() {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
);

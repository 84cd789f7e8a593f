//! Encryption at rest through the store's own write and read paths, on SQLite and PostgreSQL:
//! what a sealed store writes is `enc1:` in the columns that hold personal data and clear text
//! when read back through the API; the `q` search still works; the per-key encryption bound
//! forces automatic data-key rotations in the middle of a series of syncs without losing or
//! garbling a value; a store without the KEK refuses sealed data with a clear error.

mod common;

use common::*;
use std::sync::Arc;
use wfm_crypto::LocalKek;
use wfm_store::{Db, Store};

fn kek() -> Arc<LocalKek> {
    Arc::new(LocalKek::from_hex("kek-1", &"7e".repeat(32)).unwrap())
}

/// Every value of one text column.
async fn column(store: &Store, sql: &str) -> Vec<String> {
    let rows: Vec<(Option<String>,)> = match store.db() {
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    };
    rows.into_iter().filter_map(|(v,)| v).collect()
}

fn users_named(n: usize, generation: usize) -> Vec<wfm_model::DirectoryUser> {
    (0..n)
        .map(|i| {
            let mut u = user(
                &format!("{i}"),
                &format!("agent{i:03}"),
                &["10"],
                &["agent"],
            );
            u.last_name = Some(format!("Family{i}-{generation}"));
            u
        })
        .collect()
}

store_test!(
    sealed_columns_hold_ciphertext_and_read_back_in_clear,
    |plain: Store| async move {
        let store = plain.clone().with_encryption(kek());
        let p = setup(&store, "alpha").await;
        let snap = snapshot("uccx", users_named(5, 0), vec![group("10", "Sales")]);
        let (status, body) = sync(&store, &p, &request(snap), 1).await;
        assert_eq!(status, 200, "{body}");

        for sql in [
            "SELECT first_name FROM users",
            "SELECT last_name FROM users",
            "SELECT email FROM users",
            "SELECT value FROM user_attributes WHERE name = 'phoneExtension'",
            "SELECT value FROM group_attributes",
            "SELECT change FROM sync_run_changes",
            "SELECT body FROM idempotency_keys",
        ] {
            let values = column(&plain, sql).await;
            assert!(!values.is_empty(), "{sql}");
            assert!(
                values.iter().all(|v| v.starts_with("enc1:")),
                "{sql}: {values:?}"
            );
        }
        // The agent id is the join key of agent states and schedules: it stays in clear.
        let ids = column(
            &plain,
            "SELECT value FROM user_attributes WHERE name = 'agentId'",
        )
        .await;
        assert!(ids.iter().any(|v| v == "agent003"), "{ids:?}");

        let users = all_users(&store, &p).await;
        assert_eq!(users.len(), 5);
        assert_eq!(users[3].last_name.as_deref(), Some("Family3-0"));
        assert_eq!(users[3].email.as_deref(), Some("agent003@example.com"));
        assert_eq!(
            users[3].attributes["phoneExtension"],
            vec!["13".to_string()]
        );

        // The substring search runs over the opened values.
        let q = wfm_protocol::UserQuery {
            q: Some("family3-".into()),
            ..Default::default()
        };
        let page = store.list_users(&p, &q).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].username, "agent003");
        let q = wfm_protocol::UserQuery {
            q: Some("EXAMPLE.COM".into()),
            limit: Some(2),
            offset: Some(1),
            ..Default::default()
        };
        let page = store.list_users(&p, &q).await.unwrap();
        assert_eq!((page.total, page.items.len()), (5, 2));
        assert_eq!(page.items[0].username, "agent001");

        // The change log opens too.
        let runs = store.list_runs(&p, 0, 10).await.unwrap();
        let changes = store
            .run_changes(&p, &runs.items[0].id, 0, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changes.items.len(), 6);

        // Without the KEK the sealed values are refused with the reason, not shown.
        let q = wfm_protocol::UserQuery::default();
        let err = plain.list_users(&p, &q).await.unwrap_err().to_string();
        assert!(
            err.contains("encrypted") && err.contains("[encryption]"),
            "{err}"
        );
    }
);

store_test!(
    the_encryption_bound_rotates_data_keys_between_and_during_syncs,
    |plain: Store| async move {
        // 2,000 encryptions per data key; each sync below seals about 300 values.
        let store = plain.clone().with_encryption_limit(kek(), 2_000);
        let p = setup(&store, "alpha").await;
        for generation in 0..12 {
            let snap = snapshot(
                "uccx",
                users_named(50, generation),
                vec![group("10", "Sales")],
            );
            let (status, body) = sync(&store, &p, &request(snap), generation as i64).await;
            assert_eq!(status, 200, "generation {generation}: {body}");
        }
        let users = all_users(&store, &p).await;
        assert_eq!(users.len(), 50);
        for (i, u) in users.iter().enumerate() {
            assert_eq!(
                u.last_name.as_deref(),
                Some(format!("Family{i}-11").as_str())
            );
        }
        let status = plain.key_status().await.unwrap();
        let keys = &status[0].data_keys;
        assert!(keys.len() >= 2, "no automatic rotation: {keys:?}");
        assert!(keys.iter().all(|k| k.encryptions <= 2_000), "{keys:?}");
        assert_eq!(keys.iter().filter(|k| k.active).count(), 1);

        // A second process with the same KEK reads everything, whatever key sealed it.
        let other = plain.clone().with_encryption(kek());
        let again = all_users(&other, &p).await;
        assert_eq!(again, users);
    }
);

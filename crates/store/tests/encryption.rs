//! Encryption at rest, the store's key handling, on SQLite and PostgreSQL: keys created once per
//! project and shared by every handle, sealed values bound to their place, legacy plaintext
//! readable, reservations counted before use and surviving reloads, automatic rotation at the
//! bound, `keys rotate` (new data key, old values readable), KEK re-wrap (old KEK retired, all
//! values readable), a wrong KEK named in the error, blind indexes, and no key material or
//! plaintext in the key table.

mod common;

use std::sync::Arc;

use common::*;
use wfm_crypto::{KekRing, KeyEncryptionKey, LocalKek, DEFAULT_ENCRYPTION_LIMIT};
use wfm_store::{Db, ProjectCrypto, Store, StoreError};

fn kek(id: &str) -> Arc<dyn KeyEncryptionKey> {
    Arc::new(LocalKek::generate(id).unwrap())
}

async fn crypto(store: &Store, p: &str, kek: &dyn KeyEncryptionKey) -> ProjectCrypto {
    store
        .project_crypto(&project(p), kek, DEFAULT_ENCRYPTION_LIMIT)
        .await
        .unwrap()
}

async fn key_table_text(store: &Store) -> String {
    let rows: Vec<(String, String)> = match store.db() {
        Db::Sqlite(pool) => sqlx::query_as("SELECT data_keys, index_key FROM encryption_keys")
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_as("SELECT data_keys, index_key FROM encryption_keys")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    rows.into_iter()
        .map(|(a, b)| format!("{a}\n{b}\n"))
        .collect()
}

store_test!(
    sealed_values_open_only_in_their_place,
    |store: Store| async move {
        let k = kek("kek-1");
        let mut c = crypto(&store, "acme", k.as_ref()).await;
        let err = c.seal("users", "email", "u1", "x").unwrap_err();
        assert!(matches!(err, StoreError::Encryption(_)), "{err}");
        store
            .reserve_encryptions(&mut c, k.as_ref(), 4)
            .await
            .unwrap();
        assert_eq!(c.allowance(), 4);
        let sealed = c
            .seal("users", "email", "u1", "zebulon@example.test")
            .unwrap();
        assert!(ProjectCrypto::is_sealed(&sealed));
        assert!(!sealed.contains("zebulon"));
        assert_eq!(
            c.open("users", "email", "u1", &sealed).unwrap(),
            "zebulon@example.test"
        );
        for (table, column, row) in [
            ("users", "email", "u2"),
            ("users", "first_name", "u1"),
            ("user_attributes", "email", "u1"),
        ] {
            let err = c.open(table, column, row, &sealed).unwrap_err();
            assert!(matches!(err, StoreError::Encryption(_)), "{err}");
        }
        // Another project's keys cannot open it either.
        let mut other = crypto(&store, "globex", k.as_ref()).await;
        store
            .reserve_encryptions(&mut other, k.as_ref(), 1)
            .await
            .unwrap();
        assert!(other.open("users", "email", "u1", &sealed).is_err());
        // Legacy plaintext rows stay readable.
        assert_eq!(c.open("users", "email", "u1", "old@x").unwrap(), "old@x");
        // A second handle (another replica) gets the same keys.
        let again = crypto(&store, "acme", k.as_ref()).await;
        assert_eq!(again.active_key_id(), c.active_key_id());
        assert_eq!(
            again.open("users", "email", "u1", &sealed).unwrap(),
            "zebulon@example.test"
        );
        let text = key_table_text(&store).await;
        assert!(!text.contains("zebulon"));
    }
);

store_test!(
    reservations_are_counted_before_use,
    |store: Store| async move {
        let k = kek("kek-1");
        let mut c = crypto(&store, "acme", k.as_ref()).await;
        store
            .reserve_encryptions(&mut c, k.as_ref(), 10)
            .await
            .unwrap();
        c.seal("users", "email", "u1", "a").unwrap();
        // A restart forgets the unused allowance but not the count.
        let mut fresh = crypto(&store, "acme", k.as_ref()).await;
        assert_eq!(fresh.allowance(), 0);
        store
            .reserve_encryptions(&mut fresh, k.as_ref(), 5)
            .await
            .unwrap();
        let status = store.key_status().await.unwrap();
        assert_eq!(status.len(), 1);
        let keys = &status[0].data_keys;
        assert_eq!(keys.len(), 1);
        assert!(keys[0].active);
        assert_eq!(keys[0].encryptions, 15);
        assert_eq!(keys[0].kek_id, "kek-1");
        assert_eq!(status[0].index_kek_id, "kek-1");
    }
);

store_test!(
    the_bound_rotates_to_a_fresh_data_key,
    |store: Store| async move {
        let k = kek("kek-1");
        let p = project("acme");
        let mut c = store.project_crypto(&p, k.as_ref(), 10).await.unwrap();
        let err = store
            .reserve_encryptions(&mut c, k.as_ref(), 11)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Encryption(_)), "{err}");
        store
            .reserve_encryptions(&mut c, k.as_ref(), 8)
            .await
            .unwrap();
        let first = c.active_key_id().clone();
        let old = c.seal("users", "last_name", "u1", "Quixotic").unwrap();
        store
            .reserve_encryptions(&mut c, k.as_ref(), 8)
            .await
            .unwrap();
        assert_ne!(c.active_key_id(), &first, "8 + 8 > 10 must rotate");
        assert_eq!(c.allowance(), 8);
        let new = c.seal("users", "last_name", "u2", "Quixotic").unwrap();
        assert_eq!(
            c.open("users", "last_name", "u1", &old).unwrap(),
            "Quixotic"
        );
        assert_eq!(
            c.open("users", "last_name", "u2", &new).unwrap(),
            "Quixotic"
        );
        let status = store.key_status().await.unwrap();
        let mut counts: Vec<(bool, u64)> = status[0]
            .data_keys
            .iter()
            .map(|k| (k.active, k.encryptions))
            .collect();
        counts.sort();
        assert_eq!(counts, vec![(false, 8), (true, 8)]);
    }
);

store_test!(
    rotation_and_kek_rewrap_keep_everything_readable,
    |store: Store| async move {
        let old_kek = kek("kek-old");
        let mut c = crypto(&store, "acme", old_kek.as_ref()).await;
        store
            .reserve_encryptions(&mut c, old_kek.as_ref(), 2)
            .await
            .unwrap();
        let before = c
            .seal("user_attributes", "value", "u1:alias", "Xanthippe")
            .unwrap();

        // `keys rotate`: new data key for new writes, the running handle picks it up on reserve.
        let rotated = store.rotate_data_keys(old_kek.as_ref()).await.unwrap();
        assert_eq!(rotated.len(), 1);
        assert_eq!(rotated[0].0, "acme");
        store
            .reserve_encryptions(&mut c, old_kek.as_ref(), 2)
            .await
            .unwrap();
        assert_eq!(c.active_key_id().as_str(), rotated[0].1);
        let after_rotate = c.seal("users", "email", "u1", "xan@example.test").unwrap();

        // KEK re-wrap: a ring with the new KEK current and the old one to unwrap.
        let new_kek = kek("kek-new");
        let ring = KekRing::new(new_kek.clone()).with_other(old_kek.clone());
        let report = store.rewrap_keys(&ring).await.unwrap();
        assert_eq!(report.projects, 1);
        assert_eq!(report.data_keys, 2);
        for project in store.key_status().await.unwrap() {
            assert_eq!(project.index_kek_id, "kek-new");
            assert!(project.data_keys.iter().all(|k| k.kek_id == "kek-new"));
        }

        // The old KEK is retired: only the new one is configured.
        let err = store
            .project_crypto(&project("acme"), old_kek.as_ref(), DEFAULT_ENCRYPTION_LIMIT)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot unwrap"), "{err}");
        let mut c = crypto(&store, "acme", new_kek.as_ref()).await;
        store
            .reserve_encryptions(&mut c, new_kek.as_ref(), 1)
            .await
            .unwrap();
        let after_rewrap = c.seal("users", "email", "u2", "new@example.test").unwrap();
        assert_eq!(
            c.open("user_attributes", "value", "u1:alias", &before)
                .unwrap(),
            "Xanthippe"
        );
        assert_eq!(
            c.open("users", "email", "u1", &after_rotate).unwrap(),
            "xan@example.test"
        );
        assert_eq!(
            c.open("users", "email", "u2", &after_rewrap).unwrap(),
            "new@example.test"
        );
    }
);

store_test!(
    blind_indexes_match_within_a_project_only,
    |store: Store| async move {
        let k = kek("kek-1");
        let a = crypto(&store, "acme", k.as_ref()).await;
        let a2 = crypto(&store, "acme", k.as_ref()).await;
        let b = crypto(&store, "globex", k.as_ref()).await;
        let i = a.blind_index("email", "zoe@example.test");
        assert!(i.starts_with(wfm_store::BLIND_INDEX_PREFIX));
        assert!(!i.contains("zoe"));
        assert_eq!(i, a2.blind_index("email", "zoe@example.test"));
        assert_ne!(i, a.blind_index("email", "zoë@example.test"));
        assert_ne!(i, a.blind_index("username", "zoe@example.test"));
        assert_ne!(i, b.blind_index("email", "zoe@example.test"));
        // The index key survives a KEK re-wrap unchanged.
        let new_kek = kek("kek-2");
        let ring = KekRing::new(new_kek.clone()).with_other(k.clone());
        store.rewrap_keys(&ring).await.unwrap();
        let a3 = crypto(&store, "acme", new_kek.as_ref()).await;
        assert_eq!(i, a3.blind_index("email", "zoe@example.test"));
    }
);

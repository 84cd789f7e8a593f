//! Test harness: a fresh store per test on SQLite (temp file) and on PostgreSQL (a new database
//! per test, dropped at the end best-effort).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use wfm_model::{
    Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, ExternalId, ProjectId, SourceId,
};
use wfm_store::testing::TestDatabase;
use wfm_store::{Db, Store};

/// A store under test and the throwaway database behind it (dropped with it).
pub struct TestStore {
    pub store: Store,
    db: TestDatabase,
}

impl TestStore {
    /// A fresh SQLite store in a temp directory.
    pub async fn sqlite() -> TestStore {
        Self::over(TestDatabase::sqlite()).await
    }

    /// A fresh PostgreSQL store in its own new database.
    pub async fn postgres() -> TestStore {
        Self::over(TestDatabase::postgres().await).await
    }

    async fn over(db: TestDatabase) -> TestStore {
        let store = Store::open(db.url(), 4).await.unwrap();
        TestStore { store, db }
    }

    /// Closes the pools, then drops the database.
    pub async fn finish(self) {
        match self.store.db() {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
        self.db.finish().await;
    }
}

/// Runs one async scenario against both backends: `store_test!(name, |store| async move { … })`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::common::TestStore::sqlite().await;
                let f = $body;
                f(t.store.clone()).await;
                t.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let t = $crate::common::TestStore::postgres().await;
                let f = $body;
                f(t.store.clone()).await;
                t.finish().await;
            }
        }
    };
}

pub fn project(id: &str) -> ProjectId {
    ProjectId::new(id).unwrap()
}

pub fn ext(id: &str) -> ExternalId {
    ExternalId::new(id).unwrap()
}

/// A user with a few attributes, one skill, the given groups and roles.
pub fn user(id: &str, username: &str, groups: &[&str], roles: &[&str]) -> DirectoryUser {
    let mut attributes = Attributes::new();
    attributes.insert("agentId".into(), vec![username.to_string()]);
    attributes.insert("phoneExtension".into(), vec![format!("1{id}")]);
    let mut skills = BTreeMap::new();
    skills.insert("Sales".to_string(), 5u8);
    DirectoryUser {
        external_id: ext(id),
        username: username.to_string(),
        first_name: Some(format!("First{id}")),
        last_name: Some(format!("Last{id}")),
        email: Some(format!("{username}@example.com")),
        attributes,
        skills,
        groups: groups.iter().map(|g| ext(g)).collect(),
        roles: roles.iter().map(|r| r.to_string()).collect::<BTreeSet<_>>(),
    }
}

/// A group with its `externalGroupId` attribute.
pub fn group(id: &str, name: &str) -> DirectoryGroup {
    let mut attributes = Attributes::new();
    attributes.insert("externalGroupId".into(), vec![id.to_string()]);
    DirectoryGroup {
        external_id: ext(id),
        name: name.to_string(),
        attributes,
    }
}

pub fn snapshot(
    source: &str,
    users: Vec<DirectoryUser>,
    groups: Vec<DirectoryGroup>,
) -> DirectorySnapshot {
    DirectorySnapshot {
        source: SourceId::new(source).unwrap(),
        users,
        groups,
    }
}

/// The hub's time for the n-th call of a test.
pub fn at(n: i64) -> time::OffsetDateTime {
    time::macros::datetime!(2025-01-06 08:00:00 UTC) + time::Duration::seconds(n)
}

/// A sync request with the default safety limit.
pub fn request(snapshot: DirectorySnapshot) -> wfm_protocol::SyncRequest {
    wfm_protocol::SyncRequest {
        snapshot,
        dry_run: false,
        allow_mass_disable: false,
        max_disable_ratio: 0.2,
        warnings: Vec::new(),
    }
}

/// Runs a sync at hub time `at(n)` with a fresh idempotency key (hash = key) and returns its
/// status and JSON body.
pub async fn sync(
    store: &Store,
    p: &ProjectId,
    req: &wfm_protocol::SyncRequest,
    n: i64,
) -> (u16, serde_json::Value) {
    static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let key = format!(
        "key-{}",
        NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let outcome = store
        .sync_directory(p, req, &key, &key, at(n))
        .await
        .unwrap();
    assert!(!outcome.is_replay());
    let body = serde_json::from_slice(outcome.body()).unwrap();
    (outcome.status(), body)
}

/// All users of the project (up to 1000), in list order.
pub async fn all_users(store: &Store, p: &ProjectId) -> Vec<wfm_protocol::UserView> {
    let q = wfm_protocol::UserQuery {
        limit: Some(1000),
        ..Default::default()
    };
    store.list_users(p, &q).await.unwrap().items
}

/// All groups of the project (up to 1000), in list order.
pub async fn all_groups(store: &Store, p: &ProjectId) -> Vec<wfm_protocol::GroupView> {
    let q = wfm_protocol::GroupQuery {
        limit: Some(1000),
        ..Default::default()
    };
    store.list_groups(p, &q).await.unwrap().items
}

/// A project with the roles `agent` and `supervisor`.
pub async fn setup(store: &Store, id: &str) -> ProjectId {
    let p = project(id);
    store
        .ensure_project(&p, None, &["agent".into(), "supervisor".into()])
        .await
        .unwrap();
    p
}

/// Two teams, three users (one supervisor).
pub fn base_snapshot() -> DirectorySnapshot {
    snapshot(
        "uccx",
        vec![
            user("1", "alice", &["10"], &["agent"]),
            user("2", "bob", &["10", "20"], &["agent", "supervisor"]),
            user("3", "carol", &["20"], &["agent"]),
        ],
        vec![group("10", "Sales"), group("20", "Support")],
    )
}

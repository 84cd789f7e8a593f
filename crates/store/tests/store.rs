//! The store suite: every scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use wfm_store::Store;

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

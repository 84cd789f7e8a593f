//! Bulk upload records: create, read (scoped by project), list, claim for one key, finish once (the data key is
//! cleared, a second finish changes nothing), purge of never-ingested expired uploads. Every
//! scenario runs on SQLite and on PostgreSQL.

mod common;

use common::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_store::{BulkAnswer, NewBulkUpload, Store, StoreError};

const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

fn upload(id: &str, created: OffsetDateTime) -> NewBulkUpload {
    NewBulkUpload {
        id: id.into(),
        route: "intervals".into(),
        object_path: format!("wfm-bulk/acme/{id}"),
        bytes: 5_000_000_000,
        sha256: "a".repeat(64),
        data_key: "a2V5".into(),
        created_at: created,
        expires_at: created + Duration::minutes(15),
    }
}

fn answer(key: &str) -> BulkAnswer {
    BulkAnswer {
        idempotency_key: key.into(),
        status: 200,
        body: "{\"inserted\":1}".into(),
    }
}

store_test!(
    uploads_are_recorded_per_project,
    |store: Store| async move {
        let acme = setup(&store, "acme").await;
        let other = setup(&store, "other").await;
        store
            .create_bulk_upload(&acme, &upload("u1", T0))
            .await
            .unwrap();
        store
            .create_bulk_upload(&acme, &upload("u2", T0 + Duration::seconds(1)))
            .await
            .unwrap();
        let got = store.bulk_upload(&acme, "u1").await.unwrap().unwrap();
        assert_eq!(got.route, "intervals");
        assert_eq!(got.bytes, 5_000_000_000, "sizes above 2^32 survive");
        assert_eq!(got.data_key.as_deref(), Some("a2V5"));
        assert!(got.answer.is_none() && got.ingested_at.is_none());
        assert!(!got.is_expired(T0 + Duration::minutes(14)));
        assert!(got.is_expired(T0 + Duration::minutes(15)));
        // Another project neither sees nor lists it.
        assert!(store.bulk_upload(&other, "u1").await.unwrap().is_none());
        assert!(store.bulk_uploads(&other, 10).await.unwrap().is_empty());
        let ids: Vec<String> = store
            .bulk_uploads(&acme, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(
            ids,
            vec!["u2".to_string(), "u1".to_string()],
            "newest first"
        );
        let unknown = store
            .create_bulk_upload(&project("nobody"), &upload("u3", T0))
            .await;
        assert!(matches!(unknown, Err(StoreError::UnknownProject(_))));
    }
);

store_test!(an_upload_is_finished_once, |store: Store| async move {
    let acme = setup(&store, "acme").await;
    let other = setup(&store, "other").await;
    store
        .create_bulk_upload(&acme, &upload("u1", T0))
        .await
        .unwrap();
    assert!(!store.claim_bulk_upload(&other, "u1", "k").await.unwrap());
    assert!(store.claim_bulk_upload(&acme, "u1", "k").await.unwrap());
    assert!(
        store.claim_bulk_upload(&acme, "u1", "k").await.unwrap(),
        "same key again"
    );
    assert!(!store.claim_bulk_upload(&acme, "u1", "k2").await.unwrap());
    let claimed = store.bulk_upload(&acme, "u1").await.unwrap().unwrap();
    assert!(claimed.answer.is_none(), "claimed is not finished");
    let later = T0 + Duration::minutes(1);
    assert!(!store
        .finish_bulk_upload(&other, "u1", &answer("k"), later)
        .await
        .unwrap());
    assert!(store
        .finish_bulk_upload(&acme, "u1", &answer("k"), later)
        .await
        .unwrap());
    assert!(!store
        .finish_bulk_upload(&acme, "u1", &answer("k2"), later)
        .await
        .unwrap());
    let got = store.bulk_upload(&acme, "u1").await.unwrap().unwrap();
    assert_eq!(got.data_key, None, "the data key is cleared");
    assert_eq!(got.answer, Some(answer("k")));
    assert!(got.ingested_at.is_some());
});

store_test!(
    expired_uploads_are_purged_unless_ingested,
    |store: Store| async move {
        let acme = setup(&store, "acme").await;
        store
            .create_bulk_upload(&acme, &upload("old", T0))
            .await
            .unwrap();
        store
            .create_bulk_upload(&acme, &upload("done", T0))
            .await
            .unwrap();
        store
            .create_bulk_upload(&acme, &upload("fresh", T0 + Duration::hours(2)))
            .await
            .unwrap();
        store
            .finish_bulk_upload(&acme, "done", &answer("k"), T0)
            .await
            .unwrap();
        let removed = store
            .purge_expired_bulk_uploads(T0 + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert!(store.bulk_upload(&acme, "old").await.unwrap().is_none());
        assert!(store.bulk_upload(&acme, "done").await.unwrap().is_some());
        assert!(store.bulk_upload(&acme, "fresh").await.unwrap().is_some());
    }
);

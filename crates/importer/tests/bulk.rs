//! The bulk transport end to end: the importer's delivery service (real outbox) sends an interval
//! batch larger than `[hub] bulk_threshold_bytes` through a real hub (`wfm_hub::server::start`)
//! whose `[bulk]` points at moto's S3 server on a loopback port: the hub records the upload, the
//! object store received the ciphertext (and the hub deleted it after the ingest), and the
//! intervals are readable at the hub. A small batch goes directly; a hub without `[bulk]` gets
//! the large batch directly too. On SQLite and PostgreSQL.

#[path = "../../hub/tests/support/moto.rs"]
mod moto;

use moto::Moto;
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use wfm_config::{HubClientConfig, Secret};
use wfm_importer::delivery::{Delivery, Final, Kind, RetryPolicy};
use wfm_model::ProjectId;
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};
use wfm_protocol::intervals::{
    IntervalBatch, IntervalFigures, IntervalOrigin, IntervalRow, QueueInfo, TimeRange,
};
use wfm_store::testing::TestDatabase;
use wfm_store::Store;

const TOKEN: &str = "bulk-token-0123456789abcdef0123456789abcdef";
const BUCKET: &str = "wfm-importer-test";
const T0: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);
const THRESHOLD: u64 = 4096;

struct Rig {
    hub: wfm_hub::server::RunningHub,
    db: TestDatabase,
    delivery: Arc<Delivery>,
    _dir: tempfile::TempDir,
}

async fn rig(db: TestDatabase, moto: Option<&Moto>) -> Rig {
    let bulk = match moto {
        Some(m) => format!(
            "[bulk]\nendpoint = \"{}\"\nbucket = \"{BUCKET}\"\nregion = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nallow_http = true\n",
            m.endpoint,
            moto::REGION,
            moto::ACCESS_KEY,
            moto::SECRET_KEY
        ),
        None => String::new(),
    };
    let hub_toml = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\
         [storage]\nurl = \"{}\"\nmax_connections = 4\n{}\
         [[projects]]\nid = \"bulk\"\ntoken = \"{TOKEN}\"\n{bulk}",
        db.url(),
        wfm_store::testing::encryption_toml()
    );
    let config = wfm_config::parse_hub(&hub_toml, "hub.toml", &|_| None).unwrap();
    let hub = wfm_hub::server::start(config).await.unwrap();
    let hub_cfg = HubClientConfig {
        url: hub.base_url(),
        project: ProjectId::new("bulk").unwrap(),
        token: Secret::new(TOKEN),
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(30),
        bulk_threshold_bytes: THRESHOLD,
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = OutboxConfig::new(dir.path().join("outbox"), OutboxKey::from_bytes([9u8; 32]));
    let outbox = Arc::new(Outbox::open(cfg).unwrap().0);
    let retry = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(500),
    };
    let delivery = Delivery::new(&hub_cfg, outbox, retry, 5).unwrap();
    Rig {
        hub,
        db,
        delivery,
        _dir: dir,
    }
}

/// An interval batch of `days` days for four queues (about 100 KiB a day as JSON).
fn interval_batch(days: i64) -> Vec<u8> {
    let to = T0 + time::Duration::days(days);
    let queues: Vec<QueueInfo> = (1..=4)
        .map(|i| QueueInfo {
            id: format!("q{i}"),
            name: format!("Queue {i}"),
        })
        .collect();
    let mut rows = Vec::new();
    let mut start = T0;
    while start < to {
        for q in &queues {
            rows.push(IntervalRow {
                queue: q.id.clone(),
                start,
                figures: IntervalFigures {
                    presented: 3,
                    handled: 3,
                    talk_ms: 180_000,
                    answered_within_sl: 3,
                    ..IntervalFigures::default()
                },
            });
        }
        start += time::Duration::minutes(15);
    }
    let batch = IntervalBatch {
        source: "uccx".into(),
        interval_minutes: 15,
        time_zone: "UTC".into(),
        origin: IntervalOrigin::UccxLegs,
        window: TimeRange { from: T0, to },
        queues,
        rows,
    };
    serde_json::to_vec(&batch).unwrap()
}

/// Submits one interval batch and waits until the hub has it.
async fn deliver(rig: &Rig, payload: Vec<u8>) -> serde_json::Value {
    let id = rig
        .delivery
        .submit(Kind::Intervals, "uccx", payload, b"cp".to_vec(), true)
        .await
        .unwrap();
    match rig
        .delivery
        .wait(Kind::Intervals, "uccx", id)
        .await
        .unwrap()
    {
        Final::Delivered { status, body } => {
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            serde_json::from_slice(&body).unwrap()
        }
        other => panic!("not delivered: {other:?}"),
    }
}

/// Interval rows the hub serves for `[T0, T0 + days)`.
async fn hub_rows(rig: &Rig, days: i64) -> usize {
    let to = T0 + time::Duration::days(days);
    let fmt = &time::format_description::well_known::Rfc3339;
    let resp: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/intervals", rig.hub.base_url()))
        .bearer_auth(TOKEN)
        .query(&[
            ("from", T0.format(fmt).unwrap()),
            ("to", to.format(fmt).unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["intervals"].as_array().map(Vec::len).unwrap_or(0)
}

async fn uploads(rig: &Rig) -> Vec<wfm_store::BulkUpload> {
    let store = Store::open(rig.db.url(), 1)
        .await
        .unwrap()
        .with_encryption(wfm_store::testing::kek());
    store
        .bulk_uploads(&ProjectId::new("bulk").unwrap(), 100)
        .await
        .unwrap()
}

async fn large_batches_go_through_object_storage(db: TestDatabase) {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let rig = rig(db, Some(&moto)).await;

    // A week of four queues: far above the threshold.
    let week = interval_batch(7);
    assert!(week.len() as u64 > THRESHOLD);
    let answer = deliver(&rig, week.clone()).await;
    assert_eq!(answer["inserted"], 7 * 96 * 4, "{answer}");
    assert_eq!(hub_rows(&rig, 7).await, 7 * 96 * 4);
    let seen = uploads(&rig).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].route, "intervals");
    assert_eq!(seen[0].bytes, week.len() as u64);
    assert!(seen[0].ingested_at.is_some(), "{seen:?}");
    assert_eq!(
        seen[0].data_key, None,
        "the data key is dropped after the ingest"
    );
    assert_eq!(seen[0].answer.as_ref().map(|a| a.status), Some(200));
    assert!(
        moto.keys(BUCKET).await.is_empty(),
        "the hub deletes the object after the ingest"
    );

    // A small batch (an empty hour) goes directly: no new upload.
    let small = serde_json::to_vec(&IntervalBatch {
        source: "uccx".into(),
        interval_minutes: 15,
        time_zone: "UTC".into(),
        origin: IntervalOrigin::UccxLegs,
        window: TimeRange {
            from: T0 + time::Duration::days(8),
            to: T0 + time::Duration::days(8) + time::Duration::hours(1),
        },
        queues: vec![],
        rows: vec![],
    })
    .unwrap();
    assert!((small.len() as u64) < THRESHOLD);
    deliver(&rig, small).await;
    assert_eq!(uploads(&rig).await.len(), 1);
    rig.delivery.shutdown().await;
}

async fn a_hub_without_bulk_gets_large_batches_directly(db: TestDatabase) {
    let rig = rig(db, None).await;
    let day = interval_batch(1);
    assert!(day.len() as u64 > THRESHOLD);
    let answer = deliver(&rig, day).await;
    assert_eq!(answer["inserted"], 96 * 4, "{answer}");
    assert_eq!(hub_rows(&rig, 1).await, 96 * 4);
    assert!(uploads(&rig).await.is_empty());
    rig.delivery.shutdown().await;
}

#[tokio::test]
async fn large_batches_go_through_object_storage_sqlite() {
    large_batches_go_through_object_storage(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn large_batches_go_through_object_storage_postgres() {
    large_batches_go_through_object_storage(TestDatabase::postgres().await).await;
}

#[tokio::test]
async fn a_hub_without_bulk_gets_large_batches_directly_sqlite() {
    a_hub_without_bulk_gets_large_batches_directly(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_hub_without_bulk_gets_large_batches_directly_postgres() {
    a_hub_without_bulk_gets_large_batches_directly(TestDatabase::postgres().await).await;
}

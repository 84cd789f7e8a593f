//! The delivery service (`wfm_importer::delivery`): every batch through the outbox, per-source
//! order, the same idempotency key on every retry, `Retry-After` honoured, permanent rejections
//! dead-lettered with the reason, pending batches delivered after a restart, a full outbox.
//!
//! A scripted stub hub records what arrives; the real hub (in-process, SQLite and PostgreSQL)
//! checks that a restart with pending batches delivers them once. The TCP fault proxy cuts the
//! link.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::{small_spec, Backend, Env};
use wfm_config::HubClientConfig;
use wfm_faultproxy::{FaultMode, FaultProxy};
use wfm_importer::delivery::{Delivery, DeliveryError, Final, Kind, RetryPolicy};
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};
use wfm_protocol::states::{ReasonCategory, ReasonCode, ReasonCodeSet};

/// What the stub hub does with the next requests (default: 200).
#[derive(Default)]
struct Stub {
    script: VecDeque<(u16, Option<u64>)>,
    /// (idempotency key, body) of every request, in arrival order.
    seen: Vec<(String, String)>,
}

async fn stub_handler(
    State(stub): State<Arc<Mutex<Stub>>>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut s = stub.lock().unwrap();
    s.seen.push((key, body.clone()));
    let (status, after) = s.script.pop_front().unwrap_or((200, None));
    let mut h = HeaderMap::new();
    if let Some(secs) = after {
        h.insert("retry-after", secs.to_string().parse().unwrap());
    }
    let answer = if status == 200 {
        format!("{{\"echo\":{body}}}")
    } else {
        format!("{{\"error\":{{\"code\":\"invalid\",\"message\":\"status {status} for {body}\",\"details\":[]}}}}")
    };
    (StatusCode::from_u16(status).unwrap(), h, answer)
}

async fn stub_hub() -> (std::net::SocketAddr, Arc<Mutex<Stub>>) {
    let stub = Arc::new(Mutex::new(Stub::default()));
    let app = axum::Router::new()
        .fallback(stub_handler)
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, stub)
}

fn hub_config(url: String) -> HubClientConfig {
    let toml = format!(
        "[hub]\nurl = \"{url}\"\nproject = \"test\"\ntoken = \"token\"\nallow_insecure_http = true\ntimeout = \"5s\"\n[uccx]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword = \"p\"\n"
    );
    wfm_config::parse_importer(&toml, "importer.toml", &|_| None)
        .unwrap()
        .hub
}

fn open(dir: &std::path::Path, max_bytes: Option<u64>) -> Arc<Outbox> {
    let mut cfg = OutboxConfig::new(dir.join("outbox"), OutboxKey::from_bytes([9u8; 32]));
    if let Some(m) = max_bytes {
        cfg.max_bytes = m;
        cfg.segment_bytes = m / 4;
    }
    Arc::new(Outbox::open(cfg).unwrap().0)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting: {what}");
}

#[tokio::test]
async fn retry_after_of_503_and_429_is_honoured_with_the_same_key_and_a_422_is_dead_lettered_with_its_reason(
) {
    let (addr, stub) = stub_hub().await;
    stub.lock().unwrap().script =
        VecDeque::from([(503, Some(1)), (429, Some(1)), (200, None), (422, None)]);
    let dir = tempfile::tempdir().unwrap();
    // A back-off of an hour: only the hub's Retry-After (1 s) lets the batch through in time.
    let slow = RetryPolicy {
        initial: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
    };
    let d = Delivery::new(
        &hub_config(format!("http://{addr}")),
        open(dir.path(), None),
        slow,
        5,
    )
    .unwrap();
    let first = d
        .submit(
            Kind::Intervals,
            "hr",
            b"{\"n\":1}".to_vec(),
            b"cp1".to_vec(),
            true,
        )
        .await
        .unwrap();
    match d.wait(Kind::Intervals, "hr", first).await.unwrap() {
        Final::Delivered { status, body } => {
            assert_eq!(status, 200);
            assert_eq!(
                body, b"{\"echo\":{\"n\":1}}",
                "the hub's answer is handed back"
            );
        }
        other => panic!("{other:?}"),
    }
    let seen = stub.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 3, "503, 429, then accepted: {seen:?}");
    assert!(
        seen.iter().all(|(k, _)| k == &seen[0].0),
        "one key: {seen:?}"
    );
    assert!(seen[0].0.starts_with("intervals-hr-"), "{}", seen[0].0);

    let second = d
        .submit(
            Kind::Intervals,
            "hr",
            b"{\"n\":2}".to_vec(),
            b"cp2".to_vec(),
            true,
        )
        .await
        .unwrap();
    match d.wait(Kind::Intervals, "hr", second).await.unwrap() {
        Final::DeadLettered { reason, status, .. } => {
            assert_eq!(status, 422);
            assert!(
                reason.contains("HTTP 422") && reason.contains("status 422 for"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    let dead = d.outbox().dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].meta.id, second);
    assert!(dead[0].reason.contains("HTTP 422"), "{}", dead[0].reason);
    // The source goes on after a dead letter, and its checkpoint is the latest appended.
    let third = d
        .submit(
            Kind::Intervals,
            "hr",
            b"{\"n\":3}".to_vec(),
            b"cp3".to_vec(),
            true,
        )
        .await
        .unwrap();
    assert!(matches!(
        d.wait(Kind::Intervals, "hr", third).await.unwrap(),
        Final::Delivered { .. }
    ));
    assert_eq!(d.checkpoint(Kind::Intervals, "hr").unwrap(), b"cp3");
    let stats = d.outbox().stats();
    let s = &stats.sources["intervals:hr"];
    assert_eq!(
        (s.received, s.delivered, s.buffered, s.dead_lettered),
        (3, 2, 0, 1)
    );
    d.shutdown().await;
}

#[tokio::test]
async fn hub_down_then_back_delivers_everything_once_in_order_per_source_and_a_waiter_gives_up_clearly(
) {
    let (addr, stub) = stub_hub().await;
    let proxy = FaultProxy::spawn(addr, None).await.unwrap();
    proxy.set(FaultMode::Cut);
    let dir = tempfile::tempdir().unwrap();
    let d = Delivery::new(
        &hub_config(format!("http://{}", proxy.addr())),
        open(dir.path(), None),
        fast(),
        3,
    )
    .unwrap();
    let mut ids = Vec::new();
    for n in 0..20 {
        for (kind, source) in [(Kind::Intervals, "a"), (Kind::States, "b")] {
            let body = format!("{{\"src\":\"{source}\",\"n\":{n}}}").into_bytes();
            let id = d
                .submit(kind, source, body, Vec::new(), true)
                .await
                .unwrap();
            ids.push((kind, source, id));
        }
    }
    // A one-shot command stops waiting after `wait_attempts` failures and says where the data is.
    let err = d.wait(Kind::Intervals, "a", ids[0].2).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, DeliveryError::Undelivered { pending: 20, .. }),
        "{text}"
    );
    assert!(
        text.contains("kept in the outbox at") && text.contains("wfm-importer run"),
        "{text}"
    );
    assert!(stub.lock().unwrap().seen.is_empty());

    proxy.set(FaultMode::Pass);
    let outbox = d.outbox().clone();
    wait_until("both sources drained", || {
        outbox.pending("intervals:a", 1).is_empty() && outbox.pending("states:b", 1).is_empty()
    })
    .await;
    let seen = stub.lock().unwrap().seen.clone();
    for source in ["a", "b"] {
        let mut keys = Vec::new();
        let mut order = Vec::new();
        for (key, body) in &seen {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            if v["src"] == source && !keys.contains(key) {
                keys.push(key.clone());
                order.push(v["n"].as_u64().unwrap());
            }
        }
        assert_eq!(
            order,
            (0..20).collect::<Vec<u64>>(),
            "source {source}: oldest first"
        );
    }
    let stats = d.outbox().stats();
    for name in ["intervals:a", "states:b"] {
        let s = &stats.sources[name];
        assert_eq!((s.received, s.delivered, s.buffered), (20, 20, 0), "{name}");
    }
    d.shutdown().await;
}

#[tokio::test]
async fn a_full_outbox_refuses_new_batches_naming_the_budget_and_takes_them_again_once_delivered() {
    let (addr, stub) = stub_hub().await;
    let proxy = FaultProxy::spawn(addr, None).await.unwrap();
    proxy.set(FaultMode::Cut);
    let dir = tempfile::tempdir().unwrap();
    let d = Delivery::new(
        &hub_config(format!("http://{}", proxy.addr())),
        open(dir.path(), Some(1024 * 1024)),
        fast(),
        3,
    )
    .unwrap();
    let payload = vec![b'x'; 64 * 1024];
    let mut appended = 0;
    let full = loop {
        match d
            .submit(Kind::Intervals, "hr", payload.clone(), Vec::new(), false)
            .await
        {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        assert!(
            appended < 100,
            "a 1 MiB outbox cannot take 100 batches of 64 KiB"
        );
    };
    assert!(matches!(full, DeliveryError::Full { .. }), "{full}");
    assert!(full.is_retriable());
    assert!(full.to_string().contains("[outbox] max_mib"), "{full}");
    assert!(appended > 0);
    let kept = d.outbox().stats().sources["intervals:hr"].buffered;
    assert_eq!(kept, appended, "what was buffered is kept");

    proxy.set(FaultMode::Pass);
    let outbox = d.outbox().clone();
    wait_until("drained", || outbox.pending("intervals:hr", 1).is_empty()).await;
    assert!(stub.lock().unwrap().seen.len() as u64 >= appended);
    d.submit(Kind::Intervals, "hr", payload, Vec::new(), false)
        .await
        .expect("room again once the hub took the backlog");
    d.shutdown().await;
}

async fn restart_with_pending_batches_delivers_them_once(backend: Backend) {
    let env = Env::start(backend, small_spec()).await;
    let proxy = FaultProxy::spawn(env.hub.addr, None).await.unwrap();
    proxy.set(FaultMode::Cut);
    let mut hub = env.config.hub.clone();
    hub.url = format!("https://127.0.0.1:{}", proxy.addr().port());
    let dir = tempfile::tempdir().unwrap();
    let set = |label: &str| ReasonCodeSet {
        source: "finesse".into(),
        codes: vec![ReasonCode {
            id: "1".into(),
            code: 7,
            label: label.into(),
            category: ReasonCategory::NotReady,
            system_code: false,
            for_all: true,
        }],
    };
    {
        let d = Delivery::new(&hub, open(dir.path(), None), fast(), 3).unwrap();
        for label in ["Lunch", "Lunch break"] {
            let body = serde_json::to_vec(&set(label)).unwrap();
            d.submit(Kind::ReasonCodes, "finesse", body, Vec::new(), false)
                .await
                .unwrap();
        }
        d.shutdown().await;
        assert_eq!(d.outbox().pending("reason-codes:finesse", 10).len(), 2);
    }
    // A new process: the outbox is reopened and its pending batches go out first, in order.
    proxy.set(FaultMode::Pass);
    let outbox = open(dir.path(), None);
    let d = Delivery::new(&hub, outbox.clone(), fast(), 3).unwrap();
    d.resume_pending();
    wait_until("the pending sets are delivered", || {
        outbox.pending("reason-codes:finesse", 1).is_empty()
    })
    .await;
    let codes = env
        .hub
        .store
        .reason_codes(&common::project())
        .await
        .unwrap();
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(
        codes[0].code.label, "Lunch break",
        "the newer set was applied last"
    );
    let s = &outbox.stats().sources["reason-codes:finesse"];
    assert_eq!((s.received, s.delivered, s.buffered), (2, 2, 0));
    d.shutdown().await;
    env.finish().await;
}

#[tokio::test]
async fn restart_with_pending_batches_delivers_them_once_sqlite() {
    restart_with_pending_batches_delivers_them_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn restart_with_pending_batches_delivers_them_once_postgres() {
    restart_with_pending_batches_delivers_them_once(Backend::Postgres).await;
}

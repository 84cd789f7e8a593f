//! The live feed end to end: CTI Server emulator → importer live pipeline (normalise, gaps,
//! batches, encrypted outbox, delivery) → a small hub stub for `POST /api/v1/agent-states`
//! (the hub's own route is built concurrently; the stub answers like it: 2xx accepted, the same
//! `Idempotency-Key` twice stored once).
//!
//! No timed assertions: every wait is "until the condition holds" with a generous liveness
//! limit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use wfm_config::{CtiConfig, HubClientConfig, Secret};
use wfm_emulators::cti::{
    AgentState as EmuState, CtiConfig as EmuConfig, CtiEmulator, CtiFault, CtiHandle, Scenario,
};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::SharedData;
use wfm_importer::live::{LiveFeed, LiveOptions, LiveStats, RetryPolicy};
use wfm_model::{ProjectId, SourceId};
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};
use wfm_protocol::states::{AgentState, FeedGap, StateBatch, StateEvent};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Up,
    Down,
}

#[derive(Default)]
struct Hub {
    mode: Option<Mode>,
    keys: HashSet<String>,
    events: Vec<StateEvent>,
    gaps: Vec<FeedGap>,
    /// Batches holding an event of this agent are answered 422.
    reject_agent: Option<String>,
    requests: u64,
}

type Shared = Arc<Mutex<Hub>>;

async fn ingest(
    State(hub): State<Shared>,
    headers: HeaderMap,
    Json(batch): Json<StateBatch>,
) -> impl IntoResponse {
    let mut hub = hub.lock().unwrap();
    hub.requests += 1;
    if hub.mode == Some(Mode::Down) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    assert!(batch.window.is_none(), "live batches append");
    if let Some(bad) = &hub.reject_agent {
        if batch.events.iter().any(|e| &e.agent == bad) {
            return (StatusCode::UNPROCESSABLE_ENTITY, "agent refused").into_response();
        }
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .expect("an idempotency key")
        .to_string();
    if hub.keys.insert(key) {
        hub.events.extend(batch.events);
        hub.gaps.extend(batch.gaps);
    }
    (StatusCode::OK, "{}").into_response()
}

async fn spawn_hub() -> (String, Shared) {
    let hub: Shared = Arc::new(Mutex::new(Hub::default()));
    let app = Router::new()
        .route("/api/v1/agent-states", post(ingest))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hub)
}

struct Rig {
    emu: CtiHandle,
    hub: Shared,
    feed: Option<LiveFeed>,
    outbox: Arc<Outbox>,
    stats: Arc<LiveStats>,
    cti: CtiConfig,
    hub_cfg: HubClientConfig,
    _dir: tempfile::TempDir,
}

fn fast_cti(s: &mut wfm_sources::cti::CtiSettings) {
    s.heartbeat = Duration::from_millis(500);
    s.backoff_jitter = Duration::from_millis(20);
    s.backoff_steps = vec![Duration::from_millis(50)];
}

fn options() -> LiveOptions {
    LiveOptions {
        retry: RetryPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        tune_cti: Some(fast_cti),
        ..LiveOptions::default()
    }
}

async fn rig() -> Rig {
    rig_with(Duration::from_secs(600)).await
}

async fn rig_with(gap_settle: Duration) -> Rig {
    let emu = CtiEmulator::spawn(
        EmuConfig {
            scenario: Scenario::Idle,
            ..EmuConfig::default()
        },
        SharedData::generate(&DatasetSpec {
            agents: 12,
            teams: 2,
            supervisors: 1,
            ..DatasetSpec::default()
        }),
    )
    .await
    .unwrap();
    let (url, hub) = spawn_hub().await;
    let (client_id, password) = emu.credentials();
    let cti = CtiConfig {
        source_id: SourceId::new("cti-test").unwrap(),
        side_a: emu.addr().to_string(),
        side_b: None,
        client_id,
        client_password: Secret::new(password),
        protocol_version: 24,
        heartbeat: Duration::from_millis(500),
        peripheral_id: None,
        batch_max_events: 50,
        batch_max_delay: Duration::from_millis(20),
        gap_settle,
    };
    let hub_cfg = HubClientConfig {
        url,
        project: ProjectId::new("test").unwrap(),
        token: Secret::new("token"),
        ca_file: None,
        allow_insecure_http: true,
        timeout: Duration::from_secs(10),
        bulk_threshold_bytes: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(open_outbox(dir.path()));
    let feed = LiveFeed::start(&cti, &hub_cfg, outbox.clone(), options())
        .await
        .unwrap();
    let stats = feed.stats();
    let rig = Rig {
        emu,
        hub,
        feed: Some(feed),
        outbox,
        stats,
        cti,
        hub_cfg,
        _dir: dir,
    };
    wait_until("the CTI session is open", || rig.emu.opens() >= 1).await;
    rig
}

fn open_outbox(dir: &std::path::Path) -> Outbox {
    let cfg = OutboxConfig::new(dir.join("outbox"), OutboxKey::from_bytes([7u8; 32]));
    Outbox::open(cfg).unwrap().0
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

fn expected_state(s: EmuState) -> AgentState {
    match s {
        EmuState::Login => AgentState::LoggedIn,
        EmuState::Logout => AgentState::LoggedOut,
        EmuState::NotReady => AgentState::NotReady,
        EmuState::Available => AgentState::Ready,
        EmuState::Talking => AgentState::Talking,
        EmuState::WorkNotReady | EmuState::WorkReady => AgentState::Work,
        EmuState::BusyOther => AgentState::BusyOther,
        EmuState::Reserved => AgentState::Reserved,
        EmuState::Hold => AgentState::Hold,
        EmuState::Unknown => AgentState::Unknown,
    }
}

impl Rig {
    /// Pushes `rounds` state changes to every agent, round robin.
    fn push_rounds(&self, rounds: usize, offset: usize) {
        const CYCLE: [(EmuState, u16); 5] = [
            (EmuState::Available, 0),
            (EmuState::Talking, 0),
            (EmuState::WorkReady, 0),
            (EmuState::NotReady, 3),
            (EmuState::Hold, 0),
        ];
        let agents = self.emu.agents();
        for r in 0..rounds {
            for a in &agents {
                let (s, reason) = CYCLE[(r + offset) % CYCLE.len()];
                assert_eq!(self.emu.push_event(a.event(s, reason)), 1);
            }
        }
    }

    fn hub_events(&self) -> usize {
        self.hub.lock().unwrap().events.len()
    }

    /// Every event the emulator wrote reached the hub exactly once, in order per agent.
    fn assert_exactly_once_in_order(&self) {
        let sent = self.emu.sent();
        let hub = self.hub.lock().unwrap();
        assert_eq!(hub.events.len(), sent.len(), "one hub event per sent event");
        let mut want: HashMap<&str, Vec<(AgentState, Option<i64>)>> = HashMap::new();
        for (_, s) in &sent {
            let reason = match expected_state(s.state) {
                AgentState::NotReady | AgentState::LoggedOut if s.reason_code != 0 => {
                    Some(i64::from(s.reason_code))
                }
                _ => None,
            };
            want.entry(&s.agent_id)
                .or_default()
                .push((expected_state(s.state), reason));
        }
        let mut got: HashMap<&str, Vec<&StateEvent>> = HashMap::new();
        for e in &hub.events {
            got.entry(&e.agent).or_default().push(e);
        }
        assert_eq!(got.len(), want.len());
        for (agent, want) in want {
            let events = &got[agent];
            let states: Vec<_> = events.iter().map(|e| (e.state, e.reason_code)).collect();
            assert_eq!(states, want, "agent {agent}");
            for pair in events.windows(2) {
                assert!(pair[0].at < pair[1].at, "instants increase per agent");
            }
        }
    }

    /// Waits until the emulator wrote `pushed` events and the hub holds all of them.
    async fn wait_all_delivered(&self, pushed: usize) {
        wait_until("the emulator wrote every pushed event", || {
            self.emu.sent_count() >= pushed
        })
        .await;
        let n = self.emu.sent_count();
        wait_until("every sent event is at the hub", || self.hub_events() >= n).await;
        wait_until("nothing pending in the outbox", || {
            self.outbox.pending("cti-test", 1).is_empty()
        })
        .await;
    }
}

#[tokio::test]
async fn every_state_sent_arrives_exactly_once_in_order_and_shutdown_flushes() {
    // Nobody is known at start: the start-up gap closes by its time bound (short here).
    let mut rig = rig_with(Duration::from_millis(300)).await;
    rig.push_rounds(9, 0);
    rig.wait_all_delivered(9 * 12).await;
    rig.assert_exactly_once_in_order();
    {
        let hub = rig.hub.lock().unwrap();
        let first = hub.gaps.first().expect("a start-up gap");
        assert_eq!((first.reason.as_str(), first.to), ("reconnect", None));
    }
    assert!(LiveStats::get(&rig.stats.batches_appended) >= 2, "batched");
    wait_until("the start-up gap closed", || {
        rig.hub.lock().unwrap().gaps.iter().any(|g| g.to.is_some())
    })
    .await;

    // Shutdown: CLOSE_REQ, the last batch with an open "importer stopped" gap, delivered.
    rig.feed.take().unwrap().shutdown().await.unwrap();
    let stopped = {
        let hub = rig.hub.lock().unwrap();
        let last = hub.gaps.last().unwrap().clone();
        assert_eq!((last.reason.as_str(), last.to), ("importer stopped", None));
        last
    };
    assert!(rig.outbox.pending("cti-test", 1).is_empty());

    // The next start resumes that gap (same start) rather than opening a new one.
    let feed = LiveFeed::start(&rig.cti, &rig.hub_cfg, rig.outbox.clone(), options())
        .await
        .unwrap();
    wait_until("the resumed gap is sent", || {
        rig.hub.lock().unwrap().gaps.len() > 3
    })
    .await;
    let resumed = rig.hub.lock().unwrap().gaps.last().unwrap().clone();
    assert_eq!(
        (resumed.from, resumed.reason.as_str()),
        (stopped.from, "importer stopped")
    );
    feed.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_gives_a_gap_and_no_loss_after_reconnect() {
    let mut rig = rig_with(Duration::from_millis(300)).await;
    rig.push_rounds(3, 0);
    rig.wait_all_delivered(3 * 12).await;
    wait_until("the start-up gap closed", || {
        rig.hub.lock().unwrap().gaps.iter().any(|g| g.to.is_some())
    })
    .await;
    let gaps_before = rig.hub.lock().unwrap().gaps.len();

    assert!(rig.emu.inject(CtiFault::DropConnection) >= 1);
    wait_until("reconnected", || rig.emu.opens() >= 2).await;
    rig.push_rounds(4, 3);
    rig.wait_all_delivered(7 * 12).await;
    rig.assert_exactly_once_in_order();

    let new_gaps: Vec<FeedGap> = rig.hub.lock().unwrap().gaps[gaps_before..].to_vec();
    let open = new_gaps
        .iter()
        .find(|g| g.reason == "reconnect" && g.to.is_none())
        .expect("a reconnect gap opened");
    wait_until(
        "the gap closed once every logged-in agent reported again",
        || {
            rig.hub
                .lock()
                .unwrap()
                .gaps
                .iter()
                .any(|g| g.from == open.from && g.to.is_some())
        },
    )
    .await;
    rig.feed.take().unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn hub_down_for_a_while_then_everything_is_delivered_from_the_outbox() {
    let mut rig = rig().await;
    rig.hub.lock().unwrap().mode = Some(Mode::Down);
    rig.push_rounds(10, 0);
    let sent = rig.emu.sent_count();
    wait_until("events are in the outbox", || {
        LiveStats::get(&rig.stats.events_appended) as usize >= sent
    })
    .await;
    wait_until("delivery retried", || {
        LiveStats::get(&rig.stats.retries) >= 3
    })
    .await;
    assert_eq!(rig.hub_events(), 0);
    assert!(rig.outbox.pending("cti-test", 100).len() >= 2);

    rig.hub.lock().unwrap().mode = Some(Mode::Up);
    rig.wait_all_delivered(10 * 12).await;
    rig.assert_exactly_once_in_order();
    let stats = rig.outbox.stats();
    let s = &stats.sources["cti-test"];
    assert_eq!(s.received, s.delivered + s.buffered + s.dead_lettered);
    assert_eq!((s.buffered, s.dead_lettered), (0, 0));
    rig.feed.take().unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn a_permanent_422_sends_the_batch_to_dead_letter_and_the_feed_goes_on() {
    let mut rig = rig().await;
    let agents = rig.emu.agents();
    let bad = agents[0].clone();
    rig.hub.lock().unwrap().reject_agent = Some(bad.agent_id.clone());
    rig.emu.push_event(bad.event(EmuState::Available, 0));
    wait_until("dead-lettered", || {
        LiveStats::get(&rig.stats.batches_dead) == 1
    })
    .await;
    let dead = rig.outbox.dead_letters();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("422"), "{}", dead[0].reason);

    for a in &agents[1..] {
        rig.emu.push_event(a.event(EmuState::Talking, 0));
    }
    let n = agents.len() - 1;
    wait_until("the others are delivered", || rig.hub_events() >= n).await;
    assert!(rig
        .hub
        .lock()
        .unwrap()
        .events
        .iter()
        .all(|e| e.agent != bad.agent_id));
    let stats = rig.outbox.stats();
    let s = &stats.sources["cti-test"];
    assert_eq!(s.received, s.delivered + s.buffered + s.dead_lettered);
    assert_eq!(s.dead_lettered, 1);
    rig.feed.take().unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn the_ctis_own_unknown_state_is_kept_as_unknown_with_its_raw_value() {
    let mut rig = rig().await;
    let agent = rig.emu.agents()[2].clone();
    rig.emu.push_event(agent.event(EmuState::Unknown, 0));
    rig.emu.push_event(agent.event(EmuState::Available, 0));
    wait_until("both delivered", || rig.hub_events() >= 2).await;
    let events = rig.hub.lock().unwrap().events.clone();
    assert_eq!(events[0].state, AgentState::Unknown);
    assert_eq!(events[0].raw, "cti:9");
    assert_eq!(
        (events[1].state, events[1].raw.as_str()),
        (AgentState::Ready, "cti:3")
    );
    rig.feed.take().unwrap().shutdown().await.unwrap();
}

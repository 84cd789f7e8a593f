//! The whole live path with nothing stubbed: CTI Server emulator → importer live pipeline
//! (normalise, gaps, batches, encrypted outbox, delivery) → the real hub (TLS, SQLite) → the
//! stored timeline, the current states and real-time adherence.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{project, small_spec, Backend, Env};
use wfm_config::{CtiConfig, Secret};
use wfm_emulators::cti::{AgentState as EmuState, CtiConfig as EmuConfig, CtiEmulator, Scenario};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::SharedData;
use wfm_importer::live::{LiveFeed, LiveOptions, RetryPolicy};
use wfm_model::SourceId;
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::AgentState;

fn fast_cti(s: &mut wfm_sources::cti::CtiSettings) {
    s.heartbeat = Duration::from_millis(500);
    s.backoff_jitter = Duration::from_millis(20);
    s.backoff_steps = vec![Duration::from_millis(50)];
}

#[tokio::test]
async fn cti_events_reach_the_hub_timeline_current_states_and_realtime_adherence() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    let emu = CtiEmulator::spawn(
        EmuConfig {
            scenario: Scenario::Idle,
            ..EmuConfig::default()
        },
        SharedData::generate(&DatasetSpec {
            agents: 8,
            teams: 1,
            supervisors: 1,
            ..DatasetSpec::default()
        }),
    )
    .await
    .unwrap();
    let (client_id, password) = emu.credentials();
    let cti = CtiConfig {
        source_id: SourceId::new("cti").unwrap(),
        side_a: emu.addr().to_string(),
        side_b: None,
        client_id,
        client_password: Secret::new(password),
        protocol_version: 24,
        heartbeat: Duration::from_millis(500),
        peripheral_id: None,
        batch_max_events: 50,
        batch_max_delay: Duration::from_millis(20),
        gap_settle: Duration::from_secs(1),
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = OutboxConfig::new(dir.path().join("outbox"), OutboxKey::from_bytes([9u8; 32]));
    let outbox = Arc::new(Outbox::open(cfg).unwrap().0);
    let options = LiveOptions {
        retry: RetryPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        tune_cti: Some(fast_cti),
        ..LiveOptions::default()
    };
    let feed = LiveFeed::start(&cti, &env.config.hub, outbox.clone(), options)
        .await
        .unwrap();
    for _ in 0..500 {
        if emu.opens() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let agents = emu.agents();
    let cycle = [
        (EmuState::Available, 0u16, AgentState::Ready),
        (EmuState::Talking, 0, AgentState::Talking),
        (EmuState::WorkReady, 0, AgentState::Work),
        (EmuState::NotReady, 7, AgentState::NotReady),
    ];
    for (state, reason, _) in cycle {
        for a in &agents {
            assert_eq!(emu.push_event(a.event(state, reason)), 1);
        }
    }
    let expected = agents.len() * cycle.len();
    let range = TimeRange {
        from: time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        to: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    let mut segments = Vec::new();
    for _ in 0..1000 {
        segments = env
            .hub
            .store
            .state_segments(&project(), Some("cti"), None, range)
            .await
            .unwrap();
        if segments.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(segments.len(), expected, "every event once: {segments:?}");
    for a in &agents {
        let mine: Vec<_> = segments.iter().filter(|s| s.agent == a.agent_id).collect();
        let states: Vec<_> = mine.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            cycle.iter().map(|c| c.2).collect::<Vec<_>>(),
            "agent {}",
            a.agent_id
        );
        assert_eq!(mine.last().unwrap().reason_code, Some(7));
        assert!(
            mine.last().unwrap().end.is_none(),
            "the current state is open"
        );
    }
    let latest = env.hub.store.latest_states(&project()).await.unwrap();
    let cti_latest: Vec<_> = latest.iter().filter(|l| l.source == "cti").collect();
    assert_eq!(cti_latest.len(), agents.len());
    assert!(cti_latest.iter().all(|l| l.state == AgentState::NotReady));

    // Real-time adherence over HTTPS: agents with no schedule who are not ready are neutral.
    let pem = std::fs::read(&env.cert).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let token = env.config.hub.token.expose().to_string();
    let rta: serde_json::Value = http
        .get(format!("{}/api/v1/adherence/realtime", env.hub.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = rta.to_string();
    for a in &agents {
        assert!(text.contains(&a.agent_id), "{text}");
    }
    feed.shutdown().await.unwrap();
    emu.shutdown();
    env.finish().await;
}

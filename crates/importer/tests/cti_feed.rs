//! The CTI Server client (crates/sources) against the CTI Server emulator (crates/emulators): two
//! implementations written separately from the same reference must understand each other.

use std::time::Duration;
use wfm_emulators::cti::{AgentState as EmuState, CtiConfig, CtiEmulator, CtiFault, Scenario};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::SharedData;
use wfm_sources::cti::{AgentState, CtiClient, CtiEvent, CtiSettings};

fn data() -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents: 20,
        teams: 2,
        supervisors: 2,
        ..DatasetSpec::default()
    })
}

async fn next_state(
    rx: &mut tokio::sync::mpsc::Receiver<CtiEvent>,
) -> wfm_sources::cti::AgentStateEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .expect("the feed is open");
        if let CtiEvent::AgentState(e) = event {
            return *e;
        }
    }
}

#[tokio::test]
async fn client_and_emulator_agree_on_sessions_and_agent_state_events() {
    let emu = CtiEmulator::spawn(
        CtiConfig {
            scenario: Scenario::Idle,
            ..CtiConfig::default()
        },
        data(),
    )
    .await
    .unwrap();
    let (id, password) = emu.credentials();
    let mut settings = CtiSettings::new(emu.addr(), id, password);
    settings.heartbeat = Duration::from_millis(200);
    let (handle, mut rx) = CtiClient::new(settings).unwrap().start();

    // The feed starts as a gap until states are re-established.
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, CtiEvent::Gap { .. }), "{first:?}");
    for _ in 0..50 {
        if emu.opens() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let agent = emu.agents()[3].clone();
    for (state, reason) in [
        (EmuState::Available, 0),
        (EmuState::NotReady, 7),
        (EmuState::Talking, 0),
    ] {
        assert_eq!(emu.push_event(agent.event(state, reason)), 1);
        let got = next_state(&mut rx).await;
        assert_eq!(got.agent_id.as_deref(), Some(agent.agent_id.as_str()));
        assert_eq!(
            got.agent_extension.as_deref(),
            Some(agent.extension.as_str())
        );
        assert_eq!(got.reason_code, reason);
        let expected = match state {
            EmuState::Available => AgentState::Available,
            EmuState::NotReady => AgentState::NotReady,
            _ => AgentState::Talking,
        };
        assert_eq!(got.agent_state, expected);
        assert_eq!(
            got.skill_groups.len(),
            agent
                .skill_groups
                .len()
                .max(usize::from(!agent.skill_groups.is_empty()))
        );
    }

    // Garbage on the wire: the client reports a gap or reconnects, and the feed goes on.
    emu.inject(CtiFault::Garbage(64));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..50 {
        if emu.push_event(agent.event(EmuState::Available, 0)) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = next_state(&mut rx).await;
    assert_eq!(got.agent_id.as_deref(), Some(agent.agent_id.as_str()));

    handle.shutdown().await.unwrap();
    emu.shutdown();
}

#[tokio::test]
async fn a_rate_scenario_streams_decodable_events_without_loss() {
    let emu = CtiEmulator::spawn(
        CtiConfig {
            scenario: Scenario::Rate {
                events_per_sec: 2_000,
                duration: Duration::from_millis(500),
            },
            ..CtiConfig::default()
        },
        data(),
    )
    .await
    .unwrap();
    let (id, password) = emu.credentials();
    let (handle, mut rx) = CtiClient::new(CtiSettings::new(emu.addr(), id, password))
        .unwrap()
        .start();
    let mut received = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            Ok(Some(CtiEvent::AgentState(_))) => received += 1,
            Ok(Some(_)) => {}
            _ => {
                if received > 0 && received >= emu.sent_count() {
                    break;
                }
            }
        }
    }
    assert!(received > 500, "received {received}");
    assert_eq!(received, emu.sent_count(), "every event sent was decoded");
    handle.shutdown().await.unwrap();
    emu.shutdown();
}

//! Session tests against a tiny in-test CTI server speaking hand-built frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::SourceError;

use super::super::*;
use super::{agent_state_frame, open_conf, Wire};

const W: FieldWidth = FieldWidth::Wide;

#[derive(Clone)]
enum OpenReply {
    Conf,
    Failure(u32),
    Silent,
}

/// What the fake server does on one connection.
#[derive(Clone)]
struct Script {
    open: OpenReply,
    after_open: Vec<Vec<u8>>,
    answer_heartbeats: bool,
}

impl Script {
    fn good(after_open: Vec<Vec<u8>>) -> Self {
        Script {
            open: OpenReply::Conf,
            after_open,
            answer_heartbeats: true,
        }
    }
}

/// What the server saw: (connection index, message type, body).
type Seen = mpsc::UnboundedReceiver<(usize, u32, Vec<u8>)>;

async fn read_frame(s: &mut TcpStream) -> Option<(u32, Vec<u8>)> {
    let mut head = [0u8; 8];
    s.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let ty = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    assert!(len <= 12_492, "client sent an oversized frame");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.ok()?;
    Some((ty, body))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Serves connections one after the other; connection i uses scripts[min(i, last)].
async fn fake_server(scripts: Vec<Script>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let scripts = Arc::new(scripts);
    tokio::spawn(async move {
        let mut index = 0usize;
        while let Ok((mut sock, _)) = listener.accept().await {
            let script = scripts[index.min(scripts.len() - 1)].clone();
            let seen_tx = seen_tx.clone();
            let conn = index;
            index += 1;
            tokio::spawn(async move {
                while let Some((ty, body)) = read_frame(&mut sock).await {
                    let _ = seen_tx.send((conn, ty, body.clone()));
                    let reply: Vec<Vec<u8>> = match ty {
                        3 => match &script.open {
                            OpenReply::Conf => {
                                let mut out = vec![open_conf(W, be32(&body, 0)).bytes()];
                                out.extend(script.after_open.iter().cloned());
                                out
                            }
                            OpenReply::Failure(status) => {
                                vec![Wire::new(1, W).u32(be32(&body, 0)).u32(*status).bytes()]
                            }
                            OpenReply::Silent => vec![],
                        },
                        5 if script.answer_heartbeats => {
                            vec![Wire::new(6, W).u32(be32(&body, 0)).bytes()]
                        }
                        7 => vec![Wire::new(8, W).u32(be32(&body, 0)).bytes()],
                        _ => vec![],
                    };
                    for frame in reply {
                        if sock.write_all(&frame).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn settings(addr: SocketAddr) -> CtiSettings {
    let mut s = CtiSettings::new(addr, "wfm", "secret");
    s.heartbeat = Duration::from_millis(50);
    s.open_timeout = Duration::from_millis(500);
    s.close_timeout = Duration::from_millis(500);
    s.backoff_jitter = Duration::from_millis(10);
    s.backoff_steps = vec![Duration::from_millis(30)];
    s
}

async fn next(rx: &mut mpsc::Receiver<CtiEvent>) -> CtiEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no event within 5 s")
        .expect("event channel closed")
}

async fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

fn system_event(id: u32, peripheral: u32) -> Vec<u8> {
    Wire::new(31, W)
        .u32(0)
        .u32(0)
        .u32(id)
        .u32(peripheral)
        .u32(0)
        .u32(0)
        .u16(0)
        .bytes()
}

#[tokio::test]
async fn happy_path_opens_streams_events_heartbeats_and_closes() {
    let after = vec![
        system_event(3, 5000),
        Wire::new(231, W).u32(1).bytes(), // unknown type, skipped
        agent_state_frame(W, "1001", 3),
        system_event(4, 5000),
    ];
    let (addr, mut seen) = fake_server(vec![Script::good(after)]).await;
    let (handle, mut rx) = CtiClient::new(settings(addr)).unwrap().start();
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(
        next(&mut rx).await,
        CtiEvent::Connected {
            side: CtiSide::A,
            session_type: Some(1),
            ..
        }
    ));
    assert!(matches!(next(&mut rx).await, CtiEvent::PeripheralOnline(ev) if ev.arg1 == 5000));
    match next(&mut rx).await {
        CtiEvent::AgentState(ev) => {
            assert_eq!(ev.agent_id.as_deref(), Some("1001"));
            assert_eq!(ev.agent_state, AgentState::Available);
        }
        other => panic!("expected an agent state, got {other:?}"),
    }
    assert!(matches!(
        next(&mut rx).await,
        CtiEvent::PeripheralOffline(_)
    ));
    // Let a few heartbeats go by; they are answered, so the session stays up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx.try_recv().is_err(),
        "no event expected while heartbeats are answered"
    );
    handle.shutdown().await.unwrap();

    let mut types = Vec::new();
    while let Ok((conn, ty, body)) = seen.try_recv() {
        assert_eq!(conn, 0, "one connection only");
        if ty == 3 {
            assert_eq!(be32(&body, 4), 24, "version");
            assert_eq!(be32(&body, 8), 20, "idle timeout: 4 × 50 ms, at least 20 s");
            assert_eq!(be32(&body, 16), 0x10, "ALL_EVENTS");
            assert_eq!(&body[44..52], &[0, 1, 0, 4, b'w', b'f', b'm', 0]);
            assert_eq!(
                &body[52..],
                &[0, 2, 0, 6, b's', b'e', b'c', b'r', b'e', b't']
            );
        }
        types.push(ty);
    }
    assert_eq!(types.first(), Some(&3));
    assert_eq!(types.last(), Some(&7), "CLOSE_REQ on shutdown");
    assert!(types.iter().filter(|t| **t == 5).count() >= 3, "{types:?}");
}

#[tokio::test]
async fn failure_conf_is_a_clear_permanent_error() {
    let script = Script {
        open: OpenReply::Failure(36),
        after_open: vec![],
        answer_heartbeats: true,
    };
    let (addr, _seen) = fake_server(vec![script]).await;
    let client = CtiClient::new(settings(addr)).unwrap();
    let err = client.check().await.unwrap_err();
    assert!(!err.is_retriable());
    let text = err.to_string();
    assert!(text.contains("E_CTI_INVALID_PASSWORD"), "{text}");
    assert!(text.contains("client id and password"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    assert!(matches!(
        SourceError::from(err),
        SourceError::Unauthorized { .. }
    ));

    let (handle, mut rx) = client.start();
    assert!(
        matches!(next(&mut rx).await, CtiEvent::Disconnected { reason } if reason.contains("INVALID_PASSWORD"))
    );
    assert!(matches!(
        handle.join().await,
        Err(CtiError::Rejected { status: 36, .. })
    ));
}

#[tokio::test]
async fn no_open_conf_times_out_with_a_clear_error() {
    let script = Script {
        open: OpenReply::Silent,
        after_open: vec![],
        answer_heartbeats: true,
    };
    let (addr, _seen) = fake_server(vec![script]).await;
    let mut s = settings(addr);
    s.open_timeout = Duration::from_millis(200);
    let err = CtiClient::new(s).unwrap().check().await.unwrap_err();
    assert!(matches!(err, CtiError::NoOpenConf { .. }));
    assert!(
        err.to_string()
            .contains("accepted TCP but sent no OPEN_CONF"),
        "{err}"
    );
    assert!(err.is_retriable());
}

#[tokio::test]
async fn heartbeats_stop_then_reconnect_with_a_gap_first() {
    let mute = Script {
        open: OpenReply::Conf,
        after_open: vec![],
        answer_heartbeats: false,
    };
    let (addr, mut seen) = fake_server(vec![mute, Script::good(vec![])]).await;
    let (handle, mut rx) = CtiClient::new(settings(addr)).unwrap().start();
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(next(&mut rx).await, CtiEvent::Connected { .. }));
    match next(&mut rx).await {
        CtiEvent::Disconnected { reason } => assert!(reason.contains("heartbeats"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(
        next(&mut rx).await,
        CtiEvent::Connected {
            side: CtiSide::A,
            ..
        }
    ));
    handle.shutdown().await.unwrap();
    let mut heartbeats_on_first = 0;
    while let Ok((conn, ty, _)) = seen.try_recv() {
        if conn == 0 && ty == 5 {
            heartbeats_on_first += 1;
        }
    }
    assert_eq!(
        heartbeats_on_first, 3,
        "reset after 3 unanswered heartbeats"
    );
}

#[tokio::test]
async fn side_a_down_fails_over_to_side_b() {
    let (b, _seen) = fake_server(vec![Script::good(vec![agent_state_frame(W, "7", 2)])]).await;
    let mut s = settings(dead_addr().await);
    s.side_b = Some(b);
    let client = CtiClient::new(s).unwrap();
    assert_eq!(client.check().await.unwrap().invoke_id, 1);
    let (handle, mut rx) = client.start();
    assert!(
        matches!(next(&mut rx).await, CtiEvent::Disconnected { reason } if reason.contains("cannot connect"))
    );
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(
        matches!(next(&mut rx).await, CtiEvent::Connected { side: CtiSide::B, addr, .. } if addr == b)
    );
    assert!(
        matches!(next(&mut rx).await, CtiEvent::AgentState(ev) if ev.agent_state == AgentState::NotReady)
    );
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn message_over_the_maximum_resets_the_session() {
    let oversized = [&20_000u32.to_be_bytes()[..], &30u32.to_be_bytes()[..]].concat();
    let (addr, _seen) = fake_server(vec![
        Script::good(vec![oversized]),
        Script::good(vec![agent_state_frame(W, "1", 3)]),
    ])
    .await;
    let (handle, mut rx) = CtiClient::new(settings(addr)).unwrap().start();
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(next(&mut rx).await, CtiEvent::Connected { .. }));
    match next(&mut rx).await {
        CtiEvent::Disconnected { reason } => assert!(reason.contains("maximum"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(next(&mut rx).await, CtiEvent::Connected { .. }));
    assert!(matches!(next(&mut rx).await, CtiEvent::AgentState(_)));
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn undecodable_agent_state_is_a_gap_and_the_session_continues() {
    let broken = super::agent_state_fixed(W, 3, 0, 0)
        .raw_field(5, 99, b"1\0")
        .bytes();
    let (addr, _seen) = fake_server(vec![Script::good(vec![
        broken,
        agent_state_frame(W, "2", 3),
    ])])
    .await;
    let (handle, mut rx) = CtiClient::new(settings(addr)).unwrap().start();
    assert!(matches!(next(&mut rx).await, CtiEvent::Gap { .. }));
    assert!(matches!(next(&mut rx).await, CtiEvent::Connected { .. }));
    match next(&mut rx).await {
        CtiEvent::Gap { reason } => assert!(reason.contains("tag 5"), "{reason}"),
        other => panic!("expected Gap, got {other:?}"),
    }
    assert!(
        matches!(next(&mut rx).await, CtiEvent::AgentState(ev) if ev.agent_id.as_deref() == Some("2"))
    );
    handle.shutdown().await.unwrap();
}

#[test]
fn settings_debug_redacts_the_password_and_validation_rejects_bad_values() {
    let mut s = CtiSettings::new("127.0.0.1:1".parse().unwrap(), "wfm", "hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!(s.validate().is_ok());
    s.client_id = "x".repeat(64);
    assert!(matches!(s.validate(), Err(CtiError::Config { .. })));
    s.client_id = "wfm".into();
    s.heartbeat = Duration::ZERO;
    assert!(s.validate().is_err());
}

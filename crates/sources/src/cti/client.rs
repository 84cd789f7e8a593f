//! The CTI session: side A/B connection with back-off, OPEN_REQ/OPEN_CONF, heartbeats,
//! CLOSE_REQ on shutdown, and the stream of [`CtiEvent`]s.
//!
//! Contract: [`CtiClient::start`] spawns one task that runs until [`CtiHandle::shutdown`], until
//! the event receiver is dropped, or until a permanent error (the server rejected OPEN_REQ for
//! a reason that retrying cannot fix, e.g. a wrong client id or password). Everything else —
//! refused connections, a missing OPEN_CONF, 3 unanswered heartbeats, a message over the
//! protocol maximum, the peer closing — ends the session, emits `Disconnected`, and reconnects
//! with the reference back-off (same side, other side, random short delay, then 15/30/60/120 s,
//! alternating sides). Every successful (re)connect emits `Gap` before `Connected`.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::{CtiSettings, CtiSide};
use super::decode::{
    decode_body, status_name, system_event, AgentStateEvent, Message, OpenConf, SystemEvent,
};
use super::encode::{encode_close_req, encode_heartbeat_req};
use super::error::{rejection_hint, CtiError};
use super::frame::{DecodeError, FieldWidth, FrameBuffer};

/// What the session reports, in order. After every (re)connect `Gap` comes first: agent states
/// are unknown until the server re-sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtiEvent {
    /// OPEN_CONF received.
    Connected {
        /// Which side.
        side: CtiSide,
        /// Its address.
        addr: SocketAddr,
        /// SessionType from OPEN_CONF (PV24+: 1 active, 2 standby).
        session_type: Option<u16>,
    },
    /// The feed has a hole: events may have been lost (reconnect, undecodable message).
    Gap {
        /// Why.
        reason: String,
    },
    /// An agent changed state.
    AgentState(Box<AgentStateEvent>),
    /// SYSTEM_EVENT peripheral offline (4) or PG offline (6).
    PeripheralOffline(SystemEvent),
    /// SYSTEM_EVENT peripheral online (3).
    PeripheralOnline(SystemEvent),
    /// The session ended or a connection attempt failed (reported once per outage).
    Disconnected {
        /// Why, without secrets.
        reason: String,
    },
}

/// An open session: the socket halves and what was read past OPEN_CONF.
struct Session {
    addr: SocketAddr,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: FrameBuffer,
    conf: OpenConf,
}

const READ_CHUNK: usize = 16 * 1024;

/// Reads until one complete message is decoded (`Ok(None)` on EOF).
async fn read_message(
    rd: &mut OwnedReadHalf,
    buf: &mut FrameBuffer,
    chunk: &mut [u8],
    width: FieldWidth,
    addr: SocketAddr,
) -> Result<Option<Result<Message, DecodeError>>, CtiError> {
    loop {
        match buf.next_frame() {
            Ok(Some((header, body))) => return Ok(Some(decode_body(header, body, width))),
            Ok(None) => {}
            Err(source) => return Err(CtiError::Protocol { addr, source }),
        }
        let n = rd.read(chunk).await.map_err(|e| CtiError::Closed {
            addr,
            detail: e.to_string(),
        })?;
        if n == 0 {
            return Ok(None);
        }
        buf.push(&chunk[..n]);
    }
}

async fn open_session(
    settings: &CtiSettings,
    addr: SocketAddr,
    invoke_id: u32,
) -> Result<Session, CtiError> {
    let request = settings.open_req(invoke_id)?;
    let stream = match tokio::time::timeout(settings.open_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(CtiError::Connect {
                addr,
                detail: e.to_string(),
            })
        }
        Err(_) => {
            return Err(CtiError::Connect {
                addr,
                detail: format!("timed out after {:?}", settings.open_timeout),
            })
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(&request).await.map_err(|e| CtiError::Closed {
        addr,
        detail: e.to_string(),
    })?;
    let width = settings.field_width();
    let mut buf = FrameBuffer::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let wait = async {
        loop {
            let msg = read_message(&mut rd, &mut buf, &mut chunk, width, addr).await?;
            match msg {
                None => {
                    return Err(CtiError::Closed {
                        addr,
                        detail: "server closed the connection before OPEN_CONF".into(),
                    })
                }
                Some(Ok(Message::OpenConf(conf))) => return Ok(conf),
                Some(Ok(Message::FailureConf { status, .. })) => {
                    return Err(CtiError::Rejected {
                        addr,
                        status,
                        name: status_name(status),
                        hint: rejection_hint(status),
                    })
                }
                Some(other) => tracing::debug!(?other, "cti: message before OPEN_CONF ignored"),
            }
        }
    };
    let conf = match tokio::time::timeout(settings.open_timeout, wait).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(CtiError::NoOpenConf {
                addr,
                timeout: settings.open_timeout,
            })
        }
    };
    Ok(Session {
        addr,
        rd,
        wr,
        buf,
        conf,
    })
}

/// How a running session ended.
enum SessionEnd {
    /// Shutdown requested (CLOSE_REQ sent) or the receiver was dropped.
    Stop,
    /// Lost: reconnect.
    Lost(CtiError),
}

/// Back-off per the reference: same side, other side, random short delay, then the steps.
struct Backoff {
    failures: usize,
}

impl Backoff {
    fn next(&mut self, settings: &CtiSettings, side: CtiSide) -> (CtiSide, Duration) {
        let failures = self.failures;
        self.failures += 1;
        let other = settings.other(side);
        match failures {
            0 => (other, Duration::ZERO),
            1 => {
                let max = settings.backoff_jitter.as_millis() as u64;
                let ms = if max == 0 {
                    0
                } else {
                    rand::thread_rng().gen_range(0..=max)
                };
                (other, Duration::from_millis(ms))
            }
            n => {
                let idx = (n - 2).min(settings.backoff_steps.len().saturating_sub(1));
                let delay = settings.backoff_steps.get(idx).copied().unwrap_or_default();
                (other, delay)
            }
        }
    }
}

/// The CTI Server client. See the module documentation for the session contract.
#[derive(Debug, Clone)]
pub struct CtiClient {
    settings: CtiSettings,
}

/// Controls a running session task.
#[derive(Debug)]
pub struct CtiHandle {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), CtiError>>,
}

impl CtiHandle {
    /// Sends CLOSE_REQ (waiting ≤ `close_timeout` for CLOSE_CONF) and waits for the task.
    /// Returns the permanent error if the task had already stopped on one.
    pub async fn shutdown(self) -> Result<(), CtiError> {
        let _ = self.shutdown.send(true);
        self.join().await
    }

    /// Waits for the task to end by itself (receiver dropped or a permanent error).
    pub async fn join(self) -> Result<(), CtiError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(CtiError::Closed {
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                detail: format!("session task failed: {e}"),
            }),
        }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl CtiClient {
    /// A client for validated settings.
    pub fn new(settings: CtiSettings) -> Result<Self, CtiError> {
        settings.validate()?;
        Ok(CtiClient { settings })
    }

    /// The settings.
    pub fn settings(&self) -> &CtiSettings {
        &self.settings
    }

    /// Opens a session (side A, else side B), then closes it: the read-only health check.
    pub async fn check(&self) -> Result<OpenConf, CtiError> {
        let first = open_session(&self.settings, self.settings.side_a, 1).await;
        let mut session = match (first, self.settings.side_b) {
            (Ok(s), _) => s,
            (Err(e), Some(b)) if e.is_retriable() => open_session(&self.settings, b, 1).await?,
            (Err(e), _) => return Err(e),
        };
        close_session(&mut session, &self.settings, 2).await;
        Ok(session.conf)
    }

    /// Spawns the session task; events arrive on the returned receiver.
    pub fn start(self) -> (CtiHandle, mpsc::Receiver<CtiEvent>) {
        let (tx, rx) = mpsc::channel(self.settings.event_buffer);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(self.settings, tx, stop_rx));
        (
            CtiHandle {
                shutdown: stop_tx,
                task,
            },
            rx,
        )
    }
}

async fn close_session(session: &mut Session, settings: &CtiSettings, invoke_id: u32) {
    if session
        .wr
        .write_all(&encode_close_req(invoke_id, 0))
        .await
        .is_err()
    {
        return;
    }
    let width = settings.field_width();
    let mut chunk = vec![0u8; READ_CHUNK];
    let wait = async {
        loop {
            match read_message(
                &mut session.rd,
                &mut session.buf,
                &mut chunk,
                width,
                session.addr,
            )
            .await
            {
                Ok(Some(Ok(Message::CloseConf { .. }))) | Ok(None) | Err(_) => return,
                Ok(Some(_)) => {}
            }
        }
    };
    let _ = tokio::time::timeout(settings.close_timeout, wait).await;
    let _ = session.wr.shutdown().await;
}

fn stop_requested(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

async fn run(
    settings: CtiSettings,
    tx: mpsc::Sender<CtiEvent>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), CtiError> {
    let mut side = CtiSide::A;
    let mut backoff = Backoff { failures: 0 };
    let mut invoke_id: u32 = 0;
    let mut announced_down = false;
    loop {
        if stop_requested(&stop) || tx.is_closed() {
            return Ok(());
        }
        let addr = settings.addr(side);
        invoke_id = invoke_id.wrapping_add(1);
        let attempt = tokio::select! {
            r = open_session(&settings, addr, invoke_id) => Some(r),
            _ = stop.changed() => None,
        };
        let Some(attempt) = attempt else {
            return Ok(());
        };
        match attempt {
            Ok(mut session) => {
                let opened_at = tokio::time::Instant::now();
                tracing::info!(%side, %addr, "cti: session open");
                let gap = CtiEvent::Gap {
                    reason: format!(
                        "connected to CTI server side {side} ({addr}): agent states unknown until re-sent"
                    ),
                };
                let connected = CtiEvent::Connected {
                    side,
                    addr,
                    session_type: session.conf.session_type,
                };
                if tx.send(gap).await.is_err() || tx.send(connected).await.is_err() {
                    close_session(&mut session, &settings, invoke_id.wrapping_add(1)).await;
                    return Ok(());
                }
                match run_session(&mut session, &settings, &tx, &mut stop, &mut invoke_id).await {
                    SessionEnd::Stop => return Ok(()),
                    SessionEnd::Lost(e) => {
                        tracing::warn!(%side, %addr, error = %e, "cti: session lost");
                        announced_down = true;
                        let reason = e.to_string();
                        if tx.send(CtiEvent::Disconnected { reason }).await.is_err() {
                            return Ok(());
                        }
                        if opened_at.elapsed() >= settings.heartbeat {
                            // The reference retries the same side first, immediately.
                            backoff.failures = 0;
                            continue;
                        }
                        // A session that dies at once must not become a tight loop.
                        let (next, delay) = backoff.next(&settings, side);
                        side = next;
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = stop.changed() => return Ok(()),
                        }
                        continue;
                    }
                }
            }
            Err(e) if !e.is_retriable() => {
                tracing::error!(%side, %addr, error = %e, "cti: permanent failure");
                let _ = tx
                    .send(CtiEvent::Disconnected {
                        reason: e.to_string(),
                    })
                    .await;
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(%side, %addr, error = %e, "cti: connection attempt failed");
                if !announced_down {
                    announced_down = true;
                    let reason = e.to_string();
                    if tx.send(CtiEvent::Disconnected { reason }).await.is_err() {
                        return Ok(());
                    }
                }
                let (next, delay) = backoff.next(&settings, side);
                side = next;
                if !delay.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => return Ok(()),
                    }
                }
            }
        }
    }
}

async fn run_session(
    session: &mut Session,
    settings: &CtiSettings,
    tx: &mpsc::Sender<CtiEvent>,
    stop: &mut watch::Receiver<bool>,
    invoke_id: &mut u32,
) -> SessionEnd {
    let width = settings.field_width();
    let addr = session.addr;
    let start = tokio::time::Instant::now() + settings.heartbeat;
    let mut heartbeat = tokio::time::interval_at(start, settings.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut unanswered: u32 = 0;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        // Hand out every complete message already buffered.
        loop {
            let decoded = match session.buf.next_frame() {
                Ok(Some((header, body))) => (header.msg_type, decode_body(header, body, width)),
                Ok(None) => break,
                Err(source) => return SessionEnd::Lost(CtiError::Protocol { addr, source }),
            };
            let event = match decoded {
                (_, Ok(Message::HeartbeatConf { .. })) => {
                    unanswered = 0;
                    None
                }
                (_, Ok(Message::AgentState(ev))) => Some(CtiEvent::AgentState(ev)),
                (_, Ok(Message::SystemEvent(ev))) => system_event_to_cti(ev),
                (_, Ok(Message::FailureEvent { status })) => {
                    tracing::warn!(status, name = status_name(status), "cti: FAILURE_EVENT");
                    None
                }
                (_, Ok(Message::FailureConf { invoke_id, status })) => {
                    tracing::warn!(
                        invoke_id,
                        status,
                        name = status_name(status),
                        "cti: FAILURE_CONF"
                    );
                    None
                }
                (_, Ok(other)) => {
                    tracing::trace!(?other, "cti: message ignored");
                    None
                }
                (msg_type, Err(e)) => {
                    tracing::warn!(msg_type, error = %e, "cti: undecodable message skipped");
                    Some(CtiEvent::Gap {
                        reason: format!("undecodable message type {msg_type} skipped: {e}"),
                    })
                }
            };
            if let Some(event) = event {
                if tx.send(event).await.is_err() {
                    close_session(session, settings, next_invoke(invoke_id)).await;
                    return SessionEnd::Stop;
                }
            }
        }
        tokio::select! {
            biased;
            _ = stop.changed() => {
                close_session(session, settings, next_invoke(invoke_id)).await;
                let _ = tx.try_send(CtiEvent::Disconnected { reason: "client shut down".into() });
                return SessionEnd::Stop;
            }
            read = session.rd.read(&mut chunk) => match read {
                Ok(0) => {
                    return SessionEnd::Lost(CtiError::Closed {
                        addr,
                        detail: "server closed the connection".into(),
                    })
                }
                Ok(n) => session.buf.push(&chunk[..n]),
                Err(e) => {
                    return SessionEnd::Lost(CtiError::Closed {
                        addr,
                        detail: e.to_string(),
                    })
                }
            },
            _ = heartbeat.tick() => {
                if unanswered >= settings.missed_heartbeats {
                    return SessionEnd::Lost(CtiError::HeartbeatLost {
                        addr,
                        missed: unanswered,
                    });
                }
                let req = encode_heartbeat_req(next_invoke(invoke_id));
                if let Err(e) = session.wr.write_all(&req).await {
                    return SessionEnd::Lost(CtiError::Closed {
                        addr,
                        detail: e.to_string(),
                    });
                }
                unanswered += 1;
            }
        }
    }
}

fn next_invoke(invoke_id: &mut u32) -> u32 {
    *invoke_id = invoke_id.wrapping_add(1);
    *invoke_id
}

fn system_event_to_cti(ev: SystemEvent) -> Option<CtiEvent> {
    match ev.event_id {
        system_event::PERIPHERAL_ONLINE => Some(CtiEvent::PeripheralOnline(ev)),
        system_event::PERIPHERAL_OFFLINE | system_event::PG_OFFLINE => {
            Some(CtiEvent::PeripheralOffline(ev))
        }
        _ => {
            tracing::debug!(event_id = ev.event_id, "cti: system event");
            None
        }
    }
}

//! Emulator of the Cisco CTI Server (GED-188 over TCP), server side, for the real-time agent
//! state feed: OPEN/HEARTBEAT/CLOSE sessions, SYSTEM_EVENT and AGENT_STATE_EVENT streams driven
//! by seeded scenarios over the data set, events pushed by tests, and runtime fault injection.
//!
//! Written from `cti-protocol.md` only, with its own encoder and request decoder ([`wire`]); it
//! must never share code with the CTI client in `wfm-sources`.

mod event;
mod scenario;
mod session;
pub mod wire;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use event::{
    roster, AgentState, AgentStateEvent, AgentStateEventSummary, CtiAgent, SkillGroupRef,
    SystemEventId, FIRST_AGENT_ID, PGS_OPC_DOWN, PGS_PERIPHERAL_OFFLINE,
};

use crate::SharedData;

/// What the emulator streams once a session is open.
#[derive(Clone, Debug, PartialEq)]
pub enum Scenario {
    /// Nothing but what the test pushes with [`CtiHandle::push_event`].
    Idle,
    /// A seeded shift over the first `agents` agents: log in, ready, calls (talking, wrap-up,
    /// ready), not-ready with reason codes 1..=4, log out (reason 50) after 8 simulated hours and
    /// log in again the next simulated day. `speed` is simulated seconds per second.
    Shift {
        /// Number of agents taking part (capped at the data set's agents).
        agents: usize,
        /// Time compression: 60.0 plays a minute of the shift every second.
        speed: f64,
    },
    /// A firehose for benchmarks: `events_per_sec` state changes, round robin over the agents,
    /// for `duration`.
    Rate {
        /// Target events per second.
        events_per_sec: u32,
        /// How long to stream.
        duration: Duration,
    },
}

/// Emulator configuration.
#[derive(Clone, Debug)]
pub struct CtiConfig {
    /// Address to bind; `None` is 127.0.0.1:0.
    pub bind: Option<SocketAddr>,
    /// ClientID the OPEN_REQ must carry.
    pub client_id: String,
    /// ClientPassword the OPEN_REQ must carry (may be empty).
    pub client_password: String,
    /// PeripheralID of the one peripheral served.
    pub peripheral_id: u32,
    /// Scenario started by the first OPEN_CONF (it then runs on, whoever is connected).
    pub scenario: Scenario,
    /// Seed of the scenario's random choices.
    pub seed: u64,
    /// SessionType answered in OPEN_CONF (PV24+): 1 active, 2 standby.
    pub session_type: u16,
    /// Record every sent event for [`CtiHandle::sent`] (turn off for long runs: memory grows).
    pub record_sent: bool,
}

impl Default for CtiConfig {
    fn default() -> Self {
        CtiConfig {
            bind: None,
            client_id: "wfm".into(),
            client_password: "ciscocti".into(),
            peripheral_id: 5000,
            scenario: Scenario::Idle,
            seed: 42,
            session_type: 1,
            record_sent: true,
        }
    }
}

/// A one-shot fault applied to every connected session (see [`CtiHandle::inject`]).
#[derive(Clone, Debug, PartialEq)]
pub enum CtiFault {
    /// Close every connection (TCP FIN, no CLOSE_CONF).
    DropConnection,
    /// Write this many pseudo-random bytes (not a valid frame).
    Garbage(usize),
    /// Write a header whose MessageLength is 12 500 (over the 12 500-byte cap with the header).
    OversizeFrame,
    /// Write an AGENT_STATE_EVENT header with MessageLength 0.
    ZeroLengthFrame,
    /// SYSTEM_EVENT: this event id; PGStatus is updated first (offline bits set or cleared).
    System(SystemEventId),
}

enum Cmd {
    Event(Arc<AgentStateEvent>),
    Raw(Vec<u8>),
    /// Raw bytes then close.
    RawThenClose(Vec<u8>),
    Close,
}

struct Session {
    tx: mpsc::UnboundedSender<Cmd>,
    open: bool,
    wide: bool,
}

struct Inner {
    cfg: CtiConfig,
    data: SharedData,
    sessions: Mutex<HashMap<u64, Session>>,
    next_session: AtomicU64,
    sent: Mutex<Vec<(Instant, AgentStateEventSummary)>>,
    answer_heartbeats: AtomicBool,
    silent_open: AtomicBool,
    side_down: AtomicBool,
    pg_status: AtomicU32,
    scenario_started: AtomicBool,
    opens: AtomicU64,
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// Sends `cmd(session)` to every session (only open ones when `open_only`); returns the count.
    fn each(&self, open_only: bool, mut cmd: impl FnMut(bool) -> Cmd) -> usize {
        let sessions = lock(&self.sessions);
        let mut n = 0;
        for s in sessions.values() {
            if open_only && !s.open {
                continue;
            }
            if s.tx.send(cmd(s.wide)).is_ok() {
                n += 1;
            }
        }
        n
    }

    fn broadcast(&self, ev: Arc<AgentStateEvent>) -> usize {
        self.each(true, |_| Cmd::Event(ev.clone()))
    }
}

/// The CTI Server emulator.
pub struct CtiEmulator;

impl CtiEmulator {
    /// Binds, starts accepting and returns the handle. The scenario starts with the first
    /// OPEN_CONF.
    pub async fn spawn(cfg: CtiConfig, data: SharedData) -> io::Result<CtiHandle> {
        let bind = cfg
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            cfg,
            data,
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            sent: Mutex::new(Vec::new()),
            answer_heartbeats: AtomicBool::new(true),
            silent_open: AtomicBool::new(false),
            side_down: AtomicBool::new(false),
            pg_status: AtomicU32::new(0),
            scenario_started: AtomicBool::new(false),
            opens: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(accept_loop(listener, inner.clone(), stop_rx));
        tracing::info!(%addr, "cti emulator listening");
        Ok(CtiHandle {
            addr,
            inner,
            stop: stop_tx,
        })
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "cti emulator accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if inner.side_down.load(Ordering::SeqCst) {
            drop(stream);
            continue;
        }
        let id = inner.next_session.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(%peer, id, "cti emulator accepted");
        tokio::spawn(session::run(inner.clone(), id, stream, stop.clone()));
    }
    // Closing: every session ends, then the listener is dropped (new connections refused).
    inner.each(false, |_| Cmd::Close);
}

/// Control of a running CTI emulator; dropping it shuts the server down.
pub struct CtiHandle {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
}

impl CtiHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ClientID and ClientPassword the server expects.
    pub fn credentials(&self) -> (String, String) {
        (
            self.inner.cfg.client_id.clone(),
            self.inner.cfg.client_password.clone(),
        )
    }

    /// The agents as the CTI feed identifies them (current data set).
    pub fn agents(&self) -> Vec<CtiAgent> {
        roster(&self.inner.data.read())
    }

    /// Sends `event` to every open session now; returns how many sessions it was queued for.
    pub fn push_event(&self, event: AgentStateEvent) -> usize {
        self.inner.broadcast(Arc::new(event))
    }

    /// Every AGENT_STATE_EVENT written to a socket, with the instant the write completed (events
    /// generated while no session is open are not sent, as on a real server, and not recorded).
    pub fn sent(&self) -> Vec<(Instant, AgentStateEventSummary)> {
        lock(&self.inner.sent).clone()
    }

    /// Number of AGENT_STATE_EVENTs written so far (cheaper than `sent().len()`).
    pub fn sent_count(&self) -> usize {
        lock(&self.inner.sent).len()
    }

    /// Forgets the recorded events.
    pub fn clear_sent(&self) {
        lock(&self.inner.sent).clear();
    }

    /// Number of sessions currently connected (open or not).
    pub fn connections(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// Number of OPEN_CONFs sent since spawn.
    pub fn opens(&self) -> u64 {
        self.inner.opens.load(Ordering::SeqCst)
    }

    /// Applies a one-shot fault to every connected session; returns how many it reached.
    pub fn inject(&self, fault: CtiFault) -> usize {
        let inner = &self.inner;
        let pid = inner.cfg.peripheral_id;
        match fault {
            CtiFault::DropConnection => inner.each(false, |_| Cmd::Close),
            CtiFault::Garbage(n) => {
                let bytes: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(97) ^ 0xA5).collect();
                inner.each(false, |_| Cmd::Raw(bytes.clone()))
            }
            CtiFault::OversizeFrame => {
                let mut b = 12_500u32.to_be_bytes().to_vec();
                b.extend_from_slice(&wire::msg::AGENT_STATE_EVENT.to_be_bytes());
                b.extend_from_slice(&[0u8; 64]);
                inner.each(false, |_| Cmd::Raw(b.clone()))
            }
            CtiFault::ZeroLengthFrame => {
                let mut b = 0u32.to_be_bytes().to_vec();
                b.extend_from_slice(&wire::msg::AGENT_STATE_EVENT.to_be_bytes());
                inner.each(false, |_| Cmd::Raw(b.clone()))
            }
            CtiFault::System(id) => {
                let status = match id {
                    SystemEventId::PeripheralOnline => {
                        inner
                            .pg_status
                            .fetch_and(!(PGS_PERIPHERAL_OFFLINE | PGS_OPC_DOWN), Ordering::SeqCst);
                        inner.pg_status.load(Ordering::SeqCst)
                    }
                    SystemEventId::PeripheralOffline => {
                        inner
                            .pg_status
                            .fetch_or(PGS_PERIPHERAL_OFFLINE, Ordering::SeqCst)
                            | PGS_PERIPHERAL_OFFLINE
                    }
                    SystemEventId::PgOffline => {
                        let bits = PGS_PERIPHERAL_OFFLINE | PGS_OPC_DOWN;
                        inner.pg_status.fetch_or(bits, Ordering::SeqCst) | bits
                    }
                    SystemEventId::HalfHourChange => inner.pg_status.load(Ordering::SeqCst),
                };
                inner.each(true, |wide| {
                    Cmd::Raw(event::system_event(id, status, pid, wide))
                })
            }
        }
    }

    /// Whether HEARTBEAT_REQ is answered (default true).
    pub fn set_answer_heartbeats(&self, on: bool) {
        self.inner.answer_heartbeats.store(on, Ordering::SeqCst);
    }

    /// When true, OPEN_REQ is read but never answered (TCP accepted, server silent).
    pub fn set_silent_open(&self, on: bool) {
        self.inner.silent_open.store(on, Ordering::SeqCst);
    }

    /// Side down: when true, every current connection is closed and new connections are
    /// accepted and closed at once, so a client must fail over to the other side.
    pub fn set_side_down(&self, down: bool) {
        self.inner.side_down.store(down, Ordering::SeqCst);
        if down {
            self.inner.each(false, |_| Cmd::Close);
        }
    }

    /// Stops accepting (the port then refuses connections) and closes every session.
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
        self.inner.each(false, |_| Cmd::Close);
    }
}

impl Drop for CtiHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

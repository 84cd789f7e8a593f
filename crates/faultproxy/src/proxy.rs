//! Listener, runtime control and the public handle.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::conn;
use crate::mode::{FaultMode, HttpFault};
use crate::stats::{bump, Counters, Stats};

/// Errors from the proxy's control API.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// HTTP faults need a proxy started with [`FaultProxy::spawn_http`].
    #[error("HTTP faults need an HTTP proxy (FaultProxy::spawn_http); this one forwards raw TCP")]
    NotHttp,
}

/// Runtime control state broadcast to the listener and every connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Control {
    pub mode: FaultMode,
    /// Bumped on every `set`, so `set_for` only reverts its own mode.
    pub generation: u64,
    pub shutdown: bool,
}

/// A pending injected HTTP status.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingStatus {
    pub code: u16,
    pub retry_after: Option<u64>,
}

pub(crate) struct Shared {
    pub upstream: SocketAddr,
    pub http: bool,
    pub control: watch::Sender<Control>,
    pub counters: Counters,
    http_fault: Mutex<Option<(PendingStatus, usize)>>,
}

impl Shared {
    /// Takes one injected status off the pending count, if any.
    pub fn take_http_fault(&self) -> Option<PendingStatus> {
        let mut guard = match self.http_fault.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (status, remaining) = guard.as_mut()?;
        let status = *status;
        *remaining -= 1;
        if *remaining == 0 {
            *guard = None;
        }
        Some(status)
    }
}

/// Entry point: spawns proxies on the current Tokio runtime.
pub struct FaultProxy;

impl FaultProxy {
    /// Starts a raw TCP proxy to `upstream`, listening on `bind` (default
    /// `127.0.0.1:0`). Works in front of TLS. Must be called inside a Tokio runtime.
    pub async fn spawn(upstream: SocketAddr, bind: Option<SocketAddr>) -> io::Result<ProxyHandle> {
        Self::start(upstream, bind, false).await
    }

    /// Starts an HTTP/1.1-aware proxy: like [`FaultProxy::spawn`], plus request
    /// framing on the client→upstream direction so [`ProxyHandle::inject`] can
    /// answer requests itself. Only for plain-HTTP upstreams (not TLS).
    pub async fn spawn_http(
        upstream: SocketAddr,
        bind: Option<SocketAddr>,
    ) -> io::Result<ProxyHandle> {
        Self::start(upstream, bind, true).await
    }

    async fn start(
        upstream: SocketAddr,
        bind: Option<SocketAddr>,
        http: bool,
    ) -> io::Result<ProxyHandle> {
        let bind = bind.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (control, _) = watch::channel(Control::default());
        let shared = Arc::new(Shared {
            upstream,
            http,
            control,
            counters: Counters::default(),
            http_fault: Mutex::new(None),
        });
        let task = tokio::spawn(accept_loop(shared.clone(), listener, addr));
        tracing::debug!(%addr, %upstream, http, "fault proxy listening");
        Ok(ProxyHandle {
            addr,
            shared,
            task: Some(task),
            runtime: tokio::runtime::Handle::current(),
        })
    }
}

/// Handle to a running proxy. Dropping it shuts the proxy down.
pub struct ProxyHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
    runtime: tokio::runtime::Handle,
}

impl ProxyHandle {
    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The current fault mode.
    pub fn mode(&self) -> FaultMode {
        self.shared.control.borrow().mode.clone()
    }

    /// Switches the fault mode now.
    pub fn set(&self, mode: FaultMode) {
        tracing::debug!(?mode, "fault proxy mode");
        self.shared.control.send_modify(|control| {
            control.mode = mode;
            control.generation += 1;
        });
    }

    /// Switches to `mode` for `duration`, then back to `Pass` unless the mode
    /// was changed again in the meantime.
    pub fn set_for(&self, mode: FaultMode, duration: Duration) {
        self.set(mode);
        let generation = self.shared.control.borrow().generation;
        let shared = self.shared.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(duration).await;
            shared.control.send_if_modified(|control| {
                if control.generation != generation || control.shutdown {
                    return false;
                }
                control.mode = FaultMode::Pass;
                control.generation += 1;
                true
            });
        });
    }

    /// Queues an HTTP fault (replacing any pending one). HTTP proxies only.
    pub fn inject(&self, fault: HttpFault) -> Result<(), ProxyError> {
        if !self.shared.http {
            return Err(ProxyError::NotHttp);
        }
        let HttpFault::Status {
            code,
            retry_after,
            times,
        } = fault;
        let pending = (times > 0).then_some((PendingStatus { code, retry_after }, times));
        let mut guard = match self.shared.http_fault.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = pending;
        Ok(())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops listening and resets every open connection.
    pub async fn shutdown(mut self) {
        self.signal_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_shutdown(&self) {
        self.shared
            .control
            .send_modify(|control| control.shutdown = true);
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

/// Accepts connections; closes the listener while the mode is `Cut` and
/// rebinds the same address afterwards.
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, addr: SocketAddr) {
    let mut control = shared.control.subscribe();
    let mut listener = Some(listener);
    loop {
        let (mode, shutdown) = {
            let current = control.borrow_and_update();
            (current.mode.clone(), current.shutdown)
        };
        if shutdown {
            return;
        }
        if mode == FaultMode::Cut {
            listener = None;
            if control.changed().await.is_err() {
                return;
            }
            continue;
        }
        let active = match listener.take() {
            Some(active) => active,
            None => match TcpListener::bind(addr).await {
                Ok(active) => active,
                Err(error) => {
                    tracing::warn!(%addr, %error, "fault proxy could not rebind; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                        changed = control.changed() => if changed.is_err() { return },
                    }
                    continue;
                }
            },
        };
        tokio::select! {
            changed = control.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            accepted = active.accept() => match accepted {
                Ok((stream, _peer)) => on_accept(&shared, stream),
                Err(error) => {
                    tracing::warn!(%error, "fault proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
        listener = Some(active);
    }
}

fn on_accept(shared: &Arc<Shared>, stream: TcpStream) {
    bump(&shared.counters.connections_accepted, 1);
    let _ = stream.set_nodelay(true);
    let mode = shared.control.borrow().mode.clone();
    match mode {
        FaultMode::Reset | FaultMode::Cut => {
            bump(&shared.counters.resets, 1);
            conn::reset(&stream);
        }
        FaultMode::Blackhole => {
            bump(&shared.counters.blackholed, 1);
            tokio::spawn(conn::hold(shared.clone(), stream));
        }
        _ => {
            tokio::spawn(conn::run(shared.clone(), stream));
        }
    }
}

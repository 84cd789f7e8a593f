//! One proxied connection: two byte pumps with faults applied per chunk.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::http;
use crate::mode::FaultMode;
use crate::proxy::{Control, Shared};
use crate::stats::bump;

/// Largest chunk read and forwarded at once.
pub(crate) const MAX_CHUNK: usize = 16 * 1024;

/// Direction of a pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    ToUpstream,
    ToClient,
}

/// How a pump (and so the connection) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The reader hit EOF; the writer was shut down (half-close).
    Eof,
    /// Close both sides normally (FIN).
    Close,
    /// Close both sides with RST.
    Reset,
}

/// Whether to keep pumping after a chunk.
pub(crate) enum Flow {
    Continue,
    End(End),
}

/// Per-connection state shared by both pumps.
pub(crate) struct ConnCtx {
    pub shared: Arc<Shared>,
    blackholed: AtomicBool,
    faulted: AtomicBool,
}

impl ConnCtx {
    /// Counts a fault once per connection.
    fn fault(&self, counter: &AtomicU64) {
        if !self.faulted.swap(true, Ordering::Relaxed) {
            bump(counter, 1);
        }
    }
}

/// Closes `stream` with a RST when it is dropped.
pub(crate) fn reset(stream: &TcpStream) {
    if let Err(error) = stream.set_zero_linger() {
        tracing::debug!(%error, "set_zero_linger failed");
    }
}

/// Returns how a connection must end after a control change, if it must.
pub(crate) fn control_abort(ctx: &ConnCtx, control: &watch::Receiver<Control>) -> Option<End> {
    let current = control.borrow();
    if current.shutdown {
        return Some(End::Reset);
    }
    if current.mode == FaultMode::Cut {
        ctx.fault(&ctx.shared.counters.cut_drops);
        return Some(End::Reset);
    }
    None
}

/// Chunk size for the current mode (small under bandwidth limits for smoothness).
pub(crate) fn chunk_size(mode: &FaultMode) -> usize {
    match mode {
        FaultMode::Bandwidth { bytes_per_sec } => {
            let per_tick = (*bytes_per_sec / 20).max(1);
            usize::try_from(per_tick)
                .unwrap_or(MAX_CHUNK)
                .min(MAX_CHUNK)
        }
        _ => MAX_CHUNK,
    }
}

/// A blackholed new connection: read and discard until the client leaves,
/// the link is cut or the proxy shuts down.
pub(crate) async fn hold(shared: Arc<Shared>, mut stream: TcpStream) {
    let mut control = shared.control.subscribe();
    let mut buf = vec![0u8; MAX_CHUNK];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
            changed = control.changed() => {
                let current = control.borrow_and_update();
                if changed.is_err() || current.shutdown || current.mode == FaultMode::Cut {
                    reset(&stream);
                    return;
                }
            }
        }
    }
}

/// Proxies one accepted client connection until either side ends it.
pub(crate) async fn run(shared: Arc<Shared>, client: TcpStream) {
    let mut control = shared.control.subscribe();
    let connect = TcpStream::connect(shared.upstream);
    let upstream = tokio::select! {
        connected = connect => connected,
        _ = wait_for_abort(&mut control) => {
            reset(&client);
            return;
        }
    };
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%error, upstream = %shared.upstream, "upstream connect failed");
            bump(&shared.counters.upstream_connect_failures, 1);
            reset(&client);
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let http = shared.http;
    let ctx = ConnCtx {
        shared,
        blackholed: AtomicBool::new(false),
        faulted: AtomicBool::new(false),
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let end = {
        let (inject_tx, inject_rx) = mpsc::unbounded_channel();
        let up = async {
            if http {
                http::pump_requests(&ctx, &mut client_read, &mut upstream_write, inject_tx).await
            } else {
                drop(inject_tx);
                pump(
                    &ctx,
                    Dir::ToUpstream,
                    &mut client_read,
                    &mut upstream_write,
                    None,
                )
                .await
            }
        };
        let inject_rx = if http { Some(inject_rx) } else { None };
        let down = pump(
            &ctx,
            Dir::ToClient,
            &mut upstream_read,
            &mut client_write,
            inject_rx,
        );
        tokio::pin!(up, down);
        tokio::select! {
            end = &mut up => if end == End::Eof { down.await } else { end },
            end = &mut down => if end == End::Eof { up.await } else { end },
        }
    };
    if end == End::Reset {
        reset(client_read.as_ref());
        reset(upstream_read.as_ref());
    }
}

async fn wait_for_abort(control: &mut watch::Receiver<Control>) {
    loop {
        if control.changed().await.is_err() {
            return;
        }
        let current = control.borrow_and_update();
        if current.shutdown || current.mode == FaultMode::Cut {
            return;
        }
    }
}

async fn recv_inject(inject: &mut Option<mpsc::UnboundedReceiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match inject {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Copies `reader` to `writer` chunk by chunk, applying the current fault.
/// `inject` carries HTTP responses generated by the proxy (client direction only).
pub(crate) async fn pump<R, W>(
    ctx: &ConnCtx,
    dir: Dir,
    reader: &mut R,
    writer: &mut W,
    mut inject: Option<mpsc::UnboundedReceiver<Vec<u8>>>,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut control = ctx.shared.control.subscribe();
    let mut buf = vec![0u8; MAX_CHUNK];
    let mut forwarded: u64 = 0;
    loop {
        let size = chunk_size(&control.borrow_and_update().mode);
        tokio::select! {
            read = reader.read(&mut buf[..size]) => match read {
                Ok(0) => {
                    let _ = writer.shutdown().await;
                    return End::Eof;
                }
                Ok(n) => {
                    if let Flow::End(end) = forward(ctx, dir, &buf[..n], writer, &mut forwarded).await {
                        return end;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, ?dir, "proxy read failed");
                    return End::Reset;
                }
            },
            changed = control.changed() => {
                if changed.is_err() {
                    return End::Reset;
                }
                if let Some(end) = control_abort(ctx, &control) {
                    return end;
                }
            }
            message = recv_inject(&mut inject) => match message {
                Some(response) => {
                    if writer.write_all(&response).await.is_err() {
                        return End::Reset;
                    }
                }
                None => inject = None,
            },
        }
    }
}

/// Forwards one chunk under the current mode. `forwarded` counts bytes already
/// forwarded in this direction on this connection.
pub(crate) async fn forward<W>(
    ctx: &ConnCtx,
    dir: Dir,
    data: &[u8],
    writer: &mut W,
    forwarded: &mut u64,
) -> Flow
where
    W: AsyncWrite + Unpin,
{
    if ctx.blackholed.load(Ordering::Relaxed) {
        return Flow::Continue;
    }
    let mode = ctx.shared.control.borrow().mode.clone();
    let counters = &ctx.shared.counters;
    let mut data = data;
    let mut truncate_after = false;
    let mut pause = Duration::ZERO;
    match mode {
        FaultMode::Pass => {}
        FaultMode::Latency { per_chunk } => tokio::time::sleep(per_chunk).await,
        FaultMode::Reset => {
            ctx.fault(&counters.resets);
            return Flow::End(End::Reset);
        }
        FaultMode::Cut => {
            ctx.fault(&counters.cut_drops);
            return Flow::End(End::Reset);
        }
        FaultMode::Blackhole => {
            ctx.blackholed.store(true, Ordering::Relaxed);
            ctx.fault(&counters.blackholed);
            return Flow::Continue;
        }
        FaultMode::TruncateResponses { after_bytes } => {
            if dir == Dir::ToClient {
                let remaining = after_bytes.saturating_sub(*forwarded);
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                if take < data.len() {
                    truncate_after = true;
                    data = &data[..take];
                }
            }
        }
        FaultMode::Bandwidth { bytes_per_sec } => {
            let rate = bytes_per_sec.max(1) as f64;
            pause = Duration::from_secs_f64(data.len() as f64 / rate);
        }
    }
    if !data.is_empty() {
        if let Err(error) = writer.write_all(data).await {
            tracing::debug!(%error, ?dir, "proxy write failed");
            return Flow::End(End::Reset);
        }
        let len = data.len() as u64;
        *forwarded += len;
        match dir {
            Dir::ToUpstream => bump(&counters.bytes_to_upstream, len),
            Dir::ToClient => bump(&counters.bytes_to_client, len),
        }
    }
    if truncate_after {
        ctx.fault(&counters.truncated);
        let _ = writer.flush().await;
        return Flow::End(End::Close);
    }
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
    Flow::Continue
}

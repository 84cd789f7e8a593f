//! One client connection: a reader task decoding requests and a writer loop that owns the
//! socket's write half (responses, events and fault bytes all go through one queue).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::event::{system_event, unix_now, SystemEventId, PGS_PERIPHERAL_OFFLINE};
use super::wire::{self, msg, tag, Frame, OpenReq, Request};
use super::{lock, scenario, Cmd, Inner, Session};

/// ALL_EVENTS service bit.
const ALL_EVENTS: u32 = 0x10;
/// Events written per socket write at most.
const BATCH: usize = 512;

/// Runs one connection to its end.
pub(super) async fn run(
    inner: Arc<Inner>,
    id: u64,
    stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&inner.sessions).insert(
        id,
        Session {
            tx: tx.clone(),
            open: false,
            wide: true,
        },
    );
    let reader = tokio::spawn(read_loop(inner.clone(), id, rd, tx));
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut batch = Vec::with_capacity(BATCH);
    let peripheral_id = inner.cfg.peripheral_id;
    'outer: loop {
        let first = tokio::select! {
            _ = stop.changed() => break,
            c = rx.recv() => c,
        };
        let Some(first) = first else { break };
        let wide = lock(&inner.sessions).get(&id).is_none_or(|s| s.wide);
        let mut close = false;
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Event(ev) => {
                    ev.encode_into(&mut buf, peripheral_id, wide);
                    batch.push(ev);
                }
                Cmd::Raw(b) => buf.extend_from_slice(&b),
                Cmd::RawThenClose(b) => {
                    buf.extend_from_slice(&b);
                    close = true;
                    break;
                }
                Cmd::Close => {
                    close = true;
                    break;
                }
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !buf.is_empty() {
            if wr.write_all(&buf).await.is_err() {
                break 'outer;
            }
            buf.clear();
        }
        if !inner.cfg.record_sent {
            batch.clear();
        }
        if !batch.is_empty() {
            let now = Instant::now();
            let mut sent = lock(&inner.sent);
            for ev in batch.drain(..) {
                sent.push((now, ev.summary(id)));
            }
        }
        if close {
            let _ = wr.shutdown().await;
            break;
        }
    }
    reader.abort();
    lock(&inner.sessions).remove(&id);
    tracing::debug!(id, "cti emulator session ended");
}

async fn read_frame(rd: &mut OwnedReadHalf) -> std::io::Result<(u32, Vec<u8>)> {
    let mut head = [0u8; wire::HEADER_LEN];
    rd.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let msg_type = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len > wire::MAX_BODY {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "oversize frame",
        ));
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body).await?;
    Ok((msg_type, body))
}

async fn read_loop(
    inner: Arc<Inner>,
    id: u64,
    mut rd: OwnedReadHalf,
    tx: mpsc::UnboundedSender<Cmd>,
) {
    let mut idle: Option<Duration> = None;
    let mut open = false;
    loop {
        let frame = match idle {
            Some(d) => match tokio::time::timeout(d, read_frame(&mut rd)).await {
                Ok(f) => f,
                Err(_) => {
                    tracing::debug!(id, "cti emulator idle timeout");
                    break;
                }
            },
            None => read_frame(&mut rd).await,
        };
        let Ok((msg_type, body)) = frame else { break };
        let req = match wire::decode_request(msg_type, &body) {
            Ok(r) => r,
            Err(_) => {
                let _ = tx.send(Cmd::RawThenClose(wire::failure_conf(0, 25)));
                return;
            }
        };
        match req {
            Request::Open(o) => {
                if open {
                    let _ = tx.send(Cmd::Raw(wire::failure_conf(o.invoke_id, 5)));
                    continue;
                }
                if inner.silent_open.load(Ordering::SeqCst) {
                    continue;
                }
                if let Err(status) = check_open(&inner, &o) {
                    let _ = tx.send(Cmd::RawThenClose(wire::failure_conf(o.invoke_id, status)));
                    return;
                }
                open = true;
                if o.idle_timeout != u32::MAX {
                    idle = Some(Duration::from_secs(u64::from(o.idle_timeout)));
                }
                open_session(&inner, id, &o, &tx);
            }
            Request::Heartbeat(invoke) => {
                if !open {
                    let _ = tx.send(Cmd::Raw(wire::failure_conf(invoke, 4)));
                } else if inner.answer_heartbeats.load(Ordering::SeqCst) {
                    let _ = tx.send(Cmd::Raw(wire::invoke_only(msg::HEARTBEAT_CONF, invoke)));
                }
            }
            Request::Close(invoke, _) => {
                let _ = tx.send(Cmd::RawThenClose(wire::invoke_only(
                    msg::CLOSE_CONF,
                    invoke,
                )));
                return;
            }
            Request::Other(t) => tracing::trace!(id, t, "cti emulator skipped request"),
        }
    }
    let _ = tx.send(Cmd::Close);
}

/// The FAILURE_CONF status for a refused OPEN_REQ.
fn check_open(inner: &Inner, o: &OpenReq) -> Result<(), u32> {
    if !(9..=25).contains(&o.version) {
        return Err(1);
    }
    if !o.reserved_zero {
        return Err(22);
    }
    if o.idle_timeout != u32::MAX && o.idle_timeout < 20 {
        return Err(18);
    }
    let (Some(client_id), Some(password)) = (&o.client_id, &o.client_password) else {
        return Err(6);
    };
    if *client_id != inner.cfg.client_id || password != inner.cfg.client_password.as_bytes() {
        return Err(36);
    }
    Ok(())
}

fn open_session(inner: &Arc<Inner>, id: u64, o: &OpenReq, tx: &mpsc::UnboundedSender<Cmd>) {
    let wide = wire::wide_fields(o.version);
    let pg_status = inner.pg_status.load(Ordering::SeqCst);
    let online = pg_status & PGS_PERIPHERAL_OFFLINE == 0;
    let mut f = Frame::new(msg::OPEN_CONF, wide);
    f.u32(o.invoke_id)
        .u32(o.services)
        .u32(0) // MonitorID
        .u32(pg_status)
        .u32(unix_now())
        .u16(u16::from(online))
        .u16(17) // PT_ENTERPRISE_AGENT
        .u16(9) // AgentState: UNKNOWN (not an agent session)
        .u32(0); // DepartmentID
    if o.version >= 24 {
        f.u16(inner.cfg.session_type);
    }
    f.field(tag::NUM_PERIPHERALS, &1u16.to_be_bytes())
        .field(tag::PERIPHERAL_ID, &inner.cfg.peripheral_id.to_be_bytes());
    let mut out = f.finish();
    if o.services & ALL_EVENTS != 0 {
        let sys = if online {
            SystemEventId::PeripheralOnline
        } else {
            SystemEventId::PeripheralOffline
        };
        out.extend(system_event(sys, pg_status, inner.cfg.peripheral_id, wide));
    }
    // Registered as open under the lock before OPEN_CONF is queued: no event can overtake it.
    {
        let mut sessions = lock(&inner.sessions);
        let _ = tx.send(Cmd::Raw(out));
        if let Some(s) = sessions.get_mut(&id) {
            s.open = true;
            s.wide = wide;
        }
    }
    inner.opens.fetch_add(1, Ordering::SeqCst);
    if !inner.scenario_started.swap(true, Ordering::SeqCst) {
        scenario::start(inner.clone());
    }
}

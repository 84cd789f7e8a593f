//! CTI Server emulator against a tiny GED-188 client written here from the reference
//! (independent of the emulator's encoder and of any importer client).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wfm_emulators::cti::{
    AgentState, CtiConfig, CtiEmulator, CtiFault, CtiHandle, Scenario, SystemEventId,
};
use wfm_emulators::{DatasetSpec, SharedData};

const ALL_EVENTS: u32 = 0x10;
const WAIT: Duration = Duration::from_secs(5);

fn data(agents: usize) -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents,
        teams: 3,
        supervisors: 2,
        skills: 6,
        ..DatasetSpec::default()
    })
}

async fn spawn(cfg: CtiConfig) -> CtiHandle {
    CtiEmulator::spawn(cfg, data(20)).await.unwrap()
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
}

fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes(b[o..o + 2].try_into().unwrap())
}

/// Tag/length/data triples of a floating part.
fn floats(mut b: &[u8], wide: bool) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (tag, len, h) = if wide {
            (be16(b, 0), be16(b, 2) as usize, 4)
        } else {
            (b[0] as u16, b[1] as usize, 2)
        };
        out.push((tag, b[h..h + len].to_vec()));
        b = &b[h + len..];
    }
    out
}

fn text(f: &[(u16, Vec<u8>)], tag: u16) -> Option<String> {
    let d = &f.iter().find(|(t, _)| *t == tag)?.1;
    assert_eq!(d.last(), Some(&0), "strings are NUL-terminated");
    Some(String::from_utf8(d[..d.len() - 1].to_vec()).unwrap())
}

struct Client {
    s: TcpStream,
    wide: bool,
}

impl Client {
    async fn connect(h: &CtiHandle) -> Client {
        let s = TcpStream::connect(h.addr()).await.unwrap();
        Client { s, wide: true }
    }

    async fn send(&mut self, msg_type: u32, body: &[u8]) {
        let mut m = (body.len() as u32).to_be_bytes().to_vec();
        m.extend_from_slice(&msg_type.to_be_bytes());
        m.extend_from_slice(body);
        self.s.write_all(&m).await.unwrap();
    }

    async fn open_req(&mut self, version: u32, id: &str, pw: &str, services: u32) {
        self.wide = version >= 18;
        let mut b = Vec::new();
        for v in [
            7,
            version,
            u32::MAX,
            u32::MAX,
            services,
            0,
            0xFFFF,
            0,
            0,
            0,
            0,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        for (tag, data) in [(1u16, format!("{id}\0")), (2, pw.to_string())] {
            if self.wide {
                b.extend_from_slice(&tag.to_be_bytes());
                b.extend_from_slice(&(data.len() as u16).to_be_bytes());
            } else {
                b.push(tag as u8);
                b.push(data.len() as u8);
            }
            b.extend_from_slice(data.as_bytes());
        }
        self.send(3, &b).await;
    }

    /// Opens with the emulator's credentials and checks OPEN_CONF; returns its body.
    async fn open(h: &CtiHandle, version: u32, services: u32) -> (Client, Vec<u8>) {
        let mut c = Client::connect(h).await;
        let (id, pw) = h.credentials();
        c.open_req(version, &id, &pw, services).await;
        let (t, body) = c.read().await.unwrap();
        assert_eq!(t, 4, "OPEN_CONF");
        (c, body)
    }

    /// One message, `None` at EOF.
    async fn read(&mut self) -> Option<(u32, Vec<u8>)> {
        let mut head = [0u8; 8];
        match tokio::time::timeout(WAIT, self.s.read_exact(&mut head)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return None,
            Err(_) => panic!("no message within {WAIT:?}"),
        }
        let len = be32(&head, 0) as usize;
        assert!(len + 8 <= 12_500, "length {len} over the cap");
        let mut body = vec![0u8; len];
        self.s.read_exact(&mut body).await.unwrap();
        Some((be32(&head, 4), body))
    }

    /// Next message that is not a SYSTEM_EVENT.
    async fn read_skip_system(&mut self) -> Option<(u32, Vec<u8>)> {
        loop {
            let m = self.read().await?;
            if m.0 != 31 {
                return Some(m);
            }
        }
    }

    async fn silent_for(&mut self, d: Duration) -> bool {
        let mut b = [0u8; 1];
        tokio::time::timeout(d, self.s.read(&mut b)).await.is_err()
    }

    async fn raw(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        tokio::time::timeout(WAIT, self.s.read_exact(&mut b))
            .await
            .unwrap()
            .unwrap();
        b
    }

    async fn at_eof(&mut self) -> bool {
        let mut b = [0u8; 64];
        loop {
            match tokio::time::timeout(WAIT, self.s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// What the test decodes from one AGENT_STATE_EVENT.
#[derive(Debug)]
struct Ase {
    peripheral_id: u32,
    state: u16,
    reason: u16,
    sg_number: u32,
    icm_agent_id: u32,
    num_flt_sg: u16,
    agent_id: String,
    extension: String,
    instrument: String,
    flt_sg_numbers: Vec<u32>,
}

fn decode_ase(body: &[u8], wide: bool) -> Ase {
    assert!(body.len() >= 62, "fixed part is 62 bytes");
    let f = floats(&body[62..], wide);
    Ase {
        peripheral_id: be32(body, 4),
        state: be16(body, 30),
        reason: be16(body, 32),
        sg_number: be32(body, 20),
        icm_agent_id: be32(body, 48),
        num_flt_sg: be16(body, 56),
        agent_id: text(&f, 5).unwrap(),
        extension: text(&f, 4).unwrap(),
        instrument: text(&f, 6).unwrap(),
        flt_sg_numbers: f
            .iter()
            .filter(|(t, _)| *t == 62)
            .map(|(_, d)| be32(d, 0))
            .collect(),
    }
}

#[tokio::test]
async fn open_req_gets_open_conf_and_system_event() {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, body) = Client::open(&h, 24, ALL_EVENTS).await;
    assert_eq!(be32(&body, 0), 7, "InvokeID echoed");
    assert_eq!(be32(&body, 4) & ALL_EVENTS, ALL_EVENTS);
    assert_eq!(be16(&body, 20), 1, "peripheral online");
    assert_eq!(be16(&body, 30), 1, "PV24 SessionType active");
    let f = floats(&body[32..], true);
    assert!(f.iter().any(|(t, d)| *t == 208 && be32(d, 0) == 5000));
    let (t, sys) = c.read().await.unwrap();
    assert_eq!(t, 31);
    assert_eq!(be32(&sys, 8), 3, "peripheral online event");
    assert_eq!(h.opens(), 1);
}

#[tokio::test]
async fn bad_password_gets_failure_conf_invalid_password() {
    let h = spawn(CtiConfig::default()).await;
    let mut c = Client::connect(&h).await;
    c.open_req(24, "wfm", "wrong", ALL_EVENTS).await;
    let (t, body) = c.read().await.unwrap();
    assert_eq!((t, body.len()), (1, 8));
    assert_eq!(be32(&body, 0), 7);
    assert_eq!(be32(&body, 4), 36, "E_CTI_INVALID_PASSWORD");
    assert!(c.at_eof().await);
}

#[tokio::test]
async fn heartbeat_is_answered_and_close_confirmed() {
    let h = spawn(CtiConfig::default()).await;
    let mut c = Client::connect(&h).await;
    c.send(5, &9u32.to_be_bytes()).await;
    let (t, body) = c.read().await.unwrap();
    assert_eq!((t, be32(&body, 4)), (1, 4), "SESSION_NOT_OPEN before OPEN");
    let (id, pw) = h.credentials();
    c.open_req(24, &id, &pw, 0).await;
    assert_eq!(c.read().await.unwrap().0, 4);
    // An unknown request (QUERY_AGENT_STATE_REQ) is skipped by its length.
    c.send(36, &[0u8; 30]).await;
    c.send(5, &11u32.to_be_bytes()).await;
    let (t, body) = c.read().await.unwrap();
    assert_eq!((t, body), (6, 11u32.to_be_bytes().to_vec()));
    let mut close = 12u32.to_be_bytes().to_vec();
    close.extend_from_slice(&0u32.to_be_bytes());
    c.send(7, &close).await;
    let (t, body) = c.read().await.unwrap();
    assert_eq!((t, body), (8, 12u32.to_be_bytes().to_vec()));
    assert!(c.at_eof().await);
}

async fn pushed_events_decode(version: u32) {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, _) = Client::open(&h, version, ALL_EVENTS).await;
    let agents = h.agents();
    let multi = agents.iter().find(|a| a.skill_groups.len() > 1).unwrap();
    let mut single = agents[0].clone();
    single.skill_groups.truncate(1);
    h.push_event(multi.event(AgentState::NotReady, 3));
    h.push_event(single.event(AgentState::Talking, 0));

    let (t, body) = c.read_skip_system().await.unwrap();
    assert_eq!(t, 30);
    let e = decode_ase(&body, version >= 18);
    assert_eq!((e.state, e.reason, e.peripheral_id), (2, 3, 5000));
    assert_eq!(e.agent_id, multi.agent_id);
    assert_eq!(e.icm_agent_id.to_string(), multi.agent_id);
    assert_eq!(
        (e.extension.as_str(), e.instrument.as_str()),
        (multi.extension.as_str(), multi.extension.as_str())
    );
    assert_eq!(e.sg_number, 0xFFFF_FFFF);
    assert_eq!(e.num_flt_sg as usize, multi.skill_groups.len());
    let want: Vec<u32> = multi.skill_groups.iter().map(|s| s.number).collect();
    assert_eq!(e.flt_sg_numbers, want);

    let (t, body) = c.read().await.unwrap();
    assert_eq!(t, 30);
    let e = decode_ase(&body, version >= 18);
    assert_eq!((e.state, e.num_flt_sg), (4, 0));
    assert_eq!(e.sg_number, single.skill_groups[0].number);
    assert_eq!(e.agent_id, single.agent_id);

    let sent = h.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].1.agent_id, multi.agent_id);
    assert_eq!(sent[1].1.state, AgentState::Talking);
}

#[tokio::test]
async fn events_well_formed_with_two_byte_fields() {
    pushed_events_decode(24).await;
}

#[tokio::test]
async fn events_well_formed_with_one_byte_fields() {
    pushed_events_decode(17).await;
}

#[tokio::test]
async fn fault_heartbeats_not_answered() {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, _) = Client::open(&h, 24, 0).await;
    h.set_answer_heartbeats(false);
    c.send(5, &1u32.to_be_bytes()).await;
    assert!(c.silent_for(Duration::from_millis(300)).await);
    h.set_answer_heartbeats(true);
    c.send(5, &2u32.to_be_bytes()).await;
    assert_eq!(c.read().await.unwrap(), (6, 2u32.to_be_bytes().to_vec()));
}

#[tokio::test]
async fn fault_drop_connection() {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, _) = Client::open(&h, 24, 0).await;
    assert_eq!(h.inject(CtiFault::DropConnection), 1);
    assert!(c.at_eof().await);
    let (_c2, _) = Client::open(&h, 24, 0).await;
    assert_eq!(h.opens(), 2, "reconnect works");
}

#[tokio::test]
async fn fault_garbage_oversize_and_zero_length() {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, _) = Client::open(&h, 24, 0).await;
    h.inject(CtiFault::Garbage(100));
    let g = c.raw(100).await;
    assert!(g.len() == 100 && g.iter().any(|b| *b != 0));
    h.inject(CtiFault::OversizeFrame);
    let head = c.raw(8).await;
    assert!(be32(&head, 0) as usize + 8 > 12_500);
    c.raw(64).await;
    h.inject(CtiFault::ZeroLengthFrame);
    let head = c.raw(8).await;
    assert_eq!((be32(&head, 0), be32(&head, 4)), (0, 30));
}

#[tokio::test]
async fn fault_silent_open() {
    let h = spawn(CtiConfig::default()).await;
    h.set_silent_open(true);
    let mut c = Client::connect(&h).await;
    let (id, pw) = h.credentials();
    c.open_req(24, &id, &pw, 0).await;
    assert!(c.silent_for(Duration::from_millis(500)).await);
    assert_eq!(h.opens(), 0);
}

#[tokio::test]
async fn fault_peripheral_and_pg_offline() {
    let h = spawn(CtiConfig::default()).await;
    let (mut c, _) = Client::open(&h, 24, ALL_EVENTS).await;
    c.read().await.unwrap(); // initial peripheral online
    h.inject(CtiFault::System(SystemEventId::PeripheralOffline));
    let (t, b) = c.read().await.unwrap();
    assert_eq!((t, be32(&b, 8), be32(&b, 0) & 4), (31, 4, 4));
    h.inject(CtiFault::System(SystemEventId::PgOffline));
    let (t, b) = c.read().await.unwrap();
    assert_eq!((t, be32(&b, 8)), (31, 6));
    let (_c2, conf) = Client::open(&h, 24, 0).await;
    assert_eq!(
        be16(&conf, 20),
        0,
        "OPEN_CONF reports the peripheral offline"
    );
    h.inject(CtiFault::System(SystemEventId::PeripheralOnline));
    let (t, b) = c.read().await.unwrap();
    assert_eq!((t, be32(&b, 8), be32(&b, 0)), (31, 3, 0));
}

#[tokio::test]
async fn fault_side_a_down_client_fails_over_to_b() {
    let a = spawn(CtiConfig::default()).await;
    let b = spawn(CtiConfig::default()).await;
    let (mut ca, _) = Client::open(&a, 24, 0).await;
    a.set_side_down(true);
    assert!(ca.at_eof().await, "side A closes its sessions");
    let mut again = Client::connect(&a).await;
    let (id, pw) = a.credentials();
    again.open_req(24, &id, &pw, 0).await;
    assert!(again.at_eof().await, "side A closes new connections");
    let (_cb, _) = Client::open(&b, 24, 0).await;
    assert_eq!((a.opens(), b.opens()), (1, 1));
    a.shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        TcpStream::connect(a.addr()).await.is_err(),
        "refused after shutdown"
    );
}

#[tokio::test]
async fn shift_scenario_plays_a_plausible_day() {
    let cfg = CtiConfig {
        scenario: Scenario::Shift {
            agents: 5,
            speed: 3600.0,
        },
        ..CtiConfig::default()
    };
    let h = spawn(cfg).await;
    let (mut c, _) = Client::open(&h, 24, 0).await;
    let mut seen: std::collections::HashMap<String, Vec<(u16, u16)>> = Default::default();
    let mut n = 0;
    while n < 200 {
        let (t, b) = c.read().await.unwrap();
        assert_eq!(t, 30);
        let e = decode_ase(&b, true);
        seen.entry(e.agent_id)
            .or_default()
            .push((e.state, e.reason));
        n += 1;
    }
    assert_eq!(seen.len(), 5);
    for states in seen.values() {
        assert_eq!(states[0].0, 0, "first event is LOGIN");
        assert!(states.iter().all(|(s, _)| *s <= 6));
    }
    let all: Vec<_> = seen.values().flatten().collect();
    assert!(all.iter().any(|(s, _)| *s == 4), "talking");
    assert!(
        all.iter().any(|(s, r)| *s == 2 && *r > 0),
        "not ready with a reason"
    );
    assert!(h.sent_count() >= 200);
}

/// Reads `total` AGENT_STATE_EVENTs as fast as possible; returns the receive instants.
async fn drain(c: Client, total: usize) -> Vec<Instant> {
    let mut s = tokio::io::BufReader::with_capacity(256 * 1024, c.s);
    let mut at = Vec::with_capacity(total);
    let mut head = [0u8; 8];
    let mut body = vec![0u8; 12_500];
    for _ in 0..total {
        tokio::time::timeout(WAIT, s.read_exact(&mut head))
            .await
            .unwrap()
            .unwrap();
        let len = be32(&head, 0) as usize;
        assert_eq!(be32(&head, 4), 30);
        s.read_exact(&mut body[..len]).await.unwrap();
        at.push(Instant::now());
    }
    at
}

/// Events/s between the first and the last event, and the p50/p99 send→receive latency.
async fn measure_rate(events_per_sec: u32, duration: Duration) -> (f64, Duration, Duration) {
    let cfg = CtiConfig {
        scenario: Scenario::Rate {
            events_per_sec,
            duration,
        },
        ..CtiConfig::default()
    };
    let h = spawn(cfg).await;
    let (c, _) = Client::open(&h, 24, 0).await;
    let total = (duration.as_secs_f64() * f64::from(events_per_sec)) as usize;
    let at = drain(c, total).await;
    let secs = (at[total - 1] - at[0]).as_secs_f64();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = h.sent();
    assert_eq!(sent.len(), total, "nothing lost, nothing extra");
    let mut lat: Vec<Duration> = sent
        .iter()
        .zip(&at)
        .map(|((t, _), r)| r.saturating_duration_since(*t))
        .collect();
    lat.sort();
    let rate = (total - 1) as f64 / secs;
    let (p50, p99) = (lat[total / 2], lat[total * 99 / 100]);
    println!("cti rate {events_per_sec}/s asked: {total} events in {secs:.3} s = {rate:.0} events/s, latency p50 {p50:?} p99 {p99:?}");
    (rate, p50, p99)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_scenario_sustains_20k_events_per_second() {
    let (rate, _, _) = measure_rate(25_000, Duration::from_millis(1200)).await;
    assert!(rate >= 20_000.0, "{rate:.0} events/s");
}

/// The ceiling on this machine: `cargo nextest run -p wfm-emulators --run-ignored only cti`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn rate_scenario_ceiling() {
    measure_rate(1_000_000, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn open_req_refusals_carry_the_reference_status() {
    let h = spawn(CtiConfig::default()).await;
    let (id, pw) = h.credentials();
    // Unsupported version ⇒ E_CTI_INVALID_VERSION (1).
    let mut c = Client::connect(&h).await;
    c.open_req(3, &id, &pw, 0).await;
    assert_eq!(be32(&c.read().await.unwrap().1, 4), 1);
    // Wrong client id ⇒ E_CTI_INVALID_PASSWORD (36) too.
    let mut c = Client::connect(&h).await;
    c.open_req(24, "intruder", &pw, 0).await;
    assert_eq!(be32(&c.read().await.unwrap().1, 4), 36);
    // An oversize frame from the client ends the session.
    let mut c = Client::connect(&h).await;
    c.s.write_all(&[0, 0, 0x30, 0xD4, 0, 0, 0, 3])
        .await
        .unwrap();
    assert!(c.at_eof().await);
    assert_eq!(h.opens(), 0);
}

//! Benchmark of delivery through the outbox against the real hub (`wfm-hub` as a separate
//! process on loopback, so that this process is the importer side alone: its RSS and CPU are
//! the importer's).
//!
//! ```text
//! cargo build --release -p wfm-hub --bin wfm-hub
//! cargo run --release -p wfm-importer --example outbox_delivery -- target/release/wfm-hub
//! ```
//!
//! 1. Throughput: the SAME agent-state batches (live `POST /api/v1/agent-states`, 500 events
//!    each) are sent (a) directly, one after the other, through the importer's HTTP transport
//!    and (b) through the outbox (`Delivery::submit`: one fsync'd append per batch, one fsync'd
//!    ack per delivered batch) until the outbox is drained. Each run gets a fresh hub and store.
//! 2. Backlog: the hub is down while a share of one day of agent states of a 24,000-agent site
//!    is appended; then the hub starts and the time until the outbox is empty is measured.
//!
//! Environment: `OUTBOX_BENCH_RECORDS` (throughput events, default 200000),
//! `OUTBOX_BENCH_BATCH` (events per batch, 500), `OUTBOX_BENCH_AGENTS` (24000),
//! `OUTBOX_BENCH_EVENTS_PER_AGENT` (state changes per agent per day, 40),
//! `OUTBOX_BENCH_DAY_FRACTION` (share of the day in the backlog, 0.25),
//! `OUTBOX_BENCH_ROUNDS` (alternating direct/outbox throughput rounds, 3; the median is shown),
//! `OUTBOX_BENCH_POSTGRES=1` (hub on fresh PostgreSQL databases from `WFM_TEST_POSTGRES_URL`
//! instead of SQLite files).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;
use wfm_importer::delivery::{self, Delivery, Kind, Outcome};
use wfm_outbox::{Batch, BatchId};
use wfm_protocol::states::{AgentState, StateBatch, StateEvent};
use wfm_store::testing::TestDatabase;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";
const SOURCE: &str = "bench";

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `count` events starting at event index `from`, as batches of `per_batch`.
fn bodies(from: u64, count: u64, per_batch: u64, agents: u64, per_agent: u64) -> Vec<Vec<u8>> {
    let day =
        OffsetDateTime::from_unix_timestamp(1_764_633_600).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let step_ms = 86_400_000 / per_agent.max(1);
    let states = [
        AgentState::Ready,
        AgentState::Talking,
        AgentState::Work,
        AgentState::NotReady,
    ];
    let mut out = Vec::new();
    let mut j = from;
    while j < from + count {
        let n = per_batch.min(from + count - j);
        let mut events = Vec::with_capacity(n as usize);
        for i in j..j + n {
            let agent = i % agents;
            let k = i / agents;
            let state = states[(k % 4) as usize];
            let ms = (k * step_ms + agent % step_ms) as i64;
            events.push(StateEvent {
                agent: format!("agent-{agent:05}"),
                at: day + time::Duration::milliseconds(ms),
                state,
                reason_code: (state == AgentState::NotReady).then_some(7),
                raw: "cti:3".into(),
            });
        }
        let batch = StateBatch {
            source: SOURCE.into(),
            window: None,
            events,
            gaps: Vec::new(),
        };
        out.push(serde_json::to_vec(&batch).unwrap_or_default());
        j += n;
    }
    out
}

/// A `wfm-hub serve` child on `port` with a fresh store.
struct Hub {
    child: std::process::Child,
    _db: TestDatabase,
}

impl Hub {
    async fn start(bin: &Path, dir: &Path, port: u16, name: &str) -> anyhow::Result<Hub> {
        let db = if std::env::var("OUTBOX_BENCH_POSTGRES").as_deref() == Ok("1") {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        };
        let toml = format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\nallow_insecure_http = true\n\
             [storage]\nurl = \"{}\"\n[log]\nlevel = \"warn\"\n{}\
             [[projects]]\nid = \"bench\"\ntoken = \"{TOKEN}\"\nroles = [\"agent\"]\n",
            db.url(),
            wfm_store::testing::encryption_toml()
        );
        let cfg = dir.join(format!("hub-{name}.toml"));
        std::fs::write(&cfg, toml)?;
        let log = std::fs::File::create(dir.join(format!("hub-{name}.log")))?;
        let child = std::process::Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&cfg)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let http = reqwest::Client::new();
        for _ in 0..600 {
            let up = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return Ok(Hub { child, _db: db });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("wfm-hub did not come up on port {port} (see hub-{name}.log)")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn importer_config(data: &Path, port: u16) -> anyhow::Result<wfm_config::ImporterConfig> {
    let toml = format!(
        "[importer]\ndata_dir = \"{}\"\n\
         [hub]\nurl = \"http://127.0.0.1:{port}\"\nproject = \"bench\"\ntoken = \"{TOKEN}\"\nallow_insecure_http = true\n\
         [outbox]\nkey = \"{}\"\nmax_mib = 4096\nretry_initial = \"50ms\"\nretry_max = \"500ms\"\n\
         [uccx]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword = \"p\"\n[log]\nlevel = \"warn\"\n",
        data.display(),
        "ab".repeat(32)
    );
    wfm_config::parse_importer(&toml, "importer.toml", &|_| None)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn proc_status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

struct Run {
    secs: f64,
    cpu: f64,
}

async fn direct(port: u16, data: &Path, batches: &[Vec<u8>]) -> anyhow::Result<Run> {
    let cfg = importer_config(data, port)?;
    let target = delivery::target(&cfg.hub)?;
    let (t0, c0) = (Instant::now(), cpu_secs());
    for (i, body) in batches.iter().enumerate() {
        let batch = Batch {
            id: BatchId(i as u64 + 1),
            source: SOURCE.into(),
            payload: body.clone(),
            appended_at: SystemTime::now(),
            attempts: 0,
        };
        let reply = delivery::send(&target, Kind::Live, &batch, Duration::from_secs(1)).await;
        if !matches!(reply.outcome, Outcome::Delivered) {
            anyhow::bail!("direct POST of batch {i}: HTTP {}", reply.status);
        }
    }
    Ok(Run {
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_secs() - c0,
    })
}

async fn drained(d: &Arc<Delivery>) -> anyhow::Result<()> {
    if !d.drain(SOURCE, Duration::from_secs(3600)).await {
        anyhow::bail!("the outbox did not drain within an hour");
    }
    let stats = d.outbox().stats();
    let s = stats.sources.get(SOURCE).cloned().unwrap_or_default();
    if s.dead_lettered > 0 || s.received != s.delivered + s.buffered + s.dead_lettered {
        anyhow::bail!("conservation/dead letters: {s:?}");
    }
    Ok(())
}

async fn through_outbox(port: u16, data: &Path, batches: &[Vec<u8>]) -> anyhow::Result<(Run, f64)> {
    let cfg = importer_config(data, port)?;
    let d = delivery::start(&cfg).await?;
    let (t0, c0) = (Instant::now(), cpu_secs());
    for (i, body) in batches.iter().enumerate() {
        let cp = (i as u64).to_le_bytes().to_vec();
        d.submit(Kind::Live, SOURCE, body.clone(), cp, false)
            .await?;
    }
    let appended = t0.elapsed().as_secs_f64();
    drained(&d).await?;
    let run = Run {
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_secs() - c0,
    };
    d.shutdown().await;
    Ok((run, appended))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let hub_bin = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/release/wfm-hub".into()),
    );
    let records = env_num("OUTBOX_BENCH_RECORDS", 200_000.0) as u64;
    let per_batch = env_num("OUTBOX_BENCH_BATCH", 500.0) as u64;
    let agents = env_num("OUTBOX_BENCH_AGENTS", 24_000.0) as u64;
    let per_agent = env_num("OUTBOX_BENCH_EVENTS_PER_AGENT", 40.0) as u64;
    let fraction = env_num("OUTBOX_BENCH_DAY_FRACTION", 0.25);
    let rounds = (env_num("OUTBOX_BENCH_ROUNDS", 3.0) as usize).max(1);
    let store = if std::env::var("OUTBOX_BENCH_POSTGRES").as_deref() == Ok("1") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let dir = tempfile::tempdir()?;
    println!(
        "outbox delivery benchmark: hub {} ({store}), {} cores",
        hub_bin.display(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // 1. throughput, same batches, direct then through the outbox, each on a fresh hub
    let batches = bodies(0, records, per_batch, agents, per_agent);
    let bytes: u64 = batches.iter().map(|b| b.len() as u64).sum();
    println!(
        "throughput: {records} agent-state events in {} batches of {per_batch} ({:.1} MB of JSON), one source, sequential",
        batches.len(),
        mb(bytes)
    );
    let rate = |secs: f64| records as f64 / secs;
    let mbs = |secs: f64| mb(bytes) / secs;
    println!(
        "{:<42} {:>10} {:>12} {:>9} {:>12}",
        "", "seconds", "records/s", "MB/s", "importer CPU s"
    );
    let row = |what: String, r: &Run| {
        println!(
            "{what:<42} {:>10.2} {:>12.0} {:>9.2} {:>12.2}",
            r.secs,
            rate(r.secs),
            mbs(r.secs),
            r.cpu
        );
    };
    // Rounds alternate direct / outbox (each on a fresh hub and store) so that a load change
    // on a shared machine hits both; the cost is given per round and as the median.
    let mut costs = Vec::new();
    for round in 1..=rounds {
        let port = free_port()?;
        let hub = Hub::start(&hub_bin, dir.path(), port, &format!("direct{round}")).await?;
        let d = direct(port, &dir.path().join(format!("direct{round}")), &batches).await?;
        drop(hub);
        let port = free_port()?;
        let hub = Hub::start(&hub_bin, dir.path(), port, &format!("outbox{round}")).await?;
        let (o, appended) =
            through_outbox(port, &dir.path().join(format!("outbox{round}")), &batches).await?;
        drop(hub);
        row(format!("round {round}: direct POST (no outbox)"), &d);
        row(format!("round {round}: outbox (fsync per append, ack)"), &o);
        let cost = (1.0 - d.secs / o.secs) * 100.0;
        println!(
            "round {round}: outbox cost {cost:.1} % of direct throughput; appends alone {appended:.2} s ({:.0} records/s)",
            rate(appended)
        );
        costs.push(cost);
    }
    costs.sort_by(|a, b| a.total_cmp(b));
    println!(
        "outbox cost, median of {rounds} round(s): {:.1} % of direct throughput (target < 20 %; rounds {})",
        costs[costs.len() / 2],
        costs
            .iter()
            .map(|c| format!("{c:.1} %"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 2. backlog: hub down while a share of one day is appended, then it comes back
    let day = agents * per_agent;
    let backlog = ((day as f64) * fraction) as u64;
    drop(batches);
    // Reset the peak-RSS mark (Linux: 5 > /proc/self/clear_refs) so that it covers the
    // backlog phase, whose batches are generated one at a time like a source would.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let port = free_port()?;
    let cfg = importer_config(&dir.path().join("backlog"), port)?;
    let d = delivery::start(&cfg).await?;
    let t0 = Instant::now();
    let (mut at, mut i, mut backlog_bytes, mut backlog_count) = (records, 0u64, 0u64, 0u64);
    while at < records + backlog {
        let n = per_batch.min(records + backlog - at);
        for body in bodies(at, n, per_batch, agents, per_agent) {
            backlog_bytes += body.len() as u64;
            backlog_count += 1;
            d.submit(Kind::Live, SOURCE, body, i.to_le_bytes().to_vec(), false)
                .await?;
            i += 1;
        }
        at += n;
    }
    let append_secs = t0.elapsed().as_secs_f64();
    println!(
        "backlog: {backlog} events = {:.0} % of one day of a {agents}-agent site at {per_agent} state changes/agent/day ({day} events), {backlog_count} batches, {:.1} MB",
        fraction * 100.0,
        mb(backlog_bytes)
    );
    let stats = d.outbox().stats();
    println!(
        "  appended while the hub was down: {append_secs:.2} s ({:.0} records/s); outbox on disk {:.1} MB in {} segment(s)",
        backlog as f64 / append_secs,
        mb(stats.disk_bytes),
        stats.segments
    );
    let hub = Hub::start(&hub_bin, dir.path(), port, "backlog").await?;
    let t0 = Instant::now();
    drained(&d).await?;
    let drain_secs = t0.elapsed().as_secs_f64();
    println!(
        "  drained after the hub came back: {drain_secs:.2} s ({:.0} records/s, {:.2} MB/s); a whole day would take about {:.0} s",
        backlog as f64 / drain_secs,
        mb(backlog_bytes) / drain_secs,
        drain_secs / fraction
    );
    let s = d
        .outbox()
        .stats()
        .sources
        .get(SOURCE)
        .cloned()
        .unwrap_or_default();
    println!(
        "  conservation: received {} = delivered {} + buffered {} + dead-lettered {}: {}",
        s.received,
        s.delivered,
        s.buffered,
        s.dead_lettered,
        if s.received == s.delivered + s.buffered + s.dead_lettered {
            "OK"
        } else {
            "MISMATCH"
        }
    );
    d.shutdown().await;
    drop(hub);
    println!(
        "importer side (this process, hub excluded): peak RSS {} {}, RSS now {}",
        proc_status("VmHWM:"),
        if reset {
            "during the backlog phase"
        } else {
            "over the whole run (throughput input included)"
        },
        proc_status("VmRSS:")
    );
    Ok(())
}

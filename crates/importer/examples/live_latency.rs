//! Benchmark of the live feed: CTI Server emulator → `wfm-importer live` (a separate process,
//! so that its CPU and RSS can be measured) → the real hub (in this process, SQLite by default,
//! `LIVE_BENCH_STORE_URL=postgres://…` for PostgreSQL) behind a pass-through that notes when the
//! hub answered 200 (the batch is committed and visible). Emulator and pass-through share this
//! process and its monotonic clock, so the latency of an event is "hub committed the batch"
//! minus "emulator finished writing the event". `LIVE_BENCH_HUB=stub` replaces the hub by a
//! minimal stub (the importer's own share of the latency).
//!
//! ```text
//! cargo build --release -p wfm-importer --bin wfm-importer
//! cargo run --release -p wfm-importer --example live_latency -- target/release/wfm-importer
//! ```
//!
//! Phases: 3,000 events/s for 60 s, then a burst of 20,000 events/s for 5 s (override with
//! `LIVE_BENCH_PHASES="3000x60,20000x5"`). Prints p50/p99/max latency, loss, importer CPU and
//! peak RSS per phase.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use wfm_emulators::cti::{CtiConfig, CtiEmulator, Scenario};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::SharedData;
use wfm_protocol::states::StateBatch;

type Received = Arc<Mutex<Vec<(Instant, Vec<String>)>>>;

const HUB_TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

#[derive(Clone)]
struct Forward {
    target: String,
    http: reqwest::Client,
    received: Received,
}

/// Passes a batch to the real hub; records the batch's agents when the hub answered 200.
async fn forward(
    State(f): State<Forward>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, String) {
    let mut req = f.http.post(&f.target).body(body.clone());
    for name in ["authorization", "idempotency-key", "content-type"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            req = req.header(name, v);
        }
    }
    match req.send().await {
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if status == 200 {
                let now = Instant::now();
                if let Ok(batch) = serde_json::from_slice::<StateBatch>(&body) {
                    let agents = batch.events.into_iter().map(|e| e.agent).collect();
                    if let Ok(mut r) = f.received.lock() {
                        r.push((now, agents));
                    }
                }
            }
            (
                axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
                text,
            )
        }
    }
}

async fn ingest(State(rx): State<Received>, Json(batch): Json<StateBatch>) -> &'static str {
    let now = Instant::now();
    let agents = batch.events.into_iter().map(|e| e.agent).collect();
    if let Ok(mut r) = rx.lock() {
        r.push((now, agents));
    }
    "{}"
}

fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn proc_status(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn phase(importer: &str, rate: u32, secs: u64) -> anyhow::Result<()> {
    let emu = CtiEmulator::spawn(
        CtiConfig {
            scenario: Scenario::Rate {
                events_per_sec: rate,
                duration: Duration::from_secs(secs),
            },
            record_sent: true,
            ..CtiConfig::default()
        },
        SharedData::generate(&DatasetSpec {
            agents: 2000,
            teams: 40,
            supervisors: 40,
            ..DatasetSpec::default()
        }),
    )
    .await?;
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    // The real hub (default): an in-process wfm-hub on SQLite (or LIVE_BENCH_STORE_URL) behind
    // a pass-through that records when the hub answered 200, i.e. when the batch is committed
    // and visible. LIVE_BENCH_HUB=stub: the minimal stub instead.
    let store_dir = tempfile::tempdir()?;
    let mut real_hub = None;
    let app = if std::env::var("LIVE_BENCH_HUB").as_deref() == Ok("stub") {
        Router::new()
            .route("/api/v1/agent-states", post(ingest))
            .with_state(received.clone())
    } else {
        let url = std::env::var("LIVE_BENCH_STORE_URL").unwrap_or_else(|_| {
            format!("sqlite://{}", store_dir.path().join("hub.sqlite").display())
        });
        let hub_toml = format!(
            "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n[storage]\nurl = \"{url}\"\n[log]\nlevel = \"warn\"\n\
             {}[[projects]]\nid = \"bench\"\ntoken = \"{HUB_TOKEN}\"\nroles = [\"agent\"]\n",
            wfm_store::testing::encryption_toml()
        );
        let hub_cfg = wfm_config::parse_hub(&hub_toml, "hub.toml", &|_| None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let hub = wfm_hub::server::start(hub_cfg).await?;
        let target = format!("{}/api/v1/agent-states", hub.base_url());
        real_hub = Some(hub);
        Router::new()
            .route("/api/v1/agent-states", post(forward))
            .with_state(Forward {
                target,
                http: reqwest::Client::new(),
                received: received.clone(),
            })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hub_addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir()?;
    let (client_id, password) = emu.credentials();
    let cfg = format!(
        r#"[importer]
data_dir = "{data}"
[hub]
url = "http://{hub_addr}"
project = "bench"
token = "{token}"
allow_insecure_http = true
[outbox]
key = "{key}"
[[cti]]
source_id = "cti-bench"
side_a = "{cti}"
client_id = "{client_id}"
client_password = "{password}"
[log]
level = "warn"
"#,
        data = dir.path().display(),
        key = "ab".repeat(32),
        token = HUB_TOKEN,
        cti = emu.addr(),
    );
    let cfg_path = dir.path().join("importer.toml");
    std::fs::write(&cfg_path, cfg)?;
    let mut child = tokio::process::Command::new(importer)
        .arg("-c")
        .arg(&cfg_path)
        .arg("live")
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or(0);
    while emu.opens() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu0 = proc_cpu_secs(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    // Wait for the tail: until the hub holds as many events as were sent, or 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got: usize = received
            .lock()
            .map(|r| r.iter().map(|(_, a)| a.len()).sum())
            .unwrap_or(0);
        if (got >= emu.sent_count() && got > 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = proc_cpu_secs(pid) - cpu0;
    let rss_peak = proc_status(pid, "VmHWM:");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;

    let sent = emu.sent();
    let mut sent_by: HashMap<&str, Vec<Instant>> = HashMap::new();
    for (at, s) in &sent {
        sent_by.entry(s.agent_id.as_str()).or_default().push(*at);
    }
    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let mut got_by: HashMap<&str, Vec<Instant>> = HashMap::new();
    for (at, agents) in &received {
        for a in agents {
            got_by.entry(a.as_str()).or_default().push(*at);
        }
    }
    let mut lat = Vec::with_capacity(sent.len());
    let mut lost = 0usize;
    let mut extra = 0usize;
    for (agent, sent_at) in &sent_by {
        let got = got_by.get(agent).map(Vec::as_slice).unwrap_or(&[]);
        for (i, s) in sent_at.iter().enumerate() {
            match got.get(i) {
                Some(g) => lat.push(g.saturating_duration_since(*s)),
                None => lost += 1,
            }
        }
        extra += got.len().saturating_sub(sent_at.len());
    }
    lat.sort();
    println!(
        "phase {rate}/s x {secs}s: sent {} received {} lost {lost} duplicated {extra} | latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms | importer CPU {:.1}% of one core ({cpu:.2} s over {wall:.1} s), peak RSS {rss_peak}, hub requests {}",
        sent.len(),
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        cpu / wall * 100.0,
        received.len(),
    );
    if let Some(hub) = real_hub {
        let _ = hub.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let importer = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/wfm-importer".to_string());
    let phases = std::env::var("LIVE_BENCH_PHASES").unwrap_or_else(|_| "3000x60,20000x5".into());
    for p in phases.split(',') {
        let Some((rate, secs)) = p.split_once('x') else {
            anyhow::bail!("phase '{p}' is not RATExSECONDS");
        };
        phase(&importer, rate.trim().parse()?, secs.trim().parse()?).await?;
    }
    Ok(())
}

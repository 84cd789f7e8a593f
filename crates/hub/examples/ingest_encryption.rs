//! Benchmark: authenticated ingest throughput with encryption at rest on vs off, SQLite and
//! PostgreSQL, in one run.
//!
//! For each backend and each round, two hubs are measured back to back (the order alternates
//! between rounds), each a real hub (`wfm_hub::start`, plain HTTP on 127.0.0.1, a fresh
//! database, `[encryption] enabled` on or off), one client with the project token:
//!
//! - `directory create`: one identity sync of `AGENTS` users (default 24,000) in 1,000 teams,
//!   every user with first/last name, e-mail, agentId, phoneExtension and secondaryEmail — all
//!   new, so every personal field, attribute, change-log entry and the answer is sealed;
//! - `directory update`: the same snapshot with every last name and extension changed;
//! - `resync 1% changed`: the same snapshot again with one user in a hundred changed (a daily
//!   sync; unchanged users are matched by their keyed content hash and never opened);
//! - `agent states`: `STATE_BATCHES` batches (default 40) of 500 live state events (no sealed
//!   field: the cost there is only the per-request key lookup).
//!
//! Prints records/s per case (median over `ROUNDS`, default 3) for off and on, and the cost.
//!
//! Run: `cargo run --release -p wfm-hub --example ingest_encryption`
//! Environment: `AGENTS`, `STATE_BATCHES`, `ROUNDS`, `BACKENDS` ("sqlite postgres"),
//! `WFM_TEST_POSTGRES_URL` (postgres://postgres@127.0.0.1:5432/test).

use serde_json::{json, Value};
use std::time::Instant;
use wfm_store::testing::TestDatabase;

const TOKEN: &str = "enc-bench-token-0123456789abcdef0123456789";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(
    url: &str,
    kek_file: &std::path::Path,
    on: bool,
) -> anyhow::Result<wfm_config::HubConfig> {
    let text = format!(
        r#"
[server]
bind = "127.0.0.1:0"
allow_insecure_http = true
max_body_bytes = 268435456

[storage]
url = "{url}"
max_connections = 4

[encryption]
enabled = {on}
kek_file = "{}"

[[projects]]
id = "alpha"
token = "{TOKEN}"
roles = ["agent", "supervisor"]
"#,
        kek_file.display()
    );
    Ok(wfm_config::parse_hub(&text, "enc-bench.toml", &|_| None)?)
}

/// Users whose index is a multiple of `every` are at `generation`, the others at 1.
fn snapshot(agents: usize, generation: usize, every: usize) -> Value {
    let teams = 1000.min(agents.max(1));
    let users: Vec<Value> = (0..agents)
        .map(|i| {
            let generation = if i % every.max(1) == 0 { generation } else { 1 };
            json!({
                "external_id": format!("u{i}"),
                "username": format!("agent{i:05}"),
                "first_name": format!("First{i}"),
                "last_name": format!("Last{i}-{generation}"),
                "email": format!("agent{i:05}@example.com"),
                "attributes": {
                    "agentId": [format!("{i}")],
                    "phoneExtension": [format!("{}", 10000 + i + generation)],
                    "secondaryEmail": [format!("a{i}@second.example")],
                },
                "skills": {"Sales": 5, "Support": 3},
                "groups": [format!("t{}", i % teams)],
                "roles": ["agent"],
            })
        })
        .collect();
    let groups: Vec<Value> = (0..teams)
        .map(|t| json!({"external_id": format!("t{t}"), "name": format!("Team {t:04}"), "attributes": {}}))
        .collect();
    json!({
        "snapshot": {"source": "uccx", "users": users, "groups": groups},
        "dry_run": false,
        "allow_mass_disable": false,
        "max_disable_ratio": 0.5,
        "warnings": [],
    })
}

fn states(batch: usize) -> Value {
    let base = 1_796_000_000i64 + (batch as i64) * 1000;
    let events: Vec<Value> = (0..500)
        .map(|i| {
            let at = time::OffsetDateTime::from_unix_timestamp(base + i as i64)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            json!({"agent": format!("agent{:05}", i), "at": at,
                   "state": if i % 2 == 0 { "ready" } else { "talking" }, "raw": "cti:3"})
        })
        .collect();
    json!({"source": "cti", "events": events})
}

async fn post(client: &reqwest::Client, url: &str, key: &str, body: &Value) -> anyhow::Result<()> {
    let resp = client
        .post(url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await?;
    let status = resp.status();
    anyhow::ensure!(
        status.is_success(),
        "POST {url}: {status} {}",
        resp.text().await?
    );
    Ok(())
}

/// Records/s of (directory create, directory update, agent states) on one fresh hub.
async fn one(backend: &str, on: bool, agents: usize, batches: usize) -> anyhow::Result<[f64; 4]> {
    let db = match backend {
        "sqlite" => TestDatabase::sqlite(),
        _ => TestDatabase::postgres().await,
    };
    let kek = wfm_store::testing::kek_file();
    let hub = wfm_hub::start(config(db.url(), kek, on)?).await?;
    let base = hub.base_url();
    let client = reqwest::Client::new();
    let sync = format!("{base}/api/v1/directory/sync");
    let (create, update, resync) = (
        snapshot(agents, 0, 1),
        snapshot(agents, 1, 1),
        snapshot(agents, 2, 100),
    );

    let t = Instant::now();
    post(&client, &sync, "create", &create).await?;
    let created = agents as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    post(&client, &sync, "update", &update).await?;
    let updated = agents as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    post(&client, &sync, "resync", &resync).await?;
    let resynced = agents as f64 / t.elapsed().as_secs_f64();

    let bodies: Vec<Value> = (0..batches).map(states).collect();
    let url = format!("{base}/api/v1/agent-states");
    let t = Instant::now();
    for (i, body) in bodies.iter().enumerate() {
        post(&client, &url, &format!("states-{i}"), body).await?;
    }
    let events = (batches * 500) as f64 / t.elapsed().as_secs_f64();
    hub.shutdown().await?;
    db.finish().await;
    Ok([created, updated, resynced, events])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let agents = env_usize("AGENTS", 24_000);
    let batches = env_usize("STATE_BATCHES", 40);
    let rounds = env_usize("ROUNDS", 3).max(1);
    let backends = std::env::var("BACKENDS").unwrap_or_else(|_| "sqlite postgres".into());
    println!("ingest with encryption at rest off vs on: {agents} users, {batches} x 500 state events, median of {rounds} rounds (records/s)");
    for backend in backends.split_whitespace() {
        let mut off: Vec<[f64; 4]> = Vec::new();
        let mut on: Vec<[f64; 4]> = Vec::new();
        for round in 0..rounds {
            // Alternate the order so that drift (cache, autovacuum) hits both alike.
            if round % 2 == 0 {
                off.push(one(backend, false, agents, batches).await?);
                on.push(one(backend, true, agents, batches).await?);
            } else {
                on.push(one(backend, true, agents, batches).await?);
                off.push(one(backend, false, agents, batches).await?);
            }
        }
        println!("\n{backend}");
        println!(
            "{:<20} {:>12} {:>12} {:>8}",
            "case", "off rec/s", "on rec/s", "cost"
        );
        let cases = [
            "directory create",
            "directory update",
            "resync 1% changed",
            "agent states",
        ];
        for (i, case) in cases.iter().enumerate() {
            let a = median(off.iter().map(|r| r[i]).collect());
            let b = median(on.iter().map(|r| r[i]).collect());
            let cost = if a > 0.0 { (1.0 - b / a) * 100.0 } else { 0.0 };
            println!("{case:<20} {a:>12.0} {b:>12.0} {cost:>7.1}%");
        }
    }
    Ok(())
}

//! Benchmark: SCIM user listing on a 24,000-user directory, SQLite and PostgreSQL.
//!
//! Starts a real hub (plain HTTP on 127.0.0.1, fresh database), seeds it with one identity sync
//! of `AGENTS` users (default 24,000) in 1,000 teams, then measures over loopback with one
//! client: `GET /scim/v2/Users?count=100` pages (first page and a deep page, p50/p99), a full
//! walk of every page, an indexed-looking filter (`userName eq`) and one that needs the child
//! rows (the agent extension). Prints one table per backend.
//!
//! Run: `cargo run --release -p wfm-hub --example scim_list`
//! Each backend runs with encryption at rest off, then on (`ENCRYPTION=off|on` for one only).
//! Environment: `AGENTS` (24000), `ROUNDS` (30), `BACKENDS` ("sqlite postgres"),
//! `WFM_TEST_POSTGRES_URL` (postgres://postgres@127.0.0.1:5432/test).

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wfm_store::testing::TestDatabase;

const TOKEN: &str = "scim-bench-token-0123456789abcdef0123456789";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(
    url: &str,
    kek: &std::path::Path,
    encrypt: bool,
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
enabled = {encrypt}
kek_file = "{kek}"

[[projects]]
id = "alpha"
token = "{TOKEN}"
roles = ["agent", "supervisor"]
"#,
        kek = kek.display()
    );
    Ok(wfm_config::parse_hub(&text, "scim-bench.toml", &|_| None)?)
}

fn snapshot(agents: usize) -> Value {
    let teams = 1000.min(agents.max(1));
    let users: Vec<Value> = (0..agents)
        .map(|i| {
            json!({
                "external_id": format!("u{i}"),
                "username": format!("agent{i:05}"),
                "first_name": format!("First{i}"),
                "last_name": "Agent",
                "email": format!("agent{i:05}@example.com"),
                "attributes": {"agentId": [format!("{i}")], "phoneExtension": [format!("{}", 10000 + i)]},
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

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn timed_get(client: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, Value)> {
    let started = Instant::now();
    let resp = client.get(url).bearer_auth(TOKEN).send().await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status == 200, "GET {url}: {status} {body}");
    Ok((elapsed, body))
}

async fn series(
    client: &reqwest::Client,
    url: &str,
    rounds: usize,
) -> anyhow::Result<(f64, f64, Value)> {
    let mut times = Vec::with_capacity(rounds);
    let mut last = Value::Null;
    for _ in 0..rounds {
        let (t, body) = timed_get(client, url).await?;
        times.push(t);
        last = body;
    }
    times.sort();
    Ok((percentile(&times, 50.0), percentile(&times, 99.0), last))
}

async fn run(backend: &str, agents: usize, rounds: usize, encrypt: bool) -> anyhow::Result<()> {
    let db = match backend {
        "sqlite" => TestDatabase::sqlite(),
        _ => TestDatabase::postgres().await,
    };
    let kek = wfm_store::testing::kek_file();
    let hub = wfm_hub::start(config(db.url(), kek, encrypt)?).await?;
    let base = hub.base_url();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let resp = client
        .post(format!("{base}/api/v1/directory/sync"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "scim-bench-seed")
        .json(&snapshot(agents))
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "seed sync: {}", resp.text().await?);
    let seeded = started.elapsed().as_secs_f64();
    let users = format!("{base}/scim/v2/Users");

    let mode = if encrypt {
        "encryption on"
    } else {
        "encryption off"
    };
    println!(
        "\n{backend}, {mode}: {agents} users seeded in {seeded:.1} s; {rounds} rounds per row"
    );
    println!("{:<52} {:>9} {:>9}", "request", "p50 ms", "p99 ms");
    let deep = agents.saturating_sub(99).max(1);
    let cases = [
        ("GET /Users?count=100 (first page)".to_string(), format!("{users}?count=100")),
        (format!("GET /Users?startIndex={deep}&count=100"), format!("{users}?startIndex={deep}&count=100")),
        ("GET /Users?filter=userName eq \"agent12345\"".to_string(), format!("{users}?filter=userName%20eq%20%22agent12345%22")),
        ("GET /Users?filter=<ext>:agentId eq \"12345\"".to_string(),
         format!("{users}?filter=urn%3Awfm-importer%3Aparams%3Ascim%3Aschemas%3Aextension%3Aagent%3A2.0%3AUser%3AagentId%20eq%20%2212345%22")),
        ("GET /Groups?count=100".to_string(), format!("{base}/scim/v2/Groups?count=100")),
    ];
    for (name, url) in &cases {
        let n = if name.contains("agentId") {
            rounds.min(5)
        } else {
            rounds
        };
        let (p50, p99, body) = series(&client, url, n).await?;
        anyhow::ensure!(body["totalResults"].as_u64().is_some(), "{name}: {body}");
        println!("{name:<52} {p50:>9.1} {p99:>9.1}");
    }

    let walk = Instant::now();
    let mut page_times = Vec::new();
    let mut seen = 0usize;
    let mut start = 1usize;
    loop {
        let (t, body) =
            timed_get(&client, &format!("{users}?startIndex={start}&count=100")).await?;
        page_times.push(t);
        let n = body["Resources"].as_array().map(Vec::len).unwrap_or(0);
        seen += n;
        if n == 0 || seen >= agents {
            break;
        }
        start += n;
    }
    let walk_s = walk.elapsed().as_secs_f64();
    anyhow::ensure!(
        seen == agents,
        "full walk saw {seen} users, expected {agents}"
    );
    page_times.sort();
    println!(
        "full walk: {} pages, {seen} users in {walk_s:.2} s (page p50 {:.1} ms, p99 {:.1} ms)",
        page_times.len(),
        percentile(&page_times, 50.0),
        percentile(&page_times, 99.0)
    );
    hub.shutdown().await?;
    drop(db);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let agents = env_usize("AGENTS", 24_000);
    let rounds = env_usize("ROUNDS", 30);
    let backends = std::env::var("BACKENDS").unwrap_or_else(|_| "sqlite postgres".to_string());
    let modes: Vec<bool> = match std::env::var("ENCRYPTION").as_deref() {
        Ok("off") => vec![false],
        Ok("on") => vec![true],
        _ => vec![false, true],
    };
    for backend in backends.split_whitespace() {
        for &encrypt in &modes {
            run(backend, agents, rounds, encrypt).await?;
        }
    }
    Ok(())
}

//! Cost of authentication + the synchronous audit append per request: sequential and concurrent
//! GETs of `/healthz` (no token, no audit) vs `/api/v1/whoami` (store-issued token looked up by
//! digest + one audit entry), against a real hub over plain HTTP on loopback.
//!
//! `cargo run --release -p wfm-hub --example auth_overhead -- [sqlite|postgres://…] [requests]`

use std::time::Instant;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = tempfile::tempdir()?;
    let url = match args.get(1).map(String::as_str) {
        Some(u) if u.starts_with("postgres") => u.to_string(),
        _ => format!("sqlite://{}", dir.path().join("hub.sqlite").display()),
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let path = dir.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\n[storage]\nurl = \"{url}\"\n\n\
             {}\n[[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n\n[log]\nlevel = \"warn\"\n",
            wfm_store::testing::encryption_toml()
        ),
    )?;
    let config = wfm_config::load_hub(&path)?;
    let hub = wfm_hub::start(config).await?;
    let (secret, _) = wfm_crypto::generate_token();
    hub.store
        .create_api_token(&wfm_store::NewApiToken {
            id: uuid::Uuid::new_v4().to_string(),
            project: wfm_model::ProjectId::new("alpha")?,
            name: None,
            digest: wfm_hub::auth::token_digest_hex(&secret),
            scopes: vec!["read".into()],
            created_at: time::OffsetDateTime::now_utc(),
            expires_at: None,
        })
        .await?;
    let client = reqwest::Client::new();
    let base = hub.base_url();
    for (label, route, token) in [
        ("healthz (no auth)", "/healthz", None),
        ("whoami, config token", "/api/v1/whoami", Some(TOKEN)),
        (
            "whoami, issued token",
            "/api/v1/whoami",
            Some(secret.as_str()),
        ),
    ] {
        for concurrency in [1usize, 8] {
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let client = client.clone();
                let url = format!("{base}{route}");
                let token = token.map(str::to_string);
                let per = n / concurrency;
                tasks.push(tokio::spawn(async move {
                    for _ in 0..per {
                        let mut r = client.get(&url);
                        if let Some(t) = &token {
                            r = r.bearer_auth(t);
                        }
                        let resp = r.send().await?;
                        anyhow::ensure!(resp.status().is_success(), "status {}", resp.status());
                    }
                    Ok::<(), anyhow::Error>(())
                }));
            }
            for t in tasks {
                t.await??;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{:<8} {label:<24} concurrency {concurrency}: {n} requests in {secs:.2} s = {:.0} req/s, {:.2} ms/request",
                hub.store.backend(),
                n as f64 / secs,
                secs * 1000.0 / n as f64 * concurrency as f64
            );
        }
    }
    let report = hub.store.verify_audit().await?;
    println!(
        "audit entries: {} (verify: {:?})",
        report.checked, report.problem
    );
    hub.shutdown().await?;
    Ok(())
}

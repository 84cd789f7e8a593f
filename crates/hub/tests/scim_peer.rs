//! Peer test: the `scim2` compliance checker (PyPI `scim2-cli`, which runs `scim2-tester`)
//! against a real hub on 127.0.0.1 (plain HTTP, SQLite), with two synced users and a synced
//! team in the directory. Fails on any check that is not SUCCESS, and when `scim2` is missing
//! (install it with `pip install scim2-cli`; CI installs it from peers/requirements.txt).

use serde_json::json;
use std::process::Command;
use wfm_hub::start;

const TOKEN: &str = "scim-peer-token-0123456789abcdef0123456789";

fn hub_config(dir: &std::path::Path) -> wfm_config::HubConfig {
    let text = format!(
        r#"
[server]
bind = "127.0.0.1:0"
allow_insecure_http = true
max_body_bytes = 1048576

[storage]
url = "sqlite://{}"
max_connections = 4

[[projects]]
id = "alpha"
name = "Alpha"
token = "{TOKEN}"
roles = ["agent", "supervisor"]
"#,
        dir.join("hub.sqlite").display()
    );
    match wfm_config::parse_hub(&text, "scim-peer.toml", &|_| None) {
        Ok(c) => c,
        Err(e) => panic!("test hub config: {e}"),
    }
}

fn sync_body() -> serde_json::Value {
    json!({
        "snapshot": {
            "source": "uccx",
            "users": [
                {"external_id": "u1", "username": "agent1", "first_name": "Ann", "last_name": "Agent",
                 "email": "ann@example.com", "attributes": {"agentId": ["agent1"], "phoneExtension": ["1001"]},
                 "skills": {"Sales": 5}, "groups": ["t1"], "roles": ["agent"]},
                {"external_id": "u2", "username": "agent2", "first_name": "Bob", "last_name": "Agent",
                 "email": "bob@example.com", "attributes": {"agentId": ["agent2"]},
                 "skills": {}, "groups": ["t1"], "roles": ["agent"]},
            ],
            "groups": [{"external_id": "t1", "name": "Team One", "attributes": {"externalGroupId": ["t1"]}}],
        },
        "dry_run": false,
        "allow_mass_disable": false,
        "max_disable_ratio": 0.5,
        "warnings": [],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_compliance_checker_passes_every_check() {
    let version = Command::new("scim2").arg("--help").output();
    if version.is_err() {
        panic!(
            "the `scim2` command is missing: install the SCIM compliance checker with \
             `pip install scim2-cli` (CI installs it from peers/requirements.txt)"
        );
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let hub = start(hub_config(dir.path()))
        .await
        .unwrap_or_else(|e| panic!("hub start: {e:#}"));
    let base = hub.base_url();
    let client = reqwest::Client::new();
    let synced = client
        .post(format!("{base}/api/v1/directory/sync"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "scim-peer-seed")
        .json(&sync_body())
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed sync: {e}"));
    assert_eq!(
        synced.status(),
        200,
        "seed sync: {}",
        synced.text().await.unwrap_or_default()
    );

    let url = format!("{base}/scim/v2");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("scim2")
            .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {TOKEN}"))
            .args(["--url", &url, "test", "--verbose"])
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("scim2 task: {e}"))
    .unwrap_or_else(|e| panic!("cannot run scim2: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    // One line per check: "<STATUS> <check name>" (reasons follow, indented).
    const STATUSES: [&str; 7] = [
        "SUCCESS ",
        "COMPLIANT ",
        "ACCEPTABLE ",
        "DEVIATION ",
        "ERROR ",
        "CRITICAL ",
        "SKIPPED ",
    ];
    let checks: Vec<&str> = stdout
        .lines()
        .filter(|l| STATUSES.iter().any(|s| l.starts_with(s)))
        .collect();
    let failed: Vec<&&str> = checks
        .iter()
        .filter(|l| !l.starts_with("SUCCESS"))
        .collect();
    let _ = hub.shutdown().await;
    assert!(
        checks.len() > 20,
        "scim2 reported too few checks ({}): {stdout}\n{stderr}",
        checks.len()
    );
    assert!(failed.is_empty(), "scim2 failed checks:\n{failed:#?}");
    assert!(
        output.status.success(),
        "scim2 exited with {}",
        output.status
    );
}

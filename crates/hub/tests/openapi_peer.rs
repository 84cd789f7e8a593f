//! Peer test: schemathesis (PyPI, 4.x) against a real hub on 127.0.0.1 (plain HTTP, SQLite, one
//! project with a synced directory) driven by the hub's own `/api/v1/openapi.json`, with every
//! check (`--checks all`, auth checks included). Fails on any finding and when schemathesis is
//! missing (install it with `pip install schemathesis==4.32.5`; CI installs it from
//! peers/requirements.txt). The SSE stream is left out: it never ends, so every call of it
//! would time out.

use serde_json::json;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use wfm_hub::admin::limit::FailureLimiter;
use wfm_hub::{app, system_clock, AppState, ProjectTokens};
use wfm_model::ProjectId;
use wfm_store::testing::TestDatabase;
use wfm_store::Store;
use wfm_telemetry::Metrics;

const TOKEN: &str = "openapi-peer-token-0123456789abcdef01234567";

/// The hub's router with the given state, served over plain HTTP on 127.0.0.1:0 with the
/// client address (as `wfm-hub serve` does); returns the base URL.
async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"));
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    format!("http://{addr}")
}

/// A hub over SQLite with project `alpha` and [`TOKEN`]. Every request of schemathesis comes
/// from 127.0.0.1 and hundreds are sent without a token on purpose, so the failed-attempt limit
/// is raised (it has its own tests); with the default it answers 429 where the auth checks
/// want to see the 401 itself.
async fn state(url: &str) -> AppState {
    let store = Store::open(url, 4)
        .await
        .unwrap_or_else(|e| panic!("open store: {e}"))
        .with_encryption(wfm_store::testing::kek());
    let alpha = ProjectId::new("alpha").unwrap_or_else(|e| panic!("project id: {e}"));
    let roles = vec!["agent".to_string(), "supervisor".to_string()];
    store
        .ensure_project(&alpha, Some("Alpha"), &roles)
        .await
        .unwrap_or_else(|e| panic!("ensure project: {e}"));
    let limiter = FailureLimiter::new(1_000_000, Duration::from_secs(60));
    AppState {
        store,
        projects: Arc::new(ProjectTokens::new([(alpha, TOKEN)]).with_limiter(limiter)),
        metrics: Metrics::new(),
        max_body_bytes: 1024 * 1024,
        clock: system_clock(),
        match_rules: Arc::default(),
        interval_metrics: Default::default(),
        adherence: Default::default(),
        state_metrics: Default::default(),
        bulk: Default::default(),
    }
}

fn sync_body() -> serde_json::Value {
    json!({
        "snapshot": {
            "source": "uccx",
            "users": [
                {"external_id": "u1", "username": "agent1", "first_name": "Ann", "last_name": "Agent",
                 "email": "ann@example.com", "attributes": {"agentId": ["agent1"]},
                 "skills": {"Sales": 5}, "groups": ["t1"], "roles": ["agent"]},
            ],
            "groups": [{"external_id": "t1", "name": "Team One", "attributes": {}}],
        },
        "dry_run": false,
        "allow_mass_disable": false,
        "max_disable_ratio": 0.5,
        "warnings": [],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_with_every_check() {
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!(
            "the `schemathesis` command is missing: install it with \
             `pip install schemathesis==4.32.5` (CI installs it from peers/requirements.txt)"
        );
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let db = TestDatabase::sqlite();
    let base = serve(state(db.url()).await).await;
    let seeded = reqwest::Client::new()
        .post(format!("{base}/api/v1/directory/sync"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "openapi-peer-seed")
        .json(&sync_body())
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed sync: {e}"));
    assert_eq!(seeded.status(), 200, "seed sync failed");

    let schema = format!("{base}/api/v1/openapi.json");
    let config = format!(
        "{}/tests/openapi_peer/schemathesis.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let report = dir.path().join("report");
    let work = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            // It keeps a cache directory in the working directory: keep that in the temp dir.
            .current_dir(&work)
            .args(["--config-file", &config, "--no-color", "run", &schema])
            .args([
                "--checks",
                "all",
                "--max-examples",
                "20",
                "--seed",
                "5",
                "--generation-database",
                "none",
            ])
            .args(["--request-timeout", "10", "--workers", "2"])
            .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
            .args(["--exclude-path", "/api/v1/adherence/stream"])
            .arg("--report-dir")
            .arg(&report)
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("schemathesis task: {e}"))
    .unwrap_or_else(|e| panic!("cannot run schemathesis: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis reported findings (exit {}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("/api/v1/directory/sync"),
        "schemathesis did not test the hub's operations:\n{stdout}\n{stderr}"
    );
}

//! The real `wfm-importer` binary against emulators and a hub: output and exit codes.

mod common;

use common::{small_spec, Backend, Env};
use std::process::Output;

async fn importer(env: &Env, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"));
    // The default data_dir (outbox, key) is relative: keep it in the test's directory.
    cmd.arg("--config")
        .arg(&env.importer_toml)
        .args(args)
        .current_dir(env.dir.path());
    cmd.output().await.unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn check_dry_run_sync_and_refusal_through_the_binary() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    let n = env.data.read().resources.len();

    let out = importer(&env, &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(text(&out).matches("OK ").count(), 3, "{}", text(&out));
    assert!(env.users().await.is_empty(), "check changed something");

    let out = importer(&env, &["sync", "users", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("dry run: nothing was changed"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("{n} created")),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("Create user"),
        "dry run lists changes: {}",
        text(&out)
    );
    assert!(env.users().await.is_empty(), "dry run changed something");

    let out = importer(&env, &["sync", "users"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("applied"), "{}", text(&out));
    assert!(
        text(&out).contains("members"),
        "per-team table: {}",
        text(&out)
    );
    assert_eq!(env.users().await.len(), n);

    env.data.write().resources.truncate(n / 2);
    let out = importer(&env, &["sync", "users"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("REFUSED"), "{}", text(&out));
    assert!(
        text(&out).contains("--allow-mass-disable"),
        "{}",
        text(&out)
    );
    assert!(env.users().await.iter().all(|u| u.enabled));

    let out = importer(&env, &["sync", "users", "--allow-mass-disable"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        env.users().await.iter().filter(|u| u.enabled).count(),
        n / 2
    );
    env.finish().await;
}

#[tokio::test]
async fn check_names_a_missing_role_and_a_bad_password() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    let toml = std::fs::read_to_string(&env.importer_toml)
        .unwrap()
        .replace(
            "primary_supervisor = \"team-lead\"",
            "primary_supervisor = \"boss\"",
        )
        .replacen("password = \"ciscopsdt\"", "password = \"wrong\"", 1);
    std::fs::write(&env.importer_toml, toml).unwrap();
    let out = importer(&env, &["check"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("FAIL uccx"), "{t}");
    assert!(!t.contains("wrong"), "password leaked: {t}");
    assert!(t.contains("boss"), "{t}");
    let out = importer(&env, &["sync", "users"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nothing was changed"));
    env.finish().await;
}

#[tokio::test]
async fn run_syncs_on_schedule_serves_metrics_and_stops_on_sigterm() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    env.add_config(&format!(
        "[importer]\nmetrics_bind = \"127.0.0.1:{port}\"\n"
    ));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
        .arg("--config")
        .arg(&env.importer_toml)
        .arg("run")
        .current_dir(env.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let n = env.data.read().resources.len();
    let mut synced = false;
    for _ in 0..100 {
        if env.users().await.len() == n {
            synced = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(synced, "the first sync runs at start-up");

    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("wfm_sync_runs_total{source=\"uccx\",result=\"applied\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "wfm_source_requests_total{source=\"uccx\",endpoint=\"resource\",outcome=\"ok\"}"
    ));
    assert!(metrics.contains("wfm_sync_last_success_timestamp_seconds{source=\"uccx\"}"));
    let health: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["last_result"], "applied", "{health}");

    let pid = child.id().unwrap() as i32;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    env.finish().await;
}

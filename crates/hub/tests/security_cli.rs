//! `wfm-hub project|token|audit` through the real binary, on SQLite and PostgreSQL: create, list
//! and delete projects (refused while data exists unless `--yes`), issue (printed once), list
//! and revoke tokens, verify the audit chain (exit 1 naming a modified entry), list it as JSON,
//! purge it.

use std::path::Path;
use std::process::{Command, Output};
use wfm_store::testing::exec;
use wfm_store::testing::TestDatabase;
use wfm_store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_wfm-hub");
const TOKEN: &str = "cli-token-0123456789abcdef0123456789abcdef";

fn write_config(dir: &Path, storage: &str) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\n[storage]\nurl = \"{storage}\"\n\n\
         [[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n\n[audit]\nretain = \"2d\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn scenario(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), db.url());

    let out = run(
        &config,
        &[
            "project", "create", "gamma", "--name", "Gamma", "--role", "agent",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = run(&config, &["project", "list"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("gamma") && stdout.contains("Gamma") && stdout.contains("alpha"),
        "{stdout}"
    );

    // Issue: the token alone on stdout, the details on stderr.
    let out = run(
        &config,
        &[
            "token",
            "issue",
            "--project",
            "gamma",
            "--scope",
            "read",
            "--scope",
            "ingest",
            "--expires",
            "90d",
            "--name",
            "importer",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let secret = stdout.trim().to_string();
    assert!(secret.starts_with("wfm_") && secret.len() >= 40, "{secret}");
    let id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("token id: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(stderr.contains("scopes:   ingest read"), "{stderr}");

    let store = Store::open(db.url(), 2).await.unwrap();
    let row = store
        .api_token_by_digest(&wfm_hub::auth::token_digest_hex(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.project_id, "gamma");
    assert!(row.expires_at.is_some());

    let out = run(&config, &["token", "list", "--project", "gamma"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(&id) && stdout.contains("active") && stdout.contains("(importer)"),
        "{stdout}"
    );
    assert!(!stdout.contains(&secret), "the secret is never listed");

    let out = run(&config, &["token", "revoke", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (stdout, _) = text(&run(&config, &["token", "list"]));
    assert!(stdout.contains("revoked"), "{stdout}");
    let out = run(&config, &["token", "revoke", "no-such-token"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("no token with id 'no-such-token'"));

    let out = run(
        &config,
        &["token", "issue", "--project", "gamma", "--scope", "write"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("unknown scope 'write'"),
        "{:?}",
        text(&out)
    );
    let out = run(
        &config,
        &["token", "issue", "--project", "nope", "--scope", "read"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("wfm-hub project create nope"),
        "{:?}",
        text(&out)
    );

    // Delete: an empty project goes; one with data needs --yes.
    let out = run(&config, &["project", "delete", "gamma"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let delta = wfm_model::ProjectId::new("delta").unwrap();
    store
        .ensure_project(&delta, None, &["agent".into()])
        .await
        .unwrap();
    let req: wfm_protocol::SyncRequest = serde_json::from_value(serde_json::json!({
        "snapshot": {"source": "uccx", "users": [{
            "external_id": "u1", "username": "dora", "groups": [], "roles": [],
            "attributes": {}, "skills": {}
        }], "groups": []},
        "dry_run": false, "allow_mass_disable": false, "max_disable_ratio": 0.5, "warnings": []
    }))
    .unwrap();
    store
        .sync_directory(&delta, &req, "k1", "h1", time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let out = run(&config, &["project", "delete", "delta"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("still holds") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert!(store.project_exists(&delta).await.unwrap());
    let out = run(&config, &["project", "delete", "delta", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!store.project_exists(&delta).await.unwrap());

    // Audit: every action above is in the chain.
    let out = run(&config, &["audit", "purge"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out)
        .0
        .contains("removed 0 audit entries older than 2d"));
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains("audit log OK"));
    let out = run(
        &config,
        &["audit", "list", "--json", "--action", "token.issue"],
    );
    let (stdout, _) = text(&out);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["outcome"], "success");
    assert_eq!(lines[0]["principal"], "cli:tester");
    assert_eq!(lines[1]["outcome"], "failure:unknown_project");
    let out = run(
        &config,
        &[
            "audit",
            "list",
            "--project",
            "delta",
            "--outcome",
            "failure",
        ],
    );
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("project.delete") && stdout.contains("failure:has_data"),
        "{stdout}"
    );

    exec(
        &store,
        "UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2",
    )
    .await;
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("audit entry 2 was modified"),
        "{:?}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_sqlite() {
    scenario(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_postgres() {
    scenario(TestDatabase::postgres().await).await;
}

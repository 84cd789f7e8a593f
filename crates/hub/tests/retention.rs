//! `wfm-hub retention show|set|purge` through the real binary, on SQLite and PostgreSQL: the
//! effective policy marks defaults and overrides, `set` refuses unknown projects and bad
//! durations, a dry run removes nothing, a purge removes only what is older than the policy and
//! is audited (with `audit verify` still OK); and the purge job of a running hub purges on its
//! own, audited as `hub`.

use std::path::Path;
use std::process::{Command, Output};
use time::OffsetDateTime;
use wfm_store::testing::TestDatabase;
use wfm_store::testing::{count, exec};
use wfm_store::{AuditFilter, Db, Store};

const BIN: &str = env!("CARGO_BIN_EXE_wfm-hub");
const TOKEN: &str = "retention-token-0123456789abcdef0123456789";
const DAY_MS: i64 = 86_400_000;

fn config_text(storage: &str, retention: &str) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\n[storage]\nurl = \"{storage}\"\n\n\
         [encryption]\nenabled = false\n\n\
         [[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n\n[retention]\n{retention}\n"
    )
}

fn write_config(dir: &Path, storage: &str, retention: &str) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    std::fs::write(&path, config_text(storage, retention)).unwrap();
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

/// Agent state events of `alpha` 100 days old (`old`) and 1 day old (`new`), and one sync run
/// 100 days old with two change-log rows.
async fn seed(store: &Store, old: i64, new: i64) {
    let now = wfm_store::to_ms(OffsetDateTime::now_utc());
    exec(
        store,
        "INSERT INTO state_agents (project_id, source, agent, first_seen) \
         VALUES ('alpha', 'cti', 'a1', '2020-01-01T00:00:00.000000Z')",
    )
    .await;
    for (age, n) in [(100, old), (1, new)] {
        for i in 0..n {
            exec(
                store,
                &format!(
                    "INSERT INTO agent_state_events (project_id, source, agent, at_ms, state, \
                     reason_code, raw, unknown_agent, received_at) VALUES ('alpha', 'cti', 'a1', \
                     {}, 'READY', NULL, '{{}}', FALSE, '2020-01-01T00:00:00.000000Z')",
                    now - age * DAY_MS - i
                ),
            )
            .await;
        }
    }
    let started = OffsetDateTime::now_utc() - time::Duration::days(100);
    let started = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (cols, vals) = match store.db() {
        Db::Sqlite(_) => ("id, project_id, seq,", "'run-1', 'alpha', 1,"),
        Db::Postgres(_) => ("id, project_id,", "'run-1', 'alpha',"),
    };
    exec(
        store,
        &format!(
            "INSERT INTO sync_runs ({cols} source, started_at, finished_at, result, summary, \
             reason, warnings, change_count) VALUES ({vals} 'uccx', '{started}', '{started}', \
             'applied', '{{}}', NULL, '[]', 2)"
        ),
    )
    .await;
    exec(
        store,
        "INSERT INTO sync_run_changes (run_id, seq, change) VALUES ('run-1', 0, 'a'), ('run-1', 1, 'b')",
    )
    .await;
}

async fn events(store: &Store) -> i64 {
    count(
        store,
        "SELECT COUNT(*) FROM agent_state_events WHERE project_id = 'alpha'",
    )
    .await
}

async fn cli_round_trip(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), db.url(), "agent_states = \"30d\"");
    // The first command creates the schema and registers `alpha`.
    let out = run(&config, &["retention", "show", "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(shown["project"], "alpha");
    assert_eq!(shown["policy"]["agent_states"]["keep"], "30d");
    assert_eq!(shown["policy"]["agent_states"]["from"], "default");
    assert_eq!(shown["policy"]["intervals"]["keep"], "1095d");
    assert_eq!(shown["policy"]["idempotency"]["keep_seconds"], 30 * 86_400);

    let store = Store::open(db.url(), 2).await.unwrap();
    seed(&store, 3, 2).await;

    // Overrides: stored, shown as coming from the project, audited.
    let out = run(
        &config,
        &[
            "retention",
            "set",
            "--project",
            "alpha",
            "--intervals",
            "3y",
            "--sync-runs",
            "forever",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("sync_runs      forever    project"),
        "{stdout}"
    );
    let out = run(
        &config,
        &["retention", "show", "--project", "alpha", "--json"],
    );
    let shown: serde_json::Value = serde_json::from_str(text(&out).0.trim()).unwrap();
    assert_eq!(shown["policy"]["sync_runs"]["from"], "project");
    assert_eq!(
        shown["policy"]["sync_runs"]["keep_seconds"],
        serde_json::Value::Null
    );
    assert_eq!(shown["policy"]["intervals"]["from"], "project");
    assert_eq!(shown["policy"]["agent_states"]["from"], "default");

    // Unknown project: a clear error, exit 1; bad durations: a usage error, nothing stored.
    for args in [
        &[
            "retention",
            "set",
            "--project",
            "ghost",
            "--intervals",
            "3y",
        ][..],
        &["retention", "purge", "--project", "ghost"][..],
        &["retention", "show", "--project", "ghost"][..],
    ] {
        let out = run(&config, args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("project 'ghost' does not exist"),
            "{stderr}"
        );
    }
    for bad in ["soon", "1h", "-3d"] {
        let out = run(
            &config,
            &["retention", "set", "--project", "alpha", "--adherence", bad],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {:?}", text(&out));
    }
    let out = run(&config, &["retention", "set", "--project", "alpha"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));

    // Dry run: counts, removes nothing.
    let out = run(&config, &["retention", "purge", "--dry-run"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("alpha agent_states (keep 30d): before ")
            && stdout.contains(
                "would remove 3 rows (agent_state_events 3, feed_gaps 0, state_agents 0)"
            ),
        "{stdout}"
    );
    assert!(stdout.contains("alpha sync_runs: kept forever"), "{stdout}");
    assert_eq!(events(&store).await, 5);

    // Purge: the old events go, the new ones and the (kept forever) run stay.
    let out = run(&config, &["retention", "purge"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("removed 3 rows (agent_state_events 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("alpha: removed 3 rows in total"),
        "{stdout}"
    );
    assert_eq!(events(&store).await, 2);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM sync_run_changes").await,
        2
    );

    // Audited: set, dry run and purge, by the CLI user; the chain verifies.
    let out = run(
        &config,
        &["audit", "list", "--action", "retention.purge", "--json"],
    );
    let (stdout, _) = text(&out);
    let entries: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{stdout}");
    assert_eq!(entries[0]["project"], "alpha");
    assert_eq!(entries[0]["principal"], "cli:tester");
    assert_eq!(entries[0]["outcome"], "success");
    let detail = entries[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("agent_states (30d) before ") && detail.contains("agent_state_events 3"),
        "{detail}"
    );
    for action in ["retention.set", "retention.dry_run"] {
        let filter = AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        let found = store.audit_entries(&filter).await.unwrap();
        assert!(!found.is_empty(), "no {action} entry");
    }
    let set = store
        .audit_entries(&AuditFilter {
            action: Some("retention.set".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        set[0].detail.as_deref(),
        Some("intervals=3y sync_runs=forever")
    );
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    store.close().await;
    db.finish().await;
}

async fn bad_config_exits_78(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), db.url(), "idempotency = \"1h\"");
    let out = run(&config, &["retention", "show"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("retention.idempotency"), "{stderr}");
}

/// The job of a running hub: first run after `job_delay`, audited as `hub`.
async fn job_purges_on_its_own(db: TestDatabase) {
    let text = config_text(db.url(), "agent_states = \"30d\"\njob_delay = \"2s\"");
    let config = wfm_config::parse_hub(&text, "hub.toml", &|_| None).unwrap();
    let hub = wfm_hub::server::start(config).await.unwrap();
    seed(&hub.store, 4, 1).await;
    let mut left = events(&hub.store).await;
    for _ in 0..100 {
        if left == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = events(&hub.store).await;
    }
    assert_eq!(left, 1, "the job removed the old events");
    let filter = AuditFilter {
        action: Some("retention.purge".into()),
        ..Default::default()
    };
    let mut entries = hub.store.audit_entries(&filter).await.unwrap();
    for _ in 0..50 {
        if !entries.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        entries = hub.store.audit_entries(&filter).await.unwrap();
    }
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].principal.as_deref(), Some("hub"));
    assert!(entries[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("agent_state_events 4"));
    let store = hub.store.clone();
    hub.shutdown().await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap().problem, None);
    store.close().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_round_trip_sqlite() {
    cli_round_trip(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_round_trip_postgres() {
    cli_round_trip(TestDatabase::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_below_one_day_is_a_config_error_sqlite() {
    bad_config_exits_78(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_job_purges_and_audits_sqlite() {
    job_purges_on_its_own(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_job_purges_and_audits_postgres() {
    job_purges_on_its_own(TestDatabase::postgres().await).await;
}

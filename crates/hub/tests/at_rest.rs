//! Encryption at rest end to end, on SQLite and PostgreSQL: a hub started the way `serve`
//! starts it (`wfm_hub::start`, `[encryption]` from hub.toml) takes personal data over HTTP —
//! a directory sync with names, e-mails, extensions, aliases and a secondary e-mail; a SCIM
//! user; an adherence exception note — and answers it back in clear; then the raw database
//! (every byte of the SQLite file and its WAL, every row of every PostgreSQL table as text) is
//! scanned for those values. With encryption on, none may be found. The same scenario with
//! `enabled = false` must find them (so the scan does see plaintext when it is there), and a
//! hub switched on over that clear database still reads it.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use wfm_hub::start;
use wfm_store::testing::TestDatabase;
use wfm_store::{Db, Store};

const TOKEN: &str = "at-rest-token-0123456789abcdef0123456789ab";

/// Personal data sent to the hub; long and specific enough never to occur by chance in
/// base64 ciphertext.
const MARKERS: [&str; 9] = [
    "Zebulonia",
    "Quixoticus",
    "zq.private@markers.example",
    "4711081599",
    "alias-zebq-77",
    "zq.second@markers.example",
    "Xanthippe",
    "xm.scim@markers.example",
    "dentist-appointment-xq",
];

fn config(url: &str, encryption: &str) -> wfm_config::HubConfig {
    wfm_config::parse_hub(&config_text(url, encryption), "at-rest.toml", &|_| None)
        .unwrap_or_else(|e| panic!("test hub config: {e}"))
}

fn config_text(url: &str, encryption: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
allow_insecure_http = true

[storage]
url = "{url}"
max_connections = 4

{encryption}

[[projects]]
id = "alpha"
token = "{TOKEN}"
"#
    )
}

fn sync_body() -> Value {
    json!({
        "snapshot": {
            "source": "uccx",
            "users": [
                {"external_id": "u1", "username": "agent1", "first_name": "Zebulonia",
                 "last_name": "Quixoticus", "email": "zq.private@markers.example",
                 "attributes": {"agentId": ["agent1"], "phoneExtension": ["4711081599"],
                                "alias": ["alias-zebq-77"],
                                "secondaryEmail": ["zq.second@markers.example"]},
                 "skills": {"Sales": 5}, "groups": ["t1"], "roles": ["agent"]},
                {"external_id": "u2", "username": "agent2", "first_name": "Other",
                 "last_name": "Person", "attributes": {"agentId": ["agent2"]},
                 "skills": {}, "groups": ["t1"], "roles": ["agent"]},
            ],
            "groups": [{"external_id": "t1", "name": "Team One", "attributes": {}}],
        },
        "dry_run": false,
        "allow_mass_disable": false,
        "max_disable_ratio": 0.5,
        "warnings": [],
    })
}

/// Sends the personal data and checks that the hub answers it back in clear.
async fn write_and_read_back(base: &str) {
    let client = reqwest::Client::new();
    let sync = client
        .post(format!("{base}/api/v1/directory/sync"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "at-rest-sync-1")
        .json(&sync_body())
        .send()
        .await
        .unwrap();
    let status = sync.status();
    let answer: Value = sync.json().await.unwrap();
    assert_eq!(status, 200, "sync: {answer}");
    let run = answer["run"]["id"].as_str().unwrap().to_string();

    let scim = client
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "scim.user",
            "name": {"givenName": "Xanthippe", "familyName": "Marvolo"},
            "emails": [{"value": "xm.scim@markers.example", "primary": true}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), 201, "scim: {}", scim.text().await.unwrap());

    let exception = client
        .post(format!("{base}/api/v1/adherence/exceptions"))
        .bearer_auth(TOKEN)
        .json(&json!({"agent": "agent1", "start": "2026-12-01T09:00:00Z",
                      "end": "2026-12-01T10:00:00Z", "note": "dentist-appointment-xq"}))
        .send()
        .await
        .unwrap();
    let status = exception.status();
    assert!(
        status.is_success(),
        "exception: {}",
        exception.text().await.unwrap()
    );

    read_back(base, Some(&run)).await;
}

/// The data as the API answers it: in clear, also through the substring search.
async fn read_back(base: &str, run: Option<&str>) {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(path).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let found = get(format!("{base}/api/v1/users?q=quixot")).await;
    let page: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(page["total"], 1, "{found}");
    assert_eq!(page["items"][0]["first_name"], "Zebulonia", "{found}");
    assert_eq!(page["items"][0]["email"], "zq.private@markers.example");
    assert_eq!(
        page["items"][0]["attributes"]["phoneExtension"][0],
        "4711081599"
    );
    let none: Value =
        serde_json::from_str(&get(format!("{base}/api/v1/users?q=nobody")).await).unwrap();
    assert_eq!(none["total"], 0);
    if let Some(run) = run {
        let changes = get(format!("{base}/api/v1/sync-runs/{run}/changes")).await;
        assert!(changes.contains("alias-zebq-77"), "{changes}");
    }
    let scim = get(format!(
        "{base}/scim/v2/Users?filter=userName%20eq%20%22scim.user%22"
    ))
    .await;
    assert!(scim.contains("xm.scim@markers.example"), "{scim}");
    let exceptions = get(format!(
        "{base}/api/v1/adherence/exceptions?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z"
    ))
    .await;
    assert!(
        exceptions.contains("dentist-appointment-xq"),
        "{exceptions}"
    );
}

/// The markers found in the raw database.
async fn scan(store: &Store, sqlite_file: Option<&Path>) -> Vec<&'static str> {
    let text = match (store.db(), sqlite_file) {
        (Db::Sqlite(_), Some(file)) => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-journal"] {
                let mut name = file.as_os_str().to_owned();
                name.push(suffix);
                if let Ok(b) = std::fs::read(PathBuf::from(name)) {
                    bytes.extend_from_slice(&b);
                }
            }
            assert!(bytes.len() > 4096, "the SQLite file is missing");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        (Db::Postgres(pool), _) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(tables.len() > 10, "{tables:?}");
            let mut all = String::new();
            for (table,) in tables {
                let rows: Vec<(String,)> =
                    sqlx::query_as(&format!("SELECT t::text FROM \"{table}\" t"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                for (row,) in rows {
                    all.push_str(&row);
                    all.push('\n');
                }
            }
            all
        }
        (Db::Sqlite(_), None) => panic!("no SQLite file to scan"),
    };
    MARKERS.into_iter().filter(|m| text.contains(m)).collect()
}

/// The database file of a `sqlite://` URL (`None` for PostgreSQL).
fn sqlite_file_of(url: &str) -> Option<PathBuf> {
    url.strip_prefix("sqlite://")
        .map(|p| PathBuf::from(p.split('?').next().unwrap_or(p)))
}

async fn scenario(db: TestDatabase, dir: &Path) {
    let url = db.url().to_string();
    let sqlite_file = sqlite_file_of(&url);
    let encryption = if sqlite_file.is_some() {
        // The default: a KEK created next to the database file.
        String::new()
    } else {
        let kek = dir.join("hub.kek");
        std::fs::write(&kek, "11".repeat(32)).unwrap();
        format!("[encryption]\nkek_file = \"{}\"", kek.display())
    };

    let hub = start(config(&url, &encryption)).await.unwrap();
    write_and_read_back(&hub.base_url()).await;
    hub.shutdown().await.unwrap();
    if let Some(file) = &sqlite_file {
        let kek = wfm_hub::encryption::default_kek_file(file);
        assert!(kek.exists(), "no KEK created at {}", kek.display());
    }
    let store = Store::open(&url, 2).await.unwrap();
    let found = scan(&store, sqlite_file.as_deref()).await;
    assert!(
        found.is_empty(),
        "plaintext personal data in the database: {found:?}"
    );
    store.close().await;

    // Restarted with the same KEK, everything reads back.
    let hub = start(config(&url, &encryption)).await.unwrap();
    read_back(&hub.base_url(), None).await;
    hub.shutdown().await.unwrap();
    db.finish().await;
}

async fn control(db: TestDatabase) {
    let url = db.url().to_string();
    let sqlite_file = sqlite_file_of(&url);
    let off = "[encryption]\nenabled = false";
    let hub = start(config(&url, off)).await.unwrap();
    write_and_read_back(&hub.base_url()).await;
    hub.shutdown().await.unwrap();
    let store = Store::open(&url, 2).await.unwrap();
    let found = scan(&store, sqlite_file.as_deref()).await;
    assert_eq!(
        found,
        MARKERS.to_vec(),
        "the scan must see plaintext when it is there"
    );
    store.close().await;

    // Switched on over the clear data: still readable (sealed when next rewritten).
    let dir = tempfile::tempdir().unwrap();
    let kek = dir.path().join("hub.kek");
    std::fs::write(&kek, "22".repeat(32)).unwrap();
    let on = format!("[encryption]\nkek_file = \"{}\"", kek.display());
    let hub = start(config(&url, &on)).await.unwrap();
    read_back(&hub.base_url(), None).await;
    hub.shutdown().await.unwrap();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_no_plaintext_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    scenario(TestDatabase::sqlite(), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_no_plaintext_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    scenario(TestDatabase::postgres().await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scan_finds_plaintext_when_encryption_is_off() {
    control(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scan_finds_plaintext_when_encryption_is_off() {
    control(TestDatabase::postgres().await).await;
}

/// `wfm-hub keys …` through the binary; answers (exit code, stdout + stderr).
fn keys(config: &Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wfm-hub"))
        .arg("keys")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("WFM_HUB_KEK")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

async fn users_text(base: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Data sealed before a data-key rotation, after it, and after a KEK re-wrap all read back
/// with the new KEK alone; the retired KEK no longer opens anything.
async fn rotation(db: TestDatabase) {
    let url = db.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (kek1, kek2) = (dir.path().join("kek1"), dir.path().join("kek2"));
    std::fs::write(&kek1, "33".repeat(32)).unwrap();
    std::fs::write(&kek2, "44".repeat(32)).unwrap();
    let old = format!("[encryption]\nkek_file = \"{}\"", kek1.display());
    let new = format!(
        "[encryption]\nkek_file = \"{}\"\nkek_id = \"kek-2\"",
        kek2.display()
    );
    let toml = dir.path().join("hub.toml");
    std::fs::write(&toml, config_text(&url, &old)).unwrap();
    let k1 = kek1.display().to_string();
    let k2 = kek2.display().to_string();

    // Before: the first user, sealed with the first data key.
    let mut body = sync_body();
    let second = body["snapshot"]["users"][1].take();
    body["snapshot"]["users"] = json!([body["snapshot"]["users"][0].take()]);
    let hub = start(config(&url, &old)).await.unwrap();
    let client = reqwest::Client::new();
    let post = |key: &'static str, body: Value, base: String| {
        let client = client.clone();
        async move {
            let r = client
                .post(format!("{base}/api/v1/directory/sync"))
                .bearer_auth(TOKEN)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
    };
    post("rot-1", body.clone(), hub.base_url()).await;
    hub.shutdown().await.unwrap();

    let (code, out) = keys(&toml, &["rotate", "--kek-file", &k1]);
    assert_eq!(code, 0, "{out}");

    // After the data-key rotation: a second user, sealed with the new data key.
    let mut both = body.clone();
    both["snapshot"]["users"] = json!([body["snapshot"]["users"][0].clone(), second]);
    let hub = start(config(&url, &old)).await.unwrap();
    post("rot-2", both, hub.base_url()).await;
    hub.shutdown().await.unwrap();

    // Re-wrap everything under the second KEK.
    let (code, out) = keys(
        &toml,
        &[
            "rotate",
            "--kek-file",
            &k1,
            "--kek-id",
            "kek-1",
            "--new-kek-file",
            &k2,
            "--new-kek-id",
            "kek-2",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, status) = keys(&toml, &["status", "--json"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains("kek-2") && !status.contains("\"kek-1\""),
        "{status}"
    );

    let hub = start(config(&url, &new)).await.unwrap();
    let (code, text) = users_text(&hub.base_url()).await;
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("Zebulonia") && text.contains("Other"),
        "{text}"
    );
    hub.shutdown().await.unwrap();

    // The retired KEK opens nothing: an error, and no personal data in it.
    let hub = start(config(&url, &old)).await.unwrap();
    let (code, text) = users_text(&hub.base_url()).await;
    assert!(code >= 500, "{code} {text}");
    assert!(!text.contains("Zebulonia"), "{text}");
    hub.shutdown().await.unwrap();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_sealed_before_and_after_rotations_reads_with_the_new_kek() {
    rotation(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_data_sealed_before_and_after_rotations_reads_with_the_new_kek() {
    rotation(TestDatabase::postgres().await).await;
}

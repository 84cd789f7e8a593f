//! `wfm-hub keys status|rotate` through the real binary, on SQLite and PostgreSQL: values sealed
//! before a data-key rotation, after it, and after a KEK re-wrap all open with the new KEK alone;
//! the old KEK no longer unwraps; status names keys and KEK ids and never key material; a
//! missing KEK exits 78 naming the fix.

use std::path::Path;
use std::process::{Command, Output};

use wfm_crypto::{KeyEncryptionKey, LocalKek, DEFAULT_ENCRYPTION_LIMIT};
use wfm_model::ProjectId;
use wfm_store::testing::TestDatabase;
use wfm_store::{Db, Store};

const BIN: &str = env!("CARGO_BIN_EXE_wfm-hub");
const TOKEN: &str = "keys-token-0123456789abcdef0123456789abcdef";
const KEK1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const KEK2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn write_config(dir: &Path, storage: &str) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\n[storage]\nurl = \"{storage}\"\n\n\
         [[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("WFM_HUB_KEK")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn seal(store: &Store, kek: &dyn KeyEncryptionKey, row: &str, value: &str) -> String {
    let p = ProjectId::new("alpha").unwrap();
    let mut c = store
        .project_crypto(&p, kek, DEFAULT_ENCRYPTION_LIMIT)
        .await
        .unwrap();
    store.reserve_encryptions(&mut c, kek, 1).await.unwrap();
    c.seal("users", "email", row, value).unwrap()
}

async fn scenario(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), db.url());
    let kek1_file = dir.path().join("kek1.hex");
    let kek2_file = dir.path().join("kek2.hex");
    std::fs::write(&kek1_file, KEK1).unwrap();
    std::fs::write(&kek2_file, KEK2).unwrap();
    let kek1 = LocalKek::from_hex("kek-1", KEK1).unwrap();
    let kek2 = LocalKek::from_hex("kek-2", KEK2).unwrap();
    let k1 = kek1_file.to_str().unwrap();
    let k2 = kek2_file.to_str().unwrap();

    let out = run(&config, &["keys", "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no encryption keys"), "{}", text(&out));

    let store = Store::open(db.url(), 2).await.unwrap();
    let before = seal(&store, &kek1, "u1", "before@example.test").await;

    // A missing KEK is a configuration error naming the fix.
    let out = run(&config, &["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(text(&out).contains("--kek-file"), "{}", text(&out));

    let out = run(&config, &["keys", "rotate", "--kek-file", k1]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("alpha\tdk-"), "{}", text(&out));
    let rotated = seal(&store, &kek1, "u2", "rotated@example.test").await;

    let out = run(
        &config,
        &[
            "keys",
            "rotate",
            "--kek-file",
            k1,
            "--new-kek-file",
            k2,
            "--new-kek-id",
            "kek-2",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("re-wrapped 2 data keys of 1 projects"),
        "{}",
        text(&out)
    );

    let out = run(&config, &["keys", "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["project"], "alpha");
    assert_eq!(line["index_kek_id"], "kek-2");
    let keys = line["data_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "two rotations after the first key: {stdout}");
    assert!(keys.iter().all(|k| k["kek_id"] == "kek-2"), "{stdout}");
    assert_eq!(keys.iter().filter(|k| k["active"] == true).count(), 1);
    assert!(!stdout.contains(KEK1) && !stdout.contains(KEK2));

    // The old KEK is retired; the new one alone reads everything.
    let p = ProjectId::new("alpha").unwrap();
    let err = store
        .project_crypto(&p, &kek1, DEFAULT_ENCRYPTION_LIMIT)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot unwrap"), "{err}");
    let after = seal(&store, &kek2, "u3", "after@example.test").await;
    let c = store
        .project_crypto(&p, &kek2, DEFAULT_ENCRYPTION_LIMIT)
        .await
        .unwrap();
    for (row, sealed, plain) in [
        ("u1", &before, "before@example.test"),
        ("u2", &rotated, "rotated@example.test"),
        ("u3", &after, "after@example.test"),
    ] {
        assert_eq!(c.open("users", "email", row, sealed).unwrap(), plain);
    }
    match store.db() {
        Db::Sqlite(pool) => pool.close().await,
        Db::Postgres(pool) => pool.close().await,
    }
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_rewrap_keep_data_readable_sqlite() {
    scenario(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_rewrap_keep_data_readable_postgres() {
    scenario(TestDatabase::postgres().await).await;
}

//! `wfm-importer outbox status|list|replay|drop` through the real binary, on an outbox filled
//! through the library.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use wfm_outbox::{BatchId, Outbox, OutboxConfig, OutboxKey};

const KEY_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";

struct Rig {
    _dir: tempfile::TempDir,
    toml: PathBuf,
    outbox_dir: PathBuf,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_outbox_table(&format!("key = \"{KEY_HEX}\"\n"))
    }

    fn with_outbox_table(outbox: &str) -> Rig {
        Rig::with(outbox, 9464)
    }

    fn with(outbox: &str, metrics_port: u16) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let toml = dir.path().join("importer.toml");
        let text = format!(
            "[importer]\ndata_dir = \"{}\"\nmetrics_bind = \"127.0.0.1:{metrics_port}\"\n\
             [hub]\nurl = \"https://127.0.0.1:9\"\nproject = \"p\"\ntoken = \"t-0123456789abcdef0123456789abcdef\"\n\
             [uccx]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword = \"p\"\n\
             [outbox]\n{outbox}",
            data.display()
        );
        std::fs::write(&toml, text).unwrap();
        Rig {
            outbox_dir: data.join("outbox"),
            _dir: dir,
            toml,
        }
    }

    fn open(&self) -> Outbox {
        let key = OutboxKey::from_hex(KEY_HEX).unwrap();
        Outbox::open(OutboxConfig::new(&self.outbox_dir, key))
            .unwrap()
            .0
    }

    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
            .arg("--config")
            .arg(&self.toml)
            .arg("outbox")
            .args(args)
            .env_remove("WFM_IMPORTER_CONFIG")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// users:a: 5 received, 2 delivered, 1 buffered, 2 dead-lettered (1 dropped);
/// live-1: 3 received, all buffered. Returns the id of the kept dead letter.
fn fill(outbox: &Outbox) -> BatchId {
    let mut ids = Vec::new();
    for i in 0..5u8 {
        ids.push(outbox.append("users:a", &[i; 100], &[i]).unwrap());
    }
    for i in 0..3u8 {
        outbox.append("live-1", &[i; 10], &[i]).unwrap();
    }
    outbox.ack(ids[0]).unwrap();
    outbox.ack(ids[1]).unwrap();
    outbox.dead_letter(ids[2], "422: agent id missing").unwrap();
    outbox.dead_letter(ids[3], "422: another").unwrap();
    outbox.drop_dead(ids[3]).unwrap();
    ids[2]
}

fn source<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {status}"))
}

#[test]
fn status_reports_counters_conservation_budget_and_last_delivery() {
    let rig = Rig::new();
    fill(&rig.open());

    let out = rig.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("users:a"))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    // source received delivered buffered dead-lettered dropped oldest last bytes conservation
    assert_eq!(&row[1..6], ["5", "2", "1", "2", "1"], "{table}");
    assert_ne!(row[7], "never", "{table}");
    assert_eq!(row[9], "OK", "{table}");
    let live: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("live-1"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&live[1..6], ["3", "0", "3", "0", "0"], "{table}");
    assert_eq!(live[7], "never", "{table}");
    assert!(table.contains("conservation: OK"), "{table}");
    assert!(table.contains("budget"), "{table}");
    assert!(
        table.contains("encryptions of a limit of 2147483648"),
        "{table}"
    );

    let status = rig.json(&["status", "--json"]);
    let users = source(&status, "users:a");
    assert_eq!(users["received"], 5);
    assert_eq!(users["delivered"], 2);
    assert_eq!(users["buffered"], 1);
    assert_eq!(users["dead_lettered"], 2);
    assert_eq!(users["dropped"], 1);
    assert_eq!(users["conservation_ok"], true);
    assert!(users["last_delivered"].is_string());
    assert_eq!(source(&status, "live-1")["buffered"], 3);
    assert_eq!(status["conservation_ok"], true);
    assert_eq!(status["max_bytes"], 1024 * 1024 * 1024);
    assert!(status["disk_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn list_shows_pending_and_dead_letters_with_filters() {
    let rig = Rig::new();
    let dead = fill(&rig.open());

    let all = rig.json(&["list", "--json"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 5, "{all:?}");
    assert_eq!(all.iter().filter(|r| r["state"] == "pending").count(), 4);

    let only_dead = rig.json(&["list", "--dead", "--json"]);
    let only_dead = only_dead.as_array().unwrap();
    assert_eq!(only_dead.len(), 1);
    assert_eq!(only_dead[0]["id"], dead.0);
    assert_eq!(only_dead[0]["source"], "users:a");
    assert_eq!(only_dead[0]["reason"], "422: agent id missing");
    assert_eq!(only_dead[0]["bytes"], 100);

    let live = rig.json(&["list", "--source", "live-1", "--json"]);
    let live = live.as_array().unwrap();
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|r| r["source"] == "live-1"));

    let out = rig.run(&["list", "--dead"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.contains("422: agent id missing"), "{table}");
    assert!(
        table.contains("1 batch(es): 0 pending, 1 dead-lettered"),
        "{table}"
    );
}

#[test]
fn replay_then_drop_move_dead_letters_and_keep_conservation() {
    let rig = Rig::new();
    let dead = fill(&rig.open());
    let id = dead.0.to_string();

    let out = rig.run(&["replay", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(rig
        .json(&["list", "--dead", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    let status = rig.json(&["status", "--json"]);
    assert_eq!(source(&status, "users:a")["buffered"], 2);
    assert_eq!(source(&status, "users:a")["dead_lettered"], 1);
    assert_eq!(status["conservation_ok"], true);

    let out = rig.run(&["replay", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is pending, not dead-lettered"),
        "{}",
        text(&out)
    );

    // dead-letter it again (as the delivery loop would), then drop it
    {
        let outbox = rig.open();
        outbox.dead_letter(dead, "422 again").unwrap();
    }
    let out = rig.run(&["drop", &id]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("re-run with --yes"), "{}", text(&out));
    assert_eq!(
        rig.json(&["list", "--dead", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let out = rig.run(&["drop", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(rig
        .json(&["list", "--dead", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    let status = rig.json(&["status", "--json"]);
    let users = source(&status, "users:a");
    assert_eq!(users["dead_lettered"], 2);
    assert_eq!(users["dropped"], 2);
    assert_eq!(users["buffered"], 1);
    assert_eq!(status["conservation_ok"], true);

    let out = rig.run(&["drop", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not in the outbox"),
        "{}",
        text(&out)
    );
}

#[test]
fn replay_all_dead_requeues_every_dead_letter() {
    let rig = Rig::new();
    {
        let outbox = rig.open();
        for i in 0..3u8 {
            let id = outbox.append("intervals:h", &[i], &[i]).unwrap();
            outbox.dead_letter(id, "rejected").unwrap();
        }
    }
    let out = rig.run(&["replay", "--all-dead"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("3 batch(es) replayed"),
        "{}",
        text(&out)
    );
    let status = rig.json(&["status", "--json"]);
    assert_eq!(source(&status, "intervals:h")["buffered"], 3);
}

#[test]
fn an_outbox_in_use_is_refused_naming_the_process_and_pointing_to_metrics() {
    let rig = Rig::new();
    let outbox = rig.open();
    fill(&outbox);
    for args in [&["status"][..], &["replay", "--all-dead"][..]] {
        let out = rig.run(args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            err.contains(&format!(
                "is in use by another process (pid {})",
                std::process::id()
            )),
            "{err}"
        );
        assert!(err.contains("stop that importer first"), "{err}");
        assert!(err.contains("http://127.0.0.1:9464/metrics"), "{err}");
    }
    // nothing was changed by the refused commands
    assert_eq!(outbox.dead_letters().len(), 1);
}

#[test]
fn a_missing_key_file_is_a_config_error_and_no_outbox_is_not_an_error() {
    let rig = Rig::with_outbox_table("");
    let out = rig.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("nothing has been buffered"),
        "{}",
        text(&out)
    );
    assert!(!rig.outbox_dir.exists(), "status must not create an outbox");

    std::fs::create_dir_all(&rig.outbox_dir).unwrap();
    std::fs::write(rig.outbox_dir.join("seg-0000000001.log"), b"").unwrap();
    let out = rig.run(&["status"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(text(&out).contains("no outbox key"), "{}", text(&out));
    assert!(text(&out).contains("outbox.key"), "{}", text(&out));
}

#[test]
fn a_wrong_key_is_a_config_error() {
    let rig = Rig::new();
    fill(&rig.open());
    let other = Rig::with_outbox_table(&format!(
        "key = \"{}\"\ndir = \"{}\"\n",
        "08".repeat(32),
        path_text(&rig.outbox_dir)
    ));
    let out = other.run(&["status"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(text(&out).contains("wrong key"), "{}", text(&out));
}

fn path_text(p: &Path) -> String {
    p.display().to_string()
}

/// `GET /metrics` over a plain socket; `None` while nothing listens.
fn scrape(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    Some(text)
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_exports_the_outbox_metrics_and_status_is_refused_while_it_runs() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rig = Rig::with(&format!("key = \"{KEY_HEX}\"\n"), port);
    fill(&rig.open());
    // the hub and UCCX are unreachable: nothing is delivered, the figures stay as filled
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
        .arg("--config")
        .arg(&rig.toml)
        .arg("run")
        .env_remove("WFM_IMPORTER_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut scraped = String::new();
    for _ in 0..1000 {
        if let Some(t) = scrape(port) {
            scraped = t;
            if scraped.contains("wfm_importer_outbox_batches_received_total{source=\"users:a\"}") {
                break;
            }
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("wfm-importer run exited early: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for line in [
        "wfm_importer_outbox_batches_received_total{source=\"users:a\"} 5",
        "wfm_importer_outbox_batches_delivered_total{source=\"users:a\"} 2",
        "wfm_importer_outbox_batches_dead_lettered_total{source=\"users:a\"} 2",
        "wfm_importer_outbox_buffered_batches{source=\"users:a\"} 1",
        "wfm_importer_outbox_batches_received_total{source=\"live-1\"} 3",
        "wfm_importer_outbox_buffered_batches{source=\"live-1\"} 3",
        "wfm_importer_outbox_full 0",
        "wfm_importer_outbox_max_bytes 1073741824",
    ] {
        assert!(scraped.contains(line), "missing {line} in\n{scraped}");
    }
    assert!(
        scraped
            .contains("wfm_importer_outbox_last_delivered_timestamp_seconds{source=\"users:a\"}"),
        "{scraped}"
    );
    assert!(
        scraped.contains("wfm_importer_outbox_oldest_pending_age_seconds{source=\"live-1\"}"),
        "{scraped}"
    );

    let out = rig.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("is in use by another process (pid"), "{err}");
    assert!(
        err.contains(&format!("http://127.0.0.1:{port}/metrics")),
        "{err}"
    );
}

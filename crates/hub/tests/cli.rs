//! The `wfm-hub` binary: exit codes, messages, `gen-cert`, and `serve` stopping on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wfm-hub");
const TOKEN: &str = "cli-token-0123456789abcdef0123456789abcdef";

fn write_config(dir: &Path, extra_server: &str, storage: &str) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\n{extra_server}\n\n[storage]\nurl = \"{storage}\"\n\n\
         [[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n\n[log]\nformat = \"json\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("hub.sqlite").display())
}

#[test]
fn check_config_reports_every_issue_with_its_path_and_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nmax_body_bytes = 10\n\n[storage]\nurl = \"mysql://x\"\n\n[[projects]]\nid = \"a\"\ntoken = \"short\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for path in [
        "server.tls_cert",
        "server.max_body_bytes",
        "storage.url",
        "projects[0].token",
    ] {
        assert!(stderr.contains(path), "{path} missing in: {stderr}");
    }
    assert!(
        !stderr.contains("short"),
        "the token must not be printed: {stderr}"
    );

    let missing = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.path().join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));
}

#[test]
fn check_config_ok_and_unreadable_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write_config(
        dir.path(),
        "allow_insecure_http = true",
        &sqlite_url(dir.path()),
    );
    let out = Command::new(BIN)
        .args(["check-config", "-c"])
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("OK"), "{stdout}");
    assert!(!stdout.contains(TOKEN));

    let tls = write_config(
        dir.path(),
        "tls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"",
        &sqlite_url(dir.path()),
    );
    let out = Command::new(BIN)
        .args(["check-config", "-c"])
        .arg(&tls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cert.pem"));
}

#[test]
fn check_config_names_where_the_kek_comes_from_and_what_is_wrong_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let check = |storage: &str, encryption: &str| {
        let path = write_config(dir.path(), "allow_insecure_http = true", storage);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(encryption);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN)
            .args(["check-config", "-c"])
            .arg(&path)
            .env_remove("WFM_HUB_KEK")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), all)
    };
    // SQLite with no KEK: named, and not created by a check.
    let (code, out) = check(&sqlite_url(dir.path()), "");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("created on first start") && out.contains("hub.sqlite.kek"),
        "{out}"
    );
    assert!(!dir.path().join("hub.sqlite.kek").exists());
    // PostgreSQL with no KEK: a configuration error naming the settings.
    let (code, out) = check("postgres://wfm@127.0.0.1:1/wfm", "");
    assert_eq!(code, Some(78), "{out}");
    assert!(
        out.contains("kek_file") && out.contains("WFM_HUB_KEK"),
        "{out}"
    );
    // A KEK file that is not a key.
    let bad = dir.path().join("bad.kek");
    std::fs::write(&bad, "not a key").unwrap();
    let section = format!("\n[encryption]\nkek_file = \"{}\"\n", bad.display());
    let (code, out) = check(&sqlite_url(dir.path()), &section);
    assert_eq!(code, Some(78), "{out}");
    assert!(
        out.contains("bad.kek") && out.contains("64 hex digits"),
        "{out}"
    );
    // A good one.
    std::fs::write(&bad, "ab".repeat(32)).unwrap();
    let (code, out) = check("postgres://wfm@127.0.0.1:1/wfm", &section);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("KEK 'kek-1' from file"), "{out}");
}

#[test]
fn gen_cert_writes_a_usable_pair() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    let key = dir.path().join("k.pem");
    let out = Command::new(BIN)
        .args([
            "gen-cert",
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
            "--out-cert",
        ])
        .arg(&cert)
        .arg("--out-key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wfm_hub::tls::server_config_from_files(&cert, &key).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key must not be readable by others");
    }
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "allow_insecure_http = true",
        &sqlite_url(dir.path()),
    );
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    let mut seen = Vec::new();
    while addr.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push(line.clone());
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v["message"] == "hub listening" {
                addr = v["listen"].as_str().map(str::to_string);
            }
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("no listen line in: {seen:#?}");
    };
    assert!(!seen.iter().any(|l| l.contains(TOKEN)), "token logged");
    assert!(
        seen.iter().any(|l| l.contains("PLAIN HTTP")),
        "insecure mode must be logged loudly"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wfm-hub did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_fails_with_exit_1_and_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    // The storage path is a directory that does not exist.
    let config = write_config(
        dir.path(),
        "allow_insecure_http = true",
        &format!("sqlite://{}/missing/dir/hub.sqlite", dir.path().display()),
    );
    let out = Command::new(BIN)
        .args(["serve", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot open storage sqlite://"), "{stderr}");
}

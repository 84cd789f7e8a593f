//! The one-command demo, run as a user runs it (small, `--once`): it must start everything, sync
//! both sources, show the changes, and stop cleanly.

#[test]
fn the_demo_runs_end_to_end_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wfm-demo"))
        .args([
            "--once",
            "--agents",
            "40",
            "--teams",
            "4",
            "--supervisors",
            "4",
            "--latency-ms",
            "0",
        ])
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("44 created"),
        "first sync creates every user: {text}"
    );
    assert!(text.contains("source 'webex': applied"), "{text}");
    assert!(text.contains("people found in both sources"), "{text}");
    assert!(
        text.contains("2 disabled"),
        "the second sync disables the removed agents: {text}"
    );
    assert!(
        text.contains("username: "),
        "field-level changes are shown: {text}"
    );
    assert!(text.contains("demo stopped cleanly"), "{text}");
    assert!(dir.path().join("demo/importer.toml").exists());
    assert!(dir.path().join("demo/hub.toml").exists());
}

//! Peer test: zeep (a real SOAP client) with Cisco's AXL 12.5 WSDL from the PyPI package
//! `ciscoaxl` talks to the AXL emulator. Fails (never skips) when python3, zeep or ciscoaxl
//! is missing: run `pip install -r peers/requirements.txt` (CI does).

use std::path::PathBuf;
use std::process::Command;

use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::{DatasetSpec, SharedData};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_with_the_official_wsdl_reads_rows_and_faults() {
    let data = SharedData::generate(&DatasetSpec {
        agents: 50,
        supervisors: 5,
        teams: 5,
        ..DatasetSpec::default()
    });
    let mut ids: Vec<String> = data
        .read()
        .resources
        .iter()
        .take(4)
        .map(|r| r.user_id.clone())
        .collect();
    // A user id with an apostrophe must survive SQL quoting through a real client.
    data.write().rename_user(&ids[0], "o'brien0001");
    ids[0] = "o'brien0001".into();
    let cfg = AxlConfig {
        max_concurrent: 0,
        ..AxlConfig::default()
    };
    let axl = AxlEmulator::spawn(cfg.clone(), data)
        .await
        .expect("spawn AXL emulator");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../peers/axl_zeep_check.py");
    let url = format!("{}/axl/", axl.base_url());
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(&url)
        .arg(&cfg.username)
        .arg(&cfg.password)
        .args(&ids);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join");
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!(
            "could not run python3 ({e}); install Python 3, then run: pip install ciscoaxl zeep"
        ),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "zeep peer check failed (exit {:?}). If a package is missing, run: pip install ciscoaxl zeep\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    assert!(stdout.contains("OK"), "unexpected output: {stdout}");
    let soap: Vec<_> = axl
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(soap.len(), 2, "one query and one faulting query");
    assert_eq!(
        soap[0].header("soapaction"),
        Some("\"CUCM:DB ver=12.5 executeSQLQuery\"")
    );
    assert!(
        soap[0].body.contains("o''brien0001"),
        "zeep sent: {}",
        soap[0].body
    );
}

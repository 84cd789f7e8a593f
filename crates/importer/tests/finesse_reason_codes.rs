//! The Finesse reason-code client (crates/sources) against the Finesse emulator
//! (crates/emulators), written separately from the same reference.

use std::time::Duration;
use wfm_config::Secret;
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::faults::Fault;
use wfm_emulators::finesse::{Category, FinesseConfig, FinesseEmulator, ReasonCodeStore};
use wfm_emulators::SharedData;
use wfm_sources::finesse::{CategoryFilter, FinesseClient, FinesseSettings, ReasonCategory};
use wfm_telemetry::Metrics;

fn settings(base: String, password: &str) -> FinesseSettings {
    FinesseSettings {
        base_url: base,
        username: "administrator".into(),
        password: Secret::new(password),
        timeout: Duration::from_secs(5),
        retries: 2,
        ca_file: None,
        allow_insecure_http: true,
    }
}

#[tokio::test]
async fn client_reads_what_the_emulator_serves_and_sees_changes() {
    let store = ReasonCodeStore::defaults();
    let emu = FinesseEmulator::spawn(
        FinesseConfig {
            reason_codes: store.clone(),
            ..FinesseConfig::default()
        },
        SharedData::generate(&DatasetSpec::default()),
    )
    .await
    .unwrap();
    let client = FinesseClient::new(settings(emu.base_url(), "ciscopsdt"), Metrics::new())
        .unwrap()
        .with_backoff(Duration::from_millis(10), Duration::from_millis(50));

    let served = store.all();
    let all = client.all_reason_codes().await.unwrap();
    assert_eq!(all.len(), served.len());
    for code in &served {
        let got = all.iter().find(|c| c.id == code.id.to_string()).unwrap();
        assert_eq!(got.code, code.code);
        assert_eq!(got.label, code.label, "labels with & and ' survive");
        assert_eq!(got.system_code, code.system_code);
        assert_eq!(got.for_all, code.for_all);
        let category = match code.category {
            Category::NotReady => ReasonCategory::NotReady,
            Category::Logout => ReasonCategory::Logout,
        };
        assert_eq!(got.category, category);
    }
    let logout = client.reason_codes(CategoryFilter::Logout).await.unwrap();
    assert!(logout.iter().all(|c| c.category == ReasonCategory::Logout));

    let id = store.add_new(Category::NotReady, 77, "Coaching <1:1>", true);
    emu.faults().push(Fault::Status(503));
    let again = client.reason_codes(CategoryFilter::NotReady).await.unwrap();
    let new = again.iter().find(|c| c.id == id.to_string()).unwrap();
    assert_eq!((new.code, new.label.as_str()), (77, "Coaching <1:1>"));

    let bad = FinesseClient::new(settings(emu.base_url(), "wrong"), Metrics::new()).unwrap();
    let err = bad.all_reason_codes().await.unwrap_err();
    assert_eq!(err.error_type(), "unauthorized", "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    emu.shutdown();
}

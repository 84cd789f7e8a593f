//! Several identity sources in one project: UCCX + CUCM and UCCE (and cloud platforms) side by
//! side, each keyed and disabled per source, with listing faults that must not half-apply.

mod common;

use common::{small_spec, Backend, Env};
use wfm_emulators::faults::Fault;
use wfm_emulators::ucce::{PageFaults, UcceConfig, UcceEmulator};
use wfm_emulators::EmulatorHandle;
use wfm_importer::SyncOptions;

async fn with_ucce(env: &mut Env, cfg: UcceConfig, page_size: u32) -> EmulatorHandle {
    let ucce = UcceEmulator::spawn(
        UcceConfig {
            tls: Some(env.tls.clone()),
            ..cfg
        },
        env.data.clone(),
    )
    .await
    .unwrap();
    env.add_config(&format!(
        "[[ucce]]\nsource_id = \"ucce-dc1\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"administrator@example.com\"\npassword = \"ciscopsdt\"\nca_file = \"{}\"\npage_size = {page_size}\nconcurrency = 4\nretries = 2\n",
        ucce.addr().port(),
        env.cert.display()
    ));
    ucce
}

async fn ucce_and_uccx_in_one_project(backend: Backend) {
    let mut env = Env::start(backend, small_spec()).await;
    let _ucce = with_ucce(&mut env, UcceConfig::default(), 10).await;
    let job = env.job();
    assert!(
        job.run(SyncOptions::default()).await.is_err(),
        "two sources need --source"
    );
    let results = job.run_all(SyncOptions::default()).await;
    assert_eq!(results.len(), 2);
    for (source, result) in &results {
        assert!(result.is_ok(), "{source}: {:?}", result.as_ref().err());
    }
    let n = env.data.read().resources.len();
    let ucce_users = env.users_of("ucce-dc1").await;
    let uccx_users = env.users_of("uccx").await;
    assert_eq!(
        ucce_users.len(),
        n,
        "every agent through 10-per-page paging"
    );
    assert_eq!(uccx_users.len(), n);
    // UCCE agents are keyed on the immutable agentId, UCCX users on the CUCM pkid.
    assert!(ucce_users
        .iter()
        .all(|u| u.external_id.parse::<u64>().is_ok()));

    // A user leaving UCCE only is disabled in that source and stays enabled in the other.
    let leaver = env.data.read().resources[5].user_id.clone();
    let renamed_from = env.data.read().resources[6].user_id.clone();
    {
        let mut cc = env.data.write();
        cc.remove_resource(&leaver);
        cc.rename_user(&renamed_from, "renamed.agent");
    }
    let report = env
        .job()
        .run_source("ucce-dc1", SyncOptions::default())
        .await
        .unwrap();
    let s = report.response.run.summary;
    assert_eq!(
        (s.users_created, s.users_disabled, s.users_updated),
        (0, 1, 1),
        "{s:?}"
    );
    let ucce_users = env.users_of("ucce-dc1").await;
    assert!(
        !ucce_users
            .iter()
            .find(|u| u.username == leaver)
            .unwrap()
            .enabled
    );
    assert!(ucce_users.iter().any(|u| u.username == "renamed.agent"));
    let uccx_users = env.users_of("uccx").await;
    assert!(
        uccx_users
            .iter()
            .find(|u| u.username == leaver)
            .unwrap()
            .enabled,
        "disabling is per source"
    );
    env.finish().await;
}

#[tokio::test]
async fn ucce_and_uccx_in_one_project_sqlite() {
    ucce_and_uccx_in_one_project(Backend::Sqlite).await;
}

#[tokio::test]
async fn ucce_and_uccx_in_one_project_postgres() {
    ucce_and_uccx_in_one_project(Backend::Postgres).await;
}

#[tokio::test]
async fn a_ucce_page_failing_midway_applies_nothing() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let faults = PageFaults::default();
    let ucce = with_ucce(
        &mut env,
        UcceConfig {
            page_faults: faults.clone(),
            ..UcceConfig::default()
        },
        10,
    )
    .await;
    for _ in 0..5 {
        faults.at_start_index("/unifiedconfig/config/agent", 30, Fault::Status(500));
    }
    let err = env
        .job()
        .run_source("ucce-dc1", SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("500") || err.error_type() == "http_5xx",
        "{err}"
    );
    assert!(
        env.users_of("ucce-dc1").await.is_empty(),
        "no partial apply"
    );
    assert_eq!(env.run_count().await, 0);
    faults.clear();
    env.job()
        .run_source("ucce-dc1", SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(
        env.users_of("ucce-dc1").await.len(),
        env.data.read().resources.len()
    );
    drop(ucce);
    env.finish().await;
}

#[tokio::test]
async fn ucce_duplicates_across_pages_and_ignored_page_size_still_give_every_agent_once() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let _ucce = with_ucce(
        &mut env,
        UcceConfig {
            duplicate_across_pages: true,
            ignore_page_size: true,
            ..UcceConfig::default()
        },
        100,
    )
    .await;
    let report = env
        .job()
        .run_source("ucce-dc1", SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(
        env.users_of("ucce-dc1").await.len(),
        env.data.read().resources.len()
    );
    assert!(
        !report.response.run.warnings.is_empty(),
        "the odd listing is reported"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_ucce_next_page_loop_is_an_error_not_an_endless_fetch() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let _ucce = with_ucce(
        &mut env,
        UcceConfig {
            next_page_loop: true,
            ..UcceConfig::default()
        },
        10,
    )
    .await;
    let result = env
        .job()
        .run_source("ucce-dc1", SyncOptions::default())
        .await;
    // The client pages by startIndex when totalResults is known; either it ignores the looping
    // links and gets every agent once, or it refuses — it never loops or duplicates.
    match result {
        Ok(_) => assert_eq!(
            env.users_of("ucce-dc1").await.len(),
            env.data.read().resources.len()
        ),
        Err(e) => assert!(e.to_string().to_lowercase().contains("loop"), "{e}"),
    }
    env.finish().await;
}

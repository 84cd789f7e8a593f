//! Cloud identity sources (Webex Contact Center, Zoom, Microsoft Graph) through the importer and
//! the hub, next to UCCX + CUCM over the same people: OAuth, throttling, faulty pages, per-source
//! disabling and cross-source person matching.

mod common;

use common::{small_spec, Backend, Env};
use wfm_emulators::graph::{GraphConfig, GraphEmulator};
use wfm_emulators::oauth::CloudControl;
use wfm_emulators::paging::PageFailure;
use wfm_emulators::webex::{WebexConfig, WebexEmulator};
use wfm_emulators::zoom::{ZoomConfig, ZoomEmulator};
use wfm_emulators::EmulatorHandle;
use wfm_importer::SyncOptions;

fn cloud_toml(table: &str, id: &str, base: &str, cert: &std::path::Path, extra: &str) -> String {
    format!(
        "[[{table}]]\nsource_id = \"{id}\"\nbase_url = \"{base}\"\nca_file = \"{}\"\nretries = 3\n{extra}\n\
         [{table}.oauth]\ntoken_url = \"{base}/oauth/token\"\nclient_id = \"wfm-demo-client\"\nclient_secret = \"wfm-demo-secret\"\n",
        cert.display()
    )
}

async fn with_webex(env: &mut Env, control: CloudControl, version: &str) -> EmulatorHandle {
    let cfg = WebexConfig {
        tls: Some(env.tls.clone()),
        control,
        ..WebexConfig::default()
    };
    let org = cfg.org_id.clone();
    let webex = WebexEmulator::spawn(cfg, env.data.clone()).await.unwrap();
    let extra = format!("org_id = \"{org}\"\napi_version = \"{version}\"\npage_size = 7");
    let toml = cloud_toml("webex", "webex", &webex.base_url(), &env.cert, &extra)
        + "scope = \"cjp:config_read\"\n";
    env.add_config(&toml);
    webex
}

async fn webex_next_to_uccx(backend: Backend) {
    let mut env = Env::start(backend, small_spec()).await;
    let control = CloudControl::default();
    let _webex = with_webex(&mut env, control.clone(), "v2").await;
    let results = env.job().run_all(SyncOptions::default()).await;
    for (source, result) in &results {
        assert!(result.is_ok(), "{source}: {:?}", result.as_ref().err());
    }
    let n = env.data.read().resources.len();
    assert_eq!(env.users_of("webex").await.len(), n);

    // The same people in both sources are linked by e-mail, never merged.
    let identities = env.hub.store.identities(&common::project()).await.unwrap();
    let matching = wfm_sync::match_people(wfm_sync::MatchRule::Email, &identities);
    let with_mail = env
        .data
        .read()
        .end_users
        .iter()
        .filter(|u| u.mailid.is_some())
        .count();
    assert_eq!(matching.people.len(), with_mail, "{:?}", matching.conflicts);
    assert!(matching.people.iter().all(|p| p.users.len() == 2));

    // Leaving Webex only disables the Webex user.
    let leaver = env.data.read().resources[2].user_id.clone();
    env.data.write().remove_resource(&leaver);
    let report = env
        .job()
        .run_source("webex", SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(report.response.run.summary.users_disabled, 1);
    let uccx_leaver = env
        .users_of("uccx")
        .await
        .into_iter()
        .find(|u| u.username == leaver)
        .unwrap();
    assert!(uccx_leaver.enabled, "disabling is per source");
    env.finish().await;
}

#[tokio::test]
async fn webex_next_to_uccx_sqlite() {
    webex_next_to_uccx(Backend::Sqlite).await;
}

#[tokio::test]
async fn webex_next_to_uccx_postgres() {
    webex_next_to_uccx(Backend::Postgres).await;
}

#[tokio::test]
async fn webex_v1_throttling_expired_tokens_and_a_failing_page() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let control = CloudControl::default();
    let _webex = with_webex(&mut env, control.clone(), "v1").await;
    let job = env.job();

    control.set_faults(|k| {
        k.throttle_next = 1;
        k.retry_after_secs = 1;
    });
    let started = std::time::Instant::now();
    job.run_source("webex", SyncOptions::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After honoured"
    );
    let n = env.users_of("webex").await.len();
    assert_eq!(n, env.data.read().resources.len());

    control.expire_tokens();
    let issued = control.tokens_issued();
    job.run_source("webex", SyncOptions::default())
        .await
        .unwrap();
    assert!(
        control.tokens_issued() > issued,
        "a fresh token after expiry"
    );

    let first = env.data.read().resources[0].user_id.clone();
    env.data.write().rename_user(&first, "x.renamed");
    control.set_faults(|k| k.fail_page_once = Some((1, PageFailure::Malformed)));
    let before = env.users_of("webex").await;
    let err = job
        .run_source("webex", SyncOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "malformed", "{err}");
    assert_eq!(env.users_of("webex").await, before, "no partial apply");
    // The fault fired once; the next run applies the rename.
    let ok = job
        .run_source("webex", SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.response.run.summary.users_updated, 1);
    env.finish().await;
}

#[tokio::test]
async fn zoom_and_graph_sync_through_oauth() {
    let mut env = Env::start(Backend::Sqlite, small_spec()).await;
    let zoom = ZoomEmulator::spawn(
        ZoomConfig {
            tls: Some(env.tls.clone()),
            ..ZoomConfig::default()
        },
        env.data.clone(),
    )
    .await
    .unwrap();
    let graph = GraphEmulator::spawn(
        GraphConfig {
            tls: Some(env.tls.clone()),
            ..GraphConfig::default()
        },
        env.data.clone(),
    )
    .await
    .unwrap();
    let cert = env.cert.clone();
    env.add_config(&cloud_toml(
        "zoom",
        "zoom",
        &zoom.base_url(),
        &cert,
        "page_size = 9",
    ));
    env.add_config(&cloud_toml(
        "graph",
        "teams",
        &graph.base_url(),
        &cert,
        "page_size = 11",
    ));
    let lines = wfm_importer::check::check_all(&env.config, &wfm_telemetry::Metrics::new()).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}");
    assert_eq!(lines.len(), 5, "uccx, cucm, zoom, graph, hub");
    let results = env.job().run_all(SyncOptions::default()).await;
    for (source, result) in &results {
        assert!(result.is_ok(), "{source}: {:?}", result.as_ref().err());
    }
    let n = env.data.read().resources.len();
    assert_eq!(env.users_of("zoom").await.len(), n);
    assert_eq!(env.users_of("teams").await.len(), n);
    let teams_user = env.users_of("teams").await.into_iter().next().unwrap();
    assert!(teams_user.username.contains('@'), "userPrincipalName");
    assert!(
        !teams_user.groups.is_empty() || env.data.read().resources.iter().any(|r| r.team.is_none())
    );
    env.finish().await;
}

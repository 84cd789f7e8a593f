//! End to end: emulators → importer → hub, on SQLite and PostgreSQL, including the bad-input cases
//! of the issue (each one leaves the directory unchanged or consistently updated).

mod common;

use common::{assert_matches_ground_truth, small_spec, Backend, Env};
use wfm_emulators::faults::{ApiErrorSpec, Fault};
use wfm_importer::{ImporterError, SyncOptions};

async fn first_sync_matches_ground_truth_and_resync_changes_nothing(backend: Backend) {
    let env = Env::start(backend, small_spec()).await;
    let first = env.sync().await;
    let n = env.data.read().resources.len() as u64;
    assert_eq!(first.response.run.summary.users_created, n);
    assert!(!first.refused);
    assert_matches_ground_truth(&env).await;
    let axl_requests = env.axl.request_count();
    assert!(
        axl_requests >= 2,
        "ids are batched (40 per request): {axl_requests}"
    );

    let second = env.sync().await;
    let s = second.response.run.summary;
    assert!(s.is_noop(), "{s:?}");
    assert_eq!(s.users_unchanged, n);
    assert_matches_ground_truth(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn first_sync_and_resync_sqlite() {
    first_sync_matches_ground_truth_and_resync_changes_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn first_sync_and_resync_postgres() {
    first_sync_matches_ground_truth_and_resync_changes_nothing(Backend::Postgres).await;
}

async fn renames_moves_removals_and_returns(backend: Backend) {
    let env = Env::start(backend, small_spec()).await;
    env.sync().await;
    let (renamed_from, removed, moved) = {
        let cc = env.data.read();
        let agents: Vec<String> = cc
            .resources
            .iter()
            .filter(|r| r.kind == 1 && r.team.is_some())
            .map(|r| r.user_id.clone())
            .collect();
        (agents[0].clone(), agents[1].clone(), agents[2].clone())
    };
    let removed_resource = {
        let mut cc = env.data.write();
        assert!(cc.rename_user(&renamed_from, "renamed.user"));
        let gone = cc.remove_resource(&removed).unwrap();
        let other = cc.teams.last().unwrap().team_id;
        assert!(cc.move_to_team(&moved, Some(other)));
        gone
    };
    let total_before = env.users().await.len();
    let report = env.sync().await;
    let s = report.response.run.summary;
    assert_eq!(s.users_created, 0, "a rename is not a new user");
    assert_eq!(s.users_updated, 2);
    assert_eq!(s.users_disabled, 1);
    let users = env.users().await;
    assert_eq!(users.len(), total_before, "nobody created, nobody deleted");
    assert!(users
        .iter()
        .any(|u| u.username == "renamed.user" && u.enabled));
    assert!(!users.iter().any(|u| u.username == renamed_from));
    let gone = users.iter().find(|u| u.username == removed).unwrap();
    assert!(!gone.enabled, "vanished users are disabled, not deleted");
    assert_matches_ground_truth(&env).await;

    env.data.write().resources.push(removed_resource);
    let back = env.sync().await;
    assert_eq!(back.response.run.summary.users_reenabled, 1);
    assert_matches_ground_truth(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn renames_moves_removals_and_returns_sqlite() {
    renames_moves_removals_and_returns(Backend::Sqlite).await;
}

#[tokio::test]
async fn renames_moves_removals_and_returns_postgres() {
    renames_moves_removals_and_returns(Backend::Postgres).await;
}

/// Runs a sync that must fail, and checks that nothing changed at the hub.
async fn assert_fails_and_changes_nothing(env: &Env) -> ImporterError {
    let users_before = env.users().await;
    let err = env.job().run(SyncOptions::default()).await.unwrap_err();
    assert_eq!(
        env.users().await,
        users_before,
        "directory changed by a failed run"
    );
    err
}

#[tokio::test]
async fn malformed_truncated_html_and_api_errors_from_uccx_change_nothing() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.sync().await;
    let first_user = env.data.read().resources[0].user_id.clone();
    env.data.write().rename_user(&first_user, "x.changed");

    env.uccx.faults().push(Fault::MalformedXml);
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "malformed", "{err}");
    assert!(
        err.to_string().contains("resource"),
        "names the endpoint: {err}"
    );

    env.uccx.faults().push(Fault::TruncatedBody);
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "malformed", "{err}");

    env.uccx.faults().push(Fault::Unauthorized);
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "unauthorized", "{err}");
    assert!(
        !err.to_string().contains("ciscopsdt"),
        "no password in errors"
    );
    assert!(
        err.to_string().contains("uccx.password"),
        "names the fix: {err}"
    );

    env.uccx.faults().push(Fault::ApiErrors(
        400,
        vec![ApiErrorSpec {
            error_type: "InvalidInput".into(),
            error_message: "bad query".into(),
            error_data: "detail".into(),
        }],
    ));
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "api_error", "{err}");
    assert!(err.to_string().contains("bad query"), "{err}");

    // With the faults gone, the pending rename applies.
    let ok = env.sync().await;
    assert_eq!(ok.response.run.summary.users_updated, 1);
    env.finish().await;
}

#[tokio::test]
async fn transient_faults_are_retried_and_axl_paging_and_throttle_recover() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.uccx.faults().push(Fault::Status(503));
    env.axl.faults().push(Fault::AxlThrottle);
    env.axl.faults().push(Fault::AxlThrottle);
    let report = env.sync().await;
    assert!(!report.refused);
    assert_matches_ground_truth(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn a_soap_fault_from_axl_stops_the_run_cleanly() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.axl.faults().push(Fault::Unauthorized);
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "unauthorized", "{err}");
    assert!(err.to_string().contains("AXL"), "{err}");
    env.axl.faults().push(Fault::MalformedXml);
    let err = assert_fails_and_changes_nothing(&env).await;
    assert_eq!(err.error_type(), "malformed", "{err}");
    assert_eq!(env.run_count().await, 0);
    env.finish().await;
}

#[tokio::test]
async fn an_empty_resource_list_is_refused_by_the_safety_limit() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.sync().await;
    let before = env.users().await;
    env.uccx
        .faults()
        .push_for_path("/adminapi/resource", Fault::EmptyList);
    let report = env.job().run(SyncOptions::default()).await.unwrap();
    assert!(report.refused);
    assert!(report
        .response
        .run
        .reason
        .as_deref()
        .unwrap()
        .contains("no users"));
    assert_eq!(env.users().await, before);
    env.finish().await;
}

#[tokio::test]
async fn mass_disable_needs_the_override_and_dry_run_changes_nothing() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.sync().await;
    {
        let mut cc = env.data.write();
        let n = cc.resources.len() / 2;
        cc.resources.truncate(n);
    }
    let before = env.users().await;
    let refused = env.job().run(SyncOptions::default()).await.unwrap();
    assert!(refused.refused);
    assert_eq!(env.users().await, before);

    let dry = env
        .job()
        .run(SyncOptions {
            dry_run: true,
            allow_mass_disable: true,
        })
        .await
        .unwrap();
    assert!(!dry.refused);
    assert!(dry.response.run.summary.users_disabled > 0);
    assert_eq!(env.users().await, before, "dry run changed the directory");

    let applied = env
        .job()
        .run(SyncOptions {
            dry_run: false,
            allow_mass_disable: true,
        })
        .await
        .unwrap();
    assert_eq!(
        applied.response.run.summary.users_disabled, dry.response.run.summary.users_disabled,
        "the dry run showed exactly what was applied"
    );
    assert_matches_ground_truth(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn duplicate_user_ids_are_refused_with_the_id_named() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    {
        let mut cc = env.data.write();
        let dup = cc.resources[3].clone();
        cc.resources.push(dup);
    }
    let dup_id = env.data.read().resources[3].user_id.clone();
    let err = assert_fails_and_changes_nothing(&env).await;
    assert!(err.to_string().contains(&dup_id), "{err}");
    env.finish().await;
}

#[tokio::test]
async fn missing_email_unlisted_team_and_no_team_are_handled_with_warnings() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    let (no_mail, hidden_team) = {
        let mut cc = env.data.write();
        let user = cc.resources[0].user_id.clone();
        cc.remove_end_user(&user);
        let team = cc.teams.remove(0);
        (user, team.name)
    };
    let report = env.sync().await;
    let warnings = report.response.run.warnings.join("\n");
    assert!(warnings.contains(&no_mail), "{warnings}");
    assert!(warnings.contains(&hidden_team), "{warnings}");
    let users = env.users().await;
    let u = users.iter().find(|u| u.username == no_mail).unwrap();
    assert_eq!(u.email, None);
    assert_eq!(
        u.external_id, no_mail,
        "keyed on the UCCX id without a CUCM record"
    );
    assert_matches_ground_truth(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn imported_groups_limit_the_sync() {
    let spec = small_spec();
    let env0 = Env::start(Backend::Sqlite, spec.clone()).await;
    let team = env0.data.read().teams[0].name.clone();
    env0.finish().await;
    let env = Env::start_with(
        Backend::Sqlite,
        spec,
        &format!("imported_groups = [\"{team}\"]"),
    )
    .await;
    env.sync().await;
    let users = env.users().await;
    let expected = env
        .data
        .read()
        .resources
        .iter()
        .filter(|r| r.team.as_ref().map(|t| &t.1) == Some(&team))
        .count();
    assert_eq!(users.len(), expected);
    assert!(users
        .iter()
        .all(|u| u.groups.iter().all(|g| g.name == team)));
    env.finish().await;
}

#[tokio::test]
async fn an_unreachable_uccx_is_a_clear_retriable_error() {
    let env = Env::start(Backend::Sqlite, small_spec()).await;
    env.uccx.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let err = env.job().run(SyncOptions::default()).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    assert_eq!(err.error_type(), "connect", "{err}");
    env.finish().await;
}

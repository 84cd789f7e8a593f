//! Timing of a full-size directory (24,000 users, 1,000 teams, ~250,000 child rows) on both
//! backends. Ignored by default; run by hand:
//! `cargo test --release -p wfm-store --test scale -- --ignored --nocapture --test-threads 1`.
//! Besides the store time of each run it prints the store's own phase split (debug line
//! `directory sync stored`: users/users_loaded read in full by the content-hash fast path,
//! load_ms, plan_ms, write_ms, commit_ms) and the time of every bulk insert per table (trace
//! line `inserted`).

mod common;

use common::*;
use std::time::Instant;
use wfm_model::{DirectorySnapshot, DirectoryUser};
use wfm_protocol::SyncResponse;
use wfm_store::Store;

fn big_snapshot(users: usize, groups: usize) -> DirectorySnapshot {
    let teams: Vec<_> = (0..groups)
        .map(|g| group(&format!("t{g}"), &format!("Team {g:04}")))
        .collect();
    let people: Vec<DirectoryUser> = (0..users)
        .map(|i| {
            let g1 = format!("t{}", i % groups);
            let mut u = user(
                &format!("pk-{i:06}"),
                &format!("agent{i:06}"),
                &[&g1],
                &["agent"],
            );
            u.attributes.insert("alias".into(), vec![format!("A{i}")]);
            u.attributes
                .insert("resourceType".into(), vec!["agent".into()]);
            u.attributes
                .insert("autoAvailable".into(), vec!["true".into()]);
            u.attributes.insert(
                "secondaryEmail".into(),
                vec![format!("a{i}@alt.example.com")],
            );
            u.skills.insert("Billing".into(), (i % 10) as u8 + 1);
            if i % 50 == 0 {
                u.roles.insert("supervisor".into());
                u.groups.insert(ext(&format!("t{}", (i / 50) % groups)));
            }
            u
        })
        .collect();
    snapshot("uccx", people, teams)
}

async fn timed(store: &Store, n: i64, snap: &DirectorySnapshot, label: &str) -> SyncResponse {
    let p = project("scale");
    let req = request(snap.clone());
    let start = Instant::now();
    let outcome = store
        .sync_directory(&p, &req, &format!("k{n}"), "h", at(n))
        .await
        .unwrap();
    let took = start.elapsed();
    let resp: SyncResponse = serde_json::from_slice(outcome.body()).unwrap();
    println!(
        "{:>8} {label:<28} {:>7.3} s  status {}  changes {}",
        store.backend(),
        took.as_secs_f64(),
        outcome.status(),
        resp.run.change_count
    );
    resp
}

async fn scenario(store: Store) {
    let p = setup(&store, "scale").await;
    let snap = big_snapshot(24_000, 1_000);
    let rows: usize = snap
        .users
        .iter()
        .map(|u| {
            u.attributes.values().map(Vec::len).sum::<usize>()
                + u.skills.len()
                + u.groups.len()
                + u.roles.len()
        })
        .sum();
    println!("{:>8} child rows: {rows}", store.backend());
    let first = timed(&store, 1, &snap, "first sync (all creates)").await;
    assert_eq!(first.run.summary.users_created, 24_000);
    let again = timed(&store, 2, &snap, "no-change re-sync").await;
    assert_eq!(again.run.summary.users_unchanged, 24_000);
    let mut changed = snap.clone();
    for u in changed.users.iter_mut().step_by(10) {
        u.skills.insert("Chat".into(), 2);
    }
    let upd = timed(&store, 3, &changed, "10 % of users updated").await;
    assert_eq!(upd.run.summary.users_updated, 2_400);
    let start = Instant::now();
    let page = store.list_users(&p, &Default::default()).await.unwrap();
    println!(
        "{:>8} list_users first page     {:>7.3} s",
        store.backend(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(page.total, 24_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing run: 24k users"]
async fn scale_sqlite() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("wfm_store=trace")
        .try_init();
    let t = TestStore::sqlite().await;
    scenario(t.store.clone()).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing run: 24k users"]
async fn scale_postgres() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("wfm_store=trace")
        .try_init();
    let t = TestStore::postgres().await;
    scenario(t.store.clone()).await;
    t.finish().await;
}

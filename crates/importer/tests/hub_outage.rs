//! Issue 6: the hub away while the sources keep producing, with the real `wfm-importer run`
//! (users from UCCX + CUCM AXL, intervals from an SQLite reporting database, live states from
//! the CTI Server emulator) and a fault proxy between importer and hub:
//!
//! - the link cut for a long stretch (longer than every poll interval and retry back-off), then
//!   back: everything is delivered once and in order;
//! - periods of 503 and 429 with `Retry-After` (plain-HTTP hub behind the HTTP proxy);
//! - a 1 MiB outbox budget with the hub away: the importer says the outbox is full, keeps what
//!   is buffered, and catches up when the hub is back.
//!
//! The importer stays connected to the CTI emulator the whole time, so every event the emulator
//! sends must reach the hub (nothing is lost to a crash here).

mod common;

use std::time::{Duration, Instant};

use common::crash::{seed, Importer, Link, Site, SiteOptions};
use common::Backend;
use rand::Rng;
use wfm_faultproxy::{FaultMode, HttpFault};

/// A site with the importer started and connected to the CTI emulator.
async fn site(
    backend: Backend,
    link: Link,
    max_mib: Option<u64>,
    agents: usize,
) -> (Site, Importer) {
    let mut site = Site::start(
        SiteOptions {
            backend,
            link,
            max_mib,
            cti_agents: agents,
        },
        seed("hub_outage"),
    )
    .await;
    let opens = site.cti.opens();
    let importer = site.start_importer();
    site.wait_connected(opens).await;
    (site, importer)
}

/// Waits up to `within` for the hub to hold every (agent, reason) the emulator sent; answers them.
async fn converge(site: &Site, importer: &Importer, within: Duration) -> Vec<(String, u16)> {
    let sent: Vec<(String, u16)> = site.sent().into_iter().map(|(a, _, r)| (a, r)).collect();
    if let Err(e) = site.converged(&sent, within).await {
        panic!("{e}\n{}", importer.log_text());
    }
    sent
}

/// Stops the importer and checks the hub holds every event of `sent` once.
async fn stop_and_check(site: Site, importer: Importer, sent: &[(String, u16)]) {
    importer.stop().await;
    let summary = site.check(sent).await.unwrap();
    assert_eq!(summary.held, summary.sent, "every event once");
    site.finish().await;
}

async fn link_cut_for_a_long_stretch(backend: Backend) {
    let (mut site, mut importer) = site(backend, Link::Tcp, None, 6).await;
    let first = site.push_round();
    if let Err(e) = site.converged(&first, Duration::from_secs(60)).await {
        panic!("{e}\n{}", importer.log_text());
    }
    let proxy = site.proxy.as_ref().unwrap();
    proxy.set(FaultMode::Cut);
    // 15 s: longer than the 10 s polls of the intervals and the 5 s first back-off of a failed
    // user sync; the sources keep producing meanwhile.
    let cut_until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < cut_until {
        site.push_round();
        site.land_calls(2).await;
        if site.rng.gen_bool(0.3) {
            site.change_users();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    importer.assert_running();
    let failed = importer.log_text();
    assert!(
        failed.contains("failed") || failed.contains("retry"),
        "the importer said nothing about the hub being away:\n{failed}"
    );
    site.proxy.as_ref().unwrap().set(FaultMode::Pass);
    let sent = converge(&site, &importer, Duration::from_secs(120)).await;
    stop_and_check(site, importer, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_link_cut_for_a_long_stretch_then_everything_once_and_in_order_sqlite() {
    link_cut_for_a_long_stretch(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_link_cut_for_a_long_stretch_then_everything_once_and_in_order_postgres() {
    link_cut_for_a_long_stretch(Backend::Postgres).await;
}

async fn retry_after_periods(backend: Backend) {
    let (mut site, mut importer) = site(backend, Link::Http, None, 6).await;
    for period in 0..4 {
        let code = if period % 2 == 0 { 503 } else { 429 };
        site.proxy
            .as_ref()
            .unwrap()
            .inject(HttpFault::Status {
                code,
                retry_after: Some(1),
                times: 8,
            })
            .unwrap();
        for _ in 0..4 {
            site.push_round();
            site.land_calls(2).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if period == 1 {
            site.change_users();
        }
    }
    let sent = converge(&site, &importer, Duration::from_secs(120)).await;
    let faults = site.proxy.as_ref().unwrap().stats().faults_applied();
    assert!(faults > 0, "the proxy answered no request with 503/429");
    let log = importer.log_text();
    assert!(
        log.contains("wait_ms=1000"),
        "no retry waited the 1 s Retry-After:\n{log}"
    );
    importer.assert_running();
    stop_and_check(site, importer, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periods_of_503_and_429_with_retry_after_lose_and_duplicate_nothing_sqlite() {
    retry_after_periods(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periods_of_503_and_429_with_retry_after_lose_and_duplicate_nothing_postgres() {
    retry_after_periods(Backend::Postgres).await;
}

async fn full_disk_budget(backend: Backend) {
    let (mut site, mut importer) = site(backend, Link::Tcp, Some(1), 50).await;
    site.proxy.as_ref().unwrap().set(FaultMode::Cut);
    // Fill the 1 MiB budget: rounds of 50 agents until the importer says the outbox is full.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut full = false;
    while !full && Instant::now() < deadline {
        for _ in 0..20 {
            site.push_round();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        full = importer.log_text().contains("outbox full");
    }
    assert!(
        full,
        "the importer never said the outbox was full ({} events sent):\n{}",
        site.cti.sent_count(),
        importer.log_text()
    );
    // The feed is paused; a few more rounds queue behind it.
    for _ in 0..5 {
        site.push_round();
    }
    site.land_calls(3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    importer.assert_running();
    site.proxy.as_ref().unwrap().set(FaultMode::Pass);
    let sent = converge(&site, &importer, Duration::from_secs(180)).await;
    stop_and_check(site, importer, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_one_mib_outbox_pauses_keeps_its_batches_and_catches_up_sqlite() {
    full_disk_budget(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_one_mib_outbox_pauses_keeps_its_batches_and_catches_up_postgres() {
    full_disk_budget(Backend::Postgres).await;
}

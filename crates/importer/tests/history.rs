//! Queue statistics end to end: a generated reporting database on real PostgreSQL, read through
//! unixODBC + psqlODBC by the importer, aggregated, sent to a real hub; the hub's figures are
//! compared with the generator's own rows (the ground truth), including rows that land late.

#![cfg(feature = "odbc")]

mod common;

use std::collections::BTreeMap;

use common::{project, small_spec, Backend, Env};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_hrdb::{generate, inject_fault_postgres, write_postgres, Centre, Fault, HrdbSpec};
use wfm_importer::history::{HistoryImportError, HistoryJob};
use wfm_importer::hub_client::HubClient;
use wfm_protocol::intervals::{IntervalFigures, TimeRange};
use wfm_store::testing::TestDatabase;
use wfm_telemetry::Metrics;

const FROM: OffsetDateTime = datetime!(2026-01-05 00:00 UTC);

fn spec() -> HrdbSpec {
    HrdbSpec {
        agents: 24,
        csqs: 4,
        days: 2,
        from: FROM,
        ..HrdbSpec::new()
    }
}

/// `Driver={PostgreSQL Unicode};…` for the test database behind `url`.
fn odbc_string(url: &str) -> String {
    let rest = url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let (auth, hostdb) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = auth.split(':').next().unwrap_or("postgres");
    let (hostport, db) = hostdb.split_once('/').unwrap();
    let db = db.split('?').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    format!(
        "Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={db};Uid={user};Pwd=;"
    )
}

struct Site {
    env: Env,
    hr: TestDatabase,
    pool: sqlx::PgPool,
    centre: Centre,
}

impl Site {
    async fn start(dialect: &str, extra: &str) -> Site {
        Self::start_with(spec(), dialect, extra).await
    }

    async fn start_with(spec: HrdbSpec, dialect: &str, extra: &str) -> Site {
        let hr = TestDatabase::postgres().await;
        let pool = wfm_hrdb::connect_postgres(hr.url()).await.unwrap();
        let centre = generate(&spec).unwrap();
        let mut env = Env::start(Backend::Sqlite, small_spec()).await;
        let data_dir = env.dir.path().join("data");
        env.add_config(&format!(
            "[importer]\ndata_dir = \"{}\"\nmetrics_bind = \"127.0.0.1:0\"\n\n[[history]]\nsource_id = \"hr\"\ndialect = \"{dialect}\"\n\
             connection_string = \"{}\"\ntime_zone = \"America/New_York\"\nlookback = \"4h\"\n{extra}\n",
            data_dir.display(),
            odbc_string(hr.url()),
        ));
        Site {
            env,
            hr,
            pool,
            centre,
        }
    }

    fn job(&self) -> HistoryJob {
        let cfg = &self.env.config;
        HistoryJob::new(
            cfg.history[0].clone(),
            HubClient::new(&cfg.hub).unwrap(),
            &cfg.importer.data_dir,
            Metrics::new(),
        )
    }

    async fn write_until(&self, until: OffsetDateTime) {
        write_postgres(&self.centre, &self.pool, Some(until))
            .await
            .unwrap();
    }

    /// The hub's intervals of source `hr`: (queue, start) → figures, and their versions.
    async fn hub(
        &self,
    ) -> (
        BTreeMap<(String, i64), IntervalFigures>,
        BTreeMap<(String, i64), u64>,
    ) {
        let rows = self
            .env
            .hub
            .store
            .query_intervals(
                &project(),
                Some("hr"),
                None,
                TimeRange {
                    from: FROM - Duration::days(1),
                    to: FROM + Duration::days(4),
                },
            )
            .await
            .unwrap();
        let mut figures = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for r in rows {
            let key = (r.queue.clone(), r.start.unix_timestamp());
            figures.insert(key.clone(), r.figures);
            versions.insert(key, r.version);
        }
        (figures, versions)
    }

    async fn finish(self) {
        self.pool.close().await;
        self.env.finish().await;
        self.hr.finish().await;
    }
}

/// The reference definitions (historical-data.md §2.1) applied to the generator's own rows.
fn ground_truth(
    c: &Centre,
    until: OffsetDateTime,
) -> BTreeMap<(String, i64), (u64, u64, u64, u64)> {
    let until_ms = (until.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut talk: BTreeMap<(i64, i16, i16), i64> = BTreeMap::new();
    for a in &c.agent_rows {
        *talk
            .entry((a.sessionid, a.sessionseqnum, a.qindex))
            .or_default() += i64::from(a.talktime);
    }
    let mut out: BTreeMap<(String, i64), (u64, u64, u64, u64)> = BTreeMap::new();
    for q in &c.queue_rows {
        if q.targettype != 0 || q.write.0 > until_ms {
            continue;
        }
        let csq = c.logical_csq(q.targetid).unwrap();
        let bucket = q.start.0.div_euclid(900_000) * 900;
        let e = out.entry((csq.to_string(), bucket)).or_default();
        e.0 += 1;
        let t = talk
            .get(&(q.sessionid, q.sessionseqnum, q.qindex))
            .copied()
            .unwrap_or(0);
        if q.disposition == 2 && t > 0 {
            e.1 += 1;
            e.3 += t as u64 * 1000;
        }
        if q.disposition == 1 {
            e.2 += 1;
        }
    }
    out
}

fn compare(
    hub: &BTreeMap<(String, i64), IntervalFigures>,
    truth: &BTreeMap<(String, i64), (u64, u64, u64, u64)>,
) {
    let got: BTreeMap<(String, i64), (u64, u64, u64, u64)> = hub
        .iter()
        .map(|(k, f)| (k.clone(), (f.presented, f.handled, f.abandoned, f.talk_ms)))
        .collect();
    let missing: Vec<_> = truth
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let wrong: Vec<_> = truth
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .take(5)
        .map(|(k, v)| (k.clone(), *v, got[k]))
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !truth.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && wrong.is_empty() && extra.is_empty(),
        "hub differs from the ground truth ({} vs {} intervals): missing {missing:?}, wrong (truth, hub) {wrong:?}, extra {extra:?}",
        got.len(),
        truth.len()
    );
}

#[tokio::test]
async fn uccx_intervals_over_odbc_equal_the_ground_truth_and_late_rows_correct_them() {
    let site = Site::start("uccx", "").await;
    let job = site.job();
    // 17:00 UTC is noon at the generated site (UTC-5): calls are in progress, rows are pending.
    let t1 = FROM + Duration::hours(41);
    site.write_until(t1).await;

    // The first incremental run starts at now minus the look-back; a backfill covers the rest.
    let reports = job.incremental(t1, &|_| {}).await.unwrap();
    assert!(!reports.is_empty());
    let state = job.state().load().unwrap();
    assert_eq!(state.complete_until, Some(t1 - Duration::minutes(15)));
    let reports = job.backfill(FROM, t1, false, &|_| {}).await.unwrap();
    assert_eq!(reports.len(), 2, "one window per day");
    assert!(reports[0].hub.new_queues >= 4 || reports[0].hub.inserted > 0);
    let (hub, _) = site.hub().await;
    compare(&hub, &ground_truth(&site.centre, t1));

    // The rest of the rows land (late rows of intervals already sent among them); the next run
    // re-reads its look-back window and the hub's figures are corrected, with new versions.
    let t2 = FROM + Duration::days(2);
    site.write_until(t2 + Duration::hours(6)).await;
    let reports = job
        .incremental(t2 + Duration::hours(6), &|_| {})
        .await
        .unwrap();
    let updated: u64 = reports.iter().map(|r| r.hub.updated).sum();
    assert!(updated > 0, "late rows changed no interval: {reports:?}");
    let (hub, versions) = site.hub().await;
    compare(&hub, &ground_truth(&site.centre, t2 + Duration::hours(6)));
    assert!(versions.values().any(|v| *v >= 1));

    // Queues were discovered with their names; the CSQ whose configuration changed (a new
    // recordid) is still one queue.
    let queues = site.env.hub.store.queues(&project()).await.unwrap();
    let ours: Vec<_> = queues.iter().filter(|q| q.source == "hr").collect();
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert!(ours
        .iter()
        .all(|q| !q.name.is_empty() && q.interval_minutes == 15));

    // Re-running a finished backfill changes nothing.
    let again = job.backfill(FROM, t1, true, &|_| {}).await.unwrap();
    assert!(
        again
            .iter()
            .all(|r| r.hub.updated == 0 && r.hub.inserted == 0),
        "{again:?}"
    );
    site.finish().await;
}

#[tokio::test]
async fn a_bad_row_stops_the_window_names_the_row_and_leaves_hub_and_cursor_alone() {
    let site = Site::start("uccx", "").await;
    let job = site.job();
    let t1 = FROM + Duration::hours(30);
    site.write_until(t1).await;
    job.incremental(t1, &|_| {}).await.unwrap();
    let before = site.hub().await.0;
    let cursor = job.state().load().unwrap().complete_until;

    for (fault, expected) in [
        (Fault::NullValue, "is missing"),
        (Fault::EndBeforeStart, "before queue_entry"),
        (Fault::NegativeDuration, "negative"),
    ] {
        let injected = inject_fault_postgres(&site.pool, fault, t1 - Duration::hours(1))
            .await
            .unwrap();
        let err = job
            .incremental(t1 + Duration::hours(1), &|_| {})
            .await
            .unwrap_err();
        let text = err.to_string();
        let session = injected.sessionid.unwrap().to_string();
        assert!(matches!(err, HistoryImportError::Data { .. }), "{text}");
        assert!(
            text.contains(&session) && text.contains(expected),
            "{fault:?}: {text}"
        );
        assert_eq!(
            site.hub().await.0,
            before,
            "{fault:?}: something reached the hub"
        );
        assert_eq!(
            job.state().load().unwrap().complete_until,
            cursor,
            "{fault:?}: cursor moved"
        );
        if fault != Fault::NegativeDuration {
            for table in [
                "contactcalldetail",
                "contactqueuedetail",
                "agentconnectiondetail",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE sessionid = {session}"))
                    .execute(&site.pool)
                    .await
                    .unwrap();
            }
        }
    }

    // An interrupted backfill resumes after the last window the hub accepted.
    let bad_day = FROM + Duration::days(1);
    let err = job
        .backfill(FROM, FROM + Duration::days(2), false, &|_| {})
        .await;
    assert!(err.is_err());
    let progress = job.state().load().unwrap().backfill.unwrap();
    assert_eq!(progress.done_until, bad_day);
    sqlx::query("DELETE FROM agentconnectiondetail WHERE talktime < 0")
        .execute(&site.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM contactqueuedetail WHERE queuetime < 0")
        .execute(&site.pool)
        .await
        .unwrap();
    let reports = job
        .backfill(FROM, FROM + Duration::days(2), false, &|_| {})
        .await
        .unwrap();
    assert_eq!(reports.len(), 1, "resumed at the failed window only");
    assert_eq!(reports[0].window.from, bad_day);
    site.finish().await;
}

#[tokio::test]
async fn duplicated_rows_count_once_and_an_unknown_queue_target_is_named() {
    let site = Site::start("uccx", "").await;
    let job = site.job();
    let t1 = FROM + Duration::hours(20);
    site.write_until(t1).await;
    inject_fault_postgres(&site.pool, Fault::DuplicateRow, FROM + Duration::hours(14))
        .await
        .unwrap();
    let reports = job.backfill(FROM, t1, false, &|_| {}).await.unwrap();
    assert!(reports.iter().any(|r| !r.duplicates.is_empty()));
    compare(&site.hub().await.0, &ground_truth(&site.centre, t1));

    inject_fault_postgres(
        &site.pool,
        Fault::UnknownQueueTarget,
        FROM + Duration::hours(15),
    )
    .await
    .unwrap();
    let err = job
        .backfill(FROM, t1, true, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("999999"), "{err}");
    site.finish().await;
}

#[tokio::test]
async fn repair_fetches_only_what_the_hub_misses() {
    let site = Site::start("uccx", "").await;
    let job = site.job();
    let end = FROM + Duration::days(2);
    site.write_until(end + Duration::hours(6)).await;
    job.backfill(FROM, FROM + Duration::hours(12), false, &|_| {})
        .await
        .unwrap();
    job.backfill(FROM + Duration::hours(30), end, false, &|_| {})
        .await
        .unwrap();
    let (missing, reports) = job.repair(FROM, end, &|_| {}).await.unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].from, FROM + Duration::hours(12));
    assert_eq!(missing[0].to, FROM + Duration::hours(30));
    let read: Vec<_> = reports
        .iter()
        .map(|r| (r.window.from, r.window.to))
        .collect();
    assert!(
        read.iter()
            .all(|(f, t)| *f >= missing[0].from && *t <= missing[0].to),
        "{read:?}"
    );
    compare(
        &site.hub().await.0,
        &ground_truth(&site.centre, end + Duration::hours(6)),
    );
    let (missing, reports) = job.repair(FROM, end, &|_| {}).await.unwrap();
    assert!(missing.is_empty() && reports.is_empty());
    site.finish().await;
}

#[tokio::test]
async fn ucce_call_type_rows_arrive_as_they_are() {
    let site = Site::start("ucce", "").await;
    let job = site.job();
    let end = FROM + Duration::days(2);
    site.write_until(end + Duration::hours(1)).await;
    job.backfill(FROM, end, false, &|_| {}).await.unwrap();
    let (hub, _) = site.hub().await;
    let mut truth = BTreeMap::new();
    for r in &site.centre.call_type_intervals {
        let empty = r.callsoffered == 0
            && r.callshandled == 0
            && r.totalcallsaband == 0
            && r.handletime == 0;
        // Calls handled after the generated range end in an interval the backfill did not ask for.
        if empty || r.start.0 / 1000 >= end.unix_timestamp() {
            continue;
        }
        truth.insert(
            (r.calltypeid.to_string(), r.start.0 / 1000),
            (
                r.callsoffered as u64,
                r.callshandled as u64,
                r.totalcallsaband as u64,
                r.talktime as u64 * 1000,
            ),
        );
    }
    let got: BTreeMap<_, _> = hub
        .iter()
        .filter(|(_, f)| f.presented + f.handled + f.abandoned + f.talk_ms + f.work_ms > 0)
        .map(|(k, f)| (k.clone(), (f.presented, f.handled, f.abandoned, f.talk_ms)))
        .collect();
    let diff: Vec<_> = truth
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .take(5)
        .map(|(k, v)| (k.clone(), *v, got.get(k).copied()))
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !truth.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        diff.is_empty() && extra.is_empty(),
        "{} vs {} rows; (key, truth, hub): {diff:?}; extra {extra:?}",
        got.len(),
        truth.len()
    );
    site.finish().await;
}

#[tokio::test]
async fn the_wrong_dialect_and_a_wrong_database_are_clear_errors() {
    let site = Site::start("ucce", "").await;
    // A UCCE source pointed at a database without the HDS tables (e.g. a UCCX db_cra).
    let empty = TestDatabase::postgres().await;
    let mut cfg = site.env.config.history[0].clone();
    cfg.connection_string = Some(odbc_string(empty.url()));
    let job = HistoryJob::new(
        cfg.clone(),
        HubClient::new(&site.env.config.hub).unwrap(),
        &site.env.config.importer.data_dir,
        Metrics::new(),
    );
    let err = job.check().await.unwrap_err().to_string();
    assert!(
        err.contains("call_type_interval") || err.contains("call_type"),
        "{err}"
    );

    cfg.connection_string =
        Some(odbc_string(empty.url()).replace("Database=", "Database=no_such_db_"));
    let job = HistoryJob::new(
        cfg,
        HubClient::new(&site.env.config.hub).unwrap(),
        &site.env.config.importer.data_dir,
        Metrics::new(),
    );
    let err = job.check().await.unwrap_err().to_string();
    assert!(err.contains("no_such_db_"), "{err}");
    empty.finish().await;
    site.finish().await;
}

async fn importer(site: &Site, args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
        .arg("--config")
        .arg(&site.env.importer_toml)
        .args(args)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn the_binary_checks_backfills_repairs_and_imports_csv() {
    let site = Site::start("uccx", "").await;
    let end = FROM + Duration::days(2);
    site.write_until(end + Duration::hours(6)).await;

    let (code, text) = importer(&site, &["check"]).await;
    assert!(text.contains("OK   history 'hr'"), "{text}");
    assert!(text.contains("contactqueuedetail"), "{text}");
    assert_eq!(code, Some(0), "{text}");

    let (code, text) = importer(
        &site,
        &[
            "backfill",
            "intervals",
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            "2026-01-07T00:00:00Z",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("hr: 2 window(s)"), "{text}");
    compare(
        &site.hub().await.0,
        &ground_truth(&site.centre, end + Duration::hours(6)),
    );

    // Dates are local midnights of the source's time zone (America/New_York: 05:00 UTC).
    let (code, text) = importer(
        &site,
        &[
            "repair",
            "intervals",
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            "2026-01-07",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("missing 2026-01-07T00:00:00Z .. 2026-01-07T05:00:00Z"),
        "{text}"
    );

    let (code, text) = importer(
        &site,
        &["backfill", "intervals", "--from", "soon", "--to", "later"],
    )
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("'soon' is neither a date"), "{text}");

    // A CSV export replaces the range it covers.
    let csv = site.env.dir.path().join("legs.csv");
    std::fs::write(
        &csv,
        "session_id,session_seq,csq_id,queue_entry,leg_end,queue_disposition,contact_disposition,queue_time,talk_time,hold_time,work_time\n\
         1,0,77,2026-01-08 10:01:00.000,2026-01-08 10:09:00.000,2,2,12,300,0,30\n\
         2,0,77,2026-01-08 10:20:00.000,2026-01-08 10:21:00.000,1,1,60,,,\n",
    )
    .unwrap();
    let (code, text) = importer(
        &site,
        &[
            "import",
            "intervals",
            "--csv",
            csv.to_str().unwrap(),
            "--source",
            "hr",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    let (hub, _) = site.hub().await;
    let jan8 = datetime!(2026-01-08 10:00 UTC).unix_timestamp();
    let f = &hub[&("77".to_string(), jan8)];
    assert_eq!(
        (f.presented, f.handled, f.talk_ms, f.work_ms),
        (1, 1, 300_000, 30_000)
    );
    let f = &hub[&("77".to_string(), jan8 + 900)];
    assert_eq!((f.presented, f.abandoned), (1, 1));

    let (code, text) = importer(&site, &["sync", "intervals", "--source", "nope"]).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no [[history]] source 'nope'; configured: hr"),
        "{text}"
    );
    site.finish().await;
}

#[tokio::test]
async fn run_imports_the_closed_intervals_of_the_last_hours_and_stops_on_sigterm() {
    let now = OffsetDateTime::now_utc();
    let spec = HrdbSpec {
        from: now.replace_time(time::Time::MIDNIGHT) - Duration::days(1),
        days: 2,
        ..spec()
    };
    // Busy at any hour: the test must not depend on the time of day it runs at, so the site's
    // offset puts its local time near 11:00 (the staffing curve is quiet at night).
    let offset_hours = (11 - i32::from(now.hour()) + 36) % 24 - 12;
    let spec = HrdbSpec {
        calls_per_agent_hour: 10.0,
        utc_offset_minutes: offset_hours * 60,
        ..spec
    };
    let site = Site::start_with(spec, "uccx", "close_delay = \"1m\"").await;
    site.write_until(now).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
        .arg("--config")
        .arg(&site.env.importer_toml)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut cursor = None;
    for _ in 0..150 {
        cursor = site.job().state().load().unwrap().complete_until;
        if cursor.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let cursor = cursor.expect("run imports queue statistics at start-up");
    assert!(
        cursor <= now && cursor > now - Duration::minutes(20),
        "{cursor}"
    );
    // The cursor moves once a window is in the outbox; the hub has it once it is delivered.
    let mut rows = Vec::new();
    for _ in 0..150 {
        rows = site
            .env
            .hub
            .store
            .query_intervals(
                &project(),
                Some("hr"),
                None,
                TimeRange {
                    from: now - Duration::hours(5),
                    to: now,
                },
            )
            .await
            .unwrap();
        if rows.iter().any(|r| r.figures.presented > 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let presented: u64 = rows.iter().map(|r| r.figures.presented).sum();
    if presented == 0 {
        let _ = child.kill().await;
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "nothing reached the hub: {rows:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pid = child.id().unwrap() as i32;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    site.finish().await;
}

//! `wfm-demo`: the one-command demo. Starts, on loopback, a UCCX emulator, a CUCM AXL emulator and
//! a Webex Contact Center emulator filled with one generated contact centre, a hub on embedded SQLite, and an importer that syncs
//! users and teams into the hub; prints what happened and where to look; keeps syncing until
//! Ctrl-C.
//!
//! It writes real `hub.toml` and `importer.toml` files into its directory and loads them through
//! the same code paths as `wfm-hub serve` and `wfm-importer run`, so what it shows is what an
//! operator gets. It must not contain product logic of its own.

use anyhow::{Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;
use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::uccx::{UccxConfig, UccxEmulator};
use wfm_emulators::webex::{WebexConfig, WebexEmulator};
use wfm_emulators::SharedData;
use wfm_importer::history::HistoryJob;
use wfm_importer::hub_client::HubClient;
use wfm_importer::report::{render, render_changes};
use wfm_importer::{SyncJob, SyncOptions, SyncReport};
use wfm_protocol::intervals::IntervalFigures;
use wfm_telemetry::Metrics;

#[derive(Parser)]
#[command(
    name = "wfm-demo",
    about = "Runs emulators + hub + importer on loopback and shows a user sync"
)]
struct Args {
    /// Agents in the generated contact centre.
    #[arg(long, default_value_t = 400)]
    agents: usize,
    /// Teams.
    #[arg(long, default_value_t = 25)]
    teams: usize,
    /// Supervisors (in addition to the agents).
    #[arg(long, default_value_t = 40)]
    supervisors: usize,
    /// Latency injected by the emulators on every request, in milliseconds.
    #[arg(long, default_value_t = 2)]
    latency_ms: u64,
    /// Where the demo keeps its files (configs, certificate, hub database); recreated each run.
    #[arg(long, default_value = ".wfm-demo")]
    dir: PathBuf,
    /// Seconds between syncs after the first two.
    #[arg(long, default_value_t = 30)]
    interval_s: u64,
    /// Exit after the first two syncs instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
}

/// The demo site's time zone.
const SITE_TZ: &str = "America/New_York";

/// The reporting database and the importer job that reads it.
struct History {
    centre: wfm_hrdb::Centre,
    db: PathBuf,
    job: HistoryJob,
    yesterday: String,
}

impl History {
    /// New rows land in the reporting database (as UCCX writes them, after wrap-up); the
    /// importer's incremental run re-reads its look-back window and corrects the hub.
    async fn tick(&self) {
        let now = OffsetDateTime::now_utc();
        if let Err(e) = wfm_hrdb::write_sqlite(&self.centre, &self.db, Some(now)).await {
            eprintln!("reporting database: {e}");
            return;
        }
        match self.job.incremental(now, &|_| {}).await {
            Ok(reports) => {
                let (mut new, mut changed) = (0, 0);
                for r in &reports {
                    new += r.hub.inserted;
                    changed += r.hub.updated;
                }
                println!(
                    "queue statistics: {new} new and {changed} corrected interval(s) (late rows)"
                );
            }
            Err(e) => eprintln!("queue statistics: {e}"),
        }
    }
}

/// Fills an SQLite reporting database with three days of calls up to now, backfills them into
/// the hub and prints yesterday's figures per queue.
async fn queue_statistics(
    args: &Args,
    dir: &Path,
    config: &wfm_config::ImporterConfig,
) -> Result<History> {
    let now = OffsetDateTime::now_utc();
    let offset_min = jiff::tz::TimeZone::get(SITE_TZ)
        .map(|tz| tz.to_offset(jiff::Timestamp::now()).seconds() / 60)
        .unwrap_or(-300);
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let from = midnight - time::Duration::days(2);
    let spec = wfm_hrdb::HrdbSpec {
        agents: args.agents.clamp(1, 2_000) as u32,
        from,
        days: 3,
        utc_offset_minutes: offset_min,
        ..wfm_hrdb::HrdbSpec::new()
    };
    println!(
        "\n== queue statistics: {} agents, {} queues, calls from {} to now in the UCCX reporting database ==",
        spec.agents,
        spec.csqs,
        from.date()
    );
    let centre = wfm_hrdb::generate(&spec)?;
    let db = dir.join("hrdb.sqlite");
    let written = wfm_hrdb::write_sqlite(&centre, &db, Some(now)).await?;
    println!(
        "  {} rows written as UCCX would have by now (calls still in wrap-up are not there yet)",
        written.history_rows()
    );
    let h = config
        .history
        .first()
        .context("the demo config has no [[history]] table")?;
    let job = HistoryJob::new(
        h.clone(),
        HubClient::new(&config.hub)?,
        &config.importer.data_dir,
        Metrics::new(),
    );
    let started = std::time::Instant::now();
    let reports = job.backfill(from, now, false, &|_| {}).await?;
    job.incremental(now, &|_| {}).await?;
    let rows: u64 = reports.iter().map(|r| r.rows_read).sum();
    let intervals: u64 = reports.iter().map(|r| r.intervals).sum();
    println!(
        "  backfill: {} day windows, {rows} call legs -> {intervals} queue intervals at the hub in {:.1} s",
        reports.len(),
        started.elapsed().as_secs_f64()
    );
    let yesterday = jiff::Timestamp::now()
        .in_tz(SITE_TZ)
        .map(|z| {
            z.date()
                .yesterday()
                .map(|d| d.to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let answer = job
        .hub_client()
        .intervals_local_day(&yesterday, SITE_TZ)
        .await?;
    let mut per_queue: std::collections::BTreeMap<String, (String, IntervalFigures)> =
        std::collections::BTreeMap::new();
    for i in &answer.intervals {
        per_queue
            .entry(i.queue.clone())
            .or_insert_with(|| (i.queue_name.clone(), IntervalFigures::default()))
            .1
            .add(&i.figures);
    }
    println!("  yesterday ({yesterday}, {SITE_TZ}) per queue:");
    println!(
        "    {:<22} {:>9} {:>8} {:>9} {:>7} {:>7} {:>6}",
        "queue", "presented", "handled", "abandoned", "AHT s", "ASA s", "SL %"
    );
    for (name, f) in per_queue.values() {
        let per = |total: u64, n: u64| {
            if n == 0 {
                0.0
            } else {
                total as f64 / n as f64 / 1000.0
            }
        };
        let sl = if f.handled == 0 {
            0.0
        } else {
            100.0 * f.answered_within_sl as f64 / f.handled as f64
        };
        println!(
            "    {:<22} {:>9} {:>8} {:>9} {:>7.0} {:>7.1} {:>6.1}",
            name,
            f.presented,
            f.handled,
            f.abandoned,
            per(f.talk_ms + f.hold_ms + f.work_ms, f.handled),
            per(f.answer_wait_ms, f.handled),
            sl
        );
    }
    Ok(History {
        centre,
        db,
        job,
        yesterday,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

async fn run(args: Args) -> Result<()> {
    let dir = &args.dir;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::fs::canonicalize(dir)?;

    // One self-signed certificate for every loopback server; the importer trusts it explicitly.
    let pem = wfm_emulators::tls::self_signed(&[]).context("cannot generate a certificate")?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    write(&cert, &pem.cert_pem)?;
    write(&key, &pem.key_pem)?;
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    write(&dir.join("hub-token"), &token)?;

    println!(
        "wfm-demo: generating a contact centre of {} agents, {} supervisors in {} teams",
        args.agents, args.supervisors, args.teams
    );
    let data = SharedData::generate(&DatasetSpec {
        agents: args.agents,
        teams: args.teams,
        supervisors: args.supervisors,
        missing_email_share: 0.02,
        ..DatasetSpec::default()
    });
    let latency = Duration::from_millis(args.latency_ms);
    let tls = Some((pem.cert_pem.clone(), pem.key_pem.clone()));
    let uccx = UccxEmulator::spawn(
        UccxConfig {
            latency,
            tls: tls.clone(),
            ..UccxConfig::default()
        },
        data.clone(),
    )
    .await
    .context("cannot start the UCCX emulator")?;
    let axl = AxlEmulator::spawn(
        AxlConfig {
            latency,
            tls,
            ..AxlConfig::default()
        },
        data.clone(),
    )
    .await
    .context("cannot start the AXL emulator")?;
    let webex_config = WebexConfig {
        latency,
        tls: Some((pem.cert_pem.clone(), pem.key_pem.clone())),
        ..WebexConfig::default()
    };
    let webex_org = webex_config.org_id.clone();
    let webex = WebexEmulator::spawn(webex_config, data.clone())
        .await
        .context("cannot start the Webex Contact Center emulator")?;

    let hub_toml = format!(
        r#"# written by wfm-demo
[server]
bind = "127.0.0.1:0"
tls_cert = "{cert}"
tls_key = "{key}"

[storage]
url = "sqlite://{db}"

[log]
level = "warn"

[[projects]]
id = "demo"
name = "Demo contact centre"
token_file = "{token}"
roles = ["agent", "supervisor", "team-lead"]
"#,
        cert = cert.display(),
        key = key.display(),
        db = dir.join("hub.sqlite").display(),
        token = dir.join("hub-token").display(),
    );
    let hub_path = dir.join("hub.toml");
    write(&hub_path, &hub_toml)?;
    let hub_config = wfm_config::load_hub(&hub_path)?;
    wfm_telemetry::init_logging(&hub_config.log);
    let hub = wfm_hub::server::start(hub_config)
        .await
        .context("cannot start the hub")?;

    let (uccx_addr, axl_addr) = (uccx.addr(), axl.addr());
    let importer_toml = format!(
        r#"# written by wfm-demo
[importer]
data_dir = "{dir}/importer"
metrics_bind = "127.0.0.1:0"

[hub]
url = "{hub_url}"
project = "demo"
token_file = "{token}"
ca_file = "{cert}"

[sync]
interval = "{interval}s"
max_disable_ratio = 0.2
[sync.role_equivalents]
agent = "agent"
supervisor = "supervisor"
primary_supervisor = "team-lead"

[uccx]
host = "127.0.0.1"
port = {uccx_port}
username = "administrator"
password = "ciscopsdt"
ca_file = "{cert}"

[cucm]
host = "127.0.0.1"
port = {axl_port}
username = "axladmin"
password = "ciscopsdt"
version = "12.5"
ca_file = "{cert}"

# The same contact centre is moving to Webex Contact Center: a second source in the same project.
[[webex]]
source_id = "webex"
base_url = "{webex_url}"
org_id = "{webex_org}"
ca_file = "{cert}"
[webex.oauth]
token_url = "{webex_url}/oauth/token"
client_id = "wfm-demo-client"
client_secret = "wfm-demo-secret"
scope = "cjp:config_read"

# Queue statistics from the UCCX reporting database (db_cra). The demo's is an SQLite file the
# reporting-database emulator fills; at a site it is `connection_string` or `dsn` over ODBC.
[[history]]
source_id = "uccx-hr"
dialect = "uccx"
sqlite_path = "{dir}/hrdb.sqlite"
time_zone = "{site_tz}"
close_delay = "1m"
"#,
        dir = dir.display(),
        hub_url = hub.base_url(),
        token = dir.join("hub-token").display(),
        cert = cert.display(),
        interval = args.interval_s.max(10),
        uccx_port = uccx_addr.port(),
        axl_port = axl_addr.port(),
        webex_url = webex.base_url(),
        site_tz = SITE_TZ,
    );
    let importer_path = dir.join("importer.toml");
    write(&importer_path, &importer_toml)?;
    let importer_config = wfm_config::load_importer(&importer_path)?;
    let job = SyncJob::new(&importer_config, Metrics::new())?;

    println!(
        "  UCCX emulator   https://{uccx_addr}/adminapi/resource  (administrator / ciscopsdt)"
    );
    println!("  CUCM AXL        https://{axl_addr}/axl/  (axladmin / ciscopsdt, AXL 12.5)");
    println!(
        "  Webex CC        {}  (OAuth client wfm-demo-client / wfm-demo-secret)",
        webex.base_url()
    );
    println!(
        "  hub             {}  (SQLite at {})",
        hub.base_url(),
        dir.join("hub.sqlite").display()
    );
    println!(
        "  configs         {} and {}",
        hub_path.display(),
        importer_path.display()
    );

    println!("\n== first sync: everything is new ==");
    let first = job.run_source("uccx", SyncOptions::default()).await?;
    print_report(&job, &first, 0).await;

    println!("\n== Webex Contact Center, a second source in the same project ==");
    let cloud = job.run_source("webex", SyncOptions::default()).await?;
    print!("{}", render(&cloud, None));
    let people = job.hub().people(0, 3).await?;
    let conflicts = job.hub().people_conflicts(0, 3).await?;
    println!(
        "  people found in both sources (linked by e-mail, never merged): {}; ambiguous e-mails: {}",
        people.total, conflicts.total
    );
    for person in &people.items {
        let ids: Vec<String> = person
            .users
            .iter()
            .map(|u| format!("{}:{}", u.source, u.username))
            .collect();
        println!("    {} -> {}", person.key, ids.join(", "));
    }

    // Make a few changes in the source, as a contact centre would between two syncs.
    let changes = {
        let mut cc = data.write();
        let mut notes = Vec::new();
        let agents: Vec<String> = cc
            .resources
            .iter()
            .filter(|r| r.kind == 1)
            .map(|r| r.user_id.clone())
            .collect();
        if agents.len() >= 5 {
            let renamed = format!("{}.new", agents[0]);
            cc.rename_user(&agents[0], &renamed);
            notes.push(format!(
                "renamed {} to {renamed} (same CUCM pkid)",
                agents[0]
            ));
            for gone in &agents[1..3] {
                cc.remove_resource(gone);
                notes.push(format!("removed {gone} from UCCX"));
            }
            let target = cc.teams.last().map(|t| t.team_id);
            cc.move_to_team(&agents[3], target);
            notes.push(format!("moved {} to another team", agents[3]));
        }
        notes
    };
    println!(
        "\n== second sync, after changes in UCCX: {} ==",
        changes.join("; ")
    );
    let second = job.run_source("uccx", SyncOptions::default()).await?;
    print_report(&job, &second, 20).await;

    let history = queue_statistics(&args, &dir, &importer_config).await?;

    let base = hub.base_url();
    println!("\n== where to look ==");
    println!(
        "  export WFM_TOKEN=$(cat {})",
        dir.join("hub-token").display()
    );
    println!(
        "  curl --cacert {} -H \"Authorization: Bearer $WFM_TOKEN\" '{base}/api/v1/users?limit=3'",
        cert.display()
    );
    println!(
        "  curl --cacert {} -H \"Authorization: Bearer $WFM_TOKEN\" '{base}/api/v1/groups'",
        cert.display()
    );
    println!(
        "  curl --cacert {} -H \"Authorization: Bearer $WFM_TOKEN\" '{base}/api/v1/sync-runs'",
        cert.display()
    );
    println!(
        "  curl --cacert {} -H \"Authorization: Bearer $WFM_TOKEN\" '{base}/api/v1/queues'",
        cert.display()
    );
    println!(
        "  curl --cacert {} -H \"Authorization: Bearer $WFM_TOKEN\" '{base}/api/v1/intervals.csv?date={}&tz={SITE_TZ}'",
        cert.display(),
        history.yesterday
    );
    println!("  curl --cacert {} '{base}/metrics'", cert.display());
    println!("  the same importer as a program: cargo run --release -p wfm-importer -- sync users --dry-run --config {}", importer_path.display());

    if !args.once {
        println!(
            "\nsyncing every {}s; press Ctrl-C to stop",
            args.interval_s.max(10)
        );
        let interval = Duration::from_secs(args.interval_s.max(10));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tokio::time::sleep(interval) => {
                    for (source, result) in job.run_all(SyncOptions::default()).await {
                        match result {
                            Ok(r) => println!("{}", render(&r, None).lines().take(2).collect::<Vec<_>>().join("\n")),
                            Err(e) => eprintln!("sync of {source} failed: {e}"),
                        }
                    }
                    history.tick().await;
                }
            }
        }
        println!("\nstopping");
    }
    hub.shutdown().await?;
    uccx.shutdown();
    axl.shutdown();
    webex.shutdown();
    println!("demo stopped cleanly; files kept in {}", dir.display());
    Ok(())
}

async fn print_report(job: &SyncJob, report: &SyncReport, detail: usize) {
    let changes = job
        .hub()
        .all_run_changes(&report.response.run.id)
        .await
        .ok();
    print!("{}", render(report, changes.as_deref()));
    if detail > 0 {
        if let Some(changes) = &changes {
            println!("\n  changes:");
            print!("{}", render_changes(changes, detail));
        }
    }
}

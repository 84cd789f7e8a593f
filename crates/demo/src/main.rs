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
use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::uccx::{UccxConfig, UccxEmulator};
use wfm_emulators::webex::{WebexConfig, WebexEmulator};
use wfm_emulators::SharedData;
use wfm_importer::report::{render, render_changes};
use wfm_importer::{SyncJob, SyncOptions, SyncReport};
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
"#,
        dir = dir.display(),
        hub_url = hub.base_url(),
        token = dir.join("hub-token").display(),
        cert = cert.display(),
        interval = args.interval_s.max(10),
        uccx_port = uccx_addr.port(),
        axl_port = axl_addr.port(),
        webex_url = webex.base_url(),
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

//! `wfm-emulator`: run the UCCX and/or CUCM AXL emulators over one generated data set.

use std::net::SocketAddr;
use std::time::Duration;

mod cloud_cli;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::cti::{CtiConfig, CtiEmulator, CtiHandle, Scenario};
use wfm_emulators::finesse::{FinesseConfig, FinesseEmulator};
use wfm_emulators::ucce::{UcceConfig, UcceEmulator};
use wfm_emulators::uccx::{UccxConfig, UccxEmulator};
use wfm_emulators::{DatasetSpec, EmulatorHandle, SharedData};

/// Cisco UCCX Admin REST and CUCM AXL emulators.
#[derive(Parser)]
#[command(name = "wfm-emulator", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// UCCX Admin REST API (`/adminapi`).
    Uccx(Common),
    /// CUCM AXL SOAP API (`/axl/`).
    Cucm(Common),
    /// Both, on `--port` (UCCX) and `--axl-port` (AXL), over the same data set.
    All(Common),
    /// Webex Contact Center configuration API (OAuth bearer).
    Webex(cloud_cli::CloudArgs),
    /// Zoom users and groups API (OAuth bearer).
    Zoom(cloud_cli::CloudArgs),
    /// Microsoft Graph users and groups (OAuth bearer).
    Graph(cloud_cli::CloudArgs),
    /// UCCE / PCCE ConfigAPI (`/unifiedconfig/config`).
    Ucce(Common),
    /// Cisco Finesse REST API (`/finesse/api/ReasonCodes`).
    Finesse(Common),
    /// Cisco CTI Server (GED-188 over TCP): the real-time agent-state feed.
    Cti(CtiArgs),
}

/// Options of the `cti` subcommand.
#[derive(Args, Clone)]
struct CtiArgs {
    #[command(flatten)]
    common: Common,
    /// ClientID the OPEN_REQ must carry.
    #[arg(long, default_value = "wfm")]
    client_id: String,
    /// ClientPassword the OPEN_REQ must carry.
    #[arg(long, default_value = "ciscocti")]
    client_password: String,
    /// Stream this many events per second (firehose) instead of a simulated shift.
    #[arg(long)]
    rate: Option<u32>,
    /// Shift simulation speed (simulated seconds per second).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
}

async fn start_cti(a: &CtiArgs, data: SharedData) -> anyhow::Result<CtiHandle> {
    let scenario = match a.rate {
        Some(events_per_sec) => Scenario::Rate {
            events_per_sec,
            duration: Duration::from_secs(365 * 24 * 3600),
        },
        None => Scenario::Shift {
            agents: a.common.agents,
            speed: a.speed,
        },
    };
    let cfg = CtiConfig {
        bind: Some(SocketAddr::new(a.common.host, a.common.port)),
        client_id: a.client_id.clone(),
        client_password: a.client_password.clone(),
        scenario,
        seed: a.common.seed,
        record_sent: false,
        ..CtiConfig::default()
    };
    let h = CtiEmulator::spawn(cfg, data)
        .await
        .context("starting the CTI emulator")?;
    println!(
        "CTI Server (GED-188): {}  client_id={} client_password={}",
        h.addr(),
        a.client_id,
        a.client_password
    );
    Ok(h)
}

/// Options shared by every subcommand.
#[derive(Args, Clone)]
struct Common {
    /// Number of agents.
    #[arg(long, default_value_t = 400)]
    agents: usize,
    /// Number of teams.
    #[arg(long, default_value_t = 25)]
    teams: usize,
    /// Number of supervisors.
    #[arg(long, default_value_t = 40)]
    supervisors: usize,
    /// Number of skills.
    #[arg(long, default_value_t = 30)]
    skills: usize,
    /// Data set seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Share of CUCM users without an e-mail (0.0..=1.0).
    #[arg(long, default_value_t = 0.0)]
    missing_email_share: f64,
    /// Port (UCCX for `all`); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// AXL port for `all`; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    axl_port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Basic-auth user (default: administrator for UCCX, axladmin for AXL).
    #[arg(long)]
    username: Option<String>,
    /// Basic-auth password (default: ciscopsdt).
    #[arg(long)]
    password: Option<String>,
    /// Serve HTTPS with a freshly generated self-signed certificate (written next to the temp dir).
    #[arg(long)]
    tls_self_signed: bool,
    /// AXL version served.
    #[arg(long, default_value = "12.5")]
    axl_version: String,
    /// AXL largest result set per query.
    #[arg(long, default_value_t = 2000)]
    max_rows: usize,
    /// AXL requests allowed in flight at once (0: no limit).
    #[arg(long, default_value_t = 1)]
    max_concurrent: usize,
    /// UCCE: ignore `resultsPerPage` and always serve pages of 25.
    #[arg(long)]
    page_size_ignored: bool,
}

fn tls(c: &Common) -> anyhow::Result<Option<(String, String)>> {
    if !c.tls_self_signed {
        return Ok(None);
    }
    let pair = wfm_emulators::tls::self_signed(&[]).context("generating a certificate")?;
    let path = std::env::temp_dir().join(format!("wfm-emulator-{}.pem", std::process::id()));
    std::fs::write(&path, &pair.cert_pem).context("writing the certificate")?;
    println!(
        "self-signed certificate (trust it in the client): {}",
        path.display()
    );
    Ok(Some((pair.cert_pem, pair.key_pem)))
}

async fn start_uccx(
    c: &Common,
    data: SharedData,
    tls: Option<(String, String)>,
) -> anyhow::Result<EmulatorHandle> {
    let cfg = UccxConfig {
        username: c.username.clone().unwrap_or_else(|| "administrator".into()),
        password: c.password.clone().unwrap_or_else(|| "ciscopsdt".into()),
        latency: Duration::from_millis(c.latency_ms),
        tls,
        bind: Some(SocketAddr::new(c.host, c.port)),
        ..UccxConfig::default()
    };
    let h = UccxEmulator::spawn(cfg.clone(), data)
        .await
        .context("starting the UCCX emulator")?;
    println!(
        "UCCX Admin API: {}/adminapi/resource  user={} password={}",
        h.base_url(),
        cfg.username,
        cfg.password
    );
    Ok(h)
}

async fn start_axl(
    c: &Common,
    port: u16,
    data: SharedData,
    tls: Option<(String, String)>,
) -> anyhow::Result<EmulatorHandle> {
    let cfg = AxlConfig {
        username: c.username.clone().unwrap_or_else(|| "axladmin".into()),
        password: c.password.clone().unwrap_or_else(|| "ciscopsdt".into()),
        latency: Duration::from_millis(c.latency_ms),
        tls,
        bind: Some(SocketAddr::new(c.host, port)),
        version: c.axl_version.clone(),
        max_rows_per_query: c.max_rows,
        max_concurrent: c.max_concurrent,
        ..AxlConfig::default()
    };
    let h = AxlEmulator::spawn(cfg.clone(), data)
        .await
        .context("starting the AXL emulator")?;
    println!(
        "CUCM AXL {}: {}/axl/  user={} password={}",
        cfg.version,
        h.base_url(),
        cfg.username,
        cfg.password
    );
    Ok(h)
}

async fn start_ucce(
    c: &Common,
    data: SharedData,
    tls: Option<(String, String)>,
) -> anyhow::Result<EmulatorHandle> {
    let defaults = UcceConfig::default();
    let cfg = UcceConfig {
        username: c.username.clone().unwrap_or(defaults.username.clone()),
        password: c.password.clone().unwrap_or(defaults.password.clone()),
        latency: Duration::from_millis(c.latency_ms),
        tls,
        bind: Some(SocketAddr::new(c.host, c.port)),
        ignore_page_size: c.page_size_ignored,
        ..defaults
    };
    let h = UcceEmulator::spawn(cfg.clone(), data)
        .await
        .context("starting the UCCE emulator")?;
    println!(
        "UCCE ConfigAPI: {}/unifiedconfig/config/agent  user={} password={}",
        h.base_url(),
        cfg.username,
        cfg.password
    );
    Ok(h)
}

async fn start_finesse(
    c: &Common,
    data: SharedData,
    tls: Option<(String, String)>,
) -> anyhow::Result<EmulatorHandle> {
    let defaults = FinesseConfig::default();
    let cfg = FinesseConfig {
        username: c.username.clone().unwrap_or(defaults.username.clone()),
        password: c.password.clone().unwrap_or(defaults.password.clone()),
        latency: Duration::from_millis(c.latency_ms),
        tls,
        bind: Some(SocketAddr::new(c.host, c.port)),
        ..defaults
    };
    let h = FinesseEmulator::spawn(cfg.clone(), data)
        .await
        .context("starting the Finesse emulator")?;
    println!(
        "Finesse REST API: {}/finesse/api/ReasonCodes?category=ALL  user={} password={}",
        h.base_url(),
        cfg.username,
        cfg.password
    );
    Ok(h)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    let c = match &cli.cmd {
        Cmd::Uccx(c) | Cmd::Cucm(c) | Cmd::All(c) | Cmd::Ucce(c) | Cmd::Finesse(c) => c.clone(),
        Cmd::Webex(a) | Cmd::Zoom(a) | Cmd::Graph(a) => a.common.clone(),
        Cmd::Cti(a) => a.common.clone(),
    };
    let spec = DatasetSpec {
        agents: c.agents,
        teams: c.teams,
        supervisors: c.supervisors,
        skills: c.skills,
        seed: c.seed,
        missing_email_share: c.missing_email_share,
    };
    let data = SharedData::generate(&spec);
    println!(
        "data set: {} resources, {} teams, {} CUCM end users (seed {})",
        data.read().resources.len(),
        data.read().teams.len(),
        data.read().end_users.len(),
        c.seed
    );
    let tls = tls(&c)?;
    let mut handles = Vec::new();
    let mut cti = None;
    match cli.cmd {
        Cmd::Uccx(_) => handles.push(start_uccx(&c, data, tls).await?),
        Cmd::Cucm(_) => handles.push(start_axl(&c, c.port, data, tls).await?),
        Cmd::Ucce(_) => handles.push(start_ucce(&c, data, tls).await?),
        Cmd::Finesse(_) => handles.push(start_finesse(&c, data, tls).await?),
        Cmd::Webex(a) => {
            handles.push(cloud_cli::start(cloud_cli::Cloud::Webex, &a, data, tls).await?)
        }
        Cmd::Zoom(a) => {
            handles.push(cloud_cli::start(cloud_cli::Cloud::Zoom, &a, data, tls).await?)
        }
        Cmd::Graph(a) => {
            handles.push(cloud_cli::start(cloud_cli::Cloud::Graph, &a, data, tls).await?)
        }
        Cmd::Cti(a) => cti = Some(start_cti(&a, data).await?),
        Cmd::All(_) => {
            handles.push(start_uccx(&c, data.clone(), tls.clone()).await?);
            handles.push(start_axl(&c, c.axl_port, data, tls).await?);
        }
    }
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    for h in &handles {
        h.shutdown();
    }
    if let Some(h) = cti {
        h.shutdown();
    }
    println!("stopped");
    Ok(())
}

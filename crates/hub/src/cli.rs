//! The `wfm-hub` command line: `serve`, `check-config`, `gen-cert`, and the administration of
//! `project`s, `token`s and the `audit` log (see [`crate::admin`]). Configuration errors exit
//! with 78 (`EX_CONFIG`), runtime failures with 1, usage errors with 2.

use crate::admin::cli_audit::AuditCommand;
use crate::admin::cli_projects::{ProjectCommand, TokenCommand};
use crate::tls;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use wfm_config::{ConfigError, HubConfig};

/// Exit code of runtime failures.
pub const EXIT_FAILURE: i32 = 1;

/// `wfm-hub`: the WFM hub server.
#[derive(Debug, Parser)]
#[command(
    name = "wfm-hub",
    version,
    about = "The WFM hub: per-project user directory over HTTPS"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API until Ctrl-C or SIGTERM (then finish in-flight requests).
    Serve {
        /// The hub configuration file.
        #[arg(long, short, default_value = "hub.toml", env = "WFM_HUB_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file (and its TLS files) and print OK or every issue.
    CheckConfig {
        /// The hub configuration file.
        #[arg(long, short, default_value = "hub.toml", env = "WFM_HUB_CONFIG")]
        config: PathBuf,
    },
    /// Write a self-signed certificate and key (for labs and demos only).
    GenCert {
        /// Host name or IP address the certificate is valid for (repeatable).
        #[arg(long = "host", default_value = "localhost")]
        hosts: Vec<String>,
        /// Where to write the certificate (PEM).
        #[arg(long, default_value = "cert.pem")]
        out_cert: PathBuf,
        /// Where to write the private key (PEM, mode 0600 on Unix).
        #[arg(long, default_value = "key.pem")]
        out_key: PathBuf,
    },
    /// Manage projects in the store (`create`, `list`, `delete`).
    Project(StoreCommand<ProjectCommand>),
    /// Manage API tokens (`issue`, `list`, `revoke`).
    Token(StoreCommand<TokenCommand>),
    /// Inspect the audit log (`verify`, `list`, `purge`).
    Audit(StoreCommand<AuditCommand>),
    /// Encryption-at-rest keys (`status`, `rotate`; see docs/encryption.md).
    Keys(StoreCommand<crate::cli_keys::KeysCommand>),
    /// Per-project retention of stored data (`show`, `set`, `purge`; see docs/retention.md).
    Retention(StoreCommand<crate::retention::RetentionCommand>),
}

/// An administration command: the configuration whose `[storage]` is opened, and what to do.
#[derive(Debug, Args)]
pub struct StoreCommand<C: Subcommand> {
    /// The hub configuration file (its `[storage]` is opened).
    #[arg(
        long,
        short,
        default_value = "hub.toml",
        env = "WFM_HUB_CONFIG",
        global = true
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: C,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve { config } => serve(&config),
        Command::CheckConfig { config } => check_config(&config),
        Command::GenCert {
            hosts,
            out_cert,
            out_key,
        } => gen_cert(&hosts, &out_cert, &out_key),
        Command::Project(StoreCommand { config, command }) => {
            crate::admin::cli_projects::run_project(&config, command)
        }
        Command::Token(StoreCommand { config, command }) => {
            crate::admin::cli_projects::run_token(&config, command)
        }
        Command::Audit(StoreCommand { config, command }) => {
            crate::admin::cli_audit::run_audit(&config, command)
        }
        Command::Keys(StoreCommand { config, command }) => {
            crate::cli_keys::run_keys(&config, command)
        }
        Command::Retention(StoreCommand { config, command }) => {
            crate::retention::run(&config, command)
        }
    }
}

fn load(path: &Path) -> Result<HubConfig, i32> {
    match wfm_config::load_hub(path) {
        Ok(config) => Ok(config),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ConfigError::EXIT_CODE)
        }
    }
}

fn serve(path: &Path) -> i32 {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    wfm_telemetry::init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILURE;
        }
    };
    match runtime.block_on(crate::serve(config, shutdown_signal())) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_FAILURE
        }
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}

fn check_config(path: &Path) -> i32 {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut problems = Vec::new();
    if let (Some(cert), Some(key)) = (&config.server.tls_cert, &config.server.tls_key) {
        if let Err(e) = tls::server_config_from_files(cert, key) {
            problems.push(format!("server.tls_cert / server.tls_key: {e}"));
        }
    }
    let encryption = match crate::encryption::describe(&config) {
        Ok(text) => text,
        Err(e) => {
            problems.push(e);
            String::new()
        }
    };
    if !problems.is_empty() {
        eprintln!("error: invalid configuration in {}:", path.display());
        for p in problems {
            eprintln!("  - {p}");
        }
        return ConfigError::EXIT_CODE;
    }
    let scheme = if config.server.tls_cert.is_some() {
        "https"
    } else {
        "http (INSECURE, lab only)"
    };
    println!(
        "OK: {} — listen {} over {scheme}, storage {}, {encryption}, {} project(s): {}",
        path.display(),
        config.server.bind,
        crate::redact_url(&config.storage.url),
        config.projects.len(),
        config
            .projects
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    0
}

fn gen_cert(hosts: &[String], out_cert: &Path, out_key: &Path) -> i32 {
    let (cert, key) = match tls::try_self_signed_cert(hosts) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    if let Err(e) = std::fs::write(out_cert, cert) {
        eprintln!("error: cannot write {}: {e}", out_cert.display());
        return EXIT_FAILURE;
    }
    if let Err(e) = write_private(out_key, key.as_bytes()) {
        eprintln!("error: cannot write {}: {e}", out_key.display());
        return EXIT_FAILURE;
    }
    println!(
        "wrote self-signed certificate {} and key {} for {} (labs only: clients must trust this certificate explicitly)",
        out_cert.display(),
        out_key.display(),
        hosts.join(", ")
    );
    0
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}

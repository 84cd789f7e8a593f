//! Startup and shutdown: open the store, register the configured projects, bind the listener
//! (TLS by default, plain HTTP only with `allow_insecure_http`; the certificate reloads on
//! SIGHUP and when its files change), serve in the background (with a daily audit-log purge),
//! and stop gracefully.

use crate::{app, system_clock, tls, AppState, ProjectTokens};
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wfm_config::{HubConfig, ProjectConfig};
use wfm_store::{Store, StoreError};
use wfm_telemetry::Metrics;

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often the TLS files are checked for changes.
pub const TLS_WATCH_EVERY: Duration = Duration::from_secs(5);
/// How often the audit log is purged of entries older than `[audit] retain`.
pub const AUDIT_PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Background tasks of a running hub, aborted when dropped.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A hub serving in the background (see [`start`]).
pub struct RunningHub {
    /// The bound address (the real port when the config asked for port 0).
    pub addr: SocketAddr,
    /// True when serving HTTPS, false for plain HTTP (`allow_insecure_http`).
    pub tls: bool,
    /// The store the hub uses (shared pool).
    pub store: Store,
    /// The hub's metrics.
    pub metrics: Metrics,
    /// The reloadable certificate (TLS only).
    pub tls_reloader: Option<Arc<tls::CertReloader>>,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _background: Background,
}

impl std::fmt::Debug for RunningHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningHub")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl RunningHub {
    /// `https://ADDR` (or `http://ADDR` without TLS), no trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (up to [`SHUTDOWN_GRACE`]) and
    /// waits for the server task.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        finish(self.task).await
    }
}

async fn finish(task: tokio::task::JoinHandle<std::io::Result<()>>) -> anyhow::Result<()> {
    match task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("the hub server failed: {e}")),
        Err(e) => Err(anyhow::anyhow!("the hub server task ended abnormally: {e}")),
    }
}

/// Hides credentials in a storage URL: `postgres://user:pass@host/db` → `postgres://***@host/db`,
/// and any `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            out.replace_range(rest_start..rest_start + at, "***");
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", parts.join("&"));
    }
    out
}

/// The password part of a URL's userinfo, if any (to scrub it from error text).
fn url_password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    if password.is_empty() {
        None
    } else {
        Some(password)
    }
}

/// A clear, password-free message for a store that could not be opened.
fn open_error(url: &str, err: &StoreError) -> String {
    let mut detail = err.to_string();
    if let Some(password) = url_password(url) {
        detail = detail.replace(password, "***");
    }
    let detail = detail.replace(url, &redact_url(url));
    let lower = detail.to_ascii_lowercase();
    let hint = if url.starts_with("postgres") {
        if lower.contains("refused") || lower.contains("timed out") || lower.contains("timeout") {
            " — is PostgreSQL running and reachable?"
        } else if lower.contains("role")
            || lower.contains("password")
            || lower.contains("authentication")
        {
            " — check the user and password in storage.url"
        } else if lower.contains("database") && lower.contains("does not exist") {
            " — create the database first (CREATE DATABASE …)"
        } else {
            ""
        }
    } else {
        " — check that the directory exists and is writable"
    };
    format!("cannot open storage {}: {detail}{hint}", redact_url(url))
}

/// Registers every configured project (name and roles) in the store.
pub async fn prepare_projects(store: &Store, projects: &[ProjectConfig]) -> anyhow::Result<()> {
    for p in projects {
        store
            .ensure_project(&p.id, p.name.as_deref(), &p.roles)
            .await
            .with_context(|| format!("cannot register project '{}' in the store", p.id))?;
    }
    Ok(())
}

/// Opens the configured store (the error names the problem and hides the password) and
/// registers the `[[projects]]` of the config. Administration commands use it as it is: they
/// touch no sealed field.
pub async fn open_store(config: &HubConfig) -> anyhow::Result<Store> {
    let url = &config.storage.url;
    let store = match Store::open(url, config.storage.max_connections).await {
        Ok(store) => store,
        Err(e) => anyhow::bail!(open_error(url, &e)),
    };
    prepare_projects(&store, &config.projects).await?;
    Ok(store)
}

/// [`open_store`] with encryption at rest as `[encryption]` says (what `serve` uses).
pub async fn open_sealed_store(config: &HubConfig) -> anyhow::Result<Store> {
    // The store first: a database that cannot be opened is the error to name.
    let store = open_store(config).await?;
    let kek = crate::encryption::load_kek(config).map_err(anyhow::Error::msg)?;
    Ok(match kek {
        None => {
            tracing::warn!(
                "encryption at rest is switched off ([encryption] enabled = false): personal \
                 data is stored in clear"
            );
            store
        }
        Some((kek, source)) => {
            tracing::info!(kek = kek.id(), from = %source, "encryption at rest on");
            if let crate::encryption::KekSource::Created(path) = &source {
                tracing::warn!(
                    path = %path.display(),
                    "generated a key-encryption key next to the database: keep a copy apart \
                     from the database backups (without it the sealed data cannot be read), or \
                     set [encryption] kek_file"
                );
            }
            store.with_encryption(kek)
        }
    })
}

/// Reloads the certificate on SIGHUP (Unix) and when its files change, until aborted.
fn watch_tls(reloader: Arc<tls::CertReloader>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(TLS_WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            let forced = tokio::select! {
                () = signalled => true,
                _ = tick.tick() => false,
            };
            let result = if forced {
                reloader.reload().map(|()| true)
            } else {
                reloader.reload_if_changed()
            };
            match result {
                Ok(true) => tracing::info!(signal = forced, "TLS certificate reloaded"),
                Ok(false) => {}
                Err(e) => tracing::error!(
                    error = %e,
                    "TLS certificate reload failed; still serving the previous certificate"
                ),
            }
        }
    })
}

/// Purges the audit log of entries older than `retain` at start and then daily, until aborted.
fn purge_audit_daily(store: Store, retain: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(AUDIT_PURGE_EVERY);
        loop {
            tick.tick().await;
            let now = time::OffsetDateTime::now_utc();
            match crate::admin::cli_audit::purge(&store, retain, now, "hub").await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "audit log purged"),
                Err(e) => tracing::warn!(error = %e, "audit log purge failed; retrying tomorrow"),
            }
        }
    })
}

/// Opens the store, registers the projects, binds `server.bind` (port 0 allowed) and serves in
/// the background. Does not install logging (the binary does).
pub async fn start(config: HubConfig) -> anyhow::Result<RunningHub> {
    let url = &config.storage.url;
    let store = open_sealed_store(&config).await?;
    let metrics = Metrics::new();
    let state = AppState {
        store: store.clone(),
        projects: Arc::new(ProjectTokens::from_config(&config.projects)),
        metrics: metrics.clone(),
        max_body_bytes: config.server.max_body_bytes,
        clock: system_clock(),
        match_rules: crate::match_rules(&config.projects),
        interval_metrics: Default::default(),
        adherence: Default::default(),
        state_metrics: Default::default(),
        bulk: crate::routes::bulk::Bulk::from_hub_config(&config)?,
    };
    let server = &config.server;
    let reloader = match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => Some(tls::CertReloader::load(cert, key)?),
        _ => None,
    };
    let tls_config = match (&reloader, &server.tls_cert, &server.tls_key) {
        (Some(reloader), _, _) => Some(reloader.server_config()?),
        (None, None, None) if server.allow_insecure_http => None,
        _ => anyhow::bail!(
            "TLS is required: set server.tls_cert and server.tls_key (or allow_insecure_http = true for a lab)"
        ),
    };
    let listener = std::net::TcpListener::bind(server.bind)
        .with_context(|| format!("cannot listen on {}", server.bind))?;
    listener
        .set_nonblocking(true)
        .context("cannot configure the listening socket")?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let handle = axum_server::Handle::new();
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let is_tls = tls_config.is_some();
    let task = match tls_config {
        Some(tls_config) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_config(tls_config);
            let server = axum_server::from_tcp_rustls(listener, rustls).handle(handle.clone());
            tokio::spawn(server.serve(service))
        }
        None => {
            tracing::warn!(
                "PLAIN HTTP: allow_insecure_http is set; tokens and directory data travel \
                 unencrypted. Use this only in a lab."
            );
            let server = axum_server::from_tcp(listener).handle(handle.clone());
            tokio::spawn(server.serve(service))
        }
    };
    let mut background = vec![
        purge_audit_daily(store.clone(), config.audit.retain),
        crate::retention::spawn_purge_job(store.clone(), config.clone()),
    ];
    if let Some(reloader) = &reloader {
        background.push(watch_tls(reloader.clone()));
    }
    let projects: Vec<String> = config.projects.iter().map(|p| p.id.to_string()).collect();
    tracing::info!(
        listen = %addr,
        scheme = if is_tls { "https" } else { "http" },
        storage = store.backend(),
        storage_url = %redact_url(url),
        projects = ?projects,
        "hub listening"
    );
    Ok(RunningHub {
        addr,
        tls: is_tls,
        store,
        metrics,
        tls_reloader: reloader,
        handle,
        task,
        _background: Background(background),
    })
}

/// Runs the hub until `shutdown` completes (then stops gracefully) or the server fails.
pub async fn serve(config: HubConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let hub = start(config).await?;
    let RunningHub {
        handle, mut task, ..
    } = hub;
    let ended = tokio::select! {
        () = shutdown => None,
        result = &mut task => Some(result),
    };
    match ended {
        None => {
            tracing::info!("shutting down: finishing in-flight requests");
            handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
            finish(task).await?;
            tracing::info!("hub stopped");
            Ok(())
        }
        Some(Ok(Ok(()))) => Err(anyhow::anyhow!("the hub server stopped unexpectedly")),
        Some(Ok(Err(e))) => Err(anyhow::anyhow!("the hub server failed: {e}")),
        Some(Err(e)) => Err(anyhow::anyhow!("the hub server task ended abnormally: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("postgres://wfm:s3cret@db:5432/hub"),
            "postgres://***@db:5432/hub"
        );
        assert_eq!(
            redact_url("postgres://db/hub?user=a&password=x"),
            "postgres://db/hub?user=a&password=***"
        );
        assert_eq!(
            redact_url("sqlite://data/hub.sqlite"),
            "sqlite://data/hub.sqlite"
        );
        assert_eq!(url_password("postgres://wfm:s3cret@db/hub"), Some("s3cret"));
        assert_eq!(url_password("postgres://wfm@db/hub"), None);
    }

    fn db_error(message: &str) -> StoreError {
        StoreError::Database {
            message: message.to_string(),
            retriable: false,
        }
    }

    #[test]
    fn open_errors_hint_at_the_fix_and_never_show_the_password() {
        let url = "postgres://wfm:pw123@db:5432/hub";
        let refused = open_error(
            url,
            &db_error("connection refused; url postgres://wfm:pw123@db:5432/hub"),
        );
        assert!(!refused.contains("pw123"), "{refused}");
        assert!(refused.contains("postgres://***@db:5432/hub"));
        assert!(
            refused.ends_with("is PostgreSQL running and reachable?"),
            "{refused}"
        );
        let role = open_error(url, &db_error("role \"wfm\" does not exist"));
        assert!(
            role.ends_with("check the user and password in storage.url"),
            "{role}"
        );
        let db = open_error(url, &db_error("database \"hub\" does not exist"));
        assert!(
            db.ends_with("create the database first (CREATE DATABASE …)"),
            "{db}"
        );
        let sqlite = open_error(
            "sqlite://x/y.sqlite",
            &db_error("unable to open database file"),
        );
        assert!(
            sqlite.contains("directory exists and is writable"),
            "{sqlite}"
        );
    }
}

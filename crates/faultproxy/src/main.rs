//! `wfm-faultproxy`: run the fault proxy standalone in front of a hub.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use wfm_faultproxy::{FaultMode, FaultProxy, HttpFault};

/// Fault-injecting TCP/HTTP proxy for delivery tests and benchmarks (loopback only by intent).
#[derive(Debug, Parser)]
#[command(name = "wfm-faultproxy", version)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long)]
    listen: SocketAddr,
    /// Upstream (hub) address, e.g. 127.0.0.1:9443.
    #[arg(long)]
    upstream: SocketAddr,
    /// Delay added before each forwarded chunk, each way (ignored if --mode is not pass).
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Fault mode: pass | reset | cut | blackhole | truncate:N | bandwidth:BYTES_PER_SEC.
    #[arg(long, default_value = "pass", value_parser = parse_mode)]
    mode: FaultMode,
    /// Answer requests with this HTTP status (plain-HTTP upstreams only; enables HTTP framing).
    #[arg(long)]
    http_status: Option<u16>,
    /// `Retry-After` seconds for --http-status.
    #[arg(long, requires = "http_status")]
    retry_after: Option<u64>,
    /// How many requests get --http-status.
    #[arg(long, default_value_t = 1, requires = "http_status")]
    times: usize,
}

fn parse_mode(text: &str) -> Result<FaultMode, String> {
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (text, None),
    };
    let number = |value: Option<&str>| -> Result<u64, String> {
        let value = value.ok_or_else(|| format!("mode {name} needs a number, e.g. {name}:1024"))?;
        value
            .parse()
            .map_err(|error| format!("bad number {value:?}: {error}"))
    };
    match name {
        "pass" => Ok(FaultMode::Pass),
        "reset" => Ok(FaultMode::Reset),
        "cut" => Ok(FaultMode::Cut),
        "blackhole" => Ok(FaultMode::Blackhole),
        "truncate" => Ok(FaultMode::TruncateResponses {
            after_bytes: number(value)?,
        }),
        "bandwidth" => Ok(FaultMode::Bandwidth {
            bytes_per_sec: number(value)?,
        }),
        other => Err(format!(
            "unknown mode {other:?} (pass|reset|cut|blackhole|truncate:N|bandwidth:N)"
        )),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let proxy = if args.http_status.is_some() {
        FaultProxy::spawn_http(args.upstream, Some(args.listen)).await?
    } else {
        FaultProxy::spawn(args.upstream, Some(args.listen)).await?
    };
    let mode = match (&args.mode, args.latency_ms) {
        (FaultMode::Pass, Some(ms)) => FaultMode::Latency {
            per_chunk: Duration::from_millis(ms),
        },
        (mode, _) => mode.clone(),
    };
    proxy.set(mode.clone());
    if let Some(code) = args.http_status {
        let fault = HttpFault::Status {
            code,
            retry_after: args.retry_after,
            times: args.times,
        };
        if let Err(error) = proxy.inject(fault) {
            tracing::error!(%error, "cannot inject HTTP fault");
        }
    }
    tracing::info!(listen = %proxy.addr(), upstream = %args.upstream, ?mode, "wfm-faultproxy running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    let stats = proxy.stats();
    tracing::info!(
        ?stats,
        faults = stats.faults_applied(),
        "wfm-faultproxy stopping"
    );
    proxy.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_the_command_line() {
        assert_eq!(parse_mode("reset"), Ok(FaultMode::Reset));
        assert_eq!(
            parse_mode("truncate:10"),
            Ok(FaultMode::TruncateResponses { after_bytes: 10 })
        );
        assert_eq!(
            parse_mode("bandwidth:500"),
            Ok(FaultMode::Bandwidth { bytes_per_sec: 500 })
        );
        assert!(parse_mode("truncate").is_err());
        assert!(parse_mode("explode").is_err());
    }
}

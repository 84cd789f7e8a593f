//! Logging setup and every Prometheus metric of both programs, in one place.
//!
//! Owns metric names, label sets and the text exposition. Labels are bounded: config ids and fixed
//! enums, never user ids or raw error text. It must not start servers or know about any source.

pub mod metrics;
pub mod outbox;

pub use metrics::{Metrics, RequestOutcome};
pub use outbox::OutboxMetrics;

use tracing_subscriber::{fmt, EnvFilter};
use wfm_config::{LogConfig, LogFormat};

/// Installs the global `tracing` subscriber (text or JSON on stderr). `RUST_LOG` overrides the
/// configured level. Calling it twice is harmless (the second call does nothing).
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

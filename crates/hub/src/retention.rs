//! `wfm-hub retention …` and the daily purge job of `serve` (STUB: being written).

use clap::Subcommand;
use wfm_config::HubConfig;
use wfm_store::Store;

/// `wfm-hub retention …`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Print every project's retention policy.
    Show,
}

/// Runs `wfm-hub retention …`.
pub fn run(_config: &std::path::Path, _command: RetentionCommand) -> i32 {
    eprintln!("error: not implemented yet");
    1
}

/// The daily purge of `serve` (a no-op until written).
pub fn spawn_purge_job(_store: Store, _config: HubConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}

//! The `wfm-hub` binary: see [`wfm_hub::cli`].

use clap::Parser as _;

fn main() {
    let cli = wfm_hub::cli::Cli::parse();
    std::process::exit(wfm_hub::cli::run(cli));
}

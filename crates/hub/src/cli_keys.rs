//! `wfm-hub keys status|rotate`: the encryption-at-rest keys in the store (see
//! `wfm_store::ProjectCrypto` and docs/encryption.md).
//!
//! `status` prints every project's data keys (id, wrapping KEK id, reserved encryptions, which
//! is active) and needs no KEK. `rotate` gives every project a fresh data key for new writes
//! (older keys stay, wrapped, so everything written before stays readable); with
//! `--new-kek-file` it first re-wraps every data key and blind-index key under the new KEK
//! (encrypted data is not touched), after which the old KEK can be retired. Running hubs keep
//! serving: they pick the new data key up at their next reservation.
//!
//! The KEK is read from `--kek-file` (32 raw bytes or 64 hex digits) or from the environment
//! variable named by `--kek-env` (64 hex digits). Exit 78 for a KEK that cannot be read, 1 for
//! a store or unwrap failure.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use wfm_config::ConfigError;
use wfm_crypto::{KekRing, KeyEncryptionKey, LocalKek};
use wfm_store::Store;

use crate::admin::cli_projects::with_store;
use crate::cli::EXIT_FAILURE;

/// Where the current key-encryption key comes from.
#[derive(Debug, Clone, Args)]
pub struct KekArgs {
    /// File holding the KEK (32 raw bytes or 64 hex digits; keep it mode 0600, off the
    /// database host if you can).
    #[arg(long)]
    pub kek_file: Option<PathBuf>,
    /// Environment variable holding the KEK as 64 hex digits (used when --kek-file is absent).
    #[arg(long, default_value = "WFM_HUB_KEK")]
    pub kek_env: String,
    /// The KEK's id, recorded with every data key it wraps.
    #[arg(long, default_value = "kek-1")]
    pub kek_id: String,
}

/// `wfm-hub keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print every project's data keys (no key material; no KEK needed).
    Status {
        /// One JSON object per project instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A fresh data key per project for new writes; old keys kept for reading. With
    /// --new-kek-file, first re-wrap every key under the new KEK.
    Rotate {
        /// The KEK that wraps the keys now.
        #[command(flatten)]
        kek: KekArgs,
        /// The new KEK to re-wrap every data key under (32 raw bytes or 64 hex digits).
        #[arg(long)]
        new_kek_file: Option<PathBuf>,
        /// The new KEK's id (must differ from --kek-id).
        #[arg(long, default_value = "kek-2")]
        new_kek_id: String,
        /// Only re-wrap under the new KEK; do not add data keys.
        #[arg(long)]
        rewrap_only: bool,
    },
}

/// Loads the KEK named by the arguments.
pub fn load_kek(args: &KekArgs) -> Result<Arc<dyn KeyEncryptionKey>, String> {
    let kek = match &args.kek_file {
        Some(path) => LocalKek::from_file(args.kek_id.clone(), path).map_err(|e| {
            format!(
                "cannot read the KEK from {}: {e} (expected 32 raw bytes or 64 hex digits)",
                path.display()
            )
        })?,
        None => LocalKek::from_env(args.kek_id.clone(), &args.kek_env).map_err(|e| {
            format!(
                "no KEK: {e}; pass --kek-file PATH or set ${} to 64 hex digits",
                args.kek_env
            )
        })?,
    };
    Ok(Arc::new(kek))
}

/// Runs `wfm-hub keys …` against the store of `config`.
pub fn run_keys(config: &std::path::Path, command: KeysCommand) -> i32 {
    // Read the KEKs before touching the store, so a missing KEK is a configuration error.
    let plan = match &command {
        KeysCommand::Status { json } => Plan::Status { json: *json },
        KeysCommand::Rotate {
            kek,
            new_kek_file,
            new_kek_id,
            rewrap_only,
        } => {
            let current = match load_kek(kek) {
                Ok(k) => k,
                Err(e) => return config_error(&e),
            };
            let new = match new_kek_file {
                None if *rewrap_only => {
                    return config_error("--rewrap-only needs --new-kek-file");
                }
                None => None,
                Some(_) if new_kek_id == &kek.kek_id => {
                    return config_error("--new-kek-id must differ from --kek-id");
                }
                Some(path) => {
                    let args = KekArgs {
                        kek_file: Some(path.clone()),
                        kek_env: kek.kek_env.clone(),
                        kek_id: new_kek_id.clone(),
                    };
                    match load_kek(&args) {
                        Ok(k) => Some(k),
                        Err(e) => return config_error(&e),
                    }
                }
            };
            Plan::Rotate {
                current,
                new,
                rewrap_only: *rewrap_only,
            }
        }
    };
    with_store(config, |store, _| async move {
        match execute(&store, plan).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILURE
            }
        }
    })
}

enum Plan {
    Status {
        json: bool,
    },
    Rotate {
        current: Arc<dyn KeyEncryptionKey>,
        new: Option<Arc<dyn KeyEncryptionKey>>,
        rewrap_only: bool,
    },
}

fn config_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    ConfigError::EXIT_CODE
}

async fn execute(store: &Store, plan: Plan) -> Result<(), wfm_store::StoreError> {
    match plan {
        Plan::Status { json } => status(store, json).await,
        Plan::Rotate {
            current,
            new,
            rewrap_only,
        } => {
            let wrapping: Arc<dyn KeyEncryptionKey> = match new {
                Some(new) => {
                    let ring = KekRing::new(new.clone()).with_other(current);
                    let report = store.rewrap_keys(&ring).await?;
                    eprintln!(
                        "re-wrapped {} data keys of {} projects under KEK '{}'; the old KEK is \
                         no longer needed once every hub is configured with the new one",
                        report.data_keys,
                        report.projects,
                        new.id()
                    );
                    new
                }
                None => current,
            };
            if rewrap_only {
                return Ok(());
            }
            let rotated = store.rotate_data_keys(wrapping.as_ref()).await?;
            for (project, key) in &rotated {
                println!("{project}\t{key}");
            }
            eprintln!(
                "{} projects got a new data key (older keys are kept for reading)",
                rotated.len()
            );
            Ok(())
        }
    }
}

async fn status(store: &Store, json: bool) -> Result<(), wfm_store::StoreError> {
    let projects = store.key_status().await?;
    if projects.is_empty() {
        eprintln!("no encryption keys in this store yet");
        return Ok(());
    }
    for p in projects {
        if json {
            let keys: Vec<serde_json::Value> = p
                .data_keys
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "id": k.id, "kek_id": k.kek_id,
                        "encryptions": k.encryptions, "active": k.active,
                    })
                })
                .collect();
            let line = serde_json::json!({
                "project": p.project, "index_kek_id": p.index_kek_id,
                "updated_at": p.updated_at, "data_keys": keys,
            });
            println!("{line}");
            continue;
        }
        println!(
            "project {} (blind-index key wrapped by '{}', updated {})",
            p.project, p.index_kek_id, p.updated_at
        );
        for k in p.data_keys {
            let mark = if k.active { "active" } else { "read-only" };
            println!(
                "  {}\t{mark}\tkek {}\t{} encryptions reserved",
                k.id, k.kek_id, k.encryptions
            );
        }
    }
    Ok(())
}

//! Opening the process's outbox from `[outbox]`: the key (file, env, or a generated default
//! key file), the directory and the disk budget. (The outbox itself refuses a second process.)

use std::io::Write;
use std::path::{Path, PathBuf};

use wfm_config::ImporterConfig;
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};

use super::DeliveryError;

/// `<data_dir>/outbox.key`: the key file used when `[outbox]` names no key.
pub fn default_key_file(config: &ImporterConfig) -> PathBuf {
    config.importer.data_dir.join("outbox.key")
}

/// `[outbox] dir`, default `<data_dir>/outbox`.
pub fn outbox_dir(config: &ImporterConfig) -> PathBuf {
    config
        .outbox
        .dir
        .clone()
        .unwrap_or_else(|| config.importer.data_dir.join("outbox"))
}

fn create_key_file(path: &Path) -> Result<(), DeliveryError> {
    let fail = |e: std::io::Error| {
        DeliveryError::Config(format!(
            "cannot create the outbox key file {}: {e} (set [outbox] key_file or key)",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    let key: [u8; 32] = rand::random();
    file.write_all(&key).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    tracing::warn!(
        path = %path.display(),
        "created a new outbox key (32 random bytes, mode 0600); the outbox cannot be read without it: back it up, or move it off the data disk and set [outbox] key_file"
    );
    Ok(())
}

fn key(config: &ImporterConfig) -> Result<OutboxKey, DeliveryError> {
    let o = &config.outbox;
    if let Some(hex) = &o.key {
        return Ok(OutboxKey::from_hex(hex.expose())?);
    }
    let path = match &o.key_file {
        Some(p) => p.clone(),
        None => {
            let p = default_key_file(config);
            if !p.exists() {
                create_key_file(&p)?;
            }
            p
        }
    };
    Ok(OutboxKey::from_file(&path)?)
}

/// Opens the outbox described by `[outbox]` (directory default `<data_dir>/outbox`, key default
/// `<data_dir>/outbox.key`, created when missing). Blocking.
pub fn open_outbox(config: &ImporterConfig) -> Result<Outbox, DeliveryError> {
    let mut cfg = OutboxConfig::new(outbox_dir(config), key(config)?);
    if let Some(mib) = config.outbox.max_mib {
        cfg.max_bytes = mib.saturating_mul(1024 * 1024);
        cfg.segment_bytes = cfg.segment_bytes.min(cfg.max_bytes / 4).max(1024 * 1024);
    }
    let (outbox, report) = Outbox::open(cfg)?;
    if report.truncated_records > 0 {
        tracing::warn!(
            records = report.truncated_records,
            file = ?report.truncated_file,
            "outbox: a torn tail was truncated on open (never acknowledged data)"
        );
    }
    Ok(outbox)
}

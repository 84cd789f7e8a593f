//! `[encryption]` of `hub.toml`: where `serve` gets the key-encryption key that wraps every
//! project's data keys (see `wfm_store::Store::with_encryption` and docs/encryption.md).
//!
//! Order: `kek_file` when set (it must exist); else the variable named by `kek_env` when set;
//! else, on SQLite, `<database file>.kek`, read when present and created (64 hex digits, mode
//! 0600) on first start otherwise. PostgreSQL has no such default: several replicas share the
//! database and must share the KEK, so one of the first two is required.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wfm_config::{EncryptionConfig, HubConfig};
use wfm_crypto::{KeyEncryptionKey, LocalKek};

/// Where the KEK came from (for the start-up log line; never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    /// A configured file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// The default file next to the SQLite database, created now.
    Created(PathBuf),
    /// The default file next to the SQLite database, present before.
    Default(PathBuf),
    /// A throwaway key for an in-memory SQLite database.
    Ephemeral,
}

impl std::fmt::Display for KekSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KekSource::File(p) => write!(f, "file {}", p.display()),
            KekSource::Env(v) => write!(f, "${v}"),
            KekSource::Created(p) => write!(f, "new file {} (created now)", p.display()),
            KekSource::Default(p) => write!(f, "file {}", p.display()),
            KekSource::Ephemeral => write!(f, "a throwaway key (in-memory database)"),
        }
    }
}

/// A loaded KEK and where it came from.
pub type LoadedKek = (Arc<dyn KeyEncryptionKey>, KekSource);

/// The SQLite database file of a `sqlite:` URL (`None` for an in-memory database).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The default KEK file of a SQLite database: `<database file>.kek`.
pub fn default_kek_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".kek");
    PathBuf::from(name)
}

/// The KEK `[encryption]` names (`None` when encryption at rest is switched off). Errors name
/// the setting to fix.
pub fn load_kek(config: &HubConfig) -> Result<Option<LoadedKek>, String> {
    let enc: &EncryptionConfig = &config.encryption;
    if !enc.enabled {
        return Ok(None);
    }
    let id = enc.kek_id.clone();
    let loaded = if let Some(path) = &enc.kek_file {
        let kek = LocalKek::from_file(id, path).map_err(|e| {
            format!(
                "[encryption] kek_file: cannot read the KEK from {}: {e} (expected 32 raw bytes \
                 or 64 hex digits, e.g. `openssl rand -hex 32 > {}`)",
                path.display(),
                path.display()
            )
        })?;
        (kek, KekSource::File(path.clone()))
    } else if std::env::var_os(&enc.kek_env).is_some() {
        let kek = LocalKek::from_env(id, &enc.kek_env).map_err(|e| {
            format!(
                "[encryption] kek_env: ${} does not hold a KEK: {e} (expected 64 hex digits)",
                enc.kek_env
            )
        })?;
        (kek, KekSource::Env(enc.kek_env.clone()))
    } else if config.storage.url.starts_with("sqlite:") {
        match sqlite_file(&config.storage.url) {
            None => (
                LocalKek::generate(id).map_err(|e| format!("cannot generate a KEK: {e}"))?,
                KekSource::Ephemeral,
            ),
            Some(database) => {
                let path = default_kek_file(&database);
                if path.exists() {
                    let kek = LocalKek::from_file(id, &path).map_err(|e| {
                        format!(
                            "cannot read the KEK from {}: {e} (set [encryption] kek_file to the \
                             KEK that sealed this database)",
                            path.display()
                        )
                    })?;
                    (kek, KekSource::Default(path))
                } else {
                    let kek = LocalKek::create_file(id, &path).map_err(|e| {
                        format!(
                            "cannot create the KEK file {}: {e} (set [encryption] kek_file, or \
                             ${} to 64 hex digits)",
                            path.display(),
                            enc.kek_env
                        )
                    })?;
                    (kek, KekSource::Created(path))
                }
            }
        }
    } else {
        return Err(format!(
            "[encryption] needs a key-encryption key for PostgreSQL: set kek_file (32 raw bytes \
             or 64 hex digits, e.g. `openssl rand -hex 32`) or ${} — every hub replica sharing \
             the database needs the same one — or set enabled = false",
            enc.kek_env
        ));
    };
    let (kek, source) = loaded;
    Ok(Some((Arc::new(kek), source)))
}

/// What `check-config` says about `[encryption]`: where the KEK comes from (read, never
/// created), or the problem.
pub fn describe(config: &HubConfig) -> Result<String, String> {
    let enc = &config.encryption;
    if !enc.enabled {
        return Ok("encryption at rest OFF".to_string());
    }
    let pending = if enc.kek_file.is_none() && std::env::var_os(&enc.kek_env).is_none() {
        sqlite_file(&config.storage.url)
            .map(|db| default_kek_file(&db))
            .filter(|path| !path.exists())
    } else {
        None
    };
    if let Some(path) = pending {
        return Ok(format!(
            "encryption at rest on, KEK created on first start at {}",
            path.display()
        ));
    }
    let (kek, source) = load_kek(config)?.ok_or_else(|| "encryption at rest is off".to_string())?;
    Ok(format!(
        "encryption at rest on, KEK '{}' from {source}",
        kek.id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_database_file() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/wfm/hub.sqlite?mode=rwc"),
            Some(PathBuf::from("/var/lib/wfm/hub.sqlite"))
        );
        assert_eq!(
            sqlite_file("sqlite://hub.sqlite"),
            Some(PathBuf::from("hub.sqlite"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            default_kek_file(Path::new("/d/hub.sqlite")),
            PathBuf::from("/d/hub.sqlite.kek")
        );
    }
}

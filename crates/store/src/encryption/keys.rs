//! The `encryption_keys` table: creating, unwrapping, reserving, rotating, re-wrapping and
//! listing a project's keys (see the parent module for the contract).

use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use wfm_crypto::{DataKey, KeyEncryptionKey, ProjectKeys, StoredProjectKeys, WrappedKey};
use wfm_model::ProjectId;

use super::{crypto_error, DataKeyStatus, ProjectCrypto, ProjectKeyStatus, RewrapReport};
use crate::common::format_time;
use crate::error::StoreError;
use crate::{Db, Store};

/// How often an optimistic key update is retried when another writer got in between.
const UPDATE_ATTEMPTS: usize = 16;

/// A stored key row.
struct KeyRow {
    project: String,
    data_keys: StoredProjectKeys,
    index_key: WrappedKey,
    version: i64,
    updated_at: String,
}

type RawRow = (String, String, String, i64, String);

fn decode_row(raw: RawRow) -> Result<KeyRow, StoreError> {
    let (project, data_keys, index_key, version, updated_at) = raw;
    Ok(KeyRow {
        data_keys: serde_json::from_str(&data_keys)?,
        index_key: serde_json::from_str(&index_key)?,
        project,
        version,
        updated_at,
    })
}

const SELECT_ROW: &str = "SELECT project, data_keys, index_key, version, updated_at \
                          FROM encryption_keys";

macro_rules! with_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

fn unwrap_all(
    row: &KeyRow,
    kek: &dyn KeyEncryptionKey,
) -> Result<(ProjectKeys, DataKey), StoreError> {
    let what = format!(
        "cannot unwrap the data keys of project '{}' (is the configured KEK the one that \
         wrapped them? `wfm-hub keys status` names the KEK ids in use)",
        row.project
    );
    let mut keys = ProjectKeys::load(&row.data_keys, kek).map_err(|e| crypto_error(&what, e))?;
    keys.set_encryption_limit(u64::MAX);
    let index_key = kek
        .unwrap(&row.index_key)
        .map_err(|e| crypto_error(&what, e))?;
    Ok((keys, index_key))
}

impl Store {
    async fn key_row(&self, project: &str) -> Result<Option<KeyRow>, StoreError> {
        let sql = format!("{SELECT_ROW} WHERE project = $1");
        let raw: Option<RawRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project).fetch_optional(pool).await?
        });
        raw.map(decode_row).transpose()
    }

    async fn key_rows(&self) -> Result<Vec<KeyRow>, StoreError> {
        let sql = format!("{SELECT_ROW} ORDER BY project");
        let raw: Vec<RawRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        raw.into_iter().map(decode_row).collect()
    }

    /// Writes `data_keys`/`index_key` if the row is still at `version`; false when another
    /// writer changed it first (reload and retry).
    async fn update_key_row(
        &self,
        project: &str,
        data_keys: &StoredProjectKeys,
        index_key: &WrappedKey,
        version: i64,
    ) -> Result<bool, StoreError> {
        let data_keys = serde_json::to_string(data_keys)?;
        let index_key = serde_json::to_string(index_key)?;
        let now = format_time(OffsetDateTime::now_utc());
        let sql = "UPDATE encryption_keys SET data_keys = $1, index_key = $2, \
                   version = version + 1, updated_at = $3 WHERE project = $4 AND version = $5";
        let affected = with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&data_keys)
                .bind(&index_key)
                .bind(&now)
                .bind(project)
                .bind(version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Creates the project's keys on first use (one data key and one blind-index key, wrapped by
    /// `kek`); another writer creating them at the same time wins and its keys are used.
    async fn create_key_row(
        &self,
        project: &str,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<(), StoreError> {
        let keys = ProjectKeys::create(kek)
            .map_err(|e| crypto_error("cannot create a data key (KEK wrap failed)", e))?;
        let index_key = kek
            .wrap(&DataKey::generate())
            .map_err(|e| crypto_error("cannot create the blind-index key (KEK wrap failed)", e))?;
        let data_keys = serde_json::to_string(&keys.export())?;
        let index_key = serde_json::to_string(&index_key)?;
        let now = format_time(OffsetDateTime::now_utc());
        let sql =
            "INSERT INTO encryption_keys (project, data_keys, index_key, version, updated_at) \
                   VALUES ($1, $2, $3, 0, $4) ON CONFLICT (project) DO NOTHING";
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(project)
                .bind(&data_keys)
                .bind(&index_key)
                .bind(&now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The id of the project's active data key as stored (`None` when it has no keys yet):
    /// lets a process notice a rotation made by another one.
    pub(crate) async fn stored_active_key(
        &self,
        project: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .key_row(project)
            .await?
            .map(|row| row.data_keys.active.as_str().to_string()))
    }

    /// The project's keys unwrapped with `kek` (a [`wfm_crypto::KekRing`] during a KEK
    /// rotation), created on first use. `limit` bounds encryptions per data key (see
    /// [`wfm_crypto::DEFAULT_ENCRYPTION_LIMIT`]). Nothing is reserved yet.
    ///
    /// Errors: [`StoreError::Encryption`] when `kek` cannot unwrap the stored keys (wrong or
    /// missing KEK), [`StoreError::Database`].
    pub async fn project_crypto(
        &self,
        project: &ProjectId,
        kek: &dyn KeyEncryptionKey,
        limit: u64,
    ) -> Result<ProjectCrypto, StoreError> {
        let p = project.as_str();
        let row = match self.key_row(p).await? {
            Some(row) => row,
            None => {
                self.create_key_row(p, kek).await?;
                self.key_row(p).await?.ok_or_else(|| {
                    StoreError::corrupt(format!("keys of project '{p}' vanished after creation"))
                })?
            }
        };
        let (keys, index_key) = unwrap_all(&row, kek)?;
        Ok(ProjectCrypto {
            project: p.to_string(),
            keys,
            index_key,
            allowance: AtomicU64::new(0),
            limit: limit.max(1),
        })
    }

    /// Reserves `n` more encryptions for `crypto`: adds `n` to the active data key's stored
    /// counter (rotating first to a fresh data key wrapped by `kek` when the counter would pass
    /// the bound) and only then lets `crypto` seal `n` more values. Picks up a data key rotated
    /// by another process. Retries by itself when another writer changed the keys meanwhile.
    ///
    /// Errors: [`StoreError::Encryption`] for `n` above the bound or a KEK that cannot
    /// unwrap/wrap; [`StoreError::Database`] (retriable when transient, also when the keys kept
    /// changing under 16 attempts).
    pub async fn reserve_encryptions(
        &self,
        crypto: &mut ProjectCrypto,
        kek: &dyn KeyEncryptionKey,
        n: u64,
    ) -> Result<(), StoreError> {
        if n > crypto.limit {
            return Err(StoreError::Encryption(format!(
                "cannot reserve {n} encryptions: the bound per data key is {}",
                crypto.limit
            )));
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(row) = self.key_row(&crypto.project).await? else {
                return Err(StoreError::corrupt(format!(
                    "keys of project '{}' are missing",
                    crypto.project
                )));
            };
            let mut stored = row.data_keys.clone();
            let mut used = active_count(&stored)?;
            if used.saturating_add(n) > crypto.limit {
                let (mut keys, _) = unwrap_all(&row, kek)?;
                keys.rotate_data_key(kek)
                    .map_err(|e| crypto_error("cannot rotate the data key", e))?;
                stored = keys.export();
                used = 0;
            }
            set_active_count(&mut stored, used + n)?;
            if !self
                .update_key_row(&crypto.project, &stored, &row.index_key, row.version)
                .await?
            {
                continue;
            }
            let reloaded = KeyRow {
                data_keys: stored,
                ..row
            };
            let same_keys = crypto.keys.key_ids().len() == reloaded.data_keys.keys.len()
                && crypto.keys.active_key_id() == &reloaded.data_keys.active;
            if same_keys {
                crypto.allowance.fetch_add(n, Ordering::SeqCst);
            } else {
                let (keys, index_key) = unwrap_all(&reloaded, kek)?;
                crypto.keys = keys;
                crypto.index_key = index_key;
                crypto.allowance.store(n, Ordering::SeqCst);
            }
            return Ok(());
        }
        Err(StoreError::Database {
            message: format!(
                "the keys of project '{}' kept changing; try again",
                crypto.project
            ),
            retriable: true,
        })
    }

    /// Rotates the data key of every project that has keys: a fresh data key wrapped by `kek`
    /// seals new values from now on; older keys are kept so everything written before stays
    /// readable. Running hubs pick the new key up at their next reservation (no downtime).
    /// Answers (project, new data key id) pairs.
    pub async fn rotate_data_keys(
        &self,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut rotated = Vec::new();
        for first in self.key_rows().await? {
            let mut row = first;
            let mut done = false;
            for _ in 0..UPDATE_ATTEMPTS {
                let (mut keys, _) = unwrap_all(&row, kek)?;
                let id = keys
                    .rotate_data_key(kek)
                    .map_err(|e| crypto_error("cannot rotate the data key", e))?;
                let stored = with_counts(keys.export(), &row.data_keys);
                if self
                    .update_key_row(&row.project, &stored, &row.index_key, row.version)
                    .await?
                {
                    rotated.push((row.project.clone(), id.to_string()));
                    done = true;
                    break;
                }
                row = reread(self, &row.project).await?;
            }
            if !done {
                return Err(busy(&row.project));
            }
        }
        Ok(rotated)
    }

    /// Re-wraps every project's data keys and blind-index key with the current KEK of `ring`
    /// (the ring must also hold the KEKs that wrapped them). Encrypted data is not touched.
    /// Afterwards `keys status` shows only the new KEK id and the old KEK can be retired.
    pub async fn rewrap_keys(
        &self,
        ring: &dyn KeyEncryptionKey,
    ) -> Result<RewrapReport, StoreError> {
        let mut report = RewrapReport::default();
        for first in self.key_rows().await? {
            let mut row = first;
            let mut done = false;
            for _ in 0..UPDATE_ATTEMPTS {
                let (mut keys, index_key) = unwrap_all(&row, ring)?;
                keys.rewrap(ring)
                    .map_err(|e| crypto_error("cannot re-wrap a data key", e))?;
                let index = ring
                    .wrap(&index_key)
                    .map_err(|e| crypto_error("cannot re-wrap the blind-index key", e))?;
                let stored = with_counts(keys.export(), &row.data_keys);
                if self
                    .update_key_row(&row.project, &stored, &index, row.version)
                    .await?
                {
                    report.projects += 1;
                    report.data_keys += u64::try_from(stored.keys.len()).unwrap_or(u64::MAX);
                    done = true;
                    break;
                }
                row = reread(self, &row.project).await?;
            }
            if !done {
                return Err(busy(&row.project));
            }
        }
        Ok(report)
    }

    /// Every project's keys: ids, wrapping KEK ids and counters (no key material, no KEK
    /// needed).
    pub async fn key_status(&self) -> Result<Vec<ProjectKeyStatus>, StoreError> {
        let mut out = Vec::new();
        for row in self.key_rows().await? {
            let data_keys = row
                .data_keys
                .keys
                .iter()
                .map(|k| DataKeyStatus {
                    id: k.wrapped.key_id.to_string(),
                    kek_id: k.wrapped.kek_id.clone(),
                    encryptions: k.encryptions,
                    active: k.wrapped.key_id == row.data_keys.active,
                })
                .collect();
            out.push(ProjectKeyStatus {
                project: row.project,
                data_keys,
                index_kek_id: row.index_key.kek_id,
                updated_at: row.updated_at,
            });
        }
        Ok(out)
    }
}

async fn reread(store: &Store, project: &str) -> Result<KeyRow, StoreError> {
    store
        .key_row(project)
        .await?
        .ok_or_else(|| StoreError::corrupt(format!("keys of project '{project}' vanished")))
}

fn busy(project: &str) -> StoreError {
    StoreError::Database {
        message: format!("the keys of project '{project}' kept changing; try again"),
        retriable: true,
    }
}

/// The stored counter of the active data key.
fn active_count(stored: &StoredProjectKeys) -> Result<u64, StoreError> {
    stored
        .keys
        .iter()
        .find(|k| k.wrapped.key_id == stored.active)
        .map(|k| k.encryptions)
        .ok_or_else(|| StoreError::corrupt("stored keys lack their active data key"))
}

fn set_active_count(stored: &mut StoredProjectKeys, count: u64) -> Result<(), StoreError> {
    let active = stored.active.clone();
    match stored.keys.iter_mut().find(|k| k.wrapped.key_id == active) {
        Some(entry) => {
            entry.encryptions = count;
            Ok(())
        }
        None => Err(StoreError::corrupt(
            "stored keys lack their active data key",
        )),
    }
}

/// `exported` with every key's counter taken from `before` where known (an exported
/// [`ProjectKeys`] counts only what this process encrypted, the stored counter is the bound).
fn with_counts(mut exported: StoredProjectKeys, before: &StoredProjectKeys) -> StoredProjectKeys {
    for entry in &mut exported.keys {
        if let Some(old) = before
            .keys
            .iter()
            .find(|k| k.wrapped.key_id == entry.wrapped.key_id)
        {
            entry.encryptions = entry.encryptions.max(old.encryptions);
        }
    }
    exported
}

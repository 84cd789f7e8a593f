//! Bulk uploads: the records of the pre-signed object-storage uploads the hub hands out for large
//! batches (who asked, for which route, the announced plaintext size and SHA-256, the data key,
//! the expiry) and the stored answer of their ingest, so that a repeated ingest with the same
//! idempotency key replays it after the object is gone.
//!
//! The SQL is the same on both backends (plain `$n` parameters, no backend-specific syntax). The
//! data key is cleared when the upload is ingested. Every query is scoped by project.

use crate::common::{format_time, to_i64, to_u64};
use crate::encryption::Fields;
use crate::error::StoreError;
use crate::{Db, Store};
use time::OffsetDateTime;
use wfm_model::ProjectId;

/// A new upload, as recorded when the hub hands out its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBulkUpload {
    /// Upload id (UUID text).
    pub id: String,
    /// Wire name of the direct route the batch is for (`intervals`, `agent_states`, …).
    pub route: String,
    /// Object key in the bucket.
    pub object_path: String,
    /// Announced plaintext size in bytes.
    pub bytes: u64,
    /// Announced lowercase hex SHA-256 of the plaintext.
    pub sha256: String,
    /// Base64 AES-256-GCM data key the object is encrypted with.
    pub data_key: String,
    /// When the URL was handed out.
    pub created_at: OffsetDateTime,
    /// When the URL and the upload expire.
    pub expires_at: OffsetDateTime,
}

/// The stored answer of an ingested upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkAnswer {
    /// Idempotency key the ingest was made with.
    pub idempotency_key: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// JSON body of the answer.
    pub body: String,
}

/// One stored upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkUpload {
    /// Upload id.
    pub id: String,
    /// Wire name of the route.
    pub route: String,
    /// Object key in the bucket.
    pub object_path: String,
    /// Announced plaintext size.
    pub bytes: u64,
    /// Announced plaintext SHA-256 (hex).
    pub sha256: String,
    /// The data key (base64); `None` once ingested.
    pub data_key: Option<String>,
    /// When the URL was handed out (RFC 3339).
    pub created_at: String,
    /// Expiry, UTC epoch milliseconds.
    pub expires_ms: i64,
    /// When it was ingested (RFC 3339), if it was.
    pub ingested_at: Option<String>,
    /// The ingest's answer, if it was ingested.
    pub answer: Option<BulkAnswer>,
}

impl BulkUpload {
    /// True when `now` is at or past the expiry.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        millis(now) >= self.expires_ms
    }
}

/// UTC epoch milliseconds of an instant (saturating).
fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

const COLUMNS: &str = "id, route, object_path, bytes, sha256, data_key, created_at, expires_ms, \
     ingested_at, idempotency_key, answer_status, answer_body";

/// Runs the same block with the pool of either backend bound to `$pool`.
macro_rules! with_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// Decodes one `bulk_uploads` row.
fn decode<R>(fields: &Fields, row: &R) -> Result<BulkUpload, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let key: Option<String> = row.try_get("idempotency_key")?;
    let status: Option<i64> = row.try_get("answer_status")?;
    let id: String = row.try_get("id")?;
    let body: Option<String> = row.try_get("answer_body")?;
    let body = fields.open_opt("bulk_uploads", "answer_body", &id, body)?;
    let data_key: Option<String> = row.try_get("data_key")?;
    let data_key = fields.open_opt("bulk_uploads", "data_key", &id, data_key)?;
    let answer = match (key, status, body) {
        (Some(idempotency_key), Some(status), Some(body)) => Some(BulkAnswer {
            idempotency_key,
            status: u16::try_from(status)
                .map_err(|_| StoreError::Corrupt(format!("bulk answer status {status}")))?,
            body,
        }),
        _ => None,
    };
    Ok(BulkUpload {
        id,
        route: row.try_get("route")?,
        object_path: row.try_get("object_path")?,
        bytes: to_u64(row.try_get("bytes")?),
        sha256: row.try_get("sha256")?,
        data_key,
        created_at: row.try_get("created_at")?,
        expires_ms: row.try_get("expires_ms")?,
        ingested_at: row.try_get("ingested_at")?,
        answer,
    })
}

impl Store {
    /// Records a new upload of `project`. Errors: [`StoreError::UnknownProject`] when the
    /// project does not exist, [`StoreError::Database`].
    pub async fn create_bulk_upload(
        &self,
        project: &ProjectId,
        upload: &NewBulkUpload,
    ) -> Result<(), StoreError> {
        if !self.project_exists(project).await? {
            return Err(StoreError::UnknownProject(project.to_string()));
        }
        let sql = "INSERT INTO bulk_uploads (id, project_id, route, object_path, bytes, sha256, \
                   data_key, created_at, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        self.sealed(project, |fields| async move {
            let data_key = fields.seal("bulk_uploads", "data_key", &upload.id, &upload.data_key)?;
            with_pool!(self, pool => {
                sqlx::query(sql)
                    .bind(&upload.id)
                    .bind(project.as_str())
                    .bind(&upload.route)
                    .bind(&upload.object_path)
                    .bind(to_i64(upload.bytes))
                    .bind(&upload.sha256)
                    .bind(&data_key)
                    .bind(format_time(upload.created_at))
                    .bind(millis(upload.expires_at))
                    .execute(pool)
                    .await?;
            });
            Ok(())
        })
        .await
    }

    /// One upload of `project`; `None` for an unknown id and for another project's id alike.
    pub async fn bulk_upload(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Option<BulkUpload>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM bulk_uploads WHERE project_id = $1 AND id = $2");
        self.sealed(project, |fields| {
            let sql = &sql;
            async move {
                with_pool!(self, pool => {
                    let row = sqlx::query(sql)
                        .bind(project.as_str())
                        .bind(id)
                        .fetch_optional(pool)
                        .await?;
                    row.as_ref().map(|r| decode(&fields, r)).transpose()
                })
            }
        })
        .await
    }

    /// The newest `limit` uploads of `project` (at most 1000), newest first.
    pub async fn bulk_uploads(
        &self,
        project: &ProjectId,
        limit: u64,
    ) -> Result<Vec<BulkUpload>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bulk_uploads WHERE project_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2"
        );
        let limit = to_i64(limit.clamp(1, 1000));
        self.sealed(project, |fields| {
            let sql = &sql;
            async move {
                with_pool!(self, pool => {
                    let rows = sqlx::query(sql)
                        .bind(project.as_str())
                        .bind(limit)
                        .fetch_all(pool)
                        .await?;
                    rows.iter().map(|r| decode(&fields, r)).collect()
                })
            }
        })
        .await
    }

    /// Binds a not yet ingested upload to the idempotency key of its first ingest, so that no
    /// other key can apply it: answers `true` when the upload is (now) bound to `key`, `false`
    /// when it is bound to another key, already ingested, or not in `project`.
    pub async fn claim_bulk_upload(
        &self,
        project: &ProjectId,
        id: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE bulk_uploads SET idempotency_key = $1 \
                   WHERE project_id = $2 AND id = $3 AND ingested_at IS NULL \
                   AND (idempotency_key IS NULL OR idempotency_key = $1)";
        let changed = with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(key)
                .bind(project.as_str())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Stores the ingest answer of an upload and clears its data key. Only the first ingest
    /// counts: answers `false` (and changes nothing) when the upload was already ingested or does
    /// not exist in `project`.
    pub async fn finish_bulk_upload(
        &self,
        project: &ProjectId,
        id: &str,
        answer: &BulkAnswer,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE bulk_uploads SET ingested_at = $1, idempotency_key = $2, \
                   answer_status = $3, answer_body = $4, data_key = NULL \
                   WHERE project_id = $5 AND id = $6 AND ingested_at IS NULL";
        self.sealed(project, |fields| async move {
            let body = fields.seal("bulk_uploads", "answer_body", id, &answer.body)?;
            let changed = with_pool!(self, pool => {
                sqlx::query(sql)
                    .bind(format_time(now))
                    .bind(&answer.idempotency_key)
                    .bind(i64::from(answer.status))
                    .bind(&body)
                    .bind(project.as_str())
                    .bind(id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed == 1)
        })
        .await
    }

    /// Removes the records of uploads of every project that expired before `before` and were
    /// never ingested (their data keys go with them); answers how many.
    pub async fn purge_expired_bulk_uploads(
        &self,
        before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM bulk_uploads WHERE ingested_at IS NULL AND expires_ms < $1";
        let removed = with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(millis(before))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed)
    }
}

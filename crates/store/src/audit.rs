//! The audit log: append-only and hash-chained. Entry `n` stores `prev_hash` (the hash of entry
//! `n-1`, or of the anchor) and `hash = SHA-256(prev_hash "|" canonical content)`, where the
//! canonical content is the JSON array `[seq, at, project, principal, source, action, outcome,
//! detail]`. One `audit_head` row holds the chain head and the anchor (the last purged entry);
//! every append locks it (`BEGIN IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` on PostgreSQL), so
//! concurrent writers, also in several hub processes sharing one PostgreSQL, yield one chain.
//!
//! [`Store::verify_audit`] recomputes the chain and names the first bad entry: modified (its
//! content does not match its hash), removed (a sequence number is missing, also at the end), or
//! reordered (its link does not point at the entry before it).

use crate::common::{format_time, to_i64};
use crate::error::StoreError;
use crate::{Db, Store};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The hash the first entry links to (and the anchor before any purge).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Entries verified per read.
const VERIFY_CHUNK: i64 = 5_000;

/// Something that happened, to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEvent {
    /// When.
    pub at: Option<OffsetDateTime>,
    /// The project concerned, if known.
    pub project: Option<String>,
    /// Who: a token id, `config:<project>` for a legacy config token, `cli` for the command line.
    pub principal: Option<String>,
    /// Client address (`ip:port`), or `cli`.
    pub source: Option<String>,
    /// What, e.g. `auth`, `token.issue`, `project.delete`, `export.intervals_csv`.
    pub action: String,
    /// `success`, or `failure:<reason>` / `denied:<reason>`.
    pub outcome: String,
    /// Free detail (route, ids, counts); never a secret.
    pub detail: Option<String>,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the chain (1, 2, …).
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Project.
    pub project: Option<String>,
    /// Principal.
    pub principal: Option<String>,
    /// Source address.
    pub source: Option<String>,
    /// Action.
    pub action: String,
    /// Outcome.
    pub outcome: String,
    /// Detail.
    pub detail: Option<String>,
    /// Hash of the entry before.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Which entries [`Store::audit_entries`] answers (all filters combine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this project.
    pub project: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only this action.
    pub action: Option<String>,
    /// Only outcomes starting with this text (`failure` matches every `failure:<reason>`).
    pub outcome: Option<String>,
    /// At most this many (newest kept; default 1000).
    pub limit: Option<u64>,
}

/// The first problem [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditProblem {
    /// The entry's content does not match its hash.
    #[error("audit entry {seq} was modified: its content does not match its hash")]
    Modified {
        /// The entry.
        seq: i64,
    },
    /// An entry is missing.
    #[error("audit entry {seq} was removed: the chain goes from {before} to {after}")]
    Removed {
        /// The missing sequence number.
        seq: i64,
        /// The last good entry (or the anchor).
        before: i64,
        /// The next entry present (or the head's number when it is missing at the end).
        after: i64,
    },
    /// The entry does not link to the one before it.
    #[error("audit entry {seq} is out of order: it does not link to entry {before}")]
    Reordered {
        /// The entry.
        seq: i64,
        /// The entry it should link to.
        before: i64,
    },
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries checked.
    pub checked: u64,
    /// The anchor (last purged entry; 0 before any purge).
    pub anchor_seq: i64,
    /// The chain head (last entry).
    pub head_seq: i64,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
}

/// The hash of an entry from its link and content.
fn entry_hash(e: &AuditEntry) -> String {
    let content = serde_json::json!([
        e.seq,
        e.at,
        e.project,
        e.principal,
        e.source,
        e.action,
        e.outcome,
        e.detail
    ]);
    let mut h = Sha256::new();
    h.update(e.prev_hash.as_bytes());
    h.update(b"|");
    h.update(content.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

const ENTRY_COLUMNS: &str =
    "seq, at, project_id, principal, source, action, outcome, detail, prev_hash, hash";

fn decode_entry<R>(row: &R) -> Result<AuditEntry, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        project: row.try_get("project_id")?,
        principal: row.try_get("principal")?,
        source: row.try_get("source")?,
        action: row.try_get("action")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Runs `$body` in a transaction `$tx` that holds the chain-head lock, with `$head` = the
/// locked `(seq, hash, anchor_seq, anchor_hash)`; commits after it.
macro_rules! with_head_locked {
    ($self:ident, $tx:ident, $head:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let $head: (i64, String, i64, String) = sqlx::query_as(
                    "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head WHERE id = 1",
                )
                .fetch_one(&mut *$tx)
                .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let $head: (i64, String, i64, String) = sqlx::query_as(
                    "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head \
                     WHERE id = 1 FOR UPDATE",
                )
                .fetch_one(&mut *$tx)
                .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Inserts the entry after `(seq, hash)` and moves the head; answers the new entry.
macro_rules! insert_entry {
    ($tx:ident, $prev_seq:expr, $prev_hash:expr, $event:expr, $at:expr) => {{
        let mut entry = AuditEntry {
            seq: $prev_seq + 1,
            at: $at,
            project: $event.project.clone(),
            principal: $event.principal.clone(),
            source: $event.source.clone(),
            action: $event.action.clone(),
            outcome: $event.outcome.clone(),
            detail: $event.detail.clone(),
            prev_hash: $prev_hash,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, project_id, principal, source, action, outcome, \
             detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(entry.seq)
        .bind(&entry.at)
        .bind(&entry.project)
        .bind(&entry.principal)
        .bind(&entry.source)
        .bind(&entry.action)
        .bind(&entry.outcome)
        .bind(&entry.detail)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(entry.seq)
            .bind(&entry.hash)
            .execute(&mut *$tx)
            .await?;
        entry
    }};
}

impl Store {
    /// Appends one entry at the chain head (in its own short transaction holding the head lock)
    /// and answers it. `event.at` defaults to now.
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, StoreError> {
        let at = format_time(event.at.unwrap_or_else(OffsetDateTime::now_utc));
        let entry = with_head_locked!(self, tx, head => {
            insert_entry!(tx, head.0, head.1, event, at)
        });
        Ok(entry)
    }

    /// Entries matching `filter`, oldest first (the newest `limit` of them).
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log \
             WHERE ($1 IS NULL OR project_id = $1) AND ($2 IS NULL OR at >= $2) \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR outcome = $4 OR outcome LIKE $5) \
             ORDER BY seq DESC LIMIT $6"
        );
        let since = filter.since.map(format_time);
        let like = filter.outcome.as_ref().map(|o| format!("{o}:%"));
        let limit = to_i64(filter.limit.unwrap_or(1000).clamp(1, 1_000_000));
        let mut entries: Vec<AuditEntry> = match &self.db {
            Db::Sqlite(pool) => {
                let rows = sqlx::query(&sql)
                    .bind(&filter.project)
                    .bind(&since)
                    .bind(&filter.action)
                    .bind(&filter.outcome)
                    .bind(&like)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(decode_entry).collect::<Result<_, _>>()?
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(&sql)
                    .bind(&filter.project)
                    .bind(&since)
                    .bind(&filter.action)
                    .bind(&filter.outcome)
                    .bind(&like)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(decode_entry).collect::<Result<_, _>>()?
            }
        };
        entries.reverse();
        Ok(entries)
    }

    /// Recomputes the whole chain from the anchor to the head and reports the first problem.
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        let head_sql = "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_head WHERE id = 1";
        let page_sql =
            format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let (head_seq, _head_hash, anchor_seq, anchor_hash): (i64, String, i64, String) =
            match &self.db {
                Db::Sqlite(pool) => sqlx::query_as(head_sql).fetch_one(pool).await?,
                Db::Postgres(pool) => sqlx::query_as(head_sql).fetch_one(pool).await?,
            };
        let mut report = AuditVerification {
            checked: 0,
            anchor_seq,
            head_seq,
            problem: None,
        };
        let mut last_seq = anchor_seq;
        let mut last_hash = anchor_hash;
        loop {
            let page: Vec<AuditEntry> = match &self.db {
                Db::Sqlite(pool) => {
                    let rows = sqlx::query(&page_sql)
                        .bind(last_seq)
                        .bind(VERIFY_CHUNK)
                        .fetch_all(pool)
                        .await?;
                    rows.iter().map(decode_entry).collect::<Result<_, _>>()?
                }
                Db::Postgres(pool) => {
                    let rows = sqlx::query(&page_sql)
                        .bind(last_seq)
                        .bind(VERIFY_CHUNK)
                        .fetch_all(pool)
                        .await?;
                    rows.iter().map(decode_entry).collect::<Result<_, _>>()?
                }
            };
            if page.is_empty() {
                break;
            }
            for entry in &page {
                if entry.seq != last_seq + 1 {
                    report.problem = Some(AuditProblem::Removed {
                        seq: last_seq + 1,
                        before: last_seq,
                        after: entry.seq,
                    });
                    return Ok(report);
                }
                if entry.prev_hash != last_hash {
                    report.problem = Some(AuditProblem::Reordered {
                        seq: entry.seq,
                        before: last_seq,
                    });
                    return Ok(report);
                }
                if entry_hash(entry) != entry.hash {
                    report.problem = Some(AuditProblem::Modified { seq: entry.seq });
                    return Ok(report);
                }
                report.checked += 1;
                last_seq = entry.seq;
                last_hash = entry.hash.clone();
            }
        }
        if last_seq != head_seq {
            report.problem = Some(AuditProblem::Removed {
                seq: last_seq + 1,
                before: last_seq,
                after: head_seq,
            });
        }
        Ok(report)
    }

    /// Removes the oldest entries recorded before `before` (a prefix of the chain: it stops at
    /// the first newer entry), moves the anchor to the last removed entry so the rest still
    /// verifies, and appends an `audit.purge` entry naming the count, all in one transaction.
    /// Answers how many entries were removed.
    pub async fn purge_audit(
        &self,
        before: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let cutoff = format_time(before);
        let at = format_time(event.at.unwrap_or_else(OffsetDateTime::now_utc));
        let removed = with_head_locked!(self, tx, head => {
            let anchor_seq = head.2;
            let first_kept: (Option<i64>,) =
                sqlx::query_as("SELECT MIN(seq) FROM audit_log WHERE at >= $1")
                    .bind(&cutoff)
                    .fetch_one(&mut *tx)
                    .await?;
            let last_removed = match first_kept.0 {
                Some(seq) => seq - 1,
                None => head.0,
            };
            let mut removed = 0u64;
            if last_removed > anchor_seq {
                let (hash,): (String,) =
                    sqlx::query_as("SELECT hash FROM audit_log WHERE seq = $1")
                        .bind(last_removed)
                        .fetch_one(&mut *tx)
                        .await?;
                removed = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
                    .bind(last_removed)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("UPDATE audit_head SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1")
                    .bind(last_removed)
                    .bind(&hash)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut purge = event.clone();
            let note = format!("removed {removed} entries recorded before {cutoff}");
            purge.detail = Some(match &event.detail {
                Some(d) => format!("{d}; {note}"),
                None => note,
            });
            insert_entry!(tx, head.0, head.1, purge, at);
            removed
        });
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_the_link_and_every_field() {
        let mut e = AuditEntry {
            seq: 1,
            at: "2026-01-01T00:00:00.000000Z".into(),
            project: Some("p".into()),
            principal: None,
            source: Some("127.0.0.1:1".into()),
            action: "auth".into(),
            outcome: "success".into(),
            detail: None,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let h = entry_hash(&e);
        assert_eq!(h.len(), 64);
        e.outcome = "failure:unknown".into();
        assert_ne!(entry_hash(&e), h);
        e.outcome = "success".into();
        e.prev_hash = "1".repeat(64);
        assert_ne!(entry_hash(&e), h);
    }
}

//! Hub storage of the per-project user directory, the sync-run history with its change logs,
//! queue statistics (15/30-minute intervals, their queues and coverage), agent states (reason
//! codes, state events, feed gaps), and idempotency records, on SQLite (embedded default) or
//! PostgreSQL (production).
//!
//! Owns the schema (numbered migrations per backend under `migrations/`), the one-transaction
//! identity sync (load the current state, call [`wfm_sync::plan`], apply, record), the
//! one-transaction replace-a-window interval apply, and the reads the hub API serves. It must not know about HTTP, tokens or upstream sources,
//! and never deletes a user (except a SCIM-created one, on a SCIM `DELETE`).
//!
//! Every query is scoped by project: an id that belongs to another project is simply not found.
//! Ids are UUID v4 text; times are RFC 3339 UTC text with microseconds.

mod adherence;
mod audit;
mod bulk;
mod common;
mod encryption;
mod error;
mod intervals;
mod people;
mod postgres;
pub mod retention;
mod scim;
mod security;
mod sqlite;
mod states;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use adherence::{ScheduleReplaced, StoredException};
pub use audit::{
    AuditEntry, AuditEvent, AuditFilter, AuditProblem, AuditVerification, GENESIS_HASH,
};
pub use bulk::{BulkAnswer, BulkUpload, NewBulkUpload};
pub use encryption::{
    AtRest, DataKeyStatus, ProjectCrypto, ProjectKeyStatus, RewrapReport, BLIND_INDEX_PREFIX,
    SEALED_PREFIX,
};
pub use error::StoreError;
pub use intervals::{to_ms, validate_interval_batch, NewestInterval, INTERVAL_LENGTHS};
pub use scim::{
    ScimGroupRow, ScimGroupWrite, ScimMemberRef, ScimRefusal, ScimUserChildren, ScimUserRow,
    ScimUserWrite, ScimWriteResult, SCIM_SOURCE,
};
pub use security::{ApiTokenRow, NewApiToken, ProjectDeletion, ProjectRow};
pub use states::{
    validate_reason_codes, validate_state_batch, LatestState, SourceGap, StateOutcome,
    MAX_STATE_EVENTS,
};

use std::collections::BTreeSet;
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_protocol::intervals::{
    IntervalBatch, IntervalBatchResponse, IntervalView, QueueView, TimeRange,
};
use wfm_protocol::{
    GroupDetail, GroupQuery, GroupView, ObjectChange, Page, SyncRequest, SyncRun, UserQuery,
    UserView,
};

/// A handle on the hub database. Cheap to clone (the pools and the key cache are shared).
///
/// Opened with [`Store::open`] it writes personal data in clear; [`Store::with_encryption`]
/// switches on encryption at rest (see [`encryption::AtRest`]).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    at_rest: Option<std::sync::Arc<encryption::AtRest>>,
}

/// The database behind a [`Store`]: one connection pool of the active backend.
#[derive(Debug, Clone)]
pub enum Db {
    /// Embedded SQLite file.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL server.
    Postgres(sqlx::PgPool),
}

/// What [`Store::sync_directory`] answers: the HTTP status and JSON body to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The request was processed now (200 applied or dry run, 409 refused, 422 failed).
    Fresh {
        /// HTTP status.
        status: u16,
        /// JSON body: `SyncResponse` for 200/409, `ErrorBody` for 422.
        body: Vec<u8>,
    },
    /// The idempotency key was seen before with the same request: the stored answer.
    Replay {
        /// HTTP status stored with the key.
        status: u16,
        /// JSON body stored with the key.
        body: Vec<u8>,
    },
}

impl SyncOutcome {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            SyncOutcome::Fresh { status, .. } | SyncOutcome::Replay { status, .. } => *status,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> &[u8] {
        match self {
            SyncOutcome::Fresh { body, .. } | SyncOutcome::Replay { body, .. } => body,
        }
    }

    /// True for a replayed answer.
    pub fn is_replay(&self) -> bool {
        matches!(self, SyncOutcome::Replay { .. })
    }
}

/// What [`Store::apply_interval_batch`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntervalOutcome {
    /// The batch was applied now.
    Applied(IntervalBatchResponse),
    /// The idempotency key was seen before with the same request: the stored answer.
    Replay(IntervalBatchResponse),
    /// The batch breaks a rule of the replace-a-window contract; nothing was stored (not even
    /// the idempotency key). One human-readable problem per entry.
    Rejected(Vec<String>),
}

/// Calls the same-named function of the active backend.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.db {
            Db::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
            Db::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens `sqlite://path` (the file is created if missing; WAL, foreign keys on, busy timeout)
    /// or `postgres://…`, and runs that backend's migrations.
    ///
    /// Errors: [`StoreError::InvalidUrl`] for another scheme or bad options, a retriable
    /// [`StoreError::Database`] when the server cannot be reached, [`StoreError::Migration`].
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            return Ok(Store::from_db(Db::Sqlite(
                sqlite::open(url, max_connections).await?,
            )));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::from_db(Db::Postgres(
                postgres::open(url, max_connections).await?,
            )));
        }
        Err(StoreError::InvalidUrl(
            "expected sqlite://… or postgres://…".into(),
        ))
    }

    fn from_db(db: Db) -> Store {
        Store { db, at_rest: None }
    }

    /// The database (for tests and tools that need raw SQL).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, ping())
    }

    /// Creates the project if missing (named `name`, or its id) and adds any missing roles.
    /// Never renames a project or removes a role.
    pub async fn ensure_project(
        &self,
        project: &ProjectId,
        name: Option<&str>,
        roles: &[String],
    ) -> Result<(), StoreError> {
        let now = common::format_time(OffsetDateTime::now_utc());
        dispatch!(self, ensure_project(project, name, roles, &now))
    }

    /// True when the project exists.
    pub async fn project_exists(&self, project: &ProjectId) -> Result<bool, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => sqlite::project_exists(&mut *pool.acquire().await?, project).await,
            Db::Postgres(pool) => {
                postgres::project_exists(&mut *pool.acquire().await?, project).await
            }
        }
    }

    /// The project's role names (empty for an unknown project).
    pub async fn roles(&self, project: &ProjectId) -> Result<BTreeSet<String>, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => sqlite::roles(&mut *pool.acquire().await?, project).await,
            Db::Postgres(pool) => postgres::roles(&mut *pool.acquire().await?, project).await,
        }
    }

    /// The whole identity sync of one source, in one transaction.
    ///
    /// Looks up the idempotency key (same key and `request_hash`: [`SyncOutcome::Replay`] of the
    /// stored answer; same key, other hash: [`StoreError::IdempotencyConflict`]); serialises
    /// syncs of the same (project, source); loads the stored state of that source; plans with
    /// [`wfm_sync::plan`]; applies the plan unless it is a dry run or refused; records the run
    /// and its full change log (groups, then users); stores the answer under the key (200
    /// applied/dry run, 409 refused, 422 failed with an `ErrorBody`); commits.
    ///
    /// Errors roll everything back: [`StoreError::UnknownProject`], [`StoreError::Database`]
    /// (retriable when transient), [`StoreError::Corrupt`].
    pub async fn sync_directory(
        &self,
        project: &ProjectId,
        req: &SyncRequest,
        idempotency_key: &str,
        request_hash: &str,
        now: OffsetDateTime,
    ) -> Result<SyncOutcome, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(
                self,
                sync_directory(&fields, project, req, idempotency_key, request_hash, now)
            )
        })
        .await
    }

    /// One page of users, ordered by username then id. Filters: source, exact username, group
    /// (hub id), enabled, and `q` (case-insensitive substring of username, first name, last
    /// name or e-mail). Limit defaults to 100, at most 1000.
    pub async fn list_users(
        &self,
        project: &ProjectId,
        q: &UserQuery,
    ) -> Result<Page<UserView>, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(self, list_users(&fields, project, q))
        })
        .await
    }

    /// One user by hub id, with attributes, skills, groups and roles.
    pub async fn get_user(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Option<UserView>, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(self, get_user(&fields, project, id))
        })
        .await
    }

    /// One page of groups, ordered by name then id. Limit defaults to 100, at most 1000.
    pub async fn list_groups(
        &self,
        project: &ProjectId,
        q: &GroupQuery,
    ) -> Result<Page<GroupView>, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(self, list_groups(&fields, project, q))
        })
        .await
    }

    /// One group by hub id, with the ids of all its members (enabled or not).
    pub async fn get_group(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Option<GroupDetail>, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(self, get_group(&fields, project, id))
        })
        .await
    }

    /// Sync-run history, newest first. A limit of 0 means 100; at most 1000.
    pub async fn list_runs(
        &self,
        project: &ProjectId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<SyncRun>, StoreError> {
        dispatch!(self, list_runs(project, offset, limit))
    }

    /// One sync run.
    pub async fn get_run(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Option<SyncRun>, StoreError> {
        dispatch!(self, get_run(project, id))
    }

    /// One page of a run's change log in apply order (groups, then users); `None` when the run
    /// does not exist in this project. A limit of 0 means 100; at most 1000.
    pub async fn run_changes(
        &self,
        project: &ProjectId,
        id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Option<Page<ObjectChange>>, StoreError> {
        self.sealed(project, |fields| async move {
            dispatch!(self, run_changes(&fields, project, id, offset, limit))
        })
        .await
    }

    /// Applies one [`IntervalBatch`] (the replace-a-window rule, see
    /// [`wfm_protocol::intervals`]) in one transaction.
    ///
    /// Validates the batch ([`validate_interval_batch`], then the interval length of every
    /// queue against what the store holds): a broken rule answers
    /// [`IntervalOutcome::Rejected`] and stores nothing. Otherwise looks up the idempotency key
    /// (same key and `request_hash`: [`IntervalOutcome::Replay`]; other hash:
    /// [`StoreError::IdempotencyConflict`]); serialises batches of the same (project, source);
    /// deletes the source's rows in the window that the batch no longer has; inserts new rows
    /// (version 0), rewrites changed rows (version + 1) and leaves identical rows alone;
    /// creates new queues and updates changed names and time zones; merges the window into the
    /// source's coverage; stores the answer under the key; commits.
    ///
    /// Errors roll everything back: [`StoreError::UnknownProject`], [`StoreError::Database`]
    /// (retriable when transient), [`StoreError::Corrupt`].
    pub async fn apply_interval_batch(
        &self,
        project: &ProjectId,
        batch: &IntervalBatch,
        idempotency_key: &str,
        request_hash: &str,
        now: OffsetDateTime,
    ) -> Result<IntervalOutcome, StoreError> {
        dispatch!(
            self,
            apply_interval_batch(project, batch, idempotency_key, request_hash, now)
        )
    }

    /// The project's intervals starting in `range` (of one source and/or some queue ids when
    /// given), ordered by (start, source, queue); `local_start` is left empty.
    pub async fn query_intervals(
        &self,
        project: &ProjectId,
        source: Option<&str>,
        queues: Option<&[String]>,
        range: TimeRange,
    ) -> Result<Vec<IntervalView>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        dispatch!(self, query_intervals(project, source, queues, from, to))
    }

    /// Every queue of the project, ordered by (source, id), with its newest stored interval.
    pub async fn queues(&self, project: &ProjectId) -> Result<Vec<QueueView>, StoreError> {
        dispatch!(self, queues(project))
    }

    /// The maximal parts of `range`, in order, that no accepted batch of `source` covered.
    pub async fn missing_ranges(
        &self,
        project: &ProjectId,
        source: &str,
        range: TimeRange,
    ) -> Result<Vec<TimeRange>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        dispatch!(self, missing_ranges(project, source, from, to))
    }

    /// The newest stored interval of every queue that has one (for the freshness metric).
    pub async fn newest_intervals(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<NewestInterval>, StoreError> {
        let queues = self.queues(project).await?;
        Ok(queues
            .into_iter()
            .filter_map(|q| {
                q.newest_interval.map(|start| NewestInterval {
                    source: q.source,
                    queue: q.id,
                    start,
                    interval_minutes: q.interval_minutes,
                })
            })
            .collect())
    }
}

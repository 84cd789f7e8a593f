//! Storage behind the hub's SCIM 2.0 endpoints (`/scim/v2`).
//!
//! SCIM reads see the whole directory of a project: synced users and groups (read-only through
//! SCIM) and the ones SCIM created. SCIM-created objects live in the ordinary directory tables
//! under the source [`SCIM_SOURCE`] (external id = hub id), so the directory API shows them too;
//! their SCIM document (what the directory columns cannot hold) is kept in `scim_resources`, the
//! members of SCIM groups in `scim_members`. Writes and deletes only ever touch objects of the
//! `scim` source: a write aimed at a synced object is answered [`ScimRefusal::ReadOnly`] and
//! changes nothing. This module knows nothing about SCIM JSON: the hub renders and parses it.
//!
//! Writes of one project are serialised (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock
//! per project), so the userName uniqueness check and the write are one step.

use crate::common::{
    format_time, new_id, open_attribute, open_user_names, seal_attribute, seal_user_names,
};
use crate::encryption::Fields;
use crate::{Db, Store, StoreError};
use std::collections::HashMap;
use time::OffsetDateTime;
use wfm_model::ProjectId;

/// The source id of users and groups created through SCIM.
pub const SCIM_SOURCE: &str = "scim";

/// One user as SCIM lists it, without child rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRow {
    /// Hub id (the SCIM `id`).
    pub id: String,
    /// Source id (`scim` for SCIM-created users).
    pub source: String,
    /// External id in the source.
    pub external_id: String,
    /// Username.
    pub username: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Enabled or disabled.
    pub enabled: bool,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 last change time.
    pub updated_at: String,
    /// The stored SCIM document (JSON text) of a SCIM-created user; `None` for synced users.
    pub doc: Option<String>,
}

/// The child rows of one user that SCIM shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUserChildren {
    /// Attributes `(name, value)` in stored order.
    pub attributes: Vec<(String, String)>,
    /// Skills `(name, competence)`.
    pub skills: Vec<(String, i32)>,
    /// Groups `(hub id, name)`: directory memberships and SCIM group memberships.
    pub groups: Vec<(String, String)>,
}

/// One group as SCIM lists it, without members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRow {
    /// Hub id (the SCIM `id`).
    pub id: String,
    /// Source id (`scim` for SCIM-created groups).
    pub source: String,
    /// External id in the source.
    pub external_id: String,
    /// Name (the SCIM `displayName`).
    pub name: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 last change time.
    pub updated_at: String,
    /// The stored SCIM document (JSON text) of a SCIM-created group; `None` for synced groups.
    pub doc: Option<String>,
}

/// A member of a group: the user's hub id and username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimMemberRef {
    /// Hub id of the user.
    pub id: String,
    /// Username of the user.
    pub username: String,
}

/// What a SCIM create or replace of a user stores (already validated by the hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserWrite {
    /// Username (unique in the project, compared case-insensitively).
    pub username: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Enabled or disabled.
    pub enabled: bool,
    /// Directory attributes `(name, value)` (`agentId`, `phoneExtension`, `secondaryEmail`).
    pub attributes: Vec<(String, String)>,
    /// Skills `(name, competence)`, names unique.
    pub skills: Vec<(String, i32)>,
    /// The SCIM document to keep (JSON text).
    pub doc: String,
}

/// What a SCIM create or replace of a group stores (already validated by the hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupWrite {
    /// Name (the SCIM `displayName`).
    pub name: String,
    /// Hub ids of the member users, in order, without duplicates.
    pub members: Vec<String>,
    /// The SCIM document to keep (JSON text).
    pub doc: String,
}

/// Why a SCIM write or delete changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimRefusal {
    /// No such object in this project.
    NotFound,
    /// The object belongs to a synced source and is read-only through SCIM.
    ReadOnly {
        /// The owning source.
        source: String,
    },
    /// Another user of the project already has this username.
    UserNameTaken {
        /// The username asked for.
        username: String,
    },
    /// Member ids that are not users of this project.
    UnknownMembers(Vec<String>),
}

/// The answer of a SCIM write: the object's hub id, or why nothing was written.
pub type ScimWriteResult = Result<String, ScimRefusal>;

/// Calls the same-named function of the backend module.
macro_rules! scim_dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.db {
            Db::Sqlite(pool) => sqlite_scim::$f(pool, $($arg),*).await,
            Db::Postgres(pool) => postgres_scim::$f(pool, $($arg),*).await,
        }
    };
}

impl Store {
    /// The project's users (or the one with hub id `id`), ordered by username then id.
    pub async fn scim_user_rows(
        &self,
        project: &ProjectId,
        id: Option<&str>,
    ) -> Result<Vec<ScimUserRow>, StoreError> {
        self.sealed(project, |fields| async move {
            scim_dispatch!(self, user_rows(&fields, project.as_str(), id, 0, i64::MAX))
        })
        .await
    }

    /// The number of users of the project and one page of them (ordered by username then id):
    /// skip `offset`, at most `limit`.
    pub async fn scim_user_page(
        &self,
        project: &ProjectId,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ScimUserRow>), StoreError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let total = scim_dispatch!(self, user_count(project.as_str()))?;
        let rows = self
            .sealed(project, |fields| async move {
                scim_dispatch!(
                    self,
                    user_rows(&fields, project.as_str(), None, offset, limit)
                )
            })
            .await?;
        Ok((total, rows))
    }

    /// The child rows of the given users (of every user of the project when `ids` is `None`).
    pub async fn scim_user_children(
        &self,
        project: &ProjectId,
        ids: Option<&[String]>,
    ) -> Result<HashMap<String, ScimUserChildren>, StoreError> {
        self.sealed(project, |fields| async move {
            scim_dispatch!(self, user_children(&fields, project.as_str(), ids))
        })
        .await
    }

    /// The project's groups (or the one with hub id `id`), ordered by name then id.
    pub async fn scim_group_rows(
        &self,
        project: &ProjectId,
        id: Option<&str>,
    ) -> Result<Vec<ScimGroupRow>, StoreError> {
        self.sealed(project, |fields| async move {
            scim_dispatch!(self, group_rows(&fields, project.as_str(), id))
        })
        .await
    }

    /// The members of the given groups (of every group when `ids` is `None`): directory
    /// memberships for synced groups, SCIM members (in order) for SCIM groups.
    pub async fn scim_group_members(
        &self,
        project: &ProjectId,
        ids: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<ScimMemberRef>>, StoreError> {
        scim_dispatch!(self, group_members(project.as_str(), ids))
    }

    /// Creates a SCIM user (`target` = `None`) or replaces SCIM user `target`, in one
    /// transaction: users row, attributes, skills and the SCIM document.
    pub async fn scim_write_user(
        &self,
        project: &ProjectId,
        target: Option<&str>,
        user: &ScimUserWrite,
        now: OffsetDateTime,
    ) -> Result<ScimWriteResult, StoreError> {
        let stamp = format_time(now);
        let new = new_id();
        self.sealed(project, |fields| {
            let (stamp, new) = (&stamp, &new);
            async move {
                scim_dispatch!(
                    self,
                    write_user(&fields, project.as_str(), target, user, stamp, new)
                )
            }
        })
        .await
    }

    /// Deletes SCIM user `id` with its child rows and group memberships.
    pub async fn scim_delete_user(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Result<(), ScimRefusal>, StoreError> {
        scim_dispatch!(self, delete_user(project.as_str(), id))
    }

    /// Creates a SCIM group (`target` = `None`) or replaces SCIM group `target`, in one
    /// transaction: groups row, members and the SCIM document.
    pub async fn scim_write_group(
        &self,
        project: &ProjectId,
        target: Option<&str>,
        group: &ScimGroupWrite,
        now: OffsetDateTime,
    ) -> Result<ScimWriteResult, StoreError> {
        let stamp = format_time(now);
        let new = new_id();
        self.sealed(project, |fields| {
            let (stamp, new) = (&stamp, &new);
            async move {
                scim_dispatch!(
                    self,
                    write_group(&fields, project.as_str(), target, group, stamp, new)
                )
            }
        })
        .await
    }

    /// Deletes SCIM group `id` with its members.
    pub async fn scim_delete_group(
        &self,
        project: &ProjectId,
        id: &str,
    ) -> Result<Result<(), ScimRefusal>, StoreError> {
        scim_dispatch!(self, delete_group(project.as_str(), id))
    }
}

/// The SQLite side: id lists are one JSON text expanded with `json_each`.
mod sqlite_scim {
    use super::*;

    type Pool = sqlx::SqlitePool;
    type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

    /// SQL testing `column` against the id list bound at `$n`; with no list (`all`), `$n` is
    /// bound to NULL and the test is true (kept apart so that the planner uses the indexes).
    fn in_ids(column: &str, n: usize, all: bool) -> String {
        if all {
            format!("${n} IS NULL")
        } else {
            format!("{column} IN (SELECT value FROM json_each(${n}))")
        }
    }

    /// The bind value for [`in_ids`].
    fn ids_param(ids: Option<&[String]>) -> Option<String> {
        ids.map(|ids| serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string()))
    }

    /// `BEGIN IMMEDIATE` takes the write lock at once and so serialises every writer.
    async fn begin_write(pool: &Pool, _project: &str) -> Result<Tx, StoreError> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    include!("shared/scim.rs");
}

/// The PostgreSQL side: id lists are `text[]` arrays.
mod postgres_scim {
    use super::*;

    type Pool = sqlx::PgPool;
    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

    /// SQL testing `column` against the id array bound at `$n`; with no array (`all`), `$n`
    /// is bound to NULL and the test is true (kept apart so that the planner uses the indexes).
    fn in_ids(column: &str, n: usize, all: bool) -> String {
        if all {
            format!("${n}::text[] IS NULL")
        } else {
            format!("{column} = ANY(${n})")
        }
    }

    /// The bind value for [`in_ids`].
    fn ids_param(ids: Option<&[String]>) -> Option<Vec<String>> {
        ids.map(<[String]>::to_vec)
    }

    /// Starts a transaction holding the project's SCIM write lock.
    async fn begin_write(pool: &Pool, project: &str) -> Result<Tx, StoreError> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("scim:{project}"))
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    include!("shared/scim.rs");
}

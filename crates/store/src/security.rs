//! Projects as the source of truth and the API tokens issued for them: a token is stored only as
//! the hex SHA-256 of its text (unique index, so authentication is one lookup), with its project,
//! scopes, creation, expiry, revocation and last use. The store does not know what a scope means
//! or whether a token is still valid (the hub decides with its clock); it never sees a token.
//!
//! The SQL is the same on both backends (plain `$n` parameters) except for the catalog queries
//! that find the tables holding a project's data.

use crate::common::{format_time, to_u64};
use crate::error::StoreError;
use crate::{Db, Store};
use time::OffsetDateTime;
use wfm_model::ProjectId;

/// Tables with a `project_id` column that are not the project's *data*: deleting a project
/// removes them with it, and they do not make it "non-empty".
const NOT_DATA: &[&str] = &["projects", "roles", "api_tokens", "audit_log"];

/// A token to record (see [`Store::create_api_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Token id (UUID text), shown by `token list` and used by `token revoke`.
    pub id: String,
    /// The one project the token belongs to.
    pub project: ProjectId,
    /// Optional label.
    pub name: Option<String>,
    /// Lowercase hex SHA-256 of the token text.
    pub digest: String,
    /// Scope names (`ingest`, `read`, `admin`).
    pub scopes: Vec<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working; `None` = never.
    pub expires_at: Option<OffsetDateTime>,
}

/// One stored token (never its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Token id.
    pub id: String,
    /// Project id.
    pub project_id: String,
    /// Label.
    pub name: Option<String>,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Issued at (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339), if any.
    pub expires_at: Option<String>,
    /// Revocation time (RFC 3339), if revoked.
    pub revoked_at: Option<String>,
    /// Last successful use (RFC 3339, updated at most once a minute), if ever used.
    pub last_used_at: Option<String>,
}

/// One project as `project list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    /// Project id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Created at (RFC 3339).
    pub created_at: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Number of issued tokens (revoked and expired included).
    pub tokens: u64,
}

/// What [`Store::delete_project`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectDeletion {
    /// The project (and, if asked, its data) is gone.
    Deleted {
        /// Data rows removed with it.
        data_rows: u64,
    },
    /// The project still holds data and deleting data was not asked for; nothing changed.
    HasData {
        /// Data rows found.
        data_rows: u64,
    },
    /// No such project.
    NotFound,
}

const TOKEN_COLUMNS: &str =
    "id, project_id, name, scopes, created_at, expires_at, revoked_at, last_used_at";

macro_rules! with_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

fn decode_token<R>(row: &R) -> Result<ApiTokenRow, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiTokenRow {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// Only plain identifiers may be spliced into SQL (table names read from the catalog).
fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Store {
    /// Records a token. Errors: [`StoreError::UnknownProject`], [`StoreError::Database`] (also
    /// for a digest that already exists, which 256 random bits make impossible in practice).
    pub async fn create_api_token(&self, token: &NewApiToken) -> Result<(), StoreError> {
        if !self.project_exists(&token.project).await? {
            return Err(StoreError::UnknownProject(token.project.to_string()));
        }
        let sql = "INSERT INTO api_tokens (id, project_id, name, digest, scopes, created_at, \
                   expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let scopes = token.scopes.join(" ");
        let expires = token.expires_at.map(format_time);
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&token.id)
                .bind(token.project.as_str())
                .bind(&token.name)
                .bind(&token.digest)
                .bind(&scopes)
                .bind(format_time(token.created_at))
                .bind(&expires)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The token with this digest (hex SHA-256), valid or not; `None` when unknown.
    pub async fn api_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE digest = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(digest).fetch_optional(pool).await?;
            row.as_ref().map(decode_token).transpose()
        })
    }

    /// The tokens of one project (or of all), oldest first.
    pub async fn api_tokens(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<ApiTokenRow>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1 IS NULL OR project_id = $1) \
             ORDER BY created_at, id"
        );
        let project = project.map(|p| p.as_str().to_string());
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(&project).fetch_all(pool).await?;
            rows.iter().map(decode_token).collect()
        })
    }

    /// Revokes a token (a second revocation keeps the first time). Answers the token as it is
    /// now, or `None` for an unknown id.
    pub async fn revoke_api_token(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let select = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        with_pool!(self, pool => {
            sqlx::query(sql).bind(format_time(now)).bind(id).execute(pool).await?;
            let row = sqlx::query(&select).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(decode_token).transpose()
        })
    }

    /// Records a successful use of a token.
    pub async fn touch_api_token(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let sql = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(format_time(now)).bind(id).execute(pool).await?;
        });
        Ok(())
    }

    /// Every project with its roles and token count, by id.
    pub async fn projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        let sql = "SELECT p.id, p.name, p.created_at, \
                   (SELECT COUNT(*) FROM api_tokens t WHERE t.project_id = p.id) AS tokens \
                   FROM projects p ORDER BY p.id";
        let roles_sql = "SELECT name FROM roles WHERE project_id = $1 ORDER BY name";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                use sqlx::Row as _;
                let id: String = row.try_get("id")?;
                let tokens: i64 = row.try_get("tokens")?;
                let roles: Vec<(String,)> =
                    sqlx::query_as(roles_sql).bind(&id).fetch_all(pool).await?;
                out.push(ProjectRow {
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    roles: roles.into_iter().map(|(r,)| r).collect(),
                    tokens: to_u64(tokens),
                    id,
                });
            }
            Ok(out)
        })
    }

    /// The tables that have a column named `column`.
    async fn tables_with_column(&self, column: &str) -> Result<Vec<String>, StoreError> {
        let names: Vec<(String,)> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c \
                     WHERE m.type = 'table' AND c.name = $1 ORDER BY m.name",
                )
                .bind(column)
                .fetch_all(pool)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND column_name = $1 \
                     ORDER BY table_name",
                )
                .bind(column)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(names
            .into_iter()
            .map(|(n,)| n)
            .filter(|n| is_identifier(n) && !n.starts_with("_sqlx"))
            .collect())
    }

    /// How many data rows (directory, runs, intervals, states, schedules, uploads, …) a project
    /// holds: the rows of every table with a `project_id` column except projects, roles, tokens
    /// and the audit log.
    pub async fn project_data_rows(&self, project: &ProjectId) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for table in self.tables_with_column("project_id").await? {
            if NOT_DATA.contains(&table.as_str()) {
                continue;
            }
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE project_id = $1");
            let (n,): (i64,) = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(project.as_str()).fetch_one(pool).await?
            });
            total += to_u64(n);
        }
        Ok(total)
    }

    /// Deletes a project with its roles and tokens. While it holds data
    /// ([`Store::project_data_rows`]) it is refused unless `with_data`, which removes the data too
    /// (child rows of its users, groups and runs first), all in one transaction. The audit log
    /// is kept.
    pub async fn delete_project(
        &self,
        project: &ProjectId,
        with_data: bool,
    ) -> Result<ProjectDeletion, StoreError> {
        if !self.project_exists(project).await? {
            return Ok(ProjectDeletion::NotFound);
        }
        let data_rows = self.project_data_rows(project).await?;
        if data_rows > 0 && !with_data {
            return Ok(ProjectDeletion::HasData { data_rows });
        }
        let with_project = self.tables_with_column("project_id").await?;
        let mut statements = Vec::new();
        for (column, owner) in [
            ("user_id", "users"),
            ("group_id", "groups"),
            ("run_id", "sync_runs"),
        ] {
            for table in self.tables_with_column(column).await? {
                if with_project.contains(&table) {
                    continue;
                }
                statements.push(format!(
                    "DELETE FROM {table} WHERE {column} IN \
                     (SELECT id FROM {owner} WHERE project_id = $1)"
                ));
            }
        }
        for table in &with_project {
            if table != "projects" && table != "audit_log" {
                statements.push(format!("DELETE FROM {table} WHERE project_id = $1"));
            }
        }
        statements.push("DELETE FROM projects WHERE id = $1".to_string());
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for sql in &statements {
                sqlx::query(sql).bind(project.as_str()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(ProjectDeletion::Deleted { data_rows })
    }
}

//! The identities the cross-source person matcher needs (`wfm_sync::match_people`).

use crate::common::open_user_names;
use crate::{Db, Store, StoreError};
use sqlx::Row;
use wfm_model::ProjectId;
use wfm_sync::Identity;

const IDENTITIES_SQL: &str = "SELECT id, source, username, email, first_name, last_name, enabled \
     FROM users WHERE project_id = $1 ORDER BY source, id";

fn identity_from<R: Row>(row: &R) -> Result<Identity, sqlx::Error>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(Identity {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        enabled: row.try_get("enabled")?,
    })
}

impl Store {
    /// Every user of the project (enabled or not), across all sources, with the fields the
    /// person matcher compares.
    pub async fn identities(&self, project: &ProjectId) -> Result<Vec<Identity>, StoreError> {
        self.sealed(project, |fields| async move {
            let rows = match &self.db {
                Db::Sqlite(pool) => sqlx::query(IDENTITIES_SQL)
                    .bind(project.as_str())
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(identity_from)
                    .collect::<Result<Vec<_>, _>>()?,
                Db::Postgres(pool) => sqlx::query(IDENTITIES_SQL)
                    .bind(project.as_str())
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(identity_from)
                    .collect::<Result<Vec<_>, _>>()?,
            };
            rows.into_iter()
                .map(|mut identity| {
                    let [first, last, email] = open_user_names(
                        &fields,
                        &identity.id,
                        [
                            identity.first_name.take(),
                            identity.last_name.take(),
                            identity.email.take(),
                        ],
                    )?;
                    identity.first_name = first;
                    identity.last_name = last;
                    identity.email = email;
                    Ok(identity)
                })
                .collect()
        })
        .await
    }
}

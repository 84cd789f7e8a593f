//! Throwaway databases for tests of this crate and of the crates above it (feature `testing`).
//!
//! PostgreSQL tests connect to `WFM_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), create a fresh database per test and drop it when
//! the [`TestDatabase`] is dropped (also when the test panics), so tests are isolated and may run
//! in parallel.

use sqlx::Connection;

/// The admin URL PostgreSQL tests connect to (it must be allowed to create databases).
pub fn postgres_admin_url() -> String {
    std::env::var("WFM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Replaces the database name (the path) of a PostgreSQL URL, keeping its query string.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_db: Option<String>,
}

impl TestDatabase {
    /// A SQLite file in a new temp directory (created on first open).
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("hub.sqlite").display());
        TestDatabase {
            url,
            _dir: Some(dir),
            pg_db: None,
        }
    }

    /// A new, empty PostgreSQL database. Panics with a hint when PostgreSQL is not reachable.
    pub async fn postgres() -> TestDatabase {
        let admin = postgres_admin_url();
        let name = format!("wfm_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("cannot connect to PostgreSQL at {admin} ({e}); start it or set WFM_TEST_POSTGRES_URL")
        });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = conn.close().await;
        TestDatabase {
            url: with_database(&admin, &name),
            _dir: None,
            pg_db: Some(name),
        }
    }

    /// The storage URL (`sqlite://…` or `postgres://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now (it is also dropped with `self`); kept for call sites that want
    /// the clean-up to be visible.
    pub async fn finish(self) {
        drop(self);
    }
}

/// The key-encryption key of test hubs (64 hex digits): [`kek`] in memory, [`kek_file`] on disk,
/// [`encryption_toml`] as the `[encryption]` section of a hub.toml. PostgreSQL hubs need one
/// (they have no default KEK); SQLite hubs use it too, so a test can open what a hub sealed.
pub const TEST_KEK_HEX: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// [`TEST_KEK_HEX`] as a KEK with id `kek-1` (the hub's default id).
pub fn kek() -> std::sync::Arc<dyn wfm_crypto::KeyEncryptionKey> {
    match wfm_crypto::LocalKek::from_hex("kek-1", TEST_KEK_HEX) {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => panic!("test KEK: {e}"),
    }
}

/// A file holding [`TEST_KEK_HEX`], shared by the tests of this process.
pub fn kek_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = match tempfile::tempdir() {
                Ok(d) => d,
                Err(e) => panic!("temp dir for the test KEK: {e}"),
            };
            let path = dir.path().join("test.kek");
            if let Err(e) = std::fs::write(&path, TEST_KEK_HEX) {
                panic!("cannot write the test KEK: {e}");
            }
            (dir, path)
        })
        .1
}

/// The `[encryption]` section of a test hub.toml: on, with [`kek_file`].
pub fn encryption_toml() -> String {
    format!("[encryption]\nkek_file = \"{}\"\n", kek_file().display())
}

/// Runs one SQL statement on the store's database; panics on error (tests only: for rows a
/// test plants or tampers with directly).
pub async fn exec(store: &crate::Store, sql: &str) {
    let result = match store.db() {
        crate::Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        crate::Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    };
    if let Err(e) = result {
        panic!("{sql}: {e}");
    }
}

/// The single integer a `SELECT COUNT(*) …`-like query answers; panics on error (tests only).
pub async fn count(store: &crate::Store, sql: &str) -> i64 {
    let row: Result<(i64,), _> = match store.db() {
        crate::Db::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await,
        crate::Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await,
    };
    match row {
        Ok((n,)) => n,
        Err(e) => panic!("{sql}: {e}"),
    }
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.pg_db.take() else {
            return;
        };
        // Drop may run inside a runtime: use a thread with its own small runtime, best effort.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&name));
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}

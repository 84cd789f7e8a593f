//! The store's error type.

/// Why a store operation failed.
///
/// Retry contract: only [`StoreError::is_retriable`] errors may succeed when the same call is
/// repeated unchanged (lost connection, pool exhausted, lock timeout, serialization failure,
/// deadlock). Everything else needs a change of input, data or configuration.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The idempotency key was already used, in this project, for a different request.
    #[error("idempotency key already used for a different request")]
    IdempotencyConflict,
    /// The project does not exist (create it with `ensure_project`).
    #[error("project '{0}' does not exist")]
    UnknownProject(String),
    /// The database URL is not `sqlite://…` or `postgres://…`, or its options are invalid.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The database refused or failed an operation.
    #[error("database error: {message}")]
    Database {
        /// What failed, without connection secrets.
        message: String,
        /// True for transient failures (connection, pool, busy, serialization, deadlock).
        retriable: bool,
    },
    /// Stored data could not be decoded (bad JSON, invalid id).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Encryption at rest failed: the KEK cannot unwrap the stored keys, a sealed value does not
    /// authenticate for its place, or nothing was reserved (see `encryption.rs`).
    #[error("encryption at rest: {0}")]
    Encryption(String),
}

impl StoreError {
    /// True when repeating the same call later may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            StoreError::Database {
                retriable: true,
                ..
            }
        )
    }

    /// A bounded label for metrics and logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            StoreError::IdempotencyConflict => "idempotency_conflict",
            StoreError::UnknownProject(_) => "unknown_project",
            StoreError::InvalidUrl(_) => "invalid_url",
            StoreError::Migration(_) => "migration",
            StoreError::Database {
                retriable: true, ..
            } => "database_transient",
            StoreError::Database { .. } => "database",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Encryption(_) => "encryption",
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(what.to_string())
    }
}

/// SQLSTATE classes and codes (PostgreSQL) and primary result codes (SQLite) worth a retry.
fn retriable_code(code: &str) -> bool {
    // PostgreSQL: connection exceptions, serialization failure, deadlock, lock not available,
    // too many connections, admin/crash shutdown, cannot connect now.
    code.starts_with("08")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P02" | "57P03"
        )
        // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        || code.len() < 5
            && code
            .parse::<i64>()
            .map(|n| matches!(n & 0xff, 5 | 6))
            .unwrap_or(false)
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        use sqlx::Error as E;
        let (message, retriable) = match &err {
            // Configuration errors may quote the URL (and its password): never repeat them.
            E::Configuration(_) => ("invalid database configuration".to_string(), false),
            E::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                let retriable = retriable_code(&code);
                (format!("{} (code {code})", db.message()), retriable)
            }
            E::Io(e) => (format!("i/o error talking to the database: {e}"), true),
            E::Tls(_) => ("tls error talking to the database".to_string(), true),
            E::Protocol(p) => (format!("database protocol error: {p}"), true),
            E::PoolTimedOut => ("timed out waiting for a database connection".into(), true),
            E::PoolClosed => ("the database pool is closed".into(), false),
            E::WorkerCrashed => ("the database worker crashed".into(), true),
            E::RowNotFound => ("row not found".into(), false),
            E::ColumnDecode { index, source } => {
                return StoreError::Corrupt(format!("column {index}: {source}"));
            }
            E::Decode(source) => return StoreError::Corrupt(source.to_string()),
            E::Migrate(m) => return StoreError::Migration(m.to_string()),
            other => (other.to_string(), false),
        };
        StoreError::Database { message, retriable }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Migration(err.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("stored json: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_serialization_and_deadlock_codes_are_retriable() {
        assert!(retriable_code("40001"));
        assert!(retriable_code("40P01"));
        assert!(retriable_code("08006"));
        assert!(retriable_code("5"));
        assert!(retriable_code("517"));
        assert!(!retriable_code("23505"));
        assert!(!retriable_code("19"));
        assert!(!retriable_code(""));
    }

    #[test]
    fn error_types_are_bounded_labels() {
        assert_eq!(
            StoreError::IdempotencyConflict.error_type(),
            "idempotency_conflict"
        );
        let e = StoreError::Database {
            message: "x".into(),
            retriable: true,
        };
        assert!(e.is_retriable());
        assert_eq!(e.error_type(), "database_transient");
    }
}

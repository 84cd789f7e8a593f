//! The crate's error type.

/// Errors of generation, schema creation, loading and fault injection.
#[derive(Debug, thiserror::Error)]
pub enum HrdbError {
    /// The [`crate::HrdbSpec`] is out of range (every problem, joined by `; `).
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A database operation failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database already holds rows from a different spec (seed, size or range), so an
    /// incremental write would mix two centres.
    #[error("the database was loaded from another spec ({found}); use --drop or a fresh database")]
    SpecMismatch {
        /// The fingerprint stored in the database.
        found: String,
    },
}

impl HrdbError {
    /// Whether retrying the same call may succeed (connection problems only).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            HrdbError::Database(sqlx::Error::Io(_))
                | HrdbError::Database(sqlx::Error::PoolTimedOut)
        )
    }

    /// A bounded label for metrics and logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            HrdbError::InvalidSpec(_) => "invalid_spec",
            HrdbError::Database(_) => "database",
            HrdbError::SpecMismatch { .. } => "spec_mismatch",
        }
    }
}

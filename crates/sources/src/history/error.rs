//! [`HistoryError`]: every failure of the historical-database reader, each naming the table, row
//! or column involved and the fix.

use std::time::Duration;

use super::Dialect;

/// A failure of [`super::HistoryReader`]. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The server could not be reached or the connection could not be set up (host, port,
    /// database name, driver name, TLS).
    #[error(
        "cannot connect to the historical database {target}: {message} (check the driver name in \
         /etc/odbcinst.ini, the host, port and database name, and that the server accepts \
         connections from this machine)"
    )]
    Connect {
        /// The server or file, never with credentials.
        target: String,
        /// The driver's or the operating system's message.
        message: String,
    },
    /// The server refused the login (unknown user, wrong password, no access to the database).
    #[error(
        "the historical database {target} refused the login: {message} (check Uid/Pwd in the \
         connection string and that this user may read the reporting database)"
    )]
    Auth {
        /// The server, never with credentials.
        target: String,
        /// The driver's message.
        message: String,
    },
    /// A table the dialect reads does not exist (most often: the wrong dialect or database).
    #[error("table `{table}` does not exist in the historical database: {dialect_hint}")]
    MissingTable {
        /// The table, lower case.
        table: String,
        /// What to change: the other dialect, the database name or the user's schema.
        dialect_hint: String,
    },
    /// A statement failed for another reason (a missing column, a permission, a syntax the server
    /// does not accept).
    #[error(
        "reading `{table}` from the historical database failed: {message} (check that the columns \
         listed in docs/history-sources.md exist and that the user may SELECT from `{table}`)"
    )]
    Query {
        /// The table being read.
        table: String,
        /// The driver's message.
        message: String,
    },
    /// The server closed the connection while the table was being read.
    #[error(
        "the historical database closed the connection while `{table}` was being read: {message} \
         (nothing of this read is used; the next read reconnects. Check the server's log and \
         idle/statement limits)"
    )]
    Disconnected {
        /// The table being read.
        table: String,
        /// The driver's message.
        message: String,
    },
    /// A value the reader needs is NULL or unreadable.
    #[error(
        "`{table}` row {key}: column `{column}` {problem} (fix the row in the reporting database \
         or leave it out of the window)"
    )]
    BadRow {
        /// The table.
        table: String,
        /// The row's key columns and values.
        key: String,
        /// The column.
        column: String,
        /// What is wrong with the value.
        problem: String,
    },
    /// A `contactqueuedetail` row for a CSQ (`targettype = 0`) whose `targetid` matches no
    /// `contactservicequeue.recordid`.
    #[error(
        "contactqueuedetail row (sessionid {}, sessionseqnum {}) names CSQ recordid {target_id} \
         (targettype 0), but contactservicequeue has no row with recordid {target_id} (the CSQ \
         configuration table is incomplete, or the reader points at another node's database)",
        show(*session), show(*seq)
    )]
    UnknownQueue {
        /// `sessionid` of the row (NULL = `None`).
        session: Option<i64>,
        /// `sessionseqnum` of the row (NULL = `None`).
        seq: Option<i64>,
        /// `targetid`, the CSQ `recordid` that is missing.
        target_id: i64,
    },
    /// The server did not answer in time.
    #[error(
        "the historical database did not answer within {} s while {what} (raise the timeout, or \
         read a shorter window)",
        after.as_secs_f64()
    )]
    Timeout {
        /// What was being done.
        what: String,
        /// The configured limit.
        after: Duration,
    },
    /// An ODBC connection was configured but this binary was built without ODBC support.
    #[error(
        "an ODBC connection string is configured, but this build of wfm-importer has no ODBC \
         support: rebuild with the cargo feature `odbc` (needs unixODBC), or read a SQLite file"
    )]
    FeatureDisabled,
    /// The operation does not exist for the dialect (e.g. queue visits from UCCE).
    #[error("{operation} is not available for the {dialect:?} dialect ({hint})")]
    WrongDialect {
        /// What was asked.
        operation: &'static str,
        /// The reader's dialect.
        dialect: Dialect,
        /// What to call instead.
        hint: &'static str,
    },
}

fn show(v: Option<i64>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "NULL".to_string(),
    }
}

/// The hint of [`HistoryError::MissingTable`] for `dialect`.
pub(crate) fn dialect_hint(dialect: Dialect) -> String {
    match dialect {
        Dialect::Uccx => "the UCCX dialect reads db_cra (contactcalldetail, contactqueuedetail, \
             agentconnectiondetail, contactservicequeue); if this is a UCCE HDS database set the \
             dialect to UCCE, otherwise check the database name and the user's default schema"
            .to_string(),
        Dialect::Ucce => "the UCCE dialect reads the HDS tables call_type and \
             call_type_interval; if this is a UCCX db_cra database set the dialect to UCCX, \
             otherwise check the database name (<instance>_hds) and the user's default schema"
            .to_string(),
    }
}

/// What a driver error means, from its SQLSTATE and message (PostgreSQL, SQLite, Informix and
/// SQL Server wordings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The table does not exist.
    MissingTable,
    /// The login was refused.
    Auth,
    /// The connection is gone.
    Disconnected,
    /// A timeout expired.
    Timeout,
    /// Anything else.
    Other,
}

/// Classifies a driver error. `state` is the five-character SQLSTATE when there is one.
pub(crate) fn classify(state: &str, message: &str) -> Cause {
    let m = message.to_ascii_lowercase();
    if state == "42S02"
        || state == "42P01"
        || m.contains("no such table")
        || m.contains("invalid object name")
        || m.contains("not in the database")
        || (m.contains("relation") && m.contains("does not exist"))
    {
        return Cause::MissingTable;
    }
    if state.starts_with("28")
        || m.contains("password authentication failed")
        || (m.contains("role") && m.contains("does not exist"))
        || m.contains("login failed")
        || m.contains("no pg_hba.conf entry")
        || m.contains("incorrect password")
    {
        return Cause::Auth;
    }
    if state == "HYT00" || state == "HYT01" || state == "57014" || m.contains("timeout expired") {
        return Cause::Timeout;
    }
    if state == "08S01"
        || state == "08003"
        || state == "08006"
        || state == "57P01"
        || m.contains("terminating connection")
        || m.contains("server closed the connection")
        || m.contains("connection reset")
        || m.contains("communication link failure")
        || m.contains("could not receive data")
        || m.contains("connection was lost")
    {
        return Cause::Disconnected;
    }
    Cause::Other
}

/// Maps a driver error during a statement on `table` to a [`HistoryError`].
pub(crate) fn statement_error(
    cause: Cause,
    dialect: Dialect,
    table: &str,
    message: String,
    timeout: Duration,
) -> HistoryError {
    match cause {
        Cause::MissingTable => HistoryError::MissingTable {
            table: missing_table_name(&message, dialect, table),
            dialect_hint: dialect_hint(dialect),
        },
        Cause::Disconnected => HistoryError::Disconnected {
            table: table.to_string(),
            message,
        },
        Cause::Timeout => HistoryError::Timeout {
            what: format!("reading `{table}`"),
            after: timeout,
        },
        Cause::Auth | Cause::Other => HistoryError::Query {
            table: table.to_string(),
            message,
        },
    }
}

/// The dialect's table a "table not found" message names (the joined query reads several), or
/// `default`.
fn missing_table_name(message: &str, dialect: Dialect, default: &str) -> String {
    let m = message.to_ascii_lowercase();
    let mut best: Option<&str> = None;
    for t in super::sql::tables(dialect) {
        if m.contains(t) && best.is_none_or(|b| t.len() > b.len()) {
            best = Some(t);
        }
    }
    best.unwrap_or(default).to_string()
}

//! Backend-neutral parts of the adherence store: the [`Store`] methods for schedules, activity
//! definitions and rules, and authorized exceptions, and the text forms of their enums. The SQL
//! lives in `shared/adherence.rs` (included by both backends). The rules themselves are
//! [`wfm_adherence`]'s; this module only stores their inputs.

use crate::error::StoreError;
use crate::intervals::to_ms;
use crate::{postgres, sqlite, Db, Store};
use time::OffsetDateTime;
use wfm_adherence::{AuthorizedException, RuleBook, ScheduledActivity};
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::AgentState;

/// What [`Store::replace_schedule`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleReplaced {
    /// Entries removed from the range.
    pub removed: u64,
    /// Entries inserted.
    pub inserted: u64,
}

/// An authorized exception with its hub id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredException {
    /// Hub id (UUID v4).
    pub id: String,
    /// The exception.
    pub exception: AuthorizedException,
}

/// The stored name of a state (`not_ready`, ...).
pub(crate) fn state_text(state: AgentState) -> Result<String, StoreError> {
    match serde_json::to_value(state)? {
        serde_json::Value::String(name) => Ok(name),
        other => Err(StoreError::corrupt(format!("state name {other}"))),
    }
}

/// The state of a stored name.
pub(crate) fn parse_state_text(name: &str) -> Result<AgentState, StoreError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| StoreError::corrupt(format!("stored agent state {name:?}")))
}

/// The instant of stored epoch milliseconds.
pub(crate) fn instant(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt(format!("stored adherence time {ms}: {e}")))
}

impl Store {
    /// Replaces, in one transaction, the schedule entries of `agents` that **start** in
    /// `range` by `entries` (stored in their order, which breaks ties between overlapping
    /// entries with the same start). The caller checks that every entry belongs to one of
    /// `agents` and starts in `range`.
    ///
    /// Errors: [`StoreError::UnknownProject`], [`StoreError::Database`].
    pub async fn replace_schedule(
        &self,
        project: &ProjectId,
        agents: &[String],
        range: TimeRange,
        entries: &[ScheduledActivity],
    ) -> Result<ScheduleReplaced, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        match &self.db {
            Db::Sqlite(p) => sqlite::replace_schedule(p, project, agents, from, to, entries).await,
            Db::Postgres(p) => {
                postgres::replace_schedule(p, project, agents, from, to, entries).await
            }
        }
    }

    /// The schedule entries overlapping `range` (of some agents when given), ordered by
    /// (agent, start, stored order).
    pub async fn schedule(
        &self,
        project: &ProjectId,
        agents: Option<&[String]>,
        range: TimeRange,
    ) -> Result<Vec<ScheduledActivity>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        match &self.db {
            Db::Sqlite(p) => sqlite::schedule(p, project, agents, from, to).await,
            Db::Postgres(p) => postgres::schedule(p, project, agents, from, to).await,
        }
    }

    /// Replaces the project's activity definitions and rule overrides (in one transaction).
    pub async fn put_adherence_rules(
        &self,
        project: &ProjectId,
        rules: &RuleBook,
    ) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlite::put_adherence_rules(p, project, rules).await,
            Db::Postgres(p) => postgres::put_adherence_rules(p, project, rules).await,
        }
    }

    /// The project's activity definitions (ordered by id) and rule overrides (in stored
    /// order); empty when none were stored.
    pub async fn adherence_rules(&self, project: &ProjectId) -> Result<RuleBook, StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlite::adherence_rules(p, project).await,
            Db::Postgres(p) => postgres::adherence_rules(p, project).await,
        }
    }

    /// Stores an authorized exception and answers its new id.
    ///
    /// Errors: [`StoreError::UnknownProject`], [`StoreError::Database`].
    pub async fn add_adherence_exception(
        &self,
        project: &ProjectId,
        exception: &AuthorizedException,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        self.sealed(project, |f| async move {
            match &self.db {
                Db::Sqlite(p) => {
                    sqlite::add_adherence_exception(p, &f, project, exception, now).await
                }
                Db::Postgres(p) => {
                    postgres::add_adherence_exception(p, &f, project, exception, now).await
                }
            }
        })
        .await
    }

    /// The authorized exceptions overlapping `range` (of some agents when given), ordered by
    /// (agent, start, id).
    pub async fn adherence_exceptions(
        &self,
        project: &ProjectId,
        agents: Option<&[String]>,
        range: TimeRange,
    ) -> Result<Vec<StoredException>, StoreError> {
        let (from, to) = (to_ms(range.from), to_ms(range.to));
        self.sealed(project, |f| async move {
            match &self.db {
                Db::Sqlite(p) => {
                    sqlite::adherence_exceptions(p, &f, project, agents, from, to).await
                }
                Db::Postgres(p) => {
                    postgres::adherence_exceptions(p, &f, project, agents, from, to).await
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in [
            AgentState::NotReady,
            AgentState::BusyOther,
            AgentState::LoggedOut,
        ] {
            let name = state_text(state).unwrap();
            assert_eq!(parse_state_text(&name).unwrap(), state);
        }
        assert_eq!(state_text(AgentState::NotReady).unwrap(), "not_ready");
        assert!(parse_state_text("asleep").is_err());
    }
}

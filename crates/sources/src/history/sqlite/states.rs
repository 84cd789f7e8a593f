//! SQLite: agent-state rows (`agentstatedetail` / `agent_state_trace`) as read.

use futures::TryStreamExt;
use sqlx::sqlite::SqliteRow;

use super::super::decode::{self, RawState};
use super::super::{sql, Dialect, HistoryError};
use super::{int, text, RowError, SqliteBackend};

impl SqliteBackend {
    /// Rows of the dialect's state table with the time column in `[lo_ms, hi_ms)` (UCCX: UTC;
    /// UCCE: local time), unconverted.
    pub(crate) async fn agent_states(
        &self,
        dialect: Dialect,
        lo_ms: i64,
        hi_ms: i64,
    ) -> Result<Vec<RawState>, HistoryError> {
        let table = sql::state_table(dialect);
        let statement = match dialect {
            Dialect::Uccx => sql::AGENT_STATES_UCCX,
            Dialect::Ucce => sql::AGENT_STATES_UCCE,
        };
        let mut rows = sqlx::query(statement)
            .bind(decode::text_bound(lo_ms))
            .bind(decode::text_bound(hi_ms))
            .fetch(&self.pool);
        let mut out = Vec::new();
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(self.error(dialect, table, e)),
            };
            let raw = state_row(dialect, &row).map_err(|e| match e {
                RowError::Sql(e) => self.error(dialect, table, e),
                RowError::Bad(e) => e,
            })?;
            out.push(raw);
        }
        Ok(out)
    }
}

fn state_row(dialect: Dialect, row: &SqliteRow) -> Result<RawState, RowError> {
    let agent = int(row, 0)?;
    let time_ms = match text(row, 1)? {
        None => None,
        Some(s) => match decode::parse_text_time(&s) {
            Some(ms) => Some(ms),
            None => {
                let (table, agent_col, time_col) = match dialect {
                    Dialect::Uccx => ("agentstatedetail", "agentid", "eventdatetime"),
                    Dialect::Ucce => ("agent_state_trace", "skilltargetid", "datetime"),
                };
                let key = match agent {
                    Some(id) => format!("({agent_col} {id})"),
                    None => format!("({agent_col} NULL)"),
                };
                return Err(RowError::Bad(decode::bad_time(table, key, time_col, &s)));
            }
        },
    };
    match dialect {
        Dialect::Uccx => Ok(RawState {
            agent,
            time_ms,
            time_zone_min: None,
            state: int(row, 2)?,
            reason: int(row, 3)?,
        }),
        Dialect::Ucce => Ok(RawState {
            agent,
            time_ms,
            time_zone_min: int(row, 2)?,
            state: int(row, 3)?,
            reason: int(row, 4)?,
        }),
    }
}

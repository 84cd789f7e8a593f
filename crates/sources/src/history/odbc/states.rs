//! ODBC: agent-state rows (`agentstatedetail` / `agent_state_trace`) as read.

use std::time::Duration;

use odbc_api::Fetch;

use super::super::decode::RawState;
use super::super::{sql, Dialect, HistoryError};
use super::{fetch, time_ms, timestamp_param, NTs, OdbcBackend, N64};

/// One row of [`sql::AGENT_STATES_UCCX`].
#[derive(Clone, Copy, Default, Fetch)]
struct UccxStateRow {
    agent: N64,
    at: NTs,
    event_type: N64,
    reason: N64,
}

/// One row of [`sql::AGENT_STATES_UCCE`].
#[derive(Clone, Copy, Default, Fetch)]
struct UcceStateRow {
    agent: N64,
    local: NTs,
    time_zone: N64,
    state: N64,
    reason: N64,
}

impl OdbcBackend {
    /// Rows of the dialect's state table with the time column in `[lo_ms, hi_ms)` (UCCX: UTC;
    /// UCCE: local time), unconverted.
    pub(crate) async fn agent_states(
        &self,
        dialect: Dialect,
        lo_ms: i64,
        hi_ms: i64,
        limit: Duration,
    ) -> Result<Vec<RawState>, HistoryError> {
        self.run(move |conn, shared| {
            let lo = timestamp_param(lo_ms);
            let hi = timestamp_param(hi_ms);
            let table = sql::state_table(dialect);
            let mut out = Vec::new();
            match dialect {
                Dialect::Uccx => {
                    let statement = sql::AGENT_STATES_UCCX;
                    fetch::<UccxStateRow, _>(
                        conn,
                        shared,
                        limit,
                        dialect,
                        table,
                        statement,
                        (&lo, &hi),
                        |r| {
                            out.push(RawState {
                                agent: r.agent.into_opt(),
                                time_ms: time_ms(&r.at),
                                time_zone_min: None,
                                state: r.event_type.into_opt(),
                                reason: r.reason.into_opt(),
                            });
                            Ok(())
                        },
                    )?;
                }
                Dialect::Ucce => {
                    let statement = sql::AGENT_STATES_UCCE;
                    fetch::<UcceStateRow, _>(
                        conn,
                        shared,
                        limit,
                        dialect,
                        table,
                        statement,
                        (&lo, &hi),
                        |r| {
                            out.push(RawState {
                                agent: r.agent.into_opt(),
                                time_ms: time_ms(&r.local),
                                time_zone_min: r.time_zone.into_opt(),
                                state: r.state.into_opt(),
                                reason: r.reason.into_opt(),
                            });
                            Ok(())
                        },
                    )?;
                }
            }
            Ok(out)
        })
        .await
    }
}

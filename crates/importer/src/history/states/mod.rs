//! Agent state history from the reporting database (`[[history]] agent_states = true`):
//! incremental import with its own cursor and the same look-back as the intervals, and backfill.
//!
//! Every unit of work is a window `[from, to)` aligned to the source's interval length: the
//! importer reads every state row of the window (UCCX `agentstatedetail`, UCCE
//! `agent_state_trace`), normalises it ([`normalise`]) and sends one [`StateBatch`] with `window`
//! set, which replaces every event of that source in the window at the hub (idempotent; late or
//! corrected rows fix the timeline). The cursor (`<data_dir>/history/<source>.states.json`, the
//! interval cursor is untouched) only moves after the hub accepted a window.
//!
//! [`StateBatch`]: wfm_protocol::states::StateBatch

pub mod normalise;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::StateBatchResponse;

use super::state::{BackfillProgress, SourceState, StateFile};
use super::{HistoryImportError, HistoryJob, Progress};
use crate::delivery::Kind;
use normalise::{state_batch, BuiltStates};

/// The outcome of one agent-state window.
#[derive(Debug, Clone)]
pub struct StatesReport {
    /// The window.
    pub window: TimeRange,
    /// Rows read from the database.
    pub rows_read: u64,
    /// Events sent.
    pub events: u64,
    /// Exact duplicate rows dropped.
    pub duplicates: u64,
    /// Raw state values the importer does not know (sent as `unknown`).
    pub unknown: Vec<String>,
    /// The hub's answer.
    pub hub: StateBatchResponse,
    /// Time taken.
    pub elapsed: Duration,
}

impl HistoryJob {
    /// Whether this source imports agent states (`agent_states`).
    pub fn agent_states_enabled(&self) -> bool {
        self.cfg.agent_states
    }

    /// The agent-state cursor file.
    pub fn states_state(&self) -> &StateFile {
        &self.states
    }

    /// Probes the agent-state table (for `wfm-importer check`); returns its name.
    pub async fn check_agent_states(&self) -> Result<String, HistoryImportError> {
        let reader = self.reader().await?;
        reader.check_states().await.map_err(|e| self.db_error(e))
    }

    /// Reads and normalises the agent states of one window (no hub involved).
    pub async fn build_states_window(
        &self,
        window: TimeRange,
    ) -> Result<BuiltStates, HistoryImportError> {
        let reader = self.reader().await?;
        let rows = reader
            .agent_states(window.from, window.to)
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(state_batch(
            self.cfg.source_id.as_str(),
            reader.dialect(),
            window,
            &rows,
        ))
    }

    /// Reads one window and replaces it at the hub (the cursor is not moved).
    pub async fn import_states_window(
        &self,
        window: TimeRange,
    ) -> Result<StatesReport, HistoryImportError> {
        self.states_window(window, None).await
    }

    /// Reads one window, replaces it at the hub and records `next` as the position.
    async fn states_window(
        &self,
        window: TimeRange,
        next: Option<&SourceState>,
    ) -> Result<StatesReport, HistoryImportError> {
        let started = Instant::now();
        let built = self.build_states_window(window).await?;
        let key = uuid::Uuid::new_v4().to_string();
        let direct = self.hub.post_agent_states(&built.batch, &key);
        let hub = self
            .deliver_window(Kind::States, &window, &built.batch, next, direct)
            .await?
            .unwrap_or(StateBatchResponse {
                accepted: 0,
                duplicates: 0,
                removed: 0,
                unknown_agents: 0,
            });
        let source = self.cfg.source_id.as_str();
        for (outcome, n) in [
            ("accepted", hub.accepted),
            ("removed", hub.removed),
            ("unknown_agent", hub.unknown_agents),
            ("duplicate_row", built.duplicates),
        ] {
            self.metrics.sync_objects(source, "agent_state", outcome, n);
        }
        if !built.unknown.is_empty() {
            tracing::warn!(
                source,
                values = %built.unknown.join(", "),
                "agent state values the importer does not know were sent as `unknown` (raw value kept)"
            );
        }
        Ok(StatesReport {
            window,
            rows_read: built.rows_read,
            events: built.batch.events.len() as u64,
            duplicates: built.duplicates,
            unknown: built.unknown,
            hub,
            elapsed: started.elapsed(),
        })
    }

    /// One incremental run of agent states: from the states cursor minus the look-back (or, the
    /// first time, from `now - look-back`) to the last closed interval, window by window; the
    /// cursor advances after each window the hub accepted. State rows are written as they
    /// happen, but the look-back is kept: it also repairs windows whose rows arrived late.
    pub async fn incremental_states(
        &self,
        now: OffsetDateTime,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<StatesReport>, HistoryImportError> {
        let mut state = self.position(Kind::States)?;
        let list = self.incremental_windows(state.complete_until, now);
        let mut reports = Vec::new();
        let total = list.len() as u64;
        let mut rows = 0;
        for (i, w) in list.into_iter().enumerate() {
            let mut next = state.clone();
            if next.complete_until.is_none_or(|c| w.to > c) {
                next.complete_until = Some(w.to);
            }
            let report = self.states_window(w, Some(&next)).await?;
            state = next;
            rows += report.rows_read;
            progress(Progress {
                done: i as u64 + 1,
                total,
                rows,
            });
            reports.push(report);
        }
        Ok(reports)
    }

    /// Imports the agent states of `[from, to)` window by window. Resumes a backfill of the same
    /// range that was interrupted (unless `restart`); safe to re-run (each window replaces
    /// itself at the hub).
    pub async fn backfill_states(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        restart: bool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<StatesReport>, HistoryImportError> {
        let (from, to) = self.align_range(from, to)?;
        let (mut state, todo, total, mut done) =
            self.begin_backfill(Kind::States, from, to, restart, "agent-state", progress)?;
        let mut reports = Vec::new();
        let mut rows = 0;
        for w in todo {
            state.backfill = Some(BackfillProgress {
                from,
                to,
                done_until: w.to,
            });
            let report = self.states_window(w, Some(&state)).await?;
            rows += report.rows_read;
            done += 1;
            progress(Progress { done, total, rows });
            reports.push(report);
        }
        Ok(reports)
    }
}

//! The persisted position of each `[[history]]` source: `<data_dir>/history/<source_id>.json`
//! (intervals) and `<data_dir>/history/<source_id>.states.json` (agent states).
//!
//! * `complete_until`: every interval that starts before it was accepted by the hub at least
//!   once. Advanced only after the hub answered, never past data that was not delivered.
//! * `backfill`: the range of the last backfill and how far it got, so an interrupted backfill
//!   resumes where it stopped.
//!
//! Written atomically (temporary file, fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A backfill's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// Range start.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// Range end (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// Everything before this was delivered.
    #[serde(with = "time::serde::rfc3339")]
    pub done_until: OffsetDateTime,
}

/// The state of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// See the module docs.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub complete_until: Option<OffsetDateTime>,
    /// The last backfill.
    #[serde(default)]
    pub backfill: Option<BackfillProgress>,
}

/// The state file of one source.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// `<data_dir>/history/<source>.json`.
    pub fn new(data_dir: &Path, source: &str) -> StateFile {
        StateFile {
            path: data_dir.join("history").join(format!("{source}.json")),
        }
    }

    /// `<data_dir>/history/<source>.states.json`: the agent-state cursor, separate from the
    /// interval cursor (same format).
    pub fn for_agent_states(data_dir: &Path, source: &str) -> StateFile {
        StateFile {
            path: data_dir
                .join("history")
                .join(format!("{source}.states.json")),
        }
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state; a missing file is the empty state. A corrupt file is an error (never
    /// silently reset: that would re-import or skip data).
    pub fn load(&self) -> Result<SourceState, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "state file {} is not valid ({e}); fix or delete it (deleting restarts the incremental import at now minus the look-back)",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SourceState::default()),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    /// Writes the state atomically.
    pub fn store(&self, state: &SourceState) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
        {
            let mut f = std::fs::File::create(&tmp).map_err(fail)?;
            f.write_all(&bytes).map_err(fail)?;
            f.sync_all().map_err(fail)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(fail)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn state_round_trips_and_a_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path(), "uccx-hr");
        assert_eq!(file.load().unwrap(), SourceState::default());
        let state = SourceState {
            complete_until: Some(datetime!(2026-03-01 10:15 UTC)),
            backfill: Some(BackfillProgress {
                from: datetime!(2026-01-01 0:00 UTC),
                to: datetime!(2026-02-01 0:00 UTC),
                done_until: datetime!(2026-01-10 0:00 UTC),
            }),
        };
        file.store(&state).unwrap();
        assert_eq!(file.load().unwrap(), state);
        std::fs::write(file.path(), b"{not json").unwrap();
        let err = file.load().unwrap_err();
        assert!(err.contains("is not valid"), "{err}");
    }
}
